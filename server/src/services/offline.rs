//! Offline message storage (RFC 6121 §8.5.2.2.1 "store"): messages to an
//! account with no available resource wait here until it comes online.

use jid::BareJid;
use rusqlite::params;

use super::{ServiceError, now};
use crate::storage::Db;

/// Most messages kept for one account; more are refused (the sender gets
/// `service-unavailable`), so one account cannot fill the disk.
pub const MAX_OFFLINE_MESSAGES: i64 = 1000;

#[derive(Clone)]
pub struct Offline {
    db: Db,
}

impl Offline {
    pub fn new(db: Db) -> Offline {
        Offline { db }
    }

    /// Stores a serialised message for `user`; `false` if the account does
    /// not exist or its store is full.
    pub async fn store(&self, user: &BareJid, stanza: String) -> Result<bool, ServiceError> {
        let host = user.domain().as_str().to_owned();
        let username = user
            .node()
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default();
        self.db
            .call(move |c| -> Result<bool, ServiceError> {
                let count: i64 = c
                    .prepare_cached(
                        "SELECT count(*) FROM offline_messages WHERE host = ?1 AND username = ?2",
                    )?
                    .query_row(params![host, username], |r| r.get(0))?;
                if count >= MAX_OFFLINE_MESSAGES {
                    return Ok(false);
                }
                let inserted = c
                    .prepare_cached(
                        "INSERT INTO offline_messages (host, username, stanza, stored_at)
                         SELECT ?1, ?2, ?3, ?4 WHERE EXISTS
                           (SELECT 1 FROM accounts WHERE host = ?1 AND username = ?2)",
                    )?
                    .execute(params![host, username, stanza, now()])?;
                Ok(inserted > 0)
            })
            .await
    }
}

/// Removes and returns every stored message for an account, oldest first,
/// inside a storage job (see [`super::rosters::Rosters::arrival`]).
pub(super) fn take_all_in(
    c: &rusqlite::Connection,
    host: &str,
    username: &str,
) -> Result<Vec<String>, ServiceError> {
    let mut messages = c
        .prepare_cached(
            "DELETE FROM offline_messages WHERE host = ?1 AND username = ?2 RETURNING id, stanza",
        )?
        .query_map(params![host, username], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    messages.sort_by_key(|(id, _)| *id);
    Ok(messages.into_iter().map(|(_, s)| s).collect())
}
