//! The audit log (issue 12): every change an admin, an API key or a user
//! makes, and every security event, recorded once with time, actor, action,
//! host, account, subject and outcome.
//!
//! A change is recorded by [`insert`] inside the storage job that makes it,
//! so both are committed together or neither is. Refusals and failures are
//! written by a separate job afterwards ([`Audit::refused`]), since the
//! job that failed is rolled back; events that are no storage job (a login
//! lock-out) are written the same way.
//!
//! The log must stay bounded whatever strangers do, so what they can cause
//! at will is rate-limited ([`limiter`]): refusals by anyone but an admin
//! (a bad API key hammered at the invite API, a user over their invite
//! allowance, a wrong invite token) and lock-outs. Past the allowance an
//! entry is counted instead of written, and the next one written says how
//! many were left out. Successes need no such limit: each is bounded by the
//! rule that lets it happen (an invite used, the registration and password
//! change limits, accounts existing).
//!
//! Never recorded: a password, an API key's secret, an invite's token, a
//! FAST token. Invites are named by their numeric id, keys by their public
//! id, and error messages (which could echo input) are not stored, only a
//! short code.

mod limiter;
mod store;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::sync::Arc;

use roost_common::admin::{AuditEntry, AuditQuery, DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT};

pub use roost_common::admin::{AuditAction, AuditActor as Actor};

use super::{Hosts, ServiceError};
use crate::storage::Db;
use limiter::{Budget, Limiter};

pub(crate) use store::insert;

/// The actor of service calls made by unit tests.
#[cfg(test)]
pub const TEST_ADMIN: Actor = Actor::Admin { uid: 0 };

/// Longest text kept of a subject, account or detail, in characters; they
/// may come from strangers.
const MAX_TEXT_CHARS: usize = 300;

/// One entry about to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub actor: Actor,
    pub action: AuditAction,
    pub host: Option<String>,
    pub jid: Option<String>,
    pub subject: Option<String>,
    pub detail: Option<String>,
    /// `ok` or a refusal code.
    pub outcome: Cow<'static, str>,
}

impl Entry {
    /// A successful `action` by `actor`; add what it concerns with the
    /// builder methods.
    pub fn new(actor: &Actor, action: AuditAction) -> Entry {
        Entry {
            actor: actor.clone(),
            action,
            host: None,
            jid: None,
            subject: None,
            detail: None,
            outcome: Cow::Borrowed("ok"),
        }
    }

    /// Lower-cased as stored, so that `--host` finds a refusal of what an
    /// admin typed in capitals.
    pub fn host(mut self, host: impl ToString) -> Entry {
        self.host = Some(host.to_string().to_ascii_lowercase());
        self
    }

    /// The account concerned, normalised as stored when it is a JID (so
    /// that `--jid` finds a refusal of `Alice@Example.COM`); its host
    /// becomes the entry's host unless one was given.
    pub fn jid(mut self, jid: impl ToString) -> Entry {
        let typed = jid.to_string();
        let jid = jid::BareJid::new(&typed).map_or(typed, |jid| jid.to_string());
        if self.host.is_none()
            && let Some((_, host)) = jid.split_once('@')
        {
            self.host = Some(host.split('/').next().unwrap_or(host).to_owned());
        }
        self.jid = Some(jid);
        self
    }

    pub fn subject(mut self, subject: impl ToString) -> Entry {
        self.subject = Some(subject.to_string());
        self
    }

    pub fn detail(mut self, detail: impl ToString) -> Entry {
        self.detail = Some(detail.to_string());
        self
    }

    /// The same entry, refused or failed for `code`.
    pub fn outcome(mut self, code: &'static str) -> Entry {
        self.outcome = Cow::Borrowed(code);
        self
    }
}

/// The short code an error is recorded as.
pub fn code(error: &ServiceError) -> &'static str {
    match error {
        ServiceError::Invalid(_) => "invalid",
        ServiceError::UnknownHost(_) => "unknown_host",
        ServiceError::NotFound(_) => "not_found",
        ServiceError::Conflict(_) => "conflict",
        ServiceError::Unauthenticated(_) => "unauthenticated",
        ServiceError::Forbidden(_) => "forbidden",
        ServiceError::Storage(_) => "storage_error",
    }
}

#[derive(Clone)]
pub struct Audit {
    db: Db,
    hosts: Hosts,
    limiter: Arc<Limiter>,
}

impl Audit {
    /// The log in `db`, kept for `audit.retention` of the hosts' config.
    pub fn new(db: Db, hosts: Hosts) -> Audit {
        Audit {
            db,
            hosts,
            limiter: Arc::default(),
        }
    }

    /// Records `entry`, refused or failed (its outcome a code), in a job of
    /// its own: always for an admin, within the refusal allowance for
    /// anyone else.
    pub async fn refused(&self, entry: Entry) {
        let budget = match entry.actor {
            // Only root or roostd's own user can make the server act (a
            // SIGHUP), as only they reach the admin socket.
            Actor::Admin { .. } | Actor::Server => None,
            _ => Some(Budget::Refusals),
        };
        self.write(entry, budget).await;
    }

    /// Records a change made outside storage (a roster refresh, which
    /// fetches from elsewhere) once it is done, under the same rules as a
    /// refusal.
    pub async fn record_apart(&self, entry: Entry) {
        self.refused(entry).await;
    }

    /// Records `result`'s refusal, if it is one (see [`Audit::refused`]);
    /// a success was recorded by its own job.
    pub async fn settle<T>(
        &self,
        result: Result<T, ServiceError>,
        entry: impl FnOnce() -> Entry,
    ) -> Result<T, ServiceError> {
        if let Err(error) = &result {
            self.refused(entry().outcome(code(error))).await;
        }
        result
    }

    /// Records a security event that is no storage job of its own (a login
    /// lock-out), within its allowance. Callable without waiting, from code
    /// that is not async: the write runs in a task of its own.
    pub fn event(&self, entry: Entry) {
        let Some(entry) = self.admit(entry, Some(Budget::Events)) else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(action = %entry.action, "no runtime to record an audit entry on");
            return;
        };
        let audit = self.clone();
        runtime.spawn(async move { audit.store(entry).await });
    }

    /// Records that a process of another uid was refused the admin socket.
    pub async fn admin_refused(&self, uid: u32) {
        let entry =
            Entry::new(&Actor::Admin { uid }, AuditAction::AdminConnect).outcome("forbidden");
        self.write(entry, Some(Budget::Refusals)).await;
    }

    async fn write(&self, entry: Entry, budget: Option<Budget>) {
        if let Some(entry) = self.admit(entry, budget) {
            self.store(entry).await;
        }
    }

    /// `entry` if `budget` (if any) allows it, noting how many were left
    /// out before it; `None` when it must be left out.
    fn admit(&self, mut entry: Entry, budget: Option<Budget>) -> Option<Entry> {
        let Some(budget) = budget else {
            return Some(entry);
        };
        let left_out = self.limiter.admit(budget, entry.action)?;
        if left_out > 0 {
            let note = format!("{left_out} earlier not recorded (rate limit)");
            entry.detail = Some(match entry.detail.take() {
                Some(detail) => format!("{detail}; {note}"),
                None => note,
            });
        }
        Some(entry)
    }

    /// Writes `entry` in a storage job of its own; a failure is logged,
    /// as nobody waits for the entry.
    async fn store(&self, entry: Entry) {
        let action = entry.action;
        let written = self
            .db
            .call(move |conn| -> Result<(), ServiceError> { insert(conn, &entry) })
            .await;
        if let Err(e) = written {
            tracing::warn!(%action, "cannot record an audit entry: {e}");
        }
    }

    /// The entries matching `query`, newest first. A host must be one we
    /// serve (a typo says so rather than "nothing").
    pub async fn query(&self, query: AuditQuery) -> Result<Vec<AuditEntry>, ServiceError> {
        let host = query
            .host
            .as_deref()
            .map(|h| self.hosts.resolve(h).map(|h| h.to_string()))
            .transpose()?;
        let limit = query.limit.unwrap_or(DEFAULT_AUDIT_LIMIT);
        if limit == 0 || limit > MAX_AUDIT_LIMIT {
            return Err(ServiceError::Invalid(format!(
                "the limit must be between 1 and {MAX_AUDIT_LIMIT}"
            )));
        }
        let since = query
            .since_secs
            .map(|s| super::now().saturating_sub(i64::try_from(s).unwrap_or(i64::MAX)));
        // Normalised as stored (nodeprep, lower-case host) when it is a JID.
        let jid = query
            .jid
            .map(|typed| jid::BareJid::new(&typed).map_or(typed, |jid| jid.to_string()));
        let filter = store::Filter {
            host,
            jid,
            since,
            action: query.action,
            limit,
        };
        self.db.call(move |conn| store::select(conn, &filter)).await
    }

    /// Deletes the entries older than the retention, a batch per storage
    /// job so that other writes go in between; returns how many.
    pub async fn purge(&self) -> Result<usize, ServiceError> {
        let retention = self.hosts.0.audit.retention.as_secs();
        let before = super::now().saturating_sub(i64::try_from(retention).unwrap_or(i64::MAX));
        let mut total = 0;
        loop {
            let deleted = self
                .db
                .call(move |conn| -> Result<usize, ServiceError> {
                    Ok(store::delete_batch(conn, before)?)
                })
                .await?;
            total += deleted;
            if deleted < store::PURGE_BATCH {
                return Ok(total);
            }
        }
    }
}

/// `text` bounded to [`MAX_TEXT_CHARS`], control characters made spaces:
/// what strangers send cannot grow a row or break a printed line.
fn bounded(text: &str) -> String {
    text.chars()
        .take(MAX_TEXT_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
