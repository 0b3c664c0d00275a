//! How `reload` and `backup` are shown. Contracts, frozen by the
//! `reload-*` and `backup-*` files under `shell/tests/snapshots/`:
//!
//! - `reload` prints, when stdout is not a terminal, one `changed<TAB>LINE`
//!   line per option applied and one `restart<TAB>OPTION` line per option
//!   that differs but applies only at start (nothing when nothing
//!   changed); with `--json` `{"changed": [LINE], "needs_restart":
//!   [OPTION]}`.
//! - `backup` prints the backup's absolute path; with `--json` `{"path",
//!   "bytes", "millis"}`.

use roost_common::admin::{BackupInfo, ReloadReport};
use serde::Serialize;

use super::{Style, json, printable};

#[derive(Serialize)]
struct ReloadJson<'a> {
    changed: &'a [String],
    needs_restart: &'a [String],
}

#[derive(Serialize)]
struct BackupJson<'a> {
    path: &'a str,
    bytes: u64,
    millis: u64,
}

pub fn reloaded(report: &ReloadReport, style: Style) -> String {
    match style {
        Style::Json => json(&ReloadJson {
            changed: &report.changed,
            needs_restart: &report.needs_restart,
        }),
        Style::Lines => report
            .changed
            .iter()
            .map(|line| format!("changed\t{}\n", printable(line)))
            .chain(
                report
                    .needs_restart
                    .iter()
                    .map(|option| format!("restart\t{}\n", printable(option))),
            )
            .collect(),
        Style::Table => {
            let mut text = String::new();
            if report.changed.is_empty() {
                text.push_str("Reloaded: nothing changed.\n");
            } else {
                text.push_str("Reloaded:\n");
                for line in &report.changed {
                    text.push_str(&format!("  {}\n", printable(line)));
                }
            }
            if !report.needs_restart.is_empty() {
                text.push_str(&format!(
                    "Differs from the running configuration, applies at the next start: {}\n",
                    printable(&report.needs_restart.join(", "))
                ));
            }
            text
        }
    }
}

pub fn backed_up(backup: &BackupInfo, style: Style) -> String {
    match style {
        Style::Json => json(&BackupJson {
            path: &backup.path,
            bytes: backup.bytes,
            millis: backup.millis,
        }),
        Style::Lines => format!("{}\n", printable(&backup.path)),
        Style::Table => format!(
            "Backup written to {} ({} bytes in {} ms).\n",
            printable(&backup.path),
            backup.bytes,
            backup.millis
        ),
    }
}

#[cfg(test)]
mod tests;
