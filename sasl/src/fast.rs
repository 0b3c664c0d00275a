//! FAST (XEP-0484) mechanisms: the `HT-*` family of
//! draft-schmaus-kitten-sasl-ht, where a client proves it holds a token
//! the server issued earlier instead of presenting the password.
//!
//! The client's only message is `username NUL HMAC-SHA-256(token,
//! "Initiator" || cb-data)`; the server answers, in SASL2's
//! `<additional-data>`, `HMAC-SHA-256(token, "Responder" || cb-data)`, which
//! proves that it knew the token too. `cb-data` is empty for `-NONE` and the
//! TLS session's `tls-exporter` data (RFC 9266) for `-EXPR`, which binds the
//! login to the TLS channel. The key is the whole token string as the
//! client received it.

use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use super::SaslFailure;

/// Length of every HT-SHA-256 hash, in bytes.
pub const HT_SHA256_LEN: usize = 32;

/// A FAST mechanism Roost implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FastMechanism {
    /// No channel binding.
    HtSha256None,
    /// Bound to the TLS channel with `tls-exporter` (TLS 1.3).
    HtSha256Expr,
}

impl FastMechanism {
    /// Every mechanism, strongest first: the order in which they are offered.
    pub const ALL: [FastMechanism; 2] = [FastMechanism::HtSha256Expr, FastMechanism::HtSha256None];

    pub fn name(self) -> &'static str {
        match self {
            FastMechanism::HtSha256None => "HT-SHA-256-NONE",
            FastMechanism::HtSha256Expr => "HT-SHA-256-EXPR",
        }
    }

    /// The mechanism called `name`; SASL names are upper case only.
    pub fn from_name(name: &str) -> Option<FastMechanism> {
        FastMechanism::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Whether the mechanism needs `tls-exporter` data.
    pub fn binds_channel(self) -> bool {
        self == FastMechanism::HtSha256Expr
    }

    /// The mechanisms a stream can offer: `-EXPR` only with `tls-exporter`
    /// data.
    pub fn offered(channel_binding_available: bool) -> impl Iterator<Item = FastMechanism> {
        FastMechanism::ALL
            .into_iter()
            .filter(move |m| channel_binding_available || !m.binds_channel())
    }
}

/// The client's message of an HT exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FastResponse {
    /// The authentication identity: a username, not a JID.
    pub username: String,
    /// `HMAC-SHA-256(token, "Initiator" || cb-data)`.
    pub initiator: [u8; HT_SHA256_LEN],
}

/// Parses `username NUL initiator-hash`. The username must be UTF-8 and
/// non-empty; the hash exactly [`HT_SHA256_LEN`] bytes.
pub fn parse_response(message: &[u8]) -> Result<FastResponse, SaslFailure> {
    let nul = memchr_nul(message).ok_or(SaslFailure::MalformedRequest)?;
    let (username, rest) = (&message[..nul], &message[nul + 1..]);
    let username = std::str::from_utf8(username)
        .ok()
        .filter(|u| !u.is_empty())
        .ok_or(SaslFailure::MalformedRequest)?;
    let initiator: [u8; HT_SHA256_LEN] =
        rest.try_into().map_err(|_| SaslFailure::MalformedRequest)?;
    Ok(FastResponse {
        username: username.to_owned(),
        initiator,
    })
}

fn memchr_nul(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == 0)
}

/// `HMAC-SHA-256(token, "Initiator" || cb-data)`: what a client holding
/// `token` sends.
pub fn initiator_hash(token: &[u8], channel_binding: &[u8]) -> [u8; HT_SHA256_LEN] {
    ht(token, b"Initiator", channel_binding)
}

/// `HMAC-SHA-256(token, "Responder" || cb-data)`: the server's answer.
pub fn responder_hash(token: &[u8], channel_binding: &[u8]) -> [u8; HT_SHA256_LEN] {
    ht(token, b"Responder", channel_binding)
}

/// Whether `given` is the initiator hash of `token`, compared in constant
/// time.
pub fn verify_initiator(token: &[u8], channel_binding: &[u8], given: &[u8]) -> bool {
    initiator_hash(token, channel_binding).ct_eq(given).into()
}

fn ht(token: &[u8], label: &[u8], channel_binding: &[u8]) -> [u8; HT_SHA256_LEN] {
    let mut mac = Hmac::<Sha256>::new_from_slice(token).expect("HMAC takes any key length");
    mac.update(label);
    mac.update(channel_binding);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &[u8] = b"secret-token:fast-abc";

    #[test]
    fn names_round_trip() {
        for m in FastMechanism::ALL {
            assert_eq!(FastMechanism::from_name(m.name()), Some(m));
        }
        assert_eq!(FastMechanism::from_name("ht-sha-256-none"), None);
        assert_eq!(FastMechanism::from_name("HT-SHA-256-UNIQ"), None);
    }

    #[test]
    fn expr_is_offered_only_with_channel_binding() {
        let names = |cb| {
            FastMechanism::offered(cb)
                .map(FastMechanism::name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(true), ["HT-SHA-256-EXPR", "HT-SHA-256-NONE"]);
        assert_eq!(names(false), ["HT-SHA-256-NONE"]);
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hashes_are_hmac_sha256_of_label_and_binding() {
        // Computed independently: printf Initiator | openssl dgst -sha256
        // -hmac secret-token:fast-abc (and Responder).
        assert_eq!(
            hex(&initiator_hash(TOKEN, b"")),
            "31a40f95e222589afb8c28c212119413c99f1530ed11458f2ccd141988ee709e"
        );
        assert_eq!(
            hex(&responder_hash(TOKEN, b"")),
            "90fd060e34951aa445e2728bb488b74255c5b8355fea618546f7588e5427a204"
        );
        assert_ne!(initiator_hash(TOKEN, b""), initiator_hash(TOKEN, b"cb"));
    }

    #[test]
    fn verification() {
        let good = initiator_hash(TOKEN, b"cb");
        assert!(verify_initiator(TOKEN, b"cb", &good));
        assert!(!verify_initiator(TOKEN, b"", &good));
        assert!(!verify_initiator(TOKEN, b"cb", &good[..31]));
        let mut bad = good;
        bad[0] ^= 1;
        assert!(!verify_initiator(TOKEN, b"cb", &bad));
    }

    #[test]
    fn parsing() {
        let hash = initiator_hash(TOKEN, b"");
        let mut message = b"juliet\0".to_vec();
        message.extend_from_slice(&hash);
        assert_eq!(
            parse_response(&message),
            Ok(FastResponse {
                username: "juliet".into(),
                initiator: hash
            })
        );
        for bad in [
            &b""[..],
            b"juliet",
            b"\0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            b"juliet\0short",
            b"\xff\0aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ] {
            assert_eq!(parse_response(bad), Err(SaslFailure::MalformedRequest));
        }
    }
}
