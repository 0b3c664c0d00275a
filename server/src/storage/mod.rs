//! SQLite storage: one connection on a dedicated thread, with group commit.
//!
//! Services hand the storage thread closures ([`Db::call`]). The thread takes
//! every job that is waiting, runs each in its own savepoint inside one
//! transaction (a job alone needs none: the transaction is its rollback),
//! commits once, and only then answers the callers. So a caller
//! that got `Ok` knows its write is committed (and, in WAL mode, in the OS:
//! it survives `kill -9` of roostd), while many concurrent writes share one
//! commit. No SQLite call ever runs on the async runtime.
//!
//! When a transaction fails (the disk is full, the file system went
//! read-only), every caller in it gets the error, nothing of it is kept,
//! and the next batch starts afresh: writes work again as soon as the
//! disk has room, without a restart. Reads keep working meanwhile.

pub mod backup;
mod error;
mod file_system;
#[cfg(test)]
mod full_disk_tests;
mod schema;

use std::path::Path;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Instant;

use prometheus_client::metrics::histogram::Histogram;
use roost_common::config::Synchronous;
use rusqlite::{Connection, MAIN_DB};
use tokio::sync::oneshot;

pub use error::StorageError;
use file_system::Trouble;

/// How many queued jobs one transaction takes at most.
const MAX_BATCH: usize = 512;

/// Upper bounds of the job latency histogram's buckets, in seconds: from
/// a read answered within its batch to a commit stuck behind a slow disk.
const JOB_LATENCY_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// What a job leaves behind once it ran: whether its work is kept, and how
/// to tell its caller once the transaction's fate is known.
struct Ran {
    keep: bool,
    answer: Box<dyn FnOnce(Option<StorageError>) + Send>,
}

/// One caller's work, queued for the storage thread.
trait Job: Send {
    fn run(self: Box<Self>, conn: &Connection) -> Ran;
    /// Answers the caller with `error` without running the work: the
    /// transaction could not be begun, or failed before its turn.
    fn refuse(self: Box<Self>, error: StorageError);
}

/// A [`Db::call`]: the work and where its result goes.
struct Call<F, T, E> {
    work: F,
    reply: oneshot::Sender<Result<T, E>>,
}

impl<F, T, E> Job for Call<F, T, E>
where
    T: Send + 'static,
    E: From<StorageError> + Send + 'static,
    F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> Ran {
        let Call { work, reply } = *self;
        let result = work(conn);
        Ran {
            keep: result.is_ok(),
            answer: Box::new(move |failed| {
                // A job that failed by itself keeps its own error (a
                // refusal, or the write that found the disk full): it is
                // the more precise one, and nothing of it was kept either way.
                let _ = reply.send(match (result, failed) {
                    (Ok(_), Some(e)) => Err(E::from(e)),
                    (result, _) => result,
                });
            }),
        }
    }

    fn refuse(self: Box<Self>, error: StorageError) {
        let _ = self.reply.send(Err(E::from(error)));
    }
}

enum Message {
    Job(Box<dyn Job>),
    /// Commit what is queued before this, then close the database.
    Stop,
}

/// A handle to the storage thread; cheap to clone.
#[derive(Clone)]
pub struct Db {
    jobs: mpsc::Sender<Message>,
    path: Arc<Path>,
    /// Time from queueing each job to its answer, for the metrics.
    job_latency: Histogram,
}

/// The storage thread itself.
pub struct DbThread {
    thread: JoinHandle<()>,
    jobs: mpsc::Sender<Message>,
}

impl DbThread {
    /// Commits every job queued so far, closes the database and waits for
    /// the thread to end. Handles still held elsewhere get
    /// [`StorageError::Closed`] from then on, so a straggling connection
    /// task cannot keep roostd from stopping.
    pub fn stop(self) {
        let _ = self.jobs.send(Message::Stop);
        let _ = self.thread.join();
    }
}

impl Db {
    /// Opens (creating if needed) the database at `path` and applies pending
    /// schema migrations before returning. A database SQLite could open
    /// only for reading is refused here: roostd would otherwise start and
    /// fail every write. A failure says when the file system is the cause
    /// (full, or mounted read-only).
    pub fn open(path: &Path, synchronous: Synchronous) -> anyhow::Result<(Db, DbThread)> {
        use anyhow::Context as _;
        let conn = connect(path, synchronous).map_err(|e| match file_system::trouble(path) {
            Some(trouble) => e.context(trouble.describe()),
            None => e,
        })?;
        let (jobs, queue) = mpsc::channel::<Message>();
        let thread = std::thread::Builder::new()
            .name("roost-storage".into())
            .spawn(move || run(conn, queue))
            .context("cannot start the storage thread")?;
        let db = Db {
            jobs: jobs.clone(),
            path: Arc::from(path),
            job_latency: Histogram::new(JOB_LATENCY_BUCKETS),
        };
        Ok((db, DbThread { thread, jobs }))
    }

    /// Bytes the database takes on disk: the file, its write-ahead log and
    /// its shared-memory index (files that do not exist count 0). Reads
    /// file metadata only, never the database, so it may run anywhere.
    pub fn size_on_disk(&self) -> u64 {
        let mut total = 0;
        for suffix in ["", "-wal", "-shm"] {
            let mut name = self.path.as_os_str().to_owned();
            name.push(suffix);
            total += std::fs::metadata(&name).map(|m| m.len()).unwrap_or(0);
        }
        total
    }

    /// The histogram of every job's time from queueing to its answer
    /// (shared: what the metrics register is what `call` observes).
    pub fn job_latency(&self) -> Histogram {
        self.job_latency.clone()
    }

    /// Runs `work` on the storage thread inside a transaction. Its writes are
    /// committed before this returns `Ok`; an `Err` from `work` rolls back its
    /// writes only, not those of other callers in the same batch. When the
    /// transaction fails (the disk is full at the commit), every caller in
    /// it gets the error: nothing is acknowledged that was not stored.
    pub async fn call<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, E>>();
        let queued = Instant::now();
        self.jobs
            .send(Message::Job(Box::new(Call { work, reply })))
            .map_err(|_| E::from(StorageError::Closed))?;
        let result = answer
            .await
            .unwrap_or_else(|_| Err(E::from(StorageError::Closed)));
        self.job_latency.observe(queued.elapsed().as_secs_f64());
        result
    }
}

/// The connection the storage thread will own: opened for writing,
/// configured and migrated.
fn connect(path: &Path, synchronous: Synchronous) -> anyhow::Result<Connection> {
    use anyhow::Context as _;
    let mut conn = Connection::open(path)
        .with_context(|| format!("cannot open database {}", path.display()))?;
    if conn.is_readonly(MAIN_DB)? {
        anyhow::bail!(
            "database {} is read-only: check its permissions and that its file system \
             is mounted read-write",
            path.display()
        );
    }
    let sync = match synchronous {
        Synchronous::Normal => "NORMAL",
        Synchronous::Full => "FULL",
    };
    // A 16 MiB page cache (SQLite's default is 2 MiB): rosters of a
    // thousand busy accounts stay in memory instead of being read back
    // through pread on every job; the bound is fixed, whatever the load.
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; \
         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
         PRAGMA cache_size = -16384;"
    ))
    .map_err(StorageError::from)
    .with_context(|| format!("cannot configure database {}", path.display()))?;
    schema::migrate(&mut conn)
        .with_context(|| format!("cannot migrate database {}", path.display()))?;
    Ok(conn)
}

fn run(conn: Connection, queue: mpsc::Receiver<Message>) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    let mut failing = Failing::default();
    let mut stopping = false;
    while !stopping {
        match queue.recv() {
            Ok(Message::Job(job)) => batch.push(job),
            Ok(Message::Stop) | Err(_) => break,
        }
        // While writes fail, each job gets a transaction of its own: in WAL
        // mode a write fails at COMMIT, and in a shared batch that failure
        // would be every read's too (logins, roster gets, lists), which
        // must go on while the disk is full.
        let max_batch = if failing.is_failing() { 1 } else { MAX_BATCH };
        while batch.len() < max_batch {
            match queue.try_recv() {
                Ok(Message::Job(job)) => batch.push(job),
                Ok(Message::Stop) => {
                    stopping = true;
                    break;
                }
                Err(_) => break,
            }
        }
        // Nothing here retries: the callers are answered, and each logs
        // what failed for it.
        let changes = conn.total_changes();
        let outcome = run_batch(&conn, &mut batch);
        failing.note(outcome, conn.total_changes() > changes);
    }
    // Dropping the receiver makes later calls fail with `Closed`.
    drop(queue);
    if let Err((_, e)) = conn.close() {
        tracing::error!("closing the database failed: {e}");
    }
}

/// The storage thread's own log: a line when transactions start failing
/// (or fail differently) and one when they succeed again, rather than one
/// per transaction while a disk stays full.
#[derive(Default)]
struct Failing(Option<StorageError>);

impl Failing {
    fn is_failing(&self) -> bool {
        self.0.is_some()
    }

    /// `wrote`: whether the batch changed any row (a batch of reads that
    /// committed says nothing about a full disk).
    fn note(&mut self, outcome: Result<(), StorageError>, wrote: bool) {
        match (outcome, &self.0) {
            (Ok(()), None) => {}
            (Ok(()), Some(_)) if !wrote => {}
            (Ok(()), Some(_)) => {
                tracing::warn!("storage transactions succeed again");
                self.0 = None;
            }
            (Err(e), Some(before)) if *before == e => {
                tracing::debug!("storage transaction failed: {e}");
            }
            (Err(e), _) => {
                tracing::error!("storage transactions fail: {e}; writes are refused meanwhile");
                self.0 = Some(e);
            }
        }
    }
}

/// Runs `batch` in one transaction and answers every job in it, whatever
/// happens: when the transaction fails, every job in it, reads included,
/// gets the error (a read may have seen a write that is now rolled back). Afterwards no transaction is open, so a failure (a full disk)
/// costs this batch only: the next one starts afresh and succeeds once
/// space is back.
fn run_batch(conn: &Connection, batch: &mut Vec<Box<dyn Job>>) -> Result<(), StorageError> {
    // Cached statements: these run several times per batch, and parsing
    // them each time showed up in profiles of the login path.
    let exec = |sql: &str| -> Result<(), StorageError> {
        conn.prepare_cached(sql)?.execute([])?;
        Ok(())
    };
    if let Err(e) = exec("BEGIN IMMEDIATE") {
        let e = explained(conn, e);
        for job in batch.drain(..) {
            job.refuse(e.clone());
        }
        end_transaction(conn);
        return Err(e);
    }
    if batch.len() == 1
        && let Some(job) = batch.pop()
    {
        return run_alone(conn, job, &exec);
    }
    let mut answers = Vec::with_capacity(batch.len());
    let mut failed = None;
    for job in batch.drain(..) {
        if let Some(e) = &failed {
            job.refuse(StorageError::clone(e));
            continue;
        }
        if let Err(e) = exec("SAVEPOINT job") {
            let e = explained(conn, e);
            job.refuse(e.clone());
            failed = Some(e);
            continue;
        }
        let ran = run_guarded(job, conn);
        answers.push(ran.answer);
        // SQLite rolls the whole transaction back by itself after some
        // errors (a full disk met while a statement spills pages): the
        // jobs before this one are gone too.
        if conn.is_autocommit() {
            failed = Some(explained(
                conn,
                StorageError::Unwritable(
                    "SQLite rolled the transaction back after a failed write".into(),
                ),
            ));
            continue;
        }
        let end = if ran.keep {
            exec("RELEASE job")
        } else {
            exec("ROLLBACK TO job").and_then(|()| exec("RELEASE job"))
        };
        if let Err(e) = end {
            failed = Some(explained(conn, e));
        }
    }
    let outcome = match failed {
        None => exec("COMMIT").map_err(|e| explained(conn, e)),
        Some(e) => Err(e),
    };
    if outcome.is_err() {
        end_transaction(conn);
    }
    for answer in answers {
        answer(outcome.clone().err());
    }
    outcome
}

/// Runs `job`, alone in the transaction just begun, without a savepoint:
/// the transaction is its rollback. A savepoint first copies every page the
/// job changes into a sub-journal, which for the archive's writer (thousands
/// of rows in a job, usually alone) was 8 % of the storage thread's time.
fn run_alone(
    conn: &Connection,
    job: Box<dyn Job>,
    exec: &dyn Fn(&str) -> Result<(), StorageError>,
) -> Result<(), StorageError> {
    let ran = run_guarded(job, conn);
    let outcome = if conn.is_autocommit() {
        // SQLite rolled the transaction back by itself (see run_batch).
        Err(explained(
            conn,
            StorageError::Unwritable(
                "SQLite rolled the transaction back after a failed write".into(),
            ),
        ))
    } else if ran.keep {
        exec("COMMIT").map_err(|e| explained(conn, e))
    } else {
        // Its writes undone, the job is answered with its own result, as
        // one rolled back to its savepoint is.
        exec("ROLLBACK").map_err(|e| explained(conn, e))
    };
    if outcome.is_err() {
        end_transaction(conn);
    }
    (ran.answer)(outcome.clone().err());
    outcome
}

/// Runs `job`; one that panics (a bug) has its writes rolled back and its
/// caller told the thread stopped, while the thread and the batch go on:
/// otherwise every later call, reads included, would fail until a restart.
fn run_guarded(job: Box<dyn Job>, conn: &Connection) -> Ran {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run(conn))).unwrap_or_else(|_| {
        tracing::error!("a storage job panicked; its writes are rolled back");
        Ran {
            keep: false,
            answer: Box::new(|_| {}),
        }
    })
}

/// An I/O error is, more often than not, the disk filling up (SQLite
/// reports no space for its `-shm` file so) or a file system remounted
/// read-only: the file system says which, and the caller is told.
fn explained(conn: &Connection, e: StorageError) -> StorageError {
    let StorageError::Unwritable(message) = &e else {
        return e;
    };
    match conn.path().and_then(|p| file_system::trouble(Path::new(p))) {
        Some(Trouble::Full) => StorageError::Full,
        Some(Trouble::ReadOnly) => {
            StorageError::Unwritable(format!("{message}; {}", Trouble::ReadOnly.describe()))
        }
        None => e,
    }
}

/// Rolls back what is left of a failed transaction, if SQLite has not
/// already (a failed COMMIT usually has; one that met `SQLITE_BUSY` has not).
fn end_transaction(conn: &Connection) {
    if !conn.is_autocommit()
        && let Err(e) = conn.execute_batch("ROLLBACK")
    {
        tracing::error!("rolling back a failed transaction failed: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_temp() -> (tempfile::TempDir, Db, DbThread) {
        let dir = tempfile::tempdir().unwrap();
        let (db, thread) = Db::open(&dir.path().join("t.sqlite3"), Synchronous::Normal).unwrap();
        (dir, db, thread)
    }

    #[tokio::test]
    async fn size_on_disk_counts_the_file_and_its_write_ahead_log() {
        let (dir, db, _t) = open_temp();
        let files = |suffix: &str| {
            std::fs::metadata(dir.path().join(format!("t.sqlite3{suffix}")))
                .map(|m| m.len())
                .unwrap_or(0)
        };
        let grown: Result<(), StorageError> = db
            .call(|c| {
                c.execute_batch(
                    "CREATE TABLE t (v BLOB); INSERT INTO t VALUES (zeroblob(200000));",
                )?;
                Ok(())
            })
            .await;
        grown.unwrap();
        let wal = files("-wal");
        assert!(wal > 200_000, "the write went to the WAL: {wal}");
        assert_eq!(db.size_on_disk(), files("") + wal + files("-shm"));
    }

    #[tokio::test]
    async fn stop_commits_queued_work_then_refuses_more() {
        let (dir, db, thread) = open_temp();
        let handle = db.clone();
        let queued = async move {
            handle
                .call(|c| -> Result<(), StorageError> {
                    c.execute_batch("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (7);")?;
                    Ok(())
                })
                .await
        };
        let queued = tokio::spawn(queued);
        tokio::task::yield_now().await;
        tokio::task::spawn_blocking(move || thread.stop())
            .await
            .unwrap();
        queued.await.unwrap().unwrap();
        let late: Result<(), StorageError> = db.call(|_| Ok(())).await;
        assert!(matches!(late, Err(StorageError::Closed)), "{late:?}");
        let conn = Connection::open(dir.path().join("t.sqlite3")).unwrap();
        let v: i64 = conn.query_row("SELECT v FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(v, 7);
    }

    #[tokio::test]
    async fn failed_job_rolls_back_only_itself() {
        let (_dir, db, _t) = open_temp();
        let setup: Result<(), StorageError> = db
            .call(|c| {
                c.execute_batch("CREATE TABLE t (v INTEGER)")?;
                Ok(())
            })
            .await;
        setup.unwrap();
        let good = db.call(|c| -> Result<(), StorageError> {
            c.execute("INSERT INTO t VALUES (1)", [])?;
            Ok(())
        });
        let bad = db.call(|c| -> Result<(), StorageError> {
            c.execute("INSERT INTO t VALUES (2)", [])?;
            Err(StorageError::Sqlite("refused".into()))
        });
        let (g, b) = tokio::join!(good, bad);
        g.unwrap();
        assert!(b.is_err());
        let values: Vec<i64> = db
            .call(|c| -> Result<_, StorageError> {
                let mut st = c.prepare("SELECT v FROM t ORDER BY v")?;
                let rows = st
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<Vec<i64>, _>>()?;
                Ok(rows)
            })
            .await
            .unwrap();
        assert_eq!(values, vec![1]);
    }

    #[tokio::test]
    async fn a_job_that_panics_costs_only_itself() {
        let (_dir, db, _t) = open_temp();
        create_table(&db).await;
        let panicking = db.call(|c| -> Result<(), StorageError> {
            c.execute("INSERT INTO t VALUES (1)", [])?;
            panic!("a bug in a job");
        });
        let (before, panicked, after) = tokio::join!(insert(&db, 1), panicking, insert(&db, 1));
        before.unwrap();
        after.unwrap();
        assert_eq!(panicked, Err(StorageError::Closed));
        assert_eq!(
            count(&db).await,
            2,
            "the panicking job's row is rolled back"
        );
    }

    /// A job alone in its transaction runs without a savepoint: one that
    /// fails or panics still leaves nothing behind, keeps its own answer,
    /// and the next job runs as usual.
    #[tokio::test]
    async fn a_lone_job_that_fails_or_panics_leaves_nothing_behind() {
        let (_dir, db, _t) = open_temp();
        create_table(&db).await;
        let refused = db
            .call(|c| -> Result<(), StorageError> {
                c.execute("INSERT INTO t VALUES (1)", [])?;
                Err(StorageError::Sqlite("refused".into()))
            })
            .await;
        assert_eq!(refused, Err(StorageError::Sqlite("refused".into())));
        assert_eq!(count(&db).await, 0, "the refused job's row is rolled back");
        let panicked = db
            .call(|c| -> Result<(), StorageError> {
                c.execute("INSERT INTO t VALUES (1)", [])?;
                panic!("a bug in a job");
            })
            .await;
        assert_eq!(panicked, Err(StorageError::Closed));
        assert_eq!(
            count(&db).await,
            0,
            "the panicking job's row is rolled back"
        );
        insert(&db, 1).await.unwrap();
        insert(&db, 1).await.unwrap();
        assert_eq!(count(&db).await, 2, "later jobs commit");
    }

    async fn create_table(db: &Db) {
        db.call(|c| -> Result<(), StorageError> {
            c.execute_batch("CREATE TABLE t (v BLOB)")?;
            Ok(())
        })
        .await
        .unwrap();
    }

    async fn count(db: &Db) -> i64 {
        db.call(|c| -> Result<i64, StorageError> {
            Ok(c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?)
        })
        .await
        .unwrap()
    }

    async fn insert(db: &Db, bytes: usize) -> Result<(), StorageError> {
        db.call(move |c| -> Result<(), StorageError> {
            c.execute("INSERT INTO t VALUES (zeroblob(?1))", [bytes as i64])?;
            Ok(())
        })
        .await
    }

    /// `max_page_count` makes SQLite answer `SQLITE_FULL` as a full disk
    /// does, in the middle of a batch: the job that met it says so, the
    /// others are answered truthfully (stored, or an error), and once
    /// there is room again the same connection writes.
    #[tokio::test]
    async fn a_full_database_fails_writes_truthfully_and_recovers() {
        let (_dir, db, _t) = open_temp();
        db.call(|c| -> Result<(), StorageError> {
            c.execute_batch("CREATE TABLE t (v BLOB)")?;
            let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
            c.pragma_update(None, "max_page_count", pages)?;
            Ok(())
        })
        .await
        .unwrap();
        let (small, big, after) =
            tokio::join!(insert(&db, 10), insert(&db, 100_000), insert(&db, 10));
        assert_eq!(big, Err(StorageError::Full));
        let acknowledged = [&small, &after].iter().filter(|r| r.is_ok()).count() as i64;
        assert_eq!(count(&db).await, acknowledged, "{small:?} {after:?}");
        db.call(|c| -> Result<(), StorageError> {
            c.pragma_update(None, "max_page_count", 1_000_000)?;
            Ok(())
        })
        .await
        .unwrap();
        insert(&db, 100_000).await.unwrap();
        assert_eq!(count(&db).await, acknowledged + 1);
    }

    /// A transaction that cannot even begin (another process holds the
    /// write lock past the busy timeout) answers its callers with the
    /// error instead of keeping them waiting, and the next one begins.
    #[tokio::test]
    async fn a_transaction_that_cannot_begin_answers_every_caller() {
        let (dir, db, _t) = open_temp();
        db.call(|c| -> Result<(), StorageError> {
            c.execute_batch("CREATE TABLE t (v BLOB)")?;
            c.busy_timeout(std::time::Duration::from_millis(50))?;
            Ok(())
        })
        .await
        .unwrap();
        let other = Connection::open(dir.path().join("t.sqlite3")).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let blocked = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            tokio::join!(insert(&db, 1), insert(&db, 1))
        })
        .await
        .expect("callers answered");
        assert!(
            matches!(blocked.0, Err(StorageError::Sqlite(_))),
            "{blocked:?}"
        );
        assert!(blocked.1.is_err(), "{blocked:?}");
        other.execute_batch("ROLLBACK").unwrap();
        insert(&db, 1).await.unwrap();
        assert_eq!(count(&db).await, 1);
    }
}
