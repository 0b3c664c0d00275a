//! The database as a killed roostd left it, opened read-only: SQLite's
//! own integrity and foreign-key checks, no half-made record (an account
//! without its credentials or redemption, a used invite without its
//! account, a key whose invite count disagrees with its invites), every
//! acknowledged write present, each registration that was in flight
//! either wholly there or wholly absent, and the audit log in step with
//! the invites and redemptions it records.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension as _, params};
use sha2::{Digest as _, Sha256};

use super::ledger::{Ledger, Registration};
use crate::HOST;

/// Problems found, each a sentence; empty when all is well.
pub type Problems = Vec<String>;

pub fn open_read_only(path: &Path) -> Connection {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| panic!("open {} read-only: {e}", path.display()))
}

/// SQLite's checks and the invariants of the schema, whatever the load.
/// `made_by_admin` are the accounts made with roostctl (no invite).
pub fn check_structure(conn: &Connection, made_by_admin: &[String]) -> Problems {
    let mut problems = Vec::new();
    let integrity: Vec<String> = rows(conn, "PRAGMA integrity_check");
    if integrity != ["ok"] {
        problems.push(format!("integrity_check: {integrity:?}"));
    }
    let foreign: Vec<String> = rows(
        conn,
        "SELECT \"table\" || ' row ' || ifnull(rowid, '?') || ' -> ' || parent FROM pragma_foreign_key_check",
    );
    if !foreign.is_empty() {
        problems.push(format!("foreign_key_check: {foreign:?}"));
    }
    let mut expect_none = |what: &str, sql: &str| {
        let found: Vec<String> = rows(conn, sql);
        if !found.is_empty() {
            problems.push(format!("{what}: {found:?}"));
        }
    };
    expect_none(
        "accounts without both SCRAM credentials",
        "SELECT username FROM accounts a WHERE (SELECT count(*) FROM scram_credentials s
             WHERE s.host = a.host AND s.username = a.username) != 2",
    );
    expect_none(
        "redemptions of accounts that do not exist",
        "SELECT jid FROM invite_redemptions r WHERE NOT EXISTS
             (SELECT 1 FROM accounts a WHERE a.username || '@' || a.host = r.jid)",
    );
    expect_none(
        "single-use invites whose remaining uses disagree with their redemptions",
        "SELECT id || ': ' || uses_left || ' left, ' ||
             (SELECT count(*) FROM invite_redemptions r WHERE r.invite_id = i.id) || ' redeemed'
         FROM invites i
         WHERE uses_left + (SELECT count(*) FROM invite_redemptions r WHERE r.invite_id = i.id) != 1",
    );
    expect_none(
        "contact invites redeemed without both roster items",
        "SELECT r.jid || ' of ' || i.jid FROM invite_redemptions r JOIN invites i ON i.id = r.invite_id
         WHERE i.kind != 'account' AND (
             NOT EXISTS (SELECT 1 FROM roster_items x WHERE x.username || '@' || x.host = i.jid
                         AND x.contact = r.jid AND x.subscription = 'both')
             OR NOT EXISTS (SELECT 1 FROM roster_items y WHERE y.username || '@' || y.host = r.jid
                            AND y.contact = i.jid AND y.subscription = 'both'))",
    );
    expect_none(
        "API keys whose count of invites disagrees with their invites",
        "SELECT id || ': ' || invites_created || ' counted, ' ||
             (SELECT count(*) FROM invites i WHERE i.api_key_id = k.id) || ' made'
         FROM api_keys k
         WHERE invites_created != (SELECT count(*) FROM invites i WHERE i.api_key_id = k.id)",
    );
    for (table, what) in [
        ("roster_items", "roster items"),
        ("offline_messages", "offline messages"),
        ("scram_credentials", "credentials"),
        ("clients", "client records"),
    ] {
        expect_none(
            &format!("{what} of accounts that do not exist"),
            &format!(
                "SELECT DISTINCT username FROM {table} t WHERE NOT EXISTS
                     (SELECT 1 FROM accounts a WHERE a.host = t.host AND a.username = t.username)"
            ),
        );
    }
    expect_none(
        "roster items newer than their roster",
        "SELECT r.username || ' ' || r.contact FROM roster_items r JOIN accounts a
             ON a.host = r.host AND a.username = r.username WHERE r.version > a.roster_version",
    );
    // The audit log (issue 12) is written in the job that makes each
    // change: after a kill, no change without its entry and no entry of
    // a change that was rolled back. The load neither revokes nor
    // deletes, so every entry's invite and redemption is still there.
    expect_none(
        "invites without their invite.create audit entry",
        "SELECT id FROM invites i WHERE NOT EXISTS (SELECT 1 FROM audit_log l
             WHERE l.action = 'invite.create' AND l.outcome = 'ok' AND l.subject = CAST(i.id AS TEXT))",
    );
    expect_none(
        "invite.create audit entries of invites that do not exist",
        "SELECT subject FROM audit_log l WHERE l.action = 'invite.create' AND l.outcome = 'ok'
             AND NOT EXISTS (SELECT 1 FROM invites i WHERE CAST(i.id AS TEXT) = l.subject)",
    );
    expect_none(
        "redemptions without their invite.redeem audit entry",
        "SELECT jid FROM invite_redemptions r WHERE NOT EXISTS (SELECT 1 FROM audit_log l
             WHERE l.action = 'invite.redeem' AND l.outcome = 'ok' AND l.jid = r.jid
               AND l.subject = CAST(r.invite_id AS TEXT))",
    );
    expect_none(
        "invite.redeem audit entries of redemptions that do not exist",
        "SELECT jid FROM audit_log l WHERE l.action = 'invite.redeem' AND l.outcome = 'ok'
             AND NOT EXISTS (SELECT 1 FROM invite_redemptions r
                 WHERE r.jid = l.jid AND CAST(r.invite_id AS TEXT) = l.subject)",
    );
    // Accounts made by invites have exactly one redemption each.
    let invited: Vec<String> = rows(
        conn,
        "SELECT username || '@' || host || ' ' ||
             (SELECT count(*) FROM invite_redemptions r WHERE r.jid = a.username || '@' || a.host)
         FROM accounts a",
    );
    for line in invited {
        let (jid, count) = line.split_once(' ').expect("jid and count");
        let expected = if made_by_admin.iter().any(|a| a == jid) {
            "0"
        } else {
            "1"
        };
        if count != expected {
            problems.push(format!(
                "{jid} has {count} redemption records, expected {expected}"
            ));
        }
    }
    problems
}

/// Every acknowledged write of the ledger is in the database; each
/// registration in flight is all there or not at all. Registrations found
/// made move from in flight to registered (their password must then work);
/// the others are forgotten, and their tokens were not used.
pub fn check_ledger(conn: &Connection, ledger: &mut Ledger) -> Problems {
    let mut problems = Vec::new();
    let mut missing_tokens = 0;
    for token in &ledger.tokens {
        if invite_of(conn, token).is_none() {
            missing_tokens += 1;
            if missing_tokens <= 5 {
                problems.push(format!("acknowledged invite {token} is missing"));
            }
        }
    }
    if missing_tokens > 5 {
        problems.push(format!(
            "{missing_tokens} acknowledged invites missing in all"
        ));
    }
    for registration in &ledger.registered {
        let made = registration_state(conn, registration);
        if made != (true, true, true) {
            problems.push(format!(
                "acknowledged registration {} ({}): (account, redemption, token used) = {made:?}",
                registration.jid(),
                registration.door
            ));
        }
    }
    for registration in std::mem::take(&mut ledger.registrations_in_flight) {
        match registration_state(conn, &registration) {
            (true, true, true) => {
                ledger.counts.in_flight_registrations_made += 1;
                ledger.new_registrations.push(registration.clone());
                ledger.registered.push(registration);
            }
            (false, false, false) => {
                ledger.counts.in_flight_registrations_not_made += 1;
                // The token was not used: the next rounds may use it.
                ledger.unused_tokens.push_back(registration.token);
            }
            half => problems.push(format!(
                "registration {} ({}) in flight at the kill is half made: \
                 (account, redemption, token used) = {half:?}",
                registration.jid(),
                registration.door
            )),
        }
    }
    for (recipient, bodies) in &ledger.undelivered {
        let stored = stored_bodies(conn, recipient);
        for body in bodies {
            if !stored
                .iter()
                .any(|s| s.contains(&format!("<body>{body}</body>")))
            {
                problems.push(format!(
                    "acknowledged offline message {body} for {recipient} is missing"
                ));
            }
        }
    }
    problems
}

/// (id, uses left) of the invite behind `token`.
fn invite_of(conn: &Connection, token: &str) -> Option<(i64, Option<i64>)> {
    conn.query_row(
        "SELECT id, uses_left FROM invites WHERE token_hash = ?1",
        params![Sha256::digest(token.as_bytes()).to_vec()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .expect("query invites")
}

/// (the account exists, its redemption of the token's invite exists, the
/// token is used up).
fn registration_state(conn: &Connection, registration: &Registration) -> (bool, bool, bool) {
    let account = conn
        .query_row(
            "SELECT 1 FROM accounts WHERE host = ?1 AND username = ?2",
            params![HOST, registration.username],
            |_| Ok(()),
        )
        .optional()
        .expect("query accounts")
        .is_some();
    let Some((invite, uses_left)) = invite_of(conn, &registration.token) else {
        return (account, false, false);
    };
    let redeemed = conn
        .query_row(
            "SELECT 1 FROM invite_redemptions WHERE invite_id = ?1 AND jid = ?2",
            params![invite, registration.jid()],
            |_| Ok(()),
        )
        .optional()
        .expect("query redemptions")
        .is_some();
    (account, redeemed, uses_left == Some(0))
}

fn stored_bodies(conn: &Connection, recipient: &str) -> Vec<String> {
    let username = recipient.split('@').next().expect("a user JID");
    let mut st = conn
        .prepare("SELECT stanza FROM offline_messages WHERE host = ?1 AND username = ?2")
        .expect("prepare");
    st.query_map(params![HOST, username], |r| r.get(0))
        .expect("query offline messages")
        .collect::<Result<_, _>>()
        .expect("read offline messages")
}

/// The first column of every row of `sql`, as text.
fn rows(conn: &Connection, sql: &str) -> Vec<String> {
    let mut st = conn
        .prepare(sql)
        .unwrap_or_else(|e| panic!("prepare {sql}: {e}"));
    st.query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect())
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// How many rows each table holds, for the report.
pub fn table_sizes(conn: &Connection) -> String {
    [
        "accounts",
        "invites",
        "invite_redemptions",
        "roster_items",
        "offline_messages",
    ]
    .iter()
    .map(|t| {
        let n: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
            .expect("count");
        format!("{t} {n}")
    })
    .collect::<Vec<_>>()
    .join(", ")
}
