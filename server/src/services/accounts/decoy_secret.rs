//! The secret SCRAM decoy salts are derived from (see
//! [`roost_sasl::ScramServer::with_decoy`]): made once, on first need, and
//! kept in the data directory with mode 0600, so an unknown user's salt is
//! the same after a restart, as a real user's is.
//!
//! Written to a temporary file, synced and renamed into place, so a crash
//! never leaves a half-written secret behind.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use rand::RngCore as _;

use roost_sasl::DECOY_SECRET_LEN;

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
    let path = data_dir.join(FILE_NAME);
    match std::fs::read(&path) {
        Ok(bytes) => bytes.try_into().map_err(|bytes: Vec<u8>| {
            DecoySecretError(format!(
                "{} holds {} bytes, not {DECOY_SECRET_LEN}; remove it to make a new one \
                 (unknown users' SCRAM salts then change once)",
                path.display(),
                bytes.len()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(&path),
        Err(e) => Err(DecoySecretError(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

fn create(path: &Path) -> Result<[u8; DECOY_SECRET_LEN], DecoySecretError> {
    let mut secret = [0u8; DECOY_SECRET_LEN];
    rand::rng().fill_bytes(&mut secret);
    let temporary = PathBuf::from(format!("{}.tmp", path.display()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .and_then(|mut file| {
            file.write_all(&secret)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&temporary, path));
    written.map_err(|e| DecoySecretError(format!("cannot write {}: {e}", path.display())))?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn made_once_kept_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        let path = dir.path().join(FILE_NAME);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load_or_create(dir.path()).unwrap(), first);
        assert_ne!(first, [0; DECOY_SECRET_LEN]);
    }

    #[test]
    fn a_damaged_file_is_an_error_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, b"short").unwrap();
        let error = load_or_create(dir.path()).unwrap_err().to_string();
        assert!(error.contains("5 bytes"), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), b"short");
    }
}
