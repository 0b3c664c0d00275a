//! What the file system holding the database says about why it cannot be
//! opened for writing. SQLite reports a full disk met while sizing its
//! `-shm` file as a plain "disk I/O error", and a read-only mount as a
//! database it silently opened read-only; the operator reading roostd's
//! last line at startup should be told the actual cause.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;

/// Whether the file system holding `database` is full or mounted
/// read-only, in words; `None` when neither is the case or cannot be told.
pub fn trouble(database: &Path) -> Option<&'static str> {
    let dir = database.parent()?;
    let dir = CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs(3) with a NUL-terminated path and a zeroed struct
    // it fills; nothing is kept.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(dir.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    if stat.f_flag & libc::ST_RDONLY != 0 {
        Some("the file system holding the database is mounted read-only")
    } else if stat.f_bavail == 0 {
        Some("the file system holding the database is full")
    } else {
        None
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
