//! Output formats; the line and JSON ones against checked-in snapshots.

use std::path::PathBuf;

use roost_common::admin::Role;

use super::*;
use crate::fake_roostd::{sample_invites, sample_keys, sample_used_invite, sample_users};

/// Compares with a checked-in file under `shell/tests/snapshots/`. These
/// files are the `--json` and line-output contracts: change them only on
/// purpose, and say so in the changelog.
pub(super) fn assert_snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert_eq!(
        actual,
        expected,
        "output differs from the contract in {}",
        path.display()
    );
}

#[test]
fn list_lines_match_prosodyctl() {
    assert_snapshot(
        "list.tsv",
        &key_list("example.com", &sample_keys(), Style::Lines),
    );
}

#[test]
fn list_lines_are_empty_without_keys() {
    assert_eq!(key_list("example.com", &[], Style::Lines), "");
}

#[test]
fn list_json_contract() {
    assert_snapshot(
        "list.json",
        &key_list("example.com", &sample_keys(), Style::Json),
    );
    assert_snapshot(
        "list-empty.json",
        &key_list("example.com", &[], Style::Json),
    );
}

#[test]
fn create_json_contract() {
    let info = &sample_keys()[0];
    assert_snapshot("create.json", &created("k1a2b3/s3cr3t", info, Style::Json));
}

#[test]
fn delete_json_contract() {
    assert_snapshot(
        "delete.json",
        &deleted("example.com", "k1a2b3", Style::Json),
    );
}

#[test]
fn create_prints_only_the_key_outside_json() {
    let info = &sample_keys()[0];
    assert_eq!(
        created("k1a2b3/s3cr3t", info, Style::Lines),
        "k1a2b3/s3cr3t\n"
    );
    assert_eq!(
        created("k1a2b3/s3cr3t", info, Style::Table),
        "k1a2b3/s3cr3t\n"
    );
}

#[test]
fn delete_prints_nothing_outside_json() {
    assert_eq!(deleted("example.com", "k1a2b3", Style::Lines), "");
    assert_eq!(deleted("example.com", "k1a2b3", Style::Table), "");
}

#[test]
fn table_shows_every_column_with_readable_dates() {
    let table = key_list("example.com", &sample_keys(), Style::Table);
    let lines: Vec<&str> = table.lines().collect();
    for header in ["id", "name", "created", "expires", "last used", "invites"] {
        assert!(lines[1].contains(header), "no {header:?} in {:?}", lines[1]);
    }
    let first = lines.iter().find(|l| l.contains("k1a2b3")).unwrap();
    for cell in [
        "signup page",
        "2023-11-14 22:13 UTC",
        "2023-11-21 22:13 UTC",
        "2023-11-14 23:13 UTC",
        "12",
    ] {
        assert!(first.contains(cell), "no {cell:?} in {first:?}");
    }
    let second = lines.iter().find(|l| l.contains("z9y8x7")).unwrap();
    assert_eq!(second.matches("never").count(), 2, "{second:?}");
    assert!(
        second.contains(" - "),
        "a key without a name shows '-': {second:?}"
    );
}

#[test]
fn empty_table_says_so() {
    assert_eq!(
        key_list("example.com", &[], Style::Table),
        "No invite API keys for example.com.\n"
    );
}

#[test]
fn control_characters_cannot_break_lines() {
    let mut keys = sample_keys();
    keys[0].name = Some("evil\nz9y8x7\tforged".into());
    let lines = key_list("example.com", &keys, Style::Lines);
    assert_eq!(lines, "k1a2b3\tevil z9y8x7 forged\nz9y8x7\t<unknown>\n");
}

#[test]
fn style_choice() {
    assert_eq!(Style::choose(true, true), Style::Json);
    assert_eq!(Style::choose(true, false), Style::Json);
    assert_eq!(Style::choose(false, true), Style::Table);
    assert_eq!(Style::choose(false, false), Style::Lines);
}

#[test]
fn user_list_lines_are_jids() {
    assert_snapshot(
        "user-list.txt",
        &users::list("example.com", &sample_users(), Style::Lines),
    );
    assert_eq!(users::list("example.com", &[], Style::Lines), "");
}

#[test]
fn user_json_contracts() {
    assert_snapshot(
        "user-list.json",
        &users::list("example.com", &sample_users(), Style::Json),
    );
    assert_snapshot(
        "user-list-empty.json",
        &users::list("example.com", &[], Style::Json),
    );
    assert_snapshot(
        "user-create.json",
        &users::created("alice@example.com", Style::Json),
    );
    assert_snapshot(
        "user-password.json",
        &users::password_set("alice@example.com", Style::Json),
    );
    assert_snapshot(
        "user-delete.json",
        &users::deleted("alice@example.com", Style::Json),
    );
    assert_snapshot(
        "user-set-role.json",
        &users::role_set("alice@example.com", Role::Admin, Style::Json),
    );
}

#[test]
fn user_changes_print_nothing_outside_json() {
    for style in [Style::Lines, Style::Table] {
        assert_eq!(users::created("a@example.com", style), "");
        assert_eq!(users::password_set("a@example.com", style), "");
        assert_eq!(users::deleted("a@example.com", style), "");
        assert_eq!(users::role_set("a@example.com", Role::User, style), "");
    }
}

#[test]
fn user_table() {
    let table = users::list("example.com", &sample_users(), Style::Table);
    let lines: Vec<&str> = table.lines().collect();
    for header in ["jid", "role", "created"] {
        assert!(lines[1].contains(header), "no {header:?} in {:?}", lines[1]);
    }
    let root = lines
        .iter()
        .find(|l| l.contains("root@example.com"))
        .unwrap();
    assert!(root.contains("admin"), "{root}");
    assert!(root.contains("2020-09-13 12:26 UTC"), "{root}");
    assert_eq!(
        users::list("example.com", &[], Style::Table),
        "No users on example.com.\n"
    );
}

fn sample_created_invite() -> roost_common::admin::CreatedInviteInfo {
    roost_common::admin::CreatedInviteInfo {
        url: "https://example.com/invite/AbCdEfGhIjKlMnOpQrStUvWx".into(),
        uri: "xmpp:example.com?register;preauth=AbCdEfGhIjKlMnOpQrStUvWx".into(),
        id: 3,
        expires_at: 1_600_604_800,
        kind: roost_common::admin::InviteType::Account,
        uses: 1,
    }
}

/// What `invite list --all` gets: the pending samples with the used one
/// in its place, oldest first.
fn all_invites() -> Vec<roost_common::admin::InviteInfo> {
    let mut all = sample_invites();
    all.insert(1, sample_used_invite());
    all
}

#[test]
fn invite_list_lines_contract() {
    assert_snapshot(
        "invite-list.tsv",
        &invites::list("example.com", &sample_invites(), false, Style::Lines),
    );
    assert_snapshot(
        "invite-list-all.tsv",
        &invites::list("example.com", &all_invites(), true, Style::Lines),
    );
    assert_eq!(invites::list("example.com", &[], false, Style::Lines), "");
}

#[test]
fn invite_list_lines_keep_the_first_columns() {
    // Scripts written for the first release read four columns; new ones
    // come after them.
    let lines = invites::list("example.com", &sample_invites(), false, Style::Lines);
    let first: Vec<&str> = lines.lines().next().unwrap().split('\t').collect();
    assert_eq!(first[..4], ["3", "account", "1600604800", "admin"]);
    let second: Vec<&str> = lines.lines().nth(1).unwrap().split('\t').collect();
    assert_eq!(
        second[4..],
        [
            "pending",
            "carol@example.com,1700003600 dave@example.com,1700007200"
        ]
    );
}

#[test]
fn invite_json_contracts() {
    assert_snapshot(
        "invite-list.json",
        &invites::list("example.com", &sample_invites(), false, Style::Json),
    );
    assert_snapshot(
        "invite-list-all.json",
        &invites::list("example.com", &all_invites(), true, Style::Json),
    );
    assert_snapshot(
        "invite-list-empty.json",
        &invites::list("example.com", &[], false, Style::Json),
    );
    assert_snapshot(
        "invite-show.json",
        &invites::show(&sample_used_invite(), Style::Json),
    );
    assert_snapshot(
        "invite-create.json",
        &invites::created(&sample_created_invite(), Style::Json),
    );
    assert_snapshot(
        "invite-revoke.json",
        &invites::revoked("example.com", "3", Style::Json),
    );
}

#[test]
fn invite_show_lines_contract() {
    assert_snapshot(
        "invite-show.tsv",
        &invites::show(&sample_used_invite(), Style::Lines),
    );
    // No inviter, unlimited, never used: empty values, no redemption line.
    let mut unused = sample_invites().remove(1);
    unused.inviter = None;
    unused.redemptions.clear();
    let lines = invites::show(&unused, Style::Lines);
    assert!(lines.contains("\ninviter\t\n"), "{lines}");
    assert!(lines.ends_with("\nuses_left\t\n"), "{lines}");
    assert!(!lines.contains("redemption"), "{lines}");
}

#[test]
fn invite_create_prints_only_the_url_outside_json() {
    for style in [Style::Lines, Style::Table] {
        assert_eq!(
            invites::created(&sample_created_invite(), style),
            "https://example.com/invite/AbCdEfGhIjKlMnOpQrStUvWx\n"
        );
        assert_eq!(invites::revoked("example.com", "3", style), "");
    }
}

#[test]
fn invite_table() {
    let table = invites::list("example.com", &sample_invites(), false, Style::Table);
    let lines: Vec<&str> = table.lines().collect();
    for header in [
        "id",
        "kind",
        "creator",
        "created",
        "expires",
        "uses left",
        "used by",
    ] {
        assert!(lines[1].contains(header), "no {header:?} in {:?}", lines[1]);
    }
    assert!(
        !lines[1].contains("status"),
        "only --all has a status column: {:?}",
        lines[1]
    );
    let admin = lines.iter().find(|l| l.contains(" admin ")).unwrap();
    assert!(
        admin.trim_end_matches(['│', ' ']).ends_with(" -"),
        "{admin}"
    );
    assert!(!table.contains("AbCdEf"), "tokens are never shown");
    // One use per line in the used-by cell (which a narrow table may wrap
    // further); its words are all there, in order.
    let carol = lines.iter().position(|l| l.contains("carol@")).unwrap();
    assert!(lines[carol].contains("UTC,"), "{table}");
    assert!(lines[carol + 1].contains("dave@example.com"), "{table}");
    let words: Vec<&str> = table
        .split(|c: char| c.is_whitespace() || c == '│' || c == '┆')
        .filter(|w| !w.is_empty())
        .collect();
    let used_by = [
        "carol@example.com",
        "2023-11-14",
        "23:13",
        "UTC,",
        "dave@example.com",
        "2023-11-15",
        "00:13",
        "UTC",
    ];
    assert!(
        words.windows(used_by.len()).any(|w| w == used_by),
        "no used-by cell in\n{table}"
    );
    assert!(words.contains(&"unlimited"), "{table}");
    assert!(words.contains(&"api/token/k1a2b3"), "{table}");
    assert_eq!(
        invites::list("example.com", &[], false, Style::Table),
        "No pending invites for example.com.\n"
    );
    assert_eq!(
        invites::list("example.com", &[], true, Style::Table),
        "No invites for example.com.\n"
    );
}

#[test]
fn invite_table_with_all_has_a_status_column() {
    let table = invites::list("example.com", &all_invites(), true, Style::Table);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[1].contains("status"), "{:?}", lines[1]);
    let used = lines.iter().find(|l| l.contains("erin@")).unwrap();
    assert!(used.contains(" used "), "{used}");
    assert!(used.contains("frank@example.com"), "{used}");
    let pending = lines.iter().find(|l| l.contains(" admin ")).unwrap();
    assert!(pending.contains(" pending "), "{pending}");
}

#[test]
fn invite_show_as_text() {
    let text = invites::show(&sample_used_invite(), Style::Table);
    assert_eq!(
        text,
        "id         7\n\
         kind       both\n\
         status     used\n\
         creator    erin@example.com/phone\n\
         inviter    erin@example.com\n\
         created    2022-04-15 05:20 UTC\n\
         expires    2022-04-22 05:20 UTC\n\
         uses left  0\n\
         used by    frank@example.com  2022-04-15 05:40 UTC\n"
    );
    let mut twice = sample_invites().remove(1);
    twice.redemptions[0].jid = "c@example.com".into();
    let text = invites::show(&twice, Style::Table);
    assert!(
        text.ends_with(
            "used by    c@example.com     2023-11-14 23:13 UTC\n           \
             dave@example.com  2023-11-15 00:13 UTC\n"
        ),
        "{text}"
    );
    let unused = &sample_invites()[0];
    let text = invites::show(unused, Style::Table);
    assert!(text.contains("\ninviter    -\n"), "{text}");
    assert!(text.ends_with("\nused by    -\n"), "{text}");
}
