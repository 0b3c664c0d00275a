//! A roster backend for the roster delegation tests: a small axum HTTP
//! server on a loopback port, started inside the test, that answers
//! `GET /contacts/<percent-encoded username>` the way the test tells it to
//! at run time (a roster, a status code, garbage, an oversized body, a hang,
//! an answer held until the test releases it), and records every request it
//! received per username (raw path and the headers roostd sent).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse as _, Response};
use tokio::sync::watch;

/// The path every request must have before the username.
pub const PREFIX: &str = "/contacts/";

/// What the backend answers for one username.
#[derive(Clone, Debug)]
pub enum Answer {
    /// 200 with this JSON body.
    Roster(serde_json::Value),
    /// 200, `Content-Type: application/json`, exactly this body (for JSON
    /// whose member order matters).
    Text(String),
    /// This status with a small JSON body.
    Status(u16),
    /// 200, `Content-Type: application/json`, a body that is not JSON.
    Garbage,
    /// 200 with valid JSON larger than the 4 MiB roostd reads.
    TooBig,
    /// Never answers (until roostd gives up and closes the connection).
    Hang,
    /// Waits until [`RosterBackend::release`], then 200 with this body.
    Held(serde_json::Value),
    /// Waits this long, then 200 with this body.
    Slow(Duration, serde_json::Value),
}

/// One request as the backend received it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The path exactly as sent, before any decoding.
    pub raw_path: String,
    pub accept: Option<String>,
    pub authorization: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Default)]
struct State {
    answers: HashMap<String, Answer>,
    requests: HashMap<String, Vec<Seen>>,
    /// Requests whose answer has not been sent (or abandoned) yet, per user.
    in_flight: HashMap<String, usize>,
    /// Requests in flight at once, all users together, and the most seen.
    in_flight_total: usize,
    peak_in_flight: usize,
}

struct Shared {
    state: Mutex<State>,
    /// Bumped on every change of `state`, so that waiters never miss one.
    changed: watch::Sender<u64>,
    /// Open (true) lets `Held` answers go.
    gate: watch::Sender<bool>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n += 1);
    }
}

/// A running backend; its task ends with the test's runtime or when dropped.
pub struct RosterBackend {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RosterBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How long [`RosterBackend::wait_for_requests`] waits before failing.
const WAIT: Duration = Duration::from_secs(10);

impl RosterBackend {
    pub async fn start() -> RosterBackend {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind backend");
        let addr = listener.local_addr().expect("backend address");
        let shared = Arc::new(Shared {
            state: Mutex::default(),
            changed: watch::channel(0).0,
            gate: watch::channel(true).0,
        });
        let handler_shared = shared.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
            let shared = handler_shared.clone();
            async move { answer(&shared, &uri, &headers).await }
        });
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("backend serve");
        });
        RosterBackend { addr, shared, task }
    }

    /// The `url` option pointing at this backend.
    pub fn url_template(&self) -> String {
        format!("http://{}{PREFIX}%s", self.addr)
    }

    pub fn set(&self, user: &str, answer: Answer) {
        self.shared.state().answers.insert(user.to_owned(), answer);
    }

    /// Answers `user` with 200 and `roster`.
    pub fn set_roster(&self, user: &str, roster: serde_json::Value) {
        self.set(user, Answer::Roster(roster));
    }

    /// From now on `Held` answers wait for [`release`](Self::release).
    pub fn hold(&self) {
        self.shared.gate.send_replace(false);
    }

    /// Lets every waiting and future `Held` answer go.
    pub fn release(&self) {
        self.shared.gate.send_replace(true);
    }

    /// The requests received for `user` so far.
    pub fn requests(&self, user: &str) -> Vec<Seen> {
        self.shared
            .state()
            .requests
            .get(user)
            .cloned()
            .unwrap_or_default()
    }

    pub fn request_count(&self, user: &str) -> usize {
        self.requests(user).len()
    }

    /// Requests of `user` received and not yet answered or abandoned.
    pub fn in_flight(&self, user: &str) -> usize {
        self.shared
            .state()
            .in_flight
            .get(user)
            .copied()
            .unwrap_or(0)
    }

    /// The most requests that were in flight at once, all users together.
    pub fn peak_in_flight(&self) -> usize {
        self.shared.state().peak_in_flight
    }

    /// Waits until `user` has made at least `count` requests.
    pub async fn wait_for_requests(&self, user: &str, count: usize) {
        let mut changed = self.shared.changed.subscribe();
        let waited = tokio::time::timeout(WAIT, async {
            while self.request_count(user) < count {
                changed.changed().await.expect("backend alive");
            }
        })
        .await;
        assert!(
            waited.is_ok(),
            "the backend got {} request(s) for {user:?}, waited for {count}",
            self.request_count(user)
        );
    }

    /// Waits until no request of `user` is in flight (roostd got its answer
    /// or gave up on it).
    pub async fn wait_until_idle(&self, user: &str) {
        let mut changed = self.shared.changed.subscribe();
        let waited = tokio::time::timeout(WAIT, async {
            while self.in_flight(user) > 0 {
                changed.changed().await.expect("backend alive");
            }
        })
        .await;
        assert!(waited.is_ok(), "a request of {user:?} is still in flight");
    }
}

/// Counts a request in flight until dropped, which is also when roostd
/// closed the connection on an unanswered request.
struct InFlight {
    shared: Arc<Shared>,
    user: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        {
            let mut state = self.shared.state();
            state.in_flight_total -= 1;
            if let Some(n) = state.in_flight.get_mut(&self.user) {
                *n -= 1;
            }
        }
        self.shared.bump();
    }
}

async fn answer(shared: &Arc<Shared>, uri: &Uri, headers: &HeaderMap) -> Response {
    let raw_path = uri.path().to_owned();
    let Some(user) = raw_path.strip_prefix(PREFIX).and_then(percent_decode) else {
        return (StatusCode::NOT_FOUND, "not a roster path").into_response();
    };
    let header = |name: header::HeaderName| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let seen = Seen {
        raw_path: if let Some(q) = uri.query() {
            format!("{raw_path}?{q}")
        } else {
            raw_path.clone()
        },
        accept: header(header::ACCEPT),
        authorization: header(header::AUTHORIZATION),
        user_agent: header(header::USER_AGENT),
    };
    let answer = {
        let mut state = shared.state();
        state.requests.entry(user.clone()).or_default().push(seen);
        *state.in_flight.entry(user.clone()).or_default() += 1;
        state.in_flight_total += 1;
        state.peak_in_flight = state.peak_in_flight.max(state.in_flight_total);
        state.answers.get(&user).cloned()
    };
    shared.bump();
    let _in_flight = InFlight {
        shared: shared.clone(),
        user,
    };
    let json = |status: StatusCode, body: String| {
        (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    };
    match answer {
        None => json(StatusCode::NOT_FOUND, r#"{"error":"no such user"}"#.into()),
        Some(Answer::Roster(roster)) => json(StatusCode::OK, roster.to_string()),
        Some(Answer::Text(body)) => json(StatusCode::OK, body),
        Some(Answer::Status(code)) => json(
            StatusCode::from_u16(code).expect("a status code"),
            r#"{"error":"as the test asked"}"#.into(),
        ),
        Some(Answer::Garbage) => json(StatusCode::OK, "{\"bob@example.test\": {\"name\": ".into()),
        Some(Answer::TooBig) => {
            let name = "x".repeat(5 * 1024 * 1024);
            json(
                StatusCode::OK,
                format!(r#"{{"big@example.test": {{"name": "{name}"}}}}"#),
            )
        }
        Some(Answer::Hang) => std::future::pending().await,
        Some(Answer::Held(roster)) => {
            let mut gate = shared.gate.subscribe();
            gate.wait_for(|open| *open).await.expect("backend alive");
            json(StatusCode::OK, roster.to_string())
        }
        Some(Answer::Slow(delay, roster)) => {
            tokio::time::sleep(delay).await;
            json(StatusCode::OK, roster.to_string())
        }
    }
}

/// Decodes `%XX` escapes (RFC 3986; `+` is a plus); `None` for a bad
/// escape or a result that is not UTF-8.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
