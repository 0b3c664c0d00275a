//! How `c2s list` and `c2s close` replies are shown. Contracts, frozen by
//! the `c2s-*` files under `shell/tests/snapshots/`:
//!
//! - `c2s list` prints, when stdout is not a terminal, one
//!   `JID<TAB>ADDRESS<TAB>TLS<TAB>MECHANISM<TAB>SOFTWARE<TAB>DEVICE<TAB>SINCE<TAB>IDLE<TAB>STATE`
//!   line per session in roostd's order (by JID): TLS empty for plain text,
//!   SOFTWARE and DEVICE empty when unknown, SINCE in Unix seconds, IDLE in
//!   seconds, STATE `connected` or `hibernated` (the connection lost, the
//!   session waiting to be resumed; ADDRESS and TLS are then the lost
//!   connection's); nothing for no sessions. New columns are only ever
//!   appended. With `--json` an array of `{"jid", "address", "tls",
//!   "mechanism", "software", "device", "since", "idle_secs", "state"}`,
//!   `tls`, `software` and `device` null when there is none.
//! - `c2s close` prints `ended N session(s)`; with `--json`
//!   `{"jid", "sessions_ended"}`.

use comfy_table::CellAlignment;
use roost_common::admin::SessionInfo;
use roost_common::time::utc_minutes;
use serde::Serialize;

use super::status::duration;
use super::{Style, json, printable, styled_table};

/// One session as `--json` shows it, apart from the wire type so that the
/// protocol can grow without changing this contract. The field order is
/// part of the contract.
#[derive(Serialize)]
struct SessionJson<'a> {
    jid: &'a str,
    address: &'a str,
    tls: Option<&'a str>,
    mechanism: &'a str,
    software: Option<&'a str>,
    device: Option<&'a str>,
    since: i64,
    idle_secs: u64,
    state: &'static str,
}

impl<'a> SessionJson<'a> {
    fn new(session: &'a SessionInfo) -> Self {
        SessionJson {
            jid: &session.jid,
            address: &session.address,
            tls: session.tls.as_deref(),
            mechanism: &session.mechanism,
            software: session.software.as_deref(),
            device: session.device.as_deref(),
            since: session.since,
            idle_secs: session.idle_secs,
            state: state(session),
        }
    }
}

/// `connected`, or `hibernated` while the session waits to be resumed.
fn state(session: &SessionInfo) -> &'static str {
    match session.hibernated {
        true => "hibernated",
        false => "connected",
    }
}

#[derive(Serialize)]
struct ClosedJson<'a> {
    jid: &'a str,
    sessions_ended: u32,
}

/// The sessions `filter` (as typed; `None` for all) selected.
pub fn list(filter: Option<&str>, sessions: &[SessionInfo], style: Style) -> String {
    match style {
        Style::Json => json(&sessions.iter().map(SessionJson::new).collect::<Vec<_>>()),
        Style::Lines => sessions.iter().map(line).collect(),
        Style::Table if sessions.is_empty() => match filter {
            Some(filter) => format!("No sessions of {}.\n", printable(filter)),
            None => "No client sessions.\n".into(),
        },
        Style::Table => table(sessions),
    }
}

fn line(session: &SessionInfo) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
        printable(&session.jid),
        printable(&session.address),
        optional(session.tls.as_deref()),
        printable(&session.mechanism),
        optional(session.software.as_deref()),
        optional(session.device.as_deref()),
        session.since,
        session.idle_secs,
        state(session)
    )
}

fn table(sessions: &[SessionInfo]) -> String {
    let mut table = styled_table([
        "jid",
        "address",
        "tls",
        "mechanism",
        "client",
        "since",
        "idle",
        "state",
    ]);
    for session in sessions {
        table.add_row([
            printable(&session.jid).into_owned(),
            printable(&session.address).into_owned(),
            session
                .tls
                .as_deref()
                .map_or_else(|| "none".into(), |t| printable(t).into_owned()),
            printable(&session.mechanism).into_owned(),
            client(session),
            utc_minutes(session.since),
            duration(session.idle_secs),
            state(session).into(),
        ]);
    }
    if let Some(column) = table.column_mut(6) {
        column.set_cell_alignment(CellAlignment::Right);
    }
    format!("{table}\n")
}

/// `Conversations (Pixel 8)`, either alone, or `-` when unknown.
fn client(session: &SessionInfo) -> String {
    match (session.software.as_deref(), session.device.as_deref()) {
        (Some(software), Some(device)) => {
            format!("{} ({})", printable(software), printable(device))
        }
        (Some(one), None) | (None, Some(one)) => printable(one).into_owned(),
        (None, None) => "-".into(),
    }
}

/// An optional field in a line: empty when unknown.
fn optional(text: Option<&str>) -> String {
    text.map(|t| printable(t).into_owned()).unwrap_or_default()
}

/// What `c2s close` of `jid` (as typed) ended.
pub fn closed(jid: &str, sessions_ended: u32, style: Style) -> String {
    match style {
        Style::Json => json(&ClosedJson {
            jid,
            sessions_ended,
        }),
        Style::Table | Style::Lines => {
            let noun = if sessions_ended == 1 {
                "session"
            } else {
                "sessions"
            };
            format!("ended {sessions_ended} {noun}\n")
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
