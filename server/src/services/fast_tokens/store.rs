//! FAST token rows in SQLite, run on the storage thread so that other jobs
//! can include them (a password change supersedes every token in the job
//! that stores the new credentials; revoking a client deletes its tokens).
//!
//! A row is a token's random id, never the token: see `fast_tokens.rs`.

use rusqlite::{Connection, params};

use crate::services::ServiceError;

/// Superseded tokens kept per client at most (the newest): each answers
/// credentials-expired rather than not-authorized until it would have
/// expired; older ones are simply forgotten.
const MAX_SUPERSEDED: i64 = 4;

/// Where a token is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Issued, not yet used.
    New,
    /// Used; works until a newer one is used.
    Current,
    /// Replaced by a newer one that was used, or voided by a password change.
    Superseded,
}

impl Slot {
    fn as_str(self) -> &'static str {
        match self {
            Slot::New => "new",
            Slot::Current => "current",
            Slot::Superseded => "superseded",
        }
    }

    fn parse(s: &str) -> Option<Slot> {
        [Slot::New, Slot::Current, Slot::Superseded]
            .into_iter()
            .find(|slot| slot.as_str() == s)
    }
}

/// One stored token of a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub token_id: Vec<u8>,
    pub slot: Slot,
    pub mechanism: String,
    pub issued_at: i64,
    pub expires_at: i64,
}

/// The client's tokens, in every slot.
pub fn of_client(
    conn: &Connection,
    host: &str,
    username: &str,
    client: &str,
) -> Result<Vec<Row>, ServiceError> {
    let mut st = conn.prepare_cached(
        "SELECT token_id, slot, mechanism, issued_at, expires_at FROM fast_tokens
         WHERE host = ?1 AND username = ?2 AND client = ?3",
    )?;
    let rows = st
        .query_map(params![host, username, client], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(token_id, slot, mechanism, issued_at, expires_at)| {
            let slot = Slot::parse(&slot).ok_or_else(|| {
                crate::storage::StorageError::Sqlite(format!(
                    "stored token slot '{slot}' is invalid"
                ))
            })?;
            Ok(Row {
                token_id,
                slot,
                mechanism,
                issued_at,
                expires_at,
            })
        })
        .collect()
}

/// Puts a newly issued token into the client's `new` slot, replacing one
/// that was never used.
pub fn put_new(
    conn: &Connection,
    (host, username, client): (&str, &str, &str),
    row: &Row,
) -> Result<(), ServiceError> {
    conn.prepare_cached(
        "DELETE FROM fast_tokens WHERE host = ?1 AND username = ?2 AND client = ?3 AND slot = 'new'",
    )?
    .execute(params![host, username, client])?;
    conn.prepare_cached(
        "INSERT INTO fast_tokens
             (host, username, client, token_id, slot, mechanism, issued_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, 'new', ?5, ?6, ?7)",
    )?
    .execute(params![
        host,
        username,
        client,
        row.token_id,
        row.mechanism,
        row.issued_at,
        row.expires_at
    ])?;
    Ok(())
}

/// The `new` token was used: it becomes current, the current one superseded.
pub fn promote(
    conn: &Connection,
    (host, username, client): (&str, &str, &str),
    token_id: &[u8],
) -> Result<(), ServiceError> {
    conn.prepare_cached(
        "UPDATE fast_tokens SET slot = 'superseded'
         WHERE host = ?1 AND username = ?2 AND client = ?3 AND slot = 'current'",
    )?
    .execute(params![host, username, client])?;
    conn.prepare_cached(
        "UPDATE fast_tokens SET slot = 'current'
         WHERE host = ?1 AND username = ?2 AND client = ?3 AND token_id = ?4",
    )?
    .execute(params![host, username, client, token_id])?;
    Ok(())
}

pub fn delete(
    conn: &Connection,
    (host, username, client): (&str, &str, &str),
    token_id: &[u8],
) -> Result<(), ServiceError> {
    conn.prepare_cached(
        "DELETE FROM fast_tokens WHERE host = ?1 AND username = ?2 AND client = ?3 AND token_id = ?4",
    )?
    .execute(params![host, username, client, token_id])?;
    Ok(())
}

/// Deletes the client's expired tokens and superseded ones past
/// [`MAX_SUPERSEDED`].
pub fn prune(
    conn: &Connection,
    (host, username, client): (&str, &str, &str),
    now: i64,
) -> Result<(), ServiceError> {
    conn.prepare_cached(
        "DELETE FROM fast_tokens WHERE host = ?1 AND username = ?2 AND client = ?3
             AND (expires_at <= ?4 OR token_id IN (
                 SELECT token_id FROM fast_tokens
                 WHERE host = ?1 AND username = ?2 AND client = ?3 AND slot = 'superseded'
                 ORDER BY issued_at DESC, token_id LIMIT -1 OFFSET ?5))",
    )?
    .execute(params![host, username, client, now, MAX_SUPERSEDED])?;
    Ok(())
}

/// Deletes every token of the client; returns how many of them worked
/// (unexpired, not superseded).
pub fn delete_client(
    conn: &Connection,
    host: &str,
    username: &str,
    client: &str,
) -> Result<u32, ServiceError> {
    let working: u32 = conn
        .prepare_cached(
            "SELECT count(*) FROM fast_tokens WHERE host = ?1 AND username = ?2 AND client = ?3
                 AND slot != 'superseded' AND expires_at > ?4",
        )?
        .query_row(
            params![host, username, client, crate::services::now()],
            |r| r.get(0),
        )?;
    conn.prepare_cached(
        "DELETE FROM fast_tokens WHERE host = ?1 AND username = ?2 AND client = ?3",
    )?
    .execute(params![host, username, client])?;
    Ok(working)
}

/// The password changed: every token of the account stops working, and
/// says credentials-expired until it would have expired.
pub fn supersede_all(conn: &Connection, host: &str, username: &str) -> Result<(), ServiceError> {
    conn.prepare_cached(
        "UPDATE fast_tokens SET slot = 'superseded'
         WHERE host = ?1 AND username = ?2 AND slot != 'superseded'",
    )?
    .execute(params![host, username])?;
    // Each client gained at most two superseded tokens; keep the bound.
    let clients: Vec<String> = conn
        .prepare_cached(
            "SELECT DISTINCT client FROM fast_tokens WHERE host = ?1 AND username = ?2",
        )?
        .query_map(params![host, username], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let now = crate::services::now();
    for client in clients {
        prune(conn, (host, username, &client), now)?;
    }
    Ok(())
}
