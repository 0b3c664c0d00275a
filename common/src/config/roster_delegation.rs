//! `[roster_delegation."HOST"]`: rosters of one host kept by an external
//! HTTP service (Prosody's mod_http_roster_admin). The URL template and
//! the address list are checked while the file is read, so a mistake is
//! reported on its own line.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// The longest `timeout`: a request held longer only keeps a client waiting.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(300);

/// The most `max_concurrent_requests`: more only moves the queue to the backend.
pub const MAX_CONCURRENT_REQUESTS: usize = 1024;

/// The largest `refresh_body_limit` (64 MiB).
pub const MAX_REFRESH_BODY_LIMIT: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterDelegationConfig {
    /// Where a user's roster is fetched: `%s` is the percent-encoded username.
    pub url: RosterUrl,
    /// Each request to the backend; also bounds one refresh call.
    #[serde(default = "default_timeout", deserialize_with = "super::duration")]
    pub timeout: Duration,
    /// A file whose trimmed content is sent as the `Authorization` header.
    #[serde(default)]
    pub authorization_file: Option<PathBuf>,
    /// PEM certificates trusted for the backend instead of the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Who may call the refresh endpoint: addresses or CIDR prefixes.
    #[serde(default = "default_refresh_allow")]
    pub refresh_allow: Vec<AddressPrefix>,
    /// When set, the refresh endpoint needs `Authorization: Bearer <content>`.
    #[serde(default)]
    pub refresh_secret_file: Option<PathBuf>,
    /// Bytes of a refresh request's body.
    #[serde(default = "default_refresh_body_limit")]
    pub refresh_body_limit: usize,
    /// Requests in flight to the backend at once.
    #[serde(default = "default_max_concurrent_requests")]
    pub max_concurrent_requests: usize,
}

fn default_timeout() -> Duration {
    Duration::from_secs(5)
}

fn default_refresh_allow() -> Vec<AddressPrefix> {
    vec![
        AddressPrefix::host(IpAddr::from([127, 0, 0, 1])),
        AddressPrefix::host(IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
    ]
}

fn default_refresh_body_limit() -> usize {
    1024 * 1024
}

fn default_max_concurrent_requests() -> usize {
    16
}

impl RosterDelegationConfig {
    /// Checks the values; `Err` gives the option at fault and what is
    /// wrong, for the caller to place on its line with the host.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        RosterUrl::check(&self.url.0).map_err(|e| ("url", e))?;
        if self.timeout > MAX_TIMEOUT {
            return Err(("timeout", "at most 5 minutes".into()));
        }
        if !(1..=MAX_CONCURRENT_REQUESTS).contains(&self.max_concurrent_requests) {
            return Err((
                "max_concurrent_requests",
                format!("from 1 to {MAX_CONCURRENT_REQUESTS}"),
            ));
        }
        if !(2..=MAX_REFRESH_BODY_LIMIT).contains(&self.refresh_body_limit) {
            return Err((
                "refresh_body_limit",
                format!("from 2 to {MAX_REFRESH_BODY_LIMIT} bytes"),
            ));
        }
        Ok(())
    }

    /// The configured files, to make relative to the config file.
    pub fn paths_mut(&mut self) -> impl Iterator<Item = &mut PathBuf> {
        [
            &mut self.authorization_file,
            &mut self.ca_file,
            &mut self.refresh_secret_file,
        ]
        .into_iter()
        .flatten()
    }
}

/// An `http://` or `https://` URL with exactly one `%s`, outside the host.
/// Read from a file as it stands and checked by
/// [`RosterDelegationConfig::check`], so the error can name the host;
/// made in code with `try_from`, which checks.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct RosterUrl(String);

impl RosterUrl {
    /// The URL for `username`, percent-encoded so that any username stays
    /// one path segment or query value. `None` for `.` and `..`: URL
    /// parsers take them (encoded or not) for a step up the path, which
    /// would send the request, with its credentials, elsewhere.
    pub fn for_user(&self, username: &str) -> Option<String> {
        if matches!(username, "." | "..") {
            return None;
        }
        Some(self.0.replacen("%s", &percent_encode(username), 1))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RosterUrl {
    type Error = String;

    fn try_from(url: String) -> Result<Self, String> {
        RosterUrl::check(&url)?;
        Ok(RosterUrl(url))
    }
}

impl RosterUrl {
    fn check(url: &str) -> Result<(), String> {
        let problem = |what: &str| format!("'{url}' {what}");
        let Some(rest) = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
        else {
            return Err(problem("must start with http:// or https://"));
        };
        if url.matches("%s").count() != 1 {
            return Err(problem("must contain %s (the username) exactly once"));
        }
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(problem("must not contain spaces or control characters"));
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.is_empty() || authority.starts_with(':') {
            return Err(problem("needs a host"));
        }
        if authority.contains("%s") {
            return Err(problem("%s must come after the host"));
        }
        if url.contains('#') {
            return Err(problem("must not have a #fragment"));
        }
        Ok(())
    }
}

impl fmt::Display for RosterUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// RFC 3986's unreserved characters stay; every other byte is `%XX`.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An address (`127.0.0.1`, `::1`) or a CIDR prefix (`10.0.0.0/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct AddressPrefix {
    addr: IpAddr,
    len: u8,
}

impl AddressPrefix {
    pub fn host(addr: IpAddr) -> AddressPrefix {
        let len = if addr.is_ipv4() { 32 } else { 128 };
        AddressPrefix { addr, len }
    }

    /// Whether `peer` is inside; an IPv4-mapped IPv6 peer counts as IPv4.
    pub fn contains(&self, peer: IpAddr) -> bool {
        match (self.addr, peer.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.len),
            (IpAddr::V6(net), IpAddr::V6(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.len),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], len: u8) -> bool {
    let (bytes, bits) = (usize::from(len / 8), len % 8);
    if a[..bytes] != b[..bytes] {
        return false;
    }
    bits == 0 || {
        let mask = 0xffu8 << (8 - bits);
        a[bytes] & mask == b[bytes] & mask
    }
}

impl TryFrom<String> for AddressPrefix {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let bad =
            || format!("refresh_allow: '{text}' is not an address or an address/prefix-length");
        let (addr, len) = match text.split_once('/') {
            Some((addr, len)) => (addr, Some(len)),
            None => (text.as_str(), None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            Some(len) => len
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(bad)?,
            None => max,
        };
        Ok(AddressPrefix { addr, len })
    }
}

impl fmt::Display for AddressPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Result<RosterUrl, String> {
        RosterUrl::try_from(s.to_owned())
    }

    #[test]
    fn the_username_is_percent_encoded() {
        let u = url("https://app.example/contacts/%s?x=1").unwrap();
        assert_eq!(
            u.for_user("o'neil&co/x").unwrap(),
            "https://app.example/contacts/o%27neil%26co%2Fx?x=1"
        );
        assert_eq!(
            u.for_user("élan").unwrap(),
            "https://app.example/contacts/%C3%A9lan?x=1"
        );
        // Dot segments would climb the path: no URL for them.
        assert_eq!(u.for_user(".."), None);
        assert_eq!(u.for_user("."), None);
        assert_eq!(
            u.for_user("...").unwrap(),
            "https://app.example/contacts/...?x=1"
        );
        // A literal %20 elsewhere is kept (Prosody took it for a format directive).
        assert_eq!(
            url("http://h/a%20b/%s").unwrap().for_user("z").unwrap(),
            "http://h/a%20b/z"
        );
    }

    #[test]
    fn bad_templates_are_refused() {
        for (bad, needle) in [
            ("ftp://h/%s", "http://"),
            ("http://h/contacts", "exactly once"),
            ("http://h/%s/%s", "exactly once"),
            ("http://%s.example/", "after the host"),
            ("http:///%s", "needs a host"),
            ("http://h/%s x", "spaces"),
            ("http://h/%s#top", "fragment"),
        ] {
            let e = url(bad).unwrap_err();
            assert!(e.contains(needle) && e.contains(bad), "{bad}: {e}");
        }
    }

    #[test]
    fn prefixes() {
        let p = |s: &str| AddressPrefix::try_from(s.to_owned()).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(p("127.0.0.1").contains(ip("127.0.0.1")));
        assert!(!p("127.0.0.1").contains(ip("127.0.0.2")));
        assert!(p("127.0.0.1").contains(ip("::ffff:127.0.0.1")));
        assert!(p("10.0.0.0/8").contains(ip("10.200.3.4")));
        assert!(!p("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(p("192.168.4.0/22").contains(ip("192.168.7.255")));
        assert!(!p("192.168.4.0/22").contains(ip("192.168.8.0")));
        assert!(p("::1").contains(ip("::1")));
        assert!(!p("::1").contains(ip("127.0.0.1")));
        assert!(p("0.0.0.0/0").contains(ip("8.8.8.8")));
        for bad in ["localhost", "10.0.0.0/33", "::1/129", "1.2.3.4/x"] {
            assert!(AddressPrefix::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }
}
