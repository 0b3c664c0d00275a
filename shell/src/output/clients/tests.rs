//! `user clients` and `user revoke_client` output; the line and JSON shapes
//! against checked-in snapshots.

use roost_common::admin::{ClientAuth, ClientInfo};

use super::*;
use crate::fake_roostd::sample_clients;
use crate::output::tests::assert_snapshot;

const JID: &str = "alice@example.com";

fn revocation(sessions: u32, tokens: u32, reset: bool) -> Revocation {
    Revocation {
        sessions_ended: sessions,
        fast_tokens_deleted: tokens,
        password_reset_required: reset,
    }
}

#[test]
fn lines_contract() {
    assert_snapshot(
        "user-clients.tsv",
        &list(JID, &sample_clients(), Style::Lines),
    );
    assert_eq!(list(JID, &[], Style::Lines), "");
}

#[test]
fn lines_have_seven_columns_in_the_documented_order() {
    let lines = list(JID, &sample_clients(), Style::Lines);
    let rows: Vec<Vec<&str>> = lines.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(
        rows[1],
        [
            "client/d4565fa7-4c79-4f4e-b8d2-1f0d9e3b2a10",
            "Conversations/2.16",
            "Pixel 8",
            "1700000000",
            "1700003600",
            "password,fast",
            "yes"
        ]
    );
    assert_eq!(
        rows[0],
        [
            "client/7lQ6PFduJt",
            "",
            "",
            "1699990000",
            "1699996400",
            "password",
            "yes"
        ]
    );
    assert_eq!(rows[2][2..], ["", "1700000100", "1700007200", "fast", "no"]);
}

#[test]
fn control_characters_cannot_break_lines() {
    let mut clients = sample_clients();
    clients[2].software = Some("evil\nclient/forged\tx".into());
    clients[2].auth.clear();
    let lines = list(JID, &clients, Style::Lines);
    assert_eq!(lines.lines().count(), 3, "{lines}");
    assert_eq!(
        lines.lines().nth(2).unwrap(),
        "client/mVq3-Yk2\tevil client/forged x\t\t1700000100\t1700007200\t\tno"
    );
}

#[test]
fn json_contract() {
    assert_snapshot(
        "user-clients.json",
        &list(JID, &sample_clients(), Style::Json),
    );
    assert_snapshot("user-clients-empty.json", &list(JID, &[], Style::Json));
}

#[test]
fn table_shows_every_column() {
    let table = list(JID, &sample_clients(), Style::Table);
    let lines: Vec<&str> = table.lines().collect();
    for header in [
        "id",
        "software",
        "device",
        "first seen",
        "last seen",
        "auth",
        "connected",
    ] {
        assert!(lines[1].contains(header), "no {header:?} in {:?}", lines[1]);
    }
    let words = |needle: &str| -> Vec<String> {
        let row = lines
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle} in\n{table}"));
        row.split(['│', '┆'])
            .map(|cell| cell.trim().to_owned())
            .filter(|cell| !cell.is_empty())
            .collect()
    };
    assert_eq!(
        words("client/7lQ6PFduJt"),
        [
            "client/7lQ6PFduJt",
            "-",
            "-",
            "2023-11-14 19:26 UTC",
            "2023-11-14 21:13 UTC",
            "password",
            "yes"
        ],
        "{table}"
    );
    assert_eq!(
        words("client/mVq3-Yk2"),
        [
            "client/mVq3-Yk2",
            "xmpp.js",
            "-",
            "2023-11-14 22:15 UTC",
            "2023-11-15 00:13 UTC",
            "fast",
            "no"
        ],
        "{table}"
    );
}

#[test]
fn table_cell_for_both_ways_and_for_none() {
    let mut client: ClientInfo = sample_clients().remove(2);
    client.auth = vec![ClientAuth::Password, ClientAuth::Fast];
    let table = list(JID, std::slice::from_ref(&client), Style::Table);
    assert!(table.contains("password, fast"), "{table}");
    client.auth.clear();
    let table = list(JID, &[client], Style::Table);
    let row = table.lines().find(|l| l.contains("xmpp.js")).unwrap();
    assert_eq!(row.matches(" - ").count(), 2, "device and auth: {row}");
}

#[test]
fn empty_table_says_so() {
    assert_eq!(
        list(JID, &[], Style::Table),
        "No clients have access to alice@example.com.\n"
    );
}

#[test]
fn revoke_says_what_it_ended() {
    let cases = [
        (
            revocation(2, 1, false),
            "ended 2 sessions, deleted 1 FAST token\n",
        ),
        (revocation(1, 0, false), "ended 1 session\n"),
        (revocation(0, 2, false), "deleted 2 FAST tokens\n"),
        (revocation(0, 0, false), "nothing to end\n"),
        // The reset is reported by exec as an error, on stderr.
        (revocation(1, 0, true), "ended 1 session\n"),
        (revocation(0, 0, true), "nothing to end\n"),
    ];
    for (outcome, expected) in cases {
        for style in [Style::Table, Style::Lines] {
            assert_eq!(
                revoked(JID, "client/x", outcome, style),
                expected,
                "{outcome:?}"
            );
        }
    }
}

#[test]
fn revoke_json_contract() {
    assert_snapshot(
        "user-revoke-client.json",
        &revoked(
            JID,
            "client/d4565fa7-4c79-4f4e-b8d2-1f0d9e3b2a10",
            revocation(1, 2, true),
            Style::Json,
        ),
    );
}
