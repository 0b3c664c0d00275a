//! The SASL2 (XEP-0388) messages this tool sends and the `<success>` it
//! reads: PLAIN with a FAST token request for the setup, HT-SHA-256-NONE
//! (XEP-0484) with Bind2 (XEP-0386) inline for the timed logins.
//!
//! The HT hashes are computed here with hmac + sha2, independently of the
//! server's roost-sasl, so the tool also checks the server's side.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use crate::conn::{excerpt, find};

pub const FAST_MECHANISM: &str = "HT-SHA-256-NONE";
/// Software and device in `<user-agent>`, the same in both phases.
const USER_AGENT_CHILDREN: &str =
    "<software>roost-bench fast-login</software><device>bench</device>";

/// `HMAC-SHA-256(key = token, msg = label)`: the HT hash without channel
/// binding (`-NONE`), where the key is the token string as received.
pub fn ht_hash(token: &str, label: &[u8]) -> [u8; 32] {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(token.as_bytes()).expect("HMAC takes any key length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

/// `<authenticate mechanism='PLAIN'>` asking for a FAST token for
/// `client_id`.
pub fn plain_with_token_request(username: &str, password: &str, client_id: &str) -> String {
    let initial = B64.encode(format!("\0{username}\0{password}"));
    format!(
        "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='PLAIN'><initial-response>{initial}</initial-response>\
         <user-agent id='{client_id}'>{USER_AGENT_CHILDREN}</user-agent>\
         <request-token xmlns='urn:xmpp:fast:0' mechanism='{FAST_MECHANISM}'/></authenticate>"
    )
}

/// `<authenticate mechanism='HT-SHA-256-NONE'>` with the token's initiator
/// hash, `<fast/>` and a Bind2 `<bind>` with tag `tag`.
pub fn fast_with_bind(username: &str, token: &str, client_id: &str, tag: &str) -> String {
    let mut message = Vec::with_capacity(username.len() + 33);
    message.extend_from_slice(username.as_bytes());
    message.push(0);
    message.extend_from_slice(&ht_hash(token, b"Initiator"));
    let initial = B64.encode(message);
    format!(
        "<authenticate xmlns='urn:xmpp:sasl:2' mechanism='{FAST_MECHANISM}'><initial-response>{initial}</initial-response>\
         <user-agent id='{client_id}'>{USER_AGENT_CHILDREN}</user-agent>\
         <fast xmlns='urn:xmpp:fast:0'/><bind xmlns='urn:xmpp:bind:0'><tag>{tag}</tag></bind></authenticate>"
    )
}

/// What a SASL2 `<success>` said.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Success {
    /// `<additional-data>`, decoded.
    pub additional_data: Option<Vec<u8>>,
    pub authorization_identifier: Option<String>,
    /// `<token token='…'/>` (XEP-0484): a new FAST token.
    pub token: Option<String>,
    /// Bind2 `<bound>` present.
    pub bound: bool,
}

/// Reads the whole `<success>…</success>` element.
pub fn parse_success(el: &[u8]) -> Result<Success, String> {
    let bad = |what: &str| format!("{what} in <success>: {}", excerpt(el, 400));
    let additional_data = match element_text(el, b"<additional-data") {
        None => None,
        Some(text) => Some(
            B64.decode(text.trim())
                .map_err(|_| bad("undecodable <additional-data>"))?,
        ),
    };
    let authorization_identifier =
        element_text(el, b"<authorization-identifier").map(|t| unescape(&t));
    let token = match find(el, b"<token") {
        None => None,
        Some(at) => {
            let tag = &el[at..];
            let end = find(tag, b">").ok_or_else(|| bad("unterminated <token>"))?;
            Some(
                attr(&tag[..end], "token")
                    .ok_or_else(|| bad("<token> without a token attribute"))?,
            )
        }
    };
    Ok(Success {
        additional_data,
        authorization_identifier,
        token,
        bound: find(el, b"<bound").is_some(),
    })
}

/// The text of the first `<name …>text</name>` in `el` (`open` is `<name`).
fn element_text(el: &[u8], open: &[u8]) -> Option<String> {
    let at = find(el, open)?;
    let rest = &el[at + open.len()..];
    let start = find(rest, b">")? + 1;
    if rest[..start].ends_with(b"/>") {
        return Some(String::new());
    }
    let end = find(&rest[start..], b"</")?;
    Some(String::from_utf8_lossy(&rest[start..start + end]).into_owned())
}

/// Value of attribute `name` in a start tag (either quote).
fn attr(tag: &[u8], name: &str) -> Option<String> {
    for quote in [b'\'', b'"'] {
        let pattern = [b" ", name.as_bytes(), b"=", &[quote][..]].concat();
        if let Some(at) = find(tag, &pattern) {
            let value = &tag[at + pattern.len()..];
            let end = value.iter().position(|&b| b == quote)?;
            return Some(unescape(&String::from_utf8_lossy(&value[..end])));
        }
    }
    None
}

/// The five predefined entities and character references.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let Some(semi) = tail.find(';') else {
            out.push_str(tail);
            return out;
        };
        let entity = &tail[1..semi];
        let c = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "apos" => Some('\''),
            "quot" => Some('"'),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => out.push(c),
            None => out.push_str(&tail[..=semi]),
        }
        rest = &tail[semi + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn ht_hash_is_hmac_sha256_keyed_by_the_token() {
        // printf Initiator | openssl dgst -sha256 -hmac secret-token:fast-abc
        // (and Responder)
        assert_eq!(
            hex(&ht_hash("secret-token:fast-abc", b"Initiator")),
            "31a40f95e222589afb8c28c212119413c99f1530ed11458f2ccd141988ee709e"
        );
        assert_eq!(
            hex(&ht_hash("secret-token:fast-abc", b"Responder")),
            "90fd060e34951aa445e2728bb488b74255c5b8355fea618546f7588e5427a204"
        );
    }

    #[test]
    fn success_with_bind_and_token() {
        let el = b"<success xmlns='urn:xmpp:sasl:2'><additional-data>AAEC</additional-data>\
<authorization-identifier>bench1@bench.test/bench~x</authorization-identifier>\
<bound xmlns='urn:xmpp:bind:0'/><token xmlns='urn:xmpp:fast:0' expiry='2026-12-20T00:00:00Z' token='a&amp;b'/></success>";
        let s = parse_success(el).unwrap();
        assert_eq!(s.additional_data, Some(vec![0, 1, 2]));
        assert_eq!(
            s.authorization_identifier.as_deref(),
            Some("bench1@bench.test/bench~x")
        );
        assert_eq!(s.token.as_deref(), Some("a&b"));
        assert!(s.bound);
    }

    #[test]
    fn success_without_extras() {
        let s = parse_success(b"<success xmlns='urn:xmpp:sasl:2'><authorization-identifier>u@d</authorization-identifier></success>").unwrap();
        assert_eq!(
            s,
            Success {
                authorization_identifier: Some("u@d".into()),
                ..Success::default()
            }
        );
    }

    #[test]
    fn broken_token_is_an_error() {
        assert!(parse_success(b"<success><token expiry='x'/></success>").is_err());
        assert!(
            parse_success(b"<success><additional-data>!!</additional-data></success>").is_err()
        );
    }

    #[test]
    fn fast_message_carries_user_nul_hash() {
        let m = fast_with_bind("bench7", "tok", "bench-7", "bench");
        let at = m.find("<initial-response>").unwrap() + "<initial-response>".len();
        let end = m.find("</initial-response>").unwrap();
        let raw = B64.decode(&m[at..end]).unwrap();
        assert_eq!(&raw[..7], b"bench7\0");
        assert_eq!(raw[7..], ht_hash("tok", b"Initiator"));
        assert!(m.contains("<user-agent id='bench-7'>"));
        assert!(m.contains("<fast xmlns='urn:xmpp:fast:0'/>"));
        assert!(m.contains("<bind xmlns='urn:xmpp:bind:0'><tag>bench</tag></bind>"));
    }
}
