//! Stream-level behaviour over raw sockets: negotiation features, every
//! stream error a client can provoke, SASL failures, limits, and clients
//! that vanish mid-stanza. None of these may affect other clients.

use roost_tests::raw::RawClient;
use roost_tests::{HOST, Server};

const USER: &str = "alice";
const PASSWORD: &str = "correct horse";

fn server_with_alice() -> Server {
    let server = Server::start();
    server.create_user(&format!("{USER}@{HOST}"), PASSWORD);
    server
}

fn assert_stream_error(text: &str, condition: &str) {
    assert!(
        text.contains("<stream:error>")
            && text.contains(&format!(
                "<{condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
            )),
        "expected stream error {condition}, got {text:?}"
    );
    assert!(
        text.trim_end().ends_with("</stream:stream>"),
        "stream not closed: {text:?}"
    );
}

#[tokio::test]
async fn features_require_tls_before_authentication() {
    let server = Server::start();
    let mut client = RawClient::connect(&server).await;
    let features = client.open(HOST).await;
    assert!(
        features
            .contains("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"),
        "{features}"
    );
    assert!(
        !features.contains("mechanisms"),
        "SASL offered before TLS: {features}"
    );
    // Authenticating anyway is refused without ending the stream.
    client
        .send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGEAYg==</auth>")
        .await;
    let answer = client.read_until("</failure>").await;
    assert!(answer.contains("<encryption-required/>"), "{answer}");

    let (_client, features) = client.starttls().await;
    assert!(!features.contains("starttls"), "{features}");
    for mechanism in [
        "SCRAM-SHA-256-PLUS",
        "SCRAM-SHA-256",
        "SCRAM-SHA-1-PLUS",
        "SCRAM-SHA-1",
        "PLAIN",
    ] {
        assert!(
            features.contains(&format!("<mechanism>{mechanism}</mechanism>")),
            "{mechanism} missing: {features}"
        );
    }
}

#[tokio::test]
async fn stream_errors() {
    let server = Server::start();
    let cases: [(&str, &str); 8] = [
        (
            "<stream:stream to='example.test' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
            "unsupported-version",
        ),
        (
            "<stream:stream to='nowhere.test' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>",
            "host-unknown",
        ),
        (
            "<stream:stream to='example.test' version='1.0' xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'>",
            "invalid-namespace",
        ),
        (
            "<stream:stream to='example.test' version='1.0' xmlns='jabber:client' xmlns:stream='urn:wrong'>",
            "invalid-namespace",
        ),
        ("<<<this is not xml", "not-well-formed"),
        (
            "<?xml version='1.0'?><!DOCTYPE stream [<!ENTITY x 'y'>]>",
            "restricted-xml",
        ),
        (
            "<stream:stream to='example.test' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><message to='bob@example.test'><body>hi</body></message>",
            "not-authorized",
        ),
        (
            "<stream:stream to='example.test' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><foo></bar>",
            "not-well-formed",
        ),
    ];
    for (input, condition) in cases {
        let mut client = RawClient::connect(&server).await;
        client.send(input).await;
        let text = client.read_to_end().await;
        assert!(
            text.contains(&format!("<{condition} ")),
            "{input}: expected {condition}, got {text}"
        );
        assert_stream_error(&text, condition);
    }
}

#[tokio::test]
async fn oversized_stanza_before_authentication_is_a_policy_violation() {
    let server = Server::start();
    let mut client = RawClient::connect(&server).await;
    client.open(HOST).await;
    let big = format!("<message><body>{}</body></message>", "x".repeat(20_000));
    client.send(&big).await;
    assert_stream_error(&client.read_to_end().await, "policy-violation");
}

#[tokio::test]
async fn oversized_stanza_after_authentication_is_a_policy_violation() {
    let server = server_with_alice();
    let mut client = RawClient::bound(&server, USER, PASSWORD, "r1").await;
    // 20 kB is fine once authenticated…
    client
        .send(&format!(
            "<message to='{USER}@{HOST}'><body>{}</body></message>",
            "y".repeat(20_000)
        ))
        .await;
    client
        .send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
        .await;
    client.read_iq("p1").await;
    // …300 kB is not.
    client
        .send(&format!(
            "<message><body>{}</body></message>",
            "z".repeat(300_000)
        ))
        .await;
    assert_stream_error(&client.read_to_end().await, "policy-violation");
}

#[tokio::test]
async fn sasl_failures() {
    let server = server_with_alice();
    let mut client = RawClient::connect(&server).await;
    client.open(HOST).await;
    let (mut client, _) = client.starttls().await;
    for (auth, condition) in [
        (
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>!!!not base64</auth>",
            "incorrect-encoding",
        ),
        (
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='DIGEST-MD5'/>",
            "invalid-mechanism",
        ),
        (
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHdyb25n</auth>",
            "not-authorized",
        ),
        (
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>bm9uc2Vuc2U=</auth>",
            "malformed-request",
        ),
        (
            "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>AAAA</response>",
            "malformed-request",
        ),
    ] {
        client.send(auth).await;
        let answer = client.read_until("</failure>").await;
        assert!(
            answer.contains(&format!("<{condition}/>")),
            "{auth}: {answer}"
        );
    }
    // The stream survives failures: a correct login still works.
    let creds = base64_plain(USER, PASSWORD);
    client
        .send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{creds}</auth>"
        ))
        .await;
    let answer = client.read_until_any(&["<success", "</failure>"]).await;
    assert!(answer.contains("<success"), "{answer}");
}

#[tokio::test]
async fn failed_logins_lock_only_that_account_at_that_address() {
    let server = server_with_alice();
    server.create_user(&format!("bob@{HOST}"), "bob's password");
    let mut client = RawClient::connect(&server).await;
    client.open(HOST).await;
    let (mut client, _) = client.starttls().await;
    let mut refused = None;
    for attempt in 0..8 {
        let answer = plain_login(&mut client, USER, "wrong").await;
        if answer.contains("<temporary-auth-failure/>") {
            assert!(answer.contains("retry in"), "{answer}");
            refused = Some(attempt);
            break;
        }
        assert!(answer.contains("<not-authorized/>"), "{answer}");
    }
    assert_eq!(
        refused,
        Some(5),
        "the default allows 5 failures per account and address"
    );
    // The right password of the locked account is refused from here too,
    // or guessing would simply go on...
    let answer = plain_login(&mut client, USER, PASSWORD).await;
    assert!(answer.contains("<temporary-auth-failure/>"), "{answer}");
    // ...but another account from the same address logs in.
    let answer = plain_login(&mut client, "bob", "bob's password").await;
    assert!(answer.contains("<success"), "{answer}");
}

/// One PLAIN attempt on an open TLS stream; returns the answer.
async fn plain_login(client: &mut RawClient, user: &str, password: &str) -> String {
    client
        .send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{}</auth>",
            base64_plain(user, password)
        ))
        .await;
    client.read_until_any(&["<success", "</failure>"]).await
}

#[tokio::test]
async fn a_client_vanishing_mid_stanza_harms_nobody() {
    let server = server_with_alice();
    let mut watcher = RawClient::bound(&server, USER, PASSWORD, "watcher").await;
    for _ in 0..5 {
        let mut client = RawClient::bound(&server, USER, PASSWORD, "flaky").await;
        client
            .send("<message to='alice@example.test/watcher'><body>half a stan")
            .await;
        drop(client);
    }
    watcher
        .send("<iq type='get' id='alive'><ping xmlns='urn:xmpp:ping'/></iq>")
        .await;
    let answer = watcher.read_iq("alive").await;
    assert!(
        answer.contains("id='alive'") && answer.contains("result"),
        "{answer}"
    );
    assert!(
        !answer.contains("half a stan"),
        "a partial stanza was delivered: {answer}"
    );
}

#[tokio::test]
async fn same_resource_replaces_the_older_session() {
    let server = server_with_alice();
    let mut first = RawClient::bound(&server, USER, PASSWORD, "phone").await;
    let _second = RawClient::bound(&server, USER, PASSWORD, "phone").await;
    assert_stream_error(&first.read_to_end().await, "conflict");
}

#[tokio::test]
async fn every_iq_gets_exactly_one_answer() {
    let server = server_with_alice();
    let mut client = RawClient::bound(&server, USER, PASSWORD, "r").await;
    for (iq, expect) in [
        (
            "<iq type='get' id='a1' to='example.test'><ping xmlns='urn:xmpp:ping'/></iq>",
            "type='result'",
        ),
        (
            "<iq type='get' id='a2' to='example.test'><query xmlns='urn:example:unknown'/></iq>",
            "service-unavailable",
        ),
        ("<iq type='get' id='a3'/>", "bad-request"),
        (
            "<iq type='set' id='a4'><query xmlns='jabber:iq:roster'/><ping xmlns='urn:xmpp:ping'/></iq>",
            "bad-request",
        ),
        (
            "<iq type='get' id='a5' to='example.test'><query xmlns='jabber:iq:version'/></iq>",
            "<name>Roost</name>",
        ),
        (
            "<iq type='get' id='a6' to='example.test'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
            "urn:xmpp:ping",
        ),
        (
            "<iq type='get' id='a7' to='elsewhere.example'><ping xmlns='urn:xmpp:ping'/></iq>",
            "remote-server-not-found",
        ),
        (
            "<iq type='frob' id='a8'><ping xmlns='urn:xmpp:ping'/></iq>",
            "bad-request",
        ),
    ] {
        client.send(iq).await;
        let id = iq.split("id='").nth(1).unwrap().split('\'').next().unwrap();
        let answer = client.read_iq(id).await;
        assert!(answer.contains(expect), "{iq}: expected {expect}: {answer}");
    }
    // Legacy session establishment is answered for old clients.
    client
        .send(
            "<iq type='set' id='sess'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>",
        )
        .await;
    assert!(client.read_iq("sess").await.contains("type='result'"));
    // Whitespace keepalives between stanzas are fine.
    client.send(" \n \t ").await;
    // Nothing else is pending: a ping comes back next.
    client
        .send("<iq type='get' id='last'><ping xmlns='urn:xmpp:ping'/></iq>")
        .await;
    let answer = client.read_iq("last").await;
    assert_eq!(
        answer.matches("<iq").count(),
        1,
        "an extra answer arrived: {answer}"
    );
}

#[tokio::test]
async fn deleting_an_account_ends_its_sessions() {
    let server = server_with_alice();
    let mut client = RawClient::bound(&server, USER, PASSWORD, "r").await;
    let out = server.ctl(&["user", "delete", &format!("{USER}@{HOST}")]);
    assert!(out.status.success(), "{}", roost_tests::stderr(&out));
    assert_stream_error(&client.read_to_end().await, "not-authorized");
}

#[tokio::test]
async fn sigterm_closes_every_stream_then_exits_0() {
    let mut server = server_with_alice();
    let mut client = RawClient::bound(&server, USER, PASSWORD, "r").await;
    let stopping = tokio::task::spawn_blocking(move || server.terminate());
    assert_stream_error(&client.read_to_end().await, "system-shutdown");
    let (status, stderr) = stopping.await.unwrap();
    assert!(status.success(), "exit {status}: {stderr}");
}

#[tokio::test]
async fn direct_tls_when_configured() {
    let port = roost_tests::free_port();
    let server = Server::start_c2s(&format!("direct_tls_bind = [\"127.0.0.1:{port}\"]"), "");
    server.create_user(&format!("{USER}@{HOST}"), PASSWORD);
    let mut client = RawClient::connect_direct_tls(port).await;
    let features = client.open(HOST).await;
    assert!(!features.contains("starttls"), "{features}");
    assert!(
        features.contains("<mechanism>PLAIN</mechanism>"),
        "{features}"
    );
}

fn base64_plain(user: &str, password: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"))
}
