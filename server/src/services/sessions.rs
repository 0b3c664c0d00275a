//! How services see live XMPP sessions without calling a front door: the
//! router implements [`SessionDirectory`] and roostd attaches it at start.
//! With none attached (unit tests) there are no sessions.

use std::sync::{Arc, OnceLock};

use jid::{BareJid, FullJid};

use super::clients::{AuthMethod, ClientId};

/// A bound session as services see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    pub jid: FullJid,
    pub client: ClientId,
    pub method: AuthMethod,
    /// When it bound, Unix seconds.
    pub since: i64,
}

/// Which sessions of an account to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionFilter {
    /// Every session of one client.
    Client(ClientId),
    /// Every session but this one (the one that changed the password).
    AllExcept(Option<FullJid>),
}

impl SessionFilter {
    pub fn selects(&self, session: &LiveSession) -> bool {
        match self {
            SessionFilter::Client(client) => session.client == *client,
            SessionFilter::AllExcept(keep) => Some(&session.jid) != keep.as_ref(),
        }
    }

    /// The filter for logins still to bind: the spared session is bound
    /// already, and its JID must be no way back in for an older login.
    pub fn for_later_logins(&self) -> SessionFilter {
        match self {
            SessionFilter::Client(_) => self.clone(),
            SessionFilter::AllExcept(_) => SessionFilter::AllExcept(None),
        }
    }

    /// Whether a login by `client` (`None`: a legacy login whose client is
    /// not known before it binds) is selected, once [`Self::for_later_logins`].
    pub fn selects_login(&self, client: Option<&ClientId>) -> bool {
        match self {
            SessionFilter::Client(id) => client == Some(id),
            SessionFilter::AllExcept(_) => true,
        }
    }
}

/// Why sessions are ended, which the client is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    ClientRevoked,
    PasswordChanged,
}

pub trait SessionDirectory: Send + Sync + 'static {
    fn sessions(&self, user: &BareJid) -> Vec<LiveSession>;
    /// Ends the sessions of `user` that `which` selects, each with a
    /// stream error saying `why`, and keeps logins of that kind that
    /// authenticated before this call from binding afterwards. Returns
    /// how many sessions it ended.
    fn end(&self, user: &BareJid, which: SessionFilter, why: SessionEnd) -> usize;
}

/// The directory, once attached.
#[derive(Clone, Default)]
pub struct Sessions(Arc<OnceLock<Arc<dyn SessionDirectory>>>);

impl Sessions {
    /// Attaches the directory; later calls are ignored.
    pub fn attach(&self, directory: Arc<dyn SessionDirectory>) {
        let _ = self.0.set(directory);
    }

    pub fn sessions(&self, user: &BareJid) -> Vec<LiveSession> {
        self.0.get().map(|d| d.sessions(user)).unwrap_or_default()
    }

    pub fn end(&self, user: &BareJid, which: SessionFilter, why: SessionEnd) -> usize {
        self.0.get().map_or(0, |d| d.end(user, which, why))
    }
}
