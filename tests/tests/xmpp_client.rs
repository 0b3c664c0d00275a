//! An independent XMPP client library (tokio-xmpp, from xmpp-rs) logs in to
//! the real roostd over STARTTLS and uses it: roster, subscriptions,
//! presence, messages, offline delivery.

use std::str::FromStr as _;

use roost_tests::client::*;
use roost_tests::{HOST, Server};
use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::parsers::presence::{Presence, Type as PresenceType};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_in_with_scram_sha_256_plus_and_with_scram_sha_1() {
    with_client_retries(|| async {
        let server = Server::start();
        server.create_user(&format!("alice@{HOST}"), "s3cret pass");
        let session = login(&server, &format!("alice@{HOST}"), "s3cret pass")
            .await
            .unwrap();
        assert_eq!(
            session.jid.to_bare(),
            BareJid::from_str(&format!("alice@{HOST}")).unwrap()
        );
        assert!(
            !session.jid.resource().as_str().is_empty(),
            "server-chosen resource"
        );
        assert!(
            login(&server, &format!("alice@{HOST}"), "wrong")
                .await
                .is_err(),
            "wrong password accepted"
        );
        assert!(
            login(&server, &format!("nobody@{HOST}"), "s3cret pass")
                .await
                .is_err()
        );

        // Only SCRAM-SHA-1 on offer: the client must use it (with channel binding).
        let server = Server::start_auth("mechanisms = [\"SCRAM-SHA-1-PLUS\", \"SCRAM-SHA-1\"]\n");
        server.create_user(&format!("bob@{HOST}"), "another pass");
        let session = login(&server, &format!("bob@{HOST}/desk"), "another pass")
            .await
            .unwrap();
        assert_eq!(session.jid.to_string(), format!("bob@{HOST}/desk"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roster_subscriptions_presence_and_messages() {
    with_client_retries(|| async {
    let server = Server::start();
    server.create_user(&format!("alice@{HOST}"), "alice pass");
    server.create_user(&format!("bob@{HOST}"), "bob pass");
    let alice_jid = format!("alice@{HOST}");
    let bob_jid = format!("bob@{HOST}");
    let mut alice = login(&server, &alice_jid, "alice pass").await.unwrap();
    let mut bob = login(&server, &bob_jid, "bob pass").await.unwrap();
    assert!(alice.roster().await.is_empty());
    assert!(bob.roster().await.is_empty());
    alice.available().await;
    bob.available().await;

    // Alice adds Bob with a name and a group: a push, then the roster shows it.
    let answer = alice
        .iq(
            "set1",
            "set",
            &format!("<query xmlns='{ROSTER}'><item jid='{bob_jid}' name='Bobby'><group>Friends</group></item></query>"),
        )
        .await;
    assert_eq!(answer.attr("type"), Some("result"));
    let roster = alice.roster().await;
    assert_eq!(roster.len(), 1);
    assert_eq!(roster[0].attr("name"), Some("Bobby"));
    assert_eq!(roster[0].attr("subscription"), Some("none"));

    // Alice asks to see Bob's presence; Bob approves.
    alice
        .send(Presence::new(PresenceType::Subscribe).with_to(Jid::from_str(&bob_jid).unwrap()))
        .await;
    let request = bob
        .expect("subscription request", |el| {
            is_presence_from(el, &alice_jid, Some("subscribe"))
        })
        .await;
    assert_eq!(
        request.attr("from"),
        Some(alice_jid.as_str()),
        "subscription stanzas carry bare JIDs"
    );
    bob.send(Presence::new(PresenceType::Subscribed).with_to(Jid::from_str(&alice_jid).unwrap()))
        .await;
    alice
        .expect("push: to", |el| is_push_for(el, &bob_jid, "to"))
        .await;
    alice
        .expect("Bob's presence", |el| is_presence_from(el, &bob_jid, None))
        .await;
    bob.expect("push: from", |el| is_push_for(el, &alice_jid, "from"))
        .await;

    // And the other way round: mutual.
    bob.send(Presence::new(PresenceType::Subscribe).with_to(Jid::from_str(&alice_jid).unwrap()))
        .await;
    alice
        .expect("Bob's request", |el| {
            is_presence_from(el, &bob_jid, Some("subscribe"))
        })
        .await;
    alice
        .send(Presence::new(PresenceType::Subscribed).with_to(Jid::from_str(&bob_jid).unwrap()))
        .await;
    bob.expect("push: both", |el| is_push_for(el, &alice_jid, "both"))
        .await;
    bob.expect("Alice's presence", |el| {
        is_presence_from(el, &alice_jid, None)
    })
    .await;
    let roster = alice.roster().await;
    assert_eq!(roster[0].attr("subscription"), Some("both"));

    // Messages to a full JID and to a bare JID.
    alice.send(chat(&bob.jid.to_string(), "hello Bob")).await;
    let got = bob.expect("message", |el| el.name() == "message").await;
    assert_eq!(body_of(&got).as_deref(), Some("hello Bob"));
    assert_eq!(
        got.attr("from"),
        Some(alice.jid.to_string().as_str()),
        "from stamped with the full JID"
    );

    bob.send(chat(&alice_jid, "hi Alice")).await;
    let got = alice.expect("message", |el| el.name() == "message").await;
    assert_eq!(body_of(&got).as_deref(), Some("hi Alice"));

    // Bob leaves: Alice sees him go.
    bob.client.send_end().await.unwrap();
    alice
        .expect("Bob unavailable", |el| {
            is_presence_from(el, &bob_jid, Some("unavailable"))
        })
        .await;

    // A message to Bob while he is away waits for him.
    alice.send(chat(&bob_jid, "read this later")).await;
    // A ping round trip proves the message was processed before Bob returns.
    let pong = alice.iq("p1", "get", "<ping xmlns='urn:xmpp:ping'/>").await;
    assert_eq!(pong.attr("type"), Some("result"));
    let mut bob = login(&server, &bob_jid, "bob pass").await.unwrap();
    bob.available().await;
    // Coming online, Bob gets the waiting message and Alice's presence (his
    // server probes his contacts), in either order.
    let (mut message, mut presence) = (None, false);
    while message.is_none() || !presence {
        let el = bob
            .expect("offline message and Alice's presence on login", |el| {
                el.name() == "message" || is_presence_from(el, &alice_jid, None)
            })
            .await;
        if el.name() == "message" {
            message = Some(el);
        } else {
            presence = true;
        }
    }
    let got = message.unwrap();
    assert_eq!(body_of(&got).as_deref(), Some("read this later"));
    assert!(
        got.get_child("delay", "urn:xmpp:delay").is_some(),
        "offline message without delay: {got:?}"
    );

    // Removing Bob cancels both subscriptions (Bob's new session asks for
    // the roster, so it gets pushes).
    assert_eq!(bob.roster().await[0].attr("subscription"), Some("both"));
    let answer = alice
        .iq(
            "rm",
            "set",
            &format!(
                "<query xmlns='{ROSTER}'><item jid='{bob_jid}' subscription='remove'/></query>"
            ),
        )
        .await;
    assert_eq!(answer.attr("type"), Some("result"));
    assert!(alice.roster().await.is_empty());
    bob.expect("push: none", |el| is_push_for(el, &alice_jid, "none"))
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roster_versioning_skips_an_unchanged_roster() {
    with_client_retries(|| async {
        let server = Server::start();
        server.create_user(&format!("carol@{HOST}"), "carol pass");
        let mut carol = login(&server, &format!("carol@{HOST}"), "carol pass")
            .await
            .unwrap();
        carol
            .iq(
                "s",
                "set",
                &format!("<query xmlns='{ROSTER}'><item jid='dave@{HOST}'/></query>"),
            )
            .await;
        let full = carol
            .iq("g1", "get", &format!("<query xmlns='{ROSTER}' ver=''/>"))
            .await;
        let ver = full
            .get_child("query", ROSTER)
            .and_then(|q| q.attr("ver"))
            .expect("ver")
            .to_owned();
        let same = carol
            .iq(
                "g2",
                "get",
                &format!("<query xmlns='{ROSTER}' ver='{ver}'/>"),
            )
            .await;
        assert_eq!(same.attr("type"), Some("result"));
        assert!(
            same.get_child("query", ROSTER).is_none(),
            "unchanged roster sent again: {same:?}"
        );
    })
    .await;
}
