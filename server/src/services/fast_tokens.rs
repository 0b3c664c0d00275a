//! FAST tokens (XEP-0484): issued to a client after a login, they let it
//! log in again without the password (Prosody's mod_sasl2_fast).
//!
//! Beyond Prosody, which stores tokens in plain text, a copy of the
//! database alone logs nobody in: a token is
//! `secret-token:fast-` + base64url(HMAC-SHA-256(server key, host,
//! username, client id, token id)), where the server key is 32 random bytes
//! in `<data dir>/fast-token.key` (mode 0600) and only the random 16-byte
//! token id is stored, with its mechanism, slot and times.
//!
//! Each client has a `new` token (issued, not yet used) and a `current` one
//! (used); both work, so a client that lost the answer carrying a new token
//! still gets in with the one before. Using the new one makes it current
//! and the old current `superseded`, which, like an expired token or any
//! token after a password change, answers credentials-expired. A token is
//! tried only for the client id it was issued to. Every candidate of the
//! client is verified in constant time before any is acted on.

use std::ops::Not as _;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use jid::BareJid;
use rand::RngCore as _;
use roost_common::config::Config;
use roost_sasl::fast::{FastMechanism, HT_SHA256_LEN, responder_hash, verify_initiator};
use rusqlite::OptionalExtension as _;
use sha2::Sha256;

use super::clients::{self, ClientId, Clients};
use super::{ServiceError, now};
use crate::storage::{Db, StorageError};

mod cache;
pub(crate) mod store;

pub use cache::TokenCache;

/// The server key's file in the data directory.
pub const KEY_FILE: &str = "fast-token.key";
const KEY_LEN: usize = 32;
const TOKEN_ID_LEN: usize = 16;
const TOKEN_PREFIX: &str = "secret-token:fast-";
/// Separates this use of the server key from any later one.
const DOMAIN: &[u8] = b"roost FAST token v1";

/// A token handed to a client, once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// `secret-token:fast-…`
    pub token: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A FAST login that succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FastLogin {
    /// The server's answer, `<additional-data>`.
    pub responder: [u8; HT_SHA256_LEN],
    /// A new token, when one was asked for or the used one was older than
    /// `fast.rotate_after`.
    pub token: Option<IssuedToken>,
}

/// Why a FAST login was refused.
#[derive(Debug, thiserror::Error)]
pub enum FastRefusal {
    #[error("not authorized")]
    NotAuthorized,
    /// The token was superseded (a newer one was used, or the password
    /// changed) or expired.
    #[error("credentials expired")]
    CredentialsExpired,
    #[error(transparent)]
    Storage(ServiceError),
}

impl From<ServiceError> for FastRefusal {
    fn from(e: ServiceError) -> Self {
        FastRefusal::Storage(e)
    }
}

/// A token made and not yet stored.
struct Fresh {
    row: store::Row,
    issued: IssuedToken,
}

/// A new token for `client`, issued `now`.
fn fresh(
    key: &[u8; KEY_LEN],
    account: &clients::store::Account,
    client: &ClientId,
    mechanism: FastMechanism,
    now: i64,
    lifetime: i64,
) -> Fresh {
    let mut token_id = [0u8; TOKEN_ID_LEN];
    rand::rng().fill_bytes(&mut token_id);
    let token = derive(key, account, client, &token_id);
    let expires_at = now.saturating_add(lifetime);
    Fresh {
        row: store::Row {
            token_id: token_id.to_vec(),
            slot: store::Slot::New,
            mechanism: mechanism.name().to_owned(),
            issued_at: now,
            expires_at,
        },
        issued: IssuedToken { token, expires_at },
    }
}

/// What the client sent, and when.
struct Attempt {
    mechanism: FastMechanism,
    channel_binding: Vec<u8>,
    initiator: [u8; HT_SHA256_LEN],
    now: i64,
}

/// Which row the attempt's hash matched, with its token.
enum Check {
    NoMatch,
    Matched(usize, String),
}

impl Attempt {
    /// Verifies the attempt against every row, in constant time each,
    /// before saying which matched (if one did, for its mechanism).
    fn check(
        &self,
        key: &[u8; KEY_LEN],
        account: &clients::store::Account,
        client: &ClientId,
        rows: &[store::Row],
    ) -> Check {
        let matches: Vec<Option<String>> = rows
            .iter()
            .map(|row| {
                let token = <[u8; TOKEN_ID_LEN]>::try_from(row.token_id.as_slice())
                    .ok()
                    .map(|token_id| derive(key, account, client, &token_id));
                let matched = token.as_ref().is_some_and(|t| {
                    verify_initiator(t.as_bytes(), &self.channel_binding, &self.initiator)
                });
                (matched && row.mechanism == self.mechanism.name())
                    .then_some(token)
                    .flatten()
            })
            .collect();
        matches
            .into_iter()
            .enumerate()
            .find_map(|(i, token)| Some(Check::Matched(i, token?)))
            .unwrap_or(Check::NoMatch)
    }
}

/// What the storage job found.
enum Verdict {
    Accepted(FastLogin),
    Expired,
    NoMatch,
}

#[derive(Clone)]
pub struct FastTokens {
    db: Db,
    config: Arc<Config>,
    clients: Clients,
    /// Loaded on first need, from the data directory.
    key: Arc<super::secret_file::SecretCell<KEY_LEN>>,
}

impl FastTokens {
    pub fn new(db: Db, config: Arc<Config>, clients: Clients) -> FastTokens {
        FastTokens {
            db,
            config,
            clients,
            key: Arc::default(),
        }
    }

    /// Issues a token for `client` into its `new` slot (replacing one never
    /// used), making the client's record if it has none yet, after a
    /// password login that began at `login_started_ms` (Unix ms). A login
    /// that began before the password last changed gets none
    /// (`Forbidden`): it proved the old password.
    pub async fn issue(
        &self,
        user: &BareJid,
        client: &ClientId,
        mechanism: FastMechanism,
        login_started_ms: i64,
    ) -> Result<IssuedToken, ServiceError> {
        let key = self.key().await?;
        let account = clients::account(user);
        let fresh = fresh(&key, &account, client, mechanism, now(), self.lifetime());
        let cap = self.clients.cap();
        let connected = self.clients.connected(user);
        let client = client.clone();
        let row = fresh.row;
        let trimmed = self
            .db
            .call(move |conn| -> Result<bool, ServiceError> {
                let changed = conn
                    .prepare_cached(
                        "SELECT password_changed_ms FROM accounts WHERE host = ?1 AND username = ?2",
                    )?
                    .query_row(rusqlite::params![account.0, account.1], |r| {
                        r.get::<_, Option<i64>>(0)
                    })
                    .optional()?
                    .ok_or(ServiceError::NotFound("account"))?;
                if changed.is_some_and(|changed| changed >= login_started_ms) {
                    return Err(ServiceError::Forbidden(
                        "the password changed after this login began",
                    ));
                }
                let trimmed =
                    clients::store::ensure(conn, &account, &client, row.issued_at, cap, &connected)?;
                store::put_new(conn, (&account.0, &account.1, client.as_str()), &row)?;
                Ok(trimmed)
            })
            .await?;
        if trimmed {
            self.clients.forget(user);
        } else {
            self.clients.token_cache().forget(user);
        }
        Ok(fresh.issued)
    }

    /// Checks a FAST login: `initiator` must be the HT hash of a token of
    /// `client` issued for `mechanism`, over `channel_binding`. With
    /// `invalidate` the token is deleted once it has been accepted. A new
    /// token (for `requested`, else for `mechanism`) is issued when one was
    /// requested or the used one is due for rotation, in the same storage
    /// job: a revocation or a password change either comes before (and the
    /// login fails) or after (and takes the new token too).
    ///
    /// A login with a token in use that changes nothing (the common case)
    /// is checked against the rows in memory ([`cache`]) with no storage
    /// job; anything else runs in one.
    #[allow(clippy::too_many_arguments)]
    pub async fn authenticate(
        &self,
        user: &BareJid,
        client: &ClientId,
        mechanism: FastMechanism,
        channel_binding: &[u8],
        initiator: &[u8; HT_SHA256_LEN],
        invalidate: bool,
        requested: Option<FastMechanism>,
    ) -> Result<FastLogin, FastRefusal> {
        let key = self.key().await?;
        let account = clients::account(user);
        let attempt = Attempt {
            mechanism,
            channel_binding: channel_binding.to_vec(),
            initiator: *initiator,
            now: now(),
        };
        let cache = self.clients.token_cache();
        if let Some(rows) = cache.get(user, client) {
            match attempt.check(&key, &account, client, &rows) {
                // Storage has the last word on a refusal: a row missing
                // here must never cost a client its token.
                Check::NoMatch => {}
                Check::Matched(i, token)
                    if rows[i].slot == store::Slot::Current
                        && rows[i].expires_at > attempt.now
                        && !invalidate
                        && requested.is_none()
                        && !self.due(&rows[i], attempt.now) =>
                {
                    return Ok(FastLogin {
                        responder: responder_hash(token.as_bytes(), &attempt.channel_binding),
                        token: None,
                    });
                }
                // The job decides, and nobody uses these rows meanwhile.
                Check::Matched(..) => cache.forget(user),
            }
        }
        let generation = cache.generation(user);
        let lifetime = self.lifetime();
        let rotate_after = self.rotate_after();
        let client_id = client.clone();
        let (verdict, rows) = self
            .db
            .call(
                move |conn| -> Result<(Verdict, Option<Vec<store::Row>>), ServiceError> {
                    let client = client_id;
                    let id = (account.0.as_str(), account.1.as_str(), client.as_str());
                    let rows = store::of_client(conn, id.0, id.1, id.2)?;
                    let verdict = match attempt.check(&key, &account, &client, &rows) {
                        Check::NoMatch => Verdict::NoMatch,
                        Check::Matched(i, _)
                            if rows[i].slot == store::Slot::Superseded
                                || rows[i].expires_at <= attempt.now =>
                        {
                            Verdict::Expired
                        }
                        Check::Matched(i, token) => {
                            let row = &rows[i];
                            if invalidate {
                                store::delete(conn, id, &row.token_id)?;
                            } else if row.slot == store::Slot::New {
                                store::promote(conn, id, &row.token_id)?;
                            }
                            let rotate = !invalidate
                                && attempt.now.saturating_sub(row.issued_at) >= rotate_after;
                            let renewed = (rotate || requested.is_some()).then(|| {
                                let mechanism = requested.unwrap_or(mechanism);
                                fresh(&key, &account, &client, mechanism, attempt.now, lifetime)
                            });
                            if let Some(fresh) = &renewed {
                                store::put_new(conn, id, &fresh.row)?;
                            }
                            Verdict::Accepted(FastLogin {
                                responder: responder_hash(
                                    token.as_bytes(),
                                    &attempt.channel_binding,
                                ),
                                token: renewed.map(|fresh| fresh.issued),
                            })
                        }
                    };
                    store::prune(conn, id, attempt.now)?;
                    let after = store::of_client(conn, id.0, id.1, id.2)?;
                    let changed = after != rows;
                    Ok((verdict, changed.not().then_some(after)))
                },
            )
            .await?;
        match rows {
            // Read only: what was read is kept, unless the account changed
            // meanwhile.
            Some(rows) => cache.put(user, client, rows, generation),
            // This job changed the rows: a login that read them before
            // must not put them back.
            None => cache.forget(user),
        }
        match verdict {
            Verdict::Accepted(login) => Ok(login),
            Verdict::Expired => Err(FastRefusal::CredentialsExpired),
            Verdict::NoMatch => Err(FastRefusal::NotAuthorized),
        }
    }

    /// Whether `row`'s token is old enough to be replaced at this login.
    fn due(&self, row: &store::Row, now: i64) -> bool {
        now.saturating_sub(row.issued_at) >= self.rotate_after()
    }

    fn rotate_after(&self) -> i64 {
        i64::try_from(self.config.fast.rotate_after.as_secs()).unwrap_or(i64::MAX)
    }

    fn lifetime(&self) -> i64 {
        i64::try_from(self.config.fast.token_lifetime.as_secs()).unwrap_or(i64::MAX)
    }

    /// The server key, read (or made) once.
    async fn key(&self) -> Result<[u8; KEY_LEN], ServiceError> {
        let path = self.config.data_dir.join(KEY_FILE);
        let if_removed =
            "every FAST token then stops working; clients log in with the password again";
        self.key
            .get(path, if_removed)
            .await
            .map_err(|e| ServiceError::Storage(StorageError::File(e.0)))
    }
}

/// The token a token id stands for.
fn derive(
    key: &[u8; KEY_LEN],
    (host, username): &clients::store::Account,
    client: &ClientId,
    token_id: &[u8; TOKEN_ID_LEN],
) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(DOMAIN);
    for part in [
        host.as_bytes(),
        username.as_bytes(),
        client.as_str().as_bytes(),
    ] {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.update(token_id);
    format!(
        "{TOKEN_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests;
