//! How the `invite` commands' replies are shown. Contracts, frozen by the
//! `invite-*` files under `shell/tests/snapshots/`:
//!
//! - `invite create` prints the landing page URL alone on a line; with
//!   `--json` `{"url", "uri", "id", "expires_at", "kind", "uses"}`.
//! - `invite list` prints, when stdout is not a terminal, one
//!   `ID<TAB>KIND<TAB>EXPIRES<TAB>CREATOR<TAB>STATUS<TAB>USED_BY` line per
//!   invite, EXPIRES in Unix seconds, USED_BY the redemptions as
//!   space-separated `JID,SECONDS` (empty for none; a bare JID has no space,
//!   and the time follows the last comma), nothing for no invites. The
//!   first four columns are those of the first release; new ones are only
//!   ever appended. With `--json` an array of `{"id", "kind", "creator",
//!   "created_at", "expires_at", "uses_left", "status", "inviter",
//!   "redemptions": [{"jid", "redeemed_at"}]}`, `uses_left` null for
//!   unlimited, `inviter` null for none.
//! - `invite show` prints, when stdout is not a terminal, `FIELD<TAB>VALUE`
//!   lines (`id`, `kind`, `status`, `creator`, `inviter`, `created_at`,
//!   `expires_at`, `uses_left`; an empty value for none or unlimited), then
//!   one `redemption<TAB>JID<TAB>SECONDS` line per use; with `--json` one
//!   object as in `invite list`.
//! - `invite revoke` prints nothing; with `--json` `{"revoked", "host"}`.

use comfy_table::CellAlignment;
use roost_common::admin::{CreatedInviteInfo, InviteInfo, InviteStatus, InviteType};
use roost_common::time::utc_minutes;
use serde::Serialize;

use super::{Style, json, printable, styled_table};

/// A new invite as `--json` shows it. The field order is part of the contract.
#[derive(Serialize)]
struct CreatedJson<'a> {
    url: &'a str,
    uri: &'a str,
    id: i64,
    expires_at: i64,
    kind: InviteType,
    uses: u32,
}

/// One invite as `--json` shows it; the fields after `uses_left` were
/// appended later, in this order.
#[derive(Serialize)]
struct InviteJson<'a> {
    id: i64,
    kind: InviteType,
    creator: &'a str,
    created_at: i64,
    expires_at: i64,
    uses_left: Option<u32>,
    status: InviteStatus,
    inviter: Option<&'a str>,
    redemptions: Vec<RedemptionJson<'a>>,
}

#[derive(Serialize)]
struct RedemptionJson<'a> {
    jid: &'a str,
    redeemed_at: i64,
}

impl<'a> InviteJson<'a> {
    fn new(invite: &'a InviteInfo) -> Self {
        InviteJson {
            id: invite.id,
            kind: invite.kind,
            creator: &invite.creator,
            created_at: invite.created_at,
            expires_at: invite.expires_at,
            uses_left: invite.uses_left,
            status: invite.status,
            inviter: invite.inviter.as_deref(),
            redemptions: invite
                .redemptions
                .iter()
                .map(|r| RedemptionJson {
                    jid: &r.jid,
                    redeemed_at: r.redeemed_at,
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct RevokedJson<'a> {
    revoked: &'a str,
    host: &'a str,
}

/// A new invite. Outside JSON only its link is printed, so
/// `URL=$(roostctl invite create example.com)` just works.
pub fn created(invite: &CreatedInviteInfo, style: Style) -> String {
    match style {
        Style::Json => json(&CreatedJson {
            url: &invite.url,
            uri: &invite.uri,
            id: invite.id,
            expires_at: invite.expires_at,
            kind: invite.kind,
            uses: invite.uses,
        }),
        Style::Table | Style::Lines => format!("{}\n", invite.url),
    }
}

/// The invites of `host`; `all` says whether used-up ones were asked for,
/// which brings a status column to the table.
pub fn list(host: &str, invites: &[InviteInfo], all: bool, style: Style) -> String {
    match style {
        Style::Json => json(&invites.iter().map(InviteJson::new).collect::<Vec<_>>()),
        Style::Lines => invites
            .iter()
            .map(|i| {
                let used_by: Vec<String> = i
                    .redemptions
                    .iter()
                    .map(|r| format!("{},{}", printable_word(&r.jid), r.redeemed_at))
                    .collect();
                format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\n",
                    i.id,
                    i.kind,
                    i.expires_at,
                    printable(&i.creator),
                    i.status,
                    used_by.join(" ")
                )
            })
            .collect(),
        Style::Table if invites.is_empty() && all => format!("No invites for {host}.\n"),
        Style::Table if invites.is_empty() => format!("No pending invites for {host}.\n"),
        Style::Table => {
            let mut header = vec!["id", "kind"];
            if all {
                header.push("status");
            }
            header.extend(["creator", "created", "expires", "uses left", "used by"]);
            let mut table = styled_table(&header);
            for invite in invites {
                let mut row = vec![invite.id.to_string(), invite.kind.to_string()];
                if all {
                    row.push(invite.status.to_string());
                }
                row.extend([
                    printable(&invite.creator).into_owned(),
                    utc_minutes(invite.created_at),
                    utc_minutes(invite.expires_at),
                    uses_left(invite),
                    used_by(invite),
                ]);
                table.add_row(row);
            }
            let uses_column = header.len() - 2;
            for column in [0, uses_column] {
                if let Some(column) = table.column_mut(column) {
                    column.set_cell_alignment(CellAlignment::Right);
                }
            }
            format!("{table}\n")
        }
    }
}

/// One invite in detail.
pub fn show(invite: &InviteInfo, style: Style) -> String {
    match style {
        Style::Json => json(&InviteJson::new(invite)),
        Style::Lines => {
            let mut text = format!(
                "id\t{}\nkind\t{}\nstatus\t{}\ncreator\t{}\ninviter\t{}\n\
                 created_at\t{}\nexpires_at\t{}\nuses_left\t{}\n",
                invite.id,
                invite.kind,
                invite.status,
                printable(&invite.creator),
                invite.inviter.as_deref().map_or("".into(), printable),
                invite.created_at,
                invite.expires_at,
                invite.uses_left.map_or_else(String::new, |n| n.to_string()),
            );
            for r in &invite.redemptions {
                text.push_str(&format!(
                    "redemption\t{}\t{}\n",
                    printable(&r.jid),
                    r.redeemed_at
                ));
            }
            text
        }
        Style::Table => {
            let mut fields = vec![
                ("id", invite.id.to_string()),
                ("kind", invite.kind.to_string()),
                ("status", invite.status.to_string()),
                ("creator", printable(&invite.creator).into_owned()),
                (
                    "inviter",
                    invite
                        .inviter
                        .as_deref()
                        .map_or("-".into(), printable)
                        .into_owned(),
                ),
                ("created", utc_minutes(invite.created_at)),
                ("expires", utc_minutes(invite.expires_at)),
                ("uses left", uses_left(invite)),
            ];
            if invite.redemptions.is_empty() {
                fields.push(("used by", "-".into()));
            }
            let width = invite
                .redemptions
                .iter()
                .map(|r| printable(&r.jid).chars().count())
                .max()
                .unwrap_or(0);
            for (n, r) in invite.redemptions.iter().enumerate() {
                let label = if n == 0 { "used by" } else { "" };
                fields.push((
                    label,
                    format!(
                        "{:<width$}  {}",
                        printable(&r.jid),
                        utc_minutes(r.redeemed_at)
                    ),
                ));
            }
            fields
                .into_iter()
                .map(|(label, value)| format!("{label:<10} {value}\n"))
                .collect()
        }
    }
}

fn uses_left(invite: &InviteInfo) -> String {
    invite
        .uses_left
        .map_or_else(|| "unlimited".into(), |n| n.to_string())
}

/// The table's "used by" cell: `JID YYYY-MM-DD HH:MM UTC`, comma-separated,
/// one per line so that a narrow terminal wraps between uses rather than
/// inside one.
fn used_by(invite: &InviteInfo) -> String {
    if invite.redemptions.is_empty() {
        return "-".into();
    }
    invite
        .redemptions
        .iter()
        .map(|r| format!("{} {}", printable(&r.jid), utc_minutes(r.redeemed_at)))
        .collect::<Vec<_>>()
        .join(",\n")
}

/// A JID for the space-separated USED_BY column: a bare JID never holds a
/// space, but one from a misbehaving roostd must not shift the columns.
fn printable_word(text: &str) -> String {
    printable(text).replace(' ', "_")
}

pub fn revoked(host: &str, invite: &str, style: Style) -> String {
    match style {
        Style::Json => json(&RevokedJson {
            revoked: invite,
            host,
        }),
        Style::Table | Style::Lines => String::new(),
    }
}
