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

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use jid::BareJid;
use rand::RngCore as _;
use roost_common::config::Config;
use roost_sasl::fast::{FastMechanism, HT_SHA256_LEN, responder_hash, verify_initiator};
use sha2::Sha256;

use super::clients::{self, ClientId, Clients};
use super::{ServiceError, now};
use crate::storage::{Db, StorageError};

pub(crate) mod store;

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
    /// The token is older than `fast.rotate_after`: issue a new one.
    pub rotate: bool,
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
    key: Arc<tokio::sync::OnceCell<[u8; KEY_LEN]>>,
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
    /// used), making the client's record if it has none yet.
    pub async fn issue(
        &self,
        user: &BareJid,
        client: &ClientId,
        mechanism: FastMechanism,
    ) -> Result<IssuedToken, ServiceError> {
        let key = self.key().await?;
        let mut token_id = [0u8; TOKEN_ID_LEN];
        rand::rng().fill_bytes(&mut token_id);
        let account = clients::account(user);
        let token = derive(&key, &account, client, &token_id);
        let issued_at = now();
        let lifetime = i64::try_from(self.config.fast.token_lifetime.as_secs()).unwrap_or(i64::MAX);
        let expires_at = issued_at.saturating_add(lifetime);
        let row = store::Row {
            token_id: token_id.to_vec(),
            slot: store::Slot::New,
            mechanism: mechanism.name().to_owned(),
            issued_at,
            expires_at,
        };
        let cap = self.clients.cap();
        let connected = self.clients.connected(user);
        let client = client.clone();
        let trimmed = self
            .db
            .call(move |conn| -> Result<bool, ServiceError> {
                let trimmed =
                    clients::store::ensure(conn, &account, &client, issued_at, cap, &connected)?;
                store::put_new(conn, (&account.0, &account.1, client.as_str()), &row)?;
                Ok(trimmed)
            })
            .await?;
        if trimmed {
            self.clients.forget(user);
        }
        Ok(IssuedToken { token, expires_at })
    }

    /// Checks a FAST login: `initiator` must be the HT hash of a token of
    /// `client` issued for `mechanism`, over `channel_binding`. With
    /// `invalidate` the token is deleted once it has been accepted.
    pub async fn authenticate(
        &self,
        user: &BareJid,
        client: &ClientId,
        mechanism: FastMechanism,
        channel_binding: &[u8],
        initiator: &[u8; HT_SHA256_LEN],
        invalidate: bool,
    ) -> Result<FastLogin, FastRefusal> {
        let key = self.key().await?;
        let account = clients::account(user);
        let client = client.clone();
        let channel_binding = channel_binding.to_vec();
        let initiator = *initiator;
        let rotate_after =
            i64::try_from(self.config.fast.rotate_after.as_secs()).unwrap_or(i64::MAX);
        let now = now();
        let verdict = self
            .db
            .call(move |conn| -> Result<Verdict, ServiceError> {
                let id = (account.0.as_str(), account.1.as_str(), client.as_str());
                let rows = store::of_client(conn, id.0, id.1, id.2)?;
                // Every candidate is checked before any is acted on.
                let matches: Vec<Option<String>> = rows
                    .iter()
                    .map(|row| {
                        let token = <[u8; TOKEN_ID_LEN]>::try_from(row.token_id.as_slice())
                            .ok()
                            .map(|token_id| derive(&key, &account, &client, &token_id));
                        let matched = token.as_ref().is_some_and(|t| {
                            verify_initiator(t.as_bytes(), &channel_binding, &initiator)
                        });
                        (matched && row.mechanism == mechanism.name())
                            .then_some(token)
                            .flatten()
                    })
                    .collect();
                let matched = rows
                    .iter()
                    .zip(matches)
                    .find_map(|(row, token)| Some((row, token?)));
                let verdict = match matched {
                    None => Verdict::NoMatch,
                    Some((row, _))
                        if row.slot == store::Slot::Superseded || row.expires_at <= now =>
                    {
                        Verdict::Expired
                    }
                    Some((row, token)) => {
                        if invalidate {
                            store::delete(conn, id, &row.token_id)?;
                        } else if row.slot == store::Slot::New {
                            store::promote(conn, id, &row.token_id)?;
                        }
                        Verdict::Accepted(FastLogin {
                            responder: responder_hash(token.as_bytes(), &channel_binding),
                            rotate: !invalidate
                                && now.saturating_sub(row.issued_at) >= rotate_after,
                        })
                    }
                };
                store::prune(conn, id, now)?;
                Ok(verdict)
            })
            .await?;
        match verdict {
            Verdict::Accepted(login) => Ok(login),
            Verdict::Expired => Err(FastRefusal::CredentialsExpired),
            Verdict::NoMatch => Err(FastRefusal::NotAuthorized),
        }
    }

    /// The server key, read (or made) once.
    async fn key(&self) -> Result<[u8; KEY_LEN], ServiceError> {
        let path = self.config.data_dir.join(KEY_FILE);
        self.key
            .get_or_try_init(|| async move {
                let loaded = tokio::task::spawn_blocking(move || {
                    super::secret_file::load_or_create(
                        &path,
                        "every FAST token then stops working; clients log in with the password again",
                    )
                })
                .await;
                match loaded {
                    Ok(Ok(key)) => Ok(key),
                    Ok(Err(e)) => Err(ServiceError::Storage(StorageError::File(e.0))),
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    Err(_) => Err(ServiceError::Storage(StorageError::Closed)),
                }
            })
            .await
            .copied()
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
