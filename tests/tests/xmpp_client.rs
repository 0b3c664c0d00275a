//! An independent XMPP client library (tokio-xmpp, from xmpp-rs) logs in to
//! the real roostd over STARTTLS and uses it: roster, subscriptions,
//! presence, messages, offline delivery.

use std::str::FromStr as _;
use std::time::Duration;

use futures_util::StreamExt as _;
use roost_tests::{HOST, Server};
use tokio_xmpp::connect::DnsConfig;
use tokio_xmpp::jid::{BareJid, FullJid, Jid};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::message::{Lang, Message};
use tokio_xmpp::parsers::presence::{Presence, Type as PresenceType};
use tokio_xmpp::xmlstream::Timeouts;
use tokio_xmpp::{Client, Event, Stanza};

const WAIT: Duration = Duration::from_secs(10);
const ROSTER: &str = "jabber:iq:roster";

fn install_crypto() {
    let _ = tokio_xmpp::rustls::crypto::ring::default_provider().install_default();
    roost_tests::test_ca();
}

/// A logged-in client and the JID the server bound.
struct Session {
    client: Client,
    jid: FullJid,
}

async fn login(server: &Server, jid: &str, password: &str) -> Result<Session, String> {
    install_crypto();
    let mut client = Client::new_starttls(
        Jid::from_str(jid).unwrap(),
        password.to_owned(),
        DnsConfig::addr(&server.c2s_addr()),
        Timeouts::tight(),
    );
    loop {
        match tokio::time::timeout(WAIT, client.next()).await {
            Err(_) => return Err("timed out logging in".into()),
            Ok(None) => return Err("stream ended".into()),
            Ok(Some(Event::Online { bound_jid, .. })) => {
                let jid = bound_jid
                    .try_into_full()
                    .map_err(|j| format!("bare JID bound: {j}"))?;
                return Ok(Session { client, jid });
            }
            Ok(Some(Event::Disconnected(e))) => return Err(e.to_string()),
            Ok(Some(Event::Stanza(_))) => {}
        }
    }
}

impl Session {
    async fn send(&mut self, stanza: impl Into<Stanza>) {
        self.client
            .send_stanza(stanza.into())
            .await
            .expect("send stanza");
    }

    /// The next stanza that `want` accepts; others are skipped.
    async fn expect(&mut self, what: &str, want: impl Fn(&Element) -> bool) -> Element {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let event = tokio::time::timeout_at(deadline, self.client.next())
                .await
                .unwrap_or_else(|_| panic!("{}: timed out waiting for {what}", self.jid));
            match event {
                Some(Event::Stanza(stanza)) => {
                    let el = Element::from(stanza);
                    if want(&el) {
                        return el;
                    }
                }
                Some(Event::Disconnected(e)) => {
                    panic!("{}: disconnected waiting for {what}: {e}", self.jid)
                }
                Some(Event::Online { .. }) => {}
                None => panic!("{}: stream ended waiting for {what}", self.jid),
            }
        }
    }

    /// Sends `<iq type=KIND id=ID>PAYLOAD</iq>` (payload as XML text) and
    /// returns the answer.
    async fn iq(&mut self, id: &str, kind: &str, payload: &str) -> Element {
        let iq = xml(&format!(
            "<iq xmlns='jabber:client' type='{kind}' id='{id}'>{payload}</iq>"
        ));
        self.send(Stanza::try_from(iq).expect("iq stanza")).await;
        let id = id.to_owned();
        self.expect(&format!("answer to {id}"), move |el| {
            el.name() == "iq"
                && el.attr("id") == Some(id.as_str())
                && matches!(el.attr("type"), Some("result" | "error"))
        })
        .await
    }

    async fn roster(&mut self) -> Vec<Element> {
        let answer = self
            .iq("r-get", "get", "<query xmlns='jabber:iq:roster'/>")
            .await;
        assert_eq!(answer.attr("type"), Some("result"), "{answer:?}");
        answer
            .get_child("query", ROSTER)
            .map(|q| q.children().cloned().collect())
            .unwrap_or_default()
    }

    async fn available(&mut self) {
        self.send(Presence::new(PresenceType::None)).await;
    }
}

fn xml(text: &str) -> Element {
    text.parse()
        .unwrap_or_else(|e| panic!("bad test XML {text}: {e}"))
}

fn chat(to: &str, body: &str) -> Message {
    Message::chat(Jid::from_str(to).unwrap()).with_body(Lang::default(), body.to_owned())
}

fn is_presence_from(el: &Element, from: &str, kind: Option<&str>) -> bool {
    el.name() == "presence"
        && el.attr("from").is_some_and(|f| f.starts_with(from))
        && el.attr("type") == kind
}

fn is_push_for(el: &Element, contact: &str, subscription: &str) -> bool {
    el.name() == "iq"
        && el.attr("type") == Some("set")
        && el
            .get_child("query", ROSTER)
            .and_then(|q| q.get_child("item", ROSTER))
            .is_some_and(|i| {
                i.attr("jid") == Some(contact) && i.attr("subscription") == Some(subscription)
            })
}

fn body_of(el: &Element) -> Option<String> {
    el.get_child("body", "jabber:client").map(|b| b.text())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_in_with_scram_sha_256_plus_and_with_scram_sha_1() {
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roster_subscriptions_presence_and_messages() {
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roster_versioning_skips_an_unchanged_roster() {
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
}
