//! Clients: every installation of an app that gained access to an account
//! (Prosody's mod_client_management over mod_tokenauth), for `user
//! clients` and the manage-clients protocol to list and revoke.
//!
//! A client is known by its SASL2 `<user-agent id>`; a legacy client (one
//! without) by the full JID it bound, under an id the server makes. A
//! record keeps first and last seen, when it last used the password and
//! FAST, and its user agent (from its first login). A client is *active*,
//! and listed, while it used the password since it last changed, or holds
//! a FAST token that works, or is connected. Revoking ends its sessions
//! and deletes its tokens; one that knows the password can only be kept
//! out by changing it, which the answer says.
//!
//! Beyond Prosody: records are bounded per account
//! (`limits.clients_per_account`), revoking a known but inactive client
//! succeeds with nothing to do instead of crashing, and a login written
//! less than a minute ago is not written again (`clients/throttle.rs`).

use std::sync::Arc;
use std::time::Instant;

use jid::{BareJid, FullJid};
use roost_common::admin::{ClientAuth, ClientInfo};
use roost_common::config::Config;

use super::sessions::{SessionEnd, SessionFilter, Sessions};
use super::{ServiceError, now};
use crate::storage::Db;

pub(crate) mod store;
mod throttle;

/// The longest software or device name kept, in characters.
const MAX_AGENT_LEN: usize = 256;

/// A client's id: its SASL2 `<user-agent id>` or a server-made legacy id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientId(String);

impl ClientId {
    /// 1 to 128 bytes, without control characters or white space (so it
    /// reads back the same from a table or a command line): the rule SASL2
    /// requests are read with.
    pub fn parse(s: &str) -> Option<ClientId> {
        roost_sasl::sasl2::is_client_id(s).then(|| ClientId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a session authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// With the account's password (SCRAM, PLAIN).
    Password,
    /// With a FAST token.
    Fast,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Password => "password",
            AuthMethod::Fast => "fast",
        }
    }
}

/// What a client says it is (SASL2 `<user-agent>`).
#[derive(Clone, Debug, Default)]
pub struct UserAgent {
    pub software: Option<String>,
    pub device: Option<String>,
}

/// A session that bound, as [`Clients::record`] takes it.
pub struct ClientLogin<'a> {
    pub user: &'a BareJid,
    /// The SASL2 `<user-agent id>`; `None` for a legacy login.
    pub client: Option<&'a ClientId>,
    pub method: AuthMethod,
    /// The SASL mechanism's name.
    pub mechanism: &'a str,
    pub agent: &'a UserAgent,
    /// The bound full JID.
    pub jid: &'a FullJid,
}

/// What revoking a client did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Revocation {
    pub sessions_ended: u32,
    pub fast_tokens_deleted: u32,
    /// The client used the password since it last changed: only a new
    /// password keeps it out.
    pub password_reset_required: bool,
}

#[derive(Clone)]
pub struct Clients {
    db: Db,
    config: Arc<Config>,
    sessions: Sessions,
    throttle: Arc<throttle::Throttle>,
}

impl Clients {
    pub fn new(db: Db, config: Arc<Config>, sessions: Sessions) -> Clients {
        Clients {
            db,
            config,
            sessions,
            throttle: Arc::default(),
        }
    }

    /// A session bound: creates or updates the client record and returns
    /// the id its session is known by (the SASL2 id, or for a legacy login
    /// the id of the legacy record with that full JID, else a new one).
    pub async fn record(&self, login: ClientLogin<'_>) -> Result<ClientId, ServiceError> {
        let key = throttle::key(login.user, login.client, login.method, login.jid);
        match (
            login.client,
            self.throttle.fresh(login.user, &key, Instant::now()),
        ) {
            (Some(id), Some(_)) => return Ok(id.clone()),
            (None, Some(Some(legacy))) => return Ok(legacy),
            _ => {}
        }
        let generation = self.throttle.generation(login.user);
        let row = store::LoginRow {
            client: login.client.cloned(),
            method: login.method,
            mechanism: login.mechanism.to_owned(),
            agent: UserAgent {
                software: login.agent.software.as_deref().map(trim),
                device: login.agent.device.as_deref().map(trim),
            },
            full_jid: login.jid.to_string(),
            now: now(),
        };
        let account = account(login.user);
        let cap = self.config.limits.clients_per_account;
        let connected = self.connected(login.user);
        let (id, trimmed) = self
            .db
            .call(move |conn| store::record(conn, &account, &row, cap, &connected))
            .await?;
        if trimmed {
            self.throttle.forget(login.user);
        }
        let legacy_id = login.client.is_none().then(|| id.clone());
        self.throttle
            .wrote(key, generation, legacy_id, Instant::now());
        Ok(id)
    }

    /// The account's active clients, least recently seen first.
    pub async fn list(&self, user: &BareJid) -> Result<Vec<ClientInfo>, ServiceError> {
        let account = account(user);
        let now = now();
        let stored = self
            .db
            .call(move |conn| store::all(conn, &account, now))
            .await?;
        let connected = self.connected(user);
        let mut clients: Vec<ClientInfo> = stored
            .into_iter()
            .filter_map(|c| {
                let is_connected = connected.contains(&c.id);
                let auth: Vec<ClientAuth> = [
                    (c.password_used, ClientAuth::Password),
                    (c.working_token, ClientAuth::Fast),
                ]
                .into_iter()
                .filter_map(|(has, auth)| has.then_some(auth))
                .collect();
                (is_connected || !auth.is_empty()).then(|| ClientInfo {
                    id: format!("client/{}", c.id),
                    software: c.agent.software,
                    device: c.agent.device,
                    first_seen: c.first_seen,
                    last_seen: c.last_seen,
                    auth,
                    connected: is_connected,
                    jid: c.full_jid,
                    legacy: c.legacy,
                })
            })
            .collect();
        clients.sort_by(|a, b| (a.last_seen, &a.id).cmp(&(b.last_seen, &b.id)));
        Ok(clients)
    }

    /// Revokes the client `selector` names (`client/ID`, as listed): ends
    /// its sessions and deletes its FAST tokens. `NotFound("client")` for
    /// an unknown client or another kind of selector; a known client that
    /// is not active has nothing to revoke.
    pub async fn revoke(&self, user: &BareJid, selector: &str) -> Result<Revocation, ServiceError> {
        let id = selector
            .strip_prefix("client/")
            .and_then(ClientId::parse)
            .ok_or(ServiceError::NotFound("client"))?;
        let connected = self.connected(user).contains(&id);
        let account = account(user);
        let client = id.clone();
        let now = now();
        let revoked = self
            .db
            .call(move |conn| -> Result<Option<(bool, u32)>, ServiceError> {
                let stored = store::one(conn, &account, &client, now)?
                    .ok_or(ServiceError::NotFound("client"))?;
                if !(connected || stored.password_used || stored.working_token) {
                    return Ok(None);
                }
                let deleted = super::fast_tokens::store::delete_client(
                    conn,
                    &account.0,
                    &account.1,
                    client.as_str(),
                )?;
                Ok(Some((stored.password_used, deleted)))
            })
            .await?;
        let Some((password_used, fast_tokens_deleted)) = revoked else {
            return Ok(Revocation::default());
        };
        let ended = self
            .sessions
            .end(user, SessionFilter::Client(id), SessionEnd::ClientRevoked);
        Ok(Revocation {
            sessions_ended: u32::try_from(ended).unwrap_or(u32::MAX),
            fast_tokens_deleted,
            password_reset_required: password_used,
        })
    }

    /// The account's password changed (its records' password use was
    /// cleared in the same storage job): logins written before no longer
    /// spare a write, and the sessions that logged in with a password end,
    /// except `keep` (the session that changed it).
    pub(crate) fn password_changed(&self, user: &BareJid, keep: Option<&FullJid>) {
        self.throttle.forget(user);
        self.sessions.end(
            user,
            SessionFilter::PasswordLoginsExcept(keep.cloned()),
            SessionEnd::PasswordChanged,
        );
    }

    /// The account was deleted, or its records were trimmed elsewhere.
    pub(crate) fn forget(&self, user: &BareJid) {
        self.throttle.forget(user);
    }

    /// The ids of the account's connected clients.
    pub(crate) fn connected(&self, user: &BareJid) -> Vec<ClientId> {
        self.sessions
            .sessions(user)
            .into_iter()
            .map(|s| s.client)
            .collect()
    }

    pub(crate) fn cap(&self) -> usize {
        self.config.limits.clients_per_account
    }
}

/// The primary key of an account's rows.
pub(crate) fn account(user: &BareJid) -> store::Account {
    (
        user.domain().as_str().to_owned(),
        user.node()
            .map_or_else(String::new, |n| n.as_str().to_owned()),
    )
}

/// At most [`MAX_AGENT_LEN`] characters.
fn trim(s: &str) -> String {
    match s.char_indices().nth(MAX_AGENT_LEN) {
        Some((end, _)) => s[..end].to_owned(),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests;
