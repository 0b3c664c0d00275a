//! How services see live XMPP sessions without calling a front door: the
//! router implements [`SessionDirectory`] and roostd attaches it at start.
//! With none attached (unit tests) there are no sessions.
//!
//! [`admin`] is what `roostctl c2s list` and `c2s close` call.

pub mod admin;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use jid::{BareJid, FullJid};

use super::clients::{AuthMethod, ClientId, UserAgent};

/// A bound session as services see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    pub jid: FullJid,
    pub client: ClientId,
    pub method: AuthMethod,
    /// When it bound, Unix seconds.
    pub since: i64,
}

/// Where and how a session connected, as admins see it (`c2s list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    /// The client's address.
    pub peer: SocketAddr,
    /// `TLSv1.3`, `TLSv1.2`; `None` in plain text.
    pub tls: Option<&'static str>,
    /// The SASL mechanism it logged in with.
    pub mechanism: &'static str,
    /// What the client said it is (SASL2); empty for legacy SASL.
    pub agent: UserAgent,
}

/// A bound session with where it came from and when it last spoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDetails {
    pub session: LiveSession,
    pub connected: Arc<Connected>,
    /// When the client last sent a stanza (its bind time before the first),
    /// Unix seconds, to a few milliseconds.
    pub last_active: i64,
    /// Waiting for its client to resume it (XEP-0198).
    pub hibernated: bool,
}

/// Which sessions an admin means: every one, a host's, an account's or one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionScope {
    All,
    Host(String),
    Account(BareJid),
    Session(FullJid),
}

impl SessionScope {
    /// Whether the session bound to `jid` is in scope.
    pub fn selects(&self, jid: &FullJid) -> bool {
        match self {
            SessionScope::All => true,
            SessionScope::Host(host) => jid.domain().as_str() == host,
            SessionScope::Account(bare) => jid.to_bare() == *bare,
            SessionScope::Session(full) => jid == full,
        }
    }

    /// The one account the scope lies within, when it does: the directory
    /// then looks at that account's sessions only.
    pub fn account(&self) -> Option<BareJid> {
        match self {
            SessionScope::All | SessionScope::Host(_) => None,
            SessionScope::Account(bare) => Some(bare.clone()),
            SessionScope::Session(full) => Some(full.to_bare()),
        }
    }
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
    /// The sessions in `scope` with their details, walking the table.
    fn details(&self, scope: &SessionScope) -> Vec<SessionDetails>;
    /// Bound sessions per host, from counters kept at bind and unbind (no
    /// walk, so `status` may be asked often); hosts without any are absent.
    fn count_by_host(&self) -> HashMap<String, usize>;
    /// Ends the sessions in `scope`, each with a `policy-violation` stream
    /// error carrying `text`. Unlike [`Self::end`] nothing keeps their
    /// clients from logging in again. Returns how many it ended.
    fn close(&self, scope: &SessionScope, text: &str) -> usize;
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

    pub fn details(&self, scope: &SessionScope) -> Vec<SessionDetails> {
        self.0.get().map(|d| d.details(scope)).unwrap_or_default()
    }

    pub fn count_by_host(&self) -> HashMap<String, usize> {
        self.0.get().map(|d| d.count_by_host()).unwrap_or_default()
    }

    pub fn close(&self, scope: &SessionScope, text: &str) -> usize {
        self.0.get().map_or(0, |d| d.close(scope, text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_select_by_host_account_or_session() {
        let phone = FullJid::new("alice@example.com/phone").unwrap();
        let laptop = FullJid::new("alice@example.com/laptop").unwrap();
        let bob = FullJid::new("bob@example.org/phone").unwrap();
        let alice = BareJid::new("alice@example.com").unwrap();
        let selected = |scope: SessionScope| {
            [&phone, &laptop, &bob]
                .into_iter()
                .filter(|jid| scope.selects(jid))
                .map(|jid| jid.resource().as_str().to_owned() + "@" + jid.domain().as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(selected(SessionScope::All).len(), 3);
        assert_eq!(
            selected(SessionScope::Host("example.org".into())),
            ["phone@example.org"]
        );
        assert_eq!(
            selected(SessionScope::Account(alice.clone())),
            ["phone@example.com", "laptop@example.com"]
        );
        assert_eq!(
            selected(SessionScope::Session(laptop.clone())),
            ["laptop@example.com"]
        );
        assert_eq!(SessionScope::Session(laptop).account(), Some(alice.clone()));
        assert_eq!(SessionScope::Account(alice.clone()).account(), Some(alice));
        assert_eq!(SessionScope::Host("example.com".into()).account(), None);
    }
}
