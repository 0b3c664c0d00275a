//! The OpenMetrics endpoint (issue 12, item 3) against the real roostd:
//! every scrape is read by a real OpenMetrics parser (Python's
//! prometheus_client), and between two scrapes the test logs in (SCRAM,
//! PLAIN, a wrong password, a refusal), chats (archived), stores an offline message,
//! makes invites through roostctl and the HTTP API, redeems them on the
//! web and in-band, asks for a page that does not exist and runs admin
//! commands: every series must move by exactly what happened, and nothing
//! else may move.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use roost_sasl::ScramHash;
use roost_tests::openmetrics::{Exposition, scrape, series};
use roost_tests::raw::{RawClient, preauth, register, tls_stream};
use roost_tests::sasl2::{
    authorization_identifier, bind2, fast_login, features_after_success, password_login,
    request_token, scram, token_of, user_agent,
};
use roost_tests::web_form::WebForm;
use roost_tests::{HOST, Server, http, stderr, stdout};

const PASSWORD: &str = "correct horse battery";

/// Families whose values follow the machine, not the test's actions.
fn varies_by_itself(series: &str) -> bool {
    series.starts_with("process_")
        || series.starts_with("roost_database_size")
        || series.starts_with("roost_storage_job_duration")
}

/// Every series whose value differs between the scrapes, with the change.
fn moved(before: &Exposition, after: &Exposition) -> BTreeMap<String, f64> {
    after
        .samples
        .iter()
        .filter(|(series, _)| !varies_by_itself(series))
        .filter_map(|(series, value)| {
            let change = value - before.samples.get(series).copied().unwrap_or(0.0);
            (change != 0.0).then(|| (series.clone(), change))
        })
        .collect()
}

fn ctl_ok(server: &Server, args: &[&str]) -> String {
    let out = server.ctl(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

/// A legacy SASL PLAIN attempt on a new TLS stream; returns the answer.
async fn plain_attempt(server: &Server, user: &str, password: &str) -> String {
    let (mut client, _) = tls_stream(server).await;
    let creds = STANDARD.encode(format!("\0{user}\0{password}"));
    client
        .send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{creds}</auth>"
        ))
        .await;
    client.read_until_any(&["<success", "</failure>"]).await
}

/// Scrapes until `series` has `value` (a gauge that follows a connection
/// closing, which the server notices a moment after the client).
async fn scrape_until(server: &Server, series_name: &str, value: f64) -> Exposition {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let scraped = scrape(server).await;
        let now = scraped.samples.get(series_name).copied();
        if now == Some(value) {
            return scraped;
        }
        assert!(
            Instant::now() < deadline,
            "{series_name} stayed {now:?}, not {value}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn counters_move_by_exactly_what_happened() {
    let server = Server::start_auth("max_failures_per_account = 1");
    for user in ["alice", "bob", "carol"] {
        server.create_user(&format!("{user}@{HOST}"), PASSWORD);
    }
    let key = server.create_key(HOST, "metrics test");
    let before = scrape(&server).await;
    for (family, kind, unit) in [
        ("roost_c2s_sessions", "gauge", ""),
        ("roost_logins", "counter", ""),
        ("roost_stanzas", "counter", ""),
        ("roost_offline_messages_stored", "counter", ""),
        ("roost_archive_messages", "counter", ""),
        ("roost_invites_created", "counter", ""),
        ("roost_invites_redeemed", "counter", ""),
        ("roost_admin_commands", "counter", ""),
        ("roost_storage_job_duration_seconds", "histogram", "seconds"),
        ("roost_database_size_bytes", "gauge", "bytes"),
        ("process_start_time_seconds", "gauge", "seconds"),
        ("process_resident_memory_bytes", "gauge", "bytes"),
    ] {
        assert_eq!(
            before.families.get(family),
            Some(&(kind.to_owned(), unit.to_owned())),
            "{family} in\n{}",
            before.text
        );
    }
    assert!(before.value("roost_database_size_bytes", &[]) > 0.0);
    assert!(before.value("process_resident_memory_bytes", &[]) > 0.0);
    let jobs_before = before.value("roost_storage_job_duration_seconds_count", &[]);
    assert!(jobs_before > 0.0, "creating users ran storage jobs");

    // Logins: SCRAM-SHA-256-PLUS over SASL2 with Bind2, PLAIN over legacy
    // SASL, a wrong password, and the limiter's refusal after it.
    let (mut alice, _) = roost_tests::sasl2::tls_stream_from(&server, None).await;
    let (_, success) = scram(
        &mut alice,
        ScramHash::Sha256,
        true,
        "alice",
        PASSWORD,
        &bind2(Some("metrics")),
    )
    .await;
    assert!(success.contains("</success>"), "{success}");
    let alice_jid = authorization_identifier(&success);
    features_after_success(&mut alice).await;
    let mut bob = RawClient::bound(&server, "bob", PASSWORD, "desk").await;
    let wrong = plain_attempt(&server, "carol", "not the password").await;
    assert!(wrong.contains("not-authorized"), "{wrong}");
    let refused = plain_attempt(&server, "carol", PASSWORD).await;
    assert!(refused.contains("temporary-auth-failure"), "{refused}");

    // A chat between the two sessions, a message stored for carol, and a
    // ping whose answer says both were handled.
    alice
        .send(&format!(
            "<message to='bob@{HOST}/desk' type='chat' id='m1'><body>hello bob</body></message>\
             <message to='carol@{HOST}' type='chat' id='m2'><body>hello carol</body></message>\
             <iq type='get' id='ping1' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>"
        ))
        .await;
    bob.read_until("hello bob").await;
    alice.read_iq("ping1").await;
    let during = scrape(&server).await;
    assert_eq!(
        during.value("roost_c2s_sessions", &[("state", "bound")]),
        2.0
    );

    // A connection that has not authenticated counts as such.
    let (mut idle, _) = tls_stream(&server).await;
    let negotiating = series("roost_c2s_sessions", &[("state", "unauthenticated")]);
    scrape_until(&server, &negotiating, 1.0).await;
    idle.send("</stream:stream>").await;
    idle.read_to_end().await;
    scrape_until(&server, &negotiating, 0.0).await;

    // Invites: one by roostctl, one by the API; the API's is redeemed on
    // the web, roostctl's in-band.
    let ctl_invite: serde_json::Value =
        serde_json::from_str(&ctl_ok(&server, &["invite", "create", HOST, "--json"])).unwrap();
    let ctl_token = ctl_invite["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let landing = server.api_invite(&key).await;
    let form_url = format!("{landing}/register");
    let (status, _) = WebForm::open(&form_url)
        .await
        .submit("dave", PASSWORD)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (mut newcomer, _) = tls_stream(&server).await;
    let answer = preauth(&mut newcomer, "pre1", &ctl_token).await;
    assert!(answer.contains("type='result'"), "{answer}");
    let answer = register(&mut newcomer, "reg1", "erin", PASSWORD).await;
    assert!(answer.contains("type='result'"), "{answer}");

    // A page that does not exist, on the HTTP listener; /metrics is not
    // served there, and the metrics listener serves nothing else.
    for path in ["/no-such-page", "/metrics"] {
        let r = http().get(server.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    for path in ["/", "/metric", "/metrics/x", "/invites_api"] {
        let r = http().get(server.metrics_url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }

    // Admin commands: one that works, one that fails.
    ctl_ok(&server, &["user", "list", HOST]);
    let out = server.ctl(&["user", "delete", &format!("nobody@{HOST}")]);
    assert!(!out.status.success());

    let after = scrape(&server).await;
    let expected: BTreeMap<String, f64> = [
        (
            series(
                "roost_logins_total",
                &[("mechanism", "SCRAM-SHA-256-PLUS"), ("outcome", "success")],
            ),
            1.0,
        ),
        (
            series(
                "roost_logins_total",
                &[("mechanism", "PLAIN"), ("outcome", "success")],
            ),
            1.0,
        ),
        (
            series(
                "roost_logins_total",
                &[("mechanism", "PLAIN"), ("outcome", "failure")],
            ),
            1.0,
        ),
        (
            series(
                "roost_logins_total",
                &[("mechanism", "PLAIN"), ("outcome", "refused")],
            ),
            1.0,
        ),
        (
            series(
                "roost_stanzas_total",
                &[("direction", "in"), ("kind", "message")],
            ),
            2.0,
        ),
        (
            series(
                "roost_stanzas_total",
                &[("direction", "in"), ("kind", "iq")],
            ),
            1.0,
        ),
        (
            series(
                "roost_stanzas_total",
                &[("direction", "out"), ("kind", "message")],
            ),
            1.0,
        ),
        (
            series(
                "roost_stanzas_total",
                &[("direction", "out"), ("kind", "iq")],
            ),
            1.0,
        ),
        ("roost_offline_messages_stored_total".to_owned(), 1.0),
        // Each chat in the sender's archive and in the recipient's.
        ("roost_archive_messages_total".to_owned(), 4.0),
        (
            series("roost_invites_created_total", &[("door", "admin")]),
            1.0,
        ),
        (
            series("roost_invites_created_total", &[("door", "api")]),
            1.0,
        ),
        (
            series("roost_invites_redeemed_total", &[("door", "web")]),
            1.0,
        ),
        (
            series(
                "roost_invites_redeemed_total",
                &[("door", "xmpp_registration")],
            ),
            1.0,
        ),
        (
            series(
                "roost_http_requests_total",
                &[("route", "/invites_api"), ("status", "201")],
            ),
            1.0,
        ),
        (
            series(
                "roost_http_requests_total",
                &[("route", "/invite/{token}/register"), ("status", "200")],
            ),
            2.0,
        ),
        (
            series(
                "roost_http_requests_total",
                &[("route", "unmatched"), ("status", "404")],
            ),
            2.0,
        ),
        (
            series(
                "roost_admin_commands_total",
                &[("command", "invite_create"), ("outcome", "ok")],
            ),
            1.0,
        ),
        (
            series(
                "roost_admin_commands_total",
                &[("command", "user_list"), ("outcome", "ok")],
            ),
            1.0,
        ),
        (
            series(
                "roost_admin_commands_total",
                &[("command", "user_delete"), ("outcome", "not_found")],
            ),
            1.0,
        ),
        (series("roost_c2s_sessions", &[("state", "bound")]), 2.0),
        // The newcomer's stream: registered, not logged in.
        (
            series("roost_c2s_sessions", &[("state", "unauthenticated")]),
            1.0,
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(moved(&before, &after), expected, "\n{}", after.text);
    assert!(after.value("roost_storage_job_duration_seconds_count", &[]) > jobs_before);
    assert!(
        after.value(
            "roost_storage_job_duration_seconds_bucket",
            &[("le", "+Inf")]
        ) == after.value("roost_storage_job_duration_seconds_count", &[])
    );
    assert!(after.value("roost_database_size_bytes", &[]) > 0.0);
    assert!(after.has("process_start_time_seconds", &[]));
    assert!(
        alice_jid.starts_with(&format!("alice@{HOST}/metrics")),
        "{alice_jid}"
    );

    // The session gauge follows sessions that end.
    bob.send("</stream:stream>").await;
    bob.read_to_end().await;
    let bound = series("roost_c2s_sessions", &[("state", "bound")]);
    scrape_until(&server, &bound, 1.0).await;
}

#[tokio::test]
async fn an_empty_bind_list_turns_the_endpoint_off() {
    let mut server = Server::start();
    scrape(&server).await;
    let (status, log) = server.terminate();
    assert!(status.success(), "{log}");
    let on = format!("[metrics]\nbind = [\"127.0.0.1:{}\"]", server.metrics_port);
    let config = std::fs::read_to_string(server.config_path()).unwrap();
    assert!(config.contains(&on), "{config}");
    std::fs::write(
        server.config_path(),
        config.replace(&on, "[metrics]\nbind = []"),
    )
    .unwrap();
    server.start_again();
    // Started (the harness waits for the admin socket), serving HTTP,
    // and nothing listens on the metrics port.
    let r = http()
        .get(server.url("/no-such-page"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let refused = http()
        .get(server.metrics_url("/metrics"))
        .send()
        .await
        .unwrap_err();
    assert!(refused.is_connect(), "{refused:?}");
}

#[tokio::test]
async fn fast_logins_count_under_their_mechanism() {
    let server = Server::start();
    server.create_user(&format!("alice@{HOST}"), PASSWORD);
    let before = scrape(&server).await;
    let inner = format!(
        "{}{}",
        user_agent("metrics-client", "Raw", "d"),
        request_token("HT-SHA-256-NONE")
    );
    let (_, success) = password_login(&server, "alice", PASSWORD, &inner).await;
    let token = token_of(&success).expect("a FAST token");
    let (_, answer) = fast_login(
        &server,
        "alice",
        &token,
        "HT-SHA-256-NONE",
        "metrics-client",
        "",
    )
    .await;
    assert!(answer.contains("</success>"), "{answer}");
    let (_, answer) = fast_login(
        &server,
        "alice",
        &format!("{token}x"),
        "HT-SHA-256-NONE",
        "metrics-client",
        "",
    )
    .await;
    assert!(answer.contains("</failure>"), "{answer}");
    let after = scrape(&server).await;
    let logins: BTreeMap<String, f64> = moved(&before, &after)
        .into_iter()
        .filter(|(series, _)| series.starts_with("roost_logins"))
        .collect();
    let login = |mechanism: &str, outcome: &str| {
        series(
            "roost_logins_total",
            &[("mechanism", mechanism), ("outcome", outcome)],
        )
    };
    let expected: BTreeMap<String, f64> = [
        (login("PLAIN", "success"), 1.0),
        (login("HT-SHA-256-NONE", "success"), 1.0),
        (login("HT-SHA-256-NONE", "failure"), 1.0),
    ]
    .into_iter()
    .collect();
    assert_eq!(logins, expected);
}
