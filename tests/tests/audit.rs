//! The audit log (issue 12) against the real roostd: every change through
//! every door (the admin socket, the HTTP invite API, the web registration
//! form, XMPP in-band registration, ad-hoc commands, in-band password change
//! and removal, client revocation) and a login lock-out shows up in
//! `roostctl audit --json` exactly once with its actor, action, subject and
//! outcome; the filters select; and the table itself, read straight from
//! the database file, holds no password, key secret or invite token.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use roost_tests::manage_clients::{list, revoke};
use roost_tests::raw::{RawClient, plain_login_succeeds, preauth, register, tls_stream};
use roost_tests::web_form::WebForm;
use roost_tests::{HOST, OTHER_HOST, Server, http, stderr, stdout};
use rusqlite::{Connection, OpenFlags};
use serde_json::Value;

const PASSWORD: &str = "Audit-Test-Password-1";

/// `roostctl audit ARGS… --json`: the entries, newest first.
fn audit(server: &Server, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["audit", "--json"];
    all.extend_from_slice(args);
    let out = server.ctl(&all);
    assert!(out.status.success(), "audit {args:?}: {}", stderr(&out));
    serde_json::from_str::<Value>(&stdout(&out))
        .expect("JSON")
        .as_array()
        .expect("an array")
        .clone()
}

/// The entries of `action`, newest first.
fn entries_of(server: &Server, action: &str) -> Vec<Value> {
    audit(server, &["--action", action])
}

/// The one entry of `action`; fails when there are none or several.
fn only(server: &Server, action: &str) -> Value {
    let entries = entries_of(server, action);
    assert_eq!(entries.len(), 1, "{action}: {entries:#?}");
    entries[0].clone()
}

/// (actor_kind, actor, action, host, jid, subject, outcome) of an entry.
fn summary(entry: &Value) -> [String; 7] {
    let text = |name: &str| match &entry[name] {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => panic!("{name} is {other} in {entry}"),
    };
    [
        text("actor_kind"),
        text("actor"),
        text("action"),
        text("host"),
        text("jid"),
        text("subject"),
        text("outcome"),
    ]
}

fn row(values: [&str; 7]) -> [String; 7] {
    values.map(str::to_owned)
}

/// Runs roostctl and checks that it succeeded; its standard output.
fn ctl_ok(server: &Server, args: &[&str]) -> String {
    let out = server.ctl(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

/// `roostctl invite create HOST ARGS… --json`: (numeric id, token).
fn invite(server: &Server, args: &[&str]) -> (String, String) {
    let mut all = vec!["invite", "create", HOST, "--json"];
    all.extend_from_slice(args);
    let json: Value = serde_json::from_str(&ctl_ok(server, &all)).unwrap();
    let uri = json["uri"].as_str().expect("uri");
    let token = uri
        .split("preauth=")
        .nth(1)
        .and_then(|t| t.split(';').next())
        .expect("token in URI")
        .to_owned();
    (json["id"].to_string(), token)
}

/// Every text the audit table holds, read from the database file
/// read-only while roostd runs.
fn raw_audit_table(server: &Server) -> String {
    let conn =
        Connection::open_with_flags(server.database_path(), OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the database read-only");
    let mut st = conn
        .prepare(
            "SELECT actor_kind || actor || action || ifnull(host, '') || ifnull(jid, '')
                    || ifnull(subject, '') || outcome || ifnull(detail, '')
             FROM audit_log",
        )
        .unwrap();
    st.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
        .join("\n")
}

fn is_result(answer: &str) -> bool {
    answer.contains("type='result'") || answer.contains("type=\"result\"")
}

fn own_uid() -> String {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }.to_string()
}

#[tokio::test]
async fn admin_socket_changes_are_recorded_with_the_admins_uid_and_reads_are_not() {
    let server = Server::start();
    let uid = own_uid();
    let key = server.create_key(HOST, "audit");
    let key_id = key.split_once('/').unwrap().0.to_owned();
    ctl_ok(&server, &["invites-api", "delete", HOST, &key_id]);
    server.create_user(&format!("ann@{HOST}"), PASSWORD);
    let out = server.ctl_with_stdin(
        &[
            "user",
            "password",
            &format!("ann@{HOST}"),
            "--password-stdin",
        ],
        "Another-Audit-Password\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    ctl_ok(
        &server,
        &["user", "set-role", &format!("ann@{HOST}"), "admin"],
    );
    let (invite_id, _) = invite(&server, &[]);
    ctl_ok(&server, &["invite", "revoke", HOST, &invite_id]);
    ctl_ok(&server, &["user", "delete", &format!("ann@{HOST}")]);
    // Refused: recorded with its code.
    let out = server.ctl(&["user", "delete", &format!("nobody@{HOST}")]);
    assert_eq!(out.status.code(), Some(1));
    // Reads: not recorded.
    ctl_ok(&server, &["user", "list", HOST]);
    ctl_ok(&server, &["invite", "list", HOST]);
    ctl_ok(&server, &["invites-api", "list", HOST]);

    let entries = audit(&server, &[]);
    let ann = format!("ann@{HOST}");
    let nobody = format!("nobody@{HOST}");
    let expected = [
        row([
            "admin",
            &uid,
            "account.delete",
            HOST,
            &nobody,
            "-",
            "not_found",
        ]),
        row(["admin", &uid, "account.delete", HOST, &ann, "-", "ok"]),
        row(["admin", &uid, "invite.revoke", HOST, "-", &invite_id, "ok"]),
        row(["admin", &uid, "invite.create", HOST, "-", &invite_id, "ok"]),
        row(["admin", &uid, "account.role", HOST, &ann, "-", "ok"]),
        row(["admin", &uid, "account.password", HOST, &ann, "-", "ok"]),
        row(["admin", &uid, "account.create", HOST, &ann, "-", "ok"]),
        row(["admin", &uid, "api_key.delete", HOST, "-", &key_id, "ok"]),
        row(["admin", &uid, "api_key.create", HOST, "-", &key_id, "ok"]),
    ];
    assert_eq!(entries.iter().map(summary).collect::<Vec<_>>(), expected);
    assert_eq!(entries[4]["detail"], "role=admin");

    // Piped: one tab-separated line per entry, the newest first.
    let lines = ctl_ok(&server, &["audit", "--limit", "2"]);
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let fields: Vec<&str> = lines[1].split('\t').collect();
    assert_eq!(
        fields[1..8],
        [
            format!("admin:{uid}").as_str(),
            "account.delete",
            HOST,
            ann.as_str(),
            "",
            "ok",
            ""
        ],
        "{lines:?}"
    );
    assert!(
        fields[0].ends_with('Z') && fields[0].contains('T'),
        "{lines:?}"
    );

    let raw = raw_audit_table(&server);
    for secret in [
        key.as_str(),
        key.split_once('/').unwrap().1,
        PASSWORD,
        "Another-Audit-Password",
    ] {
        assert!(!raw.contains(secret), "{secret} in the audit table:\n{raw}");
    }
}

#[tokio::test]
async fn invites_through_the_http_api_the_web_form_and_in_band_registration() {
    let server = Server::start();
    // The HTTP invite API with a key: the key's id acts.
    let key = server.create_key(HOST, "web app");
    let key_id = key.split_once('/').unwrap().0.to_owned();
    let landing = server.api_invite(&key).await;
    let web_token = landing.rsplit('/').next().unwrap().to_owned();
    let created = only(&server, "invite.create");
    assert_eq!(
        summary(&created)[..3],
        row(["api_key", &key_id, "invite.create", "-", "-", "-", "-"])[..3]
    );
    assert_eq!(created["host"], HOST);
    assert_eq!(created["outcome"], "ok");
    let api_invite_id = created["subject"].as_str().unwrap().to_owned();

    // The web form: redeemed with door web, by the browser's address.
    let register_url = server.url(&format!("/invite/{web_token}/register"));
    let (status, _) = WebForm::open(&register_url)
        .await
        .submit("webby", PASSWORD)
        .await;
    assert_eq!(status, StatusCode::OK);
    let webby = format!("webby@{HOST}");
    let redeemed = only(&server, "invite.redeem");
    assert_eq!(
        summary(&redeemed),
        row([
            "web",
            "127.0.0.1",
            "invite.redeem",
            HOST,
            &webby,
            &api_invite_id,
            "ok"
        ])
    );
    assert_eq!(redeemed["detail"], "door=web");

    // In-band registration with an admin's invite: door in-band
    // registration, by the connection's address.
    let (ibr_invite_id, ibr_token) = invite(&server, &[]);
    let (mut client, _) = tls_stream(&server).await;
    let answer = preauth(&mut client, "p1", &ibr_token).await;
    assert!(is_result(&answer), "{answer}");
    let answer = register(&mut client, "r1", "ibby", PASSWORD).await;
    assert!(is_result(&answer), "{answer}");
    let ibby = format!("ibby@{HOST}");
    let redeemed = entries_of(&server, "invite.redeem");
    assert_eq!(redeemed.len(), 2, "{redeemed:#?}");
    assert_eq!(
        summary(&redeemed[0]),
        row([
            "connection",
            "127.0.0.1",
            "invite.redeem",
            HOST,
            &ibby,
            &ibr_invite_id,
            "ok"
        ])
    );
    assert_eq!(redeemed[0]["detail"], "door=in_band_registration");
    // A registration with an invite is one entry, not also account.create.
    assert!(entries_of(&server, "account.create").is_empty());

    // A bad key: refused, with the id it presented.
    let r = http()
        .get(server.url("/invites_api"))
        .bearer_auth(format!(
            "{key_id}/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let created = entries_of(&server, "invite.create");
    assert_eq!(created[0]["actor"], key_id.as_str());
    assert_eq!(created[0]["outcome"], "unauthenticated");

    let raw = raw_audit_table(&server);
    for secret in [
        key.as_str(),
        key.split_once('/').unwrap().1,
        web_token.as_str(),
        ibr_token.as_str(),
        PASSWORD,
    ] {
        assert!(!raw.contains(secret), "{secret} in the audit table:\n{raw}");
    }
}

#[tokio::test]
async fn what_users_do_over_xmpp_is_recorded_with_their_jid() {
    let server = Server::start();
    let bob = format!("bob@{HOST}");
    server.create_user(&bob, PASSWORD);

    // An ad-hoc contact invite.
    let mut session = RawClient::bound(&server, "bob", PASSWORD, "desk").await;
    session
        .send(&format!(
            "<iq type='set' id='a1' to='{HOST}'><command \
             xmlns='http://jabber.org/protocol/commands' node='urn:xmpp:invite#invite' \
             action='execute'/></iq>"
        ))
        .await;
    let answer = session.read_iq("a1").await;
    assert!(is_result(&answer), "{answer}");
    let created = only(&server, "invite.create");
    assert_eq!(created["actor_kind"], "xmpp");
    assert_eq!(created["actor"], bob.as_str());
    assert_eq!(created["jid"], bob.as_str());
    assert_eq!(created["outcome"], "ok");

    // The first client, revoked by the user from a second one.
    let desk = list(&mut session, "l1").await;
    assert_eq!(desk.len(), 1, "{desk:?}");
    let other = desk[0].id.clone();
    let mut phone = RawClient::bound(&server, "bob", PASSWORD, "phone").await;
    let answer = revoke(&mut phone, "v1", &other).await;
    assert!(answer.contains("Password reset required"), "{answer}");
    let revoked = only(&server, "client.revoke");
    assert_eq!(
        summary(&revoked),
        row(["xmpp", &bob, "client.revoke", HOST, &bob, &other, "ok"])
    );

    // In-band password change, then removal, by the user.
    let mut session = RawClient::bound(&server, "bob", PASSWORD, "laptop").await;
    session
        .send(
            "<iq type='set' id='pw'><query xmlns='jabber:iq:register'>\
             <username>bob</username><password>A-New-Audit-Password</password></query></iq>",
        )
        .await;
    let answer = session.read_iq("pw").await;
    assert!(is_result(&answer), "{answer}");
    assert_eq!(
        summary(&only(&server, "account.password")),
        row(["xmpp", &bob, "account.password", HOST, &bob, "-", "ok"])
    );
    session
        .send("<iq type='set' id='rm'><query xmlns='jabber:iq:register'><remove/></query></iq>")
        .await;
    let answer = session.read_iq("rm").await;
    assert!(is_result(&answer), "{answer}");
    assert_eq!(
        summary(&only(&server, "account.delete")),
        row(["xmpp", &bob, "account.delete", HOST, &bob, "-", "ok"])
    );

    // Everything bob did, and nothing else, under --jid.
    let by_bob: Vec<String> = audit(&server, &["--jid", &bob])
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        by_bob,
        [
            "account.delete",
            "account.password",
            "client.revoke",
            "invite.create",
            "account.create"
        ]
    );
    let raw = raw_audit_table(&server);
    for secret in [PASSWORD, "A-New-Audit-Password"] {
        assert!(!raw.contains(secret), "{secret} in the audit table:\n{raw}");
    }
}

#[tokio::test]
async fn an_admin_revoking_a_client_is_recorded() {
    let server = Server::start();
    let cat = format!("cat@{HOST}");
    server.create_user(&cat, PASSWORD);
    let mut session = RawClient::bound(&server, "cat", PASSWORD, "one").await;
    let id = list(&mut session, "l1").await.remove(0).id;
    let out = server.ctl(&["user", "revoke_client", &cat, &id]);
    // The client used the password: exit status 1 says a reset is needed,
    // but the revocation was made.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let revoked = only(&server, "client.revoke");
    assert_eq!(
        summary(&revoked),
        row(["admin", &own_uid(), "client.revoke", HOST, &cat, &id, "ok"])
    );
}

#[tokio::test]
async fn a_login_lockout_is_recorded_once_when_it_starts() {
    let server = Server::start_auth("max_failures_per_account = 3");
    let dee = format!("dee@{HOST}");
    server.create_user(&dee, PASSWORD);
    for _ in 0..3 {
        assert!(!plain_login_succeeds(&server, "dee", "wrong").await);
    }
    // Locked: refused, the right password too, and not recorded again.
    for _ in 0..5 {
        assert!(!plain_login_succeeds(&server, "dee", PASSWORD).await);
    }
    // The lock-out is written apart from any answer the client gets, so
    // there is nothing to wait for but the entry itself.
    let deadline = Instant::now() + Duration::from_secs(10);
    let lockouts = loop {
        let found = entries_of(&server, "login.lockout");
        if !found.is_empty() || Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(lockouts.len(), 1, "{lockouts:#?}");
    assert_eq!(
        summary(&lockouts[0]),
        row([
            "connection",
            "127.0.0.1",
            "login.lockout",
            HOST,
            &dee,
            "127.0.0.1",
            "ok"
        ])
    );
    assert_eq!(lockouts[0]["detail"], "scope=account");
    // The refused attempts after it added nothing.
    assert_eq!(entries_of(&server, "login.lockout").len(), 1);
}

#[tokio::test]
async fn filters_select_by_host_account_action_and_age() {
    let server = Server::start();
    server.create_user(&format!("eve@{HOST}"), PASSWORD);
    server.create_user(&format!("fay@{OTHER_HOST}"), PASSWORD);
    invite(&server, &[]);

    let actions = |args: &[&str]| -> Vec<String> {
        audit(&server, args)
            .iter()
            .map(|e| format!("{} {}", e["action"].as_str().unwrap(), e["jid"]))
            .collect()
    };
    assert_eq!(
        actions(&["--host", OTHER_HOST]),
        [format!("account.create \"fay@{OTHER_HOST}\"")]
    );
    assert_eq!(
        actions(&["--jid", &format!("eve@{HOST}")]),
        [format!("account.create \"eve@{HOST}\"")]
    );
    assert_eq!(
        actions(&["--action", "invite.create"]),
        ["invite.create null"]
    );
    assert_eq!(actions(&["--since", "1h"]).len(), 3);
    assert_eq!(actions(&["--limit", "1"]), ["invite.create null"]);

    // Entries age: once five seconds have passed, --since 4s leaves them
    // out (times are whole seconds), and shows a new one as long as asking
    // takes less than 4 s on a loaded machine.
    let written = Instant::now();
    while written.elapsed() < Duration::from_millis(5100) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(actions(&["--since", "4s"]).is_empty());
    server.create_user(&format!("gus@{HOST}"), PASSWORD);
    assert_eq!(
        actions(&["--since", "4s"]),
        [format!("account.create \"gus@{HOST}\"")]
    );

    // A host roostd does not serve is an error, not an empty log.
    let out = server.ctl(&["audit", "--host", "nowhere.test"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nowhere.test"), "{}", stderr(&out));
}
