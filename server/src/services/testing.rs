//! A temporary database with accounts, clients, FAST tokens and a fake
//! session directory, for the services' unit tests.

use std::sync::{Arc, Mutex};

use jid::{BareJid, FullJid};
use roost_common::config::{Config, Synchronous};
use roost_common::jid::DomainName;

use super::accounts::Role;
use super::audit::TEST_ADMIN;
use super::clients::{AuthMethod, ClientId, ClientLogin, UserAgent};
use super::sessions::{LiveSession, SessionDirectory, SessionEnd, SessionFilter};
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
/// removes it and remembers why.
#[derive(Default)]
pub struct FakeDirectory {
    pub live: Mutex<Vec<LiveSession>>,
    pub ended: Mutex<Vec<(LiveSession, SessionEnd)>>,
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
}
