//! Message carbons (XEP-0280, issue 13 item 2) against the real roostd: a
//! phone that enables them inline in Bind2 and a laptop that enables them
//! with an iq see each other's sent and received chats, once each; what
//! asks not to be copied is not; a session that disables them gets none.

use roost_tests::raw::RawClient;
use roost_tests::raw_stanzas::{error_of, read_answer, sync};
use roost_tests::sasl2::{authorization_identifier, password_login, tls_stream_from};
use roost_tests::{HOST, Server};
use tokio_xmpp::minidom::Element;

const PASSWORD: &str = "correct horse battery";
const CARBONS: &str = "urn:xmpp:carbons:2";
const FORWARD: &str = "urn:xmpp:forward:0";

fn jid(user: &str) -> String {
    format!("{user}@{HOST}")
}

/// The stanzas that reach `client` up to a ping's answer: what the server
/// queued for it before then.
async fn arrived(client: &mut RawClient, id: &str) -> Vec<Element> {
    sync(client, id).await
}

/// The message inside a carbon of `direction` (`sent`, `received`), after
/// checking the wrapper comes from the account itself.
fn carbon<'a>(stanza: &'a Element, account: &str, direction: &str) -> Option<&'a Element> {
    if stanza.name() != "message" || stanza.attr("from") != Some(account) {
        return None;
    }
    stanza
        .get_child(direction, CARBONS)?
        .get_child("forwarded", FORWARD)?
        .get_child("message", "jabber:client")
}

fn body(message: &Element) -> Option<String> {
    message
        .get_child("body", "jabber:client")
        .map(Element::text)
}

async fn chat(client: &mut RawClient, to: &str, body: &str, extra: &str) {
    client
        .send(&format!(
            "<message type='chat' to='{to}' id='{body}'><body>{body}</body>{extra}</message>"
        ))
        .await;
}

/// What arrived on `client`, as (kind, body, from) of each message: the
/// original (`chat`) or a carbon (`sent`, `received`).
fn messages(stanzas: &[Element], account: &str) -> Vec<(String, String, String)> {
    stanzas
        .iter()
        .filter(|s| s.name() == "message")
        .map(|s| {
            for direction in ["sent", "received"] {
                if let Some(inner) = carbon(s, account, direction) {
                    return (
                        direction.to_owned(),
                        body(inner).unwrap_or_default(),
                        inner.attr("from").unwrap_or_default().to_owned(),
                    );
                }
            }
            (
                "chat".to_owned(),
                body(s).unwrap_or_default(),
                s.attr("from").unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn triple(kind: &str, body: &str, from: &str) -> (String, String, String) {
    (kind.to_owned(), body.to_owned(), from.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_laptop_and_a_phone_see_each_others_chats() {
    let server = Server::start();
    for user in ["alice", "bob"] {
        server.create_user(&jid(user), PASSWORD);
    }
    let alice = jid("alice");

    // The phone: SASL2 with Bind2, carbons enabled inline, as advertised.
    let (_, features) = tls_stream_from(&server, Some(&alice)).await;
    assert!(
        features.contains(&format!("<feature var='{CARBONS}'/>")),
        "Bind2 offers carbons inline: {features}"
    );
    let bind =
        format!("<bind xmlns='urn:xmpp:bind:0'><tag>phone</tag><enable xmlns='{CARBONS}'/></bind>");
    let (mut phone, success) = password_login(&server, "alice", PASSWORD, &bind).await;
    let phone_jid = authorization_identifier(&success);
    // The laptop: a legacy login, carbons enabled with an iq.
    let mut laptop = RawClient::bound(&server, "alice", PASSWORD, "laptop").await;
    let laptop_jid = format!("{alice}/laptop");
    laptop
        .send(&format!(
            "<iq type='set' id='c1'><enable xmlns='{CARBONS}'/></iq>"
        ))
        .await;
    let (answer, _) = read_answer(&mut laptop, "c1").await;
    assert_eq!(answer.attr("type"), Some("result"), "{answer:?}");
    let mut bob = RawClient::bound(&server, "bob", PASSWORD, "desk").await;
    let bob_jid = format!("{}/desk", jid("bob"));
    for client in [&mut phone, &mut laptop, &mut bob] {
        client.send("<presence/>").await;
    }

    // Each step syncs the sender first: its stanza has then been handled,
    // copies included, so whatever it queued elsewhere has arrived there
    // before that stream's next ping is answered.

    // Bob writes to the laptop: the phone gets a received carbon.
    chat(&mut bob, &laptop_jid, "to-laptop", "").await;
    assert_eq!(messages(&arrived(&mut bob, "b1").await, &alice), []);
    assert_eq!(
        messages(&arrived(&mut laptop, "l1").await, &alice),
        [triple("chat", "to-laptop", &bob_jid)]
    );
    assert_eq!(
        messages(&arrived(&mut phone, "p1").await, &alice),
        [triple("received", "to-laptop", &bob_jid)]
    );

    // The laptop answers: bob gets it, the phone a sent carbon, the laptop
    // no copy of its own message.
    chat(&mut laptop, &jid("bob"), "from-laptop", "").await;
    assert_eq!(messages(&arrived(&mut laptop, "l2").await, &alice), []);
    assert_eq!(
        messages(&arrived(&mut bob, "b2").await, &alice),
        [triple("chat", "from-laptop", &laptop_jid)]
    );
    assert_eq!(
        messages(&arrived(&mut phone, "p2").await, &alice),
        [triple("sent", "from-laptop", &laptop_jid)]
    );

    // The phone writes: the laptop gets a sent carbon.
    chat(&mut phone, &bob_jid, "from-phone", "").await;
    assert_eq!(messages(&arrived(&mut phone, "p3").await, &alice), []);
    assert_eq!(
        messages(&arrived(&mut bob, "b3").await, &alice),
        [triple("chat", "from-phone", &phone_jid)]
    );
    assert_eq!(
        messages(&arrived(&mut laptop, "l3").await, &alice),
        [triple("sent", "from-phone", &phone_jid)]
    );

    // What asks not to be copied is not: a private message from the
    // laptop, a no-copy one to it.
    chat(
        &mut laptop,
        &bob_jid,
        "private",
        &format!("<private xmlns='{CARBONS}'/>"),
    )
    .await;
    assert_eq!(messages(&arrived(&mut laptop, "l4").await, &alice), []);
    let to_bob = arrived(&mut bob, "b4").await;
    assert_eq!(
        messages(&to_bob, &alice),
        [triple("chat", "private", &laptop_jid)]
    );
    // XEP-0280 §6: the marker has done its work and is not delivered.
    assert!(
        to_bob.iter().all(|m| !m.has_child("private", CARBONS)),
        "{:?}",
        to_bob.iter().map(String::from).collect::<Vec<_>>()
    );
    chat(
        &mut bob,
        &laptop_jid,
        "no-copy",
        "<no-copy xmlns='urn:xmpp:hints'/>",
    )
    .await;
    assert_eq!(messages(&arrived(&mut bob, "b5").await, &alice), []);
    assert_eq!(
        messages(&arrived(&mut laptop, "l5").await, &alice),
        [triple("chat", "no-copy", &bob_jid)]
    );
    assert_eq!(messages(&arrived(&mut phone, "p4").await, &alice), []);

    // The laptop turns carbons off: the phone's chats no longer reach it.
    laptop
        .send(&format!(
            "<iq type='set' id='c2'><disable xmlns='{CARBONS}'/></iq>"
        ))
        .await;
    let (answer, _) = read_answer(&mut laptop, "c2").await;
    assert_eq!(answer.attr("type"), Some("result"), "{answer:?}");
    chat(&mut phone, &bob_jid, "after-disable", "").await;
    assert_eq!(messages(&arrived(&mut phone, "p5").await, &alice), []);
    chat(&mut bob, &phone_jid, "to-phone", "").await;
    assert_eq!(
        messages(&arrived(&mut bob, "b6").await, &alice),
        [triple("chat", "after-disable", &phone_jid)]
    );
    assert_eq!(
        messages(&arrived(&mut phone, "p6").await, &alice),
        [triple("chat", "to-phone", &bob_jid)]
    );
    assert_eq!(messages(&arrived(&mut laptop, "l6").await, &alice), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn carbons_are_advertised_and_refused_when_asked_wrong() {
    let server = Server::start();
    for user in ["alice", "bob"] {
        server.create_user(&jid(user), PASSWORD);
    }
    let mut alice = RawClient::bound(&server, "alice", PASSWORD, "res").await;
    alice
        .send(&format!(
            "<iq type='get' id='d1' to='{HOST}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        ))
        .await;
    let (answer, _) = read_answer(&mut alice, "d1").await;
    let query = answer
        .get_child("query", "http://jabber.org/protocol/disco#info")
        .expect("disco#info");
    assert!(
        query
            .children()
            .any(|f| f.name() == "feature" && f.attr("var") == Some(CARBONS)),
        "{answer:?}"
    );
    // A get, and carbons for someone else's account.
    for (id, request, expected) in [
        (
            "e1",
            format!("<iq type='get' id='e1'><enable xmlns='{CARBONS}'/></iq>"),
            "bad-request",
        ),
        (
            "e2",
            format!(
                "<iq type='set' id='e2' to='{}'><enable xmlns='{CARBONS}'/></iq>",
                jid("bob")
            ),
            "forbidden",
        ),
    ] {
        alice.send(&request).await;
        let (answer, _) = read_answer(&mut alice, id).await;
        assert_eq!(answer.attr("type"), Some("error"), "{answer:?}");
        let (_, condition, _) = error_of(&answer).unwrap_or_else(|| panic!("{answer:?}"));
        assert_eq!(condition, expected, "{id}: {answer:?}");
    }
}
