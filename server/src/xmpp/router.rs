//! The session table: which resources of which accounts are connected, and
//! a handle to send each of them bytes. Shared by every connection.
//!
//! Stanzas travel between sessions already serialised ([`Bytes`]): the
//! sender serialises once, the receiving connection only writes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use jid::{BareJid, FullJid};
use tokio::sync::mpsc;

/// How many stanzas may wait for one slow client before it is disconnected.
pub const QUEUE_DEPTH: usize = 4096;

/// What a connection is told by others.
#[derive(Debug)]
pub enum Outbound {
    /// A serialised stanza to write.
    Stanza(Bytes),
    /// Another session bound the same full JID: close with `conflict`.
    Replaced,
    /// Close the stream with this stream error (condition, text).
    Close(&'static str, &'static str),
}

/// Presence facts about a session that routing needs.
#[derive(Debug, Clone, Default)]
pub struct Presence {
    /// Sent initial presence and not yet unavailable.
    pub available: bool,
    pub priority: i8,
    /// The last broadcast presence stanza (without `to`), answered to probes.
    pub last: Option<crate::xmpp::xml::Element>,
    /// Where directed presence was sent, to send them unavailable at the end.
    pub directed: Vec<jid::Jid>,
}

#[derive(Debug)]
pub struct SessionHandle {
    pub id: u64,
    pub jid: FullJid,
    tx: mpsc::Sender<Outbound>,
    presence: Mutex<Presence>,
    /// Asked for the roster, so wants roster pushes (RFC 6121 §2.1.6).
    roster_interest: std::sync::atomic::AtomicBool,
}

impl SessionHandle {
    /// Queues bytes for this session. A session whose queue is full is
    /// too slow to keep up: it is told to close rather than let memory grow.
    pub fn send(&self, bytes: Bytes) -> bool {
        match self.tx.try_send(Outbound::Stanza(bytes)) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!("{}: outbound queue full, dropping stanza", self.jid);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
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
    pub fn last_presence(&self) -> Option<crate::xmpp::xml::Element> {
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

#[derive(Default)]
pub struct Router {
    sessions: RwLock<HashMap<BareJid, Vec<Arc<SessionHandle>>>>,
    next_id: AtomicU64,
}

impl Router {
    /// Registers a session for `jid`. A session already bound to the same
    /// full JID is replaced (RFC 6120 §7.7.2.2, "override") and returned so
    /// the caller can close it.
    pub fn bind(
        &self,
        jid: FullJid,
        tx: mpsc::Sender<Outbound>,
    ) -> (Arc<SessionHandle>, Option<Arc<SessionHandle>>) {
        let handle = Arc::new(SessionHandle {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            jid: jid.clone(),
            tx,
            presence: Mutex::new(Presence::default()),
            roster_interest: false.into(),
        });
        let mut sessions = self.sessions.write().expect("router lock");
        let list = sessions.entry(jid.to_bare()).or_default();
        let replaced = list
            .iter()
            .position(|s| s.jid == jid)
            .map(|i| list.swap_remove(i));
        list.push(handle.clone());
        drop(sessions);
        if let Some(old) = &replaced {
            let _ = old.tx.try_send(Outbound::Replaced);
        }
        (handle, replaced)
    }

    /// Removes a session; a no-op if it was already replaced.
    pub fn unbind(&self, session: &SessionHandle) {
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

    /// Tells every session of `bare` to close with a stream error.
    pub fn close_all(&self, bare: &BareJid, condition: &'static str, text: &'static str) {
        for session in self.sessions_of(bare) {
            let _ = session.tx.try_send(Outbound::Close(condition, text));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn binding_the_same_full_jid_replaces_the_older_session() {
        let router = Router::default();
        let jid = FullJid::new("alice@example.test/phone").unwrap();
        let (tx1, mut rx1) = mpsc::channel(8);
        let (tx2, _rx2) = mpsc::channel(8);
        let (first, replaced) = router.bind(jid.clone(), tx1);
        assert!(replaced.is_none());
        let (second, replaced) = router.bind(jid.clone(), tx2);
        assert_eq!(replaced.unwrap().id, first.id);
        assert!(matches!(rx1.recv().await, Some(Outbound::Replaced)));
        assert_eq!(router.session(&jid).unwrap().id, second.id);
        router.unbind(&first);
        assert_eq!(
            router.session_count(),
            1,
            "unbinding the replaced one changes nothing"
        );
        router.unbind(&second);
        assert_eq!(router.session_count(), 0);
    }
}
