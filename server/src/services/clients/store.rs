//! The client records in SQLite, run on the storage thread so that other
//! services' jobs can include them (a password change forgets password use
//! in the job that stores the new credentials; a FAST token's client is
//! made in the job that issues it).

use rusqlite::{Connection, OptionalExtension as _, params};

use super::{AuthMethod, ClientId, UserAgent};
use crate::services::{ServiceError, fast_tokens};

/// An account's primary key: (host, username).
pub type Account = (String, String);

/// A login to write.
pub struct LoginRow {
    pub client: Option<ClientId>,
    pub method: AuthMethod,
    pub mechanism: String,
    pub agent: UserAgent,
    pub full_jid: String,
    pub now: i64,
}

/// Creates or updates the record of a login; returns its id and whether
/// records were deleted to stay within `cap`. The user agent is the first
/// one known: a record made for a FAST token before its client's first
/// bind ([`ensure`]) takes that bind's.
pub fn record(
    conn: &Connection,
    (host, username): &Account,
    login: &LoginRow,
    cap: usize,
    connected: &[ClientId],
) -> Result<(ClientId, bool), ServiceError> {
    let id = match &login.client {
        Some(id) => id.clone(),
        None => match legacy_by_jid(conn, host, username, &login.full_jid)? {
            Some(id) => id,
            None => new_legacy_id(conn, host, username)?,
        },
    };
    let (password_at, fast_at) = match login.method {
        AuthMethod::Password => (Some(login.now), None),
        AuthMethod::Fast => (None, Some(login.now)),
    };
    let updated = conn
        .prepare_cached(
            "UPDATE clients SET last_seen = ?4, full_jid = ?5, last_mechanism = ?6,
                 password_used_at = coalesce(?7, password_used_at),
                 fast_used_at = coalesce(?8, fast_used_at),
                 software = coalesce(software, ?9), device = coalesce(device, ?10)
             WHERE host = ?1 AND username = ?2 AND id = ?3",
        )?
        .execute(params![
            host,
            username,
            id.as_str(),
            login.now,
            login.full_jid,
            login.mechanism,
            password_at,
            fast_at,
            login.agent.software,
            login.agent.device,
        ])?;
    if updated > 0 {
        return Ok((id, false));
    }
    require_account(conn, host, username)?;
    let trimmed = make_room(conn, host, username, cap, connected, &id)?;
    conn.prepare_cached(
        "INSERT INTO clients (host, username, id, legacy, software, device, full_jid,
             first_seen, last_seen, last_mechanism, password_used_at, fast_used_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        host,
        username,
        id.as_str(),
        login.client.is_none(),
        login.agent.software,
        login.agent.device,
        login.full_jid,
        login.now,
        login.mechanism,
        password_at,
        fast_at,
    ])?;
    Ok((id, trimmed))
}

/// Makes sure `client` has a record (one a FAST token can be listed and
/// revoked by), creating a bare one if needed; `true` when records were
/// deleted to stay within `cap`.
pub fn ensure(
    conn: &Connection,
    (host, username): &Account,
    client: &ClientId,
    now: i64,
    cap: usize,
    connected: &[ClientId],
) -> Result<bool, ServiceError> {
    let exists = conn
        .prepare_cached("SELECT 1 FROM clients WHERE host = ?1 AND username = ?2 AND id = ?3")?
        .query_row(params![host, username, client.as_str()], |_| Ok(()))
        .optional()?
        .is_some();
    if exists {
        return Ok(false);
    }
    require_account(conn, host, username)?;
    let trimmed = make_room(conn, host, username, cap, connected, client)?;
    conn.prepare_cached(
        "INSERT INTO clients (host, username, id, legacy, first_seen, last_seen)
         VALUES (?1, ?2, ?3, 0, ?4, ?4)",
    )?
    .execute(params![host, username, client.as_str(), now])?;
    Ok(trimmed)
}

/// A record needs its account: one deleted while its client logged in is
/// `NotFound`, not a foreign key failure.
fn require_account(conn: &Connection, host: &str, username: &str) -> Result<(), ServiceError> {
    conn.prepare_cached("SELECT 1 FROM accounts WHERE host = ?1 AND username = ?2")?
        .query_row(params![host, username], |_| Ok(()))
        .optional()?
        .ok_or(ServiceError::NotFound("account"))
}

/// The legacy record whose latest session had this full JID.
fn legacy_by_jid(
    conn: &Connection,
    host: &str,
    username: &str,
    full_jid: &str,
) -> Result<Option<ClientId>, ServiceError> {
    let id: Option<String> = conn
        .prepare_cached(
            "SELECT id FROM clients WHERE host = ?1 AND username = ?2 AND full_jid = ?3
                 AND legacy = 1 ORDER BY last_seen DESC LIMIT 1",
        )?
        .query_row(params![host, username, full_jid], |r| r.get(0))
        .optional()?;
    id.map(|id| stored_id(&id)).transpose()
}

/// A fresh server-made id (12 base64url characters, as Prosody's).
fn new_legacy_id(conn: &Connection, host: &str, username: &str) -> Result<ClientId, ServiceError> {
    loop {
        let id = ClientId(crate::services::secrets::random_short_id());
        let taken = conn
            .prepare_cached("SELECT 1 FROM clients WHERE host = ?1 AND username = ?2 AND id = ?3")?
            .query_row(params![host, username, id.as_str()], |_| Ok(()))
            .optional()?
            .is_some();
        if !taken {
            return Ok(id);
        }
    }
}

/// Deletes the least recently seen records that are not connected (with
/// their FAST tokens) until one more fits under `cap`.
fn make_room(
    conn: &Connection,
    host: &str,
    username: &str,
    cap: usize,
    connected: &[ClientId],
    adding: &ClientId,
) -> Result<bool, ServiceError> {
    let ids: Vec<String> = conn
        .prepare_cached(
            "SELECT id FROM clients WHERE host = ?1 AND username = ?2
             ORDER BY last_seen, id",
        )?
        .query_map(params![host, username], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let Some(excess) = (ids.len() + 1).checked_sub(cap).filter(|n| *n > 0) else {
        return Ok(false);
    };
    let mut delete =
        conn.prepare_cached("DELETE FROM clients WHERE host = ?1 AND username = ?2 AND id = ?3")?;
    let mut deleted = 0;
    for id in ids
        .iter()
        .filter(|id| id.as_str() != adding.as_str())
        .filter(|id| !connected.iter().any(|c| c.as_str() == id.as_str()))
    {
        if deleted == excess {
            break;
        }
        delete.execute(params![host, username, id])?;
        fast_tokens::store::delete_client(conn, host, username, id)?;
        deleted += 1;
    }
    Ok(deleted > 0)
}

/// One stored record with what listing needs to know about its tokens.
pub struct Stored {
    pub id: ClientId,
    pub legacy: bool,
    pub agent: UserAgent,
    pub full_jid: Option<String>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub password_used: bool,
    pub working_token: bool,
}

/// Every record of the account.
pub fn all(conn: &Connection, account: &Account, now: i64) -> Result<Vec<Stored>, ServiceError> {
    select(conn, account, None, now)
}

/// One record; `None` when there is none.
pub fn one(
    conn: &Connection,
    account: &Account,
    id: &ClientId,
    now: i64,
) -> Result<Option<Stored>, ServiceError> {
    Ok(select(conn, account, Some(id), now)?.pop())
}

fn select(
    conn: &Connection,
    (host, username): &Account,
    id: Option<&ClientId>,
    now: i64,
) -> Result<Vec<Stored>, ServiceError> {
    let mut st = conn.prepare_cached(
        "SELECT c.id, c.legacy, c.software, c.device, c.full_jid, c.first_seen, c.last_seen,
                c.password_used_at IS NOT NULL,
                EXISTS (SELECT 1 FROM fast_tokens t
                        WHERE t.host = c.host AND t.username = c.username AND t.client = c.id
                          AND t.slot != 'superseded' AND t.expires_at > ?3)
         FROM clients c WHERE c.host = ?1 AND c.username = ?2 AND (?4 IS NULL OR c.id = ?4)",
    )?;
    let rows = st
        .query_map(
            params![host, username, now, id.map(ClientId::as_str)],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Stored {
                        id: ClientId(String::new()),
                        legacy: r.get(1)?,
                        agent: UserAgent {
                            software: r.get(2)?,
                            device: r.get(3)?,
                        },
                        full_jid: r.get(4)?,
                        first_seen: r.get(5)?,
                        last_seen: r.get(6)?,
                        password_used: r.get(7)?,
                        working_token: r.get(8)?,
                    },
                ))
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(id, row)| {
            Ok(Stored {
                id: stored_id(&id)?,
                ..row
            })
        })
        .collect()
}

/// The password changed: no client has used the new one yet.
pub fn forget_password_use(
    conn: &Connection,
    (host, username): &Account,
) -> Result<(), ServiceError> {
    conn.prepare_cached(
        "UPDATE clients SET password_used_at = NULL WHERE host = ?1 AND username = ?2",
    )?
    .execute(params![host, username])?;
    Ok(())
}

fn stored_id(id: &str) -> Result<ClientId, ServiceError> {
    ClientId::parse(id).ok_or_else(|| {
        crate::storage::StorageError::Sqlite(format!("stored client id '{id}' is invalid")).into()
    })
}
