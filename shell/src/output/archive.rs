//! How `archive size` and `archive purge` are shown. Contracts, frozen by
//! the `archive-*` files under `shell/tests/snapshots/`:
//!
//! - `archive size`, when stdout is not a terminal, `FIELD<TAB>VALUE`
//!   lines: `jid`, `messages`, `bytes`, `oldest` and `newest` (Unix
//!   seconds, empty when the archive is empty); with `--json` `{"jid",
//!   "messages", "bytes", "oldest", "newest"}`, times `null` when empty.
//! - `archive purge` prints `removed<TAB>N` when piped; with `--json`
//!   `{"jid", "removed"}`.
//!
//! On a terminal, sentences with sizes and times for people.

use roost_common::admin::{ArchivePurgeInfo, ArchiveSizeInfo};
use roost_common::time::utc_minutes;
use serde::Serialize;

use super::status::size as human_size;
use super::{Style, json, printable};

#[derive(Serialize)]
struct SizeJson<'a> {
    jid: &'a str,
    messages: u64,
    bytes: u64,
    oldest: Option<i64>,
    newest: Option<i64>,
}

#[derive(Serialize)]
struct PurgeJson<'a> {
    jid: &'a str,
    removed: u64,
}

fn seconds(ms: Option<i64>) -> Option<i64> {
    ms.map(|ms| ms.div_euclid(1000))
}

pub fn size(info: &ArchiveSizeInfo, style: Style) -> String {
    let (oldest, newest) = (seconds(info.oldest_ms), seconds(info.newest_ms));
    match style {
        Style::Json => json(&SizeJson {
            jid: &info.jid,
            messages: info.messages,
            bytes: info.bytes,
            oldest,
            newest,
        }),
        Style::Lines => {
            let time = |t: Option<i64>| t.map_or_else(String::new, |t| t.to_string());
            format!(
                "jid\t{}\nmessages\t{}\nbytes\t{}\noldest\t{}\nnewest\t{}\n",
                printable(&info.jid),
                info.messages,
                info.bytes,
                time(oldest),
                time(newest)
            )
        }
        Style::Table => {
            let mut text = format!(
                "{}: {} messages, {}\n",
                printable(&info.jid),
                info.messages,
                human_size(info.bytes)
            );
            if let (Some(oldest), Some(newest)) = (oldest, newest) {
                text.push_str(&format!(
                    "from {} to {}\n",
                    utc_minutes(oldest),
                    utc_minutes(newest)
                ));
            }
            text
        }
    }
}

pub fn purged(info: &ArchivePurgeInfo, style: Style) -> String {
    match style {
        Style::Json => json(&PurgeJson {
            jid: &info.jid,
            removed: info.removed,
        }),
        Style::Lines => format!("removed\t{}\n", info.removed),
        Style::Table => format!(
            "removed {} messages from {}'s archive\n",
            info.removed,
            printable(&info.jid)
        ),
    }
}

#[cfg(test)]
mod tests;
