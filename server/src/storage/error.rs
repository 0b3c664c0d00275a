//! What can go wrong in storage, sorted by what a caller can do about it.
//!
//! SQLite's result codes are kept apart where an operator acts differently:
//! a full disk (`SQLITE_FULL`) needs space, a database that cannot be
//! written (`SQLITE_READONLY`, or the OS refusing a write: `SQLITE_IOERR`,
//! as on a file system remounted read-only) needs the file system fixed.
//! Every front door answers all of them as "try again later" (XMPP
//! `wait`, HTTP 503); the words say which one it is.

use rusqlite::ErrorCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The disk (or file system) holding the database is full.
    #[error("the disk holding the database is full")]
    Full,
    /// The database is read-only, or the OS refused to read or write it.
    #[error("the database cannot be written ({0})")]
    Unwritable(String),
    #[error("database error: {0}")]
    Sqlite(String),
    #[error("the storage thread has stopped")]
    Closed,
    /// A file in the data directory (a server key) could not be read or
    /// written; the message names it.
    #[error("{0}")]
    File(String),
}

impl StorageError {
    /// Logs a request that failed with this error, from a front door. A
    /// full or unwritable disk is logged by the storage thread once when
    /// writes start failing and once when they succeed again, so each
    /// request refused meanwhile is only a debug line: at error level, a
    /// client sending in a loop would flood the log (onto that full disk).
    pub fn log_refusal(&self, what: &str) {
        match self {
            StorageError::Full | StorageError::Unwritable(_) => {
                tracing::debug!("{what} refused: {self}");
            }
            _ => tracing::error!("{what} failed in storage: {self}"),
        }
    }
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StorageError::Full,
            Some(ErrorCode::ReadOnly | ErrorCode::SystemIoFailure | ErrorCode::CannotOpen) => {
                StorageError::Unwritable(e.to_string())
            }
            _ => StorageError::Sqlite(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn sqlite_codes_are_sorted_by_what_the_operator_does() {
        assert_eq!(
            StorageError::from(failure(rusqlite::ffi::SQLITE_FULL)),
            StorageError::Full
        );
        for code in [
            rusqlite::ffi::SQLITE_READONLY,
            rusqlite::ffi::SQLITE_IOERR_WRITE,
            rusqlite::ffi::SQLITE_IOERR_SHMSIZE,
        ] {
            assert!(
                matches!(
                    StorageError::from(failure(code)),
                    StorageError::Unwritable(_)
                ),
                "{code}"
            );
        }
        assert!(matches!(
            StorageError::from(failure(rusqlite::ffi::SQLITE_CONSTRAINT)),
            StorageError::Sqlite(_)
        ));
    }
}
