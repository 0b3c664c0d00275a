//! One command end to end against a fake roostd: request, output, exit code.

use std::io;

use clap::Parser;
use roost_common::admin::{ErrorKind, Password, Reply, Request, Role};

use super::*;
use crate::fake_roostd::{
    Action, FakeRoostd, refusal, sample_clients, sample_keys, sample_refresh_failures,
    sample_roster, sample_used_invite, sample_users,
};
use crate::grammar::{PasswordInput, ReplLine};
use crate::password::{PasswordError, PasswordReader};

mod sessions;

fn command(line: &str) -> AdminCommand {
    let parsed = ReplLine::try_parse_from(shell_words::split(line).unwrap()).unwrap();
    match parsed.command {
        crate::grammar::ReplCommand::Admin(command) => command,
        other => panic!("{line:?} is not an admin command: {other:?}"),
    }
}

/// Hands out a fixed password and records what it was asked for.
#[derive(Default)]
struct Given {
    password: Option<&'static str>,
    asked: Vec<(String, bool, bool)>,
}

impl PasswordReader for Given {
    fn read(&mut self, input: &PasswordInput<'_>) -> Result<Password, PasswordError> {
        self.asked
            .push((input.jid.to_owned(), input.from_stdin, input.new_account));
        self.password
            .map(|p| Password(p.into()))
            .ok_or(PasswordError::Mismatch)
    }
}

fn run(fake: &FakeRoostd, line: &str, style: Style) -> (Result<(), Error>, String) {
    run_with(fake, line, style, &mut Given::default())
}

fn run_with(
    fake: &FakeRoostd,
    line: &str,
    style: Style,
    passwords: &mut Given,
) -> (Result<(), Error>, String) {
    let mut out = Vec::new();
    let result = execute(
        &mut AdminClient::new(&fake.path),
        &command(line),
        style,
        &mut out,
        passwords,
    );
    (result, String::from_utf8(out).unwrap())
}

#[test]
fn create_sends_the_request_and_prints_the_key() {
    let fake = FakeRoostd::replying(Reply::ApiKeyCreated {
        key: "k1a2b3/s3cr3t".into(),
        info: sample_keys().remove(0),
    });
    let (result, out) = run(
        &fake,
        "invites-api create example.com 'signup page' --expires-in 7d",
        Style::Lines,
    );
    result.unwrap();
    assert_eq!(out, "k1a2b3/s3cr3t\n");
    assert_eq!(
        fake.requests(),
        vec![Request::ApiKeyCreate {
            host: "example.com".into(),
            name: Some("signup page".into()),
            expires_in_secs: Some(604_800),
        }]
    );
}

#[test]
fn list_prints_lines() {
    let fake = FakeRoostd::replying(Reply::ApiKeys {
        keys: sample_keys(),
    });
    let (result, out) = run(&fake, "invites-api list example.com", Style::Lines);
    result.unwrap();
    assert_eq!(out, "k1a2b3\tsignup page\nz9y8x7\t<unknown>\n");
}

#[test]
fn delete_prints_nothing_or_json() {
    let fake = FakeRoostd::replying(Reply::Deleted);
    let (result, out) = run(&fake, "invites-api delete example.com k1a2b3", Style::Lines);
    result.unwrap();
    assert_eq!(out, "");
    let (result, out) = run(&fake, "invites-api delete example.com k1a2b3", Style::Json);
    result.unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        serde_json::json!({"deleted": "k1a2b3", "host": "example.com"})
    );
}

#[test]
fn a_refusal_is_exit_code_1_and_prints_nothing() {
    let fake = FakeRoostd::start(|_| refusal(ErrorKind::NotFound, "no key k1a2b3 on example.com"));
    let (result, out) = run(&fake, "invites-api delete example.com k1a2b3", Style::Lines);
    let err = result.unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert_eq!(err.to_string(), "no key k1a2b3 on example.com");
    assert_eq!(out, "");
}

#[test]
fn a_reply_of_the_wrong_kind_is_exit_code_3_without_leaking_it() {
    let fake = FakeRoostd::replying(Reply::ApiKeyCreated {
        key: "k1a2b3/s3cr3t".into(),
        info: sample_keys().remove(0),
    });
    let (result, _) = run(&fake, "invites-api list example.com", Style::Lines);
    let err = result.unwrap_err();
    assert_eq!(err.exit_code(), 3);
    let text = err.to_string();
    assert!(text.contains("invites-api list"), "{text}");
    assert!(!text.contains("s3cr3t"), "the secret leaked: {text}");
}

struct ClosedPipe;

impl io::Write for ClosedPipe {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::BrokenPipe.into())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn an_output_failure_is_exit_code_1() {
    let fake = FakeRoostd::replying(Reply::ApiKeys {
        keys: sample_keys(),
    });
    let err = execute(
        &mut AdminClient::new(&fake.path),
        &command("invites-api list example.com"),
        Style::Lines,
        &mut ClosedPipe,
        &mut Given::default(),
    )
    .unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert!(err.is_broken_pipe());
}

#[test]
fn user_create_sends_the_password_it_was_given() {
    let fake = FakeRoostd::replying(Reply::UserCreated {
        jid: "alice@example.com".into(),
    });
    let mut passwords = Given {
        password: Some("s3cret"),
        ..Given::default()
    };
    let (result, out) = run_with(
        &fake,
        "user create Alice@example.com --role admin --password-stdin",
        Style::Lines,
        &mut passwords,
    );
    result.unwrap();
    assert_eq!(out, "");
    assert_eq!(
        passwords.asked,
        vec![("Alice@example.com".to_owned(), true, true)]
    );
    assert_eq!(
        fake.requests(),
        vec![Request::UserCreate {
            jid: "Alice@example.com".into(),
            password: Password("s3cret".into()),
            role: Some(Role::Admin),
        }]
    );
    let (result, out) = run_with(
        &fake,
        "user create Alice@example.com",
        Style::Json,
        &mut passwords,
    );
    result.unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        serde_json::json!({"jid": "alice@example.com"})
    );
    assert_eq!(
        passwords.asked[1],
        ("Alice@example.com".to_owned(), false, true)
    );
}

#[test]
fn no_password_means_nothing_is_sent_and_a_usage_error() {
    let fake = FakeRoostd::replying(Reply::Done);
    let (result, _) = run(&fake, "user password alice@example.com", Style::Lines);
    let err = result.unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert_eq!(err.to_string(), "the passwords do not match");
    assert!(fake.requests().is_empty());
}

#[test]
fn user_password_asks_for_a_new_password() {
    let fake = FakeRoostd::replying(Reply::Done);
    let mut passwords = Given {
        password: Some("n3w"),
        ..Given::default()
    };
    let (result, out) = run_with(
        &fake,
        "user password alice@example.com",
        Style::Lines,
        &mut passwords,
    );
    result.unwrap();
    assert_eq!(out, "");
    assert_eq!(
        passwords.asked,
        vec![("alice@example.com".to_owned(), false, false)]
    );
    assert_eq!(
        fake.requests(),
        vec![Request::UserPassword {
            jid: "alice@example.com".into(),
            password: Password("n3w".into()),
        }]
    );
}

#[test]
fn user_commands_without_passwords_ask_for_none() {
    let cases = [
        (
            "user delete alice@example.com",
            Reply::Deleted,
            Request::UserDelete {
                jid: "alice@example.com".into(),
            },
            serde_json::json!({"deleted": "alice@example.com"}),
        ),
        (
            "user set-role alice@example.com admin",
            Reply::Done,
            Request::UserSetRole {
                jid: "alice@example.com".into(),
                role: Role::Admin,
            },
            serde_json::json!({"jid": "alice@example.com", "role": "admin"}),
        ),
    ];
    for (line, reply, request, json) in cases {
        let fake = FakeRoostd::replying(reply);
        let mut passwords = Given::default();
        let (result, out) = run_with(&fake, line, Style::Lines, &mut passwords);
        result.unwrap();
        assert_eq!(out, "", "{line}");
        let (result, out) = run_with(&fake, line, Style::Json, &mut passwords);
        result.unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&out).unwrap(),
            json,
            "{line}"
        );
        assert!(passwords.asked.is_empty(), "{line}");
        assert_eq!(fake.requests(), vec![request.clone(), request], "{line}");
    }
}

#[test]
fn user_list_prints_one_jid_per_line() {
    let fake = FakeRoostd::replying(Reply::Users {
        users: sample_users(),
    });
    let (result, out) = run(&fake, "user list example.com", Style::Lines);
    result.unwrap();
    assert_eq!(out, "alice@example.com\nroot@example.com\n");
    assert_eq!(
        fake.requests(),
        vec![Request::UserList {
            host: "example.com".into()
        }]
    );
}

#[test]
fn invite_list_all_asks_for_used_ones_and_shows_their_status() {
    let fake = FakeRoostd::replying(Reply::Invites {
        invites: vec![sample_used_invite()],
    });
    let (result, out) = run(&fake, "invite list example.com --all", Style::Table);
    result.unwrap();
    assert!(out.contains("status"), "{out}");
    assert!(out.contains(" used "), "{out}");
    let (result, out) = run(&fake, "invite list example.com", Style::Table);
    result.unwrap();
    assert!(!out.contains("status"), "{out}");
    assert_eq!(
        fake.requests(),
        vec![
            Request::InviteList {
                host: "example.com".into(),
                all: true,
            },
            Request::InviteList {
                host: "example.com".into(),
                all: false,
            }
        ]
    );
}

#[test]
fn invite_show_prints_one_invite() {
    let fake = FakeRoostd::replying(Reply::Invite {
        invite: sample_used_invite(),
    });
    let (result, out) = run(&fake, "invite show example.com 7", Style::Json);
    result.unwrap();
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["id"], 7);
    assert_eq!(json["status"], "used");
    assert_eq!(
        json["redemptions"],
        serde_json::json!([{"jid": "frank@example.com", "redeemed_at": 1_650_001_234}])
    );
    let (result, out) = run(&fake, "invite show example.com 7", Style::Table);
    result.unwrap();
    assert!(
        out.contains("used by    frank@example.com  2022-04-15 05:40 UTC\n"),
        "{out}"
    );
    assert_eq!(
        fake.requests()[0],
        Request::InviteShow {
            host: "example.com".into(),
            invite: "7".into(),
        }
    );
}

#[test]
fn invite_show_of_an_unknown_invite_is_exit_code_1() {
    let fake = FakeRoostd::start(|_| refusal(ErrorKind::NotFound, "no invite 99 on example.com"));
    let (result, out) = run(&fake, "invite show example.com 99", Style::Table);
    let err = result.unwrap_err();
    assert_eq!(err.exit_code(), 1);
    assert_eq!(err.to_string(), "no invite 99 on example.com");
    assert_eq!(out, "");
    // A list where one invite was asked for is a version mismatch.
    let fake = FakeRoostd::replying(Reply::Invites {
        invites: Vec::new(),
    });
    let (result, _) = run(&fake, "invite show example.com 99", Style::Table);
    let err = result.unwrap_err();
    assert_eq!(err.exit_code(), 3);
    assert!(err.to_string().contains("invite show"), "{err}");
}

#[test]
fn user_clients_asks_for_the_account_and_prints_its_clients() {
    let fake = FakeRoostd::replying(Reply::Clients {
        clients: sample_clients(),
    });
    let (result, out) = run(&fake, "user clients alice@example.com", Style::Lines);
    result.unwrap();
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(out.starts_with("client/7lQ6PFduJt\t"), "{out}");
    assert_eq!(
        fake.requests(),
        vec![Request::UserClients {
            jid: "alice@example.com".into()
        }]
    );
    let fake = FakeRoostd::replying(Reply::Clients { clients: vec![] });
    let (result, out) = run(&fake, "user clients alice@example.com", Style::Table);
    result.unwrap();
    assert_eq!(out, "No clients have access to alice@example.com.\n");
}

fn revoked(sessions: u32, tokens: u32, reset: bool) -> Reply {
    Reply::ClientRevoked {
        sessions_ended: sessions,
        fast_tokens_deleted: tokens,
        password_reset_required: reset,
    }
}

#[test]
fn revoke_client_prints_what_it_ended() {
    let fake = FakeRoostd::replying(revoked(2, 1, false));
    let (result, out) = run(
        &fake,
        "user revoke-client alice@example.com client/mVq3-Yk2",
        Style::Table,
    );
    result.unwrap();
    assert_eq!(out, "ended 2 sessions, deleted 1 FAST token\n");
    assert_eq!(
        fake.requests(),
        vec![Request::UserRevokeClient {
            jid: "alice@example.com".into(),
            client: "client/mVq3-Yk2".into()
        }]
    );
}

#[test]
fn revoke_client_needing_a_password_reset_prints_what_it_ended_and_fails() {
    let fake = FakeRoostd::replying(revoked(1, 0, true));
    for (style, expected) in [
        (Style::Lines, "ended 1 session\n"),
        (Style::Json, "\"password_reset_required\": true"),
    ] {
        let (result, out) = run(
            &fake,
            "user revoke_client alice@example.com client/7lQ6PFduJt",
            style,
        );
        assert!(out.contains(expected), "{out}");
        let err = result.unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(
            err.to_string().starts_with("Password reset required"),
            "{err}"
        );
        assert!(
            err.to_string().contains("user password alice@example.com"),
            "{err}"
        );
    }
}

#[test]
fn revoke_of_an_unknown_client_is_exit_code_1() {
    let fake = FakeRoostd::start(|_| refusal(ErrorKind::NotFound, "Client not found"));
    let (result, out) = run(
        &fake,
        "user revoke_client alice@example.com client/nope",
        Style::Table,
    );
    let err = result.unwrap_err();
    assert_eq!(
        (err.exit_code(), err.to_string().as_str()),
        (1, "Client not found")
    );
    assert_eq!(out, "");
}

#[test]
fn roster_show_asks_for_the_account_and_prints_its_contacts() {
    let fake = FakeRoostd::replying(Reply::Roster {
        roster: sample_roster(),
    });
    let (result, out) = run(&fake, "roster show ann@school.example", Style::Lines);
    result.unwrap();
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(out.starts_with("bo@school.example\tMr Bo\tboth\t"), "{out}");
    let (result, out) = run(&fake, "roster show ann@school.example", Style::Json);
    result.unwrap();
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["delegated"], true);
    assert_eq!(json["items"][1]["name"], serde_json::Value::Null);
    assert_eq!(
        fake.requests(),
        vec![
            Request::RosterShow {
                jid: "ann@school.example".into()
            };
            2
        ]
    );
}

#[test]
fn roster_show_of_no_account_is_exit_code_1() {
    let fake = FakeRoostd::start(|_| refusal(ErrorKind::NotFound, "no account nobody@example.com"));
    let (result, out) = run(&fake, "roster show nobody@example.com", Style::Table);
    let err = result.unwrap_err();
    assert_eq!(
        (err.exit_code(), err.to_string().as_str()),
        (1, "no account nobody@example.com")
    );
    assert_eq!(out, "");
}

fn refreshed(updated: u32, failures: Vec<roost_common::admin::RosterRefreshFailure>) -> Reply {
    Reply::RosterRefreshed {
        updated,
        errors: failures.len() as u32,
        failures,
    }
}

#[test]
fn roster_refresh_of_all_is_success() {
    let fake = FakeRoostd::replying(refreshed(2, Vec::new()));
    let (result, out) = run(
        &fake,
        "roster refresh ann@school.example bo@school.example",
        Style::Table,
    );
    result.unwrap();
    assert_eq!(out, "updated 2, errors 0\n");
    assert_eq!(
        fake.requests(),
        vec![Request::RosterRefresh {
            jids: vec!["ann@school.example".into(), "bo@school.example".into()]
        }]
    );
}

#[test]
fn roster_refresh_with_a_failure_prints_it_and_is_exit_code_1() {
    let fake = FakeRoostd::replying(refreshed(2, sample_refresh_failures()));
    for (style, expected) in [
        (
            Style::Lines,
            "updated\t2\nerrors\t1\nfailed\tcy@school.example\t\
             the roster service answered 500 Internal Server Error\n",
        ),
        (Style::Json, "\"errors\": 1"),
    ] {
        let (result, out) = run(
            &fake,
            "roster refresh ann@school.example bo@school.example cy@school.example",
            style,
        );
        assert!(out.contains(expected), "{out}");
        let err = result.unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert_eq!(err.to_string(), "rosters not refreshed: 1 of 3");
    }
}

#[test]
fn roster_refresh_on_a_host_without_delegation_is_exit_code_1() {
    let fake = FakeRoostd::start(|_| {
        refusal(
            ErrorKind::BadRequest,
            "example.com has no roster delegation",
        )
    });
    let (result, out) = run(&fake, "roster refresh alice@example.com", Style::Lines);
    let err = result.unwrap_err();
    assert_eq!(
        (err.exit_code(), err.to_string().as_str()),
        (1, "example.com has no roster delegation")
    );
    assert_eq!(out, "");
}

#[test]
fn roster_refresh_waits_longer_than_other_commands() {
    // A fake roostd that takes a while to answer a refresh, as one waiting
    // for a slow roster service does; the client's usual timeout is
    // shorter than that.
    let fake = FakeRoostd::start(|request| {
        if matches!(request, Request::RosterRefresh { .. }) {
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        Action::Answer(roost_common::admin::Outcome::Ok(match request {
            Request::RosterRefresh { .. } => refreshed(1, Vec::new()),
            _ => Reply::Roster {
                roster: sample_roster(),
            },
        }))
    });
    let mut client =
        AdminClient::new(&fake.path).with_timeout(std::time::Duration::from_millis(100));
    let mut out = Vec::new();
    execute(
        &mut client,
        &command("roster refresh ann@school.example"),
        Style::Lines,
        &mut out,
        &mut Given::default(),
    )
    .unwrap();
    assert_eq!(out, b"updated\t1\nerrors\t0\n");
    // Other commands keep the usual timeout.
    assert_eq!(client.timeout(), std::time::Duration::from_millis(100));
}

fn created_invite() -> Reply {
    Reply::InviteCreated {
        invite: roost_common::admin::CreatedInviteInfo {
            url: "https://chat.example/invite/abc".into(),
            uri: "xmpp:chat.example?register;preauth=abc".into(),
            id: 4,
            expires_at: 1_800_000_000,
            kind: roost_common::admin::InviteType::Account,
            uses: 1,
        },
    }
}

#[test]
fn invite_create_qr_prints_the_link_then_its_code() {
    let fake = FakeRoostd::replying(created_invite());
    let (result, out) = run(&fake, "invite create chat.example --qr", Style::Lines);
    result.unwrap();
    let (link, code) = out.split_once('\n').unwrap();
    assert_eq!(link, "https://chat.example/invite/abc");
    assert_eq!(code, qr::terminal(link, false).unwrap());
    let (result, out) = run(&fake, "invite create chat.example --qr", Style::Table);
    result.unwrap();
    assert!(out.contains("\x1b[97;40m"), "coloured on a terminal");
    let (result, out) = run(&fake, "invite create chat.example", Style::Lines);
    result.unwrap();
    assert_eq!(out, "https://chat.example/invite/abc\n");
}

#[test]
fn invite_create_qr_with_json_is_a_usage_error_and_sends_nothing() {
    let fake = FakeRoostd::replying(created_invite());
    let (result, out) = run(&fake, "invite create chat.example --qr", Style::Json);
    let err = result.unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert_eq!(err.to_string(), "--qr cannot be used with --json");
    assert_eq!(out, "");
    assert!(fake.requests().is_empty());
}

#[test]
fn a_backup_roostctl_cannot_see_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let there = dir.path().join("seen.sqlite3");
    std::fs::write(&there, [0u8; 10]).unwrap();
    let backed_up = |path: &std::path::Path, bytes: u64| Reply::BackedUp {
        backup: roost_common::admin::BackupInfo {
            path: path.display().to_string(),
            bytes,
            millis: 3,
        },
    };
    let fake = FakeRoostd::replying(backed_up(&there, 10));
    let (result, out) = run(&fake, &format!("backup {}", there.display()), Style::Lines);
    result.unwrap();
    assert_eq!(out, format!("{}\n", there.display()));

    // Written into a private /tmp, or another file of that name.
    let elsewhere = dir.path().join("private.sqlite3");
    for (path, bytes) in [(&elsewhere, 10), (&there, 4096)] {
        let fake = FakeRoostd::replying(backed_up(path, bytes));
        let (result, out) = run(&fake, &format!("backup {}", path.display()), Style::Lines);
        let err = result.unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(
            err.to_string().contains("roostctl does not find it"),
            "{err}"
        );
        assert_eq!(out, "");
    }
}
