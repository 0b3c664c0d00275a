//! Accounts administered with the real roostctl against the real roostd:
//! create, list, passwords, roles, delete; the refusals and their exit
//! codes; passwords piped on standard input; the same commands as shell
//! lines. Logging in with these accounts is tested with c2s.

use std::process::Output;

use roost_tests::{HOST, OTHER_HOST, Server, stderr, stdout};

fn create(server: &Server, jid: &str, password: &str, extra: &[&str]) -> Output {
    let mut args = vec!["user", "create", jid, "--password-stdin"];
    args.extend(extra);
    server.ctl_with_stdin(&args, &format!("{password}\n"))
}

/// Asserts success with nothing on stderr; returns stdout.
fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        stderr(&out)
    );
    assert_eq!(stderr(&out), "");
    stdout(&out)
}

/// Asserts a refusal: exit status 1, nothing on stdout, one line on stderr.
fn refused(out: Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

#[test]
fn accounts_from_creation_to_deletion() {
    let server = Server::start();
    let alice = format!("alice@{HOST}");
    assert_eq!(
        ok(create(&server, &format!("Alice@{HOST}"), "pencil", &[])),
        ""
    );
    assert_eq!(
        ok(create(
            &server,
            &format!("root@{HOST}"),
            "r00t",
            &["--role", "admin"]
        )),
        ""
    );
    ok(create(&server, &format!("bob@{OTHER_HOST}"), "b", &[]));

    // Piped: one JID per line, sorted, this host only.
    let listed = ok(server.ctl(&["user", "list", HOST]));
    assert_eq!(listed, format!("{alice}\nroot@{HOST}\n"));

    let json: serde_json::Value =
        serde_json::from_str(&ok(server.ctl(&["--json", "user", "list", HOST]))).unwrap();
    assert_eq!(json[0]["jid"], alice.as_str());
    assert_eq!(json[0]["role"], "user");
    assert_eq!(json[1]["role"], "admin");
    assert!(json[0]["created_at"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(
        json[0].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["created_at", "jid", "role"]
    );

    ok(server.ctl_with_stdin(
        &["user", "password", &alice, "--password-stdin"],
        "crayon\n",
    ));
    assert_eq!(ok(server.ctl(&["user", "set-role", &alice, "admin"])), "");
    let json: serde_json::Value =
        serde_json::from_str(&ok(server.ctl(&["--json", "user", "list", HOST]))).unwrap();
    assert_eq!(json[0]["role"], "admin");

    assert_eq!(ok(server.ctl(&["user", "delete", &alice])), "");
    assert_eq!(
        ok(server.ctl(&["user", "list", HOST])),
        format!("root@{HOST}\n")
    );
    let err = refused(server.ctl(&["user", "delete", &alice]));
    assert_eq!(err, "roostctl: account not found\n");
}

#[test]
fn json_answers() {
    let server = Server::start();
    let created = ok(server.ctl_with_stdin(
        &[
            "--json",
            "user",
            "create",
            &format!("Carol@{HOST}"),
            "--password-stdin",
        ],
        "pw\n",
    ));
    let carol = format!("carol@{HOST}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&created).unwrap(),
        serde_json::json!({ "jid": carol })
    );
    let deleted = ok(server.ctl(&["--json", "user", "delete", &carol]));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&deleted).unwrap(),
        serde_json::json!({ "deleted": carol })
    );
    let empty = ok(server.ctl(&["--json", "user", "list", HOST]));
    assert_eq!(empty, "[]\n");
}

#[test]
fn refusals_are_one_line_and_exit_status_1() {
    let server = Server::start();
    let alice = format!("alice@{HOST}");
    ok(create(&server, &alice, "pencil", &[]));

    let err = refused(create(&server, &format!("ALICE@{HOST}"), "other", &[]));
    assert_eq!(err, format!("roostctl: account {alice} already exists\n"));

    let err = refused(create(&server, "alice@nowhere.test", "x", &[]));
    assert_eq!(err, "roostctl: unknown host 'nowhere.test'\n");
    let err = refused(server.ctl(&["user", "list", "nowhere.test"]));
    assert_eq!(err, "roostctl: unknown host 'nowhere.test'\n");

    for bad in [
        HOST.to_owned(),
        format!("al ice@{HOST}"),
        format!("a@b@{HOST}"),
    ] {
        let err = refused(create(&server, &bad, "x", &[]));
        assert!(err.starts_with(&format!("roostctl: '{bad}' ")), "{err}");
    }
    let err = refused(create(&server, &format!("bob@{HOST}"), "", &[]));
    assert_eq!(err, "roostctl: the password is empty\n");

    for args in [
        &["user", "set-role", "nobody@example.test", "admin"][..],
        &["user", "delete", "nobody@example.test"],
    ] {
        assert_eq!(refused(server.ctl(args)), "roostctl: account not found\n");
    }
    let err = refused(server.ctl_with_stdin(
        &[
            "user",
            "password",
            "nobody@example.test",
            "--password-stdin",
        ],
        "x\n",
    ));
    assert_eq!(err, "roostctl: account not found\n");
}

#[test]
fn usage_errors_are_exit_status_2() {
    let server = Server::start();
    for args in [
        &["user", "create"][..],
        &["user", "create", "a@example.test", "--role", "root"],
        &["user", "set-role", "a@example.test", "god"],
        &["user", "list"],
        // No terminal to ask on, and no --password-stdin.
        &["user", "create", "a@example.test"],
    ] {
        let out = server.ctl(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    assert_eq!(ok(server.ctl(&["user", "list", HOST])), "");
}

#[test]
fn passwords_are_not_stored() {
    let server = Server::start();
    let password = "a-very-recognisable-password";
    ok(create(&server, &format!("alice@{HOST}"), password, &[]));
    let data = server.dir.path().join("data");
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes
                    .windows(password.len())
                    .any(|w| w == password.as_bytes()),
                "the password is in {}",
                path.display()
            );
        }
    }
}

#[test]
fn shell_lines() {
    let server = Server::start();
    let out = server.ctl_with_stdin(
        &["shell"],
        &format!(
            "user create dave@{HOST} --password-stdin\n\
             s3cret\n\
             user list {HOST}\n\
             user create dave@{HOST} --password-stdin\n\
             again\n\
             user list nowhere.test\n"
        ),
    );
    assert_eq!(stdout(&out), format!("dave@{HOST}\n"));
    assert_eq!(
        stderr(&out),
        format!(
            "error: line 4: account dave@{HOST} already exists\n\
             error: line 6: unknown host 'nowhere.test'\n"
        )
    );
    assert_eq!(out.status.code(), Some(1));

    let one = ok(server.ctl(&["shell", "user", "list", HOST]));
    assert_eq!(one, format!("dave@{HOST}\n"));
}
