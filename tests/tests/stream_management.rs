//! Stream management (XEP-0198, issue 13 item 1) against the real roostd
//! with the raw client: a phone that loses its connection mid-conversation
//! resumes (inside SASL2, or after a legacy login) and gets every message
//! it had not acknowledged exactly once, those sent meanwhile included; a
//! session never resumed leaves its messages offline (one that came from
//! offline storage with its first `<delay/>` only); one that ends its
//! stream hands them on; the counting and its errors; and xmpp.js, an
//! independent client, resuming inside SASL2.

use std::time::Duration;

use roost_tests::raw::RawClient;
use roost_tests::raw_stanzas::{next_stanza, sync};
use roost_tests::sasl2::{
    authenticate, authorization_identifier, element, features_after_success, password_login, plain,
    tls_stream_from,
};
use roost_tests::xmppjs::{Identity, XmppJs};
use roost_tests::{HOST, Server};
use tokio_xmpp::minidom::Element;

const PASSWORD: &str = "correct horse battery";
const SM: &str = "urn:xmpp:sm:3";

fn jid(user: &str) -> String {
    format!("{user}@{HOST}")
}

/// A client's side of stream management: counts the stanzas it handled
/// and keeps the bodies of the messages, in order.
struct Phone {
    client: RawClient,
    handled: u32,
    bodies: Vec<String>,
    /// The archive's id (XEP-0359) on each message with a body.
    stanza_ids: Vec<Option<String>>,
}

impl Phone {
    fn new(client: RawClient) -> Phone {
        Phone {
            client,
            handled: 0,
            bodies: Vec::new(),
            stanza_ids: Vec::new(),
        }
    }

    /// The next stanza; the server's `<r/>` requests are read past (and
    /// left unanswered: the test acknowledges when it chooses).
    async fn next(&mut self) -> Element {
        loop {
            let el = next_stanza(&mut self.client).await;
            if el.ns() == SM && el.name() == "r" {
                continue;
            }
            if matches!(el.name(), "message" | "presence" | "iq") {
                self.handled += 1;
            }
            if el.name() == "message"
                && let Some(body) = el.get_child("body", "jabber:client")
            {
                self.bodies.push(body.text());
                let id = el.get_child("stanza-id", "urn:xmpp:sid:0");
                self.stanza_ids
                    .push(id.and_then(|id| id.attr("id")).map(str::to_owned));
            }
            return el;
        }
    }

    /// The next message with a body.
    async fn next_with_body(&mut self) -> Element {
        loop {
            let el = self.next().await;
            if el.name() == "message" && el.get_child("body", "jabber:client").is_some() {
                return el;
            }
        }
    }

    /// Reads until the message with `body` came.
    async fn until_body(&mut self, body: &str) {
        tokio::time::timeout(Duration::from_secs(20), async {
            while !self.bodies.iter().any(|b| b == body) {
                self.next().await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no message {body:?}; got {:?}", self.bodies));
    }

    async fn acknowledge(&mut self) {
        let h = self.handled;
        self.client
            .send(&format!("<a xmlns='{SM}' h='{h}'/>"))
            .await;
    }

    /// Reads up to the answer to a ping; returns what came before it.
    async fn sync(&mut self, id: &str) -> Vec<Element> {
        let ping =
            format!("<iq type='get' id='{id}' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>");
        self.client.send(&ping).await;
        let mut before = Vec::new();
        loop {
            let el = self.next().await;
            if el.name() == "iq" && el.attr("id") == Some(id) {
                return before;
            }
            before.push(el);
        }
    }
}

async fn chat(from: &mut RawClient, to: &str, body: &str) {
    from.send(&format!(
        "<message type='chat' to='{to}' id='{body}'><body>{body}</body></message>"
    ))
    .await;
}

/// Bind2 with stream management enabled inline.
fn bind_with_sm(tag: &str) -> String {
    format!(
        "<bind xmlns='urn:xmpp:bind:0'><tag>{tag}</tag><enable xmlns='{SM}' resume='true'/></bind>"
    )
}

/// `roost_c2s_sessions{state="hibernated"}` from the metrics endpoint.
async fn hibernated(server: &Server) -> u64 {
    let text = roost_tests::http()
        .get(server.metrics_url("/metrics"))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("exposition");
    text.lines()
        .find_map(|l| l.strip_prefix("roost_c2s_sessions{state=\"hibernated\"} "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no hibernated sessions gauge in {text}"))
}

async fn wait_hibernated(server: &Server, count: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while hibernated(server).await != count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never {count} hibernated sessions"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The full JIDs `roostctl c2s list` shows for `user`, with each one's
/// state.
fn connected(server: &Server, user: &str) -> Vec<(String, String)> {
    let out = server.ctl(&["c2s", "list", &jid(user), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sessions: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    sessions
        .as_array()
        .expect("an array")
        .iter()
        .map(|s| {
            let field = |name: &str| s[name].as_str().expect(name).to_owned();
            (field("jid"), field("state"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_that_loses_its_connection_resumes_and_gets_every_message_once() {
    let server = Server::start();
    for user in ["alice", "bob"] {
        server.create_user(&jid(user), PASSWORD);
    }
    let (_, features) = tls_stream_from(&server, Some(&jid("alice"))).await;
    assert!(
        features.contains(&format!("<sm xmlns='{SM}'/>")),
        "SASL2 offers resumption inline: {features}"
    );
    assert!(
        features.contains(&format!("<feature var='{SM}'/>")),
        "Bind2 offers stream management inline: {features}"
    );
    let (client, success) =
        password_login(&server, "alice", PASSWORD, &bind_with_sm("phone")).await;
    let enabled = element(&success, "enabled");
    assert_eq!(enabled.attr("resume"), Some("true"), "{success}");
    assert_eq!(enabled.attr("max"), Some("300"), "{success}");
    let id = enabled.attr("id").expect("a resumption id").to_owned();
    let alice = authorization_identifier(&success);
    let mut phone = Phone::new(client);
    phone.client.send("<presence/>").await;
    let mut bob = RawClient::bound(&server, "bob", PASSWORD, "desk").await;

    chat(&mut bob, &alice, "m1").await;
    phone.until_body("m1").await;
    phone.acknowledge().await;
    let acknowledged = phone.handled;
    chat(&mut bob, &alice, "m2").await;
    chat(&mut bob, &alice, "m3").await;
    phone.until_body("m3").await;
    // The socket goes without a closing tag, m2 and m3 unacknowledged.
    drop(phone);
    wait_hibernated(&server, 1).await;
    assert_eq!(
        connected(&server, "alice"),
        [(alice.clone(), "hibernated".to_owned())],
        "a hibernated session is still connected"
    );
    chat(&mut bob, &alice, "m4").await;
    chat(&mut bob, &alice, "m5").await;
    assert!(
        sync(&mut bob, "b1").await.is_empty(),
        "nothing bounced to bob"
    );

    // Back, in one round trip: SASL2 with <resume/>.
    let (mut client, _) = tls_stream_from(&server, Some(&jid("alice"))).await;
    let resume = format!("<resume xmlns='{SM}' previd='{id}' h='{acknowledged}'/>");
    let answer = authenticate(
        &mut client,
        "PLAIN",
        Some(&plain("alice", PASSWORD)),
        &resume,
    )
    .await;
    assert!(answer.contains("</success>"), "{answer}");
    let resumed = element(&answer, "resumed");
    assert_eq!(resumed.attr("previd"), Some(id.as_str()));
    // The server handled one stanza of ours: the presence.
    assert_eq!(resumed.attr("h"), Some("1"), "{answer}");
    assert_eq!(authorization_identifier(&answer), alice);
    features_after_success(&mut client).await;
    let mut phone = Phone::new(client);
    phone.handled = acknowledged;
    phone.sync("a1").await;
    assert_eq!(
        phone.bodies,
        ["m2", "m3", "m4", "m5"],
        "each once, in order"
    );
    wait_hibernated(&server, 0).await;

    chat(&mut bob, &alice, "m6").await;
    phone.until_body("m6").await;
    phone.sync("a2").await;
    assert_eq!(phone.bodies, ["m2", "m3", "m4", "m5", "m6"]);
    // The server counts on from where it was: our <r/> is answered with
    // the presence and both pings.
    phone.client.send(&format!("<r xmlns='{SM}'/>")).await;
    let answer = phone.next().await;
    assert_eq!((answer.name(), answer.attr("h")), ("a", Some("3")));
    assert_eq!(connected(&server, "alice"), [(alice, "connected".into())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_not_resumed_in_time_leaves_its_messages_offline() {
    let server = Server::start_c2s("resume_timeout = \"2s\"", "");
    for user in ["alice", "bob"] {
        server.create_user(&jid(user), PASSWORD);
    }
    let mut client = RawClient::bound(&server, "alice", PASSWORD, "phone").await;
    client
        .send(&format!("<enable xmlns='{SM}' resume='1'/>"))
        .await;
    let enabled = next_stanza(&mut client).await;
    assert_eq!(enabled.name(), "enabled");
    assert_eq!(enabled.attr("max"), Some("2"));
    let mut phone = Phone::new(client);
    phone.client.send("<presence/>").await;
    let mut bob = RawClient::bound(&server, "bob", PASSWORD, "desk").await;
    let alice = format!("{}/phone", jid("alice"));
    chat(&mut bob, &alice, "m1").await;
    phone.until_body("m1").await;
    let first_id = phone.stanza_ids[0].clone();
    drop(phone);
    wait_hibernated(&server, 1).await;
    chat(&mut bob, &alice, "m2").await;
    assert!(sync(&mut bob, "b1").await.is_empty());
    wait_hibernated(&server, 0).await;
    assert!(connected(&server, "alice").is_empty());

    // Both wait offline, m1 although it was written to the lost socket,
    // with the archive's id it was first delivered with, and archived once.
    let mut laptop = Phone::new(RawClient::bound(&server, "alice", PASSWORD, "laptop").await);
    laptop.client.send("<presence/>").await;
    laptop.until_body("m2").await;
    laptop.sync("l1").await;
    assert_eq!(laptop.bodies, ["m1", "m2"]);
    assert!(first_id.is_some(), "archived with an id");
    assert_eq!(laptop.stanza_ids[0], first_id);
    for user in ["alice", "bob"] {
        let out = server.ctl(&["archive", "size", &jid(user), "--json"]);
        let size: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(size["messages"], 2, "{user}: {size}");
    }
}

/// A message that waited offline, delivered to a session that is then
/// lost and never resumed, waits offline again: still with the one
/// `<delay/>` (XEP-0203) that says when it first arrived, not a second;
/// and a sender cannot claim that the server held it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_from_offline_storage_that_waits_again_keeps_one_delay() {
    let server = Server::start_c2s("resume_timeout = \"2s\"", "");
    for user in ["alice", "bob"] {
        server.create_user(&jid(user), PASSWORD);
    }
    let mut bob = RawClient::bound(&server, "bob", PASSWORD, "desk").await;
    let forged =
        format!("<delay xmlns='urn:xmpp:delay' from='{HOST}' stamp='2000-01-01T00:00:00Z'/>");
    bob.send(&format!(
        "<message type='chat' to='{}' id='m1'><body>m1</body>{forged}</message>",
        jid("alice")
    ))
    .await;
    assert!(sync(&mut bob, "b1").await.is_empty());

    let mut client = RawClient::bound(&server, "alice", PASSWORD, "phone").await;
    client
        .send(&format!("<enable xmlns='{SM}' resume='1'/>"))
        .await;
    assert_eq!(next_stanza(&mut client).await.name(), "enabled");
    let mut phone = Phone::new(client);
    phone.client.send("<presence/>").await;
    let first = phone.next_with_body().await;
    let delays = |message: &Element| -> Vec<String> {
        message
            .children()
            .filter(|c| c.is("delay", "urn:xmpp:delay"))
            .map(|c| c.attr("stamp").unwrap_or_default().to_owned())
            .collect()
    };
    let stamp = delays(&first);
    assert_eq!(stamp.len(), 1, "from offline storage: {first:?}");
    assert_ne!(stamp[0], "2000-01-01T00:00:00Z", "the server's own stamp");
    drop(phone);
    wait_hibernated(&server, 1).await;
    wait_hibernated(&server, 0).await;

    let mut laptop = Phone::new(RawClient::bound(&server, "alice", PASSWORD, "laptop").await);
    laptop.client.send("<presence/>").await;
    let again = laptop.next_with_body().await;
    assert_eq!(laptop.bodies, ["m1"]);
    assert_eq!(delays(&again), stamp, "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_login_resumes_and_a_live_connection_hands_its_session_over() {
    let server = Server::start();
    for user in ["alice", "bob"] {
        server.create_user(&jid(user), PASSWORD);
    }
    let mut client = RawClient::bound(&server, "alice", PASSWORD, "phone").await;
    client
        .send(&format!("<enable xmlns='{SM}' resume='true'/>"))
        .await;
    let id = next_stanza(&mut client)
        .await
        .attr("id")
        .expect("id")
        .to_owned();
    let mut old = Phone::new(client);
    old.client.send("<presence/>").await;
    let mut bob = RawClient::bound(&server, "bob", PASSWORD, "desk").await;
    let alice = format!("{}/phone", jid("alice"));
    chat(&mut bob, &alice, "m1").await;
    old.until_body("m1").await;

    // The old connection is still up (a phone that switched networks
    // before the server noticed): resuming takes the session from it.
    let mut client = RawClient::authenticated(&server, "alice", PASSWORD).await;
    client
        .send(&format!("<resume xmlns='{SM}' previd='{id}' h='0'/>"))
        .await;
    let resumed = next_stanza(&mut client).await;
    assert_eq!(resumed.name(), "resumed", "{}", String::from(&resumed));
    assert_eq!(resumed.attr("h"), Some("1"));
    let mut phone = Phone::new(client);
    phone.sync("p1").await;
    assert_eq!(phone.bodies, ["m1"], "sent again: not acknowledged");
    let end = tokio::time::timeout(Duration::from_secs(20), old.client.read_to_end())
        .await
        .expect("the old connection is closed");
    assert!(end.contains("<conflict"), "told why: {end}");
    assert!(!end.contains("m2"), "{end}");
    chat(&mut bob, &alice, "m2").await;
    phone.until_body("m2").await;
    assert_eq!(connected(&server, "alice"), [(alice, "connected".into())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumption_and_acknowledgement_errors() {
    let server = Server::start();
    for user in ["alice", "mallory"] {
        server.create_user(&jid(user), PASSWORD);
    }
    // Before binding: <enable/> is refused, an unknown id is not found,
    // and binding still works after both.
    let mut client = RawClient::authenticated(&server, "alice", PASSWORD).await;
    client.send(&format!("<enable xmlns='{SM}'/>")).await;
    let failed = next_stanza(&mut client).await;
    assert_eq!(failed.name(), "failed");
    assert!(failed.has_child("unexpected-request", "urn:ietf:params:xml:ns:xmpp-stanzas"));
    client
        .send(&format!("<resume xmlns='{SM}' previd='nope' h='0'/>"))
        .await;
    let failed = next_stanza(&mut client).await;
    assert!(failed.has_child("item-not-found", "urn:ietf:params:xml:ns:xmpp-stanzas"));
    client.bind("phone").await;

    // Enabled without resumption: no id; a second <enable/> fails; <r/>
    // is answered with the count of stanzas received since <enable/>.
    client.send(&format!("<enable xmlns='{SM}'/>")).await;
    let enabled = next_stanza(&mut client).await;
    assert_eq!((enabled.name(), enabled.attr("id")), ("enabled", None));
    client.send(&format!("<enable xmlns='{SM}'/>")).await;
    assert_eq!(next_stanza(&mut client).await.name(), "failed");
    let mut phone = Phone::new(client);
    phone.sync("s1").await;
    phone.sync("s2").await;
    phone.client.send(&format!("<r xmlns='{SM}'/>")).await;
    let answer = phone.next().await;
    assert_eq!((answer.name(), answer.attr("h")), ("a", Some("2")));

    // Another account's session cannot be resumed, even with its id.
    let mut alice = RawClient::bound(&server, "alice", PASSWORD, "desk").await;
    alice
        .send(&format!("<enable xmlns='{SM}' resume='true'/>"))
        .await;
    let id = next_stanza(&mut alice).await.attr("id").unwrap().to_owned();
    let mut mallory = RawClient::authenticated(&server, "mallory", PASSWORD).await;
    mallory
        .send(&format!("<resume xmlns='{SM}' previd='{id}' h='0'/>"))
        .await;
    let failed = next_stanza(&mut mallory).await;
    assert!(failed.has_child("item-not-found", "urn:ietf:params:xml:ns:xmpp-stanzas"));
    assert!(sync(&mut alice, "still").await.is_empty(), "alice kept it");

    // Acknowledging more than was sent ends the stream.
    phone
        .client
        .send(&format!("<a xmlns='{SM}' h='99'/>"))
        .await;
    let end = phone.client.read_to_end().await;
    assert!(end.contains("<undefined-condition"), "{end}");
    assert!(end.contains("handled-count-too-high"), "{end}");
    assert!(end.contains("send-count='2'"), "{end}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_closed_with_unacknowledged_messages_hands_them_on() {
    let server = Server::start();
    for user in ["alice", "bob"] {
        server.create_user(&jid(user), PASSWORD);
    }
    let mut desk = Phone::new(RawClient::bound(&server, "alice", PASSWORD, "desk").await);
    desk.client.send("<presence/>").await;
    let mut client = RawClient::bound(&server, "alice", PASSWORD, "phone").await;
    client.send(&format!("<enable xmlns='{SM}'/>")).await;
    assert_eq!(next_stanza(&mut client).await.name(), "enabled");
    let mut phone = Phone::new(client);
    phone.client.send("<presence/>").await;
    let mut bob = RawClient::bound(&server, "bob", PASSWORD, "desk").await;
    chat(&mut bob, &format!("{}/phone", jid("alice")), "m1").await;
    phone.until_body("m1").await;
    // To the bare JID: both resources get it.
    chat(&mut bob, &jid("alice"), "m2").await;
    phone.until_body("m2").await;
    desk.until_body("m2").await;
    // The phone leaves cleanly without acknowledging either: the desk
    // gets m1, which only the phone had, and not m2 a second time.
    phone.client.send("</stream:stream>").await;
    desk.until_body("m1").await;
    desk.sync("d1").await;
    assert_eq!(desk.bodies, ["m2", "m1"]);
}

/// Reads xmpp.js's events until the message with `body` arrived (or
/// returns at once if it did already).
async fn js_until_body(js: &mut XmppJs, body: &str) {
    while !js.bodies().iter().any(|b| b == body) {
        js.expect("message").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xmppjs_resumes_inside_sasl2_after_losing_its_connection() {
    let server = Server::start();
    for user in ["alice", "bob"] {
        server.create_user(&jid(user), PASSWORD);
    }
    let mut js = XmppJs::spawn(
        &server,
        &Identity {
            username: "alice",
            password: PASSWORD,
            client_id: "6d1f1a4e-8d2c-4b7a-9b4e-3c2f0e1d5a77",
            software: "xmpp.js",
            device: "phone",
            tag: "phone",
        },
    )
    .await;
    let (online, _) = js.start().await;
    assert_eq!(online["event"], "online", "{online}");
    let alice = online["jid"].as_str().expect("jid").to_owned();
    let state = js.stream_management().await;
    assert_eq!(state["enabled"], true, "enabled inline in Bind2: {state}");
    assert_ne!(state["id"], "", "resumable: {state}");

    let mut bob = RawClient::bound(&server, "bob", PASSWORD, "desk").await;
    chat(&mut bob, &alice, "m1").await;
    js_until_body(&mut js, "m1").await;
    js.drop_connection().await;
    wait_hibernated(&server, 1).await;
    chat(&mut bob, &alice, "m2").await;
    chat(&mut bob, &alice, "m3").await;
    assert!(
        sync(&mut bob, "b1").await.is_empty(),
        "nothing bounced to bob"
    );

    let resumed = js.resume().await;
    assert_eq!(resumed["id"], state["id"], "{resumed}");
    js_until_body(&mut js, "m3").await;
    wait_hibernated(&server, 0).await;
    assert_eq!(
        connected(&server, "alice"),
        [(alice.clone(), "connected".into())]
    );
    js.send_chat(&format!("{}/desk", jid("bob")), "back");
    let stanzas = roost_tests::raw_stanzas::read_until_seen(&mut bob, "alice's message", |s| {
        s.iter().any(|el| el.name() == "message")
    })
    .await;
    let message = stanzas.last().expect("a message");
    assert_eq!(message.attr("from"), Some(alice.as_str()));
    chat(&mut bob, &alice, "m4").await;
    js_until_body(&mut js, "m4").await;
    assert_eq!(js.bodies(), ["m1", "m2", "m3", "m4"], "each once, in order");
}
