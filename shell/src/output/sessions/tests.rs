//! `c2s list` and `c2s close` output; the line and JSON shapes against
//! checked-in snapshots.

use super::*;
use crate::output::tests::assert_snapshot;

/// Three sessions as roostd lists them, by JID: an app that logged in over
/// SASL2 with a user agent (TLS 1.3, SCRAM-PLUS), the same account over
/// legacy SASL (PLAIN, TLS 1.2, no user agent), and a plain-text session
/// from IPv6 that logged in with a FAST token and said only its software,
/// whose connection was lost and which waits to be resumed.
pub(crate) fn sample_sessions() -> Vec<SessionInfo> {
    vec![
        SessionInfo {
            jid: "alice@example.com/Conversations.x1Y2".into(),
            address: "192.0.2.10:51234".into(),
            tls: Some("TLSv1.3".into()),
            mechanism: "SCRAM-SHA-256-PLUS".into(),
            software: Some("Conversations/2.16".into()),
            device: Some("Pixel 8".into()),
            since: 1_700_000_000,
            idle_secs: 42,
            hibernated: false,
        },
        SessionInfo {
            jid: "alice@example.com/laptop".into(),
            address: "198.51.100.7:40022".into(),
            tls: Some("TLSv1.2".into()),
            mechanism: "PLAIN".into(),
            software: None,
            device: None,
            since: 1_700_003_600,
            idle_secs: 0,
            hibernated: false,
        },
        SessionInfo {
            jid: "bob@example.com/phone".into(),
            address: "[2001:db8::1]:60000".into(),
            tls: None,
            mechanism: "HT-SHA-256-NONE".into(),
            software: Some("xmpp.js".into()),
            device: None,
            since: 1_700_007_200,
            idle_secs: 3_725,
            hibernated: true,
        },
    ]
}

#[test]
fn lines_contract() {
    assert_snapshot(
        "c2s-list.tsv",
        &list(None, &sample_sessions(), Style::Lines),
    );
    assert_eq!(list(None, &[], Style::Lines), "");
}

#[test]
fn lines_have_nine_columns_in_the_documented_order() {
    let lines = list(None, &sample_sessions(), Style::Lines);
    let rows: Vec<Vec<&str>> = lines.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(
        rows[0],
        [
            "alice@example.com/Conversations.x1Y2",
            "192.0.2.10:51234",
            "TLSv1.3",
            "SCRAM-SHA-256-PLUS",
            "Conversations/2.16",
            "Pixel 8",
            "1700000000",
            "42",
            "connected"
        ]
    );
    assert_eq!(rows[1][2..6], ["TLSv1.2", "PLAIN", "", ""]);
    assert_eq!(
        rows[2][2..],
        [
            "",
            "HT-SHA-256-NONE",
            "xmpp.js",
            "",
            "1700007200",
            "3725",
            "hibernated"
        ]
    );
}

#[test]
fn control_characters_cannot_break_lines() {
    let mut sessions = sample_sessions();
    sessions[0].software = Some("evil\nbob@example.com/x\tforged".into());
    let lines = list(None, &sessions, Style::Lines);
    assert_eq!(lines.lines().count(), 3, "{lines}");
    assert_eq!(lines.lines().next().unwrap().split('\t').count(), 9);
}

#[test]
fn json_contract() {
    assert_snapshot(
        "c2s-list.json",
        &list(None, &sample_sessions(), Style::Json),
    );
    assert_eq!(list(None, &[], Style::Json), "[]\n");
}

#[test]
fn the_table_names_the_client_and_says_none_for_plain_text() {
    let text = list(None, &sample_sessions(), Style::Table);
    for expected in [
        "Conversations/2.16 (Pixel 8)",
        "2023-11-14 22:13 UTC",
        "42s",
        "1h 2m",
        "none",
        "xmpp.js",
        "hibernated",
    ] {
        assert!(text.contains(expected), "{expected:?} in\n{text}");
    }
    assert_eq!(
        list(Some("example.com"), &[], Style::Table),
        "No sessions of example.com.\n"
    );
    assert_eq!(list(None, &[], Style::Table), "No client sessions.\n");
}

#[test]
fn close_contract() {
    assert_snapshot(
        "c2s-close.json",
        &closed("alice@example.com", 2, Style::Json),
    );
    assert_eq!(
        closed("alice@example.com", 2, Style::Lines),
        "ended 2 sessions\n"
    );
    assert_eq!(
        closed("alice@example.com/phone", 1, Style::Table),
        "ended 1 session\n"
    );
}
