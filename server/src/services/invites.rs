//! Invites (mod_invites semantics): creation, lookup, expiry.
//!
//! Every door that creates or redeems an invite comes through here, so the
//! rules (token format, expiry, remaining uses) live in one place. Tokens
//! are stored as hashes; the token itself exists only in the links handed
//! out at creation.

use std::sync::Arc;
use std::time::Duration;

use roost_common::config::Config;
use roost_common::jid::DomainName;
use rusqlite::{Connection, OptionalExtension as _, params};

use super::secrets::{self, TOKEN_BYTES};
use super::{ServiceError, now};
use crate::storage::Db;

/// What an invite lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteKind {
    /// Register one account with any free username.
    Account,
    /// Become a mutual contact of the inviter.
    Contact,
    /// Both: register, then become a contact of the inviter.
    AccountAndContact,
}

impl InviteKind {
    fn as_db(self) -> &'static str {
        match self {
            InviteKind::Account => "account",
            InviteKind::Contact => "contact",
            InviteKind::AccountAndContact => "account_and_contact",
        }
    }

    fn from_db(s: &str) -> InviteKind {
        match s {
            "contact" => InviteKind::Contact,
            "account_and_contact" => InviteKind::AccountAndContact,
            _ => InviteKind::Account,
        }
    }

    pub fn allows_registration(self) -> bool {
        self != InviteKind::Contact
    }
}

/// A secret invite token, as handed out in links (24 base64url characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteToken(String);

impl InviteToken {
    fn generate() -> InviteToken {
        InviteToken(secrets::random_id(TOKEN_BYTES))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who made an invite, as recorded with it.
#[derive(Debug, Clone)]
pub enum Creator {
    /// An admin at the command line.
    Admin,
    /// The HTTP API, with the id of the key used.
    ApiKey(String),
}

impl Creator {
    fn describe(&self) -> String {
        match self {
            Creator::Admin => "admin".to_owned(),
            Creator::ApiKey(id) => format!("api/token/{id}"),
        }
    }
}

/// A request for a new invite.
#[derive(Debug, Clone)]
pub struct NewInvite {
    pub host: DomainName,
    pub kind: InviteKind,
    /// The host, `user@host`, or the inviter's bare JID for contact invites.
    pub jid: String,
    pub creator: Creator,
    /// Overrides the configured expiry.
    pub ttl: Option<Duration>,
    /// How many times it may be used; `None` for any number until it expires.
    pub uses: Option<u32>,
}

/// A freshly created invite, with its secret token and links.
#[derive(Debug, Clone)]
pub struct CreatedInvite {
    pub token: InviteToken,
    pub host: DomainName,
    pub kind: InviteKind,
    pub expires_at: i64,
    pub uri: String,
    pub landing_url: String,
}

/// A valid invite looked up by its token.
#[derive(Debug, Clone)]
pub struct ValidInvite {
    pub host: String,
    pub kind: InviteKind,
    pub jid: String,
    pub expires_at: i64,
    pub uri: String,
}

#[derive(Clone)]
pub struct Invites {
    db: Db,
    config: Arc<Config>,
}

/// The parts of an invite row decided before it reaches storage.
pub(crate) struct InviteRow {
    pub token: InviteToken,
    pub new: NewInvite,
    pub created_at: i64,
    pub expires_at: i64,
}

impl Invites {
    pub fn new(db: Db, config: Arc<Config>) -> Invites {
        Invites { db, config }
    }

    /// Decides token and expiry for `new`; the row is written by [`insert`].
    pub(crate) fn prepare(&self, new: NewInvite) -> InviteRow {
        let created_at = now();
        let ttl = new.ttl.unwrap_or(self.config.invites.expiry);
        InviteRow {
            token: InviteToken::generate(),
            created_at,
            expires_at: created_at.saturating_add(ttl.as_secs().min(i64::MAX as u64) as i64),
            new,
        }
    }

    /// The links for a stored row.
    pub(crate) fn created(&self, row: InviteRow) -> CreatedInvite {
        let uri = uri(row.new.kind, &row.new.jid, row.token.as_str());
        CreatedInvite {
            landing_url: format!("{}/invite/{}", self.config.public_url(), row.token.as_str()),
            uri,
            token: row.token,
            host: row.new.host,
            kind: row.new.kind,
            expires_at: row.expires_at,
        }
    }

    pub async fn create(&self, new: NewInvite) -> Result<CreatedInvite, ServiceError> {
        let row = self.prepare(new);
        let row = self
            .db
            .call(move |conn| -> Result<InviteRow, ServiceError> {
                insert(conn, &row, None)?;
                Ok(row)
            })
            .await?;
        Ok(self.created(row))
    }

    /// The invite behind `token`, if it exists, has not expired and has uses left.
    pub async fn find_valid(&self, token: &str) -> Result<Option<ValidInvite>, ServiceError> {
        if !secrets::is_base64url(token) || token.len() != 24 {
            return Ok(None);
        }
        let token = token.to_owned();
        self.db
            .call(move |conn| -> Result<_, ServiceError> {
                let found = conn
                    .prepare_cached(
                        "SELECT host, kind, jid, expires_at FROM invites
                         WHERE token_hash = ?1 AND expires_at >= ?2
                           AND (uses_left IS NULL OR uses_left > 0)",
                    )?
                    .query_row(params![secrets::hash(&token), now()], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get(2)?,
                            r.get(3)?,
                        ))
                    })
                    .optional()?;
                Ok(found.map(
                    |(host, kind, jid, expires_at): (String, String, String, i64)| {
                        let kind = InviteKind::from_db(&kind);
                        ValidInvite {
                            uri: uri(kind, &jid, &token),
                            host,
                            kind,
                            jid,
                            expires_at,
                        }
                    },
                ))
            })
            .await
    }

    /// Deletes invites that expired or have no uses left; returns how many.
    pub async fn purge(&self) -> Result<usize, ServiceError> {
        self.db
            .call(|conn| -> Result<usize, ServiceError> {
                Ok(conn.execute(
                    "DELETE FROM invites WHERE expires_at < ?1 OR uses_left = 0",
                    params![now()],
                )?)
            })
            .await
    }
}

/// Writes an invite row; runs on the storage thread.
pub(crate) fn insert(
    conn: &Connection,
    row: &InviteRow,
    api_key_id: Option<&str>,
) -> Result<(), ServiceError> {
    conn.prepare_cached(
        "INSERT INTO invites (host, token_hash, kind, jid, creator, api_key_id,
                              created_at, expires_at, uses_left)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut st| {
        st.execute(params![
            row.new.host.as_str(),
            secrets::hash(row.token.as_str()),
            row.new.kind.as_db(),
            row.new.jid,
            row.new.creator.describe(),
            api_key_id,
            row.created_at,
            row.expires_at,
            row.new.uses,
        ])
    })?;
    Ok(())
}

/// The `xmpp:` URI of an invite, in Prosody's syntax (XEP-0401/XEP-0379).
fn uri(kind: InviteKind, jid: &str, token: &str) -> String {
    match kind {
        InviteKind::Account => format!("xmpp:{jid}?register;preauth={token}"),
        InviteKind::Contact => format!("xmpp:{jid}?roster;preauth={token}"),
        InviteKind::AccountAndContact => format!("xmpp:{jid}?roster;preauth={token};ibr=y"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roost_common::config::Synchronous;

    fn services() -> (tempfile::TempDir, Invites) {
        let dir = tempfile::tempdir().unwrap();
        let (db, _thread) = Db::open(&dir.path().join("t.sqlite3"), Synchronous::Normal).unwrap();
        (dir, Invites::new(db, Arc::new(Config::default())))
    }

    fn account(uses: Option<u32>) -> NewInvite {
        NewInvite {
            host: DomainName::parse("localhost").unwrap(),
            kind: InviteKind::Account,
            jid: "localhost".into(),
            creator: Creator::Admin,
            ttl: None,
            uses,
        }
    }

    #[tokio::test]
    async fn expired_and_used_up_invites_are_invalid_and_purged() {
        let (_dir, invites) = services();
        let live = invites.create(account(Some(1))).await.unwrap();
        assert_eq!(
            live.uri,
            format!("xmpp:localhost?register;preauth={}", live.token.as_str())
        );
        assert!(
            live.landing_url
                .ends_with(&format!("/invite/{}", live.token.as_str()))
        );
        let found = invites
            .find_valid(live.token.as_str())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.uri, live.uri);

        let mut expired = invites.prepare(account(None));
        expired.expires_at = now() - 1;
        let used_up = invites.prepare(account(Some(0)));
        let (expired_token, used_token) = (expired.token.clone(), used_up.token.clone());
        invites
            .db
            .call(move |conn| -> Result<(), ServiceError> {
                insert(conn, &expired, None)?;
                insert(conn, &used_up, None)
            })
            .await
            .unwrap();
        assert!(
            invites
                .find_valid(expired_token.as_str())
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            invites
                .find_valid(used_token.as_str())
                .await
                .unwrap()
                .is_none()
        );
        assert!(invites.find_valid("not-a-token").await.unwrap().is_none());

        assert_eq!(invites.purge().await.unwrap(), 2);
        assert!(
            invites
                .find_valid(live.token.as_str())
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(invites.purge().await.unwrap(), 0);
    }

    #[test]
    fn uris_follow_prosody() {
        assert_eq!(
            uri(InviteKind::Account, "example.com", "T"),
            "xmpp:example.com?register;preauth=T"
        );
        assert_eq!(
            uri(InviteKind::Contact, "bob@example.com", "T"),
            "xmpp:bob@example.com?roster;preauth=T"
        );
        assert_eq!(
            uri(InviteKind::AccountAndContact, "bob@example.com", "T"),
            "xmpp:bob@example.com?roster;preauth=T;ibr=y"
        );
    }
}
