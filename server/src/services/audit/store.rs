//! The audit log's SQL: one insert that any storage job may run, the query
//! behind `roostctl audit`, and the purge's batches.

use roost_common::admin::{AuditAction, AuditActor, AuditEntry};
use rusqlite::types::Value;
use rusqlite::{Connection, params, params_from_iter};

use super::{Entry, bounded};
use crate::services::{ServiceError, now};
use crate::storage::StorageError;

/// Entries deleted per storage job by the purge.
pub(super) const PURGE_BATCH: usize = 1000;

/// Writes `entry` on `conn`, inside the caller's job.
pub(crate) fn insert(conn: &Connection, entry: &Entry) -> Result<(), ServiceError> {
    conn.prepare_cached(
        "INSERT INTO audit_log (at, actor_kind, actor, action, host, jid, subject, outcome, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        now(),
        entry.actor.kind(),
        bounded(&entry.actor.name()),
        entry.action.as_str(),
        entry.host.as_deref().map(bounded),
        entry.jid.as_deref().map(bounded),
        entry.subject.as_deref().map(bounded),
        bounded(&entry.outcome),
        entry.detail.as_deref().map(bounded),
    ])?;
    Ok(())
}

/// What `roostctl audit` asked for, checked.
pub(super) struct Filter {
    pub host: Option<String>,
    pub jid: Option<String>,
    pub since: Option<i64>,
    pub action: Option<AuditAction>,
    pub limit: u32,
}

/// The matching entries, newest first. Only the filters given become SQL
/// conditions, so each can use its index.
pub(super) fn select(conn: &Connection, filter: &Filter) -> Result<Vec<AuditEntry>, ServiceError> {
    let mut conditions = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(host) = &filter.host {
        values.push(host.clone().into());
        conditions.push(format!("host = ?{}", values.len()));
    }
    if let Some(jid) = &filter.jid {
        values.push(jid.clone().into());
        let n = values.len();
        conditions.push(format!(
            "(jid = ?{n} OR (actor = ?{n} AND actor_kind = 'xmpp'))"
        ));
    }
    if let Some(since) = filter.since {
        values.push(since.into());
        conditions.push(format!("at >= ?{}", values.len()));
    }
    if let Some(action) = filter.action {
        values.push(action.as_str().to_owned().into());
        conditions.push(format!("action = ?{}", values.len()));
    }
    let condition = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    values.push(i64::from(filter.limit).into());
    let sql = format!(
        "SELECT id, at, actor_kind, actor, action, host, jid, subject, outcome, detail
         FROM audit_log {condition} ORDER BY id DESC LIMIT ?{}",
        values.len()
    );
    let mut st = conn.prepare(&sql)?;
    let rows = st
        .query_map(params_from_iter(values), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, String>(8)?,
                r.get::<_, Option<String>>(9)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(
            |(id, at, kind, actor, action, host, jid, subject, outcome, detail)| {
                let actor = AuditActor::from_parts(&kind, &actor)
                    .ok_or_else(|| corrupt(&format!("{kind}:{actor}")))?;
                let action = AuditAction::from_name(&action).ok_or_else(|| corrupt(&action))?;
                Ok(AuditEntry {
                    id,
                    at,
                    actor,
                    action,
                    host,
                    jid,
                    subject,
                    outcome,
                    detail,
                })
            },
        )
        .collect()
}

/// Deletes up to [`PURGE_BATCH`] entries older than `before`, oldest first.
pub(super) fn delete_batch(conn: &Connection, before: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "DELETE FROM audit_log WHERE id IN
             (SELECT id FROM audit_log WHERE at < ?1 ORDER BY id LIMIT ?2)",
    )?
    .execute(params![before, PURGE_BATCH as i64])
}

fn corrupt(value: &str) -> ServiceError {
    StorageError::Sqlite(format!("stored audit value '{value}' is invalid")).into()
}
