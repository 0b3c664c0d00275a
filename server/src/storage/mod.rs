//! SQLite storage: one connection on a dedicated thread, with group commit.
//!
//! Services hand the storage thread closures ([`Db::call`]). The thread takes
//! every job that is waiting, runs each in its own savepoint inside one
//! transaction, commits once, and only then answers the callers. So a caller
//! that got `Ok` knows its write is committed (and, in WAL mode, in the OS:
//! it survives `kill -9` of roostd), while many concurrent writes share one
//! commit. No SQLite call ever runs on the async runtime.

mod schema;

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;

use roost_common::config::Synchronous;
use rusqlite::Connection;
use tokio::sync::oneshot;

/// How many queued jobs one transaction takes at most.
const MAX_BATCH: usize = 512;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StorageError {
    #[error("database error: {0}")]
    Sqlite(String),
    #[error("the storage thread has stopped")]
    Closed,
    /// A file in the data directory (a server key) could not be read or
    /// written; the message names it.
    #[error("{0}")]
    File(String),
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        StorageError::Sqlite(e.to_string())
    }
}

/// What a job leaves behind once it ran: whether its work is kept, and how
/// to tell its caller once the transaction's fate is known.
struct Ran {
    keep: bool,
    answer: Box<dyn FnOnce(Option<StorageError>) + Send>,
}

type Job = Box<dyn FnOnce(&Connection) -> Ran + Send>;

enum Message {
    Job(Job),
    /// Commit what is queued before this, then close the database.
    Stop,
}

/// A handle to the storage thread; cheap to clone.
#[derive(Clone)]
pub struct Db {
    jobs: mpsc::Sender<Message>,
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
    /// schema migrations before returning.
    pub fn open(path: &Path, synchronous: Synchronous) -> anyhow::Result<(Db, DbThread)> {
        use anyhow::Context as _;
        let mut conn = Connection::open(path)
            .with_context(|| format!("cannot open database {}", path.display()))?;
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
        .context("cannot configure the database")?;
        schema::migrate(&mut conn)
            .with_context(|| format!("cannot migrate database {}", path.display()))?;
        let (jobs, queue) = mpsc::channel::<Message>();
        let thread = std::thread::Builder::new()
            .name("roost-storage".into())
            .spawn(move || run(conn, queue))
            .context("cannot start the storage thread")?;
        Ok((Db { jobs: jobs.clone() }, DbThread { thread, jobs }))
    }

    /// Runs `work` on the storage thread inside a transaction. Its writes are
    /// committed before this returns `Ok`; an `Err` from `work` rolls back its
    /// writes only, not those of other callers in the same batch.
    pub async fn call<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(move |conn| {
            let result = work(conn);
            Ran {
                keep: result.is_ok(),
                answer: Box::new(move |failed| {
                    let _ = tx.send(match failed {
                        Some(e) => Err(E::from(e)),
                        None => result,
                    });
                }),
            }
        });
        self.jobs
            .send(Message::Job(job))
            .map_err(|_| E::from(StorageError::Closed))?;
        rx.await
            .unwrap_or_else(|_| Err(E::from(StorageError::Closed)))
    }
}

fn run(conn: Connection, queue: mpsc::Receiver<Message>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut answers = Vec::with_capacity(MAX_BATCH);
    let mut stopping = false;
    while !stopping {
        match queue.recv() {
            Ok(Message::Job(job)) => batch.push(job),
            Ok(Message::Stop) | Err(_) => break,
        }
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(Message::Job(job)) => batch.push(job),
                Ok(Message::Stop) => {
                    stopping = true;
                    break;
                }
                Err(_) => break,
            }
        }
        let outcome = run_batch(&conn, &mut batch, &mut answers);
        if let Err(e) = &outcome {
            tracing::error!("storage transaction failed: {e}");
        }
        for answer in answers.drain(..) {
            answer(outcome.clone().err());
        }
    }
    // Dropping the receiver makes later calls fail with `Closed`.
    drop(queue);
    if let Err((_, e)) = conn.close() {
        tracing::error!("closing the database failed: {e}");
    }
}

fn run_batch(
    conn: &Connection,
    batch: &mut Vec<Job>,
    answers: &mut Vec<Box<dyn FnOnce(Option<StorageError>) + Send>>,
) -> Result<(), StorageError> {
    // Cached statements: these run several times per batch, and parsing
    // them each time showed up in profiles of the login path.
    let exec = |sql: &str| -> Result<(), StorageError> {
        conn.prepare_cached(sql)?.execute([])?;
        Ok(())
    };
    exec("BEGIN IMMEDIATE")?;
    let mut failed = None;
    for job in batch.drain(..) {
        if failed.is_some() {
            // Dropping the job drops its reply channel: its caller gets `Closed`.
            drop(job);
            continue;
        }
        if let Err(e) = exec("SAVEPOINT job") {
            failed = Some(e);
            continue;
        }
        let ran = job(conn);
        let end = if ran.keep {
            exec("RELEASE job")
        } else {
            exec("ROLLBACK TO job").and_then(|()| exec("RELEASE job"))
        };
        if let Err(e) = end {
            failed = Some(e);
        }
        answers.push(ran.answer);
    }
    match failed {
        None => exec("COMMIT"),
        Some(e) => {
            let _ = exec("ROLLBACK");
            Err(e)
        }
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
}
