//! What the services tell the front doors about changes they did not ask
//! for: an admin deleting an account must end its XMPP sessions, but the
//! service layer knows nothing of sessions. Front doors subscribe.

use jid::BareJid;
use tokio::sync::broadcast;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountEvent {
    Deleted(BareJid),
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
