//! The service layer: every rule of Roost and all access to storage.
//!
//! Front doors (HTTP, admin socket, later XMPP) parse their input, call one
//! method here and format the answer; they never touch the database and
//! never re-implement a rule. Errors are [`ServiceError`]s, which each front
//! door maps to its wire form in one place.

pub mod accounts;
pub mod api_keys;
pub mod archive;
pub mod audit;
pub mod auth_limits;
pub mod backup;
pub mod clients;
pub mod events;
pub mod fast_tokens;
pub mod invites;
pub mod offline;
pub mod onboarding;
pub mod registration_limits;
pub mod roster_delegation;
pub mod rosters;
pub mod secret_file;
pub mod secrets;
pub mod sessions;
pub mod status;
#[cfg(test)]
mod testing;

use std::sync::Arc;

use roost_common::config::Config;
use roost_common::jid::DomainName;

use crate::metrics::Metrics;
use crate::storage::{Db, StorageError};

pub use accounts::Accounts;
pub use api_keys::ApiKeys;
pub use archive::Archive;
pub use audit::Audit;
pub use auth_limits::AuthLimiter;
pub use backup::Backups;
pub use clients::Clients;
pub use fast_tokens::FastTokens;
pub use invites::Invites;
pub use offline::Offline;
pub use onboarding::Onboarding;
pub use roster_delegation::RosterDelegation;
pub use rosters::Rosters;
pub use sessions::Sessions;
pub use sessions::admin::SessionAdmin;
pub use status::ServerStatus;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Invalid(String),
    #[error("unknown host '{0}'")]
    UnknownHost(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The thing to create exists already.
    #[error("{0} already exists")]
    Conflict(String),
    /// A credential was missing, malformed, unknown, expired or wrong.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The credential is valid but not for this.
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Everything the front doors may call.
#[derive(Clone)]
pub struct Services {
    pub hosts: Hosts,
    pub accounts: Accounts,
    pub auth_limits: AuthLimiter,
    pub api_keys: ApiKeys,
    /// The audit log (issue 12).
    pub audit: Audit,
    pub invites: Invites,
    pub rosters: Rosters,
    pub roster_delegation: RosterDelegation,
    pub offline: Offline,
    /// The message archive (issue 13, XEP-0313).
    pub archive: Archive,
    pub onboarding: Onboarding,
    pub events: events::Events,
    pub clients: Clients,
    pub fast_tokens: FastTokens,
    pub backups: Backups,
    /// The live XMPP sessions, attached by roostd at startup.
    pub sessions: Sessions,
    /// Issue 12: `roostctl status`, and the sessions as admins list and end them.
    pub status: ServerStatus,
    pub session_admin: SessionAdmin,
    /// What the front doors count for the metrics endpoint.
    pub metrics: Arc<Metrics>,
}

impl Services {
    /// Fails when a roster service's configured files cannot be read.
    pub fn new(
        db: Db,
        config: Arc<Config>,
        metrics: Arc<Metrics>,
    ) -> Result<Services, roster_delegation::backend::SetupError> {
        let hosts = Hosts(config.clone());
        let database = config.database_path();
        let events = events::Events::default();
        let sessions = Sessions::default();
        let audit = Audit::new(db.clone(), hosts.clone());
        let clients = Clients::new(db.clone(), config.clone(), sessions.clone(), audit.clone());
        let fast_tokens = FastTokens::new(db.clone(), config.clone(), clients.clone());
        let accounts = Accounts::new(
            db.clone(),
            hosts.clone(),
            config.clone(),
            events.clone(),
            clients.clone(),
            audit.clone(),
        );
        let auth_limits = AuthLimiter::new(&config.auth).with_audit(audit.clone());
        let status = ServerStatus::new(db.clone(), config.clone(), sessions.clone());
        let session_admin = SessionAdmin::new(hosts.clone(), sessions.clone(), audit.clone());
        let roster_delegation = RosterDelegation::new(
            db.clone(),
            &config,
            events.clone(),
            sessions.clone(),
            audit.clone(),
        )?;
        let rosters = Rosters::new(db.clone(), &config);
        let archive = Archive::new(
            db.clone(),
            config.clone(),
            hosts.clone(),
            audit.clone(),
            &events,
        );
        let invites = Invites::new(
            db.clone(),
            hosts.clone(),
            accounts.clone(),
            config.clone(),
            audit.clone(),
        );
        let onboarding = Onboarding::new(
            db.clone(),
            hosts.clone(),
            accounts.clone(),
            invites.clone(),
            config,
            events.clone(),
            audit.clone(),
        );
        Ok(Services {
            onboarding,
            accounts,
            auth_limits,
            rosters,
            roster_delegation,
            offline: Offline::new(db.clone()),
            archive,
            api_keys: ApiKeys::new(db, hosts.clone(), invites.clone(), audit.clone()),
            backups: Backups::new(&database, audit.clone()),
            audit,
            hosts,
            invites,
            events,
            clients,
            fast_tokens,
            sessions,
            status,
            session_admin,
            metrics,
        })
    }
}

/// The configured virtual hosts: the one place that turns a host name typed
/// by someone into a host we serve.
#[derive(Clone)]
pub struct Hosts(Arc<Config>);

impl Hosts {
    /// The served hosts' names, in configuration order.
    pub fn names(&self) -> Vec<String> {
        self.0.hosts.iter().map(ToString::to_string).collect()
    }

    pub fn serves(&self, host: &DomainName) -> bool {
        self.0.serves(host)
    }

    pub fn resolve(&self, name: &str) -> Result<DomainName, ServiceError> {
        let host =
            DomainName::parse(name).map_err(|_| ServiceError::UnknownHost(name.to_owned()))?;
        if self.0.serves(&host) {
            Ok(host)
        } else {
            Err(ServiceError::UnknownHost(name.to_owned()))
        }
    }
}

/// The current time in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The current time in Unix milliseconds: for ordering events that may
/// fall in one second (a login and a password change).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl From<rusqlite::Error> for ServiceError {
    fn from(e: rusqlite::Error) -> Self {
        ServiceError::Storage(e.into())
    }
}
