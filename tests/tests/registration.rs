//! In-band registration with invite tokens (XEP-0077 + XEP-0401/XEP-0445
//! `<preauth/>`) and pre-authenticated subscriptions (XEP-0379) against the
//! real roostd: an independent client (tokio-xmpp) registers and logs in;
//! raw streams check every refusal, the race on one token and the stream
//! that tries to reuse a single-use token.

use std::str::FromStr as _;

use futures_util::{SinkExt as _, StreamExt as _};
use roost_tests::client::{WAIT, install_crypto, is_push_for, login, with_client_retries};
use roost_tests::raw::{RawClient, preauth, register, tls_stream};
use roost_tests::{HOST, Server, stdout};
use tokio_xmpp::connect::{DnsConfig, ServerConnector as _, StartTlsServerConnector};
use tokio_xmpp::jid::Jid;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::xmlstream::Timeouts;

const PASSWORD: &str = "a long password";

/// Creates an invite with roostctl; returns its token.
fn invite(server: &Server, args: &[&str]) -> String {
    let mut all = vec!["invite", "create", HOST, "--json"];
    all.extend_from_slice(args);
    let out = server.ctl(&all);
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let uri = json["uri"].as_str().expect("uri").to_owned();
    uri.split("preauth=")
        .nth(1)
        .and_then(|t| t.split(';').next())
        .expect("token in URI")
        .to_owned()
}

fn accounts(server: &Server) -> String {
    stdout(&server.ctl(&["user", "list", HOST]))
}

fn is_result(answer: &str) -> bool {
    answer.contains("type='result'") || answer.contains("type=\"result\"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_independent_client_registers_with_a_token_and_logs_in() {
    with_client_retries(|| async {
        let server = Server::start();
        let token = invite(&server, &[]);
        install_crypto();

        // tokio-xmpp's own STARTTLS connector and stream codec, stopped before
        // authentication.
        let connector = StartTlsServerConnector(DnsConfig::addr(&server.c2s_addr()));
        let (pending, _) = connector
            .connect(
                &Jid::from_str(HOST).unwrap(),
                "jabber:client",
                Timeouts::tight(),
            )
            .await
            .expect("STARTTLS");
        let (features, mut stream) = pending.recv_features::<Element>().await.expect("features");
        let offered: Vec<_> = features
            .others
            .iter()
            .filter(|f| f.name() == "register")
            .map(|f| f.ns())
            .collect();
        for ns in ["urn:xmpp:invite", "urn:xmpp:ibr-token:0"] {
            assert!(offered.iter().any(|o| o == ns), "{ns} not in {offered:?}");
        }
        assert!(features.in_band_registration, "XEP-0077 feature missing");
        let mut ask = async |xml: String| -> Element {
            let el: Element = xml.parse().expect("test XML");
            stream.send(&el).await.expect("send");
            let answer = tokio::time::timeout(WAIT, stream.next())
                .await
                .expect("answer in time")
                .expect("stream open")
                .expect("well-formed answer");
            assert_eq!(answer.attr("id"), el.attr("id"));
            answer
        };
        let answer = ask(format!(
            "<iq xmlns='jabber:client' type='set' id='p1'>\
         <preauth xmlns='urn:xmpp:pars:0' token='{token}'/></iq>"
        ))
        .await;
        assert_eq!(answer.attr("type"), Some("result"), "{answer:?}");
        let form = ask("<iq xmlns='jabber:client' type='get' id='g1'>\
                    <query xmlns='jabber:iq:register'/></iq>"
            .into())
        .await;
        let query = form
            .get_child("query", "jabber:iq:register")
            .expect("query");
        assert!(query.get_child("username", "jabber:iq:register").is_some());
        assert!(query.get_child("x", "jabber:x:data").is_some());
        let answer = ask(format!(
            "<iq xmlns='jabber:client' type='set' id='s1'><query xmlns='jabber:iq:register'>\
         <username>Newbie</username><password>{PASSWORD}</password></query></iq>"
        ))
        .await;
        assert_eq!(answer.attr("type"), Some("result"), "{answer:?}");
        // Same stream, second account: the stream forgot the used token.
        let again = ask(format!(
            "<iq xmlns='jabber:client' type='set' id='s2'><query xmlns='jabber:iq:register'>\
         <username>second</username><password>{PASSWORD}</password></query></iq>"
        ))
        .await;
        assert_eq!(again.attr("type"), Some("error"), "{again:?}");
        let error = again.get_child("error", "jabber:client").expect("error");
        assert!(error.has_child("not-acceptable", "urn:ietf:params:xml:ns:xmpp-stanzas"));

        // Nodeprep made "Newbie" newbie; the account logs in with tokio-xmpp.
        let listed = accounts(&server);
        assert!(listed.contains(&format!("newbie@{HOST}")), "{listed}");
        assert!(!listed.contains("second@"), "{listed}");
        let session = login(&server, &format!("newbie@{HOST}"), PASSWORD)
            .await
            .expect("the new account logs in");
        assert_eq!(session.jid.node().map(|n| n.as_str()), Some("newbie"));

        // The token is used up for every other stream too.
        let (mut other, _) = tls_stream(&server).await;
        let answer = preauth(&mut other, "p2", &token).await;
        assert!(answer.contains("<forbidden"), "{answer}");
        assert!(answer.contains("invalid or expired"), "{answer}");
    })
    .await;
}

#[tokio::test]
async fn refusals_leave_the_token_usable() {
    let server = Server::start();
    server.create_user(&format!("taken@{HOST}"), PASSWORD);
    let token = invite(&server, &[]);
    let (mut client, features) = tls_stream(&server).await;
    assert!(features.contains("urn:xmpp:invite"), "{features}");

    // Without a token: invitation only.
    let answer = register(&mut client, "r0", "nobody", PASSWORD).await;
    assert!(answer.contains("<not-acceptable"), "{answer}");
    assert!(answer.contains("through invitation only"), "{answer}");
    // Results and errors are never answered; the next iq's answer comes first.
    client
        .send("<iq type='result' id='x1'><query xmlns='jabber:iq:register'/></iq>")
        .await;
    let answer = preauth(&mut client, "b0", "").await;
    assert!(!answer.contains("x1"), "a result was answered: {answer}");
    assert!(answer.contains("<forbidden"), "{answer}");
    for (id, bogus) in [("b1", "x"), ("b2", "AAAAAAAAAAAAAAAAAAAAAAAA")] {
        let answer = preauth(&mut client, id, bogus).await;
        assert!(answer.contains("<forbidden"), "{answer}");
    }

    assert!(is_result(&preauth(&mut client, "p1", &token).await));
    let answer = register(&mut client, "r1", "taken", PASSWORD).await;
    assert!(answer.contains("<conflict"), "{answer}");
    let answer = register(&mut client, "r2", "with space", PASSWORD).await;
    assert!(answer.contains("<not-acceptable"), "{answer}");
    assert!(answer.contains("username is invalid"), "{answer}");
    let answer = register(&mut client, "r3", "shorty", "short").await;
    assert!(answer.contains("<not-acceptable"), "{answer}");
    assert!(answer.contains("minimum 8"), "{answer}");
    assert!(!answer.contains(">short<"), "password echoed: {answer}");
    let answer = register(&mut client, "r4", "", "").await;
    assert!(answer.contains("Required value missing"), "{answer}");
    // None of that used the token.
    let answer = register(&mut client, "r5", "fresh", PASSWORD).await;
    assert!(is_result(&answer), "{answer}");
    assert!(accounts(&server).contains(&format!("fresh@{HOST}")));
    assert!(!accounts(&server).contains("shorty@"));
}

#[tokio::test]
async fn expired_tokens_and_plaintext_streams_are_refused() {
    let server = Server::start();
    let token = invite(&server, &["--ttl", "1s"]);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (mut client, _) = tls_stream(&server).await;
    let answer = preauth(&mut client, "p1", &token).await;
    assert!(answer.contains("<forbidden"), "{answer}");

    // Before STARTTLS (encryption required by default): refused, and no
    // registration feature offered.
    let fresh = invite(&server, &[]);
    let mut plain = RawClient::connect(&server).await;
    let features = plain.open(HOST).await;
    assert!(!features.contains("iq-register"), "{features}");
    let answer = preauth(&mut plain, "p2", &fresh).await;
    assert!(answer.contains("<policy-violation"), "{answer}");
    let (mut secure, _) = plain.starttls().await;
    assert!(is_result(&preauth(&mut secure, "p3", &fresh).await));
}

#[tokio::test]
async fn open_registration_needs_no_token() {
    let server =
        Server::start_with("[registration]\ninvite_only = false\nmin_password_length = 12\n");
    let (mut client, _) = tls_stream(&server).await;
    let answer = register(&mut client, "r1", "walkin", "eleven char").await;
    assert!(answer.contains("minimum 12"), "{answer}");
    let answer = register(&mut client, "r2", "walkin", "twelve chars").await;
    assert!(is_result(&answer), "{answer}");
    assert!(accounts(&server).contains(&format!("walkin@{HOST}")));
}

#[tokio::test]
async fn open_registration_is_throttled_per_address_invites_are_not() {
    let server = Server::start_with(
        "[registration]\ninvite_only = false\nmax_registrations_per_address = 2\n",
    );
    let (mut client, _) = tls_stream(&server).await;
    for (id, user) in [("r1", "first"), ("r2", "second")] {
        let answer = register(&mut client, id, user, PASSWORD).await;
        assert!(is_result(&answer), "{answer}");
    }
    // A new stream from the same address changes nothing.
    let (mut client, _) = tls_stream(&server).await;
    let answer = register(&mut client, "r3", "third", PASSWORD).await;
    assert!(
        answer.contains("type='wait'") || answer.contains("type=\"wait\""),
        "{answer}"
    );
    assert!(answer.contains("<policy-violation"), "{answer}");
    assert!(
        answer.contains("Too many registrations from this IP address recently"),
        "{answer}"
    );
    assert!(!accounts(&server).contains(&format!("third@{HOST}")));
    // With an invite, the invite is the limit.
    let token = invite(&server, &[]);
    assert!(is_result(&preauth(&mut client, "p1", &token).await));
    let answer = register(&mut client, "r4", "invited", PASSWORD).await;
    assert!(is_result(&answer), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_racing_with_one_token_get_one_account() {
    let server = Server::start();
    let token = invite(&server, &[]);
    let (mut a, _) = tls_stream(&server).await;
    let (mut b, _) = tls_stream(&server).await;
    assert!(is_result(&preauth(&mut a, "pa", &token).await));
    assert!(is_result(&preauth(&mut b, "pb", &token).await));
    let (answer_a, answer_b) = tokio::join!(
        register(&mut a, "ra", "racer-a", PASSWORD),
        register(&mut b, "rb", "racer-b", PASSWORD)
    );
    let won = [&answer_a, &answer_b]
        .iter()
        .filter(|a| is_result(a))
        .count();
    assert_eq!(won, 1, "{answer_a}\n{answer_b}");
    let lost = if is_result(&answer_a) {
        &answer_b
    } else {
        &answer_a
    };
    assert!(lost.contains("<forbidden"), "{lost}");
    let listed = accounts(&server);
    assert_eq!(listed.matches("racer-").count(), 1, "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_invites_make_mutual_contacts_and_tell_the_inviter() {
    with_client_retries(|| async {
        let server = Server::start();
        let bob = format!("bob@{HOST}");
        server.create_user(&bob, PASSWORD);
        server.create_user(&format!("dave@{HOST}"), PASSWORD);
        let mut bob_session = login(&server, &bob, PASSWORD).await.unwrap();
        bob_session.roster().await;
        bob_session.available().await;

        // 1. Register with an account-and-contact invite of bob's.
        let token = invite(&server, &["--type", "both", "--inviter", &bob]);
        let (mut client, _) = tls_stream(&server).await;
        assert!(is_result(&preauth(&mut client, "p1", &token).await));
        assert!(is_result(
            &register(&mut client, "r1", "carol", PASSWORD).await
        ));
        let carol = format!("carol@{HOST}");
        bob_session
            .expect("roster push for carol", |el| {
                is_push_for(el, &carol, "both")
            })
            .await;
        let note = bob_session
            .expect("notification", |el| {
                el.name() == "message" && el.attr("from") == Some(HOST)
            })
            .await;
        let text = roost_tests::client::body_of(&note).unwrap();
        assert!(text.contains(&carol), "{text}");
        let mut carol_session = login(&server, &carol, PASSWORD).await.unwrap();
        let roster = carol_session.roster().await;
        assert!(
            roster
                .iter()
                .any(|i| i.attr("jid") == Some(bob.as_str())
                    && i.attr("subscription") == Some("both")),
            "{roster:?}"
        );

        // 2. An existing account redeems a contact invite (XEP-0379).
        let token = invite(&server, &["--type", "contact", "--inviter", &bob]);
        let dave = format!("dave@{HOST}");
        let mut dave_session = login(&server, &dave, PASSWORD).await.unwrap();
        dave_session.roster().await;
        dave_session.available().await;
        let subscribe: Element = format!(
            "<presence xmlns='jabber:client' type='subscribe' to='{bob}'>\
         <preauth xmlns='urn:xmpp:pars:0' token='{token}'/></presence>"
        )
        .parse()
        .unwrap();
        dave_session
            .send(tokio_xmpp::Stanza::try_from(subscribe).unwrap())
            .await;
        dave_session
            .expect("subscribed from bob", |el| {
                el.name() == "presence"
                    && el.attr("type") == Some("subscribed")
                    && el.attr("from") == Some(bob.as_str())
            })
            .await;
        dave_session
            .expect("roster push for bob", |el| is_push_for(el, &bob, "both"))
            .await;
        bob_session
            .expect("roster push for dave", |el| is_push_for(el, &dave, "both"))
            .await;
        let note = bob_session
            .expect("notification about dave", |el| {
                el.name() == "message" && el.attr("from") == Some(HOST)
            })
            .await;
        assert!(roost_tests::client::body_of(&note).unwrap().contains(&dave));

        // 3. The same token again is an ordinary request: nothing automatic.
        let listed = stdout(&server.ctl(&["invite", "list", HOST]));
        assert!(
            !listed.contains("contact "),
            "used invite still pending: {listed}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_can_be_turned_off() {
    with_client_retries(|| async {
        let server = Server::start_with("[invites]\nnotify_inviter = false\n");
        let bob = format!("bob@{HOST}");
        server.create_user(&bob, PASSWORD);
        let mut bob_session = login(&server, &bob, PASSWORD).await.unwrap();
        bob_session.roster().await;
        bob_session.available().await;
        let token = invite(&server, &["--type", "both", "--inviter", &bob]);
        let (mut client, _) = tls_stream(&server).await;
        assert!(is_result(&preauth(&mut client, "p1", &token).await));
        assert!(is_result(
            &register(&mut client, "r1", "erin", PASSWORD).await
        ));
        bob_session
            .expect("roster push for erin", |el| {
                is_push_for(el, &format!("erin@{HOST}"), "both")
            })
            .await;
        // The notification would come right after the push; a ping's answer
        // arriving first proves there was none.
        assert_no_message_before_ping(&mut bob_session).await;
        // Nothing was stored for later either.
        drop(bob_session);
        let mut again = login(&server, &bob, PASSWORD).await.unwrap();
        again.available().await;
        assert_no_message_before_ping(&mut again).await;
    })
    .await;
}

async fn assert_no_message_before_ping(session: &mut roost_tests::client::Session) {
    let ping: Element =
        "<iq xmlns='jabber:client' type='get' id='quiet'><ping xmlns='urn:xmpp:ping'/></iq>"
            .parse()
            .unwrap();
    session
        .send(tokio_xmpp::Stanza::try_from(ping).unwrap())
        .await;
    let first = session
        .expect("a message or the ping's answer", |el| {
            el.name() == "message" || el.attr("id") == Some("quiet")
        })
        .await;
    assert_eq!(first.name(), "iq", "unexpected {first:?}");
}
