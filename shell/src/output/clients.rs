//! How `user clients` and `user revoke_client` replies are shown.
//! Contracts, frozen by the `user-clients*` and `user-revoke-client*` files
//! under `shell/tests/snapshots/`:
//!
//! - `user clients` prints, when stdout is not a terminal, one
//!   `ID<TAB>SOFTWARE<TAB>DEVICE<TAB>FIRST_SEEN<TAB>LAST_SEEN<TAB>AUTH<TAB>CONNECTED`
//!   line per client, in roostd's order: times in Unix seconds, AUTH the
//!   ways it has access joined with commas (`password,fast`; empty for
//!   none), CONNECTED `yes` or `no`, SOFTWARE and DEVICE empty when unknown;
//!   nothing for no clients. New columns are only ever appended. With
//!   `--json` an array of `{"id", "software", "device", "first_seen",
//!   "last_seen", "auth", "connected", "jid", "legacy"}`, `software`,
//!   `device` and `jid` null when unknown.
//! - `user revoke_client` prints what it ended on one line ("ended 1
//!   session, deleted 2 FAST tokens", "nothing to end"); with `--json`
//!   `{"jid", "client", "sessions_ended", "fast_tokens_deleted",
//!   "password_reset_required"}`. That a password reset is still needed is
//!   not output but an error (exit status 1), which `exec` reports.
//!
//! Times in the table are `YYYY-MM-DD HH:MM UTC`, as in every other table,
//! rather than Prosody's local `HH:MM:SS`-or-date: a table pasted into a
//! ticket then reads the same in every time zone and on every day.

use roost_common::admin::{ClientAuth, ClientInfo};
use roost_common::time::utc_minutes;
use serde::Serialize;

use super::{Style, json, printable, styled_table};

/// One client as `--json` shows it, apart from the wire type so that the
/// protocol can grow without changing this contract. The field order is
/// part of the contract.
#[derive(Serialize)]
struct ClientJson<'a> {
    id: &'a str,
    software: Option<&'a str>,
    device: Option<&'a str>,
    first_seen: i64,
    last_seen: i64,
    auth: Vec<&'static str>,
    connected: bool,
    jid: Option<&'a str>,
    legacy: bool,
}

impl<'a> ClientJson<'a> {
    fn new(client: &'a ClientInfo) -> Self {
        ClientJson {
            id: &client.id,
            software: client.software.as_deref(),
            device: client.device.as_deref(),
            first_seen: client.first_seen,
            last_seen: client.last_seen,
            auth: client.auth.iter().map(|a| a.as_str()).collect(),
            connected: client.connected,
            jid: client.jid.as_deref(),
            legacy: client.legacy,
        }
    }
}

#[derive(Serialize)]
struct RevokedJson<'a> {
    jid: &'a str,
    client: &'a str,
    sessions_ended: u32,
    fast_tokens_deleted: u32,
    password_reset_required: bool,
}

/// What revoking a client did, as roostd reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revocation {
    pub sessions_ended: u32,
    pub fast_tokens_deleted: u32,
    pub password_reset_required: bool,
}

/// The clients of the account `jid` (as typed).
pub fn list(jid: &str, clients: &[ClientInfo], style: Style) -> String {
    match style {
        Style::Json => json(&clients.iter().map(ClientJson::new).collect::<Vec<_>>()),
        Style::Lines => clients.iter().map(line).collect(),
        Style::Table if clients.is_empty() => {
            format!("No clients have access to {}.\n", printable(jid))
        }
        Style::Table => table(clients),
    }
}

fn line(client: &ClientInfo) -> String {
    let auth: Vec<&str> = client.auth.iter().map(|a| a.as_str()).collect();
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
        printable(&client.id),
        optional(client.software.as_deref()),
        optional(client.device.as_deref()),
        client.first_seen,
        client.last_seen,
        auth.join(","),
        yes_no(client.connected)
    )
}

fn table(clients: &[ClientInfo]) -> String {
    let mut table = styled_table([
        "id",
        "software",
        "device",
        "first seen",
        "last seen",
        "auth",
        "connected",
    ]);
    for client in clients {
        table.add_row([
            printable(&client.id).into_owned(),
            unknown(client.software.as_deref()),
            unknown(client.device.as_deref()),
            utc_minutes(client.first_seen),
            utc_minutes(client.last_seen),
            auth_cell(&client.auth),
            yes_no(client.connected).to_owned(),
        ]);
    }
    format!("{table}\n")
}

/// An optional field in a line: empty when unknown.
fn optional(text: Option<&str>) -> String {
    text.map(|t| printable(t).into_owned()).unwrap_or_default()
}

/// An optional field in the table: `-` when unknown, as in the other tables.
fn unknown(text: Option<&str>) -> String {
    text.map_or_else(|| "-".into(), |t| printable(t).into_owned())
}

/// `password, fast`, or `-` for a client that only holds a live session.
fn auth_cell(auth: &[ClientAuth]) -> String {
    if auth.is_empty() {
        return "-".into();
    }
    auth.iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

/// A revocation of `client` of the account `jid` (both as typed).
pub fn revoked(jid: &str, client: &str, outcome: Revocation, style: Style) -> String {
    match style {
        Style::Json => json(&RevokedJson {
            jid,
            client,
            sessions_ended: outcome.sessions_ended,
            fast_tokens_deleted: outcome.fast_tokens_deleted,
            password_reset_required: outcome.password_reset_required,
        }),
        Style::Table | Style::Lines => format!("{}\n", what_was_ended(outcome)),
    }
}

/// `ended 2 sessions, deleted 1 FAST token`, or `nothing to end`.
fn what_was_ended(outcome: Revocation) -> String {
    let mut parts = Vec::new();
    if outcome.sessions_ended > 0 {
        parts.push(format!(
            "ended {}",
            counted(outcome.sessions_ended, "session", "sessions")
        ));
    }
    if outcome.fast_tokens_deleted > 0 {
        parts.push(format!(
            "deleted {}",
            counted(outcome.fast_tokens_deleted, "FAST token", "FAST tokens")
        ));
    }
    if parts.is_empty() {
        "nothing to end".into()
    } else {
        parts.join(", ")
    }
}

fn counted(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests;
