//! SASL2 (XEP-0388), Bind2 (XEP-0386) and FAST (XEP-0484) against the real
//! roostd with the raw client, for what xmpp.js does not do: SCRAM with
//! challenges and its -PLUS variant, HT-SHA-256-EXPR over the TLS exporter,
//! Bind2's resources, token rotation and invalidation, and every refusal.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use roost_sasl::ScramHash;
use roost_sasl::bind2::suffix_for_client;
use roost_sasl::fast::responder_hash;
use roost_tests::raw::RawClient;
use roost_tests::sasl2::{
    NS_BIND2, NS_FAST, NS_SASL, NS_SASL2, NS_STREAMS, authenticate, authorization_identifier,
    bind2, element, failure_of, fast_login, fast_response, features_after_success, password_login,
    plain, request_token, scram, text_of, tls_stream_from, token_of, user_agent,
};
use roost_tests::{HOST, Server};
use tokio_xmpp::minidom::Element;

const PASSWORD: &str = "correct horse battery";

fn server() -> Server {
    server_with("")
}

fn server_with(extra: &str) -> Server {
    let server = Server::start_with(extra);
    server.create_user(&format!("alice@{HOST}"), PASSWORD);
    server
}

fn from() -> Option<&'static str> {
    Some("alice@example.test")
}

/// The `<stream:features>` of a features text.
fn features(text: &str) -> Element {
    let features = element(text, "stream:features");
    assert_eq!(features.ns(), NS_STREAMS, "{text}");
    features
}

/// The mechanism names in `<authentication>`, and the FAST mechanisms
/// offered inline (`None` without `<fast>`).
fn offered(text: &str) -> (Vec<String>, bool, Option<Vec<String>>) {
    let features = features(text);
    let authentication = features
        .get_child("authentication", NS_SASL2)
        .unwrap_or_else(|| panic!("SASL2 offered: {text}"));
    let mechanisms = authentication
        .children()
        .filter(|c| c.is("mechanism", NS_SASL2))
        .map(Element::text)
        .collect();
    let inline = authentication
        .get_child("inline", NS_SASL2)
        .unwrap_or_else(|| panic!("<inline>: {text}"));
    let bind = inline.has_child("bind", NS_BIND2);
    let fast = inline.get_child("fast", NS_FAST).map(|fast| {
        fast.children()
            .filter(|c| c.is("mechanism", NS_FAST))
            .map(Element::text)
            .collect()
    });
    (mechanisms, bind, fast)
}

#[tokio::test]
async fn features_offer_sasl2_with_bind2_and_fast_only_where_the_user_is_known_over_tls() {
    let server = server();
    let (_, text) = tls_stream_from(&server, from()).await;
    let (mechanisms, bind, fast) = offered(&text);
    for name in [
        "SCRAM-SHA-256",
        "SCRAM-SHA-256-PLUS",
        "SCRAM-SHA-1",
        "PLAIN",
    ] {
        assert!(mechanisms.iter().any(|m| m == name), "{name}: {text}");
    }
    assert!(bind, "Bind2 inline: {text}");
    assert_eq!(
        fast,
        Some(vec![
            "HT-SHA-256-EXPR".to_owned(),
            "HT-SHA-256-NONE".to_owned()
        ]),
        "{text}"
    );
    // Legacy SASL is still offered next to it.
    assert!(features(&text).has_child("mechanisms", NS_SASL), "{text}");

    let (mut client, text) = tls_stream_from(&server, None).await;
    let (_, bind, fast) = offered(&text);
    assert!(bind, "{text}");
    assert_eq!(fast, None, "no from: no FAST: {text}");
    // Asking for it anyway: the reference's failure.
    let initial = fast_response(&client, "HT-SHA-256-NONE", "alice", "secret-token:fast-x");
    let inner = format!(
        "{}<fast xmlns='{NS_FAST}'/>",
        user_agent("c1", "raw", "test")
    );
    let answer = authenticate(&mut client, "HT-SHA-256-NONE", Some(&initial), &inner).await;
    assert_eq!(
        failure_of(&answer),
        (
            "malformed-request".to_owned(),
            Some("FAST is not available on this stream".to_owned())
        )
    );
}

#[tokio::test]
async fn fast_is_not_offered_without_tls() {
    let server = Server::start_c2s("require_encryption = false", "");
    server.create_user(&format!("alice@{HOST}"), PASSWORD);
    let mut client = RawClient::connect(&server).await;
    let text = client.open_from(HOST, from()).await;
    let (mechanisms, _, fast) = offered(&text);
    assert_eq!(fast, None, "FAST over plain TCP: {text}");
    assert!(
        !mechanisms.iter().any(|m| m.ends_with("-PLUS")),
        "no channel binding without TLS: {text}"
    );
    let mut initial = b"alice\0".to_vec();
    initial.extend_from_slice(&[0u8; 32]);
    let inner = format!(
        "{}<fast xmlns='{NS_FAST}'/>",
        user_agent("c1", "raw", "test")
    );
    let answer = authenticate(&mut client, "HT-SHA-256-NONE", Some(&initial), &inner).await;
    assert_eq!(
        failure_of(&answer),
        (
            "malformed-request".to_owned(),
            Some("FAST is not available on this stream".to_owned())
        )
    );
}

#[tokio::test]
async fn scram_sha_256_with_a_challenge_binds_inline_and_needs_no_restart() {
    let server = server();
    let (mut client, _) = tls_stream_from(&server, from()).await;
    let inner = format!(
        "{}{}",
        user_agent("scram-client", "Raw", "laptop"),
        bind2(Some("Raw"))
    );
    let (challenge, answer) = scram(
        &mut client,
        ScramHash::Sha256,
        false,
        "alice",
        PASSWORD,
        &inner,
    )
    .await;
    let challenge = challenge.expect("a SCRAM challenge");
    assert_eq!(
        element(&challenge, "challenge").ns(),
        NS_SASL2,
        "{challenge}"
    );
    let success = element(&answer, "success");
    assert_eq!(success.ns(), NS_SASL2, "{answer}");
    let additional = STANDARD
        .decode(text_of(&answer, "additional-data"))
        .expect("base64");
    assert!(
        additional.starts_with(b"v="),
        "server-final in additional-data"
    );
    assert_eq!(
        authorization_identifier(&answer),
        format!("alice@{HOST}/Raw~{}", suffix_for_client("scram-client"))
    );
    assert!(success.has_child("bound", NS_BIND2), "{answer}");
    assert!(
        !success.has_child("token", NS_FAST),
        "no token unless asked: {answer}"
    );
    // New features at once, without a stream restart: bound already, so
    // nothing left to negotiate.
    let after = features_after_success(&mut client).await;
    let after = features(&after);
    assert!(!after.has_child("bind", "urn:ietf:params:xml:ns:xmpp-bind"));
    assert!(!after.has_child("authentication", NS_SASL2));
    client
        .send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>")
        .await;
    let pong = client.read_iq("p1").await;
    assert_eq!(element(&pong, "iq").attr("type"), Some("result"), "{pong}");
}

#[tokio::test]
async fn without_bind2_the_stream_binds_as_usual_and_the_identifier_is_bare() {
    let server = server();
    let (mut client, _) = tls_stream_from(&server, None).await;
    let (_, answer) = scram(&mut client, ScramHash::Sha1, false, "alice", PASSWORD, "").await;
    assert_eq!(authorization_identifier(&answer), format!("alice@{HOST}"));
    assert!(!element(&answer, "success").has_child("bound", NS_BIND2));
    let after = features_after_success(&mut client).await;
    assert!(
        features(&after).has_child("bind", "urn:ietf:params:xml:ns:xmpp-bind"),
        "{after}"
    );
    client.bind("classic").await;
}

#[tokio::test]
async fn scram_plus_binds_to_the_tls_exporter() {
    let server = server();
    let (mut client, _) = tls_stream_from(&server, None).await;
    let (challenge, answer) =
        scram(&mut client, ScramHash::Sha256, true, "alice", PASSWORD, "").await;
    assert!(challenge.is_some());
    assert!(answer.contains("</success>"), "{answer}");

    // Another connection's exporter does not fit this one.
    let (other, _) = tls_stream_from(&server, None).await;
    let (mut client, _) = tls_stream_from(&server, None).await;
    let mut scram = roost_sasl::test_client::ScramClient::new(
        ScramHash::Sha256,
        "alice",
        PASSWORD,
        "p=tls-exporter,,",
        other.tls_exporter(),
    );
    let first = authenticate(&mut client, "SCRAM-SHA-256-PLUS", Some(&scram.first()), "").await;
    let server_first = STANDARD.decode(text_of(&first, "challenge")).unwrap();
    let last = scram.last(&server_first);
    client
        .send(&format!(
            "<response xmlns='{NS_SASL2}'>{}</response>",
            STANDARD.encode(last)
        ))
        .await;
    let answer = roost_tests::sasl2::read_answer(&mut client).await;
    assert!(answer.contains("</failure>"), "{answer}");
}

#[tokio::test]
async fn bind2_resources_are_stable_per_client_id_and_random_without() {
    let server = server();
    let login = |inner: String| {
        let server = &server;
        async move {
            let (_, success) = password_login(server, "alice", PASSWORD, &inner).await;
            authorization_identifier(&success)
        }
    };
    let with_id =
        |id: &str, tag: Option<&str>| format!("{}{}", user_agent(id, "Raw", "d"), bind2(tag));
    let a = login(with_id("client-a", Some("Phone"))).await;
    let again = login(with_id("client-a", Some("Phone"))).await;
    let b = login(with_id("client-b", Some("Phone"))).await;
    assert_eq!(
        a,
        format!("alice@{HOST}/Phone~{}", suffix_for_client("client-a"))
    );
    assert_eq!(a, again, "the same client gets the same resource");
    assert_ne!(a, b);
    let untagged = login(with_id("client-a", None)).await;
    assert_eq!(
        untagged,
        format!("alice@{HOST}/{}", suffix_for_client("client-a"))
    );

    let first = login(bind2(Some("Phone"))).await;
    let second = login(bind2(Some("Phone"))).await;
    for jid in [&first, &second] {
        let resource = jid.split_once('/').expect("full JID").1;
        let suffix = resource.strip_prefix("Phone~").expect("TAG~SUFFIX");
        assert!(suffix.len() >= 12, "{jid}");
    }
    assert_ne!(first, second, "random suffixes without a client id");
}

/// A password login asking for a FAST token for `client_id`; returns it.
async fn token_for(server: &Server, client_id: &str, mechanism: &str) -> String {
    let inner = format!(
        "{}{}",
        user_agent(client_id, "Raw", "d"),
        request_token(mechanism)
    );
    let (_, success) = password_login(server, "alice", PASSWORD, &inner).await;
    let token = token_of(&success).unwrap_or_else(|| panic!("a token: {success}"));
    let expiry = element(&success, "token").attr("expiry").map(str::to_owned);
    assert!(expiry.is_some_and(|e| e.ends_with('Z')), "{success}");
    token
}

#[tokio::test]
async fn fast_expr_binds_to_the_tls_exporter_and_the_server_proves_itself() {
    let server = server();
    let token = token_for(&server, "expr-client", "HT-SHA-256-EXPR").await;
    let (client, answer) = fast_login(
        &server,
        "alice",
        &token,
        "HT-SHA-256-EXPR",
        "expr-client",
        "",
    )
    .await;
    assert!(answer.contains("</success>"), "{answer}");
    let additional = STANDARD
        .decode(text_of(&answer, "additional-data"))
        .unwrap();
    assert_eq!(
        additional,
        responder_hash(token.as_bytes(), client.tls_exporter()),
        "the responder hash over this connection's exporter"
    );
    // The proof of another connection (here: with no binding data) fails.
    let (mut client, _) = tls_stream_from(&server, from()).await;
    let mut initial = b"alice\0".to_vec();
    initial.extend_from_slice(&roost_sasl::fast::initiator_hash(token.as_bytes(), b""));
    let inner = format!(
        "{}<fast xmlns='{NS_FAST}'/>",
        user_agent("expr-client", "Raw", "d")
    );
    let answer = authenticate(&mut client, "HT-SHA-256-EXPR", Some(&initial), &inner).await;
    assert_eq!(failure_of(&answer).0, "not-authorized", "{answer}");
    // A token is bound to the mechanism it was issued for.
    let (_, answer) = fast_login(
        &server,
        "alice",
        &token,
        "HT-SHA-256-NONE",
        "expr-client",
        "",
    )
    .await;
    assert_eq!(failure_of(&answer).0, "not-authorized", "{answer}");
}

#[tokio::test]
async fn fast_none_proves_the_server_and_refuses_another_client_id() {
    let server = server();
    let token = token_for(&server, "none-client", "HT-SHA-256-NONE").await;
    let (_, answer) = fast_login(
        &server,
        "alice",
        &token,
        "HT-SHA-256-NONE",
        "none-client",
        "",
    )
    .await;
    assert_eq!(
        STANDARD
            .decode(text_of(&answer, "additional-data"))
            .unwrap(),
        responder_hash(token.as_bytes(), b"")
    );
    let (_, answer) = fast_login(
        &server,
        "alice",
        &token,
        "HT-SHA-256-NONE",
        "someone-else",
        "",
    )
    .await;
    assert_eq!(failure_of(&answer).0, "not-authorized", "{answer}");
    let (_, answer) = fast_login(
        &server,
        "alice",
        "secret-token:fast-made-up",
        "HT-SHA-256-NONE",
        "none-client",
        "",
    )
    .await;
    assert_eq!(failure_of(&answer).0, "not-authorized", "{answer}");
    // The right token still works after those.
    let (_, answer) = fast_login(
        &server,
        "alice",
        &token,
        "HT-SHA-256-NONE",
        "none-client",
        "",
    )
    .await;
    assert!(answer.contains("</success>"), "{answer}");
}

#[tokio::test]
async fn invalidate_logs_in_once_more_and_deletes_the_token() {
    let server = server();
    let token = token_for(&server, "leaving", "HT-SHA-256-NONE").await;
    let invalidate = format!("<fast xmlns='{NS_FAST}' invalidate='true'/>");
    let (_, answer) = fast_login(
        &server,
        "alice",
        &token,
        "HT-SHA-256-NONE",
        "leaving",
        &invalidate,
    )
    .await;
    assert!(answer.contains("</success>"), "{answer}");
    assert_eq!(token_of(&answer), None, "no new token: {answer}");
    let (_, answer) = fast_login(&server, "alice", &token, "HT-SHA-256-NONE", "leaving", "").await;
    assert_eq!(
        failure_of(&answer).0,
        "not-authorized",
        "a deleted token: {answer}"
    );
}

/// `[fast] rotate_after` (seconds) small: a FAST login with an older token
/// gets a new one in `<success>`; the old one works until the new one is
/// used, then gives credentials-expired.
#[tokio::test]
async fn tokens_rotate_and_the_old_one_works_until_the_new_one_is_used() {
    const ROTATE_AFTER_SECONDS: u64 = 1;
    let server = server_with(&format!("[fast]\nrotate_after = {ROTATE_AFTER_SECONDS}\n"));
    let old = token_for(&server, "rotating", "HT-SHA-256-NONE").await;
    let login = |token: String| {
        let server = &server;
        async move {
            let (_, answer) =
                fast_login(server, "alice", &token, "HT-SHA-256-NONE", "rotating", "").await;
            assert!(answer.contains("</success>"), "{answer}");
            token_of(&answer)
        }
    };
    // Not a synchronisation: the token has to be older than rotate_after.
    tokio::time::sleep(std::time::Duration::from_millis(
        ROTATE_AFTER_SECONDS * 1000 + 100,
    ))
    .await;
    let new = login(old.clone()).await.expect("a rotated token");
    assert_ne!(new, old);
    // The answer may have been lost: the old token still works (and may
    // rotate again, replacing the pending one).
    let newest = login(old.clone()).await.unwrap_or(new);
    login(newest).await;
    let (_, answer) = fast_login(&server, "alice", &old, "HT-SHA-256-NONE", "rotating", "").await;
    assert_eq!(failure_of(&answer).0, "credentials-expired", "{answer}");
}

#[tokio::test]
async fn refusals_have_the_reference_shape() {
    let server = server();
    let (mut client, _) = tls_stream_from(&server, from()).await;
    let answer = authenticate(&mut client, "X-BOGUS", Some(b"x"), "").await;
    assert_eq!(failure_of(&answer).0, "invalid-mechanism", "{answer}");
    client
        .send(&format!(
            "<authenticate xmlns='{NS_SASL2}' mechanism='PLAIN'><initial-response>!!not base64</initial-response></authenticate>"
        ))
        .await;
    let answer = roost_tests::sasl2::read_answer(&mut client).await;
    assert_eq!(failure_of(&answer).0, "incorrect-encoding", "{answer}");
    let inner = format!("{}<fast xmlns='{NS_FAST}'/>", user_agent("c", "Raw", "d"));
    let answer = authenticate(
        &mut client,
        "HT-SHA-256-NONE",
        Some(b"no separator"),
        &inner,
    )
    .await;
    assert_eq!(failure_of(&answer).0, "malformed-request", "{answer}");
    // An exchange abandoned half-way.
    let first = authenticate(
        &mut client,
        "SCRAM-SHA-256",
        Some(b"n,,n=alice,r=abcdefghijkl"),
        "",
    )
    .await;
    assert!(first.contains("</challenge>"), "{first}");
    client.send(&format!("<abort xmlns='{NS_SASL2}'/>")).await;
    let answer = roost_tests::sasl2::read_answer(&mut client).await;
    assert_eq!(failure_of(&answer).0, "aborted", "{answer}");
    // After all that the same stream still logs in.
    let answer = authenticate(&mut client, "PLAIN", Some(&plain("alice", PASSWORD)), "").await;
    assert!(answer.contains("</success>"), "{answer}");
}

#[tokio::test]
async fn wrong_passwords_count_against_the_login_limiter() {
    let server = server();
    let (mut client, _) = tls_stream_from(&server, None).await;
    let mut answers = Vec::new();
    for _ in 0..6 {
        answers.push(
            failure_of(
                &authenticate(&mut client, "PLAIN", Some(&plain("alice", "wrong")), "").await,
            )
            .0,
        );
    }
    assert_eq!(
        answers,
        [
            "not-authorized",
            "not-authorized",
            "not-authorized",
            "not-authorized",
            "not-authorized",
            "temporary-auth-failure"
        ],
        "5 failures per account and address"
    );
    // Locked now, even with the right password, over SASL2 and legacy SASL.
    let answer = authenticate(&mut client, "PLAIN", Some(&plain("alice", PASSWORD)), "").await;
    assert_eq!(failure_of(&answer).0, "temporary-auth-failure", "{answer}");
    let (mut legacy, _) = tls_stream_from(&server, None).await;
    legacy
        .send(&format!(
            "<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{}</auth>",
            STANDARD.encode(plain("alice", PASSWORD))
        ))
        .await;
    let answer = legacy.read_until("</failure>").await;
    assert!(answer.contains("<temporary-auth-failure"), "{answer}");
}

#[tokio::test]
async fn enforced_client_ids_refuse_logins_without_one() {
    let server = Server::start_auth("enforce_client_ids = true");
    server.create_user(&format!("alice@{HOST}"), PASSWORD);
    let (mut client, text) = tls_stream_from(&server, from()).await;
    assert!(
        !features(&text).has_child("mechanisms", NS_SASL),
        "legacy SASL not offered: {text}"
    );
    let refused = (
        "malformed-request".to_owned(),
        Some("Client identifier required but not supplied".to_owned()),
    );
    let answer = authenticate(&mut client, "PLAIN", Some(&plain("alice", PASSWORD)), "").await;
    assert_eq!(failure_of(&answer), refused, "no user agent");
    let answer = authenticate(
        &mut client,
        "PLAIN",
        Some(&plain("alice", PASSWORD)),
        "<user-agent><software>Raw</software></user-agent>",
    )
    .await;
    assert_eq!(failure_of(&answer), refused, "a user agent without an id");

    let (mut legacy, _) = tls_stream_from(&server, None).await;
    legacy
        .send(&format!(
            "<auth xmlns='{NS_SASL}' mechanism='PLAIN'>{}</auth>",
            STANDARD.encode(plain("alice", PASSWORD))
        ))
        .await;
    let answer = legacy.read_until("</failure>").await;
    assert!(
        answer.contains("Legacy SASL authentication is not available on this server"),
        "{answer}"
    );
    assert!(!answer.contains("<success"), "{answer}");

    let answer = authenticate(
        &mut client,
        "PLAIN",
        Some(&plain("alice", PASSWORD)),
        &user_agent("with-an-id", "Raw", "d"),
    )
    .await;
    assert!(answer.contains("</success>"), "{answer}");
}
