//! A small data directory that a test can fill up or make read-only: a
//! tmpfs (or an ext4 loop mount) of a fixed size mounted where roostd keeps
//! its data, a filler file that takes every free byte, giving the space
//! back while roostd runs, and an ext4 error that makes the file system
//! read-only under roostd's feet.
//!
//! Mounting needs root (or CAP_SYS_ADMIN). Without it a test skips, saying
//! why, unless `ROOST_REQUIRE_MOUNT=1` is set (as in `.ci/run`): then it
//! fails, so that CI never passes by skipping.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The kinds of small disk a test can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileSystem {
    /// Memory-backed; its size can change while mounted.
    Tmpfs,
    /// On a loop device, mounted `errors=remount-ro`: the kernel can be
    /// told to find an error and make it read-only under roostd's feet, as
    /// it does with a failing disk.
    Ext4,
}

/// Whether this process may mount a small disk of this kind. `Err` says
/// why not; when `ROOST_REQUIRE_MOUNT=1` is set that is a test failure
/// (panic), else the caller skips.
pub fn mount_permitted(kind: FileSystem) -> Result<(), String> {
    let probe = tempfile::tempdir().map_err(|e| format!("no temp dir: {e}"))?;
    let outcome = SmallDisk::mount(probe.path(), kind, 16 << 20).map(drop);
    match outcome {
        Ok(()) => Ok(()),
        Err(why) if std::env::var("ROOST_REQUIRE_MOUNT").as_deref() == Ok("1") => {
            panic!("ROOST_REQUIRE_MOUNT=1 but mounting a small {kind:?} disk failed: {why}")
        }
        Err(why) => Err(why),
    }
}

/// A small file system mounted at a directory; unmounted when dropped.
pub struct SmallDisk {
    path: PathBuf,
    /// An ext4 disk's image file.
    image: Option<tempfile::TempDir>,
}

impl SmallDisk {
    /// Mounts a file system of `bytes` at `path` (an existing directory).
    pub fn mount(path: &Path, kind: FileSystem, bytes: u64) -> Result<SmallDisk, String> {
        match kind {
            FileSystem::Tmpfs => {
                run(Command::new("mount")
                    .args(["-t", "tmpfs", "-o"])
                    .arg(format!("size={bytes},mode=0700"))
                    .arg("tmpfs")
                    .arg(path))?;
                Ok(SmallDisk {
                    path: path.to_owned(),
                    image: None,
                })
            }
            FileSystem::Ext4 => {
                let dir = tempfile::tempdir().map_err(|e| format!("no temp dir: {e}"))?;
                let image = dir.path().join("disk.img");
                File::create(&image)
                    .and_then(|f| f.set_len(bytes))
                    .map_err(|e| format!("cannot make the disk image: {e}"))?;
                run(Command::new("mkfs.ext4").arg("-q").arg(&image))?;
                run(Command::new("mount")
                    .args(["-o", "loop,errors=remount-ro"])
                    .arg(&image)
                    .arg(path))?;
                Ok(SmallDisk {
                    path: path.to_owned(),
                    image: Some(dir),
                })
            }
        }
    }

    /// Makes the kernel find an error on this ext4 file system, which it
    /// then remounts read-only (as `errors=remount-ro` says): every write
    /// fails with EROFS from then on, also through files already open.
    /// Only a check (e2fsck) and a new mount make it writable again.
    pub fn fail_read_only(&self) {
        let out = Command::new("findmnt")
            .args(["-n", "-o", "SOURCE"])
            .arg(&self.path)
            .output()
            .expect("run findmnt");
        let source = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let device = source.rsplit('/').next().expect("a device");
        std::fs::write(format!("/sys/fs/ext4/{device}/trigger_fs_error"), "test\n")
            .expect("trigger an ext4 error");
    }

    /// Unmounts an ext4 disk, checks and repairs it (as an operator would
    /// after an error), and mounts it again, writable.
    pub fn check_and_remount(&self) {
        let image = self
            .image
            .as_ref()
            .expect("an ext4 disk")
            .path()
            .join("disk.img");
        run(Command::new("umount").arg(&self.path)).expect("umount");
        // e2fsck exits 1 when it corrected something: fine here.
        let fsck = Command::new("e2fsck")
            .arg("-fy")
            .arg(&image)
            .output()
            .expect("run e2fsck");
        assert!(
            matches!(fsck.status.code(), Some(0 | 1)),
            "e2fsck: {}",
            String::from_utf8_lossy(&fsck.stdout)
        );
        run(Command::new("mount")
            .args(["-o", "loop,errors=remount-ro"])
            .arg(&image)
            .arg(&self.path))
        .expect("mount again");
    }

    /// `mount -o remount,OPTIONS`: `ro` and `rw`, or `size=BYTES` to
    /// change its size. Read-only only while no file on it is open for
    /// writing (the kernel refuses otherwise).
    pub fn remount(&self, options: &str) {
        run(Command::new("mount")
            .arg("-o")
            .arg(format!("remount,{options}"))
            .arg(&self.path))
        .expect("remount");
    }

    /// Takes every free byte with a file, until the file system answers
    /// ENOSPC; the space comes back when the [`Filler`] is removed.
    pub fn fill(&self) -> Filler {
        let path = self.path.join("filler");
        let mut file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&path)
            .expect("create the filler");
        for chunk in [64 * 1024, 4096, 1] {
            let bytes = vec![0xa5u8; chunk];
            loop {
                match file.write(&bytes) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::StorageFull => break,
                    Err(e) => panic!("writing the filler: {e}"),
                }
            }
        }
        assert_eq!(self.free_bytes(), 0, "the disk is full");
        Filler { path, _file: file }
    }

    /// Bytes an unprivileged writer could still use.
    pub fn free_bytes(&self) -> u64 {
        let path = std::ffi::CString::new(self.path.as_os_str().as_encoded_bytes())
            .expect("path without NUL");
        // SAFETY: statvfs(3) on a NUL-terminated path into a zeroed struct.
        let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::statvfs(path.as_ptr(), &mut stat) };
        assert_eq!(rc, 0, "statvfs {}", self.path.display());
        stat.f_bavail * stat.f_frsize
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazy: a roostd that is still being reaped cannot keep it mounted.
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// The file that fills a [`SmallDisk`].
pub struct Filler {
    path: PathBuf,
    _file: File,
}

impl Filler {
    /// Gives the space back.
    pub fn remove(self) {
        std::fs::remove_file(&self.path).expect("remove the filler");
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let out = command
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
