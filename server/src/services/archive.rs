//! The message archive (XEP-0313, `urn:xmpp:mam:2`): a copy of each chat
//! message in its sender's archive and in its recipient's, read back a
//! page at a time by the account's clients.
//!
//! Routing never waits for the database: each copy's id, also the
//! recipient's stanza id (XEP-0359), is made in memory ([`ids`]), and
//! both copies go to a bounded queue that one writer task empties a batch
//! per storage job ([`writer`]); a full queue makes the sending connection
//! wait. A query, a size or a purge first lets the writer commit what was
//! queued (or is on its way) before it, so what a client was delivered is
//! what it finds.
//!
//! Bounds: a message larger than `max_message_bytes` is not archived;
//! each account keeps at most `max_messages_per_account` messages and
//! `max_bytes_per_account` bytes, its oldest deleted first; messages past
//! their host's retention are deleted in the background ([`Archive::expire`]);
//! a page holds at most [`MAX_PAGE`] messages and [`PAGE_BYTES`] bytes;
//! preferences name at most [`prefs::MAX_PREFS_JIDS`] JIDs per list.

mod ids;
mod prefs;
mod store;
#[cfg(test)]
mod tests;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use jid::BareJid;
use roost_common::admin::{ArchivePurgeInfo, ArchiveSizeInfo};
use roost_common::config::{ArchiveConfig, Config};
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use super::audit::{self, Actor, Audit, AuditAction, Entry};
use super::events::{AccountEvent, Events};
use super::{Hosts, ServiceError};
use crate::storage::Db;

pub use ids::{ArchiveId, Reservation};
pub use prefs::{MAX_PREFS_JIDS, Prefs};

/// Messages in a page when the client does not say (Prosody's default).
pub const DEFAULT_PAGE: usize = 50;
/// Most messages in one page (Prosody's `max_archive_query_results`).
pub const MAX_PAGE: usize = 250;
/// A page stops growing once its messages reach this many bytes (it
/// always holds at least one), so that it fits a session's queue.
pub const PAGE_BYTES: usize = 512 * 1024;
/// Messages deleted per storage job by a purge or the expiry.
const DELETE_BATCH: usize = 5000;

/// One message to archive for `owner`.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub owner: BareJid,
    /// The other party's bare JID (or the host's, for the server).
    pub with: BareJid,
    /// From [`Archive::reserve`]; also when it was routed.
    pub id: ArchiveId,
    /// The message as routed, with its namespace declared.
    pub stanza: Arc<str>,
}

/// RSM's `<before/>`: the page that ends before an id, or the last page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Before {
    Last,
    Id(String),
}

/// A query (XEP-0313 §4), checked by the front door.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Only messages with this bare JID.
    pub with: Option<String>,
    /// Only messages at or after, Unix ms.
    pub start_ms: Option<i64>,
    /// Only messages at or before, Unix ms.
    pub end_ms: Option<i64>,
    /// `urn:xmpp:mam:2#extended`: only messages after / before this id.
    pub after_id: Option<String>,
    pub before_id: Option<String>,
    /// Only these ids.
    pub ids: Vec<String>,
    /// RSM: the page after this id (forwards, the default).
    pub after: Option<String>,
    /// RSM: the page before this id, or the last page (backwards).
    pub before: Option<Before>,
    /// Page size, at most [`MAX_PAGE`]; 0 asks only for the count.
    pub max: usize,
}

impl Query {
    /// Whether only the paging bounds narrow it, so that the account's
    /// total is its count.
    fn is_unfiltered(&self) -> bool {
        self.with.is_none()
            && self.start_ms.is_none()
            && self.end_ms.is_none()
            && self.after_id.is_none()
            && self.before_id.is_none()
            && self.ids.is_empty()
    }
}

/// One archived message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub stanza_id: String,
    pub stamp_ms: i64,
    pub stanza: String,
}

/// A page of results, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<Item>,
    /// No more messages lie beyond this page in the direction of paging.
    pub complete: bool,
    /// How many messages the query matches, when that is known without
    /// counting them (an unfiltered query).
    pub count: Option<u64>,
}

/// What the writer is sent.
enum Write {
    /// With its share of the queue's bytes, given back once written.
    Message(NewMessage, OwnedSemaphorePermit),
    /// Answered once everything sent before it is committed.
    Flush(oneshot::Sender<()>),
}

/// The archive service; cheap to clone.
#[derive(Clone)]
pub struct Archive {
    db: Db,
    hosts: Hosts,
    config: Arc<Config>,
    audit: Audit,
    writes: mpsc::UnboundedSender<Write>,
    /// What waits for the writer ([`writer::QUEUE_BYTES`]).
    queued_bytes: Arc<Semaphore>,
    /// Made on first use, after the newest row.
    ids: Arc<OnceCell<Arc<ids::Ids>>>,
    prefs: Arc<prefs::PrefsCache>,
}

impl Archive {
    /// Starts the writer task, and one that forgets deleted accounts'
    /// preferences: call within the runtime.
    pub fn new(
        db: Db,
        config: Arc<Config>,
        hosts: Hosts,
        audit: Audit,
        events: &Events,
    ) -> Archive {
        let (writes, queue) = mpsc::unbounded_channel();
        tokio::spawn(writer::run(db.clone(), config.archive.clone(), queue));
        let prefs = Arc::new(prefs::PrefsCache::new(config.archive.default));
        let mut deletions = events.subscribe();
        let forget = prefs.clone();
        tokio::spawn(async move {
            while let Some(event) = deletions.recv().await {
                if let AccountEvent::Deleted(owner) = event {
                    forget.forget(&owner);
                }
            }
        });
        Archive {
            prefs,
            queued_bytes: Arc::new(Semaphore::new(writer::QUEUE_BYTES)),
            ids: Arc::new(OnceCell::new()),
            db,
            hosts,
            config,
            audit,
            writes,
        }
    }

    fn settings(&self) -> &ArchiveConfig {
        &self.config.archive
    }

    /// Whether the archive runs at all.
    pub fn enabled(&self) -> bool {
        self.settings().enabled
    }

    /// The largest message kept, serialised.
    pub fn max_message_bytes(&self) -> usize {
        self.settings().max_message_bytes
    }

    /// Whether `owner`'s preferences keep messages with `with`. An account
    /// in "roster" mode costs a lookup of its roster.
    pub async fn wants(&self, owner: &BareJid, with: &BareJid) -> Result<bool, ServiceError> {
        let prefs = self.prefs(owner).await?;
        match prefs.decide(with) {
            Some(keep) => Ok(keep),
            None => {
                let (host, username) = parts(owner);
                let contact = with.to_string();
                self.db
                    .call(move |c| store::in_roster(c, &host, &username, &contact))
                    .await
            }
        }
    }

    /// A new id for a message routed at `stamp_ms`: keep the reservation
    /// until the message is appended (or not archived after all).
    pub async fn reserve(&self, stamp_ms: i64) -> Result<Reservation, ServiceError> {
        let ids = self
            .ids
            .get_or_try_init(|| async { self.db.call(store::last_row).await.map(ids::Ids::after) })
            .await?;
        Ok(ids.reserve(stamp_ms))
    }

    /// Queues `message` for the writer; waits while the queue is full.
    pub async fn append(&self, message: NewMessage) {
        let permit = self
            .queued_bytes
            .clone()
            .acquire_many_owned(writer::queue_cost(&message))
            .await
            .expect("the queue's semaphore is never closed");
        if self.writes.send(Write::Message(message, permit)).is_err() {
            tracing::warn!("the archive writer has stopped; a message was not archived");
        }
    }

    /// Waits until every message queued so far, or on its way to the
    /// queue with an id already made, is committed (or failed).
    pub async fn flush(&self) {
        if let Some(ids) = self.ids.get() {
            ids.settled().await;
        }
        let (done, committed) = oneshot::channel();
        if self.writes.send(Write::Flush(done)).is_ok() {
            let _ = committed.await;
        }
    }

    /// A page of `owner`'s archive, of at most `page_bytes` (and
    /// [`PAGE_BYTES`]) past its first message; an unknown id in the query
    /// is [`ServiceError::NotFound`].
    pub async fn query(
        &self,
        owner: &BareJid,
        query: Query,
        page_bytes: usize,
    ) -> Result<Page, ServiceError> {
        self.flush().await;
        let (host, username) = parts(owner);
        let page_bytes = page_bytes.min(PAGE_BYTES);
        self.db
            .call(move |c| store::page(c, &host, &username, &query, page_bytes))
            .await
    }

    /// `owner`'s preferences, or the server's default.
    pub async fn prefs(&self, owner: &BareJid) -> Result<Arc<Prefs>, ServiceError> {
        self.prefs.get(&self.db, owner).await
    }

    /// Replaces `owner`'s preferences; refused past [`MAX_PREFS_JIDS`].
    pub async fn set_prefs(&self, owner: &BareJid, prefs: Prefs) -> Result<(), ServiceError> {
        self.prefs.set(&self.db, owner, prefs).await
    }

    /// `roostctl archive size`: an existing account's totals.
    pub async fn size(&self, owner: &BareJid) -> Result<ArchiveSizeInfo, ServiceError> {
        self.flush().await;
        let (host, username) = parts(owner);
        let jid = owner.to_string();
        self.db
            .call(move |c| store::size(c, &host, &username, jid))
            .await
    }

    /// `roostctl archive purge`: deletes an existing account's messages
    /// older than `before`, or all; says how many. A batch per storage job,
    /// so other writes go in between; the last one records the purge in
    /// the audit log.
    pub async fn purge(
        &self,
        actor: &Actor,
        owner: &BareJid,
        before: Option<Duration>,
    ) -> Result<ArchivePurgeInfo, ServiceError> {
        let result = self.purge_checked(actor, owner, before).await;
        self.audit
            .settle(result, || {
                Entry::new(actor, AuditAction::ArchivePurge).jid(owner)
            })
            .await
    }

    async fn purge_checked(
        &self,
        actor: &Actor,
        owner: &BareJid,
        before: Option<Duration>,
    ) -> Result<ArchivePurgeInfo, ServiceError> {
        self.flush().await;
        let (host, username) = parts(owner);
        let bound = before.map(|age| {
            super::now_ms().saturating_sub(i64::try_from(age.as_millis()).unwrap_or(i64::MAX))
        });
        let which = match before {
            Some(age) => format!("older than {}s", age.as_secs()),
            None => "all".to_owned(),
        };
        let mut removed = 0u64;
        loop {
            let (host, username) = (host.clone(), username.clone());
            let entry = Entry::new(actor, AuditAction::ArchivePurge).jid(owner);
            let which = which.clone();
            let (deleted, done) = self
                .db
                .call(move |c| -> Result<(usize, bool), ServiceError> {
                    let deleted = store::purge_batch(c, &host, &username, bound, DELETE_BATCH)?;
                    let done = deleted < DELETE_BATCH;
                    if done {
                        let total = removed + deleted as u64;
                        audit::insert(c, &entry.detail(format!("{total} removed, {which}")))?;
                    }
                    Ok((deleted, done))
                })
                .await?;
            removed += deleted as u64;
            if done {
                return Ok(ArchivePurgeInfo {
                    jid: owner.to_string(),
                    removed,
                });
            }
        }
    }

    /// Deletes messages past their host's retention, a batch per storage
    /// job; says how many.
    pub async fn expire(&self) -> Result<usize, ServiceError> {
        let mut total = 0;
        for host in self.hosts.names() {
            let Ok(domain) = self.hosts.resolve(&host) else {
                continue;
            };
            let retention = self.settings().retention_of(&domain);
            let before = super::now_ms()
                .saturating_sub(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX));
            loop {
                let host = host.clone();
                let deleted = self
                    .db
                    .call(move |c| store::expire_batch(c, &host, before, DELETE_BATCH))
                    .await?;
                total += deleted;
                if deleted < DELETE_BATCH {
                    break;
                }
            }
        }
        Ok(total)
    }
}

fn parts(user: &BareJid) -> (String, String) {
    (
        user.domain().as_str().to_owned(),
        user.node()
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
    )
}
