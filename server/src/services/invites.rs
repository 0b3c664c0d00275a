//! Invites (mod_invites semantics): creation, lookup, expiry.
//!
//! Every door that creates or redeems an invite comes through here, so the
//! rules (token format, expiry, remaining uses) live in one place. Tokens
//! are stored as hashes; the token itself exists only in the links handed
//! out at creation.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use roost_common::admin::{InviteInfo, InviteStatus, InviteType, RedemptionInfo};
use roost_common::config::Config;
use roost_common::jid::DomainName;
use rusqlite::{Connection, OptionalExtension as _, named_params, params};

use super::audit::{self, Actor, Audit, AuditAction, Entry};
use super::secrets::{self, TOKEN_BYTES};
use super::{Accounts, Hosts, ServiceError, now};
use crate::storage::Db;

/// The one definition of a redeemable invite, for every lookup and every
/// use, whatever the door: not expired (`:now`), uses left.
macro_rules! redeemable {
    () => {
        "expires_at >= :now AND (uses_left IS NULL OR uses_left > 0)"
    };
}

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
    audit: Audit,
}

/// The parts of an invite row decided before it reaches storage.
pub(crate) struct InviteRow {
    pub token: InviteToken,
    pub new: NewInvite,
    pub created_at: i64,
    pub expires_at: i64,
}

impl Invites {
    pub fn new(
        db: Db,
        hosts: Hosts,
        accounts: Accounts,
        config: Arc<Config>,
        audit: Audit,
    ) -> Invites {
        Invites {
            db,
            hosts,
            accounts,
            config,
            audit,
        }
    }

    /// Creates an invite for an admin; returns its id with it. Contact
    /// invites need an inviter with an account on the invite's host.
    pub async fn create_by_admin(
        &self,
        actor: &Actor,
        request: AdminInvite<'_>,
    ) -> Result<(i64, CreatedInvite), ServiceError> {
        let host = request.host.to_owned();
        let result = self.create_checked(actor, request).await;
        self.audit
            .settle(result, || {
                Entry::new(actor, AuditAction::InviteCreate).host(host)
            })
            .await
    }

    async fn create_checked(
        &self,
        actor: &Actor,
        request: AdminInvite<'_>,
    ) -> Result<(i64, CreatedInvite), ServiceError> {
        let host = self.hosts.resolve(request.host)?;
        if let Some(ttl) = request.ttl {
            roost_common::config::check_lifetime(ttl).map_err(ServiceError::Invalid)?;
        }
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
        let actor = actor.clone();
        let (id, row) = self
            .db
            .call(move |conn| -> Result<(i64, InviteRow), ServiceError> {
                let id = insert_recorded(conn, &row, None, &actor)?;
                Ok((id, row))
            })
            .await?;
        Ok((id, self.created(row)))
    }

    /// The pending invites of `host` (not expired, uses left), oldest first,
    /// each with its redemptions so far (a multi-use invite may have some).
    /// With `all`, also the used-up ones that have not expired yet: they are
    /// kept until then so that an admin can see who used them.
    pub async fn list(&self, host: &str, all: bool) -> Result<Vec<InviteInfo>, ServiceError> {
        let host = self.hosts.resolve(host)?;
        self.db
            .call(move |conn| -> Result<Vec<InviteInfo>, ServiceError> {
                let now = now();
                let mut st = conn.prepare_cached(&format!(
                    "SELECT {INFO_COLUMNS} FROM invites
                     WHERE host = ?1 AND expires_at >= ?2
                       AND (?3 OR uses_left IS NULL OR uses_left > 0)
                     ORDER BY created_at, id"
                ))?;
                let mut invites = st
                    .query_map(params![host.as_str(), now, all], |r| info_from_row(r, now))?
                    .collect::<Result<Vec<_>, _>>()?;
                // One query for all redemptions rather than one per invite.
                let mut st = conn.prepare_cached(
                    "SELECT r.invite_id, r.jid, r.redeemed_at
                     FROM invite_redemptions r JOIN invites i ON i.id = r.invite_id
                     WHERE i.host = ?1 AND i.expires_at >= ?2
                       AND (?3 OR i.uses_left IS NULL OR i.uses_left > 0)
                     ORDER BY r.redeemed_at, r.id",
                )?;
                let mut by_invite: HashMap<i64, Vec<RedemptionInfo>> = HashMap::new();
                for row in st.query_map(params![host.as_str(), now, all], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        RedemptionInfo {
                            jid: r.get(1)?,
                            redeemed_at: r.get(2)?,
                        },
                    ))
                })? {
                    let (id, redemption) = row?;
                    by_invite.entry(id).or_default().push(redemption);
                }
                for invite in &mut invites {
                    invite.redemptions = by_invite.remove(&invite.id).unwrap_or_default();
                }
                Ok(invites)
            })
            .await
    }

    /// One invite of `host` by its numeric id or by its token, whatever its
    /// status (an expired one shows until the next purge); `None` if there
    /// is no such invite.
    pub async fn show(
        &self,
        host: &str,
        id_or_token: &str,
    ) -> Result<Option<InviteInfo>, ServiceError> {
        let host = self.hosts.resolve(host)?;
        let key = InviteKey::parse(id_or_token);
        self.db
            .call(move |conn| -> Result<Option<InviteInfo>, ServiceError> {
                let now = now();
                let found = match &key {
                    InviteKey::Id(id) => conn
                        .prepare_cached(&format!(
                            "SELECT {INFO_COLUMNS} FROM invites WHERE host = ?1 AND id = ?2"
                        ))?
                        .query_row(params![host.as_str(), id], |r| info_from_row(r, now)),
                    InviteKey::Token(token) => conn
                        .prepare_cached(&format!(
                            "SELECT {INFO_COLUMNS} FROM invites
                             WHERE host = ?1 AND token_hash = ?2"
                        ))?
                        .query_row(params![host.as_str(), secrets::hash(token)], |r| {
                            info_from_row(r, now)
                        }),
                }
                .optional()?;
                let Some(mut invite) = found else {
                    return Ok(None);
                };
                let mut st = conn.prepare_cached(
                    "SELECT jid, redeemed_at FROM invite_redemptions
                     WHERE invite_id = ?1 ORDER BY redeemed_at, id",
                )?;
                invite.redemptions = st
                    .query_map([invite.id], |r| {
                        Ok(RedemptionInfo {
                            jid: r.get(0)?,
                            redeemed_at: r.get(1)?,
                        })
                    })?
                    .collect::<Result<_, _>>()?;
                Ok(Some(invite))
            })
            .await
    }

    /// Deletes an invite of `host` by its numeric id or by its token. The
    /// audit log names it by its id, never by the token.
    pub async fn revoke(
        &self,
        actor: &Actor,
        host: &str,
        id_or_token: &str,
    ) -> Result<(), ServiceError> {
        let result = self.revoke_checked(actor, host, id_or_token).await;
        self.audit
            .settle(result, || {
                let entry = Entry::new(actor, AuditAction::InviteRevoke).host(host);
                match InviteKey::parse(id_or_token) {
                    InviteKey::Id(id) => entry.subject(id),
                    InviteKey::Token(_) => entry,
                }
            })
            .await
    }

    async fn revoke_checked(
        &self,
        actor: &Actor,
        host: &str,
        id_or_token: &str,
    ) -> Result<(), ServiceError> {
        let host = self.hosts.resolve(host)?;
        let key = InviteKey::parse(id_or_token);
        let actor = actor.clone();
        self.db
            .call(move |conn| -> Result<(), ServiceError> {
                let deleted: Option<i64> = match &key {
                    InviteKey::Id(id) => conn
                        .prepare_cached(
                            "DELETE FROM invites WHERE host = ?1 AND id = ?2 RETURNING id",
                        )?
                        .query_row(params![host.as_str(), id], |r| r.get(0)),
                    InviteKey::Token(token) => conn
                        .prepare_cached(
                            "DELETE FROM invites WHERE host = ?1 AND token_hash = ?2 RETURNING id",
                        )?
                        .query_row(params![host.as_str(), secrets::hash(token)], |r| r.get(0)),
                }
                .optional()?;
                let id = deleted.ok_or(ServiceError::NotFound("invite"))?;
                audit::insert(
                    conn,
                    &Entry::new(&actor, AuditAction::InviteRevoke)
                        .host(&host)
                        .subject(id),
                )
            })
            .await
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

    /// Creates `new` for `actor`, recorded in the audit log.
    pub async fn create(
        &self,
        actor: &Actor,
        new: NewInvite,
    ) -> Result<CreatedInvite, ServiceError> {
        let row = self.prepare(new);
        let actor = actor.clone();
        let row = self
            .db
            .call(move |conn| -> Result<InviteRow, ServiceError> {
                insert_recorded(conn, &row, None, &actor)?;
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
                    .prepare_cached(concat!(
                        "SELECT host, kind, jid, expires_at FROM invites
                         WHERE token_hash = :hash AND ",
                        redeemable!()
                    ))?
                    .query_row(
                        named_params! {":hash": secrets::hash(&token), ":now": now()},
                        |r| {
                            Ok((
                                r.get::<_, String>(0)?,
                                r.get::<_, String>(1)?,
                                r.get(2)?,
                                r.get(3)?,
                            ))
                        },
                    )
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

    /// Deletes the invites that expired, with their redemptions (by
    /// cascade); returns how many. Used-up invites stay until they expire,
    /// so `invite list --all` and `invite show` can tell who used them;
    /// nothing redeems them meanwhile, as every door checks `uses_left`.
    pub async fn purge(&self) -> Result<usize, ServiceError> {
        self.db
            .call(|conn| -> Result<usize, ServiceError> {
                Ok(conn.execute("DELETE FROM invites WHERE expires_at < ?1", params![now()])?)
            })
            .await
    }
}

/// How an admin names an invite: by its number, or by its token.
enum InviteKey {
    Id(i64),
    Token(String),
}

impl InviteKey {
    /// All digits is an id. Tokens are 24 base64url characters, so one made
    /// only of digits is vanishingly unlikely, and `+7` or `-7` (which
    /// `i64` would accept) are taken as tokens, not ids.
    fn parse(text: &str) -> InviteKey {
        match text.parse::<i64>() {
            Ok(id) if text.bytes().all(|b| b.is_ascii_digit()) => InviteKey::Id(id),
            _ => InviteKey::Token(text.to_owned()),
        }
    }
}

/// The columns [`info_from_row`] reads, in its order.
const INFO_COLUMNS: &str = "id, kind, creator, created_at, expires_at, uses_left, jid, inviter";

/// An invite row as the admin protocol shows it, without its redemptions;
/// `now` decides whether it has expired.
fn info_from_row(r: &rusqlite::Row<'_>, now: i64) -> rusqlite::Result<InviteInfo> {
    let kind = kind_from_db(&r.get::<_, String>(1)?);
    let expires_at: i64 = r.get(4)?;
    let uses_left: Option<u32> = r.get(5)?;
    // A used-up invite reads "used" even once expired: that it did its job
    // says more than that its time ran out.
    let status = if uses_left == Some(0) {
        InviteStatus::Used
    } else if expires_at < now {
        InviteStatus::Expired
    } else {
        InviteStatus::Pending
    };
    let inviter = inviter_of(kind, r.get(6)?, r.get(7)?);
    Ok(InviteInfo {
        id: r.get(0)?,
        kind: kind.admin_type(),
        creator: r.get(2)?,
        created_at: r.get(3)?,
        expires_at,
        uses_left,
        status,
        inviter,
        redemptions: Vec::new(),
    })
}

/// Whom an invite makes a contact of, or who made it over XMPP: the local
/// account told when it is used. Contact invites name their inviter in
/// `jid`; account invites made by a user remember them in `inviter`.
pub(crate) fn inviter_of(kind: InviteKind, jid: String, inviter: Option<String>) -> Option<String> {
    match kind {
        InviteKind::Account => inviter,
        InviteKind::Contact | InviteKind::AccountAndContact => Some(jid),
    }
}

/// One use taken of an invite.
pub(crate) struct TakenUse {
    pub invite_id: i64,
    pub kind: InviteKind,
    pub inviter: Option<String>,
}

/// Takes one use of the redeemable invite behind `token` on `host`; with
/// `register`, only of a kind that lets its holder register. On the storage
/// thread, inside the job that creates what the invite grants, so that a
/// refusal later in that job gives the use back.
pub(crate) fn take_use(
    conn: &Connection,
    token: &str,
    host: &str,
    register: bool,
) -> Result<Option<TakenUse>, ServiceError> {
    let found = conn
        .prepare_cached(concat!(
            "UPDATE invites SET uses_left = uses_left - 1
             WHERE token_hash = :hash AND host = :host
               AND (NOT :register OR kind != 'contact') AND ",
            redeemable!(),
            " RETURNING id, kind, jid, inviter"
        ))?
        .query_row(
            named_params! {
                ":hash": secrets::hash(token),
                ":host": host,
                ":register": register,
                ":now": now(),
            },
            |r| {
                let kind = kind_from_db(&r.get::<_, String>(1)?);
                Ok(TakenUse {
                    invite_id: r.get(0)?,
                    kind,
                    inviter: inviter_of(kind, r.get(2)?, r.get(3)?),
                })
            },
        )
        .optional()?;
    Ok(found)
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

/// Writes an invite row and its `invite.create` audit entry by `actor`;
/// returns the invite's id. Runs on the storage thread.
pub(crate) fn insert_recorded(
    conn: &Connection,
    row: &InviteRow,
    api_key_id: Option<&str>,
    actor: &Actor,
) -> Result<i64, ServiceError> {
    insert(conn, row, api_key_id)?;
    let id = conn.last_insert_rowid();
    let mut entry = Entry::new(actor, AuditAction::InviteCreate)
        .host(&row.new.host)
        .subject(id)
        .detail(format!(
            "kind={} uses={}",
            row.new.kind.admin_type(),
            row.new
                .uses
                .map_or_else(|| "any".to_owned(), |u| u.to_string())
        ));
    let inviter = inviter_of(
        row.new.kind,
        row.new.jid.clone(),
        row.new.inviter.as_ref().map(ToString::to_string),
    );
    if let Some(inviter) = inviter {
        entry = entry.jid(inviter);
    }
    audit::insert(conn, &entry)?;
    Ok(id)
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
    use crate::services::audit::TEST_ADMIN;
    use roost_common::config::Synchronous;

    fn services() -> (tempfile::TempDir, Invites) {
        let dir = tempfile::tempdir().unwrap();
        let (db, _thread) = Db::open(&dir.path().join("t.sqlite3"), Synchronous::Normal).unwrap();
        let config = Arc::new(Config::default());
        let hosts = Hosts(config.clone());
        let audit = Audit::new(db.clone(), hosts.clone());
        let clients = crate::services::Clients::new(
            db.clone(),
            config.clone(),
            Default::default(),
            audit.clone(),
        );
        let accounts = Accounts::new(
            db.clone(),
            hosts.clone(),
            config.clone(),
            Default::default(),
            clients,
            audit.clone(),
        );
        (dir, Invites::new(db, hosts, accounts, config, audit))
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
            .create(
                &TEST_ADMIN,
                "bob@localhost",
                "pw",
                roost_common::admin::Role::User,
            )
            .await
            .unwrap();

        let (account_id, account) = invites
            .create_by_admin(&TEST_ADMIN, admin(InviteType::Account, None))
            .await
            .unwrap();
        assert_eq!(account.kind, InviteKind::Account);
        let (contact_id, contact) = invites
            .create_by_admin(
                &TEST_ADMIN,
                admin(InviteType::Contact, Some("Bob@localhost")),
            )
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
            .create_by_admin(
                &TEST_ADMIN,
                AdminInvite {
                    ttl: Some(Duration::from_secs(60)),
                    uses: 3,
                    ..admin(InviteType::Both, Some("bob@localhost"))
                },
            )
            .await
            .unwrap();
        assert!(both.uri.ends_with(";ibr=y"));
        assert!(both.expires_at <= now() + 60);

        let listed = invites.list("localhost", false).await.unwrap();
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[0].id, account_id);
        assert_eq!(listed[0].kind, InviteType::Account);
        assert_eq!(listed[0].creator, "admin");
        assert_eq!(listed[0].uses_left, Some(1));
        assert_eq!(listed[2].kind, InviteType::Both);
        assert_eq!(listed[2].uses_left, Some(3));

        invites
            .revoke(&TEST_ADMIN, "localhost", &account_id.to_string())
            .await
            .unwrap();
        invites
            .revoke(&TEST_ADMIN, "localhost", contact.token.as_str())
            .await
            .unwrap();
        assert!(
            invites
                .find_valid(contact.token.as_str())
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(invites.list("localhost", false).await.unwrap().len(), 1);
        assert!(matches!(
            invites
                .revoke(&TEST_ADMIN, "localhost", &contact_id.to_string())
                .await,
            Err(ServiceError::NotFound("invite"))
        ));
        assert!(matches!(
            invites.revoke(&TEST_ADMIN, "localhost", "nonsense").await,
            Err(ServiceError::NotFound("invite"))
        ));
        assert!(matches!(
            invites.list("elsewhere.example", false).await,
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
                    .create_by_admin(&TEST_ADMIN, admin(InviteType::Contact, None))
                    .await
            ),
            ServiceError::Invalid(m) if m.contains("needs an inviter")
        ));
        assert!(matches!(
            refused(
                invites
                    .create_by_admin(
                        &TEST_ADMIN,
                        admin(InviteType::Both, Some("nobody@localhost"))
                    )
                    .await
            ),
            ServiceError::NotFound(_)
        ));
        assert!(matches!(
            refused(
                invites
                    .create_by_admin(
                        &TEST_ADMIN,
                        AdminInvite {
                            uses: 0,
                            ..admin(InviteType::Account, None)
                        }
                    )
                    .await
            ),
            ServiceError::Invalid(_)
        ));
        assert!(matches!(
            refused(
                invites
                    .create_by_admin(
                        &TEST_ADMIN,
                        AdminInvite {
                            host: "elsewhere.example",
                            ..admin(InviteType::Account, None)
                        }
                    )
                    .await
            ),
            ServiceError::UnknownHost(_)
        ));
        assert!(invites.list("localhost", false).await.unwrap().is_empty());
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
    async fn expired_and_used_up_invites_are_invalid_and_expired_ones_purged() {
        let (_dir, invites) = services();
        let live = invites.create(&TEST_ADMIN, account(Some(1))).await.unwrap();
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

        // Only the expired one goes: the used-up one stays until it expires.
        assert_eq!(invites.purge().await.unwrap(), 1);
        assert!(
            invites
                .find_valid(live.token.as_str())
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            invites
                .show("localhost", used_token.as_str())
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            invites
                .show("localhost", expired_token.as_str())
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(invites.purge().await.unwrap(), 0);
    }

    /// Takes one use of invite `id` for `jid` at `at`, as onboarding does
    /// (which has its own tests); returns whether there was a use left.
    async fn redeem(invites: &Invites, id: i64, jid: &str, at: i64) -> bool {
        let jid = jid.to_owned();
        invites
            .db
            .call(move |conn| -> Result<bool, ServiceError> {
                let taken = conn.execute(
                    "UPDATE invites SET uses_left = uses_left - 1
                     WHERE id = ?1 AND (uses_left IS NULL OR uses_left > 0)",
                    [id],
                )?;
                if taken == 1 {
                    conn.execute(
                        "INSERT INTO invite_redemptions (invite_id, jid, redeemed_at)
                         VALUES (?1, ?2, ?3)",
                        params![id, jid, at],
                    )?;
                }
                Ok(taken == 1)
            })
            .await
            .unwrap()
    }

    async fn redemption_rows(invites: &Invites) -> i64 {
        invites
            .db
            .call(|conn| -> Result<i64, ServiceError> {
                Ok(conn.query_row("SELECT count(*) FROM invite_redemptions", [], |r| r.get(0))?)
            })
            .await
            .unwrap()
    }

    fn redemption(jid: &str, redeemed_at: i64) -> RedemptionInfo {
        RedemptionInfo {
            jid: jid.into(),
            redeemed_at,
        }
    }

    #[tokio::test]
    async fn list_shows_redemptions_and_all_adds_used_up_invites() {
        let (_dir, invites) = services();
        invites
            .accounts
            .create(
                &TEST_ADMIN,
                "bob@localhost",
                "pw",
                roost_common::admin::Role::User,
            )
            .await
            .unwrap();
        let (single, _) = invites
            .create_by_admin(&TEST_ADMIN, admin(InviteType::Account, None))
            .await
            .unwrap();
        let (multi, _) = invites
            .create_by_admin(
                &TEST_ADMIN,
                AdminInvite {
                    uses: 3,
                    ..admin(InviteType::Both, Some("bob@localhost"))
                },
            )
            .await
            .unwrap();
        let (untouched, _) = invites
            .create_by_admin(&TEST_ADMIN, admin(InviteType::Account, None))
            .await
            .unwrap();

        assert!(redeem(&invites, single, "carol@localhost", 1_000).await);
        assert!(!redeem(&invites, single, "mallory@localhost", 1_001).await);
        // Recorded out of order: listed by time.
        assert!(redeem(&invites, multi, "erin@localhost", 2_000).await);
        assert!(redeem(&invites, multi, "dave@localhost", 1_500).await);

        let pending = invites.list("localhost", false).await.unwrap();
        let ids: Vec<i64> = pending.iter().map(|i| i.id).collect();
        assert_eq!(ids, [multi, untouched], "the used-up one is not pending");
        assert_eq!(pending[0].status, InviteStatus::Pending);
        assert_eq!(pending[0].uses_left, Some(1));
        assert_eq!(pending[0].inviter.as_deref(), Some("bob@localhost"));
        assert_eq!(
            pending[0].redemptions,
            [
                redemption("dave@localhost", 1_500),
                redemption("erin@localhost", 2_000)
            ]
        );
        assert!(pending[1].redemptions.is_empty());
        assert_eq!(pending[1].inviter, None);

        let all = invites.list("localhost", true).await.unwrap();
        let ids: Vec<i64> = all.iter().map(|i| i.id).collect();
        assert_eq!(ids, [single, multi, untouched]);
        assert_eq!(all[0].status, InviteStatus::Used);
        assert_eq!(all[0].uses_left, Some(0));
        assert_eq!(all[0].redemptions, [redemption("carol@localhost", 1_000)]);
        assert_eq!(all[1], pending[0]);

        // Expired invites are in neither list, whatever their uses.
        let mut expired = invites.prepare(account(Some(1)));
        expired.expires_at = now() - 1;
        invites
            .db
            .call(move |conn| -> Result<(), ServiceError> { insert(conn, &expired, None) })
            .await
            .unwrap();
        assert_eq!(invites.list("localhost", true).await.unwrap().len(), 3);
        assert!(matches!(
            invites.list("elsewhere.example", true).await,
            Err(ServiceError::UnknownHost(_))
        ));
    }

    #[tokio::test]
    async fn show_finds_an_invite_by_id_or_token_whatever_its_status() {
        let (_dir, invites) = services();
        invites
            .accounts
            .create(
                &TEST_ADMIN,
                "bob@localhost",
                "pw",
                roost_common::admin::Role::User,
            )
            .await
            .unwrap();
        let (id, created) = invites
            .create_by_admin(
                &TEST_ADMIN,
                admin(InviteType::Contact, Some("bob@localhost")),
            )
            .await
            .unwrap();
        let shown = invites
            .show("localhost", &id.to_string())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(shown.id, id);
        assert_eq!(shown.kind, InviteType::Contact);
        assert_eq!(shown.status, InviteStatus::Pending);
        assert_eq!(shown.creator, "admin");
        assert_eq!(shown.inviter.as_deref(), Some("bob@localhost"));
        assert_eq!(shown.expires_at, created.expires_at);
        assert!(shown.redemptions.is_empty());

        assert!(redeem(&invites, id, "carol@localhost", 1_234).await);
        let by_token = invites
            .show("localhost", created.token.as_str())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_token.id, id);
        assert_eq!(by_token.status, InviteStatus::Used);
        assert_eq!(by_token.uses_left, Some(0));
        assert_eq!(by_token.redemptions, [redemption("carol@localhost", 1_234)]);

        // An expired invite with uses left, until it is purged.
        let mut expired = invites.prepare(account(None));
        expired.expires_at = now() - 1;
        let expired_token = expired.token.clone();
        invites
            .db
            .call(move |conn| -> Result<(), ServiceError> { insert(conn, &expired, None) })
            .await
            .unwrap();
        let shown = invites
            .show("localhost", expired_token.as_str())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(shown.status, InviteStatus::Expired);
        assert_eq!(shown.uses_left, None);

        for unknown in ["9999", "+1", "AbCdEfGhIjKlMnOpQrStUvWx", ""] {
            assert!(
                invites.show("localhost", unknown).await.unwrap().is_none(),
                "{unknown:?}"
            );
        }
        assert!(matches!(
            invites.show("elsewhere.example", &id.to_string()).await,
            Err(ServiceError::UnknownHost(_))
        ));
    }

    #[tokio::test]
    async fn purge_keeps_used_up_invites_until_they_expire() {
        let (_dir, invites) = services();
        let (used, _) = invites
            .create_by_admin(&TEST_ADMIN, admin(InviteType::Account, None))
            .await
            .unwrap();
        assert!(redeem(&invites, used, "carol@localhost", 1_000).await);
        let mut expired = invites.prepare(account(Some(2)));
        expired.expires_at = now() - 1;
        let expired_id = invites
            .db
            .call(move |conn| -> Result<i64, ServiceError> {
                insert(conn, &expired, None)?;
                Ok(conn.last_insert_rowid())
            })
            .await
            .unwrap();
        assert!(redeem(&invites, expired_id, "dave@localhost", 900).await);
        assert_eq!(redemption_rows(&invites).await, 2);

        assert_eq!(invites.purge().await.unwrap(), 1);
        let kept = invites
            .show("localhost", &used.to_string())
            .await
            .unwrap()
            .expect("a used-up invite stays until it expires");
        assert_eq!(kept.redemptions, [redemption("carol@localhost", 1_000)]);
        assert!(
            invites
                .show("localhost", &expired_id.to_string())
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            redemption_rows(&invites).await,
            1,
            "the expired invite's redemptions go with it"
        );

        // Once the used-up invite expires, it goes too.
        invites
            .db
            .call(move |conn| -> Result<usize, ServiceError> {
                Ok(conn.execute(
                    "UPDATE invites SET expires_at = ?1 WHERE id = ?2",
                    params![now() - 1, used],
                )?)
            })
            .await
            .unwrap();
        assert_eq!(invites.purge().await.unwrap(), 1);
        assert_eq!(redemption_rows(&invites).await, 0);
        assert!(invites.list("localhost", true).await.unwrap().is_empty());
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
