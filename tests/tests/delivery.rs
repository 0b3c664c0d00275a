//! RFC 6121 delivery against the real roostd, on raw streams: subscription
//! approvals reach every resource that asked for the roster, available or
//! not (§3.1.6); a subscription request to a local account that does not
//! exist is answered with an error and leaves the roster alone (§3.1.2);
//! offline messages are handed over in pages, all of them, in order, once.

use roost_tests::raw::RawClient;
use roost_tests::{HOST, Server, stdout};

const PASSWORD: &str = "a long enough password";

fn jid(user: &str) -> String {
    format!("{user}@{HOST}")
}

/// A user logged in on a raw stream, bound to resource `res`.
async fn login(server: &Server, user: &str) -> RawClient {
    RawClient::bound(server, user, PASSWORD, "res").await
}

/// Asks for the roster (which makes the resource interested, RFC 6121
/// §2.1.6) and returns the answer.
async fn fetch_roster(client: &mut RawClient, id: &str) -> String {
    client
        .send(&format!(
            "<iq type='get' id='{id}'><query xmlns='jabber:iq:roster'/></iq>"
        ))
        .await;
    client.read_iq(id).await
}

/// Pings the server and returns everything received up to the answer:
/// the server handles one stream's stanzas in order, so whatever an
/// earlier stanza caused has been sent by then.
async fn sync(client: &mut RawClient, id: &str) -> String {
    client
        .send(&format!(
            "<iq type='get' id='{id}' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>"
        ))
        .await;
    client.read_iq(id).await
}

/// Reads up to the end of the next presence stanza whose opening tag
/// contains `type='{kind}'`; returns that stanza's text.
async fn read_presence(client: &mut RawClient, kind: &str) -> String {
    let marker = format!("type='{kind}'");
    let before = client.read_until(&marker).await;
    let start = before
        .rfind("<presence")
        .expect("a presence carries the type");
    let mut text = before[start..].to_owned();
    text.push_str(&client.read_until(">").await);
    if !text.ends_with("/>") {
        text.push_str(&client.read_until("</presence>").await);
    }
    text
}

/// A contact invite of `inviter`'s made with roostctl; returns its token.
fn contact_invite(server: &Server, inviter: &str) -> String {
    let out = server.ctl(&[
        "invite",
        "create",
        HOST,
        "--json",
        "--type",
        "contact",
        "--inviter",
        inviter,
    ]);
    assert!(out.status.success(), "{out:?}");
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let uri = json["uri"].as_str().expect("uri").to_owned();
    uri.split("preauth=")
        .nth(1)
        .and_then(|t| t.split(';').next())
        .expect("token in the URI")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_invite_used_before_initial_presence_is_answered() {
    let server = Server::start();
    for user in ["bob", "dave"] {
        server.create_user(&jid(user), PASSWORD);
    }
    let token = contact_invite(&server, &jid("bob"));
    let mut dave = login(&server, "dave").await;
    // As Conversations does after scanning an invite: roster first, the
    // pre-authenticated request (XEP-0379) before any presence.
    fetch_roster(&mut dave, "r1").await;
    dave.send(&format!(
        "<presence type='subscribe' to='{}'><preauth xmlns='urn:xmpp:pars:0' token='{token}'/></presence>",
        jid("bob")
    ))
    .await;
    let subscribed = read_presence(&mut dave, "subscribed").await;
    assert!(
        subscribed.contains(&format!("from='{}'", jid("bob"))),
        "{subscribed}"
    );
    let pushed = sync(&mut dave, "p1").await;
    let roster = pushed + &fetch_roster(&mut dave, "r2").await;
    assert!(
        roster.contains(&format!("jid='{}' subscription='both'", jid("bob"))),
        "{roster}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_reaches_an_interested_resource_that_is_not_available() {
    let server = Server::start();
    for user in ["alice", "bob"] {
        server.create_user(&jid(user), PASSWORD);
    }
    let mut bob = login(&server, "bob").await;
    fetch_roster(&mut bob, "r1").await;
    bob.send("<presence/>").await;
    sync(&mut bob, "p0").await;

    let mut alice = login(&server, "alice").await;
    fetch_roster(&mut alice, "r1").await;
    alice
        .send(&format!("<presence type='subscribe' to='{}'/>", jid("bob")))
        .await;
    let request = read_presence(&mut bob, "subscribe").await;
    assert!(
        request.contains(&format!("from='{}'", jid("alice"))),
        "{request}"
    );
    bob.send(&format!(
        "<presence type='subscribed' to='{}'/>",
        jid("alice")
    ))
    .await;
    // RFC 6121 §3.1.6: the approval, then the roster push, although
    // alice never sent presence.
    let approval = read_presence(&mut alice, "subscribed").await;
    assert!(
        approval.contains(&format!("from='{}'", jid("bob"))),
        "{approval}"
    );
    let push = alice.read_until("</iq>").await;
    assert!(
        push.contains("type='set'")
            && push.contains(&format!("jid='{}' subscription='to'", jid("bob"))),
        "{push}"
    );
}

#[tokio::test]
async fn a_request_to_a_missing_local_account_is_silently_ignored() {
    let server = Server::start();
    server.create_user(&jid("alice"), PASSWORD);
    let mut alice = login(&server, "alice").await;
    fetch_roster(&mut alice, "r1").await;
    alice
        .send(&format!(
            "<presence type='subscribe' id='s1' to='{}'/>",
            jid("nobody")
        ))
        .await;
    // RFC 6121 §8.5.1: no error (and never internal-server-error); the
    // user's own roster shows the request pending (§3.1.2).
    let after = sync(&mut alice, "p1").await;
    assert!(!after.contains("type='error'"), "{after}");
    assert!(after.contains("ask='subscribe'"), "no roster push: {after}");
    let roster = fetch_roster(&mut alice, "r2").await;
    assert!(
        roster.contains(&jid("nobody")) && roster.contains("ask='subscribe'"),
        "{roster}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_messages_come_in_order_and_once_across_pages() {
    // More messages than one page holds (50), from one sender.
    const COUNT: usize = 130;
    let server = Server::start_with("[limits]\noffline_messages_per_sender = 1000\n");
    for user in ["alice", "bob"] {
        server.create_user(&jid(user), PASSWORD);
    }
    let mut bob = login(&server, "bob").await;
    for i in 0..COUNT {
        bob.send(&format!(
            "<message type='chat' to='{}'><body>m{i}.</body></message>",
            jid("alice")
        ))
        .await;
    }
    let stored = sync(&mut bob, "p1").await;
    assert!(!stored.contains("type='error'"), "{stored}");

    let mut alice = login(&server, "alice").await;
    alice.send("<presence/>").await;
    let received = alice.read_until(&format!("m{}.</body>", COUNT - 1)).await;
    let bodies: Vec<&str> = received
        .split("<body>")
        .skip(1)
        .filter_map(|b| b.split("</body>").next())
        .collect();
    let expected: Vec<String> = (0..COUNT).map(|i| format!("m{i}.")).collect();
    assert_eq!(bodies, expected);
    // roostd closes the socket only after the session has ended, its
    // deliveries recorded.
    alice.send("</stream:stream>").await;
    let rest = alice.read_to_end().await;
    assert!(!rest.ends_with("[not closed]"), "{rest}");
    // Stored after the others: had any of them stayed stored, it would come
    // before this one at the next login.
    bob.send(&format!(
        "<message type='chat' to='{}'><body>last.</body></message>",
        jid("alice")
    ))
    .await;
    let stored = sync(&mut bob, "p2").await;
    assert!(!stored.contains("type='error'"), "{stored}");

    let mut again = login(&server, "alice").await;
    again.send("<presence/>").await;
    let received = again.read_until("last.</body>").await;
    assert_eq!(
        received.matches("<message").count(),
        1,
        "delivered twice: {received}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_contact_tells_its_interested_resources() {
    let server = Server::start();
    for user in ["bob", "dave"] {
        server.create_user(&jid(user), PASSWORD);
    }
    let token = contact_invite(&server, &jid("bob"));
    let mut dave = login(&server, "dave").await;
    fetch_roster(&mut dave, "r1").await;
    dave.send(&format!(
        "<presence type='subscribe' to='{}'><preauth xmlns='urn:xmpp:pars:0' token='{token}'/></presence>",
        jid("bob")
    ))
    .await;
    read_presence(&mut dave, "subscribed").await;

    // Bob asked for his roster but sent no presence.
    let mut bob = login(&server, "bob").await;
    let roster = fetch_roster(&mut bob, "r1").await;
    assert!(
        roster.contains(&format!("jid='{}' subscription='both'", jid("dave"))),
        "{roster}"
    );
    let remove = format!(
        "<query xmlns='jabber:iq:roster'><item jid='{}' subscription='remove'/></query>",
        jid("bob")
    );
    dave.send(&format!("<iq type='set' id='rm1'>{remove}</iq>"))
        .await;
    let answer = dave.read_iq("rm1").await;
    assert!(answer.contains("type='result'"), "{answer}");
    // RFC 6121 §2.5.2: both directions are cancelled; §3.3.3 and §3.2.3:
    // each reaches bob's interested resource, then its roster push.
    for kind in ["unsubscribe", "unsubscribed"] {
        let got = read_presence(&mut bob, kind).await;
        assert!(got.contains(&format!("from='{}'", jid("dave"))), "{got}");
    }
    let after = sync(&mut bob, "p1").await + &fetch_roster(&mut bob, "r2").await;
    assert!(
        after.contains(&format!("jid='{}' subscription='none'", jid("dave"))),
        "{after}"
    );
}
