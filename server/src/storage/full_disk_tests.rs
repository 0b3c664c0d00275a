//! The storage thread on a real full disk: a tmpfs of its own, filled to a
//! chosen number of free bytes at the three places SQLite meets it (the
//! WAL at a commit, the database file at a checkpoint after a commit, the
//! `-shm` file as the WAL grows). Every caller is told the truth, and the
//! same connection writes again once space is back.
//!
//! Mounting needs root: skipped with the reason otherwise, failed instead
//! under `ROOST_REQUIRE_MOUNT=1`.

use std::io::ErrorKind;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

/// A tmpfs mounted on a temp dir; unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount() -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64m", "tmpfs"])
            .arg(dir.path())
            .output();
        let why = match out {
            Ok(out) if out.status.success() => return Some(Tmpfs { dir }),
            Ok(out) => String::from_utf8_lossy(&out.stderr).into_owned(),
            Err(e) => e.to_string(),
        };
        assert_ne!(
            std::env::var("ROOST_REQUIRE_MOUNT").as_deref(),
            Ok("1"),
            "ROOST_REQUIRE_MOUNT=1 but mounting a tmpfs failed: {why}"
        );
        eprintln!("skipped: mounting a tmpfs failed: {why}");
        None
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Takes all free space but `leave` bytes (a multiple of the page size).
    fn fill(&self, leave: u64) {
        let file = std::fs::File::create(self.path("filler")).unwrap();
        let mut size = 0u64;
        for chunk in [1 << 20, 4096] {
            let bytes = vec![1u8; chunk];
            loop {
                match file.write_at(&bytes, size) {
                    Ok(n) => size += n as u64,
                    Err(e) if e.kind() == ErrorKind::StorageFull => break,
                    Err(e) => panic!("filling: {e}"),
                }
            }
        }
        file.set_len(size - leave).unwrap();
    }

    fn unfill(&self) {
        std::fs::remove_file(self.path("filler")).unwrap();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Frames in the WAL file (its header is 32 bytes, a frame 24 + 4096).
fn wal_frames(database: &Path) -> u64 {
    let wal = PathBuf::from(format!("{}-wal", database.display()));
    (std::fs::metadata(wal).unwrap().len() - 32) / 4120
}

async fn open(tmpfs: &Tmpfs) -> (Db, DbThread, PathBuf) {
    let path = tmpfs.path("t.sqlite3");
    let (db, thread) = Db::open(&path, Synchronous::Normal).unwrap();
    db.call(|c| -> Result<(), StorageError> {
        c.execute_batch(
            "CREATE TABLE IF NOT EXISTS t (v INTEGER); \
             INSERT INTO t SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM t); \
             CREATE TABLE IF NOT EXISTS b (v BLOB);",
        )?;
        Ok(())
    })
    .await
    .unwrap();
    (db, thread, path)
}

/// Adds one to the counter: one page, so one WAL frame per commit.
async fn bump(db: &Db) -> Result<(), StorageError> {
    db.call(|c| -> Result<(), StorageError> {
        c.execute("UPDATE t SET v = v + 1", [])?;
        Ok(())
    })
    .await
}

async fn counter(db: &Db) -> i64 {
    db.call(|c| -> Result<i64, StorageError> {
        Ok(c.query_row("SELECT v FROM t", [], |r| r.get(0))?)
    })
    .await
    .unwrap()
}

/// Reopens the database (a restart) and checks it.
async fn reopened(thread: DbThread, tmpfs: &Tmpfs) -> i64 {
    tokio::task::spawn_blocking(move || thread.stop())
        .await
        .unwrap();
    let (db, _thread, path) = open(tmpfs).await;
    let conn = Connection::open(path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    counter(&db).await
}

#[tokio::test]
async fn the_wal_cannot_grow() {
    let Some(tmpfs) = Tmpfs::mount() else { return };
    let (db, thread, _) = open(&tmpfs).await;
    bump(&db).await.unwrap();
    tmpfs.fill(0);
    assert_eq!(bump(&db).await, Err(StorageError::Full));
    assert_eq!(counter(&db).await, 1, "reads go on");
    tmpfs.unfill();
    bump(&db).await.unwrap();
    assert_eq!(reopened(thread, &tmpfs).await, 2);
}

/// Once writes fail, reads queued among them still succeed: a write's
/// failure at COMMIT must not be the failure of the reads it would have
/// shared a transaction with.
#[tokio::test]
async fn reads_queued_among_failing_writes_succeed() {
    let Some(tmpfs) = Tmpfs::mount() else { return };
    let (db, thread, _) = open(&tmpfs).await;
    bump(&db).await.unwrap();
    tmpfs.fill(0);
    assert_eq!(bump(&db).await, Err(StorageError::Full));
    // Queued together, as a busy server queues them.
    let jobs: Vec<_> = (0..40)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                if i % 2 == 0 {
                    (true, bump(&db).await.is_ok())
                } else {
                    let read = db
                        .call(|c| -> Result<i64, StorageError> {
                            Ok(c.query_row("SELECT v FROM t", [], |r| r.get(0))?)
                        })
                        .await;
                    (false, read == Ok(1))
                }
            })
        })
        .collect();
    for job in jobs {
        let (write, ok) = job.await.unwrap();
        if write {
            assert!(!ok, "a write succeeded on a full disk");
        } else {
            assert!(ok, "a read failed among failing writes");
        }
    }
    tmpfs.unfill();
    bump(&db).await.unwrap();
    assert_eq!(reopened(thread, &tmpfs).await, 2);
}

/// The commit that reaches 1000 WAL frames runs a checkpoint, which must
/// grow the database file and cannot: the commit stands (its frames are
/// in the WAL) and says so; the next commits find the WAL full.
#[tokio::test]
async fn a_checkpoint_cannot_grow_the_database_file() {
    let Some(tmpfs) = Tmpfs::mount() else { return };
    let (db, thread, path) = open(&tmpfs).await;
    while wal_frames(&path) < 980 {
        db.call(|c| -> Result<(), StorageError> {
            c.execute("INSERT INTO b VALUES (zeroblob(3000))", [])?;
            Ok(())
        })
        .await
        .unwrap();
    }
    while wal_frames(&path) < 999 {
        bump(&db).await.unwrap();
    }
    let before = counter(&db).await;
    let file_size = std::fs::metadata(&path).unwrap().len();
    tmpfs.fill(8192);
    bump(&db).await.expect("the commit is in the WAL");
    assert!(
        std::fs::metadata(&path).unwrap().len() < file_size + (1 << 20),
        "the checkpoint could not copy the WAL into the database file"
    );
    assert_eq!(bump(&db).await, Err(StorageError::Full));
    assert_eq!(counter(&db).await, before + 1);
    tmpfs.unfill();
    bump(&db).await.unwrap();
    assert_eq!(reopened(thread, &tmpfs).await, before + 2);
}

/// A reader keeps the WAL from being reset, so it outgrows the first
/// `-shm` page (4062 frames); the second cannot be allocated. SQLite says
/// "disk I/O error"; the caller is told the disk is full.
#[tokio::test]
async fn the_shm_file_cannot_grow() {
    let Some(tmpfs) = Tmpfs::mount() else { return };
    let (db, thread, path) = open(&tmpfs).await;
    let reader = Connection::open(&path).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let _: i64 = reader
        .query_row("SELECT v FROM t", [], |r| r.get(0))
        .unwrap();
    while wal_frames(&path) < 4062 {
        bump(&db).await.unwrap();
    }
    let before = counter(&db).await;
    tmpfs.fill(8192);
    assert_eq!(bump(&db).await, Err(StorageError::Full));
    assert_eq!(bump(&db).await, Err(StorageError::Full));
    assert_eq!(counter(&db).await, before);
    tmpfs.unfill();
    bump(&db).await.unwrap();
    reader.execute_batch("COMMIT").unwrap();
    drop(reader);
    assert_eq!(reopened(thread, &tmpfs).await, before + 1);
}
