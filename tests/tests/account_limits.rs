//! The per-account bounds of `[limits]` against the real roostd, on raw
//! streams: each refusal comes back as the stanza error the server
//! documents, and nothing past a limit is kept.

use roost_tests::raw::RawClient;
use roost_tests::{HOST, Server};

const PASSWORD: &str = "a long enough password";
const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";

fn jid(user: &str) -> String {
    format!("{user}@{HOST}")
}

fn server_with_users(limits: &str, users: &[&str]) -> Server {
    let server = Server::start_with(&format!("[limits]\n{limits}\n"));
    for user in users {
        server.create_user(&jid(user), PASSWORD);
    }
    server
}

async fn login(server: &Server, user: &str) -> RawClient {
    RawClient::bound(server, user, PASSWORD, "res").await
}

/// Sends an iq and returns its answer.
async fn iq(client: &mut RawClient, id: &str, attrs: &str, payload: &str) -> String {
    client
        .send(&format!("<iq id='{id}' {attrs}>{payload}</iq>"))
        .await;
    client.read_iq(id).await
}

/// Pings the server; returns everything received up to the answer (the
/// server handles one stream's stanzas in order).
async fn sync(client: &mut RawClient, id: &str) -> String {
    iq(
        client,
        id,
        &format!("type='get' to='{HOST}'"),
        "<ping xmlns='urn:xmpp:ping'/>",
    )
    .await
}

fn roster_set(contact: &str) -> String {
    format!(
        "<query xmlns='jabber:iq:roster'><item jid='{}'/></query>",
        jid(contact)
    )
}

/// Whether `text` ends in an error of `kind` with `condition`.
fn is_error(text: &str, kind: &str, condition: &str) -> bool {
    text.contains("type='error'")
        && text.contains(&format!("type='{kind}'"))
        && text.contains(&format!("<{condition} xmlns='{STANZAS}'/>"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roster_item_holds_at_most_4_kib_of_names() {
    let server = server_with_users("", &["alice"]);
    let mut alice = login(&server, "alice").await;
    let item = |groups: usize| {
        let group = "g".repeat(1000);
        let groups: String = (0..groups)
            .map(|i| format!("<group>{i}{group}</group>"))
            .collect();
        format!(
            "<query xmlns='jabber:iq:roster'><item jid='{}'>{groups}</item></query>",
            jid("bob")
        )
    };
    let answer = iq(&mut alice, "s1", "type='set'", &item(4)).await;
    assert!(answer.contains("type='result'"), "{answer}");
    let answer = iq(&mut alice, "s2", "type='set'", &item(5)).await;
    assert!(
        is_error(&answer, "modify", "not-acceptable"),
        "{answer:.300}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_roster_takes_no_new_item() {
    let server = server_with_users("roster_items = 2", &["alice"]);
    let mut alice = login(&server, "alice").await;
    for (id, contact) in [("s1", "b1"), ("s2", "b2")] {
        let answer = iq(&mut alice, id, "type='set'", &roster_set(contact)).await;
        assert!(answer.contains("type='result'"), "{answer}");
    }
    let answer = iq(&mut alice, "s3", "type='set'", &roster_set("b3")).await;
    assert!(is_error(&answer, "cancel", "not-allowed"), "{answer}");
    assert!(answer.contains("at most 2 items"), "{answer}");
    // Changing an item already there is still fine.
    let rename = format!(
        "<query xmlns='jabber:iq:roster'><item jid='{}' name='B'/></query>",
        jid("b1")
    );
    let answer = iq(&mut alice, "s4", "type='set'", &rename).await;
    assert!(answer.contains("type='result'"), "{answer}");
    // A subscription request would add an item too.
    server.create_user(&jid("carol"), PASSWORD);
    alice
        .send(&format!(
            "<presence id='sub1' type='subscribe' to='{}'/>",
            jid("carol")
        ))
        .await;
    let answer = alice.read_until("</presence>").await;
    assert!(answer.contains("id='sub1'"), "{answer}");
    assert!(is_error(&answer, "cancel", "not-allowed"), "{answer}");
    let roster = iq(
        &mut alice,
        "g1",
        "type='get'",
        "<query xmlns='jabber:iq:roster'/>",
    )
    .await;
    assert_eq!(roster.matches("<item ").count(), 2, "{roster}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directed_presence_targets_are_bounded_per_session() {
    let server = server_with_users("directed_presences = 2", &["alice", "bob"]);
    let mut bob = login(&server, "bob").await;
    let mut alice = login(&server, "alice").await;
    for target in ["x1", "x2"] {
        alice
            .send(&format!("<presence to='{}'/>", jid(target)))
            .await;
    }
    alice
        .send(&format!("<presence id='d3' to='{}/res'/>", jid("bob")))
        .await;
    let answer = alice.read_until("</presence>").await;
    assert!(answer.contains("id='d3'"), "{answer}");
    assert!(is_error(&answer, "wait", "resource-constraint"), "{answer}");
    // The refused presence was not sent.
    let got = sync(&mut bob, "p1").await;
    assert!(!got.contains("<presence"), "{got}");
    // Sending one of them unavailable makes room again.
    alice
        .send(&format!(
            "<presence type='unavailable' to='{}'/>",
            jid("x1")
        ))
        .await;
    alice
        .send(&format!("<presence id='d4' to='{}/res'/>", jid("bob")))
        .await;
    let answer = sync(&mut alice, "p1").await;
    assert!(!answer.contains("type='error'"), "{answer}");
    let got = bob.read_until("id='d4'").await + &bob.read_until(">").await;
    assert!(
        got.contains(&format!("from='{}/res'", jid("alice"))),
        "{got}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_create_a_bounded_number_of_invites_a_day() {
    let server = server_with_users("user_invites_per_day = 2", &["bob"]);
    let mut bob = login(&server, "bob").await;
    let command = "<command xmlns='http://jabber.org/protocol/commands' \
                   node='urn:xmpp:invite#invite' action='execute'/>";
    let to = format!("type='set' to='{HOST}'");
    for id in ["c1", "c2"] {
        let answer = iq(&mut bob, id, &to, command).await;
        assert!(answer.contains("status='completed'"), "{answer}");
    }
    let answer = iq(&mut bob, "c3", &to, command).await;
    assert!(is_error(&answer, "wait", "resource-constraint"), "{answer}");
    assert!(answer.contains("status='canceled'"), "{answer}");
    assert!(answer.contains("2 invites a day"), "{answer}");
    let listed = roost_tests::stdout(&server.ctl(&["--json", "invite", "list", HOST]));
    let invites: Vec<serde_json::Value> = serde_json::from_str(&listed).unwrap();
    assert_eq!(invites.len(), 2, "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_storage_is_bounded_per_sender_and_in_bytes() {
    let server = server_with_users(
        "offline_messages_per_sender = 2\noffline_bytes = 3000",
        &["alice", "bob", "carol"],
    );
    let message = |id: &str, body: &str| {
        format!(
            "<message id='{id}' type='chat' to='{}'><body>{body}</body></message>",
            jid("alice")
        )
    };
    let mut bob = login(&server, "bob").await;
    for (id, body) in [("m1", "first"), ("m2", "second"), ("m3", "third")] {
        bob.send(&message(id, body)).await;
    }
    let answers = sync(&mut bob, "p1").await;
    assert_eq!(answers.matches("type='error'").count(), 1, "{answers}");
    let refused = &answers[answers.find("<message").expect("an error")..];
    assert!(refused.contains("id='m3'"), "{answers}");
    assert!(
        is_error(refused, "wait", "resource-constraint"),
        "{answers}"
    );

    // Another sender has room of its own, up to the recipient's bytes.
    let mut carol = login(&server, "carol").await;
    carol.send(&message("big", &"x".repeat(2900))).await;
    carol.send(&message("small", "hello")).await;
    let answers = sync(&mut carol, "p1").await;
    assert_eq!(answers.matches("type='error'").count(), 1, "{answers}");
    assert!(answers.contains("id='big'"), "{answers}");
    assert!(
        is_error(&answers, "wait", "resource-constraint"),
        "{answers}"
    );

    let mut alice = login(&server, "alice").await;
    alice.send("<presence/>").await;
    let got = alice.read_until("hello</body>").await;
    let bodies: Vec<&str> = got
        .split("<body>")
        .skip(1)
        .filter_map(|b| b.split("</body>").next())
        .collect();
    assert_eq!(bodies, ["first", "second", "hello"], "{got}");
}
