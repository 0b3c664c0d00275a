//! Roster delegation (issue 10, Prosody's mod_http_roster_admin) end to end,
//! against the real roostd and a real HTTP backend started inside each test
//! (`roost_tests::roster_backend`), on raw XMPP streams, and with tokio-xmpp
//! as an independent client.
//!
//! The story: `example.test` delegates its rosters to the backend,
//! `other.test` keeps local rosters. A user's first roster request fetches
//! the roster (names, both forms of groups, every item `both`; bad items
//! skipped), once for all the user's resources and once for concurrent
//! requests. The backend changes and its application calls the refresh
//! endpoint: online users get the difference pushed and presence follows;
//! offline users' stored copy is brought up to date. The endpoint answers
//! every body, good or bad, with counts or a JSON error, and only to the
//! addresses and the secret configured. A backend that hangs, refuses,
//! fails or answers garbage never leaves a roster request unanswered, never
//! hides the last good roster and never holds up anyone else. Users cannot
//! edit a delegated roster or subscribe to or from delegated users, and
//! presence flows between delegated contacts as between mutual
//! subscribers. A bad URL template stops roostd at startup.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use roost_tests::raw::RawClient;
use roost_tests::raw_stanzas::{
    WAIT, error_of, is_presence, login_direct_tls, nothing_arrived, read_answer, read_until_seen,
    show, sync,
};
use roost_tests::roster_backend::{Answer, RosterBackend};
use roost_tests::{HOST, OTHER_HOST, Server, free_port, http, roostd_bin};
use serde_json::{Value, json};
use tokio_xmpp::minidom::Element;

const PASSWORD: &str = "a long enough password";
const ROSTER: &str = "jabber:iq:roster";
const ROSTER_REFUSAL: &str = "rosters on this host are managed by an external service";
const SUBSCRIPTION_REFUSAL: &str = "subscriptions on this host are managed by an external service";

fn jid(user: &str) -> String {
    format!("{user}@{HOST}")
}

fn other_jid(user: &str) -> String {
    format!("{user}@{OTHER_HOST}")
}

// ---------------------------------------------------------------------------
// A roostd delegating example.test's rosters to a backend of the test's own.

struct Setup {
    server: Server,
    backend: RosterBackend,
    /// The direct TLS port, on which the raw client can log in to either host.
    tls_port: u16,
}

impl Setup {
    /// `delegation`: lines added to `[roster_delegation."example.test"]`
    /// (after `url`); `extra`: more tables.
    async fn start(delegation: &str, extra: &str) -> Setup {
        let backend = RosterBackend::start().await;
        let tls_port = free_port();
        let server = Server::start_c2s(
            &format!("direct_tls_bind = [\"127.0.0.1:{tls_port}\"]"),
            &format!(
                "[roster_delegation.\"{HOST}\"]\nurl = \"{}\"\n{delegation}\n{extra}\n",
                backend.url_template()
            ),
        );
        Setup {
            server,
            backend,
            tls_port,
        }
    }

    /// Creates `user@example.test`.
    fn user(&self, user: &str) {
        self.server.create_user(&jid(user), PASSWORD);
    }

    /// `user@example.test/resource`, logged in and bound.
    async fn login(&self, user: &str, resource: &str) -> RawClient {
        login_direct_tls(self.tls_port, HOST, user, PASSWORD, resource).await
    }

    /// `user@other.test/resource`, logged in and bound.
    async fn login_other(&self, user: &str, resource: &str) -> RawClient {
        login_direct_tls(self.tls_port, OTHER_HOST, user, PASSWORD, resource).await
    }
}

/// Sends a roster get with `id`; returns the answer (a result, or fails).
async fn roster_get(client: &mut RawClient, id: &str) -> Element {
    send_roster_get(client, id).await;
    let (answer, _) = read_answer(client, id).await;
    assert_eq!(
        answer.attr("type"),
        Some("result"),
        "roster get {id}: {}",
        String::from(&answer)
    );
    answer
}

async fn send_roster_get(client: &mut RawClient, id: &str) {
    client
        .send(&format!(
            "<iq type='get' id='{id}'><query xmlns='{ROSTER}'/></iq>"
        ))
        .await;
}

#[derive(Debug, PartialEq, Eq, Clone)]
struct Item {
    name: Option<String>,
    groups: BTreeSet<String>,
    subscription: Option<String>,
    ask: Option<String>,
}

fn item_of(el: &Element) -> (String, Item) {
    let jid = el.attr("jid").expect("an item has a jid").to_owned();
    let item = Item {
        name: el.attr("name").map(str::to_owned),
        groups: el
            .children()
            .filter(|g| g.is("group", ROSTER))
            .map(Element::text)
            .collect(),
        subscription: el.attr("subscription").map(str::to_owned),
        ask: el.attr("ask").map(str::to_owned),
    };
    (jid, item)
}

/// The items of a roster result.
fn items(answer: &Element) -> BTreeMap<String, Item> {
    let query = answer
        .get_child("query", ROSTER)
        .unwrap_or_else(|| panic!("no roster query in {}", String::from(answer)));
    query
        .children()
        .filter(|c| c.is("item", ROSTER))
        .map(item_of)
        .collect()
}

/// A delegated item: always `both`, never an ask.
fn both(name: Option<&str>, groups: &[&str]) -> Item {
    Item {
        name: name.map(str::to_owned),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        subscription: Some("both".into()),
        ask: None,
    }
}

/// A roster push: (contact, item, ver).
fn push_of(el: &Element) -> Option<(String, Item, Option<String>)> {
    if el.name() != "iq" || el.attr("type") != Some("set") {
        return None;
    }
    let query = el.get_child("query", ROSTER)?;
    let (jid, item) = item_of(query.get_child("item", ROSTER)?);
    Some((jid, item, query.attr("ver").map(str::to_owned)))
}

fn pushes(stanzas: &[Element]) -> Vec<(String, Item, Option<String>)> {
    stanzas.iter().filter_map(push_of).collect()
}

// ---------------------------------------------------------------------------
// The refresh endpoint.

#[derive(Debug)]
struct HttpAnswer {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
}

async fn send(request: reqwest::RequestBuilder) -> HttpAnswer {
    let response = request
        .timeout(WAIT)
        .send()
        .await
        .expect("the refresh endpoint answers");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("a body");
    let json = serde_json::from_str(&text).unwrap_or(Value::String(format!("NOT JSON: {text}")));
    HttpAnswer {
        status,
        headers,
        json,
    }
}

/// `POST /roster_admin/refresh` with `Host: host` and `body`.
async fn post_refresh(
    client: &reqwest::Client,
    server: &Server,
    host: &str,
    body: &str,
    bearer: Option<&str>,
) -> HttpAnswer {
    let mut request = client
        .post(server.url("/roster_admin/refresh"))
        .header("Host", host)
        .header("Content-Type", "application/json")
        .body(body.to_owned());
    if let Some(secret) = bearer {
        request = request.bearer_auth(secret);
    }
    send(request).await
}

/// `GET /roster_admin/refresh/USER` with `Host: host`.
async fn get_refresh(
    client: &reqwest::Client,
    server: &Server,
    host: &str,
    user: &str,
    bearer: Option<&str>,
) -> HttpAnswer {
    let mut request = client
        .get(server.url(&format!("/roster_admin/refresh/{user}")))
        .header("Host", host);
    if let Some(secret) = bearer {
        request = request.bearer_auth(secret);
    }
    send(request).await
}

fn assert_no_cors(answer: &HttpAnswer, what: &str) {
    assert!(
        answer
            .headers
            .keys()
            .all(|k| !k.as_str().starts_with("access-control-")),
        "{what}: CORS headers on the refresh endpoint: {:?}",
        answer.headers
    );
}

/// A JSON error with `status`, and no CORS.
fn assert_refused(answer: &HttpAnswer, status: StatusCode, what: &str) {
    assert_eq!(answer.status, status, "{what}: {answer:?}");
    assert!(
        answer
            .headers
            .get("content-type")
            .is_some_and(|t| t.as_bytes().starts_with(b"application/json")),
        "{what}: {answer:?}"
    );
    assert!(
        answer.json["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{what}: no \"error\" in {answer:?}"
    );
    assert_no_cors(answer, what);
}

/// 200 with the seed's answer and these counts.
fn assert_counts(answer: &HttpAnswer, updated: u64, errors: u64, what: &str) {
    assert_eq!(answer.status, StatusCode::OK, "{what}: {answer:?}");
    let status = if errors > 0 && updated == 0 {
        "error"
    } else {
        "ok"
    };
    assert_eq!(answer.json["status"], status, "{what}: {answer:?}");
    // The seed's message; with failures roostd may say more after it (the
    // message is for people reading logs).
    let message = answer.json["message"].as_str().unwrap_or_default();
    assert!(
        if errors == 0 {
            message == "roster update complete"
        } else {
            message.starts_with("roster update complete")
        },
        "{what}: {answer:?}"
    );
    assert_eq!(answer.json["updated"], updated, "{what}: {answer:?}");
    assert_eq!(answer.json["errors"], errors, "{what}: {answer:?}");
    assert_no_cors(answer, what);
}

// ---------------------------------------------------------------------------
// 1. Login fetches the roster.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_roster_get_fetches_the_roster_from_the_backend() {
    let secrets = tempfile::tempdir().unwrap();
    let authorization = secrets.path().join("backend.secret");
    // Surrounding white space, as an editor leaves it: the content is trimmed.
    std::fs::write(&authorization, "  Bearer backend-secret \n").unwrap();
    let setup = Setup::start(
        &format!(
            "timeout = \"5s\"\nauthorization_file = \"{}\"",
            authorization.display()
        ),
        "[limits]\nroster_items = 4\n",
    )
    .await;
    // A username that must be percent-encoded in the URL: '#' and '?' would
    // end the path, '%' starts an escape, 'ë' is two UTF-8 bytes.
    let zoe = "zo\u{eb}#?%1";
    setup.user(zoe);
    setup.backend.set_roster(
        zoe,
        json!({
            "bob@example.test": {"name": "Bob", "groups": {"Friends": true, "Chess": true}},
            "carol@other.test": {"name": "Carol", "groups": ["Work"], "colour": "blue"},
            "dave@example.test": {},
            "erin@example.test": {"name": 7, "groups": ["Home", 3]},
            // Skipped: the user's own JID, a full JID, an invalid JID, a
            // value that is not an object.
            "zo\u{eb}#?%1@example.test": {"name": "Me"},
            "frank@example.test/phone": {"name": "Full"},
            "not a jid@": {"name": "Bad"},
            "gina@example.test": "a string",
        }),
    );

    let mut client = setup.login(zoe, "phone").await;
    let answer = roster_get(&mut client, "r1").await;
    assert!(
        answer
            .get_child("query", ROSTER)
            .and_then(|q| q.attr("ver"))
            .is_some_and(|v| !v.is_empty()),
        "a delegated roster is versioned too: {}",
        String::from(&answer)
    );
    assert_eq!(
        items(&answer),
        BTreeMap::from([
            (jid("bob"), both(Some("Bob"), &["Chess", "Friends"])),
            // other.test keeps local rosters: carol never agreed to share
            // her presence, so she is listed without a subscription.
            (
                other_jid("carol"),
                Item {
                    subscription: Some("none".into()),
                    ..both(Some("Carol"), &["Work"])
                }
            ),
            (jid("dave"), both(None, &[])),
            (jid("erin"), both(None, &["Home"])),
        ]),
        "{}",
        String::from(&answer)
    );

    let requests = setup.backend.requests(zoe);
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let request = &requests[0];
    assert_eq!(request.accept.as_deref(), Some("application/json"));
    assert_eq!(
        request.authorization.as_deref(),
        Some("Bearer backend-secret")
    );
    assert!(
        request
            .user_agent
            .as_deref()
            .is_some_and(|ua| ua.starts_with("roostd/")),
        "{request:?}"
    );
    let encoded = request
        .raw_path
        .strip_prefix(roost_tests::roster_backend::PREFIX)
        .unwrap_or_else(|| panic!("{request:?}"));
    assert_eq!(
        encoded.to_ascii_uppercase(),
        "ZO%C3%AB%23%3F%251",
        "the username percent-encoded: {request:?}"
    );

    // `{}` and `[]` are empty rosters, answered as such.
    for (user, body) in [("objectless", json!({})), ("arrayless", json!([]))] {
        setup.user(user);
        setup.backend.set_roster(user, body);
        let mut client = setup.login(user, "r").await;
        let answer = roster_get(&mut client, "r1").await;
        assert!(items(&answer).is_empty(), "{}", String::from(&answer));
        assert_eq!(setup.backend.request_count(user), 1);
    }

    // More items than `[limits] roster_items`: the first by JID order, not
    // the first in the body (which lists them backwards).
    setup.user("popular");
    let many: Vec<String> = (1..=6)
        .rev()
        .map(|n| format!(r#""c{n}@{HOST}": {{"name": "C{n}"}}"#))
        .collect();
    setup
        .backend
        .set("popular", Answer::Text(format!("{{{}}}", many.join(", "))));
    let mut client = setup.login("popular", "r").await;
    let answer = roster_get(&mut client, "r1").await;
    assert_eq!(
        items(&answer).into_keys().collect::<Vec<_>>(),
        ["c1", "c2", "c3", "c4"].map(jid),
        "{}",
        String::from(&answer)
    );
}

// ---------------------------------------------------------------------------
// 2. One fetch per user.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_and_concurrent_requests_of_one_user_share_one_fetch() {
    let setup = Setup::start("timeout = \"5s\"\nmax_concurrent_requests = 2", "").await;
    let backend = &setup.backend;
    let roster = json!({"bob@example.test": {"name": "Bob"}});
    let expected = BTreeMap::from([(jid("bob"), both(Some("Bob"), &[]))]);

    // A second resource is answered from what the first one fetched.
    setup.user("alice");
    backend.set_roster("alice", roster.clone());
    let mut first = setup.login("alice", "one").await;
    assert_eq!(items(&roster_get(&mut first, "r1").await), expected);
    assert_eq!(backend.request_count("alice"), 1);
    let mut second = setup.login("alice", "two").await;
    assert_eq!(items(&roster_get(&mut second, "r1").await), expected);
    assert_eq!(
        backend.request_count("alice"),
        1,
        "the second resource's roster get fetched again"
    );

    // Two first requests at once, from two connections, while the backend
    // holds the answer: one request, and both get the roster.
    setup.user("zed");
    backend.hold();
    backend.set("zed", Answer::Held(roster.clone()));
    let mut z1 = setup.login("zed", "one").await;
    let mut z2 = setup.login("zed", "two").await;
    send_roster_get(&mut z1, "z1").await;
    send_roster_get(&mut z2, "z2").await;
    backend.wait_for_requests("zed", 1).await;
    // Nothing can tell us that roostd has read z2's request (its stream
    // waits for the answer), so give it a moment to make a second request
    // if it would: a wrong second request can only be missed, never invented.
    tokio::time::sleep(Duration::from_millis(300)).await;
    backend.release();
    for (client, id) in [(&mut z1, "z1"), (&mut z2, "z2")] {
        let (answer, _) = read_answer(client, id).await;
        assert_eq!(
            answer.attr("type"),
            Some("result"),
            "{}",
            String::from(&answer)
        );
        assert_eq!(items(&answer), expected, "{id}");
    }
    assert_eq!(
        backend.request_count("zed"),
        1,
        "{:#?}",
        backend.requests("zed")
    );

    // Two refreshes of one user at once: one request.
    backend.hold();
    backend.set("alice", Answer::Held(roster.clone()));
    let client = http();
    tokio::join!(
        async {
            let answer = get_refresh(&client, &setup.server, HOST, "alice", None).await;
            assert_counts(&answer, 1, 0, "first of two refreshes at once");
        },
        async {
            let answer = get_refresh(&client, &setup.server, HOST, "alice", None).await;
            assert_counts(&answer, 1, 0, "second of two refreshes at once");
        },
        async {
            backend.wait_for_requests("alice", 2).await;
            // As above: room for a wrong second request.
            tokio::time::sleep(Duration::from_millis(300)).await;
            backend.release();
        }
    );
    assert_eq!(
        backend.request_count("alice"),
        2,
        "{:#?}",
        backend.requests("alice")
    );

    // At most max_concurrent_requests (2) requests in flight at once.
    let users = ["p1", "p2", "p3", "p4", "p5"];
    for user in users {
        setup.user(user);
        backend.set(
            user,
            Answer::Slow(Duration::from_millis(200), roster.clone()),
        );
    }
    let answer = post_refresh(
        &client,
        &setup.server,
        HOST,
        &serde_json::to_string(&users).unwrap(),
        None,
    )
    .await;
    assert_counts(&answer, 5, 0, "five users refreshed");
    for user in users {
        assert_eq!(backend.request_count(user), 1, "{user}");
    }
    assert!(
        backend.peak_in_flight() <= 2,
        "{} requests in flight at once, max_concurrent_requests = 2",
        backend.peak_in_flight()
    );
}

// ---------------------------------------------------------------------------
// 3. Refresh after the backend changed.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_pushes_the_changes_and_presence_follows() {
    let setup = Setup::start("timeout = \"5s\"", "").await;
    let backend = &setup.backend;
    for user in ["alice", "bob", "dave", "erin"] {
        setup.user(user);
    }
    backend.set_roster(
        "alice",
        json!({
            "bob@example.test": {"name": "Bob", "groups": ["Friends"]},
            "carol@example.test": {"name": "Carol", "groups": {"Work": true}},
        }),
    );
    backend.set_roster("bob", json!({"alice@example.test": {}}));
    backend.set_roster("dave", json!({"alice@example.test": {}}));

    // Dave comes online first: alice is offline, and not in his presence's
    // way until she has him in her roster.
    let mut dave = setup.login("dave", "res").await;
    roster_get(&mut dave, "r1").await;
    dave.send("<presence/>").await;
    sync(&mut dave, "s1").await;

    // Bob and alice see each other (probes answered at initial presence).
    let mut bob = setup.login("bob", "res").await;
    roster_get(&mut bob, "r1").await;
    bob.send("<presence/>").await;
    sync(&mut bob, "s1").await;
    let mut alice = setup.login("alice", "res").await;
    send_roster_get(&mut alice, "r1").await;
    let (before, mut after_login) = read_answer(&mut alice, "r1").await;
    let before_ver = before
        .get_child("query", ROSTER)
        .and_then(|q| q.attr("ver"))
        .map(str::to_owned);
    alice.send("<presence/>").await;
    after_login.extend(
        read_until_seen(&mut alice, "bob's presence", |s| {
            s.iter().any(|el| is_presence(el, &jid("bob"), None))
        })
        .await,
    );
    after_login.extend(sync(&mut alice, "s1").await);
    // The roster answer carried the fetched roster: no pushes of it.
    assert!(
        pushes(&after_login).is_empty(),
        "pushes after the login's roster get: {:#?}",
        show(&after_login)
    );
    read_until_seen(&mut bob, "alice's presence", |s| {
        s.iter().any(|el| is_presence(el, &jid("alice"), None))
    })
    .await;

    // The backend drops bob, renames carol and moves her, adds dave.
    backend.set_roster(
        "alice",
        json!({
            "carol@example.test": {"name": "Carol B.", "groups": ["Home"]},
            "dave@example.test": {"name": "Dave"},
        }),
    );
    let client = http();
    let answer = post_refresh(&client, &setup.server, HOST, r#"["alice"]"#, None).await;
    assert_counts(&answer, 1, 0, "refresh of alice");
    assert_eq!(backend.request_count("alice"), 2);

    let got = read_until_seen(&mut alice, "three pushes and dave's presence", |s| {
        pushes(s).len() >= 3 && s.iter().any(|el| is_presence(el, &jid("dave"), None))
    })
    .await;
    let pushed = pushes(&got);
    for (_, _, ver) in &pushed {
        assert!(
            ver.as_ref().is_some_and(|v| !v.is_empty()) && *ver != before_ver,
            "a push without a new ver: {:#?}",
            show(&got)
        );
    }
    let subscriptions: BTreeMap<String, Option<String>> = pushed
        .iter()
        .map(|(contact, item, _)| (contact.clone(), item.subscription.clone()))
        .collect();
    assert_eq!(
        subscriptions,
        BTreeMap::from([
            (jid("bob"), Some("remove".to_owned())),
            (jid("carol"), Some("both".to_owned())),
            (jid("dave"), Some("both".to_owned())),
        ]),
        "one push per change: {:#?}",
        show(&got)
    );
    let changed: BTreeMap<String, Item> = pushed
        .into_iter()
        .filter(|(contact, _, _)| *contact != jid("bob"))
        .map(|(contact, item, _)| (contact, item))
        .collect();
    assert_eq!(
        changed,
        BTreeMap::from([
            (jid("carol"), both(Some("Carol B."), &["Home"])),
            (jid("dave"), both(Some("Dave"), &[])),
        ]),
        "{:#?}",
        show(&got)
    );
    // Each push comes before the presence it brings.
    let dave_push = got
        .iter()
        .position(|el| push_of(el).is_some_and(|(c, _, _)| c == jid("dave")));
    let dave_presence = got
        .iter()
        .position(|el| is_presence(el, &jid("dave"), None));
    assert!(dave_push < dave_presence, "{:#?}", show(&got));

    // Dave sees alice; bob gets her unavailable, and she his.
    read_until_seen(&mut dave, "alice's presence", |s| {
        s.iter().any(|el| is_presence(el, &jid("alice"), None))
    })
    .await;
    read_until_seen(&mut bob, "alice's unavailable", |s| {
        s.iter()
            .any(|el| is_presence(el, &jid("alice"), Some("unavailable")))
    })
    .await;
    let got = [got, sync(&mut alice, "s1").await].concat();
    assert!(
        got.iter()
            .any(|el| is_presence(el, &jid("bob"), Some("unavailable"))),
        "alice did not get bob's unavailable: {:#?}",
        show(&got)
    );

    // The roster is the new one, from storage: no request of its own.
    let after = roster_get(&mut alice, "r2").await;
    assert_eq!(
        items(&after),
        BTreeMap::from([
            (jid("carol"), both(Some("Carol B."), &["Home"])),
            (jid("dave"), both(Some("Dave"), &[])),
        ])
    );
    assert_eq!(backend.request_count("alice"), 2);

    // GET for one user (the port in Host is ignored); nothing changed,
    // nothing pushed.
    let answer = get_refresh(
        &client,
        &setup.server,
        &format!("{HOST}:5280"),
        "alice",
        None,
    )
    .await;
    assert_counts(&answer, 1, 0, "GET refresh of alice");
    assert_eq!(backend.request_count("alice"), 3);
    let got = sync(&mut alice, "s2").await;
    assert!(pushes(&got).is_empty(), "{:#?}", show(&got));

    // An offline user (erin never logged in) and a user without an account:
    // erin's copy is stored, so her first login shows it while the backend
    // is down; nothing is fetched for the missing account.
    backend.set_roster("erin", json!({"alice@example.test": {"name": "Alice"}}));
    let answer = post_refresh(&client, &setup.server, HOST, r#"["erin", "nobody"]"#, None).await;
    assert_counts(
        &answer,
        2,
        0,
        "refresh of an offline user and of no account",
    );
    assert_eq!(backend.request_count("erin"), 1);
    assert_eq!(backend.request_count("nobody"), 0);
    backend.set("erin", Answer::Status(503));
    let mut erin = setup.login("erin", "res").await;
    let answer = roster_get(&mut erin, "r1").await;
    assert_eq!(
        items(&answer),
        BTreeMap::from([(jid("alice"), both(Some("Alice"), &[]))])
    );
    assert_eq!(
        backend.request_count("erin"),
        2,
        "erin's first roster get of her online period fetches"
    );
}

// ---------------------------------------------------------------------------
// 4. What the refresh endpoint answers.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refresh_endpoint_answers_every_body() {
    let setup = Setup::start("timeout = \"1s\"\nrefresh_body_limit = 64", "").await;
    let backend = &setup.backend;
    let server = &setup.server;
    for user in ["alice", "broken", "hanger"] {
        setup.user(user);
    }
    backend.set_roster("alice", json!({"bob@example.test": {}}));
    backend.set("broken", Answer::Status(500));
    backend.set("hanger", Answer::Hang);
    let client = http();

    let answer = post_refresh(&client, server, HOST, "[]", None).await;
    assert_counts(&answer, 0, 0, "[]");

    for (body, what) in [
        ("not json", "not JSON"),
        ("", "an empty body"),
        (r#"{"users": ["alice"]}"#, "an object"),
        (r#""alice""#, "a string"),
        (r#"["alice", 1]"#, "an array with a number"),
        (r#"["alice", null]"#, "an array with null"),
        (r#"[["alice"]]"#, "an array of arrays"),
    ] {
        let answer = post_refresh(&client, server, HOST, body, None).await;
        assert_refused(&answer, StatusCode::BAD_REQUEST, what);
    }
    let oversized = serde_json::to_string(&["a".repeat(70)]).unwrap();
    let answer = post_refresh(&client, server, HOST, &oversized, None).await;
    assert_refused(
        &answer,
        StatusCode::BAD_REQUEST,
        "a body over refresh_body_limit",
    );
    assert_eq!(
        backend.request_count("alice"),
        0,
        "a refused body fetched something"
    );

    // Duplicates count once.
    let answer = post_refresh(&client, server, HOST, r#"["alice", "alice"]"#, None).await;
    assert_counts(&answer, 1, 0, "a duplicate");
    assert_eq!(backend.request_count("alice"), 1);

    // Failures count in errors; the answer still comes, with the others.
    let answer = post_refresh(&client, server, HOST, r#"["alice", "broken"]"#, None).await;
    assert_counts(&answer, 1, 1, "one failing user");
    let answer = post_refresh(&client, server, HOST, r#"["broken"]"#, None).await;
    assert_counts(&answer, 0, 1, "only a failing user");
    let answer = get_refresh(&client, server, HOST, "broken", None).await;
    assert_counts(&answer, 0, 1, "GET of a failing user");
    let answer = post_refresh(&client, server, HOST, r#"["not@valid", ""]"#, None).await;
    assert_counts(&answer, 0, 2, "names that are not usernames");
    let answer = post_refresh(&client, server, HOST, r#"["hanger", "alice"]"#, None).await;
    assert_counts(&answer, 1, 1, "a backend that hangs for one user");
    assert_eq!(backend.request_count("hanger"), 1);

    // The default refresh_allow is loopback 127.0.0.1 and ::1.
    let elsewhere = roost_tests::http_builder()
        .local_address(IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let answer = post_refresh(&elsewhere, server, HOST, r#"["alice"]"#, None).await;
    assert_refused(&answer, StatusCode::FORBIDDEN, "127.0.0.2 by default");

    // Through a reverse proxy on this machine every caller is 127.0.0.1:
    // without a refresh secret, a forwarded request is refused.
    for header in ["X-Forwarded-For", "X-Real-IP", "Forwarded"] {
        let answer = send(
            client
                .post(server.url("/roster_admin/refresh"))
                .header("Host", HOST)
                .header(header, "for=203.0.113.9")
                .body(r#"["alice"]"#),
        )
        .await;
        assert_refused(&answer, StatusCode::FORBIDDEN, header);
    }
}

// ---------------------------------------------------------------------------
// 5. A failing backend.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_backend_serves_the_last_good_roster_and_blocks_no_one() {
    let mut setup = Setup::start("timeout = \"2s\"", "").await;
    let roster = json!({"bob@example.test": {"name": "Bob"}});
    let expected = BTreeMap::from([(jid("bob"), both(Some("Bob"), &[]))]);
    let modes = [
        ("hang", Answer::Hang),
        ("r500", Answer::Status(500)),
        ("garbage", Answer::Garbage),
        ("big", Answer::TooBig),
    ];
    for (mode, _) in &modes {
        setup.user(&format!("lg_{mode}"));
        setup.user(&format!("new_{mode}"));
    }
    for user in ["lg_refused", "new_refused", "good"] {
        setup.user(user);
    }
    setup.server.create_user(&other_jid("local"), PASSWORD);

    // A good copy for the lg_ users, then a restart: no session remembers it.
    for user in modes
        .iter()
        .map(|(mode, _)| format!("lg_{mode}"))
        .chain(["lg_refused".to_owned()])
    {
        setup.backend.set_roster(&user, roster.clone());
        let mut client = setup.login(&user, "res").await;
        assert_eq!(
            items(&roster_get(&mut client, "r1").await),
            expected,
            "{user}"
        );
    }
    setup.server.kill9_and_restart();
    for (mode, answer) in &modes {
        setup.backend.set(&format!("lg_{mode}"), answer.clone());
        setup.backend.set(&format!("new_{mode}"), answer.clone());
    }
    setup.backend.set_roster("good", roster.clone());

    let mut local = setup.login_other("local", "res").await;
    let mut good = setup.login("good", "res").await;
    let mut clients = Vec::new();
    for (mode, _) in &modes {
        for user in [format!("lg_{mode}"), format!("new_{mode}")] {
            let client = setup.login(&user, "res").await;
            clients.push((user, client));
        }
    }

    // While lg_hang's request hangs, a local user and a delegated user
    // with a working backend get their rosters.
    let (hung_user, hung) = &mut clients[0];
    assert_eq!(hung_user, "lg_hang");
    send_roster_get(hung, "hung").await;
    setup.backend.wait_for_requests("lg_hang", 2).await;
    let answer = roster_get(&mut local, "r1").await;
    assert!(items(&answer).is_empty());
    assert_eq!(items(&roster_get(&mut good, "r1").await), expected);
    assert!(
        nothing_arrived(hung).await,
        "the hanging fetch was answered before the other users' rosters: \
         roostd waited for it"
    );
    let (answer, _) = read_answer(hung, "hung").await;
    assert_eq!(
        answer.attr("type"),
        Some("result"),
        "{}",
        String::from(&answer)
    );
    assert_eq!(items(&answer), expected, "lg_hang: the last good copy");

    // Every other failure: answered, with the last good copy or empty.
    for (user, client) in clients.iter_mut().skip(1) {
        send_roster_get(client, "r1").await;
        let (answer, _) = read_answer(client, "r1").await;
        assert_eq!(
            answer.attr("type"),
            Some("result"),
            "{user}: {}",
            String::from(&answer)
        );
        if user.starts_with("lg_") {
            assert_eq!(items(&answer), expected, "{user}: the last good copy");
        } else {
            assert!(
                items(&answer).is_empty(),
                "{user}: {}",
                String::from(&answer)
            );
        }
    }
    for (mode, _) in &modes {
        assert_eq!(
            setup.backend.request_count(&format!("lg_{mode}")),
            2,
            "lg_{mode}"
        );
        assert_eq!(
            setup.backend.request_count(&format!("new_{mode}")),
            1,
            "new_{mode}"
        );
    }

    // Connection refused: the URL now points at a port nobody listens on.
    let dead_url = format!("http://127.0.0.1:{}/contacts/%s", free_port());
    let config = std::fs::read_to_string(setup.server.config_path())
        .unwrap()
        .replace(&setup.backend.url_template(), &dead_url);
    std::fs::write(setup.server.config_path(), config).unwrap();
    setup.server.kill9_and_restart();
    let mut refused = setup.login("lg_refused", "res").await;
    assert_eq!(
        items(&roster_get(&mut refused, "r1").await),
        expected,
        "lg_refused: the last good copy"
    );
    let mut refused = setup.login("new_refused", "res").await;
    assert!(items(&roster_get(&mut refused, "r1").await).is_empty());
    assert_eq!(setup.backend.request_count("lg_refused"), 1);

    // Each failure logged once, with its URL.
    let (_, log) = setup.server.terminate();
    let backend_url = |user: &str| format!("http://{}/contacts/{user}", setup.backend.addr);
    let failures = modes
        .iter()
        .flat_map(|(mode, _)| {
            [
                backend_url(&format!("lg_{mode}")),
                backend_url(&format!("new_{mode}")),
            ]
        })
        .chain(["lg_refused", "new_refused"].map(|u| dead_url.replace("%s", u)));
    for url in failures {
        let lines = log
            .lines()
            .filter(|l| l.contains("WARN") && l.contains(&url))
            .count();
        assert_eq!(lines, 1, "warnings naming {url}:\n{log}");
    }
}

// ---------------------------------------------------------------------------
// 6. The backend is the source of truth.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roster_edits_and_subscriptions_are_refused() {
    let setup = Setup::start("timeout = \"5s\"", "").await;
    for user in ["alice", "bob"] {
        setup.user(user);
    }
    setup.server.create_user(&other_jid("olga"), PASSWORD);
    setup
        .backend
        .set_roster("alice", json!({"bob@example.test": {"name": "Bob"}}));
    setup
        .backend
        .set_roster("bob", json!({"alice@example.test": {"name": "Alice"}}));
    let alice_roster = BTreeMap::from([(jid("bob"), both(Some("Bob"), &[]))]);

    let mut alice = setup.login("alice", "res").await;
    assert_eq!(items(&roster_get(&mut alice, "r1").await), alice_roster);
    alice.send("<presence/>").await;
    let mut bob = setup.login("bob", "res").await;
    roster_get(&mut bob, "r1").await;
    bob.send("<presence/>").await;
    sync(&mut bob, "s0").await;

    // Roster set and remove.
    for (id, item) in [
        (
            "add",
            format!("<item jid='{}' name='Carol'/>", jid("carol")),
        ),
        (
            "rename",
            format!("<item jid='{}' name='Robert'/>", jid("bob")),
        ),
        (
            "remove",
            format!("<item jid='{}' subscription='remove'/>", jid("bob")),
        ),
    ] {
        alice
            .send(&format!(
                "<iq type='set' id='{id}'><query xmlns='{ROSTER}'>{item}</query></iq>"
            ))
            .await;
        let (answer, _) = read_answer(&mut alice, id).await;
        assert_eq!(
            answer.attr("type"),
            Some("error"),
            "{}",
            String::from(&answer)
        );
        assert_eq!(
            error_of(&answer),
            Some(("cancel".into(), "not-allowed".into(), ROSTER_REFUSAL.into())),
            "{id}: {}",
            String::from(&answer)
        );
    }
    assert_eq!(items(&roster_get(&mut alice, "r2").await), alice_roster);

    // Subscription presences from a delegated user, to delegated and local
    // users alike.
    let kinds = ["subscribe", "subscribed", "unsubscribe", "unsubscribed"];
    for to in [jid("bob"), other_jid("olga")] {
        for kind in kinds {
            let id = format!("{kind}-{to}");
            alice
                .send(&format!("<presence type='{kind}' to='{to}' id='{id}'/>"))
                .await;
            let got = read_until_seen(&mut alice, &format!("the error to {id}"), |s| {
                s.iter()
                    .any(|el| el.name() == "presence" && el.attr("id") == Some(&id))
            })
            .await;
            let error = got.iter().find(|el| el.attr("id") == Some(&id)).unwrap();
            assert_eq!(error.attr("type"), Some("error"), "{}", String::from(error));
            assert_eq!(
                error_of(error),
                Some((
                    "cancel".into(),
                    "not-allowed".into(),
                    SUBSCRIPTION_REFUSAL.into()
                )),
                "{}",
                String::from(error)
            );
        }
    }
    // Bob got none of it and his roster is as before.
    let got = sync(&mut bob, "s1").await;
    assert!(
        !got.iter().any(
            |el| el.name() == "presence" && el.attr("type").is_some_and(|t| kinds.contains(&t))
        ),
        "{:#?}",
        show(&got)
    );
    assert!(pushes(&got).is_empty(), "{:#?}", show(&got));
    assert_eq!(
        items(&roster_get(&mut bob, "r2").await),
        BTreeMap::from([(jid("alice"), both(Some("Alice"), &[]))])
    );

    // From a local user to a delegated one: refused, nothing stored.
    let mut olga = setup.login_other("olga", "res").await;
    assert!(items(&roster_get(&mut olga, "r1").await).is_empty());
    for kind in kinds {
        let id = format!("{kind}-olga");
        olga.send(&format!(
            "<presence type='{kind}' to='{}' id='{id}'/>",
            jid("alice")
        ))
        .await;
        let got = read_until_seen(&mut olga, &format!("the error to {id}"), |s| {
            s.iter()
                .any(|el| el.name() == "presence" && el.attr("id") == Some(&id))
        })
        .await;
        let error = got.iter().find(|el| el.attr("id") == Some(&id)).unwrap();
        assert_eq!(error.attr("type"), Some("error"), "{}", String::from(error));
        assert_eq!(
            error_of(error).map(|(t, c, _)| (t, c)),
            Some(("cancel".into(), "not-allowed".into())),
            "{}",
            String::from(error)
        );
        assert!(pushes(&got).is_empty(), "{:#?}", show(&got));
    }
    assert!(
        items(&roster_get(&mut olga, "r2").await).is_empty(),
        "a refused subscription left an item"
    );
    let got = sync(&mut alice, "s1").await;
    assert!(
        !got.iter().any(
            |el| el.name() == "presence" && el.attr("type").is_some_and(|t| kinds.contains(&t))
        ),
        "{:#?}",
        show(&got)
    );

    // Presence still flows as between mutual subscribers: bob leaving is
    // an unavailable for alice.
    bob.send("</stream:stream>").await;
    bob.read_to_end().await;
    read_until_seen(&mut alice, "bob's unavailable", |s| {
        s.iter()
            .any(|el| is_presence(el, &jid("bob"), Some("unavailable")))
    })
    .await;
}

// ---------------------------------------------------------------------------
// 7. Who may call the refresh endpoint.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refresh_endpoint_serves_only_allowed_callers() {
    let secrets = tempfile::tempdir().unwrap();
    let secret_file = secrets.path().join("refresh.secret");
    let secret = "refresh-secret-0123456789";
    std::fs::write(&secret_file, secret).unwrap();
    let setup = Setup::start(
        &format!(
            "timeout = \"5s\"\nrefresh_allow = [\"127.0.0.1\"]\nrefresh_secret_file = \"{}\"",
            secret_file.display()
        ),
        "",
    )
    .await;
    setup.user("alice");
    setup
        .backend
        .set_roster("alice", json!({"bob@example.test": {}}));
    let server = &setup.server;
    let here = http();
    let elsewhere = roost_tests::http_builder()
        .local_address(IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let right = Some(secret);

    // A host served without delegation: 404.
    let answer = post_refresh(&here, server, OTHER_HOST, r#"["alice"]"#, right).await;
    assert_refused(&answer, StatusCode::NOT_FOUND, "POST, Host other.test");
    let answer = get_refresh(&here, server, OTHER_HOST, "alice", right).await;
    assert_refused(&answer, StatusCode::NOT_FOUND, "GET, Host other.test");
    assert_eq!(setup.backend.request_count("alice"), 0);

    // Outside refresh_allow: 403, even with the secret.
    let answer = post_refresh(&elsewhere, server, HOST, r#"["alice"]"#, right).await;
    assert_refused(&answer, StatusCode::FORBIDDEN, "POST from 127.0.0.2");
    let answer = get_refresh(&elsewhere, server, HOST, "alice", right).await;
    assert_refused(&answer, StatusCode::FORBIDDEN, "GET from 127.0.0.2");

    // Without the right secret: 403, before the body is looked at.
    let wrong_secret = format!("{secret}x");
    for (bearer, what) in [
        (None, "no secret"),
        (Some("wrong"), "a wrong secret"),
        (Some(wrong_secret.as_str()), "the secret with one more byte"),
        (
            Some(&secret[..secret.len() - 1]),
            "the secret less its last byte",
        ),
    ] {
        let answer = post_refresh(&here, server, HOST, r#"["alice"]"#, bearer).await;
        assert_refused(&answer, StatusCode::FORBIDDEN, &format!("POST, {what}"));
        let answer = get_refresh(&here, server, HOST, "alice", bearer).await;
        assert_refused(&answer, StatusCode::FORBIDDEN, &format!("GET, {what}"));
    }
    let basic = send(
        here.get(server.url("/roster_admin/refresh/alice"))
            .header("Host", HOST)
            .header("Authorization", format!("Basic {secret}")),
    )
    .await;
    assert_refused(&basic, StatusCode::FORBIDDEN, "the secret as Basic");
    let answer = post_refresh(&here, server, HOST, "not json", None).await;
    assert_refused(
        &answer,
        StatusCode::FORBIDDEN,
        "a bad body without the secret",
    );
    assert_eq!(setup.backend.request_count("alice"), 0);

    // The right secret from an allowed address.
    let answer = post_refresh(&here, server, HOST, r#"["alice"]"#, right).await;
    assert_counts(&answer, 1, 0, "POST with the secret");
    let answer = get_refresh(&here, server, HOST, "alice", right).await;
    assert_counts(&answer, 1, 0, "GET with the secret");
    assert_eq!(setup.backend.request_count("alice"), 2);
    // A Host naming none of our hosts (an address, a proxy's name) means the
    // only delegated host.
    for host in ["127.0.0.1", "proxy.internal"] {
        let answer = get_refresh(&here, server, host, "alice", right).await;
        assert_counts(&answer, 1, 0, &format!("GET, Host {host}"));
    }
    assert_eq!(setup.backend.request_count("alice"), 4);

    // A browser's preflight gets no CORS either.
    let preflight = send(
        here.request(
            reqwest::Method::OPTIONS,
            server.url("/roster_admin/refresh"),
        )
        .header("Host", HOST)
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization"),
    )
    .await;
    assert_no_cors(&preflight, "OPTIONS");
}

// ---------------------------------------------------------------------------
// 8. Bad configuration.

/// Runs `roostd ARGS --config FILE` with `config` as the file; returns
/// (success, stderr, file path, the directory it ran in).
fn run_roostd(config: &str, args: &[&str]) -> (bool, String, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roost.toml");
    std::fs::write(&path, config).unwrap();
    let mut child = Command::new(roostd_bin())
        .args(args)
        .arg("--config")
        .arg(&path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A config roostd accepts would make it run: give it a while, then stop it.
    let deadline = std::time::Instant::now() + WAIT;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        path.display().to_string(),
        dir,
    )
}

fn config_with(delegation: &str) -> String {
    format!(
        "hosts = [\"a.test\", \"b.test\"]\ndata_dir = \"data\"\n\n\
         [http]\nbind = \"127.0.0.1:{}\"\n\n{delegation}",
        free_port()
    )
}

#[test]
fn a_bad_url_template_stops_roostd_at_startup() {
    // The second table's url is the bad one, after another option and
    // after a good url: the error must name its own line.
    let good = "[roster_delegation.\"a.test\"]\nurl = \"https://app.test/contacts/%s\"\n\n";
    let config = config_with(&format!(
        "{good}[roster_delegation.\"b.test\"]\ntimeout = \"1s\"\nurl = \"https://app.test/contacts/\"\n"
    ));
    let line = config
        .lines()
        .position(|l| l == "url = \"https://app.test/contacts/\"")
        .unwrap()
        + 1;
    let (ok, err, path, dir) = run_roostd(&config, &[]);
    assert!(!ok, "roostd started with a url without %s: {err}");
    assert!(err.contains(&format!("{path}:{line}:")), "{err}");
    assert!(err.contains("roster_delegation"), "{err}");
    assert!(err.contains("b.test"), "{err}");
    assert!(err.contains("url"), "{err}");
    assert!(
        !dir.path().join("data").exists(),
        "nothing is created on a bad config"
    );

    // The same config with a good template passes the check: the refusals
    // below are the template's.
    let fixed = config.replace("contacts/\"", "contacts/%s\"");
    let (ok, err, _, _) = run_roostd(&fixed, &["--check-config"]);
    assert!(ok, "{err}");

    for url in [
        "ftp://app.test/contacts/%s",
        "app.test/contacts/%s",
        "https://app.test/contacts/%s/%s",
        "https://%s.app.test/contacts",
        "https:///contacts/%s",
    ] {
        let config = config_with(&format!(
            "{good}[roster_delegation.\"b.test\"]\nurl = \"{url}\"\n"
        ));
        let line = config.lines().count();
        let (ok, err, path, _) = run_roostd(&config, &["--check-config"]);
        assert!(!ok, "{url} accepted");
        assert!(err.contains(&format!("{path}:{line}:")), "{url}: {err}");
        assert!(
            err.contains("roster_delegation") && err.contains("url"),
            "{url}: {err}"
        );
    }

    // Delegating a host roostd does not serve.
    let config = config_with("[roster_delegation.\"c.test\"]\nurl = \"https://app.test/%s\"\n");
    let (ok, err, _, _) = run_roostd(&config, &["--check-config"]);
    assert!(!ok, "a delegation for a host not in hosts accepted");
    assert!(
        err.contains("roster_delegation") && err.contains("c.test"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------
// 9. An independent client.

/// tokio-xmpp, a client library of its own, logs in over STARTTLS and
/// legacy SASL to a delegated host: its roster get is the service's roster,
/// and a refresh reaches it as pushes it acknowledges like any other.
#[tokio::test]
async fn an_independent_client_sees_the_delegated_roster_and_its_pushes() {
    roost_tests::client::with_client_retries(|| async {
        let setup = Setup::start("timeout = \"5s\"", "").await;
        setup.user("alice");
        setup.backend.set_roster(
            "alice",
            json!({"bob@example.test": {"name": "Bob", "groups": {"Class 4b": true}}}),
        );
        let mut alice = roost_tests::client::login(&setup.server, &jid("alice"), PASSWORD)
            .await
            .expect("tokio-xmpp logs in");
        let roster = alice.roster().await;
        assert_eq!(roster.len(), 1, "{roster:?}");
        assert_eq!(roster[0].attr("jid"), Some("bob@example.test"));
        assert_eq!(roster[0].attr("name"), Some("Bob"));
        assert_eq!(roster[0].attr("subscription"), Some("both"));
        let groups: Vec<String> = roster[0].children().map(Element::text).collect();
        assert_eq!(groups, ["Class 4b"]);

        setup
            .backend
            .set_roster("alice", json!({"carol@example.test": {"name": "Carol"}}));
        let answer = post_refresh(&http(), &setup.server, HOST, r#"["alice"]"#, None).await;
        assert_counts(&answer, 1, 0, "refresh seen by tokio-xmpp");
        let mut pushed = BTreeSet::new();
        for _ in 0..2 {
            let push = alice
                .expect("bob's removal and carol's addition", |el| {
                    roost_tests::client::is_push_for(el, "bob@example.test", "remove")
                        || roost_tests::client::is_push_for(el, "carol@example.test", "both")
                })
                .await;
            let item = push
                .get_child("query", ROSTER)
                .and_then(|q| q.get_child("item", ROSTER))
                .and_then(|i| i.attr("jid"))
                .map(str::to_owned);
            pushed.extend(item);
        }
        assert_eq!(
            pushed,
            BTreeSet::from([
                "bob@example.test".to_owned(),
                "carol@example.test".to_owned()
            ])
        );
        // The client is still in good standing: an ordinary query works.
        let again = alice.roster().await;
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].attr("jid"), Some("carol@example.test"));
    })
    .await;
}
