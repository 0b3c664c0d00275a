//! The SASL mechanisms Roost offers, and which of them a stream gets.

use super::ScramHash;

/// A SASL mechanism Roost implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    ScramSha1,
    ScramSha1Plus,
    ScramSha256,
    ScramSha256Plus,
    Plain,
}

impl Mechanism {
    /// Every mechanism, strongest first: the order in which they are offered.
    pub const ALL: [Mechanism; 5] = [
        Mechanism::ScramSha256Plus,
        Mechanism::ScramSha1Plus,
        Mechanism::ScramSha256,
        Mechanism::ScramSha1,
        Mechanism::Plain,
    ];

    /// The IANA-registered name, as in `<mechanism>` and `<auth mechanism=…>`.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::ScramSha1Plus => "SCRAM-SHA-1-PLUS",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
            Mechanism::Plain => "PLAIN",
        }
    }

    /// The mechanism called `name`. SASL mechanism names are upper case
    /// (RFC 4422 §3.1), so no other spelling matches.
    pub fn from_name(name: &str) -> Option<Mechanism> {
        Mechanism::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The hash of a SCRAM mechanism; `None` for PLAIN.
    pub fn scram_hash(self) -> Option<ScramHash> {
        match self {
            Mechanism::ScramSha1 | Mechanism::ScramSha1Plus => Some(ScramHash::Sha1),
            Mechanism::ScramSha256 | Mechanism::ScramSha256Plus => Some(ScramHash::Sha256),
            Mechanism::Plain => None,
        }
    }

    /// Whether this is a channel-binding (`-PLUS`) variant.
    pub fn is_plus(self) -> bool {
        matches!(self, Mechanism::ScramSha1Plus | Mechanism::ScramSha256Plus)
    }
}

/// The mechanisms to offer on a stream, strongest first.
///
/// PLAIN sends the password itself, so it is offered only over TLS and only
/// when allowed; `-PLUS` variants only when the TLS session has channel
/// binding data (which implies TLS).
pub fn offered_mechanisms(
    tls_active: bool,
    channel_binding_available: bool,
    plain_allowed: bool,
) -> Vec<Mechanism> {
    Mechanism::ALL
        .into_iter()
        .filter(|m| match m {
            Mechanism::Plain => tls_active && plain_allowed,
            m if m.is_plus() => tls_active && channel_binding_available,
            _ => true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(mechanisms: Vec<Mechanism>) -> Vec<&'static str> {
        mechanisms.into_iter().map(Mechanism::name).collect()
    }

    #[test]
    fn names_round_trip() {
        for m in Mechanism::ALL {
            assert_eq!(Mechanism::from_name(m.name()), Some(m));
        }
        assert_eq!(Mechanism::from_name("scram-sha-1"), None);
        assert_eq!(Mechanism::from_name("DIGEST-MD5"), None);
        assert_eq!(Mechanism::from_name(""), None);
    }

    #[test]
    fn what_is_offered() {
        assert_eq!(
            names(offered_mechanisms(true, true, true)),
            [
                "SCRAM-SHA-256-PLUS",
                "SCRAM-SHA-1-PLUS",
                "SCRAM-SHA-256",
                "SCRAM-SHA-1",
                "PLAIN"
            ]
        );
        assert_eq!(
            names(offered_mechanisms(true, false, true)),
            ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]
        );
        assert_eq!(
            names(offered_mechanisms(true, true, false)),
            [
                "SCRAM-SHA-256-PLUS",
                "SCRAM-SHA-1-PLUS",
                "SCRAM-SHA-256",
                "SCRAM-SHA-1"
            ]
        );
        // Without TLS: no PLAIN and no channel binding, whatever is claimed.
        assert_eq!(
            names(offered_mechanisms(false, true, true)),
            ["SCRAM-SHA-256", "SCRAM-SHA-1"]
        );
    }

    #[test]
    fn hashes_and_plus() {
        assert_eq!(Mechanism::ScramSha1Plus.scram_hash(), Some(ScramHash::Sha1));
        assert_eq!(Mechanism::ScramSha256.scram_hash(), Some(ScramHash::Sha256));
        assert_eq!(Mechanism::Plain.scram_hash(), None);
        assert!(Mechanism::ScramSha256Plus.is_plus());
        assert!(!Mechanism::ScramSha256.is_plus());
        assert!(!Mechanism::Plain.is_plus());
    }
}
