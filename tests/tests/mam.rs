//! The message archive (XEP-0313 with XEP-0359 stanza ids, issue 13 item
//! 3) against the real roostd with the raw client: both directions are
//! archived, the id a recipient is delivered (live or from offline
//! storage) is its archive's id, a message kept offline is archived once,
//! paging both ways, filters, preferences, hints, errors, disco, and
//! `roostctl archive size`/`purge`.

use roost_tests::raw::RawClient;
use roost_tests::raw_stanzas::{error_of, read_answer, sync};
use roost_tests::{HOST, Server, stdout};
use tokio_xmpp::minidom::Element;

const PASSWORD: &str = "correct horse battery";
const MAM: &str = "urn:xmpp:mam:2";
const SID: &str = "urn:xmpp:sid:0";
const RSM: &str = "http://jabber.org/protocol/rsm";
const FORWARD: &str = "urn:xmpp:forward:0";
const CLIENT: &str = "jabber:client";

fn jid(user: &str) -> String {
    format!("{user}@{HOST}")
}

fn server_with(users: &[&str], extra: &str) -> Server {
    let server = Server::start_with(extra);
    for user in users {
        server.create_user(&jid(user), PASSWORD);
    }
    server
}

/// A bound, available session of `user`.
async fn online(server: &Server, user: &str, resource: &str) -> RawClient {
    let mut client = RawClient::bound(server, user, PASSWORD, resource).await;
    client.send("<presence/>").await;
    client
}

async fn chat(client: &mut RawClient, to: &str, body: &str, extra: &str) {
    client
        .send(&format!(
            "<message type='chat' to='{to}' id='{body}'><body>{body}</body>{extra}</message>"
        ))
        .await;
}

fn body(message: &Element) -> Option<String> {
    message.get_child("body", CLIENT).map(Element::text)
}

/// The messages among `stanzas` with a body, as (body, stanza-ids by the account `by`).
fn delivered(stanzas: &[Element], by: &str) -> Vec<(String, Vec<String>)> {
    stanzas
        .iter()
        .filter(|s| s.name() == "message")
        .filter_map(|s| Some((body(s)?, stanza_ids(s, by))))
        .collect()
}

fn stanza_ids(message: &Element, by: &str) -> Vec<String> {
    message
        .children()
        .filter(|c| c.is("stanza-id", SID) && c.attr("by") == Some(by))
        .filter_map(|c| c.attr("id").map(str::to_owned))
        .collect()
}

/// One result of a query: (archive id, the archived message).
#[derive(Debug, Clone)]
struct Archived {
    id: String,
    stamp: String,
    message: Element,
}

/// The answer to a query and the results before it.
#[derive(Debug)]
struct Answer {
    iq: Element,
    results: Vec<Archived>,
}

impl Answer {
    fn fin(&self) -> &Element {
        self.iq
            .get_child("fin", MAM)
            .unwrap_or_else(|| panic!("no fin in {:?}", self.iq))
    }

    fn complete(&self) -> bool {
        self.fin().attr("complete") == Some("true")
    }

    fn rsm(&self, name: &str) -> Option<String> {
        self.fin()
            .get_child("set", RSM)?
            .get_child(name, RSM)
            .map(Element::text)
    }

    fn bodies(&self) -> Vec<String> {
        self.results
            .iter()
            .map(|r| body(&r.message).unwrap_or_default())
            .collect()
    }

    fn error(&self) -> Option<(String, String, String)> {
        error_of(&self.iq)
    }
}

/// Sends a MAM query with `form_fields` (var, value) and RSM `set`
/// children, and reads the results up to the answer.
async fn query(
    client: &mut RawClient,
    id: &str,
    to: Option<&str>,
    form_fields: &[(&str, &str)],
    set: &str,
) -> Answer {
    let to = to.map_or_else(String::new, |to| format!(" to='{to}'"));
    let form = if form_fields.is_empty() {
        String::new()
    } else {
        let fields: String = form_fields
            .iter()
            .map(|(var, value)| format!("<field var='{var}'><value>{value}</value></field>"))
            .collect();
        format!(
            "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>\
             <value>{MAM}</value></field>{fields}</x>"
        )
    };
    let set = if set.is_empty() {
        String::new()
    } else {
        format!("<set xmlns='{RSM}'>{set}</set>")
    };
    client
        .send(&format!(
            "<iq type='set' id='{id}'{to}><query xmlns='{MAM}' queryid='q-{id}'>{form}{set}</query></iq>"
        ))
        .await;
    let (iq, before) = read_answer(client, id).await;
    let results = before
        .iter()
        .filter_map(|m| {
            let result = m.get_child("result", MAM)?;
            assert_eq!(result.attr("queryid"), Some(format!("q-{id}").as_str()));
            let forwarded = result.get_child("forwarded", FORWARD)?;
            Some(Archived {
                id: result.attr("id")?.to_owned(),
                stamp: forwarded
                    .get_child("delay", "urn:xmpp:delay")?
                    .attr("stamp")?
                    .to_owned(),
                message: forwarded.get_child("message", CLIENT)?.clone(),
            })
        })
        .collect();
    Answer { iq, results }
}

async fn everything(client: &mut RawClient, id: &str) -> Answer {
    query(client, id, None, &[], "<max>250</max>").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_directions_are_archived_and_the_delivered_id_is_the_archives() {
    let server = server_with(&["alice", "bob"], "");
    let (alice, bob) = (jid("alice"), jid("bob"));
    let mut alice_c = online(&server, "alice", "laptop").await;
    let mut bob_c = online(&server, "bob", "phone").await;
    sync(&mut alice_c, "s0").await;
    sync(&mut bob_c, "s1").await;

    // A forged id in bob's name is removed; one by someone else stays, as
    // does the sender's origin-id.
    chat(
        &mut alice_c,
        &bob,
        "hello",
        &format!(
            "<stanza-id xmlns='{SID}' id='forged' by='{bob}'/>\
             <stanza-id xmlns='{SID}' id='theirs' by='elsewhere.test'/>\
             <origin-id xmlns='{SID}' id='origin-1'/>"
        ),
    )
    .await;
    sync(&mut alice_c, "s2").await;
    chat(&mut bob_c, &alice, "hi back", "").await;
    let arrived = sync(&mut bob_c, "s3").await;
    let got = delivered(&arrived, &bob);
    assert_eq!(got.len(), 1, "{got:?}");
    let (text, ids) = &got[0];
    assert_eq!(text, "hello");
    assert_eq!(ids.len(), 1, "exactly the server's id: {ids:?}");
    assert_ne!(ids[0], "forged");
    let live = arrived.iter().find(|s| body(s).is_some()).unwrap();
    assert_eq!(stanza_ids(live, "elsewhere.test"), ["theirs"]);
    let origin = live.get_child("origin-id", SID).expect("origin-id kept");
    assert_eq!(origin.attr("id"), Some("origin-1"));

    let bobs = everything(&mut bob_c, "q1").await;
    assert_eq!(bobs.bodies(), ["hello", "hi back"]);
    assert!(bobs.complete());
    assert_eq!(bobs.rsm("count").as_deref(), Some("2"));
    assert_eq!(
        bobs.results[0].id, ids[0],
        "the delivered id is the archive's"
    );
    assert_eq!(bobs.rsm("first").as_deref(), Some(ids[0].as_str()));
    let incoming = &bobs.results[0].message;
    assert!(incoming.attr("from").unwrap().starts_with(&alice));
    assert_eq!(incoming.attr("to"), Some(bob.as_str()));
    assert_eq!(
        incoming
            .get_child("origin-id", SID)
            .and_then(|o| o.attr("id")),
        Some("origin-1")
    );
    let outgoing = &bobs.results[1].message;
    assert_eq!(outgoing.attr("from"), Some(format!("{bob}/phone").as_str()));
    assert!(
        bobs.results[0].stamp <= bobs.results[1].stamp && bobs.results[0].stamp.ends_with('Z'),
        "{bobs:?}"
    );

    let alices = everything(&mut alice_c, "q2").await;
    assert_eq!(alices.bodies(), ["hello", "hi back"]);
    assert_ne!(alices.results[0].id, ids[0], "each archive has its own ids");
    // Results go to the session that asked, from the account.
    let ask_again = query(&mut alice_c, "q3", Some(&alice), &[], "<max>1</max>").await;
    assert_eq!(ask_again.bodies(), ["hello"]);
    assert!(!ask_again.complete());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_message_carries_its_archive_id_and_is_archived_once() {
    let server = server_with(&["alice", "bob"], "");
    let bob = jid("bob");
    let mut alice_c = online(&server, "alice", "laptop").await;
    for text in ["while-away-1", "while-away-2"] {
        chat(&mut alice_c, &bob, text, "").await;
    }
    sync(&mut alice_c, "s0").await;
    let mut bob_c = online(&server, "bob", "phone").await;
    let arrived = sync(&mut bob_c, "s1").await;
    let got = delivered(&arrived, &bob);
    assert_eq!(
        got.iter().map(|(b, _)| b.as_str()).collect::<Vec<_>>(),
        ["while-away-1", "while-away-2"]
    );
    let archive = everything(&mut bob_c, "q1").await;
    assert_eq!(
        archive.bodies(),
        ["while-away-1", "while-away-2"],
        "archived at routing, not again at delivery"
    );
    for ((_, ids), result) in got.iter().zip(&archive.results) {
        assert_eq!(ids, std::slice::from_ref(&result.id));
    }
    // A second login gets nothing from offline storage and the archive
    // still holds the two.
    drop(bob_c);
    let mut tablet = online(&server, "bob", "tablet").await;
    assert!(delivered(&sync(&mut tablet, "s2").await, &bob).is_empty());
    assert_eq!(everything(&mut tablet, "q2").await.results.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_forwards_backwards_and_filters() {
    let server = server_with(&["alice", "bob", "carol"], "");
    let bob = jid("bob");
    let mut alice_c = online(&server, "alice", "laptop").await;
    let mut carol_c = online(&server, "carol", "desk").await;
    let mut bob_c = online(&server, "bob", "phone").await;
    let expected: Vec<String> = (0..12).map(|i| format!("m{i:02}")).collect();
    for text in &expected {
        chat(&mut alice_c, &bob, text, "").await;
    }
    sync(&mut alice_c, "s0").await;
    for text in ["c1", "c2", "c3"] {
        chat(&mut carol_c, &bob, text, "").await;
    }
    sync(&mut carol_c, "s1").await;
    sync(&mut bob_c, "s2").await;

    // Forwards, five at a time.
    let mut seen = Vec::new();
    let mut after = String::new();
    for page in 0.. {
        let answer = query(
            &mut bob_c,
            &format!("f{page}"),
            None,
            &[],
            &format!("<max>5</max>{after}"),
        )
        .await;
        assert_eq!(answer.rsm("count").as_deref(), Some("15"));
        seen.extend(answer.bodies());
        let last = answer.rsm("last").expect("a page names its last");
        assert_eq!(last, answer.results.last().unwrap().id);
        after = format!("<after>{last}</after>");
        if answer.complete() {
            assert_eq!(page, 2);
            break;
        }
    }
    let mut all = expected.clone();
    all.extend(["c1", "c2", "c3"].map(String::from));
    assert_eq!(seen, all);

    // Backwards from the end: the last page first, each in time order.
    let mut pages = Vec::new();
    let mut before = "<before/>".to_owned();
    for page in 0.. {
        let answer = query(
            &mut bob_c,
            &format!("b{page}"),
            None,
            &[],
            &format!("<max>5</max>{before}"),
        )
        .await;
        let first = answer.rsm("first").expect("a page names its first");
        before = format!("<before>{first}</before>");
        pages.push(answer.bodies());
        if answer.complete() {
            break;
        }
    }
    assert_eq!(pages[0], ["m10", "m11", "c1", "c2", "c3"]);
    pages.reverse();
    assert_eq!(pages.concat(), all);

    // With one contact; a time range.
    let carols = query(&mut bob_c, "w", None, &[("with", &jid("carol"))], "").await;
    assert_eq!(carols.bodies(), ["c1", "c2", "c3"]);
    assert!(carols.complete());
    let none = query(
        &mut bob_c,
        "t1",
        None,
        &[("end", "2001-01-01T00:00:00Z")],
        "",
    )
    .await;
    assert!(none.results.is_empty() && none.complete(), "{none:?}");
    let since = query(
        &mut bob_c,
        "t2",
        None,
        &[("start", "2001-01-01T00:00:00Z"), ("with", &jid("alice"))],
        "<max>3</max>",
    )
    .await;
    assert_eq!(since.bodies(), ["m00", "m01", "m02"]);
    // Between two ids (extended fields).
    let ids: Vec<String> = everything(&mut bob_c, "all")
        .await
        .results
        .iter()
        .map(|r| r.id.clone())
        .collect();
    let between = query(
        &mut bob_c,
        "x",
        None,
        &[("after-id", &ids[2]), ("before-id", &ids[6])],
        "",
    )
    .await;
    assert_eq!(between.bodies(), ["m03", "m04", "m05"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preferences_and_hints_decide_what_is_kept() {
    let server = server_with(&["alice", "bob"], "");
    let (alice, bob) = (jid("alice"), jid("bob"));
    let mut alice_c = online(&server, "alice", "laptop").await;
    let mut bob_c = online(&server, "bob", "phone").await;

    // The server's default, before bob sets anything.
    bob_c
        .send(&format!(
            "<iq type='get' id='p0'><prefs xmlns='{MAM}'/></iq>"
        ))
        .await;
    let (prefs, _) = read_answer(&mut bob_c, "p0").await;
    assert_eq!(
        prefs
            .get_child("prefs", MAM)
            .and_then(|p| p.attr("default")),
        Some("always"),
        "{prefs:?}"
    );

    // Bob keeps nothing: no id on what he is delivered, nothing archived
    // for him; alice keeps her copy.
    bob_c
        .send(&format!(
            "<iq type='set' id='p1'><prefs xmlns='{MAM}' default='never'><always/><never/></prefs></iq>"
        ))
        .await;
    let (answer, _) = read_answer(&mut bob_c, "p1").await;
    assert_eq!(answer.attr("type"), Some("result"), "{answer:?}");
    chat(&mut alice_c, &bob, "unkept", "").await;
    sync(&mut alice_c, "s0").await;
    let arrived = sync(&mut bob_c, "s1").await;
    assert_eq!(delivered(&arrived, &bob), [("unkept".to_owned(), vec![])]);
    assert!(everything(&mut bob_c, "q1").await.results.is_empty());
    assert_eq!(everything(&mut alice_c, "q2").await.bodies(), ["unkept"]);

    // Never by default, but always alice.
    bob_c
        .send(&format!(
            "<iq type='set' id='p2'><prefs xmlns='{MAM}' default='never'>\
             <always><jid>{alice}</jid></always><never/></prefs></iq>"
        ))
        .await;
    let (answer, _) = read_answer(&mut bob_c, "p2").await;
    let always: Vec<String> = answer
        .get_child("prefs", MAM)
        .and_then(|p| p.get_child("always", MAM))
        .map(|a| a.children().map(Element::text).collect())
        .unwrap_or_default();
    assert_eq!(always, std::slice::from_ref(&alice), "{answer:?}");
    chat(&mut alice_c, &bob, "kept", "").await;
    // A hint keeps the next one out of both archives.
    chat(
        &mut alice_c,
        &bob,
        "secret",
        "<no-store xmlns='urn:xmpp:hints'/>",
    )
    .await;
    // Chat states alone are not archived.
    alice_c
        .send(&format!(
            "<message type='chat' to='{bob}'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>"
        ))
        .await;
    sync(&mut alice_c, "s2").await;
    let arrived = sync(&mut bob_c, "s3").await;
    let got = delivered(&arrived, &bob);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].0, "kept");
    assert_eq!(got[0].1.len(), 1);
    assert_eq!(got[1], ("secret".to_owned(), vec![]));
    assert_eq!(everything(&mut bob_c, "q3").await.bodies(), ["kept"]);
    assert_eq!(
        everything(&mut alice_c, "q4").await.bodies(),
        ["unkept", "kept"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queries_get_the_right_errors() {
    let server = server_with(&["alice", "bob"], "");
    let mut alice_c = online(&server, "alice", "laptop").await;
    chat(&mut alice_c, &jid("bob"), "one", "").await;
    sync(&mut alice_c, "s0").await;

    let unknown = query(&mut alice_c, "e1", None, &[], "<after>no-such-id</after>").await;
    assert_eq!(
        unknown.error().map(|e| e.1).as_deref(),
        Some("item-not-found"),
        "{unknown:?}"
    );
    let unknown = query(&mut alice_c, "e2", None, &[], "<before>no-such-id</before>").await;
    assert_eq!(
        unknown.error().map(|e| e.1).as_deref(),
        Some("item-not-found")
    );
    let foreign = query(&mut alice_c, "e3", Some(&jid("bob")), &[], "").await;
    assert_eq!(foreign.error().map(|e| e.1).as_deref(), Some("forbidden"));
    assert!(foreign.results.is_empty());
    let bad = query(&mut alice_c, "e4", None, &[("colour", "red")], "").await;
    assert_eq!(bad.error().map(|e| e.1).as_deref(), Some("bad-request"));
    let bad = query(&mut alice_c, "e5", None, &[("start", "last tuesday")], "").await;
    assert_eq!(bad.error().map(|e| e.1).as_deref(), Some("bad-request"));
    let index = query(&mut alice_c, "e6", None, &[], "<index>3</index>").await;
    assert_eq!(
        index.error().map(|e| e.1).as_deref(),
        Some("feature-not-implemented")
    );

    // The form is discoverable.
    alice_c
        .send(&format!(
            "<iq type='get' id='f'><query xmlns='{MAM}'/></iq>"
        ))
        .await;
    let (form, _) = read_answer(&mut alice_c, "f").await;
    let vars: Vec<&str> = form
        .get_child("query", MAM)
        .and_then(|q| q.get_child("x", "jabber:x:data"))
        .map(|x| x.children().filter_map(|f| f.attr("var")).collect())
        .unwrap_or_default();
    assert_eq!(
        vars,
        [
            "FORM_TYPE",
            "with",
            "start",
            "end",
            "after-id",
            "before-id",
            "ids"
        ]
    );
}

async fn disco_features(client: &mut RawClient, id: &str, to: &str) -> Vec<String> {
    client
        .send(&format!(
            "<iq type='get' id='{id}' to='{to}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        ))
        .await;
    let (answer, _) = read_answer(client, id).await;
    answer
        .get_child("query", "http://jabber.org/protocol/disco#info")
        .map(|q| {
            q.children()
                .filter(|c| c.name() == "feature")
                .filter_map(|c| c.attr("var").map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_advertises_the_archive() {
    let server = server_with(&["alice"], "");
    let mut alice_c = online(&server, "alice", "laptop").await;
    let account = disco_features(&mut alice_c, "d1", &jid("alice")).await;
    for feature in [MAM, SID, "urn:xmpp:mam:2#extended"] {
        assert!(
            account.iter().any(|f| f == feature),
            "{feature}: {account:?}"
        );
    }
    let host = disco_features(&mut alice_c, "d2", HOST).await;
    assert!(host.iter().any(|f| f == SID), "{host:?}");
    assert!(!host.iter().any(|f| f == MAM), "{host:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switched_off_there_are_no_ids_no_archive_and_no_features() {
    let server = server_with(&["alice", "bob"], "[archive]\nenabled = false\n");
    let bob = jid("bob");
    let mut alice_c = online(&server, "alice", "laptop").await;
    let mut bob_c = online(&server, "bob", "phone").await;
    chat(&mut alice_c, &bob, "plain", "").await;
    sync(&mut alice_c, "s0").await;
    let arrived = sync(&mut bob_c, "s1").await;
    assert_eq!(delivered(&arrived, &bob), [("plain".to_owned(), vec![])]);
    let answer = everything(&mut bob_c, "q").await;
    assert_eq!(
        answer.error().map(|e| e.1).as_deref(),
        Some("service-unavailable")
    );
    let account = disco_features(&mut bob_c, "d", &bob).await;
    assert!(!account.iter().any(|f| f == MAM || f == SID), "{account:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roostctl_shows_the_size_and_purges() {
    let server = server_with(&["alice", "bob"], "");
    let (alice, bob) = (jid("alice"), jid("bob"));
    let mut alice_c = online(&server, "alice", "laptop").await;
    for text in ["one", "two", "three"] {
        chat(&mut alice_c, &bob, text, "").await;
    }
    sync(&mut alice_c, "s0").await;

    let out = server.ctl(&["archive", "size", &alice, "--json"]);
    assert!(out.status.success(), "{out:?}");
    let size: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(size["jid"], alice.as_str());
    assert_eq!(size["messages"], 3);
    assert!(size["bytes"].as_u64().unwrap() > 3 * 40, "{size}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let oldest = size["oldest"].as_i64().unwrap();
    assert!((now - 600..=now).contains(&oldest), "{size}");
    assert!(size["newest"].as_i64().unwrap() >= oldest);
    let lines = stdout(&server.ctl(&["archive", "size", &bob]));
    assert!(
        lines.starts_with(&format!("jid\t{bob}\nmessages\t3\nbytes\t")),
        "{lines}"
    );

    // Nothing is a day old yet; then everything goes.
    let out = server.ctl(&["archive", "purge", &alice, "--before", "1d", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let purged: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(purged, serde_json::json!({"jid": alice, "removed": 0}));
    let out = server.ctl(&["archive", "purge", &alice, "--all"]);
    assert_eq!(stdout(&out), "removed\t3\n", "{out:?}");
    assert!(everything(&mut alice_c, "q").await.results.is_empty());
    let size = stdout(&server.ctl(&["archive", "size", &alice]));
    assert_eq!(
        size,
        format!("jid\t{alice}\nmessages\t0\nbytes\t0\noldest\t\nnewest\t\n")
    );
    let bobs = stdout(&server.ctl(&["archive", "size", &bob]));
    assert!(
        bobs.contains("messages\t3\n"),
        "bob's archive stays: {bobs}"
    );

    let audit = stdout(&server.ctl(&["audit", "--action", "archive.purge", "--json"]));
    let entries: serde_json::Value = serde_json::from_str(&audit).unwrap();
    let details: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["detail"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(details, ["3 removed, all", "0 removed, older than 86400s"]);

    // An unknown account is one line and exit status 1.
    for args in [
        vec!["archive", "size", "nobody@example.test"],
        vec!["archive", "purge", "nobody@example.test", "--all"],
    ] {
        let out = server.ctl(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let error = roost_tests::stderr(&out);
        assert_eq!(error.lines().count(), 1, "{error}");
        assert!(error.contains("nobody@example.test"), "{error}");
    }

    // Deleting an account deletes its archive.
    let out = server.ctl(&["user", "delete", &bob]);
    assert!(out.status.success(), "{out:?}");
    server.create_user(&bob, PASSWORD);
    let bobs = stdout(&server.ctl(&["archive", "size", &bob]));
    assert!(bobs.contains("messages\t0\n"), "{bobs}");
}
