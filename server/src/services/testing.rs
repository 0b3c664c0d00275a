//! A temporary database with accounts, clients, FAST tokens and a fake
//! session directory, for the services' unit tests.

use std::sync::{Arc, Mutex};

use jid::{BareJid, FullJid};
use roost_common::config::{Config, Synchronous};
use roost_common::jid::DomainName;

use super::accounts::Role;
use super::audit::TEST_ADMIN;
use super::clients::{AuthMethod, ClientId, ClientLogin, UserAgent};
use super::sessions::{
    Connected, LiveSession, SessionDetails, SessionDirectory, SessionEnd, SessionFilter,
    SessionScope,
};
use super::{Accounts, Audit, Clients, FastTokens, Hosts, Sessions};
use crate::storage::{Db, DbThread};

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub db: Db,
    pub thread: Option<DbThread>,
    pub config: Arc<Config>,
    pub directory: Arc<FakeDirectory>,
    /// Attached to `directory`.
    pub sessions: Sessions,
    pub accounts: Accounts,
    pub clients: Clients,
    pub fast: FastTokens,
    pub audit: Audit,
}

/// A fixture with `alice@example.test` (password "pencil") and `configure`d options.
pub async fn fixture(configure: impl FnOnce(&mut Config)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (db, thread) = Db::open(&dir.path().join("t.sqlite3"), Synchronous::Normal).unwrap();
    let mut config = Config {
        data_dir: dir.path().to_owned(),
        hosts: vec![DomainName::parse("example.test").unwrap()],
        ..Config::default()
    };
    config.auth.scram_iterations = 4096;
    configure(&mut config);
    let config = Arc::new(config);
    let sessions = Sessions::default();
    let directory = Arc::new(FakeDirectory::default());
    sessions.attach(directory.clone());
    let audit = Audit::new(db.clone(), Hosts(config.clone()));
    let clients = Clients::new(db.clone(), config.clone(), sessions.clone(), audit.clone());
    let fast = FastTokens::new(db.clone(), config.clone(), clients.clone());
    let accounts = Accounts::new(
        db.clone(),
        Hosts(config.clone()),
        config.clone(),
        Default::default(),
        clients.clone(),
        audit.clone(),
    );
    accounts
        .create(&TEST_ADMIN, "alice@example.test", "pencil", Role::User)
        .await
        .unwrap();
    Fixture {
        dir,
        db,
        thread: Some(thread),
        config,
        directory,
        sessions,
        accounts,
        clients,
        fast,
        audit,
    }
}

pub fn alice() -> BareJid {
    BareJid::new("alice@example.test").unwrap()
}

pub fn full(resource: &str) -> FullJid {
    FullJid::new(&format!("alice@example.test/{resource}")).unwrap()
}

pub fn id(s: &str) -> ClientId {
    ClientId::parse(s).unwrap()
}

impl Fixture {
    /// Records a bind of alice's `resource` by `client` (None: legacy).
    pub async fn login(
        &self,
        client: Option<&str>,
        method: AuthMethod,
        resource: &str,
    ) -> ClientId {
        let client = client.map(id);
        let mechanism = match method {
            AuthMethod::Password => "SCRAM-SHA-256",
            AuthMethod::Fast => "HT-SHA-256-NONE",
        };
        self.clients
            .record(ClientLogin {
                user: &alice(),
                client: client.as_ref(),
                method,
                mechanism,
                agent: &UserAgent::default(),
                jid: &full(resource),
            })
            .await
            .unwrap()
    }

    /// Runs SQL against the database (to age tokens, or look at rows).
    pub async fn sql(&self, sql: &'static str) {
        self.db
            .call(move |c| -> Result<(), crate::storage::StorageError> {
                c.execute_batch(sql)?;
                Ok(())
            })
            .await
            .unwrap();
    }
}

/// A session table for tests: sessions are added by hand, and ending one
/// removes it and remembers why (closing one by an admin, with the text).
#[derive(Default)]
pub struct FakeDirectory {
    pub live: Mutex<Vec<LiveSession>>,
    pub ended: Mutex<Vec<(LiveSession, SessionEnd)>>,
    pub closed: Mutex<Vec<(FullJid, String)>>,
}

/// What every fake session says of its connection.
pub fn fake_connection() -> Connected {
    Connected {
        peer: "192.0.2.7:40000".parse().unwrap(),
        tls: Some("TLSv1.3"),
        mechanism: "SCRAM-SHA-256-PLUS",
        agent: UserAgent {
            software: Some("Conversations".into()),
            device: None,
        },
    }
}

impl FakeDirectory {
    pub fn add(&self, jid: &str, client: &str, method: AuthMethod) {
        self.live.lock().unwrap().push(LiveSession {
            jid: FullJid::new(jid).unwrap(),
            client: id(client),
            method,
            since: 1_700_000_000,
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

    fn end(&self, user: &BareJid, which: SessionFilter, why: SessionEnd) -> usize {
        let mut live = self.live.lock().unwrap();
        let (ended, kept): (Vec<_>, Vec<_>) = live
            .drain(..)
            .partition(|s| s.jid.to_bare() == *user && which.selects(s));
        *live = kept;
        let count = ended.len();
        self.ended
            .lock()
            .unwrap()
            .extend(ended.into_iter().map(|s| (s, why)));
        count
    }

    fn details(&self, scope: &SessionScope) -> Vec<SessionDetails> {
        let connected = Arc::new(fake_connection());
        let live = self.live.lock().unwrap();
        live.iter()
            .filter(|s| scope.selects(&s.jid))
            .map(|s| SessionDetails {
                session: s.clone(),
                connected: connected.clone(),
                last_active: s.since,
                hibernated: false,
            })
            .collect()
    }

    fn count_by_host(&self) -> std::collections::HashMap<String, usize> {
        let mut counts = std::collections::HashMap::new();
        for session in self.live.lock().unwrap().iter() {
            *counts.entry(session.jid.domain().to_string()).or_default() += 1;
        }
        counts
    }

    fn close(&self, scope: &SessionScope, text: &str) -> usize {
        let mut live = self.live.lock().unwrap();
        let (closed, kept): (Vec<_>, Vec<_>) = live.drain(..).partition(|s| scope.selects(&s.jid));
        *live = kept;
        let count = closed.len();
        self.closed
            .lock()
            .unwrap()
            .extend(closed.into_iter().map(|s| (s.jid, text.to_owned())));
        count
    }
}
