//! How services see live XMPP sessions without calling a front door.
//!
//! Listing clients needs to know which are connected, and revoking a client
//! or changing a password must end sessions. The session table belongs to
//! the XMPP side (`xmpp/router.rs`), which implements [`SessionDirectory`];
//! roostd attaches it once at startup. Until then (and in unit tests of
//! services) there are no sessions.

use std::sync::{Arc, OnceLock};

use jid::{BareJid, FullJid};

use super::clients::{AuthMethod, ClientId};

/// One bound session as the services see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    pub jid: FullJid,
    /// The client the session is known by ([`super::Clients::record`]).
    pub client: ClientId,
    /// How it authenticated.
    pub method: AuthMethod,
}

/// Why services end sessions; the session is told in a stream error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEnd {
    /// The user or an admin revoked the client's access.
    ClientRevoked,
    /// The account's password changed.
    PasswordChanged,
}

/// The live sessions, as the XMPP side knows them.
pub trait SessionDirectory: Send + Sync + 'static {
    fn sessions(&self, user: &BareJid) -> Vec<LiveSession>;
    /// Ends the sessions of `user` that `which` selects (each gets a stream
    /// error saying why), returns how many. Also makes sure a login of that
    /// kind that authenticated before this call cannot bind afterwards.
    fn end(&self, user: &BareJid, which: &dyn Fn(&LiveSession) -> bool, why: SessionEnd) -> usize;
}

/// Set once at startup by roostd (the router implements the trait); with
/// none attached (unit tests) there are no sessions.
#[derive(Clone, Default)]
pub struct Sessions(Arc<OnceLock<Arc<dyn SessionDirectory>>>);

impl Sessions {
    /// Attaches the directory; a second call is ignored (there is one
    /// session table per process).
    pub fn attach(&self, directory: Arc<dyn SessionDirectory>) {
        if self.0.set(directory).is_err() {
            tracing::warn!("a second session directory was attached and ignored");
        }
    }

    pub fn sessions(&self, user: &BareJid) -> Vec<LiveSession> {
        self.0.get().map_or_else(Vec::new, |d| d.sessions(user))
    }

    pub fn end(
        &self,
        user: &BareJid,
        which: &dyn Fn(&LiveSession) -> bool,
        why: SessionEnd,
    ) -> usize {
        self.0.get().map_or(0, |d| d.end(user, which, why))
    }
}

/// A directory for tests of services: sessions are added by hand, and
/// ending one removes it and remembers why.
#[cfg(test)]
pub mod fake {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    pub struct FakeDirectory {
        pub live: Mutex<Vec<LiveSession>>,
        pub ended: Mutex<Vec<(LiveSession, SessionEnd)>>,
    }

    impl FakeDirectory {
        pub fn add(&self, jid: &str, client: &str, method: AuthMethod) {
            self.live.lock().unwrap().push(LiveSession {
                jid: FullJid::new(jid).unwrap(),
                client: ClientId::parse(client).unwrap(),
                method,
            });
        }
    }

    impl SessionDirectory for FakeDirectory {
        fn sessions(&self, user: &BareJid) -> Vec<LiveSession> {
            let live = self.live.lock().unwrap();
            live.iter()
                .filter(|s| s.jid.to_bare() == *user)
                .cloned()
                .collect()
        }

        fn end(
            &self,
            user: &BareJid,
            which: &dyn Fn(&LiveSession) -> bool,
            why: SessionEnd,
        ) -> usize {
            let mut live = self.live.lock().unwrap();
            let (ended, kept): (Vec<_>, Vec<_>) = live
                .drain(..)
                .partition(|s| s.jid.to_bare() == *user && which(s));
            *live = kept;
            let count = ended.len();
            self.ended
                .lock()
                .unwrap()
                .extend(ended.into_iter().map(|s| (s, why)));
            count
        }
    }
}
