//! `roostctl roster show` and `roostctl roster refresh` against the real
//! roostd: a local roster made by a roster set, a subscription request and
//! a contact invite; a delegated one filled by a refresh from a small
//! roster service on loopback; the refusals, their one-line messages and
//! exit codes. The roster service's own behaviour (pushes, failure modes,
//! the HTTP refresh endpoint) is `roster_delegation.rs`'s.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use roost_tests::raw::{RawClient, preauth, register, tls_stream};
use roost_tests::{HOST, OTHER_HOST, Server, stderr, stdout};

/// Asserts success with nothing on stderr; returns stdout.
fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        stderr(&out)
    );
    assert_eq!(stderr(&out), "");
    stdout(&out)
}

/// Asserts a refusal: exit status 1, nothing on stdout, one line on
/// stderr; returns that line.
fn refused(out: Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Sends iq `id` on a bound client and asserts a result.
async fn iq_result(client: &mut RawClient, id: &str, iq: &str) {
    client.send(iq).await;
    let answer = client.read_iq(id).await;
    assert!(
        answer.contains("type='result'") || answer.contains("type=\"result\""),
        "{id}: {answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roster_show_of_a_local_roster() {
    let server = Server::start();
    let alice = format!("alice@{HOST}");
    server.create_user(&alice, "pencil");
    server.create_user(&format!("carol@{OTHER_HOST}"), "pencil");

    // An account without contacts: nothing on a pipe, an empty list in JSON.
    assert_eq!(ok(server.ctl(&["roster", "show", &alice])), "");
    assert_eq!(
        json(&ok(server.ctl(&["roster", "show", &alice, "--json"]))),
        serde_json::json!({
            "jid": alice,
            "delegated": false,
            "fetched_at": null,
            "version": 0,
            "items": []
        })
    );

    // A contact by a roster set (name, two groups, no subscription), a
    // subscription request pending, and one made by a contact invite
    // (mutual subscription).
    let mut client = RawClient::bound(&server, "alice", "pencil", "desk").await;
    iq_result(
        &mut client,
        "set1",
        &format!(
            "<iq type='set' id='set1'><query xmlns='jabber:iq:roster'>\
             <item jid='bob@{HOST}' name='Bob'><group>Friends</group>\
             <group>Class 4b, Maths</group></item></query></iq>"
        ),
    )
    .await;
    client
        .send(&format!(
            "<presence to='carol@{OTHER_HOST}' type='subscribe'/>"
        ))
        .await;
    let created = json(&ok(server.ctl(&[
        "invite",
        "create",
        HOST,
        "--type",
        "both",
        "--inviter",
        &alice,
        "--json",
    ])));
    let uri = created["uri"].as_str().expect("uri");
    // xmpp:alice@HOST?roster;preauth=TOKEN;ibr=y
    let token = uri
        .split(['?', ';'])
        .find_map(|part| part.strip_prefix("preauth="))
        .expect("token in the URI");
    let (mut newcomer, _) = tls_stream(&server).await;
    let answer = preauth(&mut newcomer, "p1", token).await;
    assert!(answer.contains("type='result'"), "preauth: {answer}");
    let answer = register(&mut newcomer, "r1", "dave", "a long password").await;
    assert!(answer.contains("type='result'"), "register: {answer}");

    // The subscription request is carried out in the background of the
    // presence; a roster get on the same stream comes after it.
    iq_result(
        &mut client,
        "get1",
        "<iq type='get' id='get1'><query xmlns='jabber:iq:roster'/></iq>",
    )
    .await;

    let shown = json(&ok(server.ctl(&["roster", "show", &alice, "--json"])));
    assert_eq!(shown["jid"], alice.as_str());
    assert_eq!(shown["delegated"], false);
    assert_eq!(shown["fetched_at"], serde_json::Value::Null);
    assert!(shown["version"].as_i64().unwrap() > 0, "{shown}");
    let items = shown["items"].as_array().unwrap();
    let jids: Vec<&str> = items.iter().map(|i| i["jid"].as_str().unwrap()).collect();
    assert_eq!(
        jids,
        [
            format!("bob@{HOST}"),
            format!("carol@{OTHER_HOST}"),
            format!("dave@{HOST}")
        ]
    );
    assert_eq!(items[0]["name"], "Bob");
    assert_eq!(items[0]["subscription"], "none");
    assert_eq!(items[0]["ask"], false);
    let mut groups: Vec<&str> = items[0]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    groups.sort();
    assert_eq!(groups, ["Class 4b, Maths", "Friends"]);
    assert_eq!(items[1]["subscription"], "none");
    assert_eq!(items[1]["ask"], true);
    assert_eq!(items[1]["name"], serde_json::Value::Null);
    assert_eq!(items[2]["subscription"], "both");
    assert_eq!(
        items[0].as_object().unwrap().keys().collect::<Vec<_>>(),
        ["approved", "ask", "groups", "jid", "name", "subscription"]
    );

    // Piped: one line per contact, the same facts.
    let lines = ok(server.ctl(&["roster", "show", &alice]));
    let rows: Vec<Vec<&str>> = lines.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 3, "{lines}");
    assert_eq!(
        rows[0][..5],
        [&*format!("bob@{HOST}"), "Bob", "none", "no", "no"]
    );
    assert_eq!(
        rows[1][..6],
        [&*format!("carol@{OTHER_HOST}"), "", "none", "yes", "no", ""]
    );
    assert_eq!(
        rows[2][..6],
        [&*format!("dave@{HOST}"), "", "both", "no", "no", ""]
    );
    // The same command typed at the shell.
    assert_eq!(ok(server.ctl(&["shell", "roster", "show", &alice])), lines);
    // The JID as typed is normalised by roostd.
    assert_eq!(
        ok(server.ctl(&["roster", "show", &format!("Alice@{}", HOST.to_uppercase())])),
        lines
    );
}

#[test]
fn roster_show_refusals() {
    let server = Server::start();
    assert_eq!(
        refused(server.ctl(&["roster", "show", &format!("nobody@{HOST}")])),
        format!("roostctl: no account nobody@{HOST}\n")
    );
    for jid in ["not a jid", "someone@elsewhere.example", HOST] {
        let err = refused(server.ctl(&["roster", "show", jid]));
        assert!(err.starts_with("roostctl: "), "{jid}: {err}");
    }
    let out = server.ctl(&["roster", "show"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn roster_refresh_without_delegation_is_one_line_and_exit_status_1() {
    let server = Server::start();
    let alice = format!("alice@{HOST}");
    server.create_user(&alice, "pencil");
    let err = refused(server.ctl(&["roster", "refresh", &alice]));
    assert!(err.contains("no roster delegation"), "{err}");
    let err = refused(server.ctl(&["--json", "roster", "refresh", "not a jid"]));
    assert!(err.contains("not a jid"), "{err}");
    // A refusal leaves the roster as it was.
    assert_eq!(
        json(&ok(server.ctl(&["roster", "show", &alice, "--json"])))["delegated"],
        false
    );
}

/// A roster service on loopback: `GET /contacts/USERNAME` answers what the
/// test put in `answers` for USERNAME (404 for anyone else), one request
/// per connection, and counts requests.
struct RosterService {
    port: u16,
    requests: Arc<AtomicUsize>,
    answers: Arc<Mutex<HashMap<String, (u16, String)>>>,
}

impl RosterService {
    fn start() -> RosterService {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let answers: Arc<Mutex<HashMap<String, (u16, String)>>> = Arc::default();
        let (count, table) = (Arc::clone(&requests), Arc::clone(&answers));
        // Blocked in accept when the test ends; dies with the process.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => break,
                    }
                }
                count.fetch_add(1, Ordering::SeqCst);
                let head = String::from_utf8_lossy(&head);
                let path = head.split(' ').nth(1).unwrap_or("");
                let user = path.strip_prefix("/contacts/").unwrap_or("");
                let (status, body) = table
                    .lock()
                    .unwrap()
                    .get(user)
                    .cloned()
                    .unwrap_or((404, "{}".into()));
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        RosterService {
            port,
            requests,
            answers,
        }
    }

    fn answer(&self, user: &str, status: u16, body: &str) {
        self.answers
            .lock()
            .unwrap()
            .insert(user.into(), (status, body.into()));
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

#[test]
fn roster_refresh_and_show_of_a_delegated_host() {
    let service = RosterService::start();
    let server = Server::start_with(&format!(
        "[roster_delegation.\"{HOST}\"]\nurl = \"http://127.0.0.1:{}/contacts/%s\"\ntimeout = \"5s\"\n",
        service.port
    ));
    let ann = format!("ann@{HOST}");
    let cy = format!("cy@{HOST}");
    server.create_user(&ann, "pencil");
    server.create_user(&cy, "pencil");
    service.answer(
        "ann",
        200,
        &format!(
            "{{\"bo@{HOST}\": {{\"name\": \"Mr Bo\", \"groups\": [\"Teachers\"]}}, \
              \"cy@{HOST}\": {{\"groups\": {{\"Class 4b\": true}}}}}}"
        ),
    );
    service.answer("cy", 500, "oops");

    // Never fetched: delegated, empty, no fetch time.
    let shown = json(&ok(server.ctl(&["roster", "show", &ann, "--json"])));
    assert_eq!(shown["delegated"], true);
    assert_eq!(shown["fetched_at"], serde_json::Value::Null);
    assert_eq!(shown["items"], serde_json::json!([]));

    // A JID on a host without delegation: nothing is fetched at all.
    let err = refused(server.ctl(&["roster", "refresh", &ann, &format!("eve@{OTHER_HOST}")]));
    assert!(err.contains(OTHER_HOST), "{err}");
    assert!(err.contains("no roster delegation"), "{err}");
    assert_eq!(service.requests(), 0);

    // ann is fetched, cy's service fails, nobody has no account (counted
    // as updated: nothing to fetch), ann twice counts once.
    let before = now();
    let nobody = format!("nobody@{HOST}");
    let out = server.ctl(&["roster", "refresh", &ann, &cy, &nobody, &ann]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out), "roostctl: rosters not refreshed: 1 of 3\n");
    let lines = stdout(&out);
    let rows: Vec<Vec<&str>> = lines.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows[0], ["updated", "2"], "{lines}");
    assert_eq!(rows[1], ["errors", "1"], "{lines}");
    assert_eq!(rows.len(), 3, "{lines}");
    assert_eq!(rows[2][..2], ["failed", cy.as_str()], "{lines}");
    assert!(rows[2][2].contains("500"), "{lines}");
    assert_eq!(service.requests(), 2);

    let shown = json(&ok(server.ctl(&["roster", "show", &ann, "--json"])));
    assert_eq!(shown["delegated"], true);
    let fetched_at = shown["fetched_at"].as_i64().expect("a fetch time");
    assert!((before..=now()).contains(&fetched_at), "{shown}");
    assert_eq!(
        shown["items"],
        serde_json::json!([
            {
                "jid": format!("bo@{HOST}"),
                "name": "Mr Bo",
                "subscription": "both",
                "ask": false,
                "approved": false,
                "groups": ["Teachers"]
            },
            {
                "jid": cy,
                "name": null,
                "subscription": "both",
                "ask": false,
                "approved": false,
                "groups": ["Class 4b"]
            }
        ])
    );
    // cy's failed fetch stored nothing.
    let cy_roster = json(&ok(server.ctl(&["roster", "show", &cy, "--json"])));
    assert_eq!(cy_roster["fetched_at"], serde_json::Value::Null);

    // All refreshed: success, and --json gives the counts.
    service.answer("cy", 200, "{}");
    let refreshed = json(&ok(server.ctl(&["--json", "roster", "refresh", &ann, &cy])));
    assert_eq!(
        refreshed,
        serde_json::json!({"updated": 2, "errors": 0, "failures": []})
    );
    assert_eq!(
        ok(server.ctl(&["shell", "roster", "refresh", &cy])),
        "updated\t1\nerrors\t0\n"
    );
}
