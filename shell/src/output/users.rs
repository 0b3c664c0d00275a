//! How the `user` commands' replies are shown. Contracts, frozen by the
//! `user-*` files under `shell/tests/snapshots/`:
//!
//! - `user list` prints, when stdout is not a terminal, one JID per line
//!   (nothing for no accounts); with `--json` an array of `{"jid", "role",
//!   "created_at"}`.
//! - `user create`, `user password`, `user delete` and `user set-role`
//!   print nothing; with `--json` `{"jid"}` (the JID as roostd stored it,
//!   for create), `{"jid"}`, `{"deleted"}` and `{"jid", "role"}`.

use roost_common::admin::{Role, UserInfo};
use roost_common::time::utc_minutes;
use serde::Serialize;

use super::{Style, json, printable, styled_table};

/// One account as `--json` shows it, apart from the wire type so that the
/// protocol can grow without changing this contract.
#[derive(Serialize)]
struct UserJson<'a> {
    jid: &'a str,
    role: Role,
    created_at: i64,
}

#[derive(Serialize)]
struct JidJson<'a> {
    jid: &'a str,
}

#[derive(Serialize)]
struct DeletedJson<'a> {
    deleted: &'a str,
}

#[derive(Serialize)]
struct RoleJson<'a> {
    jid: &'a str,
    role: Role,
}

/// A new account; `jid` is roostd's normalised form.
pub fn created(jid: &str, style: Style) -> String {
    silent_or(style, || json(&JidJson { jid }))
}

pub fn password_set(jid: &str, style: Style) -> String {
    silent_or(style, || json(&JidJson { jid }))
}

pub fn deleted(jid: &str, style: Style) -> String {
    silent_or(style, || json(&DeletedJson { deleted: jid }))
}

pub fn role_set(jid: &str, role: Role, style: Style) -> String {
    silent_or(style, || json(&RoleJson { jid, role }))
}

pub fn list(host: &str, users: &[UserInfo], style: Style) -> String {
    match style {
        Style::Json => {
            let users: Vec<UserJson> = users
                .iter()
                .map(|u| UserJson {
                    jid: &u.jid,
                    role: u.role,
                    created_at: u.created_at,
                })
                .collect();
            json(&users)
        }
        Style::Lines => users
            .iter()
            .map(|u| format!("{}\n", printable(&u.jid)))
            .collect(),
        Style::Table if users.is_empty() => format!("No users on {host}.\n"),
        Style::Table => {
            let mut table = styled_table(["jid", "role", "created"]);
            for user in users {
                table.add_row([
                    printable(&user.jid).into_owned(),
                    user.role.to_string(),
                    utc_minutes(user.created_at),
                ]);
            }
            format!("{table}\n")
        }
    }
}

/// Commands that change something print nothing, as `rm` does, unless JSON
/// was asked for.
fn silent_or(style: Style, json: impl FnOnce() -> String) -> String {
    match style {
        Style::Json => json(),
        Style::Table | Style::Lines => String::new(),
    }
}
