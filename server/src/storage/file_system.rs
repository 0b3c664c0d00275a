//! What the file system holding the database says about why it cannot be
//! written (asked only once a write failed). SQLite reports a full disk met while sizing its `-shm` file as
//! a plain "disk I/O error", and a read-only mount as a database it
//! silently opened read-only; callers and the operator reading roostd's
//! log should be told the actual cause.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;

/// Below this much free space, an I/O error is taken for a full disk: a
/// commit needs a few WAL frames, the `-shm` file grows by 32 KiB.
const NEARLY_FULL_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    Full,
    ReadOnly,
}

impl Trouble {
    pub fn describe(self) -> &'static str {
        match self {
            Trouble::Full => "the file system holding the database is full",
            Trouble::ReadOnly => "the file system holding the database is mounted read-only",
        }
    }
}

/// Whether the file system holding `database` is (nearly) full or mounted
/// read-only; `None` when neither is the case or it cannot be told.
pub fn trouble(database: &Path) -> Option<Trouble> {
    let dir = database.parent()?;
    let dir = CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs(3) with a NUL-terminated path and a zeroed struct
    // it fills; nothing is kept.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(dir.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    if stat.f_flag & libc::ST_RDONLY != 0 {
        Some(Trouble::ReadOnly)
    } else if stat.f_bavail.saturating_mul(stat.f_frsize) < NEARLY_FULL_BYTES {
        Some(Trouble::Full)
    } else {
        probe(database.parent()?)
    }
}

/// Creates and removes a file in `dir`. An ext4 file system that met an
/// error and went read-only (`errors=remount-ro`) still says "rw" to
/// statvfs; and a disk out of inodes has bytes free. Trying tells.
fn probe(dir: &Path) -> Option<Trouble> {
    let path = dir.join(format!(".roostd-write-probe-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        // Not `create_new`: a probe file left by a crash must not make
        // the probe fail for another reason than the one it looks for.
        .create(true)
        .truncate(true)
        .open(&path)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&path);
            None
        }
        Err(e) => match e.kind() {
            std::io::ErrorKind::ReadOnlyFilesystem => Some(Trouble::ReadOnly),
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
                Some(Trouble::Full)
            }
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writable_directory_with_room_has_no_trouble() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(trouble(&dir.path().join("db.sqlite3")), None);
    }
}
