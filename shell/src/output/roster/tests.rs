//! `roster show` and `roster refresh` output; the line and JSON shapes
//! against checked-in snapshots.

use roost_common::admin::RosterInfo;

use super::*;
use crate::fake_roostd::{sample_refresh_failures, sample_roster};
use crate::output::tests::assert_snapshot;

fn empty_local_roster() -> RosterInfo {
    RosterInfo {
        jid: "alice@example.com".into(),
        delegated: false,
        fetched_at: None,
        version: 0,
        items: Vec::new(),
    }
}

fn refresh(updated: u32, failures: &[RosterRefreshFailure]) -> Refresh<'_> {
    Refresh {
        updated,
        errors: failures.len() as u32,
        failures,
    }
}

#[test]
fn show_lines_contract() {
    assert_snapshot("roster-show.tsv", &show(&sample_roster(), Style::Lines));
    assert_eq!(show(&empty_local_roster(), Style::Lines), "");
}

#[test]
fn show_lines_have_six_columns_in_the_documented_order() {
    let lines = show(&sample_roster(), Style::Lines);
    let rows: Vec<Vec<&str>> = lines.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(
        rows,
        [
            vec![
                "bo@school.example",
                "Mr Bo",
                "both",
                "no",
                "no",
                "Teachers,Class 4b, Maths"
            ],
            vec!["cy@school.example", "", "both", "no", "no", ""],
            vec!["zoe@example.org", "Zoë", "none", "yes", "yes", "Friends"],
        ]
    );
}

#[test]
fn show_json_contract() {
    assert_snapshot("roster-show.json", &show(&sample_roster(), Style::Json));
    assert_snapshot(
        "roster-show-empty.json",
        &show(&empty_local_roster(), Style::Json),
    );
}

#[test]
fn control_characters_cannot_break_lines() {
    let mut roster = sample_roster();
    roster.items[1].name = Some("evil\nmallory@school.example\tx".into());
    roster.items[1].groups = vec!["a\tb".into()];
    let lines = show(&roster, Style::Lines);
    assert_eq!(lines.lines().count(), 3, "{lines}");
    assert_eq!(
        lines.lines().nth(1).unwrap(),
        "cy@school.example\tevil mallory@school.example x\tboth\tno\tno\ta b"
    );
}

/// The words of the table row that contains `needle`, cell by cell.
fn row_cells(table: &str, needle: &str) -> Vec<String> {
    let row = table
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no {needle} in\n{table}"));
    row.split(['│', '┆'])
        .map(|cell| cell.trim().to_owned())
        .filter(|cell| !cell.is_empty())
        .collect()
}

#[test]
fn show_table_says_where_the_roster_comes_from() {
    let table = show(&sample_roster(), Style::Table);
    let mut lines = table.lines();
    assert_eq!(
        lines.next().unwrap(),
        "Roster of ann@school.example: delegated to the roster service, \
         last fetched 2023-11-14 22:13 UTC; version 7."
    );
    lines.next();
    let header = lines.next().unwrap();
    for column in ["contact", "name", "subscription", "groups"] {
        assert!(header.contains(column), "no {column:?} in {header:?}");
    }
    assert_eq!(
        row_cells(&table, "bo@school.example"),
        ["bo@school.example", "Mr Bo", "both", "Teachers"],
        "{table}"
    );
    // The second group goes on a line of its own, so its comma reads as
    // part of its name.
    assert_eq!(
        row_cells(&table, "Class 4b, Maths"),
        ["Class 4b, Maths"],
        "{table}"
    );
    assert_eq!(
        row_cells(&table, "cy@school.example"),
        ["cy@school.example", "-", "both", "-"],
        "{table}"
    );
    assert_eq!(
        row_cells(&table, "zoe@example.org"),
        [
            "zoe@example.org",
            "Zoë",
            "none (request sent, pre-approved)",
            "Friends"
        ],
        "{table}"
    );
}

#[test]
fn show_table_of_a_local_or_unfetched_or_empty_roster() {
    assert_eq!(
        show(&empty_local_roster(), Style::Table),
        "Roster of alice@example.com: kept by roostd; version 0.\nNo contacts.\n"
    );
    let mut never = empty_local_roster();
    never.delegated = true;
    assert_eq!(
        show(&never, Style::Table),
        "Roster of alice@example.com: delegated to the roster service, never fetched; \
         version 0.\nNo contacts.\n"
    );
}

#[test]
fn refresh_lines_contract() {
    let failures = sample_refresh_failures();
    assert_snapshot(
        "roster-refresh.tsv",
        &refreshed(refresh(2, &failures), Style::Lines),
    );
    assert_eq!(
        refreshed(refresh(3, &[]), Style::Lines),
        "updated\t3\nerrors\t0\n"
    );
}

#[test]
fn refresh_json_contract() {
    let failures = sample_refresh_failures();
    assert_snapshot(
        "roster-refresh.json",
        &refreshed(refresh(2, &failures), Style::Json),
    );
    assert_snapshot(
        "roster-refresh-ok.json",
        &refreshed(refresh(0, &[]), Style::Json),
    );
}

#[test]
fn refresh_table_lists_the_failures() {
    assert_eq!(
        refreshed(refresh(3, &[]), Style::Table),
        "updated 3, errors 0\n"
    );
    let failures = sample_refresh_failures();
    let table = refreshed(refresh(2, &failures), Style::Table);
    assert!(table.starts_with("updated 2, errors 1\n"), "{table}");
    assert_eq!(
        row_cells(&table, "cy@school.example"),
        [
            "cy@school.example",
            "the roster service answered 500 Internal Server Error"
        ],
        "{table}"
    );
}

#[test]
fn a_reason_cannot_forge_a_line() {
    let failures = [RosterRefreshFailure {
        jid: "cy@school.example".into(),
        reason: "bad\nfailed\tmallory@school.example\tforged".into(),
    }];
    let lines = refreshed(refresh(0, &failures), Style::Lines);
    assert_eq!(lines.lines().count(), 3, "{lines}");
}
