//! The secret SCRAM decoy salts are derived from (see
//! [`roost_sasl::ScramServer::with_decoy`]): made once, on first need, and
//! kept in the data directory with mode 0600 (`services/secret_file.rs`),
//! so an unknown user's salt is the same after a restart, as a real user's
//! is.

use std::path::Path;

use roost_sasl::DECOY_SECRET_LEN;

use crate::services::secret_file;

/// The file's name in the data directory.
pub const FILE_NAME: &str = "scram-decoy.secret";

/// Why the secret could not be had; names the file.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct DecoySecretError(String);

impl DecoySecretError {
    /// The runtime cancelled the blocking task: roostd is stopping.
    pub(super) fn shutting_down() -> DecoySecretError {
        DecoySecretError("roostd is shutting down".into())
    }
}

/// Reads the secret from `data_dir`, making it first if there is none.
pub fn load_or_create(data_dir: &Path) -> Result<[u8; DECOY_SECRET_LEN], DecoySecretError> {
    secret_file::load_or_create(
        &data_dir.join(FILE_NAME),
        "unknown users' SCRAM salts then change once",
    )
    .map_err(|e| DecoySecretError(e.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_in_the_data_directory() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        assert!(dir.path().join(FILE_NAME).exists());
        assert_eq!(load_or_create(dir.path()).unwrap(), first);
    }
}
