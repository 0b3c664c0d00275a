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

/// A handle to the storage thread; cheap to clone.
#[derive(Clone)]
pub struct Db {
    jobs: mpsc::Sender<Job>,
}

/// Joins the storage thread when the last handle is gone.
pub struct DbThread(JoinHandle<()>);

impl DbThread {
    /// Waits until every queued job has been committed and the database closed.
    pub fn join(self) {
        let _ = self.0.join();
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
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; \
             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;"
        ))
        .context("cannot configure the database")?;
        schema::migrate(&mut conn)
            .with_context(|| format!("cannot migrate database {}", path.display()))?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("roost-storage".into())
            .spawn(move || run(conn, queue))
            .context("cannot start the storage thread")?;
        Ok((Db { jobs }, DbThread(thread)))
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
            .send(job)
            .map_err(|_| E::from(StorageError::Closed))?;
        rx.await
            .unwrap_or_else(|_| Err(E::from(StorageError::Closed)))
    }
}

fn run(conn: Connection, queue: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut answers = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = queue.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
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
}

fn run_batch(
    conn: &Connection,
    batch: &mut Vec<Job>,
    answers: &mut Vec<Box<dyn FnOnce(Option<StorageError>) + Send>>,
) -> Result<(), StorageError> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let mut failed = None;
    for job in batch.drain(..) {
        if failed.is_some() {
            // Dropping the job drops its reply channel: its caller gets `Closed`.
            drop(job);
            continue;
        }
        if let Err(e) = conn.execute_batch("SAVEPOINT job") {
            failed = Some(StorageError::from(e));
            continue;
        }
        let ran = job(conn);
        let end = if ran.keep {
            "RELEASE job"
        } else {
            "ROLLBACK TO job; RELEASE job"
        };
        if let Err(e) = conn.execute_batch(end) {
            failed = Some(StorageError::from(e));
        }
        answers.push(ran.answer);
    }
    match failed {
        None => conn.execute_batch("COMMIT").map_err(StorageError::from),
        Some(e) => {
            let _ = conn.execute_batch("ROLLBACK");
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
