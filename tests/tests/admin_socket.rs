//! The admin socket and roostctl's contract: permissions, the versioned
//! protocol, several clients at once, bad frames, and exit codes.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;

use roost_tests::{HOST, OTHER_HOST, Server, roostctl_bin, stderr, stdout};

#[test]
fn socket_is_private_to_roostds_user() {
    let server = Server::start();
    let mode = std::fs::metadata(server.socket_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
}

#[test]
fn protocol_answers_each_frame_and_survives_bad_ones() {
    let server = Server::start();
    let mut a = server.admin_connection();
    let mut b = server.admin_connection();

    let hello = a.request(r#"{"v":1,"id":1,"request":"hello"}"#);
    assert_eq!(hello["id"], 1);
    assert!(
        hello["outcome"]["ok"]["hello"]["server_version"].is_string(),
        "{hello}"
    );

    let bad = a.request("this is not json");
    assert_eq!(bad["outcome"]["error"]["kind"], "bad_request", "{bad}");

    let unknown = a.request(r#"{"v":1,"id":2,"request":{"frobnicate":{}}}"#);
    assert_eq!(unknown["id"], 2);
    assert_eq!(
        unknown["outcome"]["error"]["kind"], "bad_request",
        "{unknown}"
    );

    let future = a.request(r#"{"v":99,"id":3,"request":"hello"}"#);
    assert_eq!(
        future["outcome"]["error"]["kind"], "unsupported_version",
        "{future}"
    );

    // An oversized frame is refused and the connection still works after it.
    let mut huge = vec![b'x'; 100 * 1024];
    huge.push(b'\n');
    a.send_raw(&huge);
    assert_eq!(a.read()["outcome"]["error"]["kind"], "too_large");
    let again = a.request(r#"{"v":1,"id":4,"request":"hello"}"#);
    assert_eq!(again["id"], 4);
    assert!(again["outcome"]["ok"].is_object(), "{again}");

    // The other client was never disturbed.
    let listed = b.request(&format!(
        r#"{{"v":1,"id":7,"request":{{"api_key_list":{{"host":"{HOST}"}}}}}}"#
    ));
    assert_eq!(listed["id"], 7);
    assert_eq!(
        listed["outcome"]["ok"]["api_keys"]["keys"],
        serde_json::json!([])
    );
}

#[test]
fn many_roostctl_at_once() {
    let server = Server::start();
    let keys: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let server = &server;
                s.spawn(move || server.create_key(HOST, &format!("k{i}")))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let listed = stdout(&server.ctl(&["invites-api", "list", HOST]));
    assert_eq!(listed.lines().count(), 8);
    for key in keys {
        let id = key.split_once('/').unwrap().0;
        assert!(listed.contains(id), "{id} missing from {listed}");
    }
}

#[test]
fn refusals_exit_1_with_one_line() {
    let server = Server::start();
    for args in [
        vec!["invites-api", "create", "nohost.example"],
        vec!["invites-api", "list", "not a host"],
        vec!["invites-api", "delete", HOST, "nosuchkeyid0"],
    ] {
        let out = server.ctl(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), "", "{args:?}");
        assert_eq!(
            stderr(&out).trim_end().lines().count(),
            1,
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let out = server.ctl(&["invites-api", "create", "nohost.example"]);
    assert!(stderr(&out).contains("nohost.example"), "{}", stderr(&out));
}

#[test]
fn usage_errors_exit_2() {
    let server = Server::start();
    for args in [
        vec!["invites-api", "create"],
        vec!["invites-api", "delete", HOST],
        vec!["invites-api", "frob", HOST],
        vec![
            "invites-api",
            "create",
            HOST,
            "name",
            "--expires-in",
            "soon",
        ],
        vec!["invites-api", "create", HOST, "two", "extra"],
    ] {
        let out = server.ctl(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    // Nothing was created by any of them.
    assert_eq!(stdout(&server.ctl(&["invites-api", "list", HOST])), "");
}

#[test]
fn unreachable_server_exits_3_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("nothing.sock");
    let out = Command::new(roostctl_bin())
        .arg("--socket")
        .arg(&socket)
        .args(["invites-api", "list", HOST])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(socket.to_str().unwrap()), "{err}");
    assert!(err.contains("roostd running"), "{err}");
}

#[test]
fn config_file_finds_the_socket() {
    let server = Server::start();
    let key = server.create_key(HOST, "via socket");
    let out = Command::new(roostctl_bin())
        .arg("--config")
        .arg(server.config_path())
        .args(["invites-api", "list", HOST])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with(key.split_once('/').unwrap().0));
}

#[test]
fn shell_one_shot_and_piped_repl_share_the_grammar() {
    let server = Server::start();
    let out = server.ctl(&["shell", "invites-api", "create", HOST, "from shell"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = stdout(&out).trim().split_once('/').unwrap().0.to_owned();

    let mut child = Command::new(roostctl_bin())
        .arg("--socket")
        .arg(server.socket_path())
        .arg("shell")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("invites-api list {HOST}\nmod_invites_api delete {HOST} {id}\ninvites-api list {HOST}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(
        text.matches(&id).count(),
        1,
        "listed once, then deleted: {text}"
    );
    assert_eq!(stdout(&server.ctl(&["invites-api", "list", HOST])), "");
}

#[test]
fn long_lists_fit_in_one_answer() {
    let server = Server::start();
    // 600 keys make a list answer of about 100 KB, past the request limit.
    let script: String = (0..600)
        .map(|i| format!("invites-api create {HOST} key{i}\n"))
        .collect();
    let out = server.ctl_with_stdin(&["shell"], &script);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = server.ctl(&["--json", "invites-api", "list", HOST]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        out.stdout.len() > 64 * 1024,
        "only {} bytes",
        out.stdout.len()
    );
    let keys: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 600);
}

#[test]
fn host_list_names_the_served_hosts() {
    let server = Server::start();
    let mut admin = server.admin_connection();
    let hosts = admin.request(r#"{"v":1,"id":1,"request":"host_list"}"#);
    assert_eq!(
        hosts["outcome"]["ok"]["hosts"]["hosts"],
        serde_json::json!([HOST, OTHER_HOST]),
        "{hosts}"
    );
}

#[test]
fn roster_requests_on_the_wire() {
    let server = Server::start();
    server.create_user(&format!("alice@{HOST}"), "pencil");
    let mut admin = server.admin_connection();
    let shown = admin.request(&format!(
        r#"{{"v":1,"id":1,"request":{{"roster_show":{{"jid":"alice@{HOST}"}}}}}}"#
    ));
    assert_eq!(
        shown,
        serde_json::json!({"v": 1, "id": 1, "outcome": {"ok": {"roster": {"roster": {
            "jid": format!("alice@{HOST}"),
            "delegated": false,
            "fetched_at": null,
            "version": 0,
            "items": []
        }}}}})
    );
    let missing = admin.request(&format!(
        r#"{{"v":1,"id":2,"request":{{"roster_show":{{"jid":"nobody@{HOST}"}}}}}}"#
    ));
    assert_eq!(
        missing["outcome"]["error"]["kind"], "not_found",
        "{missing}"
    );
    let refused = admin.request(&format!(
        r#"{{"v":1,"id":3,"request":{{"roster_refresh":{{"jids":["alice@{HOST}"]}}}}}}"#
    ));
    assert_eq!(refused["id"], 3);
    assert_eq!(
        refused["outcome"]["error"]["kind"], "bad_request",
        "{refused}"
    );
    // Nothing asked, nothing done (the endpoint's `[]`).
    let nothing = admin.request(r#"{"v":1,"id":4,"request":{"roster_refresh":{"jids":[]}}}"#);
    assert_eq!(
        nothing["outcome"]["ok"],
        serde_json::json!({"roster_refreshed": {"updated": 0, "errors": 0, "failures": []}}),
        "{nothing}"
    );
}
