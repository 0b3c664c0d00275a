//! Domain names as Roost accepts them for virtual hosts.
//!
//! Full JID handling (nodeprep, resources) arrives with the c2s listener; the
//! admin protocol only needs host names, normalised the way XMPP compares
//! them: lower case, no trailing dot.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A syntactically valid DNS-style host name, normalised to lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DomainName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a valid host name")]
pub struct InvalidDomain(pub String);

impl DomainName {
    pub fn parse(input: &str) -> Result<Self, InvalidDomain> {
        let trimmed = input.strip_suffix('.').unwrap_or(input);
        let lower = trimmed.to_ascii_lowercase();
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if lower.is_empty() || lower.len() > 253 || !lower.split('.').all(label_ok) {
            return Err(InvalidDomain(input.to_owned()));
        }
        Ok(DomainName(lower))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DomainName {
    type Error = InvalidDomain;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        DomainName::parse(&value)
    }
}

impl From<DomainName> for String {
    fn from(value: DomainName) -> Self {
        value.0
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_trailing_dot() {
        assert_eq!(
            DomainName::parse("Example.COM.").unwrap().as_str(),
            "example.com"
        );
        assert_eq!(
            DomainName::parse("localhost").unwrap().as_str(),
            "localhost"
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            ".",
            "a..b",
            "-a.com",
            "a b",
            "alice@example.com",
            "ex/ample",
        ] {
            assert!(DomainName::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
