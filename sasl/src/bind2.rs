//! Bind2 (XEP-0386) resources: `TAG~SUFFIX`, where the suffix is derived
//! from the client id, so that one installation gets the same resource at
//! every login (its contacts see one resource, not a new one per
//! reconnection), and is random for a client without an id.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha1::{Digest as _, Sha1};

/// Longest tag kept in a resource, in characters: the resource also
/// carries the suffix and must stay well inside RFC 7622's 1023 bytes.
const MAX_TAG_CHARS: usize = 64;

/// The suffix for a client id: the first 9 bytes of its SHA-1, in base64
/// (12 characters, as Prosody makes them; URL-safe, so no `/` or `+`).
pub fn suffix_for_client(client_id: &str) -> String {
    let digest = Sha1::digest(client_id.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..9])
}

/// The resource to bind: `TAG~SUFFIX`, or the suffix alone without a
/// usable tag. A tag keeps its first [`MAX_TAG_CHARS`] characters, with
/// `~`, `/` and `@` replaced so the suffix stays unambiguous and the
/// resource valid wherever the tag came from.
pub fn resource(tag: Option<&str>, suffix: &str) -> String {
    let tag: String = tag
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace())
        .take(MAX_TAG_CHARS)
        .map(|c| if matches!(c, '~' | '/' | '@') { '_' } else { c })
        .collect();
    if tag.is_empty() {
        suffix.to_owned()
    } else {
        format!("{tag}~{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_client_gets_the_same_resource() {
        let a = resource(Some("Conversations"), &suffix_for_client("d4565fa7"));
        let b = resource(Some("Conversations"), &suffix_for_client("d4565fa7"));
        let other = resource(Some("Conversations"), &suffix_for_client("d4565fa8"));
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert!(a.starts_with("Conversations~"));
        assert_eq!(suffix_for_client("d4565fa7").len(), 12);
    }

    #[test]
    fn tags_are_tamed() {
        assert_eq!(resource(Some("a~b/c@d e"), "S"), "a_b_c_de~S");
        assert_eq!(resource(Some(""), "S"), "S");
        assert_eq!(resource(None, "S"), "S");
        assert_eq!(resource(Some(" \t"), "S"), "S");
        let long = "x".repeat(1000);
        assert_eq!(resource(Some(&long), "S").len(), MAX_TAG_CHARS + 2);
    }

    #[test]
    fn suffixes_are_url_safe_base64() {
        for id in ["a", "b", "client", "ὠ", "1234567890"] {
            let s = suffix_for_client(id);
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            );
        }
    }
}
