//! SCRAM credentials (RFC 5802 §3): what is stored instead of a password,
//! and the hash functions both SCRAM variants are built from.
//!
//! From a password only `StoredKey = H(HMAC(SaltedPassword, "Client Key"))`
//! and `ServerKey = HMAC(SaltedPassword, "Server Key")` are kept: enough to
//! check a SCRAM proof or a PLAIN password, not enough to log in elsewhere.

use hmac::{Hmac, Mac as _};
use sha1::Sha1;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// Salt length for new credentials, in bytes (RFC 5802 leaves it open; 16
/// is what Prosody and ejabberd use).
pub const SALT_LEN: usize = 16;

/// The hash function of a SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramHash {
    Sha1,
    Sha256,
}

impl ScramHash {
    /// The mechanism name without `-PLUS`, as stored in `scram_credentials`.
    pub fn name(self) -> &'static str {
        match self {
            ScramHash::Sha1 => "SCRAM-SHA-1",
            ScramHash::Sha256 => "SCRAM-SHA-256",
        }
    }

    /// Output length of the hash, and so of every key and proof, in bytes.
    pub fn output_len(self) -> usize {
        match self {
            ScramHash::Sha1 => 20,
            ScramHash::Sha256 => 32,
        }
    }

    pub(crate) fn h(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    pub(crate) fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        // HMAC takes keys of any length, so `new_from_slice` cannot fail.
        match self {
            ScramHash::Sha1 => {
                let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC accepts any key");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            ScramHash::Sha256 => {
                let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    /// `Hi()` of RFC 5802: PBKDF2 with HMAC-H, one block of output.
    pub(crate) fn hi(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut out = vec![0u8; self.output_len()];
        // Only an unusable PRF key length makes pbkdf2 fail; HMAC has none.
        match self {
            ScramHash::Sha1 => pbkdf2::pbkdf2::<Hmac<Sha1>>(password, salt, iterations, &mut out),
            ScramHash::Sha256 => {
                pbkdf2::pbkdf2::<Hmac<Sha256>>(password, salt, iterations, &mut out)
            }
        }
        .expect("HMAC accepts any key");
        out
    }
}

/// A password that cannot become credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password is empty")]
    Empty,
    #[error(
        "the password contains characters that passwords may not contain \
         (control or unassigned characters, or mixed text directions; RFC 4013)"
    )]
    Prohibited,
}

/// What is stored of a password for one SCRAM hash.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredentials {
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
}

impl std::fmt::Debug for ScramCredentials {
    // Keys stay out of logs: with the salt they allow offline guessing.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramCredentials")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl ScramCredentials {
    /// Derives credentials from `password`, prepared with SASLprep first as
    /// RFC 5802 requires. CPU-heavy by design: run it off the async runtime.
    pub fn derive(
        hash: ScramHash,
        password: &str,
        salt: &[u8],
        iterations: u32,
    ) -> Result<ScramCredentials, PasswordError> {
        let prepared = prepare_password(password)?;
        let salted = hash.hi(prepared.as_bytes(), salt, iterations);
        let client_key = hash.hmac(&salted, b"Client Key");
        Ok(ScramCredentials {
            salt: salt.to_vec(),
            iterations,
            stored_key: hash.h(&client_key),
            server_key: hash.hmac(&salted, b"Server Key"),
        })
    }

    /// Whether `password` is the one these credentials were derived from,
    /// compared in constant time. As slow as [`derive`](Self::derive).
    pub fn verify_plain(&self, hash: ScramHash, password: &str) -> bool {
        if self.iterations == 0 {
            return false;
        }
        let Ok(prepared) = prepare_password(password) else {
            return false;
        };
        let salted = hash.hi(prepared.as_bytes(), &self.salt, self.iterations);
        let client_key = hash.hmac(&salted, b"Client Key");
        hash.h(&client_key).ct_eq(&self.stored_key).into()
    }
}

/// SASLprep (RFC 4013) as a password needs it: at least one character
/// after preparation, nothing prohibited.
fn prepare_password(password: &str) -> Result<String, PasswordError> {
    let prepared = stringprep::saslprep(password).map_err(|_| PasswordError::Prohibited)?;
    if prepared.is_empty() {
        return Err(PasswordError::Empty);
    }
    Ok(prepared.into_owned())
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    #[test]
    fn rfc_5802_keys() {
        // RFC 5802 §5: user "user", password "pencil".
        let salt = STANDARD.decode("QSXCR+Q6sek8bf92").unwrap();
        let creds = ScramCredentials::derive(ScramHash::Sha1, "pencil", &salt, 4096).unwrap();
        assert_eq!(creds.stored_key.len(), 20);
        assert!(creds.verify_plain(ScramHash::Sha1, "pencil"));
        assert!(!creds.verify_plain(ScramHash::Sha1, "pencil "));
        assert!(!creds.verify_plain(ScramHash::Sha1, "Pencil"));
        assert!(!creds.verify_plain(ScramHash::Sha256, "pencil"));
    }

    #[test]
    fn saslprep_applies_before_hashing() {
        let salt = [7u8; SALT_LEN];
        // U+00A0 (no-break space) maps to a space; U+00AD (soft hyphen) to nothing.
        let a = ScramCredentials::derive(ScramHash::Sha256, "a\u{A0}b\u{AD}", &salt, 4096).unwrap();
        let b = ScramCredentials::derive(ScramHash::Sha256, "a b", &salt, 4096).unwrap();
        assert_eq!(a, b);
        assert!(a.verify_plain(ScramHash::Sha256, "a b"));
    }

    #[test]
    fn unusable_passwords() {
        let salt = [0u8; SALT_LEN];
        for (password, error) in [
            ("", PasswordError::Empty),
            ("\u{AD}", PasswordError::Empty),
            ("bell\u{7}", PasswordError::Prohibited),
            ("nul\0", PasswordError::Prohibited),
        ] {
            assert_eq!(
                ScramCredentials::derive(ScramHash::Sha1, password, &salt, 4096),
                Err(error),
                "{password:?}"
            );
        }
    }

    #[test]
    fn zero_iterations_never_verify() {
        let mut creds = ScramCredentials::derive(ScramHash::Sha1, "x", &[1; SALT_LEN], 1).unwrap();
        creds.iterations = 0;
        assert!(!creds.verify_plain(ScramHash::Sha1, "x"));
    }

    #[test]
    fn debug_hides_the_keys() {
        let creds = ScramCredentials::derive(ScramHash::Sha1, "x", &[1; SALT_LEN], 4096).unwrap();
        let shown = format!("{creds:?}");
        assert!(!shown.contains("stored_key"), "{shown}");
    }
}
