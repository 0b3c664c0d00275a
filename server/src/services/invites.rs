//! Invites (mod_invites semantics): creation, lookup, expiry.
//!
//! Every door that creates or redeems an invite comes through here, so the
//! rules (token format, expiry, remaining uses) live in one place. Tokens
//! are stored as hashes; the token itself exists only in the links handed
//! out at creation.

use std::sync::Arc;
use std::time::Duration;

use roost_common::admin::{InviteInfo, InviteType};
use roost_common::config::Config;
use roost_common::jid::DomainName;
use rusqlite::{Connection, OptionalExtension as _, params};

use super::secrets::{self, TOKEN_BYTES};
use super::{Accounts, Hosts, ServiceError, now};
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

    pub fn allows_registration(self) -> bool {
        self != InviteKind::Contact
    }

    /// The admin protocol's name for this kind.
    pub fn admin_type(self) -> InviteType {
        match self {
            InviteKind::Account => InviteType::Account,
            InviteKind::Contact => InviteType::Contact,
            InviteKind::AccountAndContact => InviteType::Both,
        }
    }

    pub fn from_admin_type(kind: InviteType) -> InviteKind {
        match kind {
            InviteType::Account => InviteKind::Account,
            InviteType::Contact => InviteKind::Contact,
            InviteType::Both => InviteKind::AccountAndContact,
        }
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
    /// A user over XMPP (ad-hoc command), with the full JID they used.
    User(String),
}

impl Creator {
    fn describe(&self) -> String {
        match self {
            Creator::Admin => "admin".to_owned(),
            Creator::ApiKey(id) => format!("api/token/{id}"),
            Creator::User(jid) => jid.clone(),
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
    /// The local account told when the invite is used (the inviter of a
    /// contact invite, or the user who made an account invite).
    pub inviter: Option<jid::BareJid>,
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

/// An invite an admin asks for at the command line.
#[derive(Debug, Clone)]
pub struct AdminInvite<'a> {
    pub host: &'a str,
    pub kind: InviteType,
    /// The local account whose contact the holder becomes, as typed.
    pub inviter: Option<&'a str>,
    pub ttl: Option<Duration>,
    pub uses: u32,
}

#[derive(Clone)]
pub struct Invites {
    db: Db,
    hosts: Hosts,
    accounts: Accounts,
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
    pub fn new(db: Db, hosts: Hosts, accounts: Accounts, config: Arc<Config>) -> Invites {
        Invites {
            db,
            hosts,
            accounts,
            config,
        }
    }

    /// Creates an invite for an admin; returns its id with it. Contact
    /// invites need an inviter with an account on the invite's host.
    pub async fn create_by_admin(
        &self,
        request: AdminInvite<'_>,
    ) -> Result<(i64, CreatedInvite), ServiceError> {
        let host = self.hosts.resolve(request.host)?;
        if request.uses == 0 {
            return Err(ServiceError::Invalid(
                "an invite must be usable at least once".into(),
            ));
        }
        let jid = match (request.kind.needs_inviter(), request.inviter) {
            (false, None) => host.to_string(),
            (false, Some(_)) => {
                return Err(ServiceError::Invalid(
                    "an account invite has no inviter; use --type contact or both".into(),
                ));
            }
            (true, None) => {
                return Err(ServiceError::Invalid(format!(
                    "a {} invite needs an inviter: the local account whose contact \
                     the invited person becomes",
                    request.kind
                )));
            }
            (true, Some(inviter)) => {
                let inviter_jid = self.accounts.parse_jid(inviter)?;
                if inviter_jid.domain().as_str() != host.as_str() {
                    return Err(ServiceError::Invalid(format!(
                        "the inviter {inviter_jid} is not on {host}"
                    )));
                }
                if !self.accounts.exists(&inviter_jid).await? {
                    return Err(ServiceError::NotFound("inviter account"));
                }
                inviter_jid.to_string()
            }
        };
        let row = self.prepare(NewInvite {
            host,
            kind: InviteKind::from_admin_type(request.kind),
            jid,
            creator: Creator::Admin,
            inviter: None,
            ttl: request.ttl,
            uses: Some(request.uses),
        });
        let (id, row) = self
            .db
            .call(move |conn| -> Result<(i64, InviteRow), ServiceError> {
                insert(conn, &row, None)?;
                Ok((conn.last_insert_rowid(), row))
            })
            .await?;
        Ok((id, self.created(row)))
    }

    /// The pending invites of `host` (not expired, uses left), oldest first.
    pub async fn list(&self, host: &str) -> Result<Vec<InviteInfo>, ServiceError> {
        let host = self.hosts.resolve(host)?;
        self.db
            .call(move |conn| -> Result<Vec<InviteInfo>, ServiceError> {
                let mut st = conn.prepare_cached(
                    "SELECT id, kind, creator, created_at, expires_at, uses_left FROM invites
                     WHERE host = ?1 AND expires_at >= ?2
                       AND (uses_left IS NULL OR uses_left > 0)
                     ORDER BY created_at, id",
                )?;
                let rows = st.query_map(params![host.as_str(), now()], |r| {
                    Ok(InviteInfo {
                        id: r.get(0)?,
                        kind: kind_from_db(&r.get::<_, String>(1)?).admin_type(),
                        creator: r.get(2)?,
                        created_at: r.get(3)?,
                        expires_at: r.get(4)?,
                        uses_left: r.get(5)?,
                    })
                })?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await
    }

    /// Deletes an invite of `host` by its numeric id or by its token.
    pub async fn revoke(&self, host: &str, id_or_token: &str) -> Result<(), ServiceError> {
        let host = self.hosts.resolve(host)?;
        let id_or_token = id_or_token.to_owned();
        let deleted = self
            .db
            .call(move |conn| -> Result<usize, ServiceError> {
                Ok(match id_or_token.parse::<i64>() {
                    Ok(id) if id_or_token.bytes().all(|b| b.is_ascii_digit()) => conn.execute(
                        "DELETE FROM invites WHERE host = ?1 AND id = ?2",
                        params![host.as_str(), id],
                    )?,
                    _ => conn.execute(
                        "DELETE FROM invites WHERE host = ?1 AND token_hash = ?2",
                        params![host.as_str(), secrets::hash(&id_or_token)],
                    )?,
                })
            })
            .await?;
        if deleted == 0 {
            return Err(ServiceError::NotFound("invite"));
        }
        Ok(())
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
                        let kind = kind_from_db(&kind);
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

/// Reads a stored kind.
pub(crate) fn kind_from_db(s: &str) -> InviteKind {
    match s {
        "contact" => InviteKind::Contact,
        "account_and_contact" => InviteKind::AccountAndContact,
        _ => InviteKind::Account,
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
                              created_at, expires_at, uses_left, inviter)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
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
            row.new.inviter.as_ref().map(ToString::to_string),
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
        let config = Arc::new(Config::default());
        let hosts = Hosts(config.clone());
        let accounts = Accounts::new(
            db.clone(),
            hosts.clone(),
            config.clone(),
            Default::default(),
        );
        (dir, Invites::new(db, hosts, accounts, config))
    }

    fn admin(kind: InviteType, inviter: Option<&str>) -> AdminInvite<'_> {
        AdminInvite {
            host: "localhost",
            kind,
            inviter,
            ttl: None,
            uses: 1,
        }
    }

    #[tokio::test]
    async fn admin_invites_are_created_listed_and_revoked() {
        let (_dir, invites) = services();
        invites
            .accounts
            .create("bob@localhost", "pw", roost_common::admin::Role::User)
            .await
            .unwrap();

        let (account_id, account) = invites
            .create_by_admin(admin(InviteType::Account, None))
            .await
            .unwrap();
        assert_eq!(account.kind, InviteKind::Account);
        let (contact_id, contact) = invites
            .create_by_admin(admin(InviteType::Contact, Some("Bob@localhost")))
            .await
            .unwrap();
        assert_eq!(
            contact.uri,
            format!(
                "xmpp:bob@localhost?roster;preauth={}",
                contact.token.as_str()
            )
        );
        let (_, both) = invites
            .create_by_admin(AdminInvite {
                ttl: Some(Duration::from_secs(60)),
                uses: 3,
                ..admin(InviteType::Both, Some("bob@localhost"))
            })
            .await
            .unwrap();
        assert!(both.uri.ends_with(";ibr=y"));
        assert!(both.expires_at <= now() + 60);

        let listed = invites.list("localhost").await.unwrap();
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[0].id, account_id);
        assert_eq!(listed[0].kind, InviteType::Account);
        assert_eq!(listed[0].creator, "admin");
        assert_eq!(listed[0].uses_left, Some(1));
        assert_eq!(listed[2].kind, InviteType::Both);
        assert_eq!(listed[2].uses_left, Some(3));

        invites
            .revoke("localhost", &account_id.to_string())
            .await
            .unwrap();
        invites
            .revoke("localhost", contact.token.as_str())
            .await
            .unwrap();
        assert!(
            invites
                .find_valid(contact.token.as_str())
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(invites.list("localhost").await.unwrap().len(), 1);
        assert!(matches!(
            invites.revoke("localhost", &contact_id.to_string()).await,
            Err(ServiceError::NotFound("invite"))
        ));
        assert!(matches!(
            invites.revoke("localhost", "nonsense").await,
            Err(ServiceError::NotFound("invite"))
        ));
        assert!(matches!(
            invites.list("elsewhere.example").await,
            Err(ServiceError::UnknownHost(_))
        ));
    }

    #[tokio::test]
    async fn admin_invite_rules() {
        let (_dir, invites) = services();
        let refused = |r: Result<(i64, CreatedInvite), ServiceError>| match r {
            Err(e) => e,
            Ok(_) => panic!("accepted"),
        };
        assert!(matches!(
            refused(
                invites
                    .create_by_admin(admin(InviteType::Contact, None))
                    .await
            ),
            ServiceError::Invalid(m) if m.contains("needs an inviter")
        ));
        assert!(matches!(
            refused(
                invites
                    .create_by_admin(admin(InviteType::Both, Some("nobody@localhost")))
                    .await
            ),
            ServiceError::NotFound(_)
        ));
        assert!(matches!(
            refused(
                invites
                    .create_by_admin(AdminInvite {
                        uses: 0,
                        ..admin(InviteType::Account, None)
                    })
                    .await
            ),
            ServiceError::Invalid(_)
        ));
        assert!(matches!(
            refused(
                invites
                    .create_by_admin(AdminInvite {
                        host: "elsewhere.example",
                        ..admin(InviteType::Account, None)
                    })
                    .await
            ),
            ServiceError::UnknownHost(_)
        ));
        assert!(invites.list("localhost").await.unwrap().is_empty());
    }

    fn account(uses: Option<u32>) -> NewInvite {
        NewInvite {
            host: DomainName::parse("localhost").unwrap(),
            kind: InviteKind::Account,
            jid: "localhost".into(),
            creator: Creator::Admin,
            inviter: None,
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
