//! Backups (`roostctl backup FILE`): where one may be written and how it
//! gets there.
//!
//! The copy is made as a hidden file next to the destination, mode 0600
//! (it holds SCRAM keys and hashed tokens), checked, synced, then linked to
//! its name, so the name only ever shows a whole, checked backup, and a
//! file that exists is never overwritten. One backup runs at a time.

use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use roost_common::admin::BackupInfo;

use super::ServiceError;
use super::audit::{self, Actor, Audit, AuditAction, Entry};
use crate::storage::{StorageError, backup};

#[derive(Clone)]
pub struct Backups {
    database: Arc<Path>,
    audit: Audit,
    one_at_a_time: Arc<tokio::sync::Mutex<()>>,
}

impl Backups {
    pub fn new(database: &Path, audit: Audit) -> Backups {
        Backups {
            database: Arc::from(database),
            audit,
            one_at_a_time: Arc::default(),
        }
    }

    /// Writes a backup to `path` (absolute, in an existing directory, not
    /// existing yet) as `actor` asked, recorded in the audit log whatever
    /// the outcome: a copy of the database is a copy of every credential.
    pub async fn write(&self, actor: &Actor, path: &str) -> Result<BackupInfo, ServiceError> {
        let written = self.write_unrecorded(path).await;
        let entry = Entry::new(actor, AuditAction::DatabaseBackup).subject(path);
        let entry = match &written {
            Ok(info) => entry.detail(format!("bytes={}", info.bytes)),
            Err(e) => entry.outcome(audit::code(e)),
        };
        self.audit.record_apart(entry).await;
        written
    }

    async fn write_unrecorded(&self, path: &str) -> Result<BackupInfo, ServiceError> {
        let dest = PathBuf::from(path);
        if !dest.is_absolute() {
            return Err(ServiceError::Invalid(format!(
                "backup path '{path}' is not absolute"
            )));
        }
        let _one = self.one_at_a_time.lock().await;
        let database = self.database.clone();
        let started = Instant::now();
        // Every file system call, the checks included, off the runtime.
        let written = tokio::task::spawn_blocking(move || {
            let partial = partial_name(&dest)?;
            let outcome = write_checked(&database, &partial, &dest);
            let _ = std::fs::remove_file(&partial);
            outcome.map(|bytes| (dest, bytes))
        })
        .await
        .map_err(|e| ServiceError::Storage(StorageError::File(format!("backup failed: {e}"))))?;
        let (dest, bytes) = written?;
        let info = BackupInfo {
            path: dest.display().to_string(),
            bytes,
            millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        tracing::info!(path = %info.path, bytes, millis = info.millis, "backup written");
        Ok(info)
    }
}

/// The hidden file next to `dest` the copy is made in, once `dest` is
/// known to be a new name in an existing directory.
fn partial_name(dest: &Path) -> Result<PathBuf, ServiceError> {
    let (Some(dir), Some(name)) = (dest.parent(), dest.file_name()) else {
        return Err(ServiceError::Invalid(format!(
            "backup path '{}' names no file",
            dest.display()
        )));
    };
    if !dir.is_dir() {
        return Err(ServiceError::Invalid(format!(
            "directory {} does not exist",
            dir.display()
        )));
    }
    if dest.symlink_metadata().is_ok() {
        return Err(ServiceError::Conflict(dest.display().to_string()));
    }
    let mut partial = name.to_owned();
    partial.push(format!(".partial-{}", std::process::id()));
    Ok(dir.join(format!(".{}", partial.to_string_lossy())))
}

/// Copies into `partial`, syncs it, links it to `dest`; the size written.
fn write_checked(database: &Path, partial: &Path, dest: &Path) -> Result<u64, ServiceError> {
    let cannot = |what: &str, e: std::io::Error| {
        ServiceError::Invalid(format!("cannot {what} {}: {e}", dest.display()))
    };
    // An empty file of our making, 0600, is what VACUUM INTO fills.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(partial)
        .map_err(|e| cannot("write", e))?;
    backup::vacuum_into(database, partial).map_err(|e| {
        ServiceError::Invalid(format!("cannot back up into {}: {e}", dest.display()))
    })?;
    let file = std::fs::File::open(partial).map_err(|e| cannot("write", e))?;
    file.sync_all().map_err(|e| cannot("sync", e))?;
    let bytes = file.metadata().map_err(|e| cannot("write", e))?.len();
    std::fs::hard_link(partial, dest).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => ServiceError::Conflict(dest.display().to_string()),
        _ => cannot("write", e),
    })?;
    if let Some(dir) = dest.parent() {
        // The new name survives a power cut only once its directory is synced.
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| cannot("sync the directory of", e))?;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::audit::TEST_ADMIN;
    use crate::storage::Db;
    use roost_common::config::Synchronous;
    use rusqlite::Connection;

    /// Backups of the database in `dir`, audited into a log of its own.
    fn backups(dir: &Path) -> Backups {
        let (db, _thread) = Db::open(&dir.join("audit.sqlite3"), Synchronous::Normal).unwrap();
        let hosts = crate::services::Hosts(std::sync::Arc::new(Default::default()));
        Backups::new(&dir.join("roost.sqlite3"), Audit::new(db, hosts))
    }

    async fn database_with_rows(dir: &Path, rows: i64) -> (Db, crate::storage::DbThread) {
        let (db, thread) = Db::open(&dir.join("roost.sqlite3"), Synchronous::Normal).unwrap();
        let made: Result<(), StorageError> = db
            .call(move |c| {
                c.execute_batch("CREATE TABLE t (v INTEGER)")?;
                for v in 0..rows {
                    c.execute("INSERT INTO t VALUES (?1)", [v])?;
                }
                Ok(())
            })
            .await;
        made.unwrap();
        (db, thread)
    }

    #[tokio::test]
    async fn a_backup_holds_what_was_committed_and_only_its_owner_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let (_db, _thread) = database_with_rows(dir.path(), 100).await;
        let backups = backups(dir.path());
        let dest = dir.path().join("copy.sqlite3");
        let info = backups
            .write(&TEST_ADMIN, dest.to_str().unwrap())
            .await
            .unwrap();
        assert_eq!(info.path, dest.display().to_string());
        assert_eq!(info.bytes, std::fs::metadata(&dest).unwrap().len());
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let copy = Connection::open(&dest).unwrap();
        let n: i64 = copy
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 100);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("partial"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[tokio::test]
    async fn bad_destinations_are_refused_and_nothing_is_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let (_db, _thread) = database_with_rows(dir.path(), 1).await;
        let backups = backups(dir.path());
        let taken = dir.path().join("taken");
        std::fs::write(&taken, "keep me").unwrap();
        match backups.write(&TEST_ADMIN, taken.to_str().unwrap()).await {
            Err(ServiceError::Conflict(_)) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(std::fs::read(&taken).unwrap(), b"keep me");
        for bad in ["relative.sqlite3", "/no/such/dir/x.sqlite3", "/"] {
            match backups.write(&TEST_ADMIN, bad).await {
                Err(ServiceError::Invalid(_)) => {}
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
