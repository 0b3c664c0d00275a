//! The roostctl binary against a stand-in roostd: what scripts rely on,
//! namely stdout, the one-line stderr messages, exit codes and where the
//! socket is looked for.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use roost_common::admin::{
    ArchivePurgeInfo, ArchiveSizeInfo, ErrorKind, Outcome, Password, Reply, Request,
};
use roost_shell::fake_roostd::{
    Action, FakeRoostd, refusal, sample_clients, sample_invites, sample_keys,
    sample_refresh_failures, sample_roster, sample_used_invite, sample_users,
};

fn roostctl(cwd: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_roostctl"));
    command
        .current_dir(cwd)
        .env_remove("ROOST_CONFIG")
        .env_remove("ROOST_SOCKET")
        .stdin(Stdio::null());
    command
}

fn run(command: &mut Command) -> (i32, String, String) {
    run_output(command.output().unwrap())
}

/// A fake roostd that lists the sample keys, creates one, deletes anything,
/// and knows no host but example.com.
fn fake() -> FakeRoostd {
    FakeRoostd::start(|request| match request {
        Request::ApiKeyList { host }
        | Request::ApiKeyDelete { host, .. }
        | Request::ApiKeyCreate { host, .. }
            if host != "example.com" =>
        {
            refusal(
                ErrorKind::UnknownHost,
                &format!("{host} is not served here"),
            )
        }
        Request::ApiKeyList { .. } => Action::Answer(Outcome::Ok(Reply::ApiKeys {
            keys: sample_keys(),
        })),
        Request::ApiKeyCreate { .. } => Action::Answer(Outcome::Ok(Reply::ApiKeyCreated {
            key: "k1a2b3/s3cr3t".into(),
            info: sample_keys().remove(0),
        })),
        Request::ApiKeyDelete { .. } => Action::Answer(Outcome::Ok(Reply::Deleted)),
        Request::Hello => Action::Answer(Outcome::Ok(Reply::Hello {
            server_version: "test".into(),
        })),
        Request::UserCreate { jid, .. } => Action::Answer(Outcome::Ok(Reply::UserCreated {
            jid: jid.to_lowercase(),
        })),
        Request::UserList { host } if host != "example.com" => {
            refusal(ErrorKind::UnknownHost, &format!("unknown host '{host}'"))
        }
        Request::UserList { .. } => Action::Answer(Outcome::Ok(Reply::Users {
            users: sample_users(),
        })),
        Request::UserDelete { .. } => Action::Answer(Outcome::Ok(Reply::Deleted)),
        Request::UserPassword { .. } | Request::UserSetRole { .. } => {
            Action::Answer(Outcome::Ok(Reply::Done))
        }
        Request::InviteList { .. } => Action::Answer(Outcome::Ok(Reply::Invites {
            invites: sample_invites(),
        })),
        Request::InviteCreate { .. } => refusal(ErrorKind::BadRequest, "not in this test"),
        Request::HostList => Action::Answer(Outcome::Ok(Reply::Hosts {
            hosts: vec!["example.com".into()],
        })),
        Request::UserClients { jid } if jid == "alice@example.com" => {
            Action::Answer(Outcome::Ok(Reply::Clients {
                clients: sample_clients(),
            }))
        }
        Request::UserClients { .. } => {
            Action::Answer(Outcome::Ok(Reply::Clients { clients: vec![] }))
        }
        Request::UserRevokeClient { client, .. } => match client.as_str() {
            // The legacy client logged in with the password.
            "client/7lQ6PFduJt" => Action::Answer(Outcome::Ok(Reply::ClientRevoked {
                sessions_ended: 1,
                fast_tokens_deleted: 0,
                password_reset_required: true,
            })),
            "client/mVq3-Yk2" => Action::Answer(Outcome::Ok(Reply::ClientRevoked {
                sessions_ended: 0,
                fast_tokens_deleted: 1,
                password_reset_required: false,
            })),
            _ => refusal(ErrorKind::NotFound, "Client not found"),
        },
        Request::InviteRevoke { .. } => refusal(ErrorKind::NotFound, "invite not found"),
        Request::Reload | Request::Backup { .. } => {
            refusal(ErrorKind::BadRequest, "not in this test")
        }
        Request::InviteShow { host, invite } if invite != "7" => refusal(
            ErrorKind::NotFound,
            &format!("no invite {invite} on {host}"),
        ),
        Request::InviteShow { .. } => Action::Answer(Outcome::Ok(Reply::Invite {
            invite: sample_used_invite(),
        })),
        Request::RosterShow { jid } if jid == "ann@school.example" => {
            Action::Answer(Outcome::Ok(Reply::Roster {
                roster: sample_roster(),
            }))
        }
        Request::RosterShow { jid } => refusal(ErrorKind::NotFound, &format!("no account {jid}")),
        // school.example delegates rosters; cy's service answers 500.
        Request::RosterRefresh { jids } => {
            if let Some(local) = jids.iter().find(|j| !j.ends_with("@school.example")) {
                return refusal(
                    ErrorKind::BadRequest,
                    &format!("{local}: its host has no roster delegation"),
                );
            }
            let failures: Vec<_> = sample_refresh_failures()
                .into_iter()
                .filter(|f| jids.contains(&f.jid))
                .collect();
            Action::Answer(Outcome::Ok(Reply::RosterRefreshed {
                updated: (jids.len() - failures.len()) as u32,
                errors: failures.len() as u32,
                failures,
            }))
        }
        // Issue 12: status and sessions, tested against the real roostd
        // (tests/tests/c2s_admin.rs).
        Request::Status | Request::C2sList { .. } | Request::C2sClose { .. } => {
            refusal(ErrorKind::BadRequest, "not in this test")
        }
        Request::Audit { query } if query.host.as_deref().is_some_and(|h| h != "example.com") => {
            refusal(ErrorKind::UnknownHost, "unknown host")
        }
        Request::Audit { .. } => Action::Answer(Outcome::Ok(Reply::Audit { entries: vec![] })),
        Request::ArchiveSize { jid } | Request::ArchivePurge { jid, .. }
            if jid != "ann@school.example" =>
        {
            refusal(ErrorKind::NotFound, &format!("no account {jid}"))
        }
        Request::ArchiveSize { jid } => Action::Answer(Outcome::Ok(Reply::ArchiveSize {
            size: ArchiveSizeInfo {
                jid: jid.clone(),
                messages: 2,
                bytes: 300,
                oldest_ms: Some(1_700_000_000_000),
                newest_ms: Some(1_700_000_060_000),
            },
        })),
        Request::ArchivePurge { jid, before_secs } => {
            Action::Answer(Outcome::Ok(Reply::ArchivePurged {
                purge: ArchivePurgeInfo {
                    jid: jid.clone(),
                    removed: if before_secs.is_some() { 1 } else { 2 },
                },
            }))
        }
    })
}

#[test]
fn archive_size_and_purge_print_their_contracts_and_exit_codes() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let ctl = |args: &[&str]| run(roostctl(dir.path()).args(socket_arg(&fake)).args(args));
    let (code, out, err) = ctl(&["archive", "size", "ann@school.example"]);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            0,
            "jid\tann@school.example\nmessages\t2\nbytes\t300\noldest\t1700000000\nnewest\t1700000060\n",
            ""
        )
    );
    let (code, out, _) = ctl(&[
        "archive",
        "purge",
        "ann@school.example",
        "--before",
        "1d",
        "--json",
    ]);
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"jid": "ann@school.example", "removed": 1})
    );
    let (code, out, _) = ctl(&["archive", "purge", "ann@school.example", "--all"]);
    assert_eq!((code, out.as_str()), (0, "removed\t2\n"));
    let (code, out, err) = ctl(&["archive", "size", "nobody@school.example"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, "roostctl: no account nobody@school.example\n");
    let (code, _, err) = ctl(&["archive", "purge", "ann@school.example"]);
    assert_eq!(code, 2, "--before or --all is needed: {err}");
}

#[test]
fn audit_exit_codes() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(roostctl(dir.path())
        .args(socket_arg(&fake))
        .args(["audit", "--json"]));
    assert_eq!((code, out.as_str(), err.as_str()), (0, "[]\n", ""));
    let (code, _, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args([
        "audit",
        "--host",
        "nowhere.example",
    ]));
    assert_eq!(code, 1, "{err}");
    let (code, _, _) = run(roostctl(dir.path())
        .args(socket_arg(&fake))
        .args(["audit", "--action", "nonsense"]));
    assert_eq!(code, 2);
}

#[test]
fn invite_list_and_revoke() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) =
        run(roostctl(dir.path())
            .args(socket_arg(&fake))
            .args(["invite", "list", "example.com"]));
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        out,
        "3\taccount\t1600604800\tadmin\tpending\t\n\
         12\tcontact\t1700086400\tapi/token/k1a2b3\tpending\t\
         carol@example.com,1700003600 dave@example.com,1700007200\n"
    );
    let (code, out, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args([
        "invite",
        "revoke",
        "example.com",
        "99",
    ]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.contains("invite not found"), "{err}");
}

#[test]
fn invite_show() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args([
        "invite",
        "show",
        "example.com",
        "7",
        "--json",
    ]));
    assert_eq!((code, err.as_str()), (0, ""));
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["status"], "used");
    assert_eq!(json["redemptions"][0]["jid"], "frank@example.com");
    // Piped: FIELD<TAB>VALUE lines; the same through `roostctl shell CMD`.
    let (code, out, _) = run(roostctl(dir.path()).args(socket_arg(&fake)).args([
        "invite",
        "show",
        "example.com",
        "7",
    ]));
    assert_eq!(code, 0);
    assert!(
        out.starts_with("id\t7\nkind\tboth\nstatus\tused\n"),
        "{out}"
    );
    assert!(
        out.ends_with("\nredemption\tfrank@example.com\t1650001234\n"),
        "{out}"
    );
    let (code, shell_out, _) = run(roostctl(dir.path()).args(socket_arg(&fake)).args([
        "shell",
        "invite",
        "show",
        "example.com",
        "7",
    ]));
    assert_eq!((code, shell_out.as_str()), (0, out.as_str()));

    let (code, out, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args([
        "invite",
        "show",
        "example.com",
        "99",
    ]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, "roostctl: no invite 99 on example.com\n");
    let (code, _, err) =
        run(roostctl(dir.path())
            .args(socket_arg(&fake))
            .args(["invite", "show", "example.com"]));
    assert_eq!(code, 2, "{err}");
}

fn socket_arg(fake: &FakeRoostd) -> [&std::ffi::OsStr; 2] {
    ["--socket".as_ref(), fake.path.as_os_str()]
}

#[test]
fn list_prints_prosody_lines_when_piped() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args([
        "invites-api",
        "list",
        "example.com",
    ]));
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, "k1a2b3\tsignup page\nz9y8x7\t<unknown>\n");
}

#[test]
fn create_prints_exactly_the_key() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = run(roostctl(dir.path()).args(socket_arg(&fake)).args([
        "invites-api",
        "create",
        "example.com",
        "app",
        "--expires-in",
        "30m",
    ]));
    assert_eq!((code, out.as_str()), (0, "k1a2b3/s3cr3t\n"));
    assert_eq!(
        fake.requests(),
        vec![Request::ApiKeyCreate {
            host: "example.com".into(),
            name: Some("app".into()),
            expires_in_secs: Some(1800),
        }]
    );
}

#[test]
fn json_list_is_an_array_of_keys() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = run(roostctl(dir.path()).args(socket_arg(&fake)).args([
        "--json",
        "invites-api",
        "list",
        "example.com",
    ]));
    assert_eq!(code, 0);
    let keys: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(keys[0]["id"], "k1a2b3");
    assert_eq!(keys[1]["name"], serde_json::Value::Null);
}

#[test]
fn a_refusal_is_one_line_on_stderr_and_exit_code_1() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args([
        "invites-api",
        "delete",
        "example.org",
        "k1a2b3",
    ]));
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert_eq!(err, "roostctl: example.org is not served here\n");
}

#[test]
fn no_socket_is_exit_code_3_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(roostctl(dir.path()).args(["invites-api", "list", "example.com"]));
    assert_eq!(code, 3);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "roostctl: cannot reach roostd: no socket at ./data/roostd.sock (is roostd running?)\n"
    );
}

#[test]
fn a_server_closing_without_answer_is_exit_code_3() {
    let fake = FakeRoostd::start(|_| Action::Close);
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args([
        "invites-api",
        "list",
        "example.com",
    ]));
    assert_eq!(code, 3);
    assert_eq!(
        err,
        "roostctl: roostd closed the connection without answering (see its log)\n"
    );
}

#[test]
fn usage_errors_are_exit_code_2_without_contacting_roostd() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["invites-api", "list"][..],
        &[
            "invites-api",
            "create",
            "example.com",
            "--expires-in",
            "soon",
        ],
        &["invites-api", "frobnicate"],
        &["shell", "invites-api", "lst", "example.com"],
        &[],
    ] {
        let (code, _, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args(args));
        assert_eq!(code, 2, "{args:?}: {err}");
    }
    assert!(fake.requests().is_empty());
}

#[test]
fn help_documents_the_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = run(roostctl(dir.path()).arg("--help"));
    assert_eq!(code, 0);
    for (code, meaning) in roost_shell::grammar::EXIT_STATUSES {
        assert!(out.contains(&format!("{code}  {meaning}")), "{out}");
    }
}

#[test]
fn prosody_spellings_work() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let expected = "k1a2b3\tsignup page\nz9y8x7\t<unknown>\n";
    for args in [
        &["mod_invites_api", "list", "example.com"][..],
        &["shell", "invites-api", "list", "example.com"],
        &["shell", "mod_invites_api", "list", "example.com"],
    ] {
        let (code, out, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args(args));
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (0, expected, ""),
            "{args:?}"
        );
    }
}

#[test]
fn shell_reads_a_script_from_stdin() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let mut child = roostctl(dir.path())
        .args(socket_arg(&fake))
        .arg("shell")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"invites-api create example.com\ninvites-api list example.org\nquit\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "k1a2b3/s3cr3t\n");
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "error: line 2: example.org is not served here\n"
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        fake.connection_numbers(),
        vec![1, 1],
        "one connection for the script"
    );
}

/// Runs roostctl with `input` on its standard input.
fn run_with_stdin(command: &mut Command, input: &str) -> (i32, String, String) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    run_output(child.wait_with_output().unwrap())
}

fn run_output(output: Output) -> (i32, String, String) {
    (
        output
            .status
            .code()
            .expect("roostctl was killed by a signal"),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn user_create_reads_the_password_from_stdin() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run_with_stdin(
        roostctl(dir.path()).args(socket_arg(&fake)).args([
            "user",
            "create",
            "alice@example.com",
            "--password-stdin",
        ]),
        "s3cret word\r\nnot this\n",
    );
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    assert_eq!(
        fake.requests(),
        vec![Request::UserCreate {
            jid: "alice@example.com".into(),
            password: Password("s3cret word".into()),
            role: None,
        }]
    );

    let (code, out, _) = run_with_stdin(
        roostctl(dir.path()).args(socket_arg(&fake)).args([
            "--json",
            "user",
            "create",
            "Bob@example.com",
            "--password-stdin",
            "--role",
            "admin",
        ]),
        "pw\n",
    );
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        serde_json::json!({"jid": "bob@example.com"})
    );
}

#[test]
fn a_password_needs_a_terminal_or_password_stdin() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["user", "create", "alice@example.com"][..],
        &["user", "password", "alice@example.com"],
    ] {
        let (code, out, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args(args));
        assert_eq!(code, 2, "{args:?}");
        assert_eq!(out, "");
        assert_eq!(
            err,
            "roostctl: standard input is not a terminal to ask for the password on; \
             give it with --password-stdin\n"
        );
    }
    let (code, _, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args([
        "user",
        "password",
        "alice@example.com",
        "--password-stdin",
    ]));
    assert_eq!(code, 2);
    assert_eq!(err, "roostctl: no password on standard input\n");
    assert!(
        fake.requests().is_empty(),
        "nothing is sent without a password"
    );
}

#[test]
fn user_list_prints_one_jid_per_line_when_piped() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) =
        run(roostctl(dir.path())
            .args(socket_arg(&fake))
            .args(["user", "list", "example.com"]));
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, "alice@example.com\nroot@example.com\n");

    let (code, out, err) =
        run(roostctl(dir.path())
            .args(socket_arg(&fake))
            .args(["user", "list", "example.org"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, "roostctl: unknown host 'example.org'\n");
}

fn write_config(dir: &Path, name: &str, socket: &Path) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!("[admin]\nsocket = {:?}\n", socket.display().to_string()),
    )
    .unwrap();
    path
}

#[test]
fn socket_from_config_option_or_environment() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "roost.toml", &fake.path);
    let list = ["invites-api", "list", "example.com"];

    let (code, _, err) = run(roostctl(dir.path()).arg("--config").arg(&config).args(list));
    assert_eq!((code, err.as_str()), (0, ""), "--config");

    let (code, _, err) = run(roostctl(dir.path()).env("ROOST_CONFIG", &config).args(list));
    assert_eq!((code, err.as_str()), (0, ""), "ROOST_CONFIG");

    let (code, _, err) = run(roostctl(dir.path())
        .env("ROOST_SOCKET", &fake.path)
        .args(list));
    assert_eq!((code, err.as_str()), (0, ""), "ROOST_SOCKET");
}

#[test]
fn socket_resolution_order() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("nowhere.sock");
    let good = write_config(dir.path(), "good.toml", &fake.path);
    let bad = write_config(dir.path(), "bad.toml", &nowhere);
    let list = ["invites-api", "list", "example.com"];
    let unreachable = |err: &str| err.contains("nowhere.sock");

    // --socket beats --config and both variables.
    let (code, _, err) = run(roostctl(dir.path())
        .args(socket_arg(&fake))
        .arg("--config")
        .arg(&bad)
        .env("ROOST_CONFIG", &bad)
        .env("ROOST_SOCKET", &nowhere)
        .args(list));
    assert_eq!((code, err.as_str()), (0, ""));

    // --config beats ROOST_CONFIG and ROOST_SOCKET.
    let (code, _, err) = run(roostctl(dir.path())
        .arg("--config")
        .arg(&good)
        .env("ROOST_CONFIG", &bad)
        .env("ROOST_SOCKET", &nowhere)
        .args(list));
    assert_eq!((code, err.as_str()), (0, ""));

    // ROOST_CONFIG beats ROOST_SOCKET.
    let (code, _, err) = run(roostctl(dir.path())
        .env("ROOST_CONFIG", &bad)
        .env("ROOST_SOCKET", &fake.path)
        .args(list));
    assert_eq!(code, 3);
    assert!(unreachable(&err), "{err}");
}

#[test]
fn an_unreadable_config_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("roost.toml");
    std::fs::write(&config, "[admin]\nsockit = \"x\"\n").unwrap();
    let (code, _, err) =
        run(roostctl(dir.path())
            .arg("--config")
            .arg(&config)
            .args(["invites-api", "list", "x"]));
    assert_eq!(code, 2);
    assert!(
        err.starts_with("roostctl: ") && err.contains("roost.toml:2"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn user_clients_one_line_per_client_when_piped_in_every_spelling() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let expected = "client/7lQ6PFduJt\t\t\t1699990000\t1699996400\tpassword\tyes\n\
         client/d4565fa7-4c79-4f4e-b8d2-1f0d9e3b2a10\tConversations/2.16\tPixel 8\t\
         1700000000\t1700003600\tpassword,fast\tyes\n\
         client/mVq3-Yk2\txmpp.js\t\t1700000100\t1700007200\tfast\tno\n";
    for args in [
        &["user", "clients", "alice@example.com"][..],
        &["shell", "user", "clients", "alice@example.com"],
    ] {
        let (code, out, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args(args));
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (0, expected, ""),
            "{args:?}"
        );
    }
    let (code, out, _) = run(roostctl(dir.path()).args(socket_arg(&fake)).args([
        "user",
        "clients",
        "alice@example.com",
        "--json",
    ]));
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json[1]["auth"], serde_json::json!(["password", "fast"]));
    assert_eq!(json[2]["jid"], serde_json::Value::Null);
    // No clients: nothing on a pipe, still success.
    let (code, out, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args([
        "user",
        "clients",
        "nobody@example.com",
    ]));
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
}

#[test]
fn revoke_client_prints_what_it_ended_in_every_spelling() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &[
            "user",
            "revoke_client",
            "alice@example.com",
            "client/mVq3-Yk2",
        ][..],
        &[
            "user",
            "revoke-client",
            "alice@example.com",
            "client/mVq3-Yk2",
        ],
        &[
            "shell",
            "user",
            "revoke_client",
            "alice@example.com",
            "client/mVq3-Yk2",
        ],
        &[
            "shell",
            "user",
            "revoke-client",
            "alice@example.com",
            "client/mVq3-Yk2",
        ],
    ] {
        let (code, out, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args(args));
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (0, "deleted 1 FAST token\n", ""),
            "{args:?}"
        );
    }
    assert_eq!(
        fake.requests()[0],
        Request::UserRevokeClient {
            jid: "alice@example.com".into(),
            client: "client/mVq3-Yk2".into()
        }
    );
}

#[test]
fn revoke_client_that_knows_the_password_is_exit_code_1() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args([
        "user",
        "revoke_client",
        "alice@example.com",
        "client/7lQ6PFduJt",
    ]));
    assert_eq!(code, 1);
    assert_eq!(out, "ended 1 session\n");
    assert_eq!(
        err,
        "roostctl: Password reset required: the client logged in with the account's password; \
         only a new one keeps it out (user password alice@example.com)\n"
    );
    let (code, out, _) = run(roostctl(dir.path()).args(socket_arg(&fake)).args([
        "--json",
        "user",
        "revoke_client",
        "alice@example.com",
        "client/7lQ6PFduJt",
    ]));
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["password_reset_required"], true);
    assert_eq!(json["sessions_ended"], 1);
}

#[test]
fn revoke_of_an_unknown_client_is_exit_code_1() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args([
        "user",
        "revoke_client",
        "alice@example.com",
        "client/nope",
    ]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, "roostctl: Client not found\n");
}

#[test]
fn client_commands_without_their_arguments_are_exit_code_2() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["user", "clients"][..],
        &["user", "revoke_client", "alice@example.com"],
        &["shell", "user", "revoke-client", "alice@example.com"],
    ] {
        let (code, out, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args(args));
        assert_eq!((code, out.as_str()), (2, ""), "{args:?}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
    assert!(fake.requests().is_empty());
}

#[test]
fn roster_show_one_line_per_contact_when_piped_in_every_spelling() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let expected = "bo@school.example\tMr Bo\tboth\tno\tno\tTeachers,Class 4b, Maths\n\
         cy@school.example\t\tboth\tno\tno\t\n\
         zoe@example.org\tZoë\tnone\tyes\tyes\tFriends\n";
    for args in [
        &["roster", "show", "ann@school.example"][..],
        &["shell", "roster", "show", "ann@school.example"],
    ] {
        let (code, out, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args(args));
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (0, expected, ""),
            "{args:?}"
        );
    }
    let (code, out, _) = run(roostctl(dir.path()).args(socket_arg(&fake)).args([
        "roster",
        "show",
        "ann@school.example",
        "--json",
    ]));
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["fetched_at"], 1_700_000_000);
    assert_eq!(
        json["items"][0]["groups"],
        serde_json::json!(["Teachers", "Class 4b, Maths"])
    );
}

#[test]
fn roster_show_of_no_account_is_exit_code_1() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args([
        "roster",
        "show",
        "nobody@school.example",
    ]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err, "roostctl: no account nobody@school.example\n");
}

#[test]
fn roster_refresh_counts_and_exit_codes() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    // Every roster refreshed: the counts, success.
    let (code, out, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args([
        "roster",
        "refresh",
        "ann@school.example",
        "bo@school.example",
    ]));
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (0, "updated\t2\nerrors\t0\n", "")
    );
    // One failed: the counts and the failure on stdout, one line on
    // stderr, exit status 1, in every spelling.
    for args in [
        &[
            "roster",
            "refresh",
            "ann@school.example",
            "cy@school.example",
        ][..],
        &[
            "shell",
            "roster",
            "refresh",
            "ann@school.example",
            "cy@school.example",
        ],
    ] {
        let (code, out, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args(args));
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (
                1,
                "updated\t1\nerrors\t1\nfailed\tcy@school.example\t\
                 the roster service answered 500 Internal Server Error\n",
                "roostctl: rosters not refreshed: 1 of 2\n"
            ),
            "{args:?}"
        );
    }
    let (code, out, _) = run(roostctl(dir.path()).args(socket_arg(&fake)).args([
        "--json",
        "roster",
        "refresh",
        "cy@school.example",
    ]));
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "updated": 0,
            "errors": 1,
            "failures": [{
                "jid": "cy@school.example",
                "reason": "the roster service answered 500 Internal Server Error"
            }]
        })
    );
    // A host without delegation: one line, exit status 1, nothing on stdout.
    let (code, out, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args([
        "roster",
        "refresh",
        "ann@school.example",
        "alice@example.com",
    ]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "roostctl: alice@example.com: its host has no roster delegation\n"
    );
}

#[test]
fn roster_commands_without_their_arguments_are_exit_code_2() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["roster", "show"][..],
        &["roster", "refresh"],
        &["shell", "roster", "refresh"],
        &["roster"],
    ] {
        let (code, out, err) = run(roostctl(dir.path()).args(socket_arg(&fake)).args(args));
        assert_eq!((code, out.as_str()), (2, ""), "{args:?}");
        assert!(!err.is_empty(), "{args:?}");
    }
    assert!(fake.requests().is_empty());
}

#[test]
fn a_refresh_of_more_jids_than_a_request_holds_is_exit_code_2_unsent() {
    let fake = fake();
    let dir = tempfile::tempdir().unwrap();
    let jids: Vec<String> = (0..5000).map(|i| format!("u{i}@school.example")).collect();
    let (code, out, err) = run(roostctl(dir.path())
        .args(socket_arg(&fake))
        .args(["roster", "refresh"])
        .args(&jids));
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.starts_with("roostctl: the request would be ") && err.lines().count() == 1,
        "{err}"
    );
    assert!(fake.requests().is_empty());
}
