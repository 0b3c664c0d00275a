//! Accounts: create, list, delete, change passwords and roles; and the
//! lookups authentication needs (SCRAM credentials, a PLAIN password check).
//!
//! A password is never stored: only SCRAM-SHA-1 and SCRAM-SHA-256
//! credentials derived from it (both, so clients that know only SHA-1 can
//! log in). Deriving them is PBKDF2 with `auth.scram_iterations` rounds,
//! deliberately slow, so it runs on tokio's blocking pool: never on the
//! storage thread, which would stall every other write, nor on a runtime
//! worker.
//!
//! It also keeps the secret that SCRAM decoy salts for unknown users are
//! derived from (`accounts/decoy_secret.rs`), so they stay the same across
//! restarts.

use std::sync::Arc;

use jid::BareJid;
use rand::RngCore as _;
use roost_common::config::Config;
use rusqlite::{Connection, OptionalExtension as _, params};

pub use roost_common::admin::Role;

use super::audit::{self, Actor, Audit, AuditAction, Entry};
use super::secret_file::{SecretCell, SecretFileError};
use super::sessions::LiveSession;
use super::{Hosts, ServiceError, now};
use crate::storage::{Db, StorageError};
use roost_sasl::{DECOY_SECRET_LEN, SALT_LEN, ScramCredentials, ScramHash};

/// The hashes credentials are stored for.
const HASHES: [ScramHash; 2] = [ScramHash::Sha1, ScramHash::Sha256];

/// One account as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    pub jid: BareJid,
    pub role: Role,
    /// Unix seconds.
    pub created_at: i64,
}

#[derive(Clone)]
pub struct Accounts {
    db: Db,
    hosts: Hosts,
    config: Arc<Config>,
    events: super::events::Events,
    /// Password changes forget password use and end sessions there.
    clients: super::Clients,
    audit: Audit,
    /// Loaded on first need, from the data directory.
    decoy_secret: Arc<SecretCell<DECOY_SECRET_LEN>>,
}

impl Accounts {
    pub fn new(
        db: Db,
        hosts: Hosts,
        config: Arc<Config>,
        events: super::events::Events,
        clients: super::Clients,
        audit: Audit,
    ) -> Accounts {
        Accounts {
            db,
            hosts,
            config,
            events,
            clients,
            audit,
            decoy_secret: Arc::default(),
        }
    }

    /// The secret SCRAM decoy salts are derived from: the same across
    /// restarts (kept in the data directory, see `decoy_secret.rs`).
    pub async fn decoy_secret(&self) -> Result<[u8; DECOY_SECRET_LEN], SecretFileError> {
        let path = self.config.data_dir.join(decoy_secret::FILE_NAME);
        self.decoy_secret.get(path, decoy_secret::IF_REMOVED).await
    }

    /// Reads an account's JID as typed: `user@host` with a host we serve,
    /// normalised (nodeprep of the local part, lower-case host).
    pub fn parse_jid(&self, jid: &str) -> Result<BareJid, ServiceError> {
        let parsed = BareJid::new(jid)
            .map_err(|e| ServiceError::Invalid(format!("'{jid}' is not a valid JID: {e}")))?;
        let Some(node) = parsed.node() else {
            return Err(ServiceError::Invalid(format!(
                "'{jid}' names no user; write user@host"
            )));
        };
        let host = self.hosts.resolve(parsed.domain().as_str())?;
        BareJid::new(&format!("{node}@{host}"))
            .map_err(|e| ServiceError::Invalid(format!("'{jid}' is not a valid JID: {e}")))
    }

    /// Creates an account with credentials for `password`; returns its JID.
    pub async fn create(
        &self,
        actor: &Actor,
        jid: &str,
        password: &str,
        role: Role,
    ) -> Result<BareJid, ServiceError> {
        let result = self.create_checked(actor, jid, password, role).await;
        self.audit
            .settle(result, || {
                Entry::new(actor, AuditAction::AccountCreate).jid(jid)
            })
            .await
    }

    async fn create_checked(
        &self,
        actor: &Actor,
        jid: &str,
        password: &str,
        role: Role,
    ) -> Result<BareJid, ServiceError> {
        let jid = self.parse_jid(jid)?;
        // Refusing a duplicate before PBKDF2 answers at once; the insert
        // below still catches a race.
        if self.exists(&jid).await? {
            return Err(conflict(&jid));
        }
        let credentials = self.derive(password).await?;
        let created = jid.clone();
        let recorded = Entry::new(actor, AuditAction::AccountCreate)
            .jid(&jid)
            .detail(format!("role={role}"));
        self.db
            .call(move |conn| -> Result<(), ServiceError> {
                if insert(conn, &created, role, &credentials)? {
                    audit::insert(conn, &recorded)
                } else {
                    Err(conflict(&created))
                }
            })
            .await?;
        Ok(jid)
    }

    /// Replaces the account's credentials with ones for `password`. What
    /// the old password gave is taken back: in the same storage job every
    /// client's password use is forgotten (a client that only knew the old
    /// one drops from the list) but `keep`'s, the session that changed it
    /// in-band and so knows the new one; every FAST token is superseded
    /// (using one says credentials-expired); and the time is recorded, so
    /// that a login that began before gets no token after. Once committed,
    /// every other session ends.
    pub async fn set_password(
        &self,
        actor: &Actor,
        jid: &str,
        password: &str,
        keep: Option<&LiveSession>,
    ) -> Result<(), ServiceError> {
        let result = self.set_password_checked(actor, jid, password, keep).await;
        self.audit
            .settle(result, || {
                Entry::new(actor, AuditAction::AccountPassword).jid(jid)
            })
            .await
    }

    async fn set_password_checked(
        &self,
        actor: &Actor,
        jid: &str,
        password: &str,
        keep: Option<&LiveSession>,
    ) -> Result<(), ServiceError> {
        let jid = self.parse_jid(jid)?;
        if !self.exists(&jid).await? {
            return Err(ServiceError::NotFound("account"));
        }
        let credentials = self.derive(password).await?;
        let (host, username) = key(&jid);
        let keep_client = keep.map(|s| s.client.clone());
        let recorded = Entry::new(actor, AuditAction::AccountPassword).jid(&jid);
        self.db
            .call(move |conn| -> Result<(), ServiceError> {
                if !account_exists(conn, &host, &username)? {
                    return Err(ServiceError::NotFound("account"));
                }
                store_credentials(conn, &host, &username, &credentials)?;
                conn.prepare_cached(
                    "UPDATE accounts SET password_changed_ms = ?3 WHERE host = ?1 AND username = ?2",
                )?
                .execute(params![host, username, super::now_ms()])?;
                let account = (host, username);
                super::clients::store::forget_password_use(conn, &account, keep_client.as_ref())?;
                super::fast_tokens::store::supersede_all(conn, &account.0, &account.1)?;
                audit::insert(conn, &recorded)
            })
            .await?;
        self.clients
            .password_changed(&jid, keep.map(|s| s.jid.clone()));
        Ok(())
    }

    /// Deletes the account; its credentials, roster, pending subscription
    /// requests, offline messages, clients and FAST tokens go with it
    /// (foreign keys cascade). Its sessions are ended by the front doors
    /// listening to [`super::events`].
    pub async fn delete(&self, actor: &Actor, jid: &str) -> Result<(), ServiceError> {
        let result = self.delete_checked(actor, jid).await;
        self.audit
            .settle(result, || {
                Entry::new(actor, AuditAction::AccountDelete).jid(jid)
            })
            .await
    }

    async fn delete_checked(&self, actor: &Actor, jid: &str) -> Result<(), ServiceError> {
        let jid = self.parse_jid(jid)?;
        let (host, username) = key(&jid);
        let recorded = Entry::new(actor, AuditAction::AccountDelete).jid(&jid);
        self.db
            .call(move |conn| -> Result<(), ServiceError> {
                let deleted = conn.execute(
                    "DELETE FROM accounts WHERE host = ?1 AND username = ?2",
                    params![host, username],
                )?;
                if deleted == 0 {
                    return Err(ServiceError::NotFound("account"));
                }
                audit::insert(conn, &recorded)
            })
            .await?;
        self.clients.forget(&jid);
        self.events.emit(super::events::AccountEvent::Deleted(jid));
        Ok(())
    }

    /// The host's accounts, by JID.
    pub async fn list(&self, host: &str) -> Result<Vec<AccountInfo>, ServiceError> {
        let host = self.hosts.resolve(host)?;
        let rows = self
            .db
            .call(
                move |conn| -> Result<Vec<(String, String, i64)>, ServiceError> {
                    let mut st = conn.prepare(
                        "SELECT username, role, created_at FROM accounts
                     WHERE host = ?1 ORDER BY username",
                    )?;
                    let rows = st
                        .query_map(params![host.as_str()], |r| {
                            Ok((
                                format!("{}@{host}", r.get::<_, String>(0)?),
                                r.get(1)?,
                                r.get(2)?,
                            ))
                        })?
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(rows)
                },
            )
            .await?;
        rows.into_iter()
            .map(|(jid, role, created_at)| {
                Ok(AccountInfo {
                    jid: BareJid::new(&jid).map_err(|e| corrupt(&jid, &e.to_string()))?,
                    role: stored_role(&role)?,
                    created_at,
                })
            })
            .collect()
    }

    pub async fn exists(&self, jid: &BareJid) -> Result<bool, ServiceError> {
        Ok(self.role(jid).await?.is_some())
    }

    /// The account's role; `None` when there is no such account.
    pub async fn role(&self, jid: &BareJid) -> Result<Option<Role>, ServiceError> {
        let (host, username) = key(jid);
        let role = self
            .db
            .call(move |conn| -> Result<Option<String>, ServiceError> {
                Ok(conn
                    .prepare_cached("SELECT role FROM accounts WHERE host = ?1 AND username = ?2")?
                    .query_row(params![host, username], |r| r.get(0))
                    .optional()?)
            })
            .await?;
        role.as_deref().map(stored_role).transpose()
    }

    pub async fn set_role(&self, actor: &Actor, jid: &str, role: Role) -> Result<(), ServiceError> {
        let result = self.set_role_checked(actor, jid, role).await;
        self.audit
            .settle(result, || {
                Entry::new(actor, AuditAction::AccountRole)
                    .jid(jid)
                    .detail(format!("role={role}"))
            })
            .await
    }

    async fn set_role_checked(
        &self,
        actor: &Actor,
        jid: &str,
        role: Role,
    ) -> Result<(), ServiceError> {
        let jid = self.parse_jid(jid)?;
        let recorded = Entry::new(actor, AuditAction::AccountRole)
            .jid(&jid)
            .detail(format!("role={role}"));
        let (host, username) = key(&jid);
        self.db
            .call(move |conn| -> Result<(), ServiceError> {
                let updated = conn.execute(
                    "UPDATE accounts SET role = ?3 WHERE host = ?1 AND username = ?2",
                    params![host, username, role.as_str()],
                )?;
                if updated == 0 {
                    return Err(ServiceError::NotFound("account"));
                }
                audit::insert(conn, &recorded)
            })
            .await
    }

    /// The account's credentials for `hash`; `None` when there is no such
    /// account (or it has none for this hash).
    pub async fn scram_credentials(
        &self,
        jid: &BareJid,
        hash: ScramHash,
    ) -> Result<Option<ScramCredentials>, ServiceError> {
        let (host, username) = key(jid);
        self.db
            .call(move |conn| -> Result<_, ServiceError> {
                Ok(conn
                    .prepare_cached(
                        "SELECT salt, iterations, stored_key, server_key FROM scram_credentials
                         WHERE host = ?1 AND username = ?2 AND mechanism = ?3",
                    )?
                    .query_row(params![host, username, hash.name()], |r| {
                        Ok(ScramCredentials {
                            salt: r.get(0)?,
                            iterations: r.get(1)?,
                            stored_key: r.get(2)?,
                            server_key: r.get(3)?,
                        })
                    })
                    .optional()?)
            })
            .await
    }

    /// Whether `password` is the account's (for PLAIN). An unknown account
    /// costs as much time as a wrong password, so timing does not tell
    /// which accounts exist.
    pub async fn verify_plain(&self, jid: &BareJid, password: &str) -> Result<bool, ServiceError> {
        let mut found = None;
        for hash in [ScramHash::Sha256, ScramHash::Sha1] {
            if let Some(credentials) = self.scram_credentials(jid, hash).await? {
                found = Some((hash, credentials));
                break;
            }
        }
        let password = password.to_owned();
        let iterations = self.config.auth.scram_iterations;
        off_runtime(move || match found {
            Some((hash, credentials)) => credentials.verify_plain(hash, &password),
            None => {
                let _ = ScramCredentials::derive(
                    ScramHash::Sha256,
                    &password,
                    &[0; SALT_LEN],
                    iterations,
                );
                false
            }
        })
        .await
    }

    /// Credentials for every stored hash, each with its own random salt.
    pub(crate) async fn derive(&self, password: &str) -> Result<Credentials, ServiceError> {
        let password = password.to_owned();
        let iterations = self.config.auth.scram_iterations;
        off_runtime(move || {
            HASHES
                .into_iter()
                .map(|hash| {
                    let mut salt = [0u8; SALT_LEN];
                    rand::rng().fill_bytes(&mut salt);
                    ScramCredentials::derive(hash, &password, &salt, iterations)
                        .map(|credentials| (hash, credentials))
                        .map_err(|e| ServiceError::Invalid(e.to_string()))
                })
                .collect()
        })
        .await?
    }
}

/// Runs CPU-heavy `work` on tokio's blocking pool.
async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ServiceError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => Ok(value),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only a runtime that is shutting down cancels a blocking task, and
        // storage closes with it.
        Err(_) => Err(StorageError::Closed.into()),
    }
}

/// The primary key of an account: (host, username). A JID without a local
/// part matches no account.
fn key(jid: &BareJid) -> (String, String) {
    (
        jid.domain().as_str().to_owned(),
        jid.node()
            .map_or_else(String::new, |n| n.as_str().to_owned()),
    )
}

fn conflict(jid: &BareJid) -> ServiceError {
    ServiceError::Conflict(format!("account {jid}"))
}

/// Credentials for every stored hash, as [`Accounts::derive`] makes them.
pub(crate) type Credentials = Vec<(ScramHash, ScramCredentials)>;

/// Creates the account `jid` with `credentials`; `false` when it exists
/// already. On the storage thread, so that other writes can join the same
/// transaction (an invite's use, roster items).
pub(crate) fn insert(
    conn: &Connection,
    jid: &BareJid,
    role: Role,
    credentials: &Credentials,
) -> Result<bool, ServiceError> {
    let (host, username) = key(jid);
    let inserted = conn
        .prepare_cached(
            "INSERT INTO accounts (host, username, role, created_at)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        )?
        .execute(params![host, username, role.as_str(), now()])?;
    if inserted == 0 {
        return Ok(false);
    }
    store_credentials(conn, &host, &username, credentials)?;
    Ok(true)
}

fn account_exists(conn: &Connection, host: &str, username: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM accounts WHERE host = ?1 AND username = ?2")?
        .query_row(params![host, username], |_| Ok(()))
        .optional()
        .map(|found| found.is_some())
}

fn store_credentials(
    conn: &Connection,
    host: &str,
    username: &str,
    credentials: &[(ScramHash, ScramCredentials)],
) -> Result<(), ServiceError> {
    let mut st = conn.prepare_cached(
        "INSERT INTO scram_credentials
             (host, username, mechanism, salt, iterations, stored_key, server_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (host, username, mechanism) DO UPDATE SET
             salt = excluded.salt, iterations = excluded.iterations,
             stored_key = excluded.stored_key, server_key = excluded.server_key",
    )?;
    for (hash, c) in credentials {
        st.execute(params![
            host,
            username,
            hash.name(),
            c.salt,
            c.iterations,
            c.stored_key,
            c.server_key
        ])?;
    }
    Ok(())
}

fn stored_role(name: &str) -> Result<Role, ServiceError> {
    Role::from_name(name).ok_or_else(|| corrupt(name, "not a role"))
}

/// A stored value that the schema should have made impossible.
fn corrupt(value: &str, problem: &str) -> ServiceError {
    StorageError::Sqlite(format!("stored value '{value}' is invalid: {problem}")).into()
}

pub mod decoy_secret;
#[cfg(test)]
mod tests;
