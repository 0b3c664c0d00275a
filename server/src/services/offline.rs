//! Offline message storage (RFC 6121 §8.5.2.2.1 "store"): messages to an
//! account with no available resource wait here until it comes online.
//!
//! Storage is bounded per recipient twice (`[limits]`): messages kept from
//! one sender, and bytes kept from all senders together. At login the
//! connection reads them in pages, oldest first, as fast as the client
//! takes them, and a message leaves storage only once it was written to
//! the client: a session that ends first leaves the rest for its next
//! login.

use jid::BareJid;
use roost_common::config::LimitsConfig;
use rusqlite::{Connection, params};

use super::{ServiceError, now};
use crate::storage::Db;

/// Most messages read for one page of a hand-over.
const PAGE_MESSAGES: usize = 50;
/// A page stops growing once its messages reach this many bytes (it always
/// holds at least one), so a page costs little memory whatever the stanzas.
const PAGE_BYTES: usize = 1024 * 1024;

/// What became of a message handed to [`Offline::store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Stored,
    /// The recipient has no account.
    NoSuchAccount,
    /// The recipient keeps `limits.offline_messages_per_sender` from this sender already.
    SenderQuotaReached,
    /// The message would take the recipient past `limits.offline_bytes`.
    StorageFull,
}

#[derive(Clone)]
pub struct Offline {
    db: Db,
}

fn parts(user: &BareJid) -> (String, String) {
    (
        user.domain().as_str().to_owned(),
        user.node()
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
    )
}

impl Offline {
    pub fn new(db: Db) -> Offline {
        Offline { db }
    }

    /// Stores a serialised message from `sender` for `user`, within `limits`.
    pub async fn store(
        &self,
        user: &BareJid,
        sender: &BareJid,
        stanza: String,
        limits: &LimitsConfig,
    ) -> Result<Stored, ServiceError> {
        let (host, username) = parts(user);
        let sender = sender.to_string();
        let per_sender = i64::try_from(limits.offline_messages_per_sender).unwrap_or(i64::MAX);
        let max_bytes = i64::try_from(limits.offline_bytes).unwrap_or(i64::MAX);
        self.db
            .call(move |c| -> Result<Stored, ServiceError> {
                let exists = c
                    .prepare_cached("SELECT 1 FROM accounts WHERE host = ?1 AND username = ?2")?
                    .exists(params![host, username])?;
                if !exists {
                    return Ok(Stored::NoSuchAccount);
                }
                let from_sender: i64 = c
                    .prepare_cached(
                        "SELECT count(*) FROM offline_messages
                         WHERE host = ?1 AND username = ?2 AND sender = ?3",
                    )?
                    .query_row(params![host, username, sender], |r| r.get(0))?;
                if from_sender >= per_sender {
                    return Ok(Stored::SenderQuotaReached);
                }
                let bytes = i64::try_from(stanza.len()).unwrap_or(i64::MAX);
                let kept: i64 = c
                    .prepare_cached(
                        "SELECT coalesce(sum(bytes), 0) FROM offline_messages
                         WHERE host = ?1 AND username = ?2",
                    )?
                    .query_row(params![host, username], |r| r.get(0))?;
                if kept.saturating_add(bytes) > max_bytes {
                    return Ok(Stored::StorageFull);
                }
                c.prepare_cached(
                    "INSERT INTO offline_messages (host, username, sender, bytes, stanza, stored_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![host, username, sender, bytes, stanza, now()])?;
                Ok(Stored::Stored)
            })
            .await
    }

    /// Deletes the messages the session has written out (`delivered`, ids
    /// from earlier pages) and reads the next page, oldest first, in one
    /// storage job. Messages leave storage only this way or by
    /// [`Offline::delivered`]: one that was read but never written stays
    /// stored for the next login. An empty page means nothing is left.
    pub async fn next_page(
        &self,
        user: &BareJid,
        delivered: Vec<i64>,
    ) -> Result<Vec<(i64, String)>, ServiceError> {
        let (host, username) = parts(user);
        self.db
            .call(move |c| -> Result<Vec<(i64, String)>, ServiceError> {
                delete_in(c, &host, &username, &delivered)?;
                page_in(c, &host, &username)
            })
            .await
    }

    /// Deletes messages written out by a session that ended before asking
    /// for the next page.
    pub async fn delivered(&self, user: &BareJid, ids: Vec<i64>) -> Result<(), ServiceError> {
        let (host, username) = parts(user);
        self.db
            .call(move |c| delete_in(c, &host, &username, &ids))
            .await
    }
}

/// The oldest stored messages of an account: at most [`PAGE_MESSAGES`], and
/// no more once [`PAGE_BYTES`] are reached.
fn page_in(c: &Connection, host: &str, username: &str) -> Result<Vec<(i64, String)>, ServiceError> {
    let mut st = c.prepare_cached(
        "SELECT id, stanza FROM offline_messages WHERE host = ?1 AND username = ?2
         ORDER BY id LIMIT ?3",
    )?;
    let mut rows = st.query(params![host, username, PAGE_MESSAGES as i64])?;
    let mut page = Vec::new();
    let mut bytes = 0;
    while bytes < PAGE_BYTES
        && let Some(row) = rows.next()?
    {
        let stanza: String = row.get(1)?;
        bytes += stanza.len();
        page.push((row.get(0)?, stanza));
    }
    Ok(page)
}

fn delete_in(c: &Connection, host: &str, username: &str, ids: &[i64]) -> Result<(), ServiceError> {
    let mut st = c.prepare_cached(
        "DELETE FROM offline_messages WHERE host = ?1 AND username = ?2 AND id = ?3",
    )?;
    for id in ids {
        st.execute(params![host, username, id])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use roost_common::config::Synchronous;

    async fn setup() -> (tempfile::TempDir, Offline, BareJid, BareJid) {
        let dir = tempfile::tempdir().unwrap();
        let (db, _thread) = Db::open(&dir.path().join("t.sqlite3"), Synchronous::Normal).unwrap();
        db.call(|c| -> Result<(), ServiceError> {
            c.execute_batch(
                "INSERT INTO accounts (host, username, created_at) VALUES ('x.test', 'alice', 0), ('x.test', 'bob', 0);",
            )?;
            Ok(())
        })
        .await
        .unwrap();
        (
            dir,
            Offline::new(db),
            BareJid::new("alice@x.test").unwrap(),
            BareJid::new("bob@x.test").unwrap(),
        )
    }

    async fn store_n(offline: &Offline, to: &BareJid, from: &BareJid, n: usize) {
        for i in 0..n {
            let stored = offline
                .store(
                    to,
                    from,
                    format!("<message>{i}</message>"),
                    &LimitsConfig::default(),
                )
                .await
                .unwrap();
            assert_eq!(stored, Stored::Stored);
        }
    }

    /// Reads and delivers every page; the stanzas, in order.
    async fn all(offline: &Offline, user: &BareJid) -> Vec<String> {
        let mut got = Vec::new();
        let mut delivered = Vec::new();
        loop {
            let page = offline.next_page(user, delivered).await.unwrap();
            if page.is_empty() {
                return got;
            }
            delivered = page.iter().map(|(id, _)| *id).collect();
            got.extend(page.into_iter().map(|(_, s)| s));
        }
    }

    #[tokio::test]
    async fn only_what_was_delivered_leaves_storage() {
        let (_dir, offline, alice, bob) = setup().await;
        // More than a page, so the hand-over stops within the second page.
        let n = PAGE_MESSAGES + 20;
        store_n(&offline, &alice, &bob, n).await;
        let first = offline.next_page(&alice, Vec::new()).await.unwrap();
        assert_eq!(first.len(), PAGE_MESSAGES);
        let first_ids = first.iter().map(|(id, _)| *id).collect();
        let second = offline.next_page(&alice, first_ids).await.unwrap();
        assert_eq!(second.len(), 20);
        // The session wrote five of the second page, then ended.
        let written = second.iter().take(5).map(|(id, _)| *id).collect();
        offline.delivered(&alice, written).await.unwrap();
        let left = all(&offline, &alice).await;
        let expected: Vec<String> = (PAGE_MESSAGES + 5..n)
            .map(|i| format!("<message>{i}</message>"))
            .collect();
        assert_eq!(left, expected, "what was read but not written, in order");
        assert!(all(&offline, &alice).await.is_empty(), "delivered once");
    }

    #[tokio::test]
    async fn a_page_read_but_never_written_stays_stored() {
        let (_dir, offline, alice, bob) = setup().await;
        store_n(&offline, &alice, &bob, 3).await;
        assert_eq!(
            offline.next_page(&alice, Vec::new()).await.unwrap().len(),
            3
        );
        assert_eq!(all(&offline, &alice).await.len(), 3);
    }

    #[tokio::test]
    async fn storage_is_bounded_per_sender_and_in_bytes() {
        let (_dir, offline, alice, bob) = setup().await;
        let server = BareJid::new("x.test").unwrap();
        let limits = LimitsConfig {
            offline_messages_per_sender: 2,
            offline_bytes: 100,
            ..LimitsConfig::default()
        };
        let store = |from: &BareJid, text: &str| {
            let (offline, alice, from, text) = (
                offline.clone(),
                alice.clone(),
                from.clone(),
                text.to_owned(),
            );
            let limits = limits.clone();
            async move { offline.store(&alice, &from, text, &limits).await.unwrap() }
        };
        assert_eq!(store(&bob, &"a".repeat(30)).await, Stored::Stored);
        assert_eq!(store(&bob, &"b".repeat(30)).await, Stored::Stored);
        assert_eq!(store(&bob, "c").await, Stored::SenderQuotaReached);
        // Another sender still has room, up to the recipient's bytes.
        assert_eq!(store(&server, &"d".repeat(41)).await, Stored::StorageFull);
        assert_eq!(store(&server, &"d".repeat(40)).await, Stored::Stored);
        assert_eq!(store(&server, "e").await, Stored::StorageFull);
        let nobody = BareJid::new("nobody@x.test").unwrap();
        assert_eq!(
            offline
                .store(&nobody, &bob, "<message/>".into(), &limits)
                .await
                .unwrap(),
            Stored::NoSuchAccount
        );
        // Handing over frees the room again.
        assert_eq!(all(&offline, &alice).await.len(), 3);
        assert_eq!(store(&bob, "f").await, Stored::Stored);
    }

    #[tokio::test]
    async fn a_page_stops_at_its_byte_budget() {
        let (_dir, offline, alice, bob) = setup().await;
        let big = "x".repeat(PAGE_BYTES / 2 + 1);
        for _ in 0..3 {
            let limits = LimitsConfig {
                offline_bytes: u64::MAX,
                ..LimitsConfig::default()
            };
            offline
                .store(&alice, &bob, big.clone(), &limits)
                .await
                .unwrap();
        }
        let page = offline
            .db
            .call(|c| page_in(c, "x.test", "alice"))
            .await
            .unwrap();
        assert_eq!(page.len(), 2, "the second message passes the budget");
        assert_eq!(all(&offline, &alice).await.len(), 3);
    }
}
