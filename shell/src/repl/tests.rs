//! Shell lines and piped scripts against a fake roostd.

use std::ffi::OsString;
use std::path::Path;

use roost_common::admin::{ErrorKind, Outcome, Password, Reply, Request};

use super::*;
use crate::fake_roostd::{Action, FakeRoostd, refusal, sample_keys};

fn shell(fake: &FakeRoostd) -> Shell {
    Shell {
        client: AdminClient::new(&fake.path),
        json: false,
        stdout_is_terminal: false,
    }
}

/// Runs `input` as a piped script; returns (status, stdout, stderr).
fn script(shell: &mut Shell, input: &str) -> (u8, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let status = shell.script(input.as_bytes(), &mut out, &mut err);
    (
        status,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

/// A fake that lists the sample keys, deletes anything and refuses to
/// create.
fn fake() -> FakeRoostd {
    FakeRoostd::start(|request| match request {
        Request::ApiKeyList { .. } => Action::Answer(Outcome::Ok(Reply::ApiKeys {
            keys: sample_keys(),
        })),
        Request::ApiKeyDelete { .. } => Action::Answer(Outcome::Ok(Reply::Deleted)),
        _ => refusal(ErrorKind::UnknownHost, "example.org is not served here"),
    })
}

#[test]
fn a_script_runs_every_line_on_one_connection() {
    let fake = fake();
    let (status, out, err) = script(
        &mut shell(&fake),
        "invites-api list example.com\n\
         # a comment\n\
         \n\
         mod_invites_api delete example.com k1a2b3\n",
    );
    assert_eq!((status, err.as_str()), (0, ""));
    assert_eq!(out, "k1a2b3\tsignup page\nz9y8x7\t<unknown>\n");
    assert_eq!(
        fake.requests(),
        vec![
            Request::ApiKeyList {
                host: "example.com".into()
            },
            Request::ApiKeyDelete {
                host: "example.com".into(),
                id: "k1a2b3".into()
            },
        ]
    );
    assert_eq!(fake.connection_numbers(), vec![1, 1]);
}

#[test]
fn errors_are_one_line_each_and_the_script_goes_on() {
    let fake = fake();
    let (status, out, err) = script(
        &mut shell(&fake),
        "invites-api create example.org\n\
         invites-api lst example.com\n\
         invites-api create example.com 'unclosed\n\
         invites-api list example.com\n",
    );
    let errors: Vec<&str> = err.lines().collect();
    assert_eq!(
        errors,
        vec![
            "error: line 1: example.org is not served here",
            "error: line 2: unrecognized subcommand 'lst' (try help)",
            "error: line 3: unbalanced quotes",
        ]
    );
    assert_eq!(out.lines().count(), 2, "the last line still ran: {out:?}");
    assert_eq!(status, 2, "the status is the last failure's");
}

#[test]
fn the_status_is_that_of_the_last_failure() {
    let fake = fake();
    let (status, _, _) = script(
        &mut shell(&fake),
        "invites-api lst x\ninvites-api create example.org\ninvites-api list example.com\n",
    );
    assert_eq!(status, 1);
}

#[test]
fn quit_and_exit_stop_reading() {
    for word in ["quit", "exit"] {
        let fake = fake();
        let (status, _, _) = script(
            &mut shell(&fake),
            &format!("invites-api list example.com\n{word}\ninvites-api list example.com\n"),
        );
        assert_eq!(status, 0);
        assert_eq!(fake.requests().len(), 1, "{word} did not stop the script");
    }
}

#[test]
fn help_lists_the_commands_and_explains_one() {
    let fake = fake();
    let (status, out, err) = script(&mut shell(&fake), "help\n");
    assert_eq!((status, err.as_str()), (0, ""));
    for command in ["invites-api", "quit", "help"] {
        assert!(
            out.contains(command),
            "help does not mention {command}: {out}"
        );
    }
    assert!(
        !out.contains("mod_invites_api  "),
        "the alias is not a separate command"
    );

    let (status, out, _) = script(&mut shell(&fake), "help invites-api\n");
    assert_eq!(status, 0);
    assert!(
        out.contains("Usage: invites-api [OPTIONS] <COMMAND>"),
        "{out}"
    );
    for sub in ["create", "list", "delete"] {
        assert!(out.contains(sub), "{out}");
    }
    assert!(fake.requests().is_empty());
}

#[test]
fn an_incomplete_command_shows_its_help_as_a_failure() {
    let fake = fake();
    let (status, out, err) = script(&mut shell(&fake), "invites-api\n");
    assert_eq!(status, 2);
    assert_eq!(out, "");
    assert!(err.contains("create"), "{err}");
}

#[test]
fn json_per_line_or_for_the_whole_shell() {
    let fake = fake();
    let (_, out, _) = script(&mut shell(&fake), "invites-api list example.com --json\n");
    let keys: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 2);

    let mut json_shell = shell(&fake);
    json_shell.json = true;
    let (_, out, _) = script(&mut json_shell, "invites-api delete example.com k1a2b3\n");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        serde_json::json!({"deleted": "k1a2b3", "host": "example.com"})
    );
}

#[test]
fn a_terminal_gets_a_table() {
    let fake = fake();
    let mut shell = shell(&fake);
    shell.stdout_is_terminal = true;
    let (_, out, _) = script(&mut shell, "invites-api list example.com\n");
    assert!(out.contains("last used"), "{out}");
}

#[test]
fn an_unreachable_roostd_is_reported_and_the_shell_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut shell = Shell {
        client: AdminClient::new(dir.path().join("gone.sock")),
        json: false,
        stdout_is_terminal: false,
    };
    let (status, _, err) = script(&mut shell, "invites-api list example.com\nhelp\n");
    assert_eq!(status, 3);
    assert!(
        err.starts_with("error: line 1: cannot reach roostd: no socket at "),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn history_location() {
    let os = |s: &str| Some(OsString::from(s));
    assert_eq!(
        history_path(os("/state"), os("/home/ann")).as_deref(),
        Some(Path::new("/state/roost/shell_history"))
    );
    assert_eq!(
        history_path(None, os("/home/ann")).as_deref(),
        Some(Path::new("/home/ann/.local/state/roost/shell_history"))
    );
    assert_eq!(
        history_path(os("relative"), os("/home/ann")).as_deref(),
        Some(Path::new("/home/ann/.local/state/roost/shell_history"))
    );
    assert_eq!(history_path(None, None), None);
}

#[test]
fn in_a_script_password_stdin_takes_the_next_line() {
    let fake = FakeRoostd::start(|request| match request {
        Request::UserCreate { .. } => Action::Answer(Outcome::Ok(Reply::UserCreated {
            jid: "alice@example.com".into(),
        })),
        _ => refusal(ErrorKind::UnknownHost, "example.org is not served here"),
    });
    let (status, out, err) = script(
        &mut shell(&fake),
        "user create alice@example.com --password-stdin\n\
         s3cret\n\
         user list example.org\n",
    );
    assert_eq!(out, "");
    assert_eq!(err, "error: line 3: example.org is not served here\n");
    assert_eq!(status, 1);
    assert_eq!(
        fake.requests()[0],
        Request::UserCreate {
            jid: "alice@example.com".into(),
            password: Password("s3cret".into()),
            role: None,
        }
    );
    assert_eq!(fake.requests().len(), 2, "the password line is no command");
}

#[test]
fn in_a_script_a_password_must_come_from_the_script() {
    let fake = fake();
    let (status, _, err) = script(
        &mut shell(&fake),
        "user create alice@example.com\nuser password alice@example.com --password-stdin\n",
    );
    assert_eq!(status, 2);
    assert_eq!(
        err,
        "error: line 1: standard input is not a terminal to ask for the password on; \
         give it with --password-stdin\n\
         error: line 2: no password on standard input\n"
    );
    assert!(fake.requests().is_empty());
}

#[test]
fn a_missing_argument_is_one_line_naming_it() {
    let fake = fake();
    let (status, out, err) = script(
        &mut shell(&fake),
        "user revoke_client alice@example.com\nuser clients\n",
    );
    assert_eq!((status, out.as_str()), (2, ""));
    assert_eq!(
        err,
        "error: line 1: the following required arguments were not provided: <ID> (try help)\n\
         error: line 2: the following required arguments were not provided: <JID> (try help)\n"
    );
    assert!(fake.requests().is_empty());
}

#[test]
fn a_revocation_that_needs_a_password_reset_fails_the_line_after_printing() {
    let fake = FakeRoostd::replying(Reply::ClientRevoked {
        sessions_ended: 2,
        fast_tokens_deleted: 1,
        password_reset_required: true,
    });
    let (status, out, err) = script(
        &mut shell(&fake),
        "user revoke_client alice@example.com client/7lQ6PFduJt\n",
    );
    assert_eq!(status, 1);
    assert_eq!(out, "ended 2 sessions, deleted 1 FAST token\n");
    assert!(
        err.starts_with("error: line 1: Password reset required: ") && err.lines().count() == 1,
        "{err}"
    );
}
