//! What the services tell the front doors about changes they did not ask
//! for: an admin deleting an account must end its XMPP sessions, but the
//! service layer knows nothing of sessions. Front doors subscribe.

use std::sync::{Arc, Mutex};

use jid::{BareJid, FullJid};
use tokio::sync::mpsc;

use super::rosters::{ItemChange, RosterPush};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountEvent {
    Deleted(BareJid),
    /// An invite was redeemed: roster changes to push, and perhaps a
    /// message for the inviter.
    InviteUsed(InviteUsed),
    /// A roster service changed a user's roster (issue 10): pushes for the
    /// user's resources, and presence to start or stop between them and
    /// the contacts added or removed.
    RosterReplaced {
        user: BareJid,
        changes: Vec<(ItemChange, RosterPush)>,
        /// Sessions whose roster gets waited for this change: their answers
        /// carry the roster, so the pushes skip them.
        answering: Vec<FullJid>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteUsed {
    /// The local account that made the invite, when there is one.
    pub inviter: Option<BareJid>,
    /// Who used it.
    pub invitee: BareJid,
    /// The invitee registered with it (rather than adding a contact).
    pub registered: bool,
    /// Roster changes, per account.
    pub pushes: Vec<(BareJid, RosterPush)>,
    /// Tell the inviter (`invites.notify_inviter`).
    pub notify: bool,
}

/// What a subscriber reads events from.
pub type EventReceiver = mpsc::UnboundedReceiver<AccountEvent>;

/// Every event reaches every subscriber: a deletion that a busy subscriber
/// missed would leave a deleted account's sessions running, so there is no
/// lossy (broadcast) channel here. The queues are unbounded but small in
/// practice: events come from admin commands and redeemed invites (each
/// one use of an invite), and roostd's one subscriber handles them as they
/// come.
#[derive(Clone, Default)]
pub struct Events {
    subscribers: Arc<Mutex<Vec<mpsc::UnboundedSender<AccountEvent>>>>,
}

impl Events {
    pub fn subscribe(&self) -> EventReceiver {
        let (tx, rx) = mpsc::unbounded_channel();
        self.subscribers.lock().expect("events lock").push(tx);
        rx
    }

    /// Tells every subscriber; nobody listening is fine.
    pub fn emit(&self, event: AccountEvent) {
        let mut subscribers = self.subscribers.lock().expect("events lock");
        subscribers.retain(|tx| tx.send(event.clone()).is_ok());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscriber_that_falls_behind_loses_nothing() {
        let events = Events::default();
        let mut slow = events.subscribe();
        let deleted = |i: usize| BareJid::new(&format!("user{i}@example.test")).unwrap();
        // Far more than the 256 the old broadcast channel kept.
        for i in 0..5_000 {
            events.emit(AccountEvent::Deleted(deleted(i)));
        }
        for i in 0..5_000 {
            assert_eq!(
                slow.try_recv().ok(),
                Some(AccountEvent::Deleted(deleted(i)))
            );
        }
        assert!(slow.try_recv().is_err());
    }

    #[test]
    fn a_dropped_subscriber_is_forgotten() {
        let events = Events::default();
        drop(events.subscribe());
        let mut live = events.subscribe();
        let jid = BareJid::new("a@example.test").unwrap();
        events.emit(AccountEvent::Deleted(jid.clone()));
        assert_eq!(events.subscribers.lock().unwrap().len(), 1);
        assert_eq!(live.try_recv().ok(), Some(AccountEvent::Deleted(jid)));
    }
}
