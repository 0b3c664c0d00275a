//! One run per key at a time: callers that ask for a key while its run is
//! going wait for that run's result instead of starting another, so
//! concurrent first roster gets (and refreshes) of one user make one
//! request to the roster service. Each run says where it came from, and a
//! caller may decline to take a run of another origin as its own: it then
//! waits for that run to end and starts (or joins) the next one. A refresh
//! does so with a roster get's fetch, which may have been answered before
//! the roster changed.
//!
//! The run is its own task: a caller that goes away (a client that
//! disconnects, a refresh that gives up) neither cancels it for the
//! others nor leaves them waiting forever.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

type Running<K, V, O> = Arc<Mutex<HashMap<K, (watch::Receiver<Option<V>>, O)>>>;

pub struct SingleFlight<K, V, O> {
    running: Running<K, V, O>,
}

impl<K, V, O> Default for SingleFlight<K, V, O> {
    fn default() -> Self {
        SingleFlight {
            running: Arc::default(),
        }
    }
}

/// Forgets the key when the run ends, also when it panics: the next
/// caller then starts a run of its own.
struct Forget<K: Eq + Hash, V, O> {
    running: Running<K, V, O>,
    key: K,
}

impl<K: Eq + Hash, V, O> Drop for Forget<K, V, O> {
    fn drop(&mut self) {
        if let Ok(mut running) = self.running.lock() {
            running.remove(&self.key);
        }
    }
}

impl<K, V, O> SingleFlight<K, V, O>
where
    K: Eq + Hash + Clone + Send + 'static,
    V: Clone + Send + Sync + 'static,
    O: Copy + Send + 'static,
{
    /// `work`'s result, or that of the run of `key` already going if
    /// `joins` takes its origin (then `work` is dropped unrun). A run it
    /// does not take is waited for first. `None` if the run panicked.
    pub async fn run<F>(&self, key: K, origin: O, joins: impl Fn(O) -> bool, work: F) -> Option<V>
    where
        F: Future<Output = V> + Send + 'static,
    {
        let mut work = Some(work);
        loop {
            let (mut result, taken) = {
                let mut running = self.running.lock().expect("single flight lock");
                match running.get(&key) {
                    Some((result, theirs)) => (result.clone(), joins(*theirs)),
                    None => {
                        let (tx, rx) = watch::channel(None);
                        running.insert(key.clone(), (rx.clone(), origin));
                        let forget = Forget {
                            running: self.running.clone(),
                            key: key.clone(),
                        };
                        // Started once at most: a started run is always taken.
                        let work = work.take().expect("work not started yet");
                        tokio::spawn(async move {
                            let value = work.await;
                            // Forgotten before it is told: a caller that
                            // comes after the answer starts a new run.
                            drop(forget);
                            let _ = tx.send(Some(value));
                        });
                        (rx, true)
                    }
                }
            };
            let outcome = result
                .wait_for(Option::is_some)
                .await
                .ok()
                .map(|v| v.clone());
            if taken {
                return outcome?;
            }
        }
    }

    /// Runs going now.
    #[cfg(test)]
    pub fn running(&self) -> usize {
        self.running.lock().expect("single flight lock").len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn concurrent_callers_share_one_run() {
        let flights: Arc<SingleFlight<&str, usize, u8>> = Arc::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let (go, gate) = watch::channel(false);
        let mut callers = Vec::new();
        for _ in 0..5 {
            let (flights, runs, mut gate) = (flights.clone(), runs.clone(), gate.clone());
            callers.push(tokio::spawn(async move {
                flights
                    .run("ann", 0, |_| true, async move {
                        let _ = gate.wait_for(|open| *open).await;
                        runs.fetch_add(1, Ordering::SeqCst) + 41
                    })
                    .await
            }));
        }
        while flights.running() == 0 {
            tokio::task::yield_now().await;
        }
        tokio::task::yield_now().await;
        go.send(true).unwrap();
        for caller in callers {
            assert_eq!(caller.await.unwrap(), Some(41));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(flights.running(), 0);
        // Once it is over, the next caller runs anew.
        assert_eq!(flights.run("ann", 0, |_| true, async { 7 }).await, Some(7));
    }

    #[tokio::test]
    async fn a_caller_that_leaves_does_not_cancel_the_run() {
        let flights: Arc<SingleFlight<&str, &str, u8>> = Arc::default();
        let (go, mut gate) = watch::channel(false);
        let first = {
            let flights = flights.clone();
            tokio::spawn(async move {
                flights
                    .run("ann", 0, |_| true, async move {
                        let _ = gate.wait_for(|open| *open).await;
                        "done"
                    })
                    .await
            })
        };
        while flights.running() == 0 {
            tokio::task::yield_now().await;
        }
        first.abort();
        let second = {
            let flights = flights.clone();
            tokio::spawn(async move {
                flights
                    .run("ann", 0, |_| true, async { "second run" })
                    .await
            })
        };
        tokio::task::yield_now().await;
        go.send(true).unwrap();
        assert_eq!(second.await.unwrap(), Some("done"));
    }

    #[tokio::test]
    async fn a_panicking_run_is_forgotten() {
        let flights: SingleFlight<&str, u8, u8> = SingleFlight::default();
        assert_eq!(
            flights
                .run("ann", 0, |_| true, async { panic!("boom") })
                .await,
            None
        );
        assert_eq!(flights.running(), 0);
        assert_eq!(flights.run("ann", 0, |_| true, async { 1 }).await, Some(1));
    }

    #[tokio::test]
    async fn a_run_of_another_origin_is_waited_for_then_run_again() {
        let flights: Arc<SingleFlight<&str, &str, char>> = Arc::default();
        let (go, mut gate) = watch::channel(false);
        let login = {
            let flights = flights.clone();
            tokio::spawn(async move {
                flights
                    .run("ann", 'l', |_| true, async move {
                        let _ = gate.wait_for(|open| *open).await;
                        "old roster"
                    })
                    .await
            })
        };
        while flights.running() == 0 {
            tokio::task::yield_now().await;
        }
        let refreshes: Vec<_> = (0..2)
            .map(|_| {
                let flights = flights.clone();
                tokio::spawn(async move {
                    flights
                        .run("ann", 'r', |o| o == 'r', async { "new roster" })
                        .await
                })
            })
            .collect();
        tokio::task::yield_now().await;
        go.send(true).unwrap();
        assert_eq!(login.await.unwrap(), Some("old roster"));
        for refresh in refreshes {
            assert_eq!(refresh.await.unwrap(), Some("new roster"));
        }
    }
}
