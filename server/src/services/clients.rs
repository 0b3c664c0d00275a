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

use super::audit::{self, Actor, Audit, AuditAction, Entry};
use super::sessions::{LiveSession, SessionEnd, SessionFilter, Sessions};
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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
    /// FAST token rows in memory; forgotten with the throttle.
    tokens: Arc<super::fast_tokens::TokenCache>,
    audit: Audit,
}

impl Clients {
    pub fn new(db: Db, config: Arc<Config>, sessions: Sessions, audit: Audit) -> Clients {
        Clients {
            db,
            config,
            sessions,
            audit,
            throttle: Arc::default(),
            tokens: Arc::default(),
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
        let cap = self.config.limits.get().clients_per_account;
        let connected = self.connected(login.user);
        let (id, trimmed) = self
            .db
            .call(move |conn| store::record(conn, &account, &row, cap, &connected))
            .await?;
        if trimmed {
            self.forget(login.user);
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
        let live = self.sessions.sessions(user);
        let connected: Vec<ClientId> = live.iter().map(|s| s.client.clone()).collect();
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
        clients.extend(unrecorded(&live, &clients));
        clients.sort_by(|a, b| (a.last_seen, &a.id).cmp(&(b.last_seen, &b.id)));
        Ok(clients)
    }

    /// Revokes the client `selector` names (`client/ID`, as listed): ends
    /// its sessions and deletes its FAST tokens. `NotFound("client")` for
    /// an unknown client or another kind of selector; a known client that
    /// is not active has nothing to revoke.
    pub async fn revoke(
        &self,
        actor: &Actor,
        user: &BareJid,
        selector: &str,
    ) -> Result<Revocation, ServiceError> {
        let result = self.revoke_checked(actor, user, selector).await;
        self.audit
            .settle(result, || {
                Entry::new(actor, AuditAction::ClientRevoke)
                    .jid(user)
                    .subject(selector)
            })
            .await
    }

    async fn revoke_checked(
        &self,
        actor: &Actor,
        user: &BareJid,
        selector: &str,
    ) -> Result<Revocation, ServiceError> {
        let id = selector
            .strip_prefix("client/")
            .and_then(ClientId::parse)
            .ok_or(ServiceError::NotFound("client"))?;
        let live: Vec<LiveSession> = self
            .sessions
            .sessions(user)
            .into_iter()
            .filter(|s| s.client == id)
            .collect();
        let connected = !live.is_empty();
        let account = account(user);
        let client = id.clone();
        let now = now();
        let recorded = Entry::new(actor, AuditAction::ClientRevoke)
            .jid(user)
            .subject(selector);
        let revoked = self
            .db
            .call(move |conn| -> Result<Option<(bool, u32)>, ServiceError> {
                let Some(stored) = store::one(conn, &account, &client, now)? else {
                    // A session known only while connected (see `unrecorded`).
                    return match connected {
                        true => {
                            audit::insert(conn, &recorded)?;
                            Ok(Some((false, 0)))
                        }
                        false => Err(ServiceError::NotFound("client")),
                    };
                };
                if !(connected || stored.password_used || stored.working_token) {
                    audit::insert(conn, &recorded.detail("nothing active"))?;
                    return Ok(None);
                }
                audit::insert(conn, &recorded)?;
                let deleted = super::fast_tokens::store::delete_client(
                    conn,
                    &account.0,
                    &account.1,
                    client.as_str(),
                )?;
                Ok(Some((stored.password_used, deleted)))
            })
            .await?;
        self.tokens.forget(user);
        // Even with nothing active left, a login of this client still
        // between authentication and bind must not get in.
        let ended = self
            .sessions
            .end(user, SessionFilter::Client(id), SessionEnd::ClientRevoked);
        let Some((password_used, fast_tokens_deleted)) = revoked else {
            return Ok(Revocation::default());
        };
        let password_session = live.iter().any(|s| s.method == AuthMethod::Password);
        Ok(Revocation {
            sessions_ended: u32::try_from(ended).unwrap_or(u32::MAX),
            fast_tokens_deleted,
            password_reset_required: password_used || password_session,
        })
    }

    /// The account's password changed (its records' password use was
    /// cleared in the same storage job): logins written before no longer
    /// spare a write, and every session ends but `keep` (the one that
    /// changed it): what a user who changes a leaked password expects.
    pub(crate) fn password_changed(&self, user: &BareJid, keep: Option<FullJid>) {
        self.forget(user);
        self.sessions.end(
            user,
            SessionFilter::AllExcept(keep),
            SessionEnd::PasswordChanged,
        );
    }

    /// The account was deleted, its password changed, or its records or
    /// tokens changed elsewhere: nothing remembered of it is used again.
    pub(crate) fn forget(&self, user: &BareJid) {
        self.throttle.forget(user);
        self.tokens.forget(user);
    }

    /// The FAST tokens kept in memory, which every change of an account's
    /// tokens must forget.
    pub(crate) fn token_cache(&self) -> &super::fast_tokens::TokenCache {
        &self.tokens
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
        self.config.limits.get().clients_per_account
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

/// Live sessions with no record: legacy logins that bound a resource the
/// server chose. Such a client cannot be recognised at its next login (it
/// gets another resource), so recording it would only fill the list and
/// cost every login a write; it is listed while connected.
fn unrecorded(live: &[LiveSession], recorded: &[ClientInfo]) -> Vec<ClientInfo> {
    live.iter()
        .filter(|s| {
            !recorded
                .iter()
                .any(|c| c.id.strip_prefix("client/") == Some(s.client.as_str()))
        })
        .map(|s| ClientInfo {
            id: format!("client/{}", s.client),
            software: None,
            device: None,
            first_seen: s.since,
            last_seen: s.since,
            auth: match s.method {
                AuthMethod::Password => vec![ClientAuth::Password],
                AuthMethod::Fast => vec![ClientAuth::Fast],
            },
            connected: true,
            jid: Some(s.jid.to_string()),
            legacy: true,
        })
        .collect()
}

#[cfg(test)]
mod tests;
