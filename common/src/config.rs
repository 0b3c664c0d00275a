//! `roostd`'s configuration file (TOML), shared with `roostctl` so that
//! `roostctl --config FILE` finds the admin socket exactly where `roostd`
//! puts it.
//!
//! Every option has a default, so an empty file (or none) is a working
//! configuration. Unknown options and bad values are errors that name the
//! file, the line and the option: a typo must never be silently ignored.
//! Relative paths in a file are relative to the file's directory; the
//! built-in defaults are relative to the working directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::jid::DomainName;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the database, the generated certificate and the admin socket live.
    pub data_dir: PathBuf,
    /// The virtual hosts this server serves.
    pub hosts: Vec<DomainName>,
    pub log_level: LogLevel,
    pub http: HttpConfig,
    pub c2s: C2sConfig,
    pub tls: TlsConfig,
    pub auth: AuthConfig,
    pub admin: AdminConfig,
    pub invites: InvitesConfig,
    pub storage: StorageConfig,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct C2sConfig {
    /// Addresses for client connections (STARTTLS).
    pub bind: Vec<SocketAddr>,
    /// Addresses for direct TLS (XEP-0368); none by default.
    pub direct_tls_bind: Vec<SocketAddr>,
    /// Refuse authentication before TLS (Prosody's c2s_require_encryption).
    pub require_encryption: bool,
    /// Largest stanza before authentication, in bytes.
    pub max_stanza_size_unauthenticated: usize,
    /// Largest stanza after authentication, in bytes.
    pub max_stanza_size: usize,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain; without it (and `key`) a self-signed
    /// certificate is generated into the data directory on first start.
    pub certificate: Option<PathBuf>,
    /// PEM private key for `certificate`.
    pub key: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// PBKDF2 iterations for new SCRAM credentials.
    pub scram_iterations: u32,
    /// Failed authentications allowed per source address and minute.
    pub max_failures_per_minute: u32,
    /// SASL mechanisms that may be offered (a subset of SCRAM-SHA-256-PLUS,
    /// SCRAM-SHA-256, SCRAM-SHA-1-PLUS, SCRAM-SHA-1, PLAIN); empty for all.
    pub mechanisms: Vec<String>,
}
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub bind: SocketAddr,
    /// Base of the links handed out (invite pages); without a trailing slash.
    /// Defaults to `http://` + `bind`.
    pub public_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// Defaults to `roostd.sock` in the data directory.
    pub socket: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InvitesConfig {
    #[serde(deserialize_with = "duration")]
    pub expiry: Duration,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    pub synchronous: Synchronous,
}

/// SQLite's `synchronous` setting: how hard a commit tries to reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// A commit is in the OS before it is acknowledged: it survives a crash
    /// of `roostd` (even `kill -9`), not a power cut.
    Normal,
    /// Every commit is fsynced: it survives a power cut too.
    Full,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from(crate::DEFAULT_DATA_DIR),
            hosts: vec![DomainName::parse("localhost").expect("valid")],
            log_level: LogLevel::Info,
            http: HttpConfig::default(),
            c2s: C2sConfig::default(),
            tls: TlsConfig::default(),
            auth: AuthConfig::default(),
            admin: AdminConfig::default(),
            invites: InvitesConfig::default(),
            storage: StorageConfig::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 5280)),
            public_url: None,
        }
    }
}

impl Default for C2sConfig {
    fn default() -> Self {
        C2sConfig {
            bind: vec![SocketAddr::from(([127, 0, 0, 1], 5222))],
            direct_tls_bind: Vec::new(),
            require_encryption: true,
            max_stanza_size_unauthenticated: 10_000,
            max_stanza_size: 256 * 1024,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            scram_iterations: 10_000,
            max_failures_per_minute: 10,
            mechanisms: Vec::new(),
        }
    }
}

impl Default for InvitesConfig {
    fn default() -> Self {
        InvitesConfig {
            expiry: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            synchronous: Synchronous::Normal,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

impl Config {
    /// Reads `path`, or returns the defaults when there is no file.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::parse(&text, base).map_err(|(line, message)| ConfigError::Invalid {
            path: path.to_owned(),
            line,
            message,
        })
    }

    /// Parses config text; relative paths are taken relative to `base`.
    /// Errors carry the 1-based line and a message naming the option.
    pub fn parse(text: &str, base: &Path) -> Result<Config, (usize, String)> {
        let mut config: Config = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            (line, e.message().trim().to_owned())
        })?;
        if config.hosts.is_empty() {
            return Err((
                line_of_key(text, "hosts"),
                "hosts: at least one host is needed".into(),
            ));
        }
        if let Some(url) = &config.http.public_url {
            let trimmed = url.trim_end_matches('/');
            let rest = trimmed
                .strip_prefix("https://")
                .or_else(|| trimmed.strip_prefix("http://"));
            if rest.is_none_or(|r| r.is_empty() || r.contains(['?', '#', ' '])) {
                return Err((
                    line_of_key(text, "public_url"),
                    format!("http.public_url: '{url}' is not an http:// or https:// URL"),
                ));
            }
            config.http.public_url = Some(trimmed.to_owned());
        }
        if config.tls.certificate.is_some() != config.tls.key.is_some() {
            return Err((
                line_of_key(text, "[tls]"),
                "tls: give both certificate and key, or neither".into(),
            ));
        }
        if config.auth.scram_iterations < 4096 {
            return Err((
                line_of_key(text, "scram_iterations"),
                "auth.scram_iterations: at least 4096 (RFC 7677)".into(),
            ));
        }
        const MECHANISMS: [&str; 5] = [
            "SCRAM-SHA-256-PLUS",
            "SCRAM-SHA-256",
            "SCRAM-SHA-1-PLUS",
            "SCRAM-SHA-1",
            "PLAIN",
        ];
        if let Some(bad) = config
            .auth
            .mechanisms
            .iter()
            .find(|m| !MECHANISMS.contains(&m.as_str()))
        {
            return Err((
                line_of_key(text, "mechanisms"),
                format!(
                    "auth.mechanisms: unknown mechanism '{bad}' (known: {})",
                    MECHANISMS.join(", ")
                ),
            ));
        }
        config.data_dir = base.join(&config.data_dir);
        for path in [&mut config.tls.certificate, &mut config.tls.key]
            .into_iter()
            .flatten()
        {
            *path = base.join(&*path);
        }
        if let Some(socket) = &config.admin.socket {
            config.admin.socket = Some(base.join(socket));
        }
        Ok(config)
    }

    pub fn socket_path(&self) -> PathBuf {
        self.admin
            .socket
            .clone()
            .unwrap_or_else(|| self.data_dir.join(crate::DEFAULT_SOCKET_NAME))
    }

    /// Where the self-signed certificate and its key go when none is configured.
    pub fn generated_tls_paths(&self) -> (PathBuf, PathBuf) {
        (
            self.data_dir.join("tls-cert.pem"),
            self.data_dir.join("tls-key.pem"),
        )
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("roost.sqlite3")
    }

    /// The base of public links, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.http
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.http.bind))
    }

    pub fn serves(&self, host: &DomainName) -> bool {
        self.hosts.contains(host)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn line_of_key(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| l.trim_start().starts_with(key))
        .map_or(1, |i| i + 1)
}

/// Accepts a whole number of seconds or a human duration such as `"7d"`,
/// `"12h"` or `"1week 2days"`.
fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(u64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Secs(s) => Ok(Duration::from_secs(s)),
        Raw::Text(t) => parse_duration(&t).map_err(serde::de::Error::custom),
    }
}

/// Parses a positive duration as accepted everywhere in Roost (config and
/// command line): plain seconds, or humantime syntax (`30m`, `7d`, `1w`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let parsed = match t.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(t)
            .map_err(|e| format!("'{text}' is not a duration ({e}); try 3600, 30m, 12h or 7d"))?,
    };
    if parsed.is_zero() {
        return Err(format!("'{text}' is not a positive duration"));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = Config::parse("", Path::new("/etc/roost")).unwrap();
        assert_eq!(c.hosts, vec![DomainName::parse("localhost").unwrap()]);
        assert_eq!(c.data_dir, Path::new("/etc/roost/./data"));
        assert_eq!(c.socket_path(), Path::new("/etc/roost/./data/roostd.sock"));
        assert_eq!(c.public_url(), "http://127.0.0.1:5280");
        assert_eq!(c.invites.expiry, Duration::from_secs(604800));
    }

    #[test]
    fn unknown_option_names_line_and_option() {
        let text = "hosts = [\"a.test\"]\n\n[http]\nbnd = \"127.0.0.1:1\"\n";
        let (line, msg) = Config::parse(text, Path::new(".")).unwrap_err();
        assert_eq!(line, 4);
        assert!(msg.contains("bnd"), "{msg}");
    }

    #[test]
    fn bad_values_are_errors() {
        for (text, needle) in [
            ("[invites]\nexpiry = \"7 parsecs\"", "duration"),
            ("log_level = \"loud\"", "loud"),
            ("hosts = [\"bad host\"]", "bad host"),
            ("hosts = []", "hosts"),
            ("[http]\npublic_url = \"ftp://x\"", "public_url"),
            ("[http]\nbind = \"nowhere\"", "socket address"),
            ("[tls]\ncertificate = \"c.pem\"", "both"),
            ("[auth]\nscram_iterations = 10", "4096"),
            ("[auth]\nmechanisms = [\"DIGEST-MD5\"]", "DIGEST-MD5"),
            ("[c2s]\nbind = \"127.0.0.1:5222\"", "sequence"),
        ] {
            let (_, msg) = Config::parse(text, Path::new(".")).unwrap_err();
            assert!(msg.contains(needle), "{text:?} gave {msg:?}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(604800));
        assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
