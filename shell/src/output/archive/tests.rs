//! `archive` output; the line and JSON shapes against checked-in snapshots.

use super::*;
use crate::output::tests::assert_snapshot;

fn sample_size() -> ArchiveSizeInfo {
    ArchiveSizeInfo {
        jid: "ann@school.example".into(),
        messages: 1234,
        bytes: 1_572_864,
        oldest_ms: Some(1_700_000_000_123),
        newest_ms: Some(1_700_086_400_999),
    }
}

#[test]
fn size_contracts() {
    assert_snapshot("archive-size.tsv", &size(&sample_size(), Style::Lines));
    assert_snapshot("archive-size.json", &size(&sample_size(), Style::Json));
    let empty = ArchiveSizeInfo {
        messages: 0,
        bytes: 0,
        oldest_ms: None,
        newest_ms: None,
        ..sample_size()
    };
    let json: serde_json::Value = serde_json::from_str(&size(&empty, Style::Json)).unwrap();
    assert_eq!(json["oldest"], serde_json::Value::Null);
    assert!(size(&empty, Style::Lines).ends_with("oldest\t\nnewest\t\n"));
}

#[test]
fn purge_contracts() {
    let info = ArchivePurgeInfo {
        jid: "ann@school.example".into(),
        removed: 42,
    };
    assert_snapshot("archive-purge.json", &purged(&info, Style::Json));
    assert_eq!(purged(&info, Style::Lines), "removed\t42\n");
}

#[test]
fn the_terminal_gets_sizes_and_times_for_people() {
    assert_eq!(
        size(&sample_size(), Style::Table),
        "ann@school.example: 1234 messages, 1.5 MiB\n\
         from 2023-11-14 22:13 UTC to 2023-11-15 22:13 UTC\n"
    );
}
