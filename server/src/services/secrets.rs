//! Random identifiers and secrets, and how they are stored.
//!
//! Sizes follow Prosody so that ids look the same to its users: base64url
//! without padding, 9 bytes (12 characters) for ids, 18 bytes (24) for invite
//! tokens, 27 bytes (36) for secrets. Secrets and tokens are stored only as
//! SHA-256 hashes: they carry at least 144 random bits, so a fast hash is
//! enough, and a leaked database hands out nothing usable.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// `bytes` from the thread-local CSPRNG (ChaCha, seeded from the OS), as base64url.
pub fn random_id(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(&buf)
}

/// A short id that people type as a command-line argument: like
/// [`random_id`] but never starting with `-`, which would read as an option.
pub fn random_short_id() -> String {
    loop {
        let id = random_id(SHORT_ID_BYTES);
        if !id.starts_with('-') {
            return id;
        }
    }
}

pub const SHORT_ID_BYTES: usize = 9;
pub const TOKEN_BYTES: usize = 18;
pub const SECRET_BYTES: usize = 27;

pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Whether `secret` hashes to `stored`, in time independent of where they differ.
pub fn matches(secret: &str, stored: &[u8]) -> bool {
    hash(secret).ct_eq(stored).into()
}

/// Whether `s` could be one of our ids or secrets: base64url characters only.
pub fn is_base64url(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_prosody() {
        assert_eq!(random_id(SHORT_ID_BYTES).len(), 12);
        assert!((0..2000).all(|_| !random_short_id().starts_with('-')));
        assert_eq!(random_id(TOKEN_BYTES).len(), 24);
        assert_eq!(random_id(SECRET_BYTES).len(), 36);
        assert!(is_base64url(&random_id(SECRET_BYTES)));
        assert_ne!(random_id(TOKEN_BYTES), random_id(TOKEN_BYTES));
    }

    #[test]
    fn hash_matching() {
        let stored = hash("s3cret");
        assert!(matches("s3cret", &stored));
        assert!(!matches("s3creT", &stored));
        assert!(!matches("", &stored));
    }
}
