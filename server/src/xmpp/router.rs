//! The session table: which resources of which accounts are connected, and
//! a handle to send each of them bytes. Shared by every connection.
//!
//! Stanzas travel between sessions already serialised ([`Bytes`]): the
//! sender serialises once, the receiving connection only writes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use jid::{BareJid, FullJid};
use tokio::sync::mpsc;

use crate::services::clients::{AuthMethod, ClientId};
use crate::services::sessions::{LiveSession, SessionDirectory, SessionEnd, SessionFilter};

/// What a queued stanza costs beyond its bytes (the `Bytes` handle and the
/// channel's slot), so that many tiny stanzas are bounded too.
const STANZA_OVERHEAD: usize = 64;

/// What travels in a session's queue.
#[derive(Debug)]
enum Queued {
    Stanza(Bytes),
    /// A close was requested: wakes the connection, which then finds the
    /// reason in the handle (no separate signal to wait on per stanza).
    Wake,
}

/// What became of a stanza given to a session's queue.
enum Enqueued {
    Yes,
    /// The queue holds this many bytes and the stanza does not fit.
    NoRoom(usize),
    Closing,
}

/// Why others end a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Another session bound the same full JID (RFC 6120 §7.7.2.2).
    Replaced,
    /// The account was deleted.
    AccountDeleted,
    /// More than `max_queued_bytes` waited for a client that does not read.
    QueueFull,
    /// The user or an admin revoked this client's access.
    ClientRevoked,
    /// The account's password changed and this session used the old one.
    PasswordChanged,
}

impl CloseReason {
    /// The stream error condition and text it is told with.
    pub fn stream_error(self) -> (&'static str, &'static str) {
        match self {
            CloseReason::Replaced => ("conflict", "replaced by a new connection for this resource"),
            CloseReason::AccountDeleted => ("not-authorized", "account deleted"),
            CloseReason::QueueFull => (
                "resource-constraint",
                "too much is waiting to be sent: the client does not read",
            ),
            CloseReason::ClientRevoked => ("not-authorized", "this client's access was revoked"),
            CloseReason::PasswordChanged => (
                "not-authorized",
                "the account's password was changed: log in again",
            ),
        }
    }
}

/// What a connection is told by others.
#[derive(Debug)]
pub enum Outbound {
    /// A serialised stanza to write.
    Stanza(Bytes),
    /// End the session.
    Close(CloseReason),
}

/// Why [`Router::bind`] refused a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindError {
    /// The account already has `max_sessions_per_account` resources.
    TooManySessions,
    /// The account was deleted after this connection authenticated.
    AccountDeleted,
    /// The client's access was revoked, or the password it used changed,
    /// after this connection authenticated; the session would have been
    /// closed for this reason.
    AccessEnded(CloseReason),
}

/// Presence facts about a session that routing needs.
#[derive(Debug, Clone, Default)]
pub struct Presence {
    /// Sent initial presence and not yet unavailable.
    pub available: bool,
    pub priority: i8,
    /// The last broadcast presence stanza (without `to`), answered to probes.
    pub last: Option<roost_xml::Element>,
    /// Where directed presence was sent, to send them unavailable at the end.
    pub directed: Vec<jid::Jid>,
}

#[derive(Debug)]
pub struct SessionHandle {
    pub id: u64,
    pub jid: FullJid,
    /// The client and how it logged in.
    pub login: SessionLogin,
    /// Stanzas for the connection. Unbounded as a channel, bounded in
    /// bytes by `queued` against `max_queued`.
    tx: mpsc::UnboundedSender<Queued>,
    queued: AtomicUsize,
    max_queued: usize,
    /// The first reason given to end the session; it overtakes the queue.
    close: Mutex<Option<CloseReason>>,
    /// Set with `close`: a session being ended takes no more stanzas.
    closing: AtomicBool,
    presence: Mutex<Presence>,
    /// Asked for the roster, so wants roster pushes (RFC 6121 §2.1.6).
    roster_interest: AtomicBool,
    /// Offline messages are to be handed over as the queue has room.
    offline_wanted: AtomicBool,
}

/// Who a session is, for client management: the client it belongs to and
/// how it authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionLogin {
    pub client: ClientId,
    pub method: AuthMethod,
}

impl SessionHandle {
    /// This session as services see it.
    pub fn live(&self) -> LiveSession {
        LiveSession {
            jid: self.jid.clone(),
            client: self.login.client.clone(),
            method: self.login.method,
        }
    }

    /// Queues bytes for this session; `true` when they were queued, `false`
    /// when the session is ending (then the caller keeps what it can, e.g.
    /// an offline message stays stored). A
    /// session whose queue would pass `max_queued_bytes` is too slow to keep
    /// up: nothing more is queued and it is ended with `resource-constraint`
    /// rather than let memory grow or stanzas vanish unnoticed.
    pub fn send(&self, bytes: Bytes) -> bool {
        match self.enqueue(bytes) {
            Enqueued::Yes => true,
            Enqueued::NoRoom(waiting) => {
                if self.request_close(CloseReason::QueueFull) {
                    tracing::info!(
                        "{}: {waiting} bytes waiting, client not reading: ending the session",
                        self.jid
                    );
                }
                false
            }
            Enqueued::Closing => false,
        }
    }

    /// Queues bytes only if there is room (or the queue is empty, so that
    /// any stanza can get through); `false` leaves the session as it is.
    /// For what the server can keep and send later, such as offline
    /// messages and stored subscription requests.
    pub fn offer(&self, bytes: Bytes) -> bool {
        matches!(self.enqueue(bytes), Enqueued::Yes)
    }

    fn enqueue(&self, bytes: Bytes) -> Enqueued {
        if self.closing.load(Ordering::Acquire) {
            return Enqueued::Closing;
        }
        let cost = bytes.len() + STANZA_OVERHEAD;
        let before = self.queued.fetch_add(cost, Ordering::AcqRel);
        if before > 0 && before + cost > self.max_queued {
            self.queued.fetch_sub(cost, Ordering::AcqRel);
            return Enqueued::NoRoom(before);
        }
        if self.tx.send(Queued::Stanza(bytes)).is_err() {
            self.queued.fetch_sub(cost, Ordering::AcqRel);
            return Enqueued::Closing;
        }
        Enqueued::Yes
    }

    /// Asks the connection to hand over offline messages (set at initial
    /// presence).
    pub fn want_offline_messages(&self) {
        self.offline_wanted.store(true, Ordering::Release);
    }

    /// Whether offline messages are still to be handed over.
    pub fn wants_offline_messages(&self) -> bool {
        self.offline_wanted.load(Ordering::Acquire)
    }

    /// All offline messages were handed over.
    pub fn offline_messages_done(&self) {
        self.offline_wanted.store(false, Ordering::Release);
    }

    /// Asks the connection to end the session; the first reason wins.
    /// Returns whether this was the first.
    pub fn request_close(&self, reason: CloseReason) -> bool {
        let mut close = self.close.lock().expect("close lock");
        if close.is_some() {
            return false;
        }
        *close = Some(reason);
        self.closing.store(true, Ordering::Release);
        drop(close);
        // Wakes the connection; the flag makes the close overtake the queue.
        let _ = self.tx.send(Queued::Wake);
        true
    }

    fn take_close(&self) -> Option<CloseReason> {
        // Checked for every stanza taken from the queue: the flag spares
        // the lock while nothing asked the session to close.
        if !self.closing.load(Ordering::Acquire) {
            return None;
        }
        *self.close.lock().expect("close lock")
    }

    pub fn presence(&self) -> Presence {
        self.presence.lock().expect("presence lock").clone()
    }

    /// Whether the session is available, and its priority: what routing
    /// needs, without copying the stored presence stanza.
    pub fn availability(&self) -> (bool, i8) {
        let p = self.presence.lock().expect("presence lock");
        (p.available, p.priority)
    }

    /// The last broadcast presence stanza, if available.
    pub fn last_presence(&self) -> Option<roost_xml::Element> {
        self.presence.lock().expect("presence lock").last.clone()
    }

    pub fn set_presence(&self, presence: Presence) {
        *self.presence.lock().expect("presence lock") = presence;
    }

    pub fn wants_roster_pushes(&self) -> bool {
        self.roster_interest.load(Ordering::Relaxed)
    }

    pub fn set_wants_roster_pushes(&self) {
        self.roster_interest.store(true, Ordering::Relaxed);
    }
}

/// The receiving end of a session's queue, held by its connection.
pub struct SessionQueue {
    rx: mpsc::UnboundedReceiver<Queued>,
    handle: Arc<SessionHandle>,
}

impl SessionQueue {
    /// The session this queue belongs to.
    pub fn handle(&self) -> Arc<SessionHandle> {
        self.handle.clone()
    }

    /// The next thing to do: a close request first, else the next stanza.
    pub async fn recv(&mut self) -> Outbound {
        loop {
            if let Some(reason) = self.handle.take_close() {
                return Outbound::Close(reason);
            }
            // The handle, which we hold, keeps the sender alive: never None.
            if let Some(Queued::Stanza(bytes)) = self.rx.recv().await {
                if let Some(reason) = self.handle.take_close() {
                    return Outbound::Close(reason);
                }
                return self.dequeued(bytes);
            }
        }
    }

    /// [`SessionQueue::recv`] without waiting.
    pub fn try_recv(&mut self) -> Option<Outbound> {
        loop {
            if let Some(reason) = self.handle.take_close() {
                return Some(Outbound::Close(reason));
            }
            match self.rx.try_recv().ok()? {
                Queued::Stanza(bytes) => return Some(self.dequeued(bytes)),
                Queued::Wake => {}
            }
        }
    }

    fn dequeued(&self, bytes: Bytes) -> Outbound {
        self.handle
            .queued
            .fetch_sub(bytes.len() + STANZA_OVERHEAD, Ordering::AcqRel);
        Outbound::Stanza(bytes)
    }
}

/// The session table's bounds.
#[derive(Debug, Clone, Copy)]
pub struct RouterLimits {
    pub max_queued_bytes: usize,
    pub max_sessions_per_account: usize,
    /// How long an authenticated connection may take to bind: deletions
    /// are remembered that long so that none of them can bind after.
    pub negotiation_timeout: Duration,
}

impl From<&roost_common::config::C2sConfig> for RouterLimits {
    fn from(c2s: &roost_common::config::C2sConfig) -> RouterLimits {
        RouterLimits {
            max_queued_bytes: c2s.max_queued_bytes,
            max_sessions_per_account: c2s.max_sessions_per_account,
            negotiation_timeout: c2s.negotiation_timeout,
        }
    }
}

pub struct Router {
    limits: RouterLimits,
    sessions: RwLock<HashMap<BareJid, Vec<Arc<SessionHandle>>>>,
    /// Accounts deleted lately, and when: a connection that authenticated
    /// before that may not bind. Bounded by the deletions made within one
    /// negotiation timeout.
    deleted: Mutex<HashMap<BareJid, Instant>>,
    /// Sessions ended lately (a client revoked, a password changed), and
    /// when: a login of that kind that authenticated before may not bind.
    /// Bounded as `deleted` is.
    ended: Mutex<Vec<(BareJid, SessionFilter, CloseReason, Instant)>>,
    /// The session handing over each account's offline messages: one at a
    /// time, or two resources logging in together would both read them.
    offline_owner: Mutex<HashMap<BareJid, u64>>,
    next_id: AtomicU64,
}

impl Router {
    pub fn new(limits: RouterLimits) -> Router {
        Router {
            limits,
            sessions: RwLock::default(),
            deleted: Mutex::default(),
            ended: Mutex::default(),
            offline_owner: Mutex::default(),
            next_id: AtomicU64::new(0),
        }
    }

    /// Registers a session for `jid`, for a connection that authenticated
    /// at `authenticated_at`. A session already bound to the same full JID
    /// is replaced (RFC 6120 §7.7.2.2, "override") and returned so the
    /// caller can close it; that does not count against
    /// `max_sessions_per_account`.
    pub fn bind(
        &self,
        jid: FullJid,
        login: SessionLogin,
        authenticated_at: Instant,
    ) -> Result<(SessionQueue, Option<Arc<SessionHandle>>), BindError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let handle = Arc::new(SessionHandle {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            jid: jid.clone(),
            login,
            tx,
            queued: AtomicUsize::new(0),
            max_queued: self.limits.max_queued_bytes,
            close: Mutex::new(None),
            closing: AtomicBool::new(false),
            presence: Mutex::new(Presence::default()),
            roster_interest: false.into(),
            offline_wanted: false.into(),
        });
        let bare = jid.to_bare();
        let mut sessions = self.sessions.write().expect("router lock");
        // Checked under the session lock: `account_deleted` marks before it
        // closes, so a deletion either sees this session or is seen here.
        if self.deleted_since(&bare, authenticated_at) {
            return Err(BindError::AccountDeleted);
        }
        if let Some(reason) = self.ended_since(&handle, authenticated_at) {
            return Err(BindError::AccessEnded(reason));
        }
        let list = sessions.entry(bare).or_default();
        let replaced = match list.iter().position(|s| s.jid == jid) {
            Some(i) => Some(list.swap_remove(i)),
            None if list.len() >= self.limits.max_sessions_per_account => {
                return Err(BindError::TooManySessions);
            }
            None => None,
        };
        list.push(handle.clone());
        drop(sessions);
        if let Some(old) = &replaced {
            old.request_close(CloseReason::Replaced);
        }
        Ok((SessionQueue { rx, handle }, replaced))
    }

    fn deleted_since(&self, bare: &BareJid, authenticated_at: Instant) -> bool {
        self.deleted
            .lock()
            .expect("deleted lock")
            .get(bare)
            .is_some_and(|&at| at >= authenticated_at)
    }

    /// Why sessions like `session` were ended after `authenticated_at`,
    /// if they were.
    fn ended_since(
        &self,
        session: &SessionHandle,
        authenticated_at: Instant,
    ) -> Option<CloseReason> {
        let live = session.live();
        let bare = session.jid.to_bare();
        self.ended
            .lock()
            .expect("ended lock")
            .iter()
            .find(|(user, filter, _, at)| {
                *user == bare && *at >= authenticated_at && filter.selects(&live)
            })
            .map(|(_, _, reason, _)| *reason)
    }

    /// Ends every session of a deleted account, and keeps connections that
    /// authenticated as it but have not bound yet from binding.
    pub fn account_deleted(&self, bare: &BareJid) {
        let now = Instant::now();
        {
            let mut deleted = self.deleted.lock().expect("deleted lock");
            let keep = self.limits.negotiation_timeout;
            deleted.retain(|_, at| now.duration_since(*at) <= keep);
            deleted.insert(bare.clone(), now);
        }
        // Taken after the mark, so a bind either finished before (and is
        // closed here) or checks after the mark (and is refused).
        let sessions = self.sessions.write().expect("router lock");
        for session in sessions.get(bare).into_iter().flatten() {
            session.request_close(CloseReason::AccountDeleted);
        }
    }

    /// Makes `session` the one that hands over its account's offline
    /// messages, unless another session already does.
    pub fn claim_offline(&self, session: &SessionHandle) -> bool {
        let mut owners = self.offline_owner.lock().expect("offline lock");
        *owners.entry(session.jid.to_bare()).or_insert(session.id) == session.id
    }

    /// `session` no longer hands over offline messages.
    pub fn release_offline(&self, session: &SessionHandle) {
        let mut owners = self.offline_owner.lock().expect("offline lock");
        let bare = session.jid.to_bare();
        if owners.get(&bare) == Some(&session.id) {
            owners.remove(&bare);
        }
    }

    /// Removes a session; a no-op if it was already replaced.
    pub fn unbind(&self, session: &SessionHandle) {
        self.release_offline(session);
        let bare = session.jid.to_bare();
        let mut sessions = self.sessions.write().expect("router lock");
        if let Some(list) = sessions.get_mut(&bare) {
            list.retain(|s| s.id != session.id);
            if list.is_empty() {
                sessions.remove(&bare);
            }
        }
    }

    /// Every connected resource of an account.
    pub fn sessions_of(&self, bare: &BareJid) -> Vec<Arc<SessionHandle>> {
        self.sessions
            .read()
            .expect("router lock")
            .get(bare)
            .cloned()
            .unwrap_or_default()
    }

    pub fn session(&self, full: &FullJid) -> Option<Arc<SessionHandle>> {
        let sessions = self.sessions.read().expect("router lock");
        sessions
            .get(&full.to_bare())?
            .iter()
            .find(|s| s.jid == *full)
            .cloned()
    }

    pub fn session_count(&self) -> usize {
        self.sessions
            .read()
            .expect("router lock")
            .values()
            .map(Vec::len)
            .sum()
    }
}

/// What client management sees of the session table: the sessions of an
/// account, and ending some of them.
impl SessionDirectory for Router {
    fn sessions(&self, user: &BareJid) -> Vec<LiveSession> {
        let sessions = self.sessions.read().expect("router lock");
        sessions
            .get(user)
            .into_iter()
            .flatten()
            .map(|s| s.live())
            .collect()
    }

    fn end(&self, user: &BareJid, which: SessionFilter, why: SessionEnd) -> usize {
        let reason = match why {
            SessionEnd::ClientRevoked => CloseReason::ClientRevoked,
            SessionEnd::PasswordChanged => CloseReason::PasswordChanged,
        };
        let now = Instant::now();
        {
            let mut ended = self.ended.lock().expect("ended lock");
            let keep = self.limits.negotiation_timeout;
            ended.retain(|(_, _, _, at)| now.duration_since(*at) <= keep);
            ended.push((user.clone(), which.clone(), reason, now));
        }
        // As in `account_deleted`: marked first, so a bind either is seen
        // here or sees the mark.
        let sessions = self.sessions.write().expect("router lock");
        sessions
            .get(user)
            .into_iter()
            .flatten()
            .filter(|s| which.selects(&s.live()))
            .filter(|s| s.request_close(reason))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password_login() -> SessionLogin {
        SessionLogin {
            client: ClientId::parse("legacy1").unwrap(),
            method: AuthMethod::Password,
        }
    }

    fn router(max_queued_bytes: usize, max_sessions_per_account: usize) -> Router {
        Router::new(RouterLimits {
            max_queued_bytes,
            max_sessions_per_account,
            negotiation_timeout: Duration::from_secs(60),
        })
    }

    fn full(jid: &str) -> FullJid {
        FullJid::new(jid).unwrap()
    }

    #[tokio::test]
    async fn binding_the_same_full_jid_replaces_the_older_session() {
        let router = router(1 << 20, 10);
        let jid = full("alice@example.test/phone");
        let (mut first, replaced) = router
            .bind(jid.clone(), password_login(), Instant::now())
            .unwrap();
        assert!(replaced.is_none());
        let (second, replaced) = router
            .bind(jid.clone(), password_login(), Instant::now())
            .unwrap();
        assert_eq!(replaced.unwrap().id, first.handle.id);
        assert!(matches!(
            first.recv().await,
            Outbound::Close(CloseReason::Replaced)
        ));
        assert_eq!(router.session(&jid).unwrap().id, second.handle.id);
        router.unbind(&first.handle);
        assert_eq!(
            router.session_count(),
            1,
            "unbinding the replaced one changes nothing"
        );
        router.unbind(&second.handle);
        assert_eq!(router.session_count(), 0);
    }

    #[tokio::test]
    async fn the_queue_is_bounded_in_bytes_and_a_full_one_ends_the_session() {
        let router = router(4 * 1024, 10);
        let (mut queue, _) = router
            .bind(
                full("alice@example.test/phone"),
                password_login(),
                Instant::now(),
            )
            .unwrap();
        let session = queue.handle.clone();
        let stanza = Bytes::from(vec![b'x'; 1000]);
        let mut queued = 0;
        while session.send(stanza.clone()) {
            queued += 1;
        }
        assert_eq!(queued, 4 * 1024 / (1000 + STANZA_OVERHEAD));
        assert!(!session.send(Bytes::from_static(b"<a/>")), "stays full");
        // The close overtakes what is queued: the client is not reading.
        assert!(matches!(
            queue.recv().await,
            Outbound::Close(CloseReason::QueueFull)
        ));
    }

    #[tokio::test]
    async fn an_offer_that_does_not_fit_leaves_the_session_alone() {
        let router = router(4 * 1024, 10);
        let (mut queue, _) = router
            .bind(
                full("alice@example.test/phone"),
                password_login(),
                Instant::now(),
            )
            .unwrap();
        let session = queue.handle.clone();
        let stanza = Bytes::from(vec![b'x'; 1000]);
        let mut offered = 0;
        while session.offer(stanza.clone()) {
            offered += 1;
        }
        assert_eq!(offered, 3);
        for _ in 0..offered {
            assert!(matches!(queue.try_recv(), Some(Outbound::Stanza(_))));
        }
        assert!(queue.try_recv().is_none(), "no close was requested");
        // An empty queue takes any stanza, however large: no livelock.
        assert!(session.offer(Bytes::from(vec![b'x'; 10_000])));
        assert!(
            !session.send(Bytes::from_static(b"<a/>")),
            "full: send ends it"
        );
    }

    #[tokio::test]
    async fn what_the_connection_takes_frees_its_room() {
        let router = router(4 * 1024, 10);
        let (mut queue, _) = router
            .bind(
                full("alice@example.test/phone"),
                password_login(),
                Instant::now(),
            )
            .unwrap();
        let session = queue.handle.clone();
        let stanza = Bytes::from(vec![b'x'; 1000]);
        for _ in 0..100 {
            assert!(session.send(stanza.clone()));
            assert!(session.send(stanza.clone()));
            assert!(matches!(queue.try_recv(), Some(Outbound::Stanza(b)) if b.len() == 1000));
            assert!(matches!(queue.recv().await, Outbound::Stanza(_)));
        }
        assert!(queue.try_recv().is_none());
    }

    #[test]
    fn one_session_at_a_time_hands_over_offline_messages() {
        let router = router(1 << 20, 10);
        let (a, _) = router
            .bind(
                full("alice@example.test/a"),
                password_login(),
                Instant::now(),
            )
            .unwrap();
        let (b, _) = router
            .bind(
                full("alice@example.test/b"),
                password_login(),
                Instant::now(),
            )
            .unwrap();
        let (bob, _) = router
            .bind(full("bob@example.test/a"), password_login(), Instant::now())
            .unwrap();
        assert!(router.claim_offline(&a.handle));
        assert!(router.claim_offline(&a.handle), "claiming again is fine");
        assert!(!router.claim_offline(&b.handle));
        assert!(router.claim_offline(&bob.handle), "per account");
        router.unbind(&a.handle);
        assert!(router.claim_offline(&b.handle), "released when unbound");
        router.release_offline(&b.handle);
        assert!(
            router
                .offline_owner
                .lock()
                .unwrap()
                .get(&b.handle.jid.to_bare())
                .is_none()
        );
    }

    #[test]
    fn sessions_per_account_are_capped_but_replacing_one_is_not_refused() {
        let router = router(1 << 20, 2);
        let _a = router
            .bind(
                full("alice@example.test/a"),
                password_login(),
                Instant::now(),
            )
            .unwrap();
        let _b = router
            .bind(
                full("alice@example.test/b"),
                password_login(),
                Instant::now(),
            )
            .unwrap();
        assert_eq!(
            router
                .bind(
                    full("alice@example.test/c"),
                    password_login(),
                    Instant::now()
                )
                .err(),
            Some(BindError::TooManySessions)
        );
        let (_, replaced) = router
            .bind(
                full("alice@example.test/b"),
                password_login(),
                Instant::now(),
            )
            .unwrap();
        assert!(replaced.is_some());
        assert!(
            router
                .bind(full("bob@example.test/c"), password_login(), Instant::now())
                .is_ok(),
            "the cap is per account"
        );
    }

    #[tokio::test]
    async fn a_deleted_account_is_closed_and_cannot_bind_from_an_older_login() {
        let router = router(1 << 20, 10);
        let logged_in = Instant::now();
        let (mut bound, _) = router
            .bind(full("alice@example.test/a"), password_login(), logged_in)
            .unwrap();
        router.account_deleted(&BareJid::new("alice@example.test").unwrap());
        assert!(matches!(
            bound.recv().await,
            Outbound::Close(CloseReason::AccountDeleted)
        ));
        assert_eq!(
            router
                .bind(full("alice@example.test/b"), password_login(), logged_in)
                .err(),
            Some(BindError::AccountDeleted),
            "authenticated before the deletion"
        );
        assert!(
            router
                .bind(
                    full("alice@example.test/b"),
                    password_login(),
                    Instant::now() + Duration::from_millis(1)
                )
                .is_ok(),
            "an account made again under the same name logs in anew"
        );
    }

    #[tokio::test]
    async fn ending_sessions_by_client_or_password_login() {
        let router = router(1 << 20, 10);
        let alice = BareJid::new("alice@example.test").unwrap();
        let fast = SessionLogin {
            client: ClientId::parse("phone-id").unwrap(),
            method: AuthMethod::Fast,
        };
        let before = Instant::now();
        let (mut laptop, _) = router
            .bind(full("alice@example.test/laptop"), password_login(), before)
            .unwrap();
        let (mut phone, _) = router
            .bind(full("alice@example.test/phone"), fast.clone(), before)
            .unwrap();
        assert_eq!(router.sessions(&alice).len(), 2);

        let keep = Some(full("alice@example.test/other"));
        let ended = router.end(
            &alice,
            SessionFilter::PasswordLoginsExcept(keep),
            SessionEnd::PasswordChanged,
        );
        assert_eq!(ended, 1);
        assert!(matches!(
            laptop.recv().await,
            Outbound::Close(CloseReason::PasswordChanged)
        ));
        // A password login that authenticated before the change cannot bind.
        assert_eq!(
            router
                .bind(full("alice@example.test/late"), password_login(), before)
                .err(),
            Some(BindError::AccessEnded(CloseReason::PasswordChanged))
        );

        let ended = router.end(
            &alice,
            SessionFilter::Client(fast.client.clone()),
            SessionEnd::ClientRevoked,
        );
        assert_eq!(ended, 1);
        assert!(matches!(
            phone.recv().await,
            Outbound::Close(CloseReason::ClientRevoked)
        ));
        assert_eq!(
            router
                .bind(full("alice@example.test/phone2"), fast.clone(), before)
                .err(),
            Some(BindError::AccessEnded(CloseReason::ClientRevoked))
        );
        // Logins after the cut-off bind as usual.
        assert!(
            router
                .bind(full("alice@example.test/phone3"), fast, Instant::now())
                .is_ok()
        );
    }
}
