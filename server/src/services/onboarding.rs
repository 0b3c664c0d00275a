//! Onboarding: who may create which invite, and redeeming invites, whatever
//! the door (in-band registration, the web form, a pre-authenticated
//! subscription).
//!
//! Redeeming is one storage job: the invite is checked (not expired, uses
//! left, the right kind), the account created, one use taken, the
//! redemption recorded and, for contact invites, the mutual subscription
//! written, all or nothing. Two clients racing with one single-use token
//! therefore get exactly one account, and a refused registration (taken or
//! invalid username, weak password) never consumes the token.

use std::net::IpAddr;
use std::sync::Arc;

use jid::{BareJid, FullJid};
use roost_common::config::Config;
use rusqlite::{Connection, params};

use super::accounts::{self, Role};
use super::audit::{self, Actor, Audit, AuditAction, Entry};
use super::events::{AccountEvent, Events, InviteUsed};
use super::invites::{self, CreatedInvite, Creator, InviteKind, NewInvite};
use super::registration_limits::{HourlyLimiter, RegistrationLimiter};
use super::rosters::{self, RosterPush, Subscription};
use super::sessions::LiveSession;
use super::{Accounts, Hosts, Invites, ServiceError, now, secrets};
use crate::storage::Db;

/// Why a registration was refused. Each door words these its own way
/// (XMPP error conditions, messages on the web form).
/// In-band password changes an account may make per hour: each costs a
/// PBKDF2 derivation, and ends the account's other sessions.
pub const PASSWORD_CHANGES_PER_HOUR: u32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("registration on this server is through invitation only")]
    InviteOnly,
    #[error("the invite is invalid, used or expired")]
    InviteInvalid,
    #[error("the username is invalid")]
    UsernameInvalid,
    #[error("the username is already taken")]
    UsernameTaken,
    #[error("{0}")]
    WeakPassword(String),
    /// Open registration from this address has reached
    /// `registration.max_registrations_per_address`; retry after this.
    #[error("too many registrations from this address recently")]
    TooManyRegistrations(std::time::Duration),
    /// The account changed its password [`PASSWORD_CHANGES_PER_HOUR`]
    /// times within the hour; retry after this.
    #[error("too many password changes recently; retry in {} s", .0.as_secs().max(1))]
    TooManyPasswordChanges(std::time::Duration),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl RegistrationError {
    /// The short code the audit log records.
    fn code(&self) -> &'static str {
        match self {
            RegistrationError::InviteOnly => "invite_only",
            RegistrationError::InviteInvalid => "invite_invalid",
            RegistrationError::UsernameInvalid => "username_invalid",
            RegistrationError::UsernameTaken => "username_taken",
            RegistrationError::WeakPassword(_) => "weak_password",
            RegistrationError::TooManyRegistrations(_)
            | RegistrationError::TooManyPasswordChanges(_) => "rate_limited",
            RegistrationError::Service(e) => audit::code(e),
        }
    }
}

impl From<crate::storage::StorageError> for RegistrationError {
    fn from(e: crate::storage::StorageError) -> Self {
        RegistrationError::Service(e.into())
    }
}

impl From<rusqlite::Error> for RegistrationError {
    fn from(e: rusqlite::Error) -> Self {
        RegistrationError::Service(e.into())
    }
}

/// Why a user's ad-hoc invite was not created.
#[derive(Debug, thiserror::Error)]
pub enum UserInviteError {
    /// A non-admin user created `limits.user_invites_per_day` in the last 24 hours.
    #[error("you may create {0} invites a day; try again later")]
    DailyLimit(usize),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl UserInviteError {
    /// The short code the audit log records.
    fn code(&self) -> &'static str {
        match self {
            UserInviteError::DailyLimit(_) => "daily_limit",
            UserInviteError::Service(e) => audit::code(e),
        }
    }
}

impl From<crate::storage::StorageError> for UserInviteError {
    fn from(e: crate::storage::StorageError) -> Self {
        UserInviteError::Service(e.into())
    }
}

impl From<rusqlite::Error> for UserInviteError {
    fn from(e: rusqlite::Error) -> Self {
        UserInviteError::Service(e.into())
    }
}

/// The window `limits.user_invites_per_day` counts in, in seconds.
const INVITE_DAY_SECS: i64 = 24 * 3600;

/// What an XMPP user asks for with an ad-hoc command (XEP-0401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserInviteRequest {
    /// `urn:xmpp:invite#invite`: become my contact (and register here, when
    /// the user may invite new users).
    Contact,
    /// `urn:xmpp:invite#create-account`: an account invite; admins only.
    Account,
}

/// A valid invite that lets its holder register.
#[derive(Debug, Clone)]
pub struct RegistrationInvite {
    pub host: String,
    pub kind: InviteKind,
    /// The account whose contact the new user becomes, for contact kinds.
    pub inviter: Option<BareJid>,
    pub uri: String,
    pub expires_at: i64,
}

#[derive(Clone)]
pub struct Onboarding {
    db: Db,
    hosts: Hosts,
    accounts: Accounts,
    invites: Invites,
    config: Arc<Config>,
    events: Events,
    audit: Audit,
    /// `admins` from the config, normalised once.
    admins: Arc<Vec<BareJid>>,
    /// Open registrations per address.
    open_limits: RegistrationLimiter,
    /// In-band password changes per account: each costs a key derivation.
    password_changes: HourlyLimiter<BareJid>,
}

impl Onboarding {
    pub fn new(
        db: Db,
        hosts: Hosts,
        accounts: Accounts,
        invites: Invites,
        config: Arc<Config>,
        events: Events,
        audit: Audit,
    ) -> Onboarding {
        let admins = config
            .admins
            .iter()
            .filter_map(|a| accounts.parse_jid(a).ok())
            .collect();
        let open_limits =
            RegistrationLimiter::new(config.registration.max_registrations_per_address);
        Onboarding {
            open_limits,
            password_changes: HourlyLimiter::new(PASSWORD_CHANGES_PER_HOUR),
            db,
            hosts,
            accounts,
            invites,
            config,
            events,
            audit,
            admins: Arc::new(admins),
        }
    }

    /// Whether `jid` administers its host: named in `admins`, or given the
    /// admin role.
    pub async fn is_admin(&self, jid: &BareJid) -> Result<bool, ServiceError> {
        Ok(self.admins.contains(jid) || self.accounts.role(jid).await? == Some(Role::Admin))
    }

    /// Whether `requester` may run the ad-hoc command for `request` on
    /// `host`: the commands are for the host's own users.
    pub async fn may_create(
        &self,
        requester: &BareJid,
        host: &str,
        request: UserInviteRequest,
    ) -> Result<bool, ServiceError> {
        if requester.domain().as_str() != host || requester.node().is_none() {
            return Ok(false);
        }
        Ok(match request {
            UserInviteRequest::Account => self.is_admin(requester).await?,
            UserInviteRequest::Contact => {
                self.config.invites.allow_contact_invites || self.is_admin(requester).await?
            }
        })
    }

    /// Creates the invite an XMPP user asked for on `host`. A contact invite
    /// also allows registration when the user is an admin or
    /// `allow_user_invites` is on (Prosody's rule). A non-admin user may
    /// create `limits.user_invites_per_day` in any 24 hours.
    pub async fn create_for_user(
        &self,
        requester: &FullJid,
        host: &str,
        request: UserInviteRequest,
    ) -> Result<CreatedInvite, UserInviteError> {
        let actor = Actor::Xmpp {
            jid: requester.to_bare().to_string(),
        };
        let result = self
            .create_for_user_checked(&actor, requester, host, request)
            .await;
        if let Err(e) = &result {
            let entry = Entry::new(&actor, AuditAction::InviteCreate)
                .host(host)
                .outcome(e.code());
            self.audit.refused(entry).await;
        }
        result
    }

    async fn create_for_user_checked(
        &self,
        actor: &Actor,
        requester: &FullJid,
        host: &str,
        request: UserInviteRequest,
    ) -> Result<CreatedInvite, UserInviteError> {
        let user = requester.to_bare();
        let host = self.hosts.resolve(host)?;
        if !self.may_create(&user, host.as_str(), request).await? {
            return Err(ServiceError::Forbidden(match request {
                UserInviteRequest::Account => "only admins may create account invites",
                UserInviteRequest::Contact => "contact invites are for admins only here",
            })
            .into());
        }
        let admin = self.is_admin(&user).await?;
        if !admin {
            self.count_user_invite(&user).await?;
        }
        let (kind, jid) = match request {
            UserInviteRequest::Account => (InviteKind::Account, host.to_string()),
            UserInviteRequest::Contact => {
                let register = self.config.invites.allow_user_invites || admin;
                let kind = if register {
                    InviteKind::AccountAndContact
                } else {
                    InviteKind::Contact
                };
                (kind, user.to_string())
            }
        };
        self.invites
            .create(
                actor,
                NewInvite {
                    host,
                    kind,
                    jid,
                    creator: Creator::User(requester.to_string()),
                    inviter: Some(user),
                    ttl: None,
                    uses: Some(1),
                },
            )
            .await
            .map_err(UserInviteError::from)
    }

    /// Counts one more invite of `user`'s against the daily allowance, in
    /// one storage job (so concurrent sessions cannot both take the last
    /// one), forgetting those older than a day. Refused when none is left;
    /// a count taken for an invite that then fails is not given back.
    async fn count_user_invite(&self, user: &BareJid) -> Result<(), UserInviteError> {
        let per_day = self.config.limits.get().user_invites_per_day;
        let host = user.domain().as_str().to_owned();
        let username = user.node().map_or("", |n| n.as_str()).to_owned();
        self.db
            .call(move |conn| -> Result<(), UserInviteError> {
                let now = now();
                conn.prepare_cached(
                    "DELETE FROM user_invites_created
                     WHERE host = ?1 AND username = ?2 AND created_at <= ?3",
                )?
                .execute(params![host, username, now - INVITE_DAY_SECS])?;
                let created: i64 = conn
                    .prepare_cached(
                        "SELECT count(*) FROM user_invites_created
                         WHERE host = ?1 AND username = ?2",
                    )?
                    .query_row(params![host, username], |r| r.get(0))?;
                if usize::try_from(created).unwrap_or(usize::MAX) >= per_day {
                    return Err(UserInviteError::DailyLimit(per_day));
                }
                conn.prepare_cached(
                    "INSERT INTO user_invites_created (host, username, created_at)
                     VALUES (?1, ?2, ?3)",
                )?
                .execute(params![host, username, now])?;
                Ok(())
            })
            .await
    }

    /// The invite behind `token` if it lets its holder register now.
    pub async fn registration_invite(
        &self,
        token: &str,
    ) -> Result<RegistrationInvite, RegistrationError> {
        let invite = self
            .invites
            .find_valid(token)
            .await?
            .filter(|i| i.kind.allows_registration())
            .ok_or(RegistrationError::InviteInvalid)?;
        let inviter =
            invites::inviter_of(invite.kind, invite.jid, None).and_then(|j| BareJid::new(&j).ok());
        Ok(RegistrationInvite {
            host: invite.host,
            kind: invite.kind,
            inviter,
            uri: invite.uri,
            expires_at: invite.expires_at,
        })
    }

    /// The password rules (`registration.min_password_length`, and not
    /// containing the username).
    pub fn check_password(&self, username: &str, password: &str) -> Result<(), RegistrationError> {
        let min = self.config.registration.min_password_length;
        if password.chars().count() < min {
            return Err(RegistrationError::WeakPassword(format!(
                "Password is too short (minimum {min} characters)"
            )));
        }
        if username.chars().count() >= 3
            && password.to_lowercase().contains(&username.to_lowercase())
        {
            return Err(RegistrationError::WeakPassword(
                "Password must not include your username".into(),
            ));
        }
        Ok(())
    }

    /// A user changes their own password from `session` (XEP-0077 §3.3):
    /// the same password rules as at registration; every other session
    /// ends, `session` keeps running.
    pub async fn change_password(
        &self,
        session: &LiveSession,
        password: &str,
    ) -> Result<(), RegistrationError> {
        let username = session.jid.node().map_or("", |n| n.as_str());
        self.check_password(username, password)?;
        let user = session.jid.to_bare();
        let actor = Actor::Xmpp {
            jid: user.to_string(),
        };
        let change = match self.password_changes.begin_for(user.clone()) {
            Ok(change) => change,
            Err(retry) => {
                let refused = RegistrationError::TooManyPasswordChanges(retry);
                let entry = Entry::new(&actor, AuditAction::AccountPassword)
                    .jid(&user)
                    .outcome(refused.code());
                self.audit.refused(entry).await;
                return Err(refused);
            }
        };
        self.accounts
            .set_password(&actor, &user.to_string(), password, Some(session))
            .await?;
        change.made();
        Ok(())
    }

    /// The normalised username (nodeprep) for `username` on `host`.
    pub fn normalise_username(
        &self,
        host: &str,
        username: &str,
    ) -> Result<BareJid, RegistrationError> {
        if username.is_empty() || username.contains(['@', '/']) {
            return Err(RegistrationError::UsernameInvalid);
        }
        self.accounts
            .parse_jid(&format!("{username}@{host}"))
            .map_err(|e| match e {
                ServiceError::UnknownHost(h) => ServiceError::UnknownHost(h).into(),
                _ => RegistrationError::UsernameInvalid,
            })
    }

    /// Registers `username` on `host` with an invite: one use of the
    /// invite behind `token` is taken (it must be for `host`). `actor` is
    /// the door and address it came from (the web form, an XMPP
    /// connection).
    pub async fn register(
        &self,
        actor: &Actor,
        host: &str,
        token: &str,
        username: &str,
        password: &str,
    ) -> Result<BareJid, RegistrationError> {
        self.create_account(actor, host, Some(token), username, password)
            .await
    }

    /// Registers `username` on `host` without an invite, for someone at
    /// `source`: registration must be open (`registration.invite_only =
    /// false`), and the address within its
    /// `registration.max_registrations_per_address`.
    pub async fn register_open(
        &self,
        actor: &Actor,
        host: &str,
        source: IpAddr,
        username: &str,
        password: &str,
    ) -> Result<BareJid, RegistrationError> {
        if self.config.registration.invite_only {
            return Err(RegistrationError::InviteOnly);
        }
        let pending = match self.open_limits.begin(source) {
            Ok(pending) => pending,
            Err(retry) => {
                let refused = RegistrationError::TooManyRegistrations(retry);
                self.refused_registration(actor, host, false, &refused)
                    .await;
                return Err(refused);
            }
        };
        let jid = self
            .create_account(actor, host, None, username, password)
            .await?;
        pending.made();
        Ok(jid)
    }

    /// Creates the account, taking one use of the invite behind `token`
    /// if there is one; recorded as `invite.redeem` with an invite,
    /// `account.create` without, a refusal within the refusal allowance.
    async fn create_account(
        &self,
        actor: &Actor,
        host: &str,
        token: Option<&str>,
        username: &str,
        password: &str,
    ) -> Result<BareJid, RegistrationError> {
        let result = self
            .create_account_checked(actor, host, token, username, password)
            .await;
        if let Err(e) = &result {
            self.refused_registration(actor, host, token.is_some(), e)
                .await;
        }
        result
    }

    async fn refused_registration(
        &self,
        actor: &Actor,
        host: &str,
        with_invite: bool,
        error: &RegistrationError,
    ) {
        let action = if with_invite {
            AuditAction::InviteRedeem
        } else {
            AuditAction::AccountCreate
        };
        let entry = Entry::new(actor, action)
            .host(host)
            .detail(format!("door={}", door(actor)))
            .outcome(error.code());
        self.audit.refused(entry).await;
    }

    async fn create_account_checked(
        &self,
        actor: &Actor,
        host: &str,
        token: Option<&str>,
        username: &str,
        password: &str,
    ) -> Result<BareJid, RegistrationError> {
        let jid = self.normalise_username(host, username)?;
        let node = jid.node().map_or("", |n| n.as_str()).to_owned();
        self.check_password(&node, password)?;
        let invite = match token {
            Some(token) => {
                let invite = self.registration_invite(token).await?;
                if invite.host != jid.domain().as_str() {
                    return Err(RegistrationError::InviteInvalid);
                }
                Some(token.to_owned())
            }
            None if self.config.registration.invite_only => {
                return Err(RegistrationError::InviteOnly);
            }
            None => None,
        };
        // Answer a taken name before the deliberately slow key derivation;
        // the job below checks again.
        if self.accounts.exists(&jid).await? {
            return Err(RegistrationError::UsernameTaken);
        }
        let credentials = self.accounts.derive(password).await?;
        let new_user = jid.clone();
        let max_items = self.config.limits.get().roster_items;
        // Delegated rosters come from their service only: a contact invite
        // still registers, but makes no roster items there.
        let config = self.config.clone();
        let recorded = Entry::new(actor, AuditAction::AccountCreate)
            .jid(&jid)
            .detail(format!("door={}", door(actor)));
        let outcome = self
            .db
            .call(move |conn| -> Result<Option<Redeemed>, RegistrationError> {
                let redeemed = match &invite {
                    Some(token) => Some(
                        take_use(conn, token, new_user.domain().as_str(), true)?
                            .ok_or(RegistrationError::InviteInvalid)?,
                    ),
                    None => None,
                };
                if !accounts::insert(conn, &new_user, Role::User, &credentials)? {
                    return Err(RegistrationError::UsernameTaken);
                }
                let Some(mut redeemed) = redeemed else {
                    audit::insert(conn, &recorded)?;
                    return Ok(None);
                };
                record(conn, redeemed.invite_id, &new_user)?;
                let recorded = Entry {
                    action: AuditAction::InviteRedeem,
                    ..recorded
                }
                .subject(redeemed.invite_id);
                audit::insert(conn, &recorded)?;
                if redeemed.kind != InviteKind::Account
                    && let Some(inviter) = &redeemed.inviter
                    && !config.delegates_rosters(inviter.domain().as_str())
                    && !config.delegates_rosters(new_user.domain().as_str())
                {
                    redeemed.pushes = mutual(conn, inviter, &new_user, max_items)?;
                }
                Ok(Some(redeemed))
            })
            .await?;
        if let Some(redeemed) = outcome {
            self.announce(redeemed, &jid, true);
        }
        Ok(jid)
    }

    /// XEP-0379: `invitee` (a local account) presents `token` in a
    /// subscription request to `inviter`. A valid contact invite of
    /// `inviter`'s makes the two mutual contacts and is used up; anything
    /// else returns `false` and the request is an ordinary one.
    pub async fn redeem_contact(
        &self,
        token: &str,
        inviter: &BareJid,
        invitee: &BareJid,
    ) -> Result<bool, ServiceError> {
        if inviter == invitee || !secrets::is_base64url(token) {
            return Ok(false);
        }
        let (token, inviter, invitee) = (token.to_owned(), inviter.clone(), invitee.clone());
        let new_contact = invitee.clone();
        let max_items = self.config.limits.get().roster_items;
        let recorded = Entry::new(
            &Actor::Xmpp {
                jid: invitee.to_string(),
            },
            AuditAction::InviteRedeem,
        )
        .jid(&invitee)
        .detail("door=subscription");
        let outcome = self
            .db
            .call(move |conn| -> Result<Option<Redeemed>, ServiceError> {
                let Some(mut redeemed) = take_use(conn, &token, inviter.domain().as_str(), false)?
                else {
                    return Ok(None);
                };
                if redeemed.kind == InviteKind::Account
                    || redeemed.inviter.as_ref() != Some(&inviter)
                {
                    // Not this inviter's contact invite: undone by the error.
                    return Err(ServiceError::NotFound("invite"));
                }
                record(conn, redeemed.invite_id, &invitee)?;
                audit::insert(conn, &recorded.subject(redeemed.invite_id))?;
                redeemed.pushes = mutual(conn, &inviter, &invitee, max_items)?;
                Ok(Some(redeemed))
            })
            .await;
        match outcome {
            Ok(Some(redeemed)) => {
                self.announce(redeemed, &new_contact, false);
                Ok(true)
            }
            Ok(None) | Err(ServiceError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn announce(&self, redeemed: Redeemed, invitee: &BareJid, registered: bool) {
        self.events.emit(AccountEvent::InviteUsed(InviteUsed {
            inviter: redeemed.inviter,
            invitee: invitee.clone(),
            registered,
            pushes: redeemed.pushes,
            notify: self.config.invites.notify_inviter,
        }));
    }
}

/// The door a registration came through, as the audit log names it.
fn door(actor: &Actor) -> &'static str {
    match actor {
        Actor::Web { .. } => "web",
        Actor::Connection { .. } => "in_band_registration",
        other => other.kind(),
    }
}

/// One use taken of an invite, and what it changed.
struct Redeemed {
    invite_id: i64,
    kind: InviteKind,
    inviter: Option<BareJid>,
    pushes: Vec<(BareJid, RosterPush)>,
}

/// Takes one use of the invite (see [`invites::take_use`]) and reads whom
/// it concerns.
fn take_use(
    conn: &Connection,
    token: &str,
    host: &str,
    register: bool,
) -> Result<Option<Redeemed>, ServiceError> {
    Ok(
        invites::take_use(conn, token, host, register)?.map(|taken| Redeemed {
            invite_id: taken.invite_id,
            kind: taken.kind,
            inviter: taken.inviter.and_then(|j| BareJid::new(&j).ok()),
            pushes: Vec::new(),
        }),
    )
}

fn record(conn: &Connection, invite_id: i64, jid: &BareJid) -> Result<(), ServiceError> {
    conn.prepare_cached(
        "INSERT INTO invite_redemptions (invite_id, jid, redeemed_at) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![invite_id, jid.to_string(), now()])?;
    Ok(())
}

/// Makes `a` and `b` (both local accounts) mutual contacts; the roster
/// changes to push. Refused when either roster is full.
fn mutual(
    conn: &Connection,
    a: &BareJid,
    b: &BareJid,
    max_items: usize,
) -> Result<Vec<(BareJid, RosterPush)>, ServiceError> {
    let mut pushes = Vec::new();
    for (user, contact) in [(a, b), (b, a)] {
        if let Some(push) =
            rosters::set_subscription(conn, user, contact, Subscription::Both, max_items)?
        {
            pushes.push((user.clone(), push));
        }
    }
    Ok(pushes)
}

#[cfg(test)]
mod tests;
