//! How `roster show` and `roster refresh` replies are shown. Contracts,
//! frozen by the `roster-*` files under `shell/tests/snapshots/`:
//!
//! - `roster show` prints, when stdout is not a terminal, one
//!   `JID<TAB>NAME<TAB>SUBSCRIPTION<TAB>ASK<TAB>APPROVED<TAB>GROUPS` line
//!   per contact, in roostd's order (by JID): NAME empty for none,
//!   SUBSCRIPTION `none`, `to`, `from` or `both`, ASK and APPROVED `yes` or
//!   `no`, GROUPS joined with commas (empty for none); nothing for an empty
//!   roster. New columns are only ever appended. With `--json` an object
//!   `{"jid", "delegated", "fetched_at", "version", "items": [{"jid",
//!   "name", "subscription", "ask", "approved", "groups"}]}`, `fetched_at`
//!   in Unix seconds or null, `name` null for none.
//! - `roster refresh` prints, when stdout is not a terminal,
//!   `updated<TAB>N`, `errors<TAB>M`, then one `failed<TAB>JID<TAB>REASON`
//!   line per failure (FIELD<TAB>VALUE lines, as `invite show` prints);
//!   with `--json` `{"updated", "errors", "failures": [{"jid", "reason"}]}`.
//!   That some failed is not output but an error (exit status 1), which
//!   `exec` reports.
//!
//! Group names are free text: in lines they are joined with commas, which a
//! group name may contain too, so scripts that must tell them apart read
//! `--json`.

use roost_common::admin::{RosterInfo, RosterItemInfo, RosterRefreshFailure};
use roost_common::time::utc_minutes;
use serde::Serialize;

use super::{Style, json, printable, styled_table};

/// A roster as `--json` shows it, apart from the wire type so that the
/// protocol can grow without changing this contract. The field order is
/// part of the contract.
#[derive(Serialize)]
struct RosterJson<'a> {
    jid: &'a str,
    delegated: bool,
    fetched_at: Option<i64>,
    version: i64,
    items: Vec<ItemJson<'a>>,
}

#[derive(Serialize)]
struct ItemJson<'a> {
    jid: &'a str,
    name: Option<&'a str>,
    subscription: &'a str,
    ask: bool,
    approved: bool,
    groups: &'a [String],
}

impl<'a> ItemJson<'a> {
    fn new(item: &'a RosterItemInfo) -> Self {
        ItemJson {
            jid: &item.jid,
            name: item.name.as_deref(),
            subscription: &item.subscription,
            ask: item.ask,
            approved: item.approved,
            groups: &item.groups,
        }
    }
}

#[derive(Serialize)]
struct RefreshedJson<'a> {
    updated: u32,
    errors: u32,
    failures: Vec<FailureJson<'a>>,
}

#[derive(Serialize)]
struct FailureJson<'a> {
    jid: &'a str,
    reason: &'a str,
}

/// What a refresh did, as roostd reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refresh<'a> {
    pub updated: u32,
    pub errors: u32,
    pub failures: &'a [RosterRefreshFailure],
}

/// One account's roster.
pub fn show(roster: &RosterInfo, style: Style) -> String {
    match style {
        Style::Json => json(&RosterJson {
            jid: &roster.jid,
            delegated: roster.delegated,
            fetched_at: roster.fetched_at,
            version: roster.version,
            items: roster.items.iter().map(ItemJson::new).collect(),
        }),
        Style::Lines => roster.items.iter().map(line).collect(),
        Style::Table if roster.items.is_empty() => format!("{}No contacts.\n", heading(roster)),
        Style::Table => format!("{}{}", heading(roster), table(&roster.items)),
    }
}

fn line(item: &RosterItemInfo) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\n",
        printable(&item.jid),
        item.name
            .as_deref()
            .map(|n| printable(n).into_owned())
            .unwrap_or_default(),
        printable(&item.subscription),
        yes_no(item.ask),
        yes_no(item.approved),
        printable(&item.groups.join(",")),
    )
}

/// Whose roster it is, where it comes from, how current it is.
fn heading(roster: &RosterInfo) -> String {
    let source = match (roster.delegated, roster.fetched_at) {
        (false, _) => "kept by roostd".to_owned(),
        (true, Some(at)) => format!(
            "delegated to the roster service, last fetched {}",
            utc_minutes(at)
        ),
        (true, None) => "delegated to the roster service, never fetched".to_owned(),
    };
    format!(
        "Roster of {}: {source}; version {}.\n",
        printable(&roster.jid),
        roster.version
    )
}

fn table(items: &[RosterItemInfo]) -> String {
    let mut table = styled_table(["contact", "name", "subscription", "groups"]);
    for item in items {
        table.add_row([
            printable(&item.jid).into_owned(),
            item.name
                .as_deref()
                .map_or_else(|| "-".into(), |n| printable(n).into_owned()),
            subscription_cell(item),
            groups_cell(&item.groups),
        ]);
    }
    format!("{table}\n")
}

/// `both`, `none (request sent)`, `from (pre-approved)`, ...: RFC 6121's
/// state in words an operator reads without the RFC at hand.
fn subscription_cell(item: &RosterItemInfo) -> String {
    let mut notes = Vec::new();
    if item.ask {
        notes.push("request sent");
    }
    if item.approved {
        notes.push("pre-approved");
    }
    let state = printable(&item.subscription);
    if notes.is_empty() {
        state.into_owned()
    } else {
        format!("{state} ({})", notes.join(", "))
    }
}

/// The groups one under the other, so that a comma in a name reads as one.
fn groups_cell(groups: &[String]) -> String {
    if groups.is_empty() {
        return "-".into();
    }
    groups
        .iter()
        .map(|g| printable(g).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

/// What a refresh did.
pub fn refreshed(outcome: Refresh<'_>, style: Style) -> String {
    match style {
        Style::Json => json(&RefreshedJson {
            updated: outcome.updated,
            errors: outcome.errors,
            failures: outcome
                .failures
                .iter()
                .map(|f| FailureJson {
                    jid: &f.jid,
                    reason: &f.reason,
                })
                .collect(),
        }),
        Style::Lines => {
            let mut text = format!("updated\t{}\nerrors\t{}\n", outcome.updated, outcome.errors);
            for failure in outcome.failures {
                text.push_str(&format!(
                    "failed\t{}\t{}\n",
                    printable(&failure.jid),
                    printable(&failure.reason)
                ));
            }
            text
        }
        Style::Table => {
            let summary = format!("updated {}, errors {}\n", outcome.updated, outcome.errors);
            if outcome.failures.is_empty() {
                return summary;
            }
            let mut table = styled_table(["failed", "reason"]);
            for failure in outcome.failures {
                table.add_row([
                    printable(&failure.jid).into_owned(),
                    printable(&failure.reason).into_owned(),
                ]);
            }
            format!("{summary}{table}\n")
        }
    }
}

#[cfg(test)]
mod tests;
