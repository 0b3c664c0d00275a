//! What the services tell the front doors about changes they did not ask
//! for: an admin deleting an account must end its XMPP sessions, but the
//! service layer knows nothing of sessions. Front doors subscribe.

use jid::BareJid;
use tokio::sync::broadcast;

use super::rosters::RosterPush;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountEvent {
    Deleted(BareJid),
    /// An invite was redeemed: roster changes to push, and perhaps a
    /// message for the inviter.
    InviteUsed(InviteUsed),
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

#[derive(Clone)]
pub struct Events {
    tx: broadcast::Sender<AccountEvent>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            tx: broadcast::channel(256).0,
        }
    }
}

impl Events {
    pub fn subscribe(&self) -> broadcast::Receiver<AccountEvent> {
        self.tx.subscribe()
    }

    /// Tells every subscriber; nobody listening is fine.
    pub fn emit(&self, event: AccountEvent) {
        let _ = self.tx.send(event);
    }
}
