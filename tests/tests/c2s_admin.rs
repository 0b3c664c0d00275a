//! Issue 12, item 1: `roostctl status`, `c2s list` and `c2s close` against
//! the real roostd, with sessions logged in every way a client can: SASL2
//! with SCRAM-SHA-256-PLUS and a user agent over STARTTLS, PLAIN over
//! direct TLS (on two hosts), and SCRAM-SHA-256 in plain text.

use std::time::{Duration, Instant};

use roost_sasl::ScramHash;
use roost_tests::raw::{RawClient, bound_in_plaintext};
use roost_tests::raw_stanzas::{login_direct_tls, sync};
use roost_tests::sasl2::{
    authorization_identifier, bind2, features_after_success, scram, stream_error_of,
    tls_stream_from, user_agent,
};
use roost_tests::{HOST, OTHER_HOST, Server, free_port, stderr, stdout};
use serde_json::Value;

const PASSWORD: &str = "correct horse";

/// roostd with a direct TLS listener and plain-text logins allowed, and
/// the accounts alice and bob on HOST, carol on OTHER_HOST.
fn server() -> (Server, u16) {
    let tls_port = free_port();
    let server = Server::start_c2s(
        &format!("require_encryption = false\ndirect_tls_bind = [\"127.0.0.1:{tls_port}\"]"),
        "",
    );
    for user in [
        format!("alice@{HOST}"),
        format!("bob@{HOST}"),
        format!("carol@{OTHER_HOST}"),
    ] {
        server.create_user(&user, PASSWORD);
    }
    (server, tls_port)
}

/// `roostctl --json ARGS…`, which must succeed.
fn json(server: &Server, args: &[&str]) -> Value {
    let out = server.ctl(&[&["--json"][..], args].concat());
    assert!(out.status.success(), "roostctl {args:?}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("roostctl {args:?} printed no JSON ({e}): {}", stdout(&out)))
}

/// The sessions `c2s list [filter]` shows, by JID.
fn sessions(server: &Server, filter: Option<&str>) -> Vec<Value> {
    let mut args = vec!["c2s", "list"];
    args.extend(filter);
    json(server, &args).as_array().expect("an array").clone()
}

fn jids(sessions: &[Value]) -> Vec<&str> {
    sessions
        .iter()
        .map(|s| s["jid"].as_str().unwrap())
        .collect()
}

fn session<'a>(sessions: &'a [Value], jid: &str) -> &'a Value {
    sessions
        .iter()
        .find(|s| s["jid"] == jid)
        .unwrap_or_else(|| panic!("no session {jid} in {sessions:#?}"))
}

/// Sessions by host, as `status --json` reports them.
fn sessions_by_host(server: &Server) -> Vec<(String, u64)> {
    json(server, &["status"])["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["host"].as_str().unwrap().to_owned(),
                h["sessions"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// alice over STARTTLS with SASL2, SCRAM-SHA-256-PLUS, a user agent and
/// Bind2; returns the client and its full JID.
async fn alice_sasl2(server: &Server) -> (RawClient, String) {
    let (mut client, _) = tls_stream_from(server, Some(&format!("alice@{HOST}"))).await;
    let inner = format!(
        "{}{}",
        user_agent("c2s-admin-test", "Roost Test Client", "Test Laptop"),
        bind2(Some("laptop"))
    );
    let (_, answer) = scram(
        &mut client,
        ScramHash::Sha256,
        true,
        "alice",
        PASSWORD,
        &inner,
    )
    .await;
    assert!(answer.contains("</success>"), "SASL2 login: {answer}");
    let jid = authorization_identifier(&answer);
    features_after_success(&mut client).await;
    (client, jid)
}

/// The stream error (condition, text) `client` gets before its stream ends.
async fn stream_error(client: &mut RawClient) -> (String, Option<String>) {
    let rest = client.read_to_end().await;
    assert!(
        rest.ends_with("</stream:stream>"),
        "the stream ends: {rest:?}"
    );
    stream_error_of(&rest)
}

#[tokio::test]
async fn status_lists_and_closes_sessions() {
    let (server, tls_port) = server();
    let empty = json(&server, &["status"]);
    assert_eq!(
        sessions_by_host(&server),
        [(HOST.to_owned(), 0), (OTHER_HOST.to_owned(), 0)]
    );
    assert!(empty["database_bytes"].as_u64().unwrap() > 0, "{empty}");
    assert!(
        empty["memory_rss_bytes"].as_u64().unwrap() > 1024 * 1024,
        "{empty}"
    );
    assert!(empty["uptime_secs"].as_u64().is_some(), "{empty}");
    assert!(
        empty["started_at"].as_i64().unwrap() <= roost_now(),
        "{empty}"
    );
    assert_eq!(empty["version"], env!("CARGO_PKG_VERSION"));
    let listeners = &empty["listeners"];
    assert_eq!(listeners["c2s"], serde_json::json!([server.c2s_addr()]));
    assert_eq!(
        listeners["c2s_direct_tls"],
        serde_json::json!([format!("127.0.0.1:{tls_port}")])
    );
    assert_eq!(
        listeners["http"],
        server
            .url("")
            .trim_start_matches("http://")
            .trim_end_matches('/')
    );
    assert_eq!(
        listeners["admin_socket"],
        server.socket_path().display().to_string()
    );
    assert_eq!(
        listeners["metrics"],
        serde_json::json!([format!("127.0.0.1:{}", server.metrics_port)])
    );

    let before = roost_now();
    let (mut laptop, laptop_jid) = alice_sasl2(&server).await;
    let mut direct = login_direct_tls(tls_port, HOST, "alice", PASSWORD, "direct").await;
    let mut bob = bound_in_plaintext(&server, "bob", PASSWORD, "plain").await;
    let mut carol = login_direct_tls(tls_port, OTHER_HOST, "carol", PASSWORD, "x").await;
    let direct_jid = format!("alice@{HOST}/direct");
    let bob_jid = format!("bob@{HOST}/plain");
    let carol_jid = format!("carol@{OTHER_HOST}/x");
    assert_eq!(
        sessions_by_host(&server),
        [(HOST.to_owned(), 3), (OTHER_HOST.to_owned(), 1)]
    );

    // Every field of every session.
    let all = sessions(&server, None);
    let mut expected = vec![
        laptop_jid.as_str(),
        direct_jid.as_str(),
        bob_jid.as_str(),
        carol_jid.as_str(),
    ];
    expected.sort();
    assert_eq!(jids(&all), expected, "sorted by JID");
    let sasl2 = session(&all, &laptop_jid);
    assert_eq!(sasl2["tls"], "TLSv1.3");
    assert_eq!(sasl2["mechanism"], "SCRAM-SHA-256-PLUS");
    assert_eq!(sasl2["software"], "Roost Test Client");
    assert_eq!(sasl2["device"], "Test Laptop");
    let plain = session(&all, &direct_jid);
    assert_eq!(plain["tls"], "TLSv1.3");
    assert_eq!(plain["mechanism"], "PLAIN");
    assert_eq!(
        plain["software"],
        Value::Null,
        "legacy SASL gives no user agent"
    );
    assert_eq!(plain["device"], Value::Null);
    let cleartext = session(&all, &bob_jid);
    assert_eq!(cleartext["tls"], Value::Null, "plain text");
    assert_eq!(cleartext["mechanism"], "SCRAM-SHA-256");
    for s in &all {
        let address = s["address"].as_str().unwrap();
        assert!(address.starts_with("127.0.0.1:"), "{s}");
        assert_ne!(
            address.trim_start_matches("127.0.0.1:"),
            "0",
            "the client's port: {s}"
        );
        let since = s["since"].as_i64().unwrap();
        assert!(since >= before && since <= roost_now(), "{s}");
        assert!(s["idle_secs"].as_u64().is_some(), "{s}");
    }
    let ports: std::collections::HashSet<&str> =
        all.iter().map(|s| s["address"].as_str().unwrap()).collect();
    assert_eq!(ports.len(), 4, "one address per connection");

    // Filters: a host, an account (any case), one session.
    assert_eq!(
        jids(&sessions(&server, Some(OTHER_HOST))),
        [carol_jid.as_str()]
    );
    let mut alice_jids = vec![laptop_jid.as_str(), direct_jid.as_str()];
    alice_jids.sort();
    assert_eq!(
        jids(&sessions(&server, Some(&format!("Alice@{HOST}")))),
        alice_jids
    );
    assert_eq!(jids(&sessions(&server, Some(&bob_jid))), [bob_jid.as_str()]);
    assert!(sessions(&server, Some(&format!("bob@{HOST}/other"))).is_empty());

    // Idle time grows while a session is silent and starts again at its
    // next stanza. Waiting is for the clock (idle time is in seconds),
    // polled on what roostd reports rather than slept blindly.
    // Carol bound after bob: once she is idle for 2 s, so is he.
    let deadline = Instant::now() + Duration::from_secs(20);
    while session(&sessions(&server, None), &carol_jid)["idle_secs"]
        .as_u64()
        .unwrap()
        < 2
    {
        assert!(Instant::now() < deadline, "carol's idle time never grew");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        session(&sessions(&server, None), &bob_jid)["idle_secs"]
            .as_u64()
            .unwrap()
            >= 2
    );
    sync(&mut bob, "ping-bob").await;
    let now = sessions(&server, None);
    assert!(
        session(&now, &bob_jid)["idle_secs"].as_u64().unwrap() <= 1,
        "bob just sent a ping: {now:#?}"
    );
    assert!(
        session(&now, &carol_jid)["idle_secs"].as_u64().unwrap() >= 2,
        "carol said nothing since she bound: {now:#?}"
    );

    // One session ends with the admin's text; the account's other session
    // and everyone else go on.
    let out = server.ctl(&[
        "--json",
        "c2s",
        "close",
        &direct_jid,
        "--reason",
        "Spam & <links>, see ticket 42",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        serde_json::from_str::<Value>(&stdout(&out)).unwrap(),
        serde_json::json!({"jid": direct_jid, "sessions_ended": 1})
    );
    assert_eq!(
        stream_error(&mut direct).await,
        (
            "policy-violation".to_owned(),
            Some("Spam & <links>, see ticket 42".to_owned())
        )
    );
    sync(&mut laptop, "ping-laptop").await;
    assert!(!jids(&sessions(&server, None)).contains(&direct_jid.as_str()));
    assert_eq!(
        sessions_by_host(&server),
        [(HOST.to_owned(), 2), (OTHER_HOST.to_owned(), 1)]
    );

    // A bare JID ends every session of the account, with the default text.
    let out = server.ctl(&["c2s", "close", &format!("alice@{HOST}")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "ended 1 session\n");
    assert_eq!(
        stream_error(&mut laptop).await,
        (
            "policy-violation".to_owned(),
            Some("Your session was ended by an administrator".to_owned())
        )
    );
    sync(&mut bob, "ping-bob-2").await;
    sync(&mut carol, "ping-carol").await;

    // Both closes are in the audit log, by the admin, with the reason.
    let out = server.ctl(&["audit", "--action", "session.close", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let entries: Vec<Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let seen: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                e["actor_kind"].as_str().unwrap(),
                e["subject"].as_str().unwrap().to_owned(),
                e["detail"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("admin", format!("alice@{HOST}"), "sessions=1"),
            (
                "admin",
                direct_jid.clone(),
                "sessions=1 reason=Spam & <links>, see ticket 42"
            ),
        ]
    );
    assert_eq!(
        jids(&sessions(&server, Some(HOST))),
        [bob_jid.as_str()],
        "only bob is left on {HOST}"
    );

    // A kicked client may log in again at once.
    let _again = login_direct_tls(tls_port, HOST, "alice", PASSWORD, "direct").await;
    assert_eq!(
        jids(&sessions(&server, Some(&direct_jid))),
        [direct_jid.as_str()]
    );
}

#[tokio::test]
async fn refusals_are_one_line_with_the_documented_exit_codes() {
    let (server, _) = server();
    let _bob = bound_in_plaintext(&server, "bob", PASSWORD, "plain").await;
    let cases: [(&[&str], i32, &str); 8] = [
        (
            &["c2s", "close", "bob@example.test/nothere"],
            1,
            "no session bob@example.test/nothere",
        ),
        (
            &["c2s", "close", "alice@example.test"],
            1,
            "no session of alice@example.test",
        ),
        (
            &["c2s", "close", "bob@nowhere.test"],
            1,
            "unknown host 'nowhere.test'",
        ),
        (&["c2s", "close", "example.test"], 1, "is a host"),
        (&["c2s", "close", "a@b@example.test"], 1, "not a valid JID"),
        (
            &["c2s", "list", "nowhere.test"],
            1,
            "unknown host 'nowhere.test'",
        ),
        (&["c2s", "close"], 2, "<JID>"),
        (&["status", "extra"], 2, "'extra'"),
    ];
    for (args, code, needle) in cases {
        let out = server.ctl(args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), "", "{args:?}");
        if code == 1 {
            assert_eq!(
                stderr(&out).lines().count(),
                1,
                "{args:?}: {}",
                stderr(&out)
            );
        }
    }
    // Nothing was ended by the refusals.
    assert_eq!(
        jids(&sessions(&server, None)),
        [format!("bob@{HOST}/plain").as_str()]
    );
    // Piped: lines.
    let lines = stdout(&server.ctl(&["c2s", "list"]));
    assert!(
        lines.starts_with(&format!("bob@{HOST}/plain\t127.0.0.1:")),
        "{lines}"
    );
    let status = stdout(&server.ctl(&["status"]));
    assert!(status.contains(&format!("host\t{HOST}\t1\n")), "{status}");
}

/// Unix seconds now, as roostd counts them.
fn roost_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
