//! `reload` and `backup` output against their checked-in contracts.

use super::*;
use crate::output::tests::assert_snapshot;

fn report() -> ReloadReport {
    ReloadReport {
        changed: vec![
            "log_level: info -> debug".into(),
            "limits.roster_items: 1000 -> 500".into(),
        ],
        needs_restart: vec!["c2s".into()],
    }
}

#[test]
fn reload_contracts() {
    assert_snapshot("reload.json", &reloaded(&report(), Style::Json));
    assert_snapshot("reload.tsv", &reloaded(&report(), Style::Lines));
    assert_eq!(reloaded(&ReloadReport::default(), Style::Lines), "");
    let table = reloaded(&report(), Style::Table);
    assert!(
        table.contains("  limits.roster_items: 1000 -> 500\n"),
        "{table}"
    );
    assert!(table.contains("next start: c2s\n"), "{table}");
    assert_eq!(
        reloaded(&ReloadReport::default(), Style::Table),
        "Reloaded: nothing changed.\n"
    );
}

#[test]
fn backup_contracts() {
    let backup = BackupInfo {
        path: "/var/backups/roost-2026-11-29.sqlite3".into(),
        bytes: 1_048_576,
        millis: 840,
    };
    assert_snapshot("backup.json", &backed_up(&backup, Style::Json));
    assert_eq!(
        backed_up(&backup, Style::Lines),
        "/var/backups/roost-2026-11-29.sqlite3\n"
    );
}
