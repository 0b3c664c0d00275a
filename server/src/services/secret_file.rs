//! A server secret kept in a file of the data directory with mode 0600:
//! made once, on first need, then read back at every start, so what is
//! derived from it stays the same across restarts.
//!
//! Written to a temporary file, synced and renamed into place, so a crash
//! never leaves a half-written secret behind. A file of the wrong length is
//! an error, never replaced: replacing it would silently void what was
//! derived from the old secret.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use rand::RngCore as _;

/// Why the secret could not be had; names the file.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct SecretFileError(pub String);

/// A secret file read once per process, off the async runtime (a first
/// read may create and sync the file).
pub struct SecretCell<const N: usize> {
    cell: tokio::sync::OnceCell<[u8; N]>,
}

impl<const N: usize> Default for SecretCell<N> {
    fn default() -> Self {
        SecretCell {
            cell: tokio::sync::OnceCell::new(),
        }
    }
}

impl<const N: usize> SecretCell<N> {
    /// The secret at `path`, read (or made) the first time; see
    /// [`load_or_create`].
    pub async fn get(
        &self,
        path: PathBuf,
        if_removed: &'static str,
    ) -> Result<[u8; N], SecretFileError> {
        self.cell
            .get_or_try_init(|| async move {
                let loaded =
                    tokio::task::spawn_blocking(move || load_or_create(&path, if_removed)).await;
                match loaded {
                    Ok(loaded) => loaded,
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    Err(_) => Err(SecretFileError("roostd is shutting down".into())),
                }
            })
            .await
            .copied()
    }
}

/// Reads the `N`-byte secret at `path`, making it first if there is none.
/// `if_removed` tells the operator what removing a damaged file costs.
pub fn load_or_create<const N: usize>(
    path: &Path,
    if_removed: &str,
) -> Result<[u8; N], SecretFileError> {
    match std::fs::read(path) {
        Ok(bytes) => bytes.try_into().map_err(|bytes: Vec<u8>| {
            SecretFileError(format!(
                "{} holds {} bytes, not {N}; remove it to make a new one ({if_removed})",
                path.display(),
                bytes.len()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path),
        Err(e) => Err(SecretFileError(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

fn create<const N: usize>(path: &Path) -> Result<[u8; N], SecretFileError> {
    let mut secret = [0u8; N];
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
        .and_then(|()| std::fs::rename(&temporary, path))
        // The new name survives a power cut only once the directory is synced.
        .and_then(|()| {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
            std::fs::File::open(dir.unwrap_or(Path::new(".")))?.sync_all()
        });
    written.map_err(|e| SecretFileError(format!("cannot write {}: {e}", path.display())))?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn made_once_kept_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let first: [u8; 32] = load_or_create(&path, "x").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load_or_create::<32>(&path, "x").unwrap(), first);
        assert_ne!(first, [0; 32]);
    }

    #[test]
    fn a_damaged_file_is_an_error_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, b"short").unwrap();
        let error = load_or_create::<32>(&path, "tokens stop working")
            .unwrap_err()
            .to_string();
        assert!(error.contains("5 bytes"), "{error}");
        assert!(error.contains("tokens stop working"), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), b"short");
    }
}
