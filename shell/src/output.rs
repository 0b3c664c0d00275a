//! How replies are shown: a table for people, Prosody-compatible lines for
//! scripts, JSON for programs.
//!
//! The line and JSON shapes are contracts, frozen by the files under
//! `shell/tests/snapshots/`:
//!
//! - `invites-api create` prints the key, `ID/SECRET`, alone on a line; with
//!   `--json` an object `{"key", "id", "host", "name", "created_at",
//!   "expires_at", "last_used_at", "invites_created"}`.
//! - `invites-api list` prints, when stdout is not a terminal, one
//!   `ID<TAB>NAME` line per key (`<unknown>` for no name, nothing for no
//!   keys), exactly as `prosodyctl mod_invites_api list` does; with `--json`
//!   an array of the objects above without `"key"`.
//! - `invites-api delete` prints nothing; with `--json` `{"deleted": ID,
//!   "host": HOST}`.
//!
//! Times in JSON are Unix seconds, `null` when absent; in the table they are
//! `YYYY-MM-DD HH:MM UTC`. Control characters in names are shown as spaces
//! in text output, so a name can never break a line-oriented script.
//!
//! The `user` commands' shapes are in [`users`] (those of `user clients`
//! and `user revoke_client` in [`clients`]), the `invite` commands' in
//! [`invites`], the `roster` commands' in [`roster`], `status`'s in
//! [`status`], the `c2s` commands' in [`sessions`], `reload` and `backup`'s
//! in [`operations`], `audit`'s in [`audit`], the `archive` commands' in
//! [`archive`]; `invite create --qr` draws
//! with [`qr`].

use std::borrow::Cow;

use comfy_table::{CellAlignment, ContentArrangement, Table, modifiers, presets};
use roost_common::admin::ApiKeyInfo;
use roost_common::time::utc_minutes;
use serde::Serialize;

pub mod archive;
pub mod audit;
pub mod clients;
pub mod invites;
pub mod operations;
pub mod qr;
pub mod roster;
pub mod sessions;
pub mod status;
pub mod users;

/// How to print a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Aligned columns, for a person at a terminal.
    Table,
    /// Tab-separated lines, as prosodyctl prints them.
    Lines,
    Json,
}

impl Style {
    /// `--json` wins; otherwise a table on a terminal, lines elsewhere.
    pub fn choose(json: bool, stdout_is_terminal: bool) -> Style {
        match (json, stdout_is_terminal) {
            (true, _) => Style::Json,
            (false, true) => Style::Table,
            (false, false) => Style::Lines,
        }
    }
}

/// One key as `--json` shows it. The field order is part of the contract.
#[derive(Serialize)]
struct KeyJson<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    id: &'a str,
    host: &'a str,
    name: Option<&'a str>,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    invites_created: u64,
}

impl<'a> KeyJson<'a> {
    fn new(key: Option<&'a str>, info: &'a ApiKeyInfo) -> Self {
        KeyJson {
            key,
            id: &info.id,
            host: &info.host,
            name: info.name.as_deref(),
            created_at: info.created_at,
            expires_at: info.expires_at,
            last_used_at: info.last_used_at,
            invites_created: info.invites_created,
        }
    }
}

#[derive(Serialize)]
struct DeletedJson<'a> {
    deleted: &'a str,
    host: &'a str,
}

/// A newly created key. Outside JSON only the key itself is printed, so
/// `KEY=$(roostctl invites-api create example.com)` just works.
pub fn created(key: &str, info: &ApiKeyInfo, style: Style) -> String {
    match style {
        Style::Json => json(&KeyJson::new(Some(key), info)),
        Style::Table | Style::Lines => format!("{key}\n"),
    }
}

pub fn key_list(host: &str, keys: &[ApiKeyInfo], style: Style) -> String {
    match style {
        Style::Json => {
            let keys: Vec<KeyJson> = keys.iter().map(|k| KeyJson::new(None, k)).collect();
            json(&keys)
        }
        Style::Lines => keys
            .iter()
            .map(|k| {
                let name = k
                    .name
                    .as_deref()
                    .map_or(Cow::Borrowed("<unknown>"), printable);
                format!("{}\t{name}\n", printable(&k.id))
            })
            .collect(),
        Style::Table if keys.is_empty() => format!("No invite API keys for {host}.\n"),
        Style::Table => key_table(keys),
    }
}

pub fn deleted(host: &str, id: &str, style: Style) -> String {
    match style {
        Style::Json => json(&DeletedJson { deleted: id, host }),
        Style::Table | Style::Lines => String::new(),
    }
}

fn key_table(keys: &[ApiKeyInfo]) -> String {
    let mut table = styled_table(["id", "name", "created", "expires", "last used", "invites"]);
    for key in keys {
        table.add_row([
            printable(&key.id).into_owned(),
            key.name
                .as_deref()
                .map_or(Cow::Borrowed("-"), printable)
                .into_owned(),
            utc_minutes(key.created_at),
            key.expires_at.map_or_else(|| "never".into(), utc_minutes),
            key.last_used_at.map_or_else(|| "never".into(), utc_minutes),
            key.invites_created.to_string(),
        ]);
    }
    if let Some(column) = table.column_mut(5) {
        column.set_cell_alignment(CellAlignment::Right);
    }
    format!("{table}\n")
}

/// A table in the style every command's table has, with `header`.
fn styled_table<T: Into<comfy_table::Row>>(header: T) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .apply_modifier(modifiers::UTF8_ROUND_CORNERS)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header);
    table
}

fn json<T: Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("output JSON always serialises");
    text.push('\n');
    text
}

fn printable(text: &str) -> Cow<'_, str> {
    if text.chars().any(char::is_control) {
        Cow::Owned(
            text.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests;
