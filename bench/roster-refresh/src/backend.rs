//! The local contacts backend roostd delegates rosters to: `GET
//! /contacts/{username}` answers the user's roster of the current version
//! (1 or 2, switched by the run) as JSON, pre-rendered so the backend costs
//! next to nothing on the load core. It counts every request, per version
//! and per user, and how many were in flight at once.
//!
//! It runs in a thread of its own with its own current-thread runtime, so
//! its answers never wait behind the client sessions' work.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::contacts::Plan;

pub struct Backend {
    plan: Plan,
    /// Per user, the JSON of version 1 and version 2.
    bodies: Vec<[Bytes; 2]>,
    version: AtomicU8,
    delay: Duration,
    requests: AtomicU64,
    not_found: AtomicU64,
    /// Requests per user and version.
    fetches: [Vec<AtomicU32>; 2],
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
}

/// Counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub requests: u64,
    pub not_found: u64,
    pub max_in_flight: u64,
}

/// What the requests for one version looked like.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spread {
    pub requests: u64,
    /// Users fetched at least once.
    pub users: u64,
    /// Most requests for one user.
    pub max_per_user: u64,
}

impl Backend {
    /// Binds 127.0.0.1:`port` (0: any free port) and serves in a new thread.
    pub fn start(plan: Plan, port: u16, delay: Duration) -> io::Result<(Arc<Backend>, SocketAddr)> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let users = plan.users() as usize;
        let bodies = (0..plan.users())
            .map(|i| [Bytes::from(plan.json(i, 1)), Bytes::from(plan.json(i, 2))])
            .collect();
        let zeros = || (0..users).map(|_| AtomicU32::new(0)).collect();
        let backend = Arc::new(Backend {
            plan,
            bodies,
            version: AtomicU8::new(1),
            delay,
            requests: AtomicU64::new(0),
            not_found: AtomicU64::new(0),
            fetches: [zeros(), zeros()],
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
        });
        let state = backend.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("backend".into())
            .spawn(move || {
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)
                        .expect("a non-blocking std listener");
                    let app = Router::new()
                        .route("/contacts/{username}", get(contacts))
                        .with_state(state);
                    if let Err(e) = axum::serve(listener, app).await {
                        eprintln!("roster-refresh: backend stopped: {e}");
                    }
                })
            })?;
        Ok((backend, addr))
    }

    pub fn set_version(&self, version: u8) {
        self.version.store(version, Ordering::SeqCst);
    }

    pub fn counts(&self) -> Counts {
        Counts {
            requests: self.requests.load(Ordering::SeqCst),
            not_found: self.not_found.load(Ordering::SeqCst),
            max_in_flight: self.max_in_flight.load(Ordering::SeqCst),
        }
    }

    /// Forgets the highest in-flight count (to measure one phase).
    pub fn reset_max_in_flight(&self) {
        self.max_in_flight.store(0, Ordering::SeqCst);
    }

    pub fn spread(&self, version: u8) -> Spread {
        let per_user = &self.fetches[usize::from(version - 1)];
        let mut s = Spread::default();
        for n in per_user.iter().map(|n| u64::from(n.load(Ordering::SeqCst))) {
            s.requests += n;
            s.users += u64::from(n > 0);
            s.max_per_user = s.max_per_user.max(n);
        }
        s
    }
}

/// Keeps the in-flight count right however the handler ends.
struct InFlight<'a>(&'a Backend);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn contacts(State(b): State<Arc<Backend>>, Path(username): Path<String>) -> Response {
    b.requests.fetch_add(1, Ordering::SeqCst);
    let now = b.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    b.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let _guard = InFlight(&b);
    if !b.delay.is_zero() {
        tokio::time::sleep(b.delay).await;
    }
    let Some(i) = b.plan.index_of(&username) else {
        b.not_found.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::NOT_FOUND, "no such user").into_response();
    };
    let v = usize::from(b.version.load(Ordering::SeqCst) - 1);
    b.fetches[v][i as usize].fetch_add(1, Ordering::SeqCst);
    (
        [(header::CONTENT_TYPE, "application/json")],
        b.bodies[i as usize][v].clone(),
    )
        .into_response()
}
