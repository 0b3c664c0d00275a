//! How the `invite` commands' replies are shown. Contracts, frozen by the
//! `invite-*` files under `shell/tests/snapshots/`:
//!
//! - `invite create` prints the landing page URL alone on a line; with
//!   `--json` `{"url", "uri", "id", "expires_at", "kind", "uses"}`.
//! - `invite list` prints, when stdout is not a terminal, one
//!   `ID<TAB>KIND<TAB>EXPIRES<TAB>CREATOR` line per pending invite, EXPIRES
//!   in Unix seconds (nothing for none); with `--json` an array of `{"id",
//!   "kind", "creator", "created_at", "expires_at", "uses_left"}`,
//!   `uses_left` null for unlimited.
//! - `invite revoke` prints nothing; with `--json` `{"revoked", "host"}`.

use comfy_table::{CellAlignment, ContentArrangement, Table, modifiers, presets};
use roost_common::admin::{CreatedInviteInfo, InviteInfo, InviteType};
use roost_common::time::utc_minutes;
use serde::Serialize;

use super::{Style, json, printable};

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

/// One pending invite as `--json` shows it.
#[derive(Serialize)]
struct InviteJson<'a> {
    id: i64,
    kind: InviteType,
    creator: &'a str,
    created_at: i64,
    expires_at: i64,
    uses_left: Option<u32>,
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

pub fn list(host: &str, invites: &[InviteInfo], style: Style) -> String {
    match style {
        Style::Json => {
            let invites: Vec<InviteJson> = invites
                .iter()
                .map(|i| InviteJson {
                    id: i.id,
                    kind: i.kind,
                    creator: &i.creator,
                    created_at: i.created_at,
                    expires_at: i.expires_at,
                    uses_left: i.uses_left,
                })
                .collect();
            json(&invites)
        }
        Style::Lines => invites
            .iter()
            .map(|i| {
                format!(
                    "{}\t{}\t{}\t{}\n",
                    i.id,
                    i.kind,
                    i.expires_at,
                    printable(&i.creator)
                )
            })
            .collect(),
        Style::Table if invites.is_empty() => format!("No pending invites for {host}.\n"),
        Style::Table => {
            let mut table = Table::new();
            table
                .load_preset(presets::UTF8_FULL_CONDENSED)
                .apply_modifier(modifiers::UTF8_ROUND_CORNERS)
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_header(["id", "kind", "creator", "created", "expires", "uses left"]);
            for invite in invites {
                table.add_row([
                    invite.id.to_string(),
                    invite.kind.to_string(),
                    printable(&invite.creator).into_owned(),
                    utc_minutes(invite.created_at),
                    utc_minutes(invite.expires_at),
                    invite
                        .uses_left
                        .map_or_else(|| "unlimited".into(), |n| n.to_string()),
                ]);
            }
            for column in [0, 5] {
                if let Some(column) = table.column_mut(column) {
                    column.set_cell_alignment(CellAlignment::Right);
                }
            }
            format!("{table}\n")
        }
    }
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
