//! The session table: which resources of which accounts are connected, and
//! a handle to send each of them bytes. Shared by every connection.
//!
//! Stanzas travel between sessions already serialised ([`Bytes`]): the
//! sender serialises once, the receiving connection only writes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use jid::{BareJid, FullJid};
use tokio::sync::mpsc;

mod cutoffs;
mod held;

use crate::services::clients::{AuthMethod, ClientId};
use crate::services::sessions::{
    Connected, LiveSession, SessionDetails, SessionDirectory, SessionEnd, SessionFilter,
    SessionScope,
};

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
    /// An admin ended it (`roostctl c2s close`), with the text the handle
    /// keeps ([`SessionHandle::close_text`]).
    ByAdmin,
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
            // RFC 6120 §4.9.3.15: the entity "has violated some local
            // service policy", the text saying which; an operator's kick is
            // such a decision (ejabberd's kick_session says the same).
            // Not <reset/> (§4.9.3.19), which is for a security context to
            // be renewed and asks the client to reconnect at once, nor
            // <system-shutdown/>, which would be untrue.
            CloseReason::ByAdmin => (
                "policy-violation",
                crate::services::sessions::admin::DEFAULT_CLOSE_TEXT,
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
    /// Wants copies of its account's other chats (XEP-0280 message carbons).
    carbons: AtomicBool,
    /// The router's count of such sessions.
    carbons_sessions: Arc<AtomicUsize>,
    /// The client said it is inactive (XEP-0352); read without a lock on
    /// every deferrable stanza.
    inactive: AtomicBool,
    /// What is held back while inactive.
    held: Mutex<held::Held>,
    /// When the client last sent a stanza, Unix seconds from a coarse clock
    /// (see [`SessionHandle::stanza_received`]).
    last_active: AtomicI64,
    /// What an admin who ended the session said, for [`CloseReason::ByAdmin`].
    close_text: OnceLock<Box<str>>,
    /// The connection it is on now (a resumed session moves), and whether
    /// it lost it and waits to be resumed (XEP-0198).
    link: Mutex<Link>,
}

/// Where a session's client is, for admins.
#[derive(Debug)]
struct Link {
    connected: Arc<Connected>,
    hibernating: bool,
}

/// Who a session is, for client management: the client it belongs to and
/// how it authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionLogin {
    pub client: ClientId,
    pub method: AuthMethod,
    /// When it bound, Unix seconds.
    pub since: i64,
    /// Where and how it connected, for admins.
    pub connected: Arc<Connected>,
}

impl SessionHandle {
    /// This session as services see it.
    pub fn live(&self) -> LiveSession {
        LiveSession {
            jid: self.jid.clone(),
            client: self.login.client.clone(),
            method: self.login.method,
            since: self.login.since,
        }
    }

    /// This session as admins see it.
    pub fn details(&self) -> SessionDetails {
        let link = self.link.lock().expect("link lock");
        SessionDetails {
            session: self.live(),
            connected: link.connected.clone(),
            last_active: self.last_active.load(Ordering::Relaxed),
            hibernated: link.hibernating,
        }
    }

    /// The connection was lost; the session waits to be resumed.
    pub fn hibernating(&self) {
        self.link.lock().expect("link lock").hibernating = true;
    }

    /// A connection took the session over (XEP-0198 resumption).
    pub fn moved_to(&self, connected: Arc<Connected>) {
        *self.link.lock().expect("link lock") = Link {
            connected,
            hibernating: false,
        };
    }

    /// Notes that the client sent a stanza, for its idle time. On the
    /// message path, so it costs one coarse clock read (the vDSO, no
    /// system call) and one relaxed store: no lock, no ordering.
    pub fn stanza_received(&self) {
        self.last_active
            .store(coarse_unix_secs(), Ordering::Relaxed);
    }

    /// Ends the session for an admin, telling the client `text`. Returns
    /// whether this was the first reason given to end it.
    pub fn close_by_admin(&self, text: &str) -> bool {
        // Set before the close is requested, so the connection that wakes
        // for it finds the text; when another reason won, it goes unread.
        let _ = self.close_text.set(text.into());
        self.request_close(CloseReason::ByAdmin)
    }

    /// The stream error condition and text to end the session with for
    /// `reason`: an admin's own text, or the reason's.
    pub fn close_error(&self, reason: CloseReason) -> (&'static str, &str) {
        let (condition, text) = reason.stream_error();
        match (reason, self.close_text.get()) {
            (CloseReason::ByAdmin, Some(admin_text)) => (condition, admin_text),
            _ => (condition, text),
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

    /// Whether the session is ending and takes no more stanzas.
    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// Makes the session take no more stanzas, as a closing one: its end
    /// is under way and what it still holds is being handed on to the
    /// account, which must not route any of it back here.
    pub fn refuse_stanzas(&self) {
        self.closing.store(true, Ordering::Release);
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

    /// Whether the client enabled message carbons (XEP-0280).
    pub fn wants_carbons(&self) -> bool {
        self.carbons.load(Ordering::Relaxed)
    }

    /// Turns carbons on or off for this session, keeping the router's
    /// count (taken back when the handle goes, see `Drop`).
    pub fn set_carbons(&self, enabled: bool) {
        if self.carbons.swap(enabled, Ordering::Relaxed) != enabled {
            match enabled {
                true => self.carbons_sessions.fetch_add(1, Ordering::Relaxed),
                false => self.carbons_sessions.fetch_sub(1, Ordering::Relaxed),
            };
        }
    }

    /// Whether the client said it is inactive (XEP-0352): one load.
    pub fn is_inactive(&self) -> bool {
        self.inactive.load(Ordering::Acquire)
    }

    /// The client says it is active or not (XEP-0352). Becoming active
    /// lets through everything held back, in order.
    pub fn set_client_active(&self, active: bool) {
        if !active {
            self.inactive.store(true, Ordering::Release);
            return;
        }
        // Sent under the lock, before the flag clears: a newer stanza from
        // another task waits for the lock (or finds the flag set and holds
        // it), so it cannot overtake what was held before it.
        let mut held = self.held.lock().expect("held lock");
        for bytes in held.release() {
            self.send(bytes);
        }
        self.inactive.store(false, Ordering::Release);
    }

    /// Queues a stanza that must not wait (a message with a body) at once,
    /// and drops what it makes obsolete from what an inactive session
    /// holds (`supersedes`: the sender's held chat state, which would
    /// otherwise show them typing after their message). The rest stays
    /// held: presence still waits for `<active/>`.
    pub fn send_now(&self, supersedes: Option<&str>, bytes: Bytes) -> bool {
        if let Some(key) = supersedes
            && self.inactive.load(Ordering::Acquire)
        {
            self.held.lock().expect("held lock").forget(key);
        }
        self.send(bytes)
    }

    /// Queues a stanza that can wait while the client is inactive: a
    /// presence update or a message without content. `replaces` names
    /// what a newer stanza makes obsolete (the sender of a presence), so
    /// only the last one is delivered. An active session gets it at once.
    pub fn send_deferrable(&self, replaces: Option<&str>, bytes: Bytes) -> bool {
        if !self.inactive.load(Ordering::Acquire) {
            return self.send(bytes);
        }
        if self.closing.load(Ordering::Acquire) {
            // Held, it would be dropped with the session: say it was not taken.
            return false;
        }
        let mut held = self.held.lock().expect("held lock");
        // Checked again under the lock: `set_client_active` releases under
        // it before clearing the flag, so nothing is held after a release.
        if !self.inactive.load(Ordering::Acquire) {
            return self.send(bytes);
        }
        // Half the queue at most, so that releasing it all at once never
        // ends the session for a full queue.
        let limit = held::MAX_HELD_BYTES.min(self.max_queued / 2);
        match held.hold(replaces, bytes, limit) {
            held::Holding::Held => true,
            held::Holding::Overflow(all) => all.into_iter().all(|bytes| self.send(bytes)),
        }
    }
}

impl Drop for SessionHandle {
    /// A session ends in more ways than an unbind (replaced by a login to
    /// the same resource, its task gone): the router's count of carbons
    /// sessions is kept right here, once, whichever way it went.
    fn drop(&mut self) {
        if *self.carbons.get_mut() {
            self.carbons_sessions.fetch_sub(1, Ordering::Relaxed);
        }
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

    /// Every stanza still queued, closes ignored: for a session that is
    /// ending and hands on what it had not written. The queue is closed
    /// first, so a sender that raced past the session's closing flag is
    /// told it was not taken rather than leaving a stanza nobody reads.
    pub fn drain(&mut self) -> Vec<Bytes> {
        self.rx.close();
        let mut stanzas = Vec::new();
        while let Ok(queued) = self.rx.try_recv() {
            if let Queued::Stanza(bytes) = queued {
                self.handle
                    .queued
                    .fetch_sub(bytes.len() + STANZA_OVERHEAD, Ordering::AcqRel);
                stanzas.push(bytes);
            }
        }
        stanzas
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

/// Unix seconds from `CLOCK_REALTIME_COARSE`: the time of the last timer
/// tick (a few milliseconds old), read without a system call.
fn coarse_unix_secs() -> i64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given.
    if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut now) } == 0 {
        now.tv_sec
    } else {
        crate::services::now()
    }
}

pub struct Router {
    limits: RouterLimits,
    sessions: RwLock<HashMap<BareJid, Vec<Arc<SessionHandle>>>>,
    /// Bound sessions per host, changed only under the `sessions` write
    /// lock (taken after it): `status` reads them without a walk.
    per_host: Mutex<HashMap<String, usize>>,
    /// Accounts deleted lately, and when: a connection that authenticated
    /// before that may not bind. Bounded by the deletions made within one
    /// negotiation timeout.
    deleted: Mutex<HashMap<BareJid, Instant>>,
    /// Sessions ended lately (a client revoked, a password changed), and
    /// when: a login of that kind that authenticated before may not bind.
    cutoffs: Mutex<cutoffs::Cutoffs>,
    /// The session handing over each account's offline messages: one at a
    /// time, or two resources logging in together would both read them.
    offline_owner: Mutex<HashMap<BareJid, u64>>,
    next_id: AtomicU64,
    /// Sessions with carbons enabled, across the server: while there are
    /// none, routing a message does not look for any.
    carbons_sessions: Arc<AtomicUsize>,
}

impl Router {
    pub fn new(limits: RouterLimits) -> Router {
        Router {
            limits,
            sessions: RwLock::default(),
            per_host: Mutex::default(),
            deleted: Mutex::default(),
            cutoffs: Mutex::new(cutoffs::Cutoffs::new(limits.negotiation_timeout)),
            offline_owner: Mutex::default(),
            next_id: AtomicU64::new(0),
            carbons_sessions: Arc::default(),
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
        let bound_at = login.since;
        let link = Mutex::new(Link {
            connected: login.connected.clone(),
            hibernating: false,
        });
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
            carbons: false.into(),
            carbons_sessions: self.carbons_sessions.clone(),
            inactive: false.into(),
            held: Mutex::default(),
            last_active: bound_at.into(),
            close_text: OnceLock::new(),
            link,
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
        if replaced.is_none() {
            self.count_host(&jid, 1);
        }
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

    /// Why logins like `session`'s were cut off after `authenticated_at`,
    /// if they were.
    fn ended_since(
        &self,
        session: &SessionHandle,
        authenticated_at: Instant,
    ) -> Option<CloseReason> {
        self.cut_off(
            &session.jid.to_bare(),
            Some(&session.login.client),
            authenticated_at,
        )
    }

    /// Why a login of `user` by `client` (`None` for a legacy login, whose
    /// client is known only once recorded) that authenticated at
    /// `authenticated_at` may no longer bind, if it may not: the account
    /// was deleted, the client revoked or the password changed since.
    pub fn cut_off(
        &self,
        user: &BareJid,
        client: Option<&ClientId>,
        authenticated_at: Instant,
    ) -> Option<CloseReason> {
        if self.deleted_since(user, authenticated_at) {
            return Some(CloseReason::AccountDeleted);
        }
        self.cutoffs
            .lock()
            .expect("cutoffs lock")
            .find(user, client, authenticated_at)
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
            let before = list.len();
            list.retain(|s| s.id != session.id);
            if list.len() < before {
                self.count_host(&session.jid, -1);
            }
            if list.is_empty() {
                sessions.remove(&bare);
            }
        }
    }

    /// Changes `jid`'s host's session count; called under the `sessions`
    /// write lock, so counts and table agree.
    fn count_host(&self, jid: &FullJid, change: isize) {
        let mut per_host = self.per_host.lock().expect("per-host lock");
        let host = jid.domain().as_str();
        match per_host.get_mut(host) {
            Some(count) => {
                *count = count.saturating_add_signed(change);
                if *count == 0 {
                    per_host.remove(host);
                }
            }
            None if change > 0 => {
                per_host.insert(host.to_owned(), change.unsigned_abs());
            }
            None => {}
        }
    }

    /// Whether some session of `bare` may want a carbon copy of a message:
    /// looked at before a message is routed, so that no copy of it is kept
    /// for carbons nobody wants. For the sender's account (`sender` is the
    /// sending session), a carbons-enabled session other than the sender;
    /// for the recipient's (`None`), a carbons-enabled session among two or
    /// more, since a lone session gets the message itself or nobody does.
    pub fn carbons_wanted(&self, bare: &BareJid, sender: Option<u64>) -> bool {
        if !self.any_carbons() {
            return false;
        }
        let sessions = self.sessions.read().expect("router lock");
        let Some(sessions) = sessions.get(bare) else {
            return false;
        };
        let others = |s: &&Arc<SessionHandle>| Some(s.id) != sender;
        (sender.is_some() || sessions.len() > 1)
            && sessions.iter().filter(others).any(|s| s.wants_carbons())
    }

    /// Whether any session on the server enabled carbons: one load.
    pub fn any_carbons(&self) -> bool {
        self.carbons_sessions.load(Ordering::Relaxed) > 0
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
        // From the per-host counts kept for `status`: a sum over the hosts,
        // not a walk of every account (metrics ask at each scrape).
        self.per_host
            .lock()
            .expect("per-host counts")
            .values()
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
        self.cutoffs
            .lock()
            .expect("cutoffs lock")
            .add(user, &which, reason, Instant::now());
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

    fn details(&self, scope: &SessionScope) -> Vec<SessionDetails> {
        self.in_scope(scope).iter().map(|s| s.details()).collect()
    }

    fn count_by_host(&self) -> HashMap<String, usize> {
        self.per_host.lock().expect("per-host lock").clone()
    }

    fn close(&self, scope: &SessionScope, text: &str) -> usize {
        // No cut-off, unlike `end`: the client may log in again at once.
        self.in_scope(scope)
            .iter()
            .filter(|s| s.close_by_admin(text))
            .count()
    }
}

impl Router {
    /// The sessions in `scope`: from one account's list when the scope
    /// lies within one, else from every session.
    fn in_scope(&self, scope: &SessionScope) -> Vec<Arc<SessionHandle>> {
        let sessions = self.sessions.read().expect("router lock");
        let selected = |s: &&Arc<SessionHandle>| scope.selects(&s.jid);
        match scope.account() {
            Some(bare) => sessions
                .get(&bare)
                .into_iter()
                .flatten()
                .filter(selected)
                .cloned()
                .collect(),
            None => sessions
                .values()
                .flatten()
                .filter(selected)
                .cloned()
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password_login() -> SessionLogin {
        SessionLogin {
            client: ClientId::parse("legacy1").unwrap(),
            method: AuthMethod::Password,
            since: 0,
            connected: connected(),
        }
    }

    fn connected() -> Arc<Connected> {
        Arc::new(Connected {
            peer: "127.0.0.1:40000".parse().unwrap(),
            tls: None,
            mechanism: "PLAIN",
            agent: Default::default(),
        })
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

    /// What is queued for a session now, as text.
    fn queued(queue: &mut SessionQueue) -> Vec<String> {
        std::iter::from_fn(|| queue.try_recv())
            .map(|out| match out {
                Outbound::Stanza(bytes) => String::from_utf8(bytes.to_vec()).unwrap(),
                Outbound::Close(reason) => format!("close {reason:?}"),
            })
            .collect()
    }

    fn b(text: &'static str) -> Bytes {
        Bytes::from_static(text.as_bytes())
    }

    #[tokio::test]
    async fn an_inactive_session_holds_what_can_wait_until_active_or_urgent() {
        let router = router(1 << 20, 10);
        let (mut queue, _) = router
            .bind(
                full("alice@example.test/phone"),
                password_login(),
                Instant::now(),
            )
            .unwrap();
        let session = queue.handle();
        session.set_client_active(false);
        assert!(session.send_deferrable(Some("bob"), b("bob away")));
        assert!(session.send_deferrable(None, b("receipt")));
        assert!(session.send_deferrable(Some("chat state bob"), b("bob typing")));
        assert!(session.send_deferrable(Some("bob"), b("bob back")));
        assert!(queued(&mut queue).is_empty(), "held");
        // Something urgent goes at once and drops what it makes obsolete.
        assert!(session.send_now(Some("chat state bob"), b("bob's message")));
        assert_eq!(queued(&mut queue), ["bob's message"]);
        session.send_deferrable(Some("carol"), b("carol away"));
        session.set_client_active(true);
        assert_eq!(queued(&mut queue), ["receipt", "bob back", "carol away"]);
        session.send_deferrable(Some("carol"), b("carol back"));
        assert_eq!(queued(&mut queue), ["carol back"], "active: at once");
    }

    #[tokio::test]
    async fn the_count_of_carbons_sessions_follows_them_however_they_end() {
        let router = router(1 << 20, 10);
        let jid = full("alice@example.test/phone");
        let (first, _) = router
            .bind(jid.clone(), password_login(), Instant::now())
            .unwrap();
        first.handle().set_carbons(true);
        first.handle().set_carbons(true);
        assert!(router.any_carbons());
        // Replaced by a new login to the same resource: no unbind.
        let (second, _) = router
            .bind(jid.clone(), password_login(), Instant::now())
            .unwrap();
        drop(first);
        assert!(!router.any_carbons(), "the replaced one is gone");
        second.handle().set_carbons(true);
        router.unbind(&second.handle());
        assert!(router.any_carbons(), "still held by its queue");
        drop(second);
        assert!(!router.any_carbons());
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
    async fn ending_sessions_by_client_or_all_but_one() {
        let router = router(1 << 20, 10);
        let alice = BareJid::new("alice@example.test").unwrap();
        let fast = SessionLogin {
            client: ClientId::parse("phone-id").unwrap(),
            method: AuthMethod::Fast,
            since: 0,
            connected: connected(),
        };
        let before = Instant::now();
        let bind = |resource: &str, login: SessionLogin| {
            router
                .bind(
                    full(&format!("alice@example.test/{resource}")),
                    login,
                    before,
                )
                .unwrap()
                .0
        };
        let mut laptop = bind("laptop", password_login());
        let mut phone = bind("phone", fast.clone());
        let mut tablet = bind("tablet", password_login());
        assert_eq!(router.sessions(&alice).len(), 3);

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
        // The client's login that authenticated before cannot bind after.
        assert_eq!(
            router
                .bind(full("alice@example.test/phone2"), fast.clone(), before)
                .err(),
            Some(BindError::AccessEnded(CloseReason::ClientRevoked))
        );

        // A password change from the laptop ends every other session.
        let laptop_jid = full("alice@example.test/laptop");
        let ended = router.end(
            &alice,
            SessionFilter::AllExcept(Some(laptop_jid.clone())),
            SessionEnd::PasswordChanged,
        );
        assert_eq!(ended, 1, "the tablet; the phone was ending already");
        assert!(matches!(
            tablet.recv().await,
            Outbound::Close(CloseReason::PasswordChanged)
        ));
        assert!(laptop.try_recv().is_none(), "the laptop keeps running");
        // An older login cannot bind, not even as the spared laptop.
        assert_eq!(
            router.bind(laptop_jid, password_login(), before).err(),
            Some(BindError::AccessEnded(CloseReason::PasswordChanged))
        );
        assert_eq!(
            router.cut_off(&alice, None, before),
            Some(CloseReason::PasswordChanged)
        );
        // Logins after the cut-offs bind as usual.
        assert!(
            router
                .bind(full("alice@example.test/phone3"), fast, Instant::now())
                .is_ok()
        );
    }

    fn counts(router: &Router) -> Vec<(String, usize)> {
        let mut counts: Vec<_> = router.count_by_host().into_iter().collect();
        counts.sort();
        counts
    }

    #[test]
    fn sessions_are_counted_per_host_through_bind_replace_and_unbind() {
        let router = router(1 << 20, 10);
        let bind = |jid: &str| {
            router
                .bind(full(jid), password_login(), Instant::now())
                .unwrap()
                .0
        };
        let a = bind("alice@example.test/a");
        let b = bind("alice@example.test/b");
        let c = bind("carol@other.test/c");
        assert_eq!(
            counts(&router),
            [("example.test".into(), 2), ("other.test".into(), 1)]
        );
        let a2 = bind("alice@example.test/a");
        assert_eq!(counts(&router)[0], ("example.test".into(), 2), "replaced");
        router.unbind(&a.handle);
        assert_eq!(
            counts(&router)[0],
            ("example.test".into(), 2),
            "the replaced one was counted out already"
        );
        router.unbind(&a2.handle);
        router.unbind(&b.handle);
        router.unbind(&b.handle);
        assert_eq!(counts(&router), [("other.test".into(), 1)]);
        router.unbind(&c.handle);
        assert!(counts(&router).is_empty());
    }

    #[tokio::test]
    async fn an_admin_closes_sessions_in_scope_with_a_text_and_no_cutoff() {
        let router = router(1 << 20, 10);
        let before = Instant::now();
        let bind = |jid: &str| router.bind(full(jid), password_login(), before).unwrap().0;
        let mut phone = bind("alice@example.test/phone");
        let mut laptop = bind("alice@example.test/laptop");
        let mut bob = bind("bob@example.test/x");
        let phone_jid = full("alice@example.test/phone");
        let scope = SessionScope::Session(phone_jid.clone());
        assert_eq!(router.details(&scope).len(), 1);
        assert_eq!(router.close(&scope, "go away"), 1);
        let Outbound::Close(reason) = phone.recv().await else {
            panic!("not closed");
        };
        assert_eq!(
            phone.handle.close_error(reason),
            ("policy-violation", "go away")
        );
        assert_eq!(router.close(&scope, "again"), 0, "already ending");
        assert!(laptop.try_recv().is_none());
        let alice = SessionScope::Account(BareJid::new("alice@example.test").unwrap());
        assert_eq!(router.close(&alice, "bye"), 1, "the laptop");
        assert!(matches!(
            laptop.recv().await,
            Outbound::Close(CloseReason::ByAdmin)
        ));
        assert!(bob.try_recv().is_none(), "another account's session stays");
        assert!(
            router.bind(phone_jid, password_login(), before).is_ok(),
            "a kicked client may log in again"
        );
        assert_eq!(
            router
                .details(&SessionScope::Host("example.test".into()))
                .len(),
            3,
            "the new phone, bob, and the laptop: ended sessions stay listed until their connections unbind"
        );
        assert!(
            router
                .details(&SessionScope::Host("other.test".into()))
                .is_empty()
        );
    }

    #[test]
    fn details_show_the_connection_and_when_the_client_last_spoke() {
        let router = router(1 << 20, 10);
        let login = SessionLogin {
            since: 1_000,
            ..password_login()
        };
        let (queue, _) = router
            .bind(full("alice@example.test/a"), login, Instant::now())
            .unwrap();
        let scope = SessionScope::All;
        let details = router.details(&scope).pop().unwrap();
        assert_eq!(details.last_active, 1_000, "its bind time at first");
        assert_eq!(details.connected.mechanism, "PLAIN");
        assert_eq!(details.session.jid, full("alice@example.test/a"));
        queue.handle.stanza_received();
        let spoke = router.details(&scope).pop().unwrap().last_active;
        assert!((spoke - crate::services::now()).abs() <= 1, "{spoke}");
    }
}
