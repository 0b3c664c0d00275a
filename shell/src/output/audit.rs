//! How `audit` replies are shown. Contracts, frozen by the `audit-*` files
//! under `shell/tests/snapshots/`:
//!
//! - when stdout is not a terminal, one
//!   `TIME<TAB>ACTOR<TAB>ACTION<TAB>HOST<TAB>JID<TAB>SUBJECT<TAB>OUTCOME<TAB>DETAIL`
//!   line per entry, newest first: TIME as `2026-01-31T12:00:00Z`, ACTOR
//!   as `KIND:NAME` (`admin:1000`, `api_key:ID`, `xmpp:JID`, `web:ADDRESS`,
//!   `connection:ADDRESS`) or `server`, absent fields empty; nothing when no
//!   entry matches. New columns are only ever appended.
//! - with `--json` an array of `{"id", "at", "actor_kind", "actor",
//!   "action", "host", "jid", "subject", "outcome", "detail"}`, `at` in
//!   Unix seconds, absent values null, `actor` empty for the server.

use roost_common::admin::AuditEntry;
use roost_common::time::xep0082;
use serde::Serialize;

use super::{Style, json, printable, styled_table};

/// An entry as `--json` shows it, apart from the wire type so that the
/// protocol can grow without changing this contract. The field order is
/// part of the contract.
#[derive(Serialize)]
struct EntryJson<'a> {
    id: i64,
    at: i64,
    actor_kind: &'static str,
    actor: String,
    action: &'static str,
    host: Option<&'a str>,
    jid: Option<&'a str>,
    subject: Option<&'a str>,
    outcome: &'a str,
    detail: Option<&'a str>,
}

impl<'a> EntryJson<'a> {
    fn new(entry: &'a AuditEntry) -> Self {
        EntryJson {
            id: entry.id,
            at: entry.at,
            actor_kind: entry.actor.kind(),
            actor: entry.actor.name(),
            action: entry.action.as_str(),
            host: entry.host.as_deref(),
            jid: entry.jid.as_deref(),
            subject: entry.subject.as_deref(),
            outcome: &entry.outcome,
            detail: entry.detail.as_deref(),
        }
    }
}

/// The entries roostd sent, newest first.
pub fn list(entries: &[AuditEntry], style: Style) -> String {
    match style {
        Style::Json => json(&entries.iter().map(EntryJson::new).collect::<Vec<_>>()),
        Style::Lines => entries.iter().map(line).collect(),
        Style::Table if entries.is_empty() => "No audit log entries match.\n".to_owned(),
        Style::Table => table(entries),
    }
}

fn line(entry: &AuditEntry) -> String {
    let optional = |value: &Option<String>| {
        value
            .as_deref()
            .map(|v| printable(v).into_owned())
            .unwrap_or_default()
    };
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
        xep0082(entry.at),
        printable(&entry.actor.to_string()),
        entry.action,
        optional(&entry.host),
        optional(&entry.jid),
        optional(&entry.subject),
        printable(&entry.outcome),
        optional(&entry.detail),
    )
}

fn table(entries: &[AuditEntry]) -> String {
    let cell = |value: &Option<String>| {
        value
            .as_deref()
            .map_or_else(|| "-".to_owned(), |v| printable(v).into_owned())
    };
    let mut table = styled_table([
        "time (UTC)",
        "actor",
        "action",
        "host",
        "account",
        "subject",
        "outcome",
        "detail",
    ]);
    for entry in entries {
        table.add_row([
            xep0082(entry.at).replace('T', " ").replace('Z', ""),
            printable(&entry.actor.to_string()).into_owned(),
            entry.action.to_string(),
            cell(&entry.host),
            cell(&entry.jid),
            cell(&entry.subject),
            printable(&entry.outcome).into_owned(),
            cell(&entry.detail),
        ]);
    }
    format!("{table}\n")
}

#[cfg(test)]
mod tests;
