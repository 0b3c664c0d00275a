//! An exclusive lock on the data directory, so two roostd processes never
//! share one database and one admin socket.

use std::fs::File;
use std::os::fd::AsRawFd as _;
use std::path::Path;

use anyhow::{Context as _, bail};

/// Held for as long as roostd runs; the kernel releases it when the process
/// ends, however it ends.
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    pub fn acquire(data_dir: &Path) -> anyhow::Result<DataDirLock> {
        let path = data_dir.join("roostd.lock");
        let file =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        // SAFETY: flock on a file descriptor we own.
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if locked != 0 {
            bail!(
                "another roostd is already running with the data directory {}",
                data_dir.display()
            );
        }
        Ok(DataDirLock { _file: file })
    }
}
