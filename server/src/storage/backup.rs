//! A consistent copy of the live database, written while roostd serves.
//!
//! `VACUUM INTO` runs on a connection of its own, opened read-only: in WAL
//! mode it reads one snapshot while the storage thread goes on committing,
//! so writers never wait for a backup and a backup never restarts because
//! of them (SQLite's online backup API starts over whenever another
//! connection writes). The copy is compacted and has no WAL of its own.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

/// Why a copy could not be made; SQLite's words, which say whether the
/// destination's disk is full or not writable.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("the copy failed its check: {0}")]
    Check(String),
    #[error("{0} is not UTF-8")]
    Path(String),
}

/// Copies the database at `database` into `into`, which must be an empty
/// file, and checks the copy. Blocking: call it off the async runtime.
pub fn vacuum_into(database: &Path, into: &Path) -> Result<(), BackupError> {
    let source = Connection::open_with_flags(
        database,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let target = into
        .to_str()
        .ok_or_else(|| BackupError::Path(into.display().to_string()))?;
    source.execute("VACUUM INTO ?1", [target])?;
    drop(source);
    let copy = Connection::open_with_flags(into, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let verdict: String = copy.query_row("PRAGMA quick_check", [], |row| row.get(0))?;
    if verdict != "ok" {
        return Err(BackupError::Check(verdict));
    }
    Ok(())
}
