//! The archive's SQL. Every read of a page walks one index from a bound
//! (`INDEXED BY`, so the planner cannot choose a scan), or looks its rows
//! up by id (`NOT INDEXED`, for the same reason): a page costs the
//! same at the start and at the end of a large archive. Times become ids
//! by a binary search over ids, since ids and stamps grow together. Rows
//! name their owner by its number in `archive_owners`. A row's id is its
//! stanza id ([`ArchiveId`]); rows written before ids were made so keep
//! their stanza id in a column, found by a partial index
//! (`archive_by_legacy_stanza_id`) that newer rows, with an empty one,
//! cost nothing in.

use std::collections::HashMap;
use std::sync::Arc;

use roost_common::admin::ArchiveSizeInfo;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use tokio::sync::OwnedSemaphorePermit;

use super::{ArchiveId, Before, Item, Page, Query};
use crate::services::ServiceError;

/// One row for the writer.
pub(super) struct Pending {
    pub id: ArchiveId,
    pub host: String,
    pub username: String,
    pub with: String,
    pub stanza: Arc<str>,
    /// Its share of the writer's queue, given back once the row is written.
    pub queued: OwnedSemaphorePermit,
}

/// Rows whose shares of the queue are given back together: waking the
/// waiting senders for each row would cost more than writing it.
const RELEASE_EVERY: usize = 512;

/// What one account may keep.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bounds {
    pub messages: i64,
    pub bytes: i64,
}

/// Writes `batch`, giving the rows' shares of the queue back as they are
/// written; rows of accounts that do not exist (any more) are skipped.
/// Then each account past its bounds loses its oldest messages.
pub(super) fn insert_batch(
    c: &Connection,
    batch: Vec<Pending>,
    bounds: Bounds,
) -> Result<(), ServiceError> {
    let mut insert = c.prepare_cached(
        "INSERT OR IGNORE INTO archive (id, owner, stanza_id, with_jid, stamp, bytes, stanza)
         VALUES (?1, ?2, '', ?3, ?4, ?5, ?6)",
    )?;
    // Per account: its owner number and what this batch added; none when
    // the account does not exist.
    let mut owners: HashMap<(String, String), Option<Added>> = HashMap::new();
    let mut written = Vec::with_capacity(RELEASE_EVERY);
    for row in batch {
        if written.len() == RELEASE_EVERY {
            written.clear();
        }
        written.push(row.queued);
        let key = (row.host, row.username);
        let added = match owners.get_mut(&key) {
            Some(added) => added,
            None => {
                let owner = owner_for_writing(c, &key.0, &key.1)?;
                owners.entry(key).or_insert(owner.map(|owner| Added {
                    owner,
                    messages: 0,
                    bytes: 0,
                }))
            }
        };
        let Some(added) = added else {
            continue;
        };
        let size = i64::try_from(row.stanza.len()).unwrap_or(i64::MAX);
        let inserted = insert.execute(params![
            row.id.row(),
            added.owner,
            row.with,
            row.id.stamp_ms(),
            size,
            &*row.stanza
        ])?;
        if inserted == 1 {
            added.messages += 1;
            added.bytes += size;
        } else {
            tracing::warn!(
                "archive id {} was taken; a message was not archived",
                row.id
            );
        }
    }
    let mut totals = c.prepare_cached(
        "INSERT INTO archive_totals (host, username, messages, bytes) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (host, username) DO UPDATE SET
             messages = messages + excluded.messages, bytes = bytes + excluded.bytes
         RETURNING messages, bytes",
    )?;
    for ((host, username), added) in owners {
        let Some(added) = added else {
            continue;
        };
        let (kept, kept_bytes): (i64, i64) = totals
            .query_row(params![host, username, added.messages, added.bytes], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        if kept > bounds.messages || kept_bytes > bounds.bytes {
            trim(c, (&host, &username, added.owner), kept, kept_bytes, bounds)?;
        }
    }
    Ok(())
}

/// What one batch added to an owner's archive.
struct Added {
    owner: i64,
    messages: i64,
    bytes: i64,
}

/// What new ids must come after: the newest row's id, or the id its
/// stamp would have when that is larger (a row written before ids were
/// made from the time), so that stamps never decrease with ids even if
/// the clock went back (0 for an empty archive).
pub(super) fn last_row(c: &Connection) -> Result<i64, ServiceError> {
    let newest: Option<(i64, i64)> = c
        .prepare_cached("SELECT id, stamp FROM archive ORDER BY id DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(newest.map_or(0, |(id, stamp_ms)| {
        id.max(ArchiveId::first_of(stamp_ms).row())
    }))
}

/// The owner number of an existing account, made on its first message;
/// `None` when the account does not exist (any more).
fn owner_for_writing(
    c: &Connection,
    host: &str,
    username: &str,
) -> Result<Option<i64>, ServiceError> {
    if let Some(owner) = owner_of(c, host, username)? {
        return Ok(Some(owner));
    }
    let exists = c
        .prepare_cached("SELECT 1 FROM accounts WHERE host = ?1 AND username = ?2")?
        .exists(params![host, username])?;
    if !exists {
        return Ok(None);
    }
    c.prepare_cached("INSERT INTO archive_owners (host, username) VALUES (?1, ?2)")?
        .execute(params![host, username])?;
    Ok(Some(c.last_insert_rowid()))
}

/// The owner number of an account that has archived something.
fn owner_of(c: &Connection, host: &str, username: &str) -> Result<Option<i64>, ServiceError> {
    Ok(
        c.prepare_cached("SELECT owner FROM archive_owners WHERE host = ?1 AND username = ?2")?
            .query_row(params![host, username], |r| r.get(0))
            .optional()?,
    )
}

/// Deletes an account's oldest messages until it is within `bounds`.
fn trim(
    c: &Connection,
    (host, username, owner): (&str, &str, i64),
    mut kept: i64,
    mut kept_bytes: i64,
    bounds: Bounds,
) -> Result<(), ServiceError> {
    let mut oldest = c.prepare_cached(
        "SELECT id, bytes FROM archive INDEXED BY archive_by_owner
         WHERE owner = ?1 ORDER BY id LIMIT 256",
    )?;
    let mut delete = c.prepare_cached("DELETE FROM archive WHERE id = ?1")?;
    while kept > bounds.messages || kept_bytes > bounds.bytes {
        let rows: Vec<(i64, i64)> = oldest
            .query_map(params![owner], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        if rows.is_empty() {
            break;
        }
        for (id, bytes) in rows {
            if kept <= bounds.messages && kept_bytes <= bounds.bytes {
                break;
            }
            delete.execute(params![id])?;
            kept -= 1;
            kept_bytes -= bytes;
        }
    }
    c.prepare_cached(
        "UPDATE archive_totals SET messages = ?3, bytes = ?4 WHERE host = ?1 AND username = ?2",
    )?
    .execute(params![host, username, kept.max(0), kept_bytes.max(0)])?;
    Ok(())
}

/// Subtracts deleted rows (their sizes) from their owner's totals.
fn subtract(c: &Connection, host: &str, username: &str, sizes: &[i64]) -> Result<(), ServiceError> {
    let messages = i64::try_from(sizes.len()).unwrap_or(i64::MAX);
    let bytes: i64 = sizes.iter().sum();
    c.prepare_cached(
        "UPDATE archive_totals SET messages = max(messages - ?3, 0), bytes = max(bytes - ?4, 0)
         WHERE host = ?1 AND username = ?2",
    )?
    .execute(params![host, username, messages, bytes])?;
    Ok(())
}

/// The first id stamped at or after `stamp_ms`, if any: a binary search
/// over ids, each step one look-up by id, as stamps never decrease with
/// ids (whatever the owner).
pub(super) fn first_id_from(c: &Connection, stamp_ms: i64) -> Result<Option<i64>, ServiceError> {
    let mut at_or_after =
        c.prepare_cached("SELECT id, stamp FROM archive WHERE id >= ?1 ORDER BY id LIMIT 1")?;
    let mut next = |id: i64| -> Result<Option<(i64, i64)>, ServiceError> {
        Ok(at_or_after
            .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    };
    let Some((mut low, first_stamp)) = next(i64::MIN)? else {
        return Ok(None);
    };
    if first_stamp >= stamp_ms {
        return Ok(Some(low));
    }
    let Some(mut high) = c
        .prepare_cached("SELECT max(id) FROM archive")?
        .query_row([], |r| r.get::<_, Option<i64>>(0))?
    else {
        return Ok(None);
    };
    match next(high)? {
        Some((_, stamp)) if stamp >= stamp_ms => {}
        _ => return Ok(None),
    }
    // Ids at or after `low` are first stamped too early; at or after
    // `high`, late enough. Halve the span of ids between them (rows may
    // be missing: each step asks for the first row at or after an id).
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        match next(middle)? {
            Some((_, stamp)) if stamp >= stamp_ms => high = middle,
            _ => low = middle,
        }
    }
    Ok(next(high)?.map(|(id, _)| id))
}

/// Deletes up to `limit` of one account's messages older than `before_ms`
/// (all when `None`); says how many.
pub(super) fn purge_batch(
    c: &Connection,
    host: &str,
    username: &str,
    before_ms: Option<i64>,
    limit: usize,
) -> Result<usize, ServiceError> {
    let Some(owner) = owner_of(c, host, username)? else {
        return Ok(0);
    };
    let below = match before_ms {
        Some(ms) => first_id_from(c, ms)?.unwrap_or(i64::MAX),
        None => i64::MAX,
    };
    delete_older(c, (host, username, owner), below, limit)
}

/// Deletes up to `limit` of one owner's messages with ids below `below`.
fn delete_older(
    c: &Connection,
    (host, username, owner): (&str, &str, i64),
    below: i64,
    limit: usize,
) -> Result<usize, ServiceError> {
    let sizes: Vec<i64> = c
        .prepare_cached(
            "DELETE FROM archive WHERE id IN (
                 SELECT id FROM archive INDEXED BY archive_by_owner
                 WHERE owner = ?1 AND id < ?2 ORDER BY id LIMIT ?3)
             RETURNING bytes",
        )?
        .query_map(params![owner, below, limit as i64], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    subtract(c, host, username, &sizes)?;
    Ok(sizes.len())
}

/// Deletes up to `limit` of `host`'s messages older than `before_ms`.
pub(super) fn expire_batch(
    c: &Connection,
    host: &str,
    before_ms: i64,
    limit: usize,
) -> Result<usize, ServiceError> {
    let below = first_id_from(c, before_ms)?.unwrap_or(i64::MAX);
    let owners: Vec<(i64, String)> = c
        .prepare_cached("SELECT owner, username FROM archive_owners WHERE host = ?1")?
        .query_map(params![host], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut deleted = 0;
    for (owner, username) in owners {
        if deleted >= limit {
            break;
        }
        deleted += delete_older(c, (host, &username, owner), below, limit - deleted)?;
    }
    Ok(deleted)
}

/// The account's totals and the times of its oldest and newest message.
pub(super) fn size(
    c: &Connection,
    host: &str,
    username: &str,
    jid: String,
) -> Result<ArchiveSizeInfo, ServiceError> {
    let (messages, bytes): (i64, i64) = c
        .prepare_cached(
            "SELECT messages, bytes FROM archive_totals WHERE host = ?1 AND username = ?2",
        )?
        .query_row(params![host, username], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .unwrap_or((0, 0));
    let owner = owner_of(c, host, username)?;
    let stamp = |order: &str| -> Result<Option<i64>, ServiceError> {
        Ok(c.prepare_cached(&format!(
            "SELECT stamp FROM archive INDEXED BY archive_by_owner
             WHERE owner = ?1 ORDER BY id {order} LIMIT 1"
        ))?
        .query_row(params![owner], |r| r.get(0))
        .optional()?)
    };
    Ok(ArchiveSizeInfo {
        jid,
        messages: u64::try_from(messages).unwrap_or(0),
        bytes: u64::try_from(bytes).unwrap_or(0),
        oldest_ms: stamp("ASC")?,
        newest_ms: stamp("DESC")?,
    })
}

/// Whether `contact` is in the account's roster (the "roster" preference).
pub(super) fn in_roster(
    c: &Connection,
    host: &str,
    username: &str,
    contact: &str,
) -> Result<bool, ServiceError> {
    Ok(c.prepare_cached(
        "SELECT 1 FROM roster_items WHERE host = ?1 AND username = ?2 AND contact = ?3",
    )?
    .exists(params![host, username, contact])?)
}

/// The row id of one of `owner`'s messages, by its stanza id.
fn id_of(c: &Connection, owner: Option<i64>, stanza_id: &str) -> Result<i64, ServiceError> {
    let found = match ArchiveId::parse(stanza_id) {
        Some(id) => c
            .prepare_cached("SELECT id FROM archive WHERE id = ?1 AND owner = ?2")?
            .query_row(params![id.row(), owner], |r| r.get(0))
            .optional()?,
        None => c
            .prepare_cached(
                "SELECT id FROM archive INDEXED BY archive_by_legacy_stanza_id
                 WHERE owner = ?1 AND stanza_id = ?2 AND stanza_id <> ''",
            )?
            .query_row(params![owner, stanza_id], |r| r.get(0))
            .optional()?,
    };
    found.ok_or(ServiceError::NotFound("archived message"))
}

/// One page of an account's archive (XEP-0313 §4 with XEP-0059 paging):
/// at most `query.max` messages and, past the first, `page_bytes` bytes.
pub(super) fn page(
    c: &Connection,
    host: &str,
    username: &str,
    query: &Query,
    page_bytes: usize,
) -> Result<Page, ServiceError> {
    let owner = owner_of(c, host, username)?;
    // Exclusive id bounds from every id and time the query names; an
    // unknown id is an error (item-not-found), not an empty page.
    let mut above = 0i64;
    let mut below = i64::MAX;
    for id in [&query.after_id, &query.after].into_iter().flatten() {
        above = above.max(id_of(c, owner, id)?);
    }
    let before = match &query.before {
        Some(Before::Id(id)) => Some(id),
        _ => None,
    };
    for id in [query.before_id.as_ref(), before].into_iter().flatten() {
        below = below.min(id_of(c, owner, id)?);
    }
    if let Some(start) = query.start_ms {
        match first_id_from(c, start)? {
            Some(first) => above = above.max(first - 1),
            None => above = i64::MAX,
        }
    }
    if let Some(end) = query.end_ms
        && let Some(after_end) = first_id_from(c, end.saturating_add(1))?
    {
        below = below.min(after_end);
    }
    let count = if query.is_unfiltered() {
        Some(
            c.prepare_cached(
                "SELECT messages FROM archive_totals WHERE host = ?1 AND username = ?2",
            )?
            .query_row(params![host, username], |r| r.get::<_, i64>(0))
            .optional()?
            .map_or(0, |n| u64::try_from(n).unwrap_or(0)),
        )
    } else {
        None
    };
    if query.max == 0 || above >= below.saturating_sub(1) {
        return Ok(Page {
            items: Vec::new(),
            complete: query.max != 0 || above >= below.saturating_sub(1),
            count,
        });
    }
    let backwards = query.before.is_some();
    let mut values: Vec<Value> = vec![owner.into(), above.into(), below.into()];
    let (index, mut filter) = if !query.ids.is_empty() {
        // Ids that name none of the owner's messages match nothing.
        let mut rows = Vec::with_capacity(query.ids.len());
        for id in &query.ids {
            match id_of(c, owner, id) {
                Ok(row) => rows.push(Value::from(row)),
                Err(ServiceError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        if rows.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                complete: true,
                count,
            });
        }
        let marks = vec!["?"; rows.len()].join(", ");
        values.extend(rows);
        // Looked up by row id, never walked to in an index.
        (" NOT INDEXED", format!(" AND id IN ({marks})"))
    } else if let Some(with) = &query.with {
        values.push(with.clone().into());
        (
            " INDEXED BY archive_by_with",
            " AND with_jid = ?".to_owned(),
        )
    } else {
        (" INDEXED BY archive_by_owner", String::new())
    };
    if !query.ids.is_empty()
        && let Some(with) = &query.with
    {
        values.push(with.clone().into());
        filter.push_str(" AND with_jid = ?");
    }
    let order = if backwards { "DESC" } else { "ASC" };
    values.push(i64::try_from(query.max + 1).unwrap_or(i64::MAX).into());
    let sql = format!(
        "SELECT id, stanza_id, stamp, stanza FROM archive{index}
         WHERE owner = ? AND id > ? AND id < ?{filter}
         ORDER BY id {order} LIMIT ?"
    );
    let mut st = c.prepare_cached(&sql)?;
    let mut rows = st.query(params_from_iter(values))?;
    let mut items = Vec::new();
    let mut bytes = 0;
    let mut complete = true;
    while let Some(row) = rows.next()? {
        if items.len() == query.max || (!items.is_empty() && bytes >= page_bytes) {
            complete = false;
            break;
        }
        let stanza: String = row.get(3)?;
        bytes += stanza.len();
        let legacy_id: String = row.get(1)?;
        items.push(Item {
            stanza_id: match legacy_id.is_empty() {
                true => ArchiveId::from_row(row.get(0)?).to_string(),
                false => legacy_id,
            },
            stamp_ms: row.get(2)?,
            stanza,
        });
    }
    if backwards {
        items.reverse();
    }
    Ok(Page {
        items,
        complete,
        count,
    })
}
