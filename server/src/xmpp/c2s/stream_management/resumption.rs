//! Resumption ids and the hand-over of a session to the connection that
//! resumes it (XEP-0198 §5).
//!
//! Whoever holds a resumable session's state, its live connection or its
//! hibernation task, also holds its [`Resumable`]: the receiving end of
//! takeover requests. A resuming connection finds the id here and sends a
//! request naming the account (and client) it logged in as; the holder
//! hands the whole session ([`Detached`]) over only to its own. The id is forgotten when the `Resumable`
//! is dropped, which happens only when the session has ended for good.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jid::BareJid;
use tokio::sync::{Notify, oneshot};

use super::StreamManagement;
use crate::services::clients::ClientId;
use crate::services::secrets;
use crate::xmpp::router::{SessionHandle, SessionQueue};

/// Bytes of randomness in a resumption id: it is the only secret a
/// resuming connection shows besides logging in as the same account.
const ID_BYTES: usize = 18;

/// A session between connections: everything a connection holds of it.
pub struct Detached {
    pub session: Arc<SessionHandle>,
    pub queue: SessionQueue,
    pub sm: StreamManagement,
}

/// A request to hand a session over.
pub struct Takeover {
    /// The account the resuming connection logged in as.
    user: BareJid,
    /// The client it logged in with, when it named one (SASL2).
    client: Option<ClientId>,
    reply: oneshot::Sender<Detached>,
}

impl Takeover {
    /// Whether the request comes from `session`'s own account, and from
    /// its own client when the resuming login named one; any other (which
    /// learnt the id) is dropped unanswered, and the connection that sent
    /// it is told the id is not found.
    pub fn is_for(&self, session: &SessionHandle) -> bool {
        session.jid.to_bare() == self.user
            && self
                .client
                .as_ref()
                .is_none_or(|client| *client == session.login.client)
    }

    /// Gives the session to the resuming connection; back if it gave up.
    pub fn hand_over(self, session: Detached) -> Result<(), Box<Detached>> {
        self.reply.send(session).map_err(Box::new)
    }
}

/// The resumable sessions by id.
#[derive(Default)]
pub struct Resumptions {
    /// Only the slots: each session's account is checked by its holder,
    /// so the table costs no copy of every resumable session's JID.
    entries: Mutex<HashMap<Box<str>, Arc<Slot>>>,
}

/// Where a takeover request waits for the session's holder: one at a
/// time. Far smaller than a channel, which matters as every resumable
/// session, idle ones included, has one.
#[derive(Default)]
struct Slot {
    /// Boxed: the slot lives as long as its session, a request briefly.
    request: Mutex<Option<Box<Takeover>>>,
    /// Wakes the holder; keeps a permit if it is not waiting yet.
    posted: Notify,
}

impl Resumptions {
    /// A new id for a session.
    pub fn register(self: &Arc<Self>) -> Resumable {
        let id: Box<str> = secrets::random_id(ID_BYTES).into();
        let slot = Arc::new(Slot::default());
        self.entries
            .lock()
            .expect("resumptions lock")
            .insert(id.clone(), slot.clone());
        Resumable {
            id,
            slot,
            registry: self.clone(),
        }
    }

    /// Takes over the session `id` for a connection authenticated as
    /// `user`, waiting at most `wait` for its holder (a live connection
    /// may be in the middle of a write). `None` when there is no such
    /// session of that account, or its holder did not answer.
    pub async fn take_over(
        &self,
        id: &str,
        user: &BareJid,
        client: Option<&ClientId>,
        wait: Duration,
    ) -> Option<Detached> {
        let slot = self
            .entries
            .lock()
            .expect("resumptions lock")
            .get(id)?
            .clone();
        let (reply, mut answer) = oneshot::channel();
        {
            let mut request = slot.request.lock().expect("takeover slot");
            // Another connection is resuming it right now.
            if request.as_ref().is_some_and(|r| !r.reply.is_closed()) {
                return None;
            }
            *request = Some(Box::new(Takeover {
                user: user.clone(),
                client: client.cloned(),
                reply,
            }));
        }
        slot.posted.notify_one();
        match tokio::time::timeout(wait, &mut answer).await {
            Ok(answer) => answer.ok(),
            Err(_) => {
                // A session handed over just as the wait ended is taken,
                // not dropped with the channel.
                answer.close();
                answer.try_recv().ok()
            }
        }
    }
}

/// A resumable session's id and its takeover requests; the id is
/// forgotten when this is dropped.
pub struct Resumable {
    id: Box<str>,
    slot: Arc<Slot>,
    registry: Arc<Resumptions>,
}

impl Resumable {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The next takeover request.
    pub async fn requested(&mut self) -> Takeover {
        loop {
            self.slot.posted.notified().await;
            if let Some(request) = self.slot.request.lock().expect("takeover slot").take() {
                return *request;
            }
        }
    }
}

impl Drop for Resumable {
    /// The id is forgotten, and a request waiting in the slot is dropped:
    /// its connection learns at once that there is nothing to resume.
    fn drop(&mut self) {
        self.slot.request.lock().expect("takeover slot").take();
        self.registry
            .entries
            .lock()
            .expect("resumptions lock")
            .remove(&self.id);
    }
}
