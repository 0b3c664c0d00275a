//! The archive's SQL. Every read of a page walks one index from a bound
//! (`INDEXED BY`, so the planner cannot choose a scan): a page costs the
//! same at the start and at the end of a large archive. Times become ids
//! through the per-host time index, since ids and stamps grow together.

use std::collections::HashMap;
use std::sync::Arc;

use roost_common::admin::ArchiveSizeInfo;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::{Before, Item, Page, Query};
use crate::services::ServiceError;

/// One row for the writer.
pub(super) struct Pending {
    pub host: String,
    pub username: String,
    pub with: String,
    pub stanza_id: String,
    pub stamp_ms: i64,
    pub stanza: Arc<str>,
}

/// What one account may keep.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bounds {
    pub messages: i64,
    pub bytes: i64,
}

/// Writes `batch`; rows of accounts that do not exist (any more) are
/// skipped. Then each account past its bounds loses its oldest messages.
pub(super) fn insert_batch(
    c: &Connection,
    batch: &[Pending],
    bounds: Bounds,
) -> Result<(), ServiceError> {
    let mut exists =
        c.prepare_cached("SELECT 1 FROM accounts WHERE host = ?1 AND username = ?2")?;
    let mut insert = c.prepare_cached(
        "INSERT OR IGNORE INTO archive (host, username, stanza_id, with_jid, stamp, bytes, stanza)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    // Per account: whether it exists, and what this batch added.
    let mut owners: HashMap<(&str, &str), Option<(i64, i64)>> = HashMap::new();
    for row in batch {
        let key = (row.host.as_str(), row.username.as_str());
        let added = match owners.get_mut(&key) {
            Some(added) => added,
            None => {
                let found = exists.exists(params![row.host, row.username])?;
                owners.entry(key).or_insert(found.then_some((0, 0)))
            }
        };
        let Some((messages, bytes)) = added else {
            continue;
        };
        let size = i64::try_from(row.stanza.len()).unwrap_or(i64::MAX);
        let inserted = insert.execute(params![
            row.host,
            row.username,
            row.stanza_id,
            row.with,
            row.stamp_ms,
            size,
            &*row.stanza
        ])?;
        if inserted == 1 {
            *messages += 1;
            *bytes += size;
        }
    }
    let mut totals = c.prepare_cached(
        "INSERT INTO archive_totals (host, username, messages, bytes) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (host, username) DO UPDATE SET
             messages = messages + excluded.messages, bytes = bytes + excluded.bytes
         RETURNING messages, bytes",
    )?;
    for ((host, username), added) in owners {
        let Some((messages, bytes)) = added else {
            continue;
        };
        let (kept, kept_bytes): (i64, i64) = totals
            .query_row(params![host, username, messages, bytes], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        if kept > bounds.messages || kept_bytes > bounds.bytes {
            trim(c, host, username, kept, kept_bytes, bounds)?;
        }
    }
    Ok(())
}

/// Deletes an account's oldest messages until it is within `bounds`.
fn trim(
    c: &Connection,
    host: &str,
    username: &str,
    mut kept: i64,
    mut kept_bytes: i64,
    bounds: Bounds,
) -> Result<(), ServiceError> {
    let mut oldest = c.prepare_cached(
        "SELECT id, bytes FROM archive INDEXED BY archive_by_owner
         WHERE host = ?1 AND username = ?2 ORDER BY id LIMIT 256",
    )?;
    let mut delete = c.prepare_cached("DELETE FROM archive WHERE id = ?1")?;
    while kept > bounds.messages || kept_bytes > bounds.bytes {
        let rows: Vec<(i64, i64)> = oldest
            .query_map(params![host, username], |r| Ok((r.get(0)?, r.get(1)?)))?
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

/// Subtracts deleted rows from their owners' totals.
fn subtract(c: &Connection, host: &str, deleted: &[(String, i64)]) -> Result<(), ServiceError> {
    let mut per_owner: HashMap<&str, (i64, i64)> = HashMap::new();
    for (username, bytes) in deleted {
        let entry = per_owner.entry(username.as_str()).or_default();
        entry.0 += 1;
        entry.1 += bytes;
    }
    let mut update = c.prepare_cached(
        "UPDATE archive_totals SET messages = max(messages - ?3, 0), bytes = max(bytes - ?4, 0)
         WHERE host = ?1 AND username = ?2",
    )?;
    for (username, (messages, bytes)) in per_owner {
        update.execute(params![host, username, messages, bytes])?;
    }
    Ok(())
}

/// The first id on `host` stamped at or after `stamp_ms`, if any.
fn first_id_from(c: &Connection, host: &str, stamp_ms: i64) -> Result<Option<i64>, ServiceError> {
    Ok(c.prepare_cached(
        "SELECT id FROM archive INDEXED BY archive_by_time
         WHERE host = ?1 AND stamp >= ?2 ORDER BY stamp, id LIMIT 1",
    )?
    .query_row(params![host, stamp_ms], |r| r.get(0))
    .optional()?)
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
    let below = match before_ms {
        Some(ms) => first_id_from(c, host, ms)?.unwrap_or(i64::MAX),
        None => i64::MAX,
    };
    let deleted: Vec<(String, i64)> = c
        .prepare_cached(
            "DELETE FROM archive WHERE id IN (
                 SELECT id FROM archive INDEXED BY archive_by_owner
                 WHERE host = ?1 AND username = ?2 AND id < ?3 ORDER BY id LIMIT ?4)
             RETURNING username, bytes",
        )?
        .query_map(params![host, username, below, limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    subtract(c, host, &deleted)?;
    Ok(deleted.len())
}

/// Deletes up to `limit` of `host`'s messages older than `before_ms`.
pub(super) fn expire_batch(
    c: &Connection,
    host: &str,
    before_ms: i64,
    limit: usize,
) -> Result<usize, ServiceError> {
    let deleted: Vec<(String, i64)> = c
        .prepare_cached(
            "DELETE FROM archive WHERE id IN (
                 SELECT id FROM archive INDEXED BY archive_by_time
                 WHERE host = ?1 AND stamp < ?2 ORDER BY stamp LIMIT ?3)
             RETURNING username, bytes",
        )?
        .query_map(params![host, before_ms, limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    subtract(c, host, &deleted)?;
    Ok(deleted.len())
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
    let stamp = |order: &str| -> Result<Option<i64>, ServiceError> {
        Ok(c.prepare_cached(&format!(
            "SELECT stamp FROM archive INDEXED BY archive_by_owner
             WHERE host = ?1 AND username = ?2 ORDER BY id {order} LIMIT 1"
        ))?
        .query_row(params![host, username], |r| r.get(0))
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

/// The row id of an archived message, by its stanza id.
fn id_of(c: &Connection, host: &str, username: &str, stanza_id: &str) -> Result<i64, ServiceError> {
    c.prepare_cached(
        "SELECT id FROM archive INDEXED BY archive_by_stanza_id
         WHERE host = ?1 AND username = ?2 AND stanza_id = ?3",
    )?
    .query_row(params![host, username, stanza_id], |r| r.get(0))
    .optional()?
    .ok_or(ServiceError::NotFound("archived message"))
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
    // Exclusive id bounds from every id and time the query names; an
    // unknown id is an error (item-not-found), not an empty page.
    let mut above = 0i64;
    let mut below = i64::MAX;
    for id in [&query.after_id, &query.after].into_iter().flatten() {
        above = above.max(id_of(c, host, username, id)?);
    }
    let before = match &query.before {
        Some(Before::Id(id)) => Some(id),
        _ => None,
    };
    for id in [query.before_id.as_ref(), before].into_iter().flatten() {
        below = below.min(id_of(c, host, username, id)?);
    }
    if let Some(start) = query.start_ms {
        match first_id_from(c, host, start)? {
            Some(first) => above = above.max(first - 1),
            None => above = i64::MAX,
        }
    }
    if let Some(end) = query.end_ms
        && let Some(after_end) = first_id_from(c, host, end.saturating_add(1))?
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
    let mut values: Vec<Value> = vec![
        host.to_owned().into(),
        username.to_owned().into(),
        above.into(),
        below.into(),
    ];
    let (index, mut filter) = if !query.ids.is_empty() {
        let marks = vec!["?"; query.ids.len()].join(", ");
        values.extend(query.ids.iter().map(|id| Value::from(id.clone())));
        (
            "archive_by_stanza_id",
            format!(" AND stanza_id IN ({marks})"),
        )
    } else if let Some(with) = &query.with {
        values.push(with.clone().into());
        ("archive_by_with", " AND with_jid = ?".to_owned())
    } else {
        ("archive_by_owner", String::new())
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
        "SELECT stanza_id, stamp, stanza FROM archive INDEXED BY {index}
         WHERE host = ? AND username = ? AND id > ? AND id < ?{filter}
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
        let stanza: String = row.get(2)?;
        bytes += stanza.len();
        items.push(Item {
            stanza_id: row.get(0)?,
            stamp_ms: row.get(1)?,
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
