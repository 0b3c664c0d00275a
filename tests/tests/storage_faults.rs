//! Storage failures against the real roostd (issue 11, item 4): its data
//! directory is a small tmpfs that the test fills up while users are
//! online. Every write then fails with a clear answer at its door (an XMPP
//! error with a text, HTTP 503 with JSON or a page, a one-line roostctl
//! error), while reads, logins and chats between online users go on; once
//! the space is back the same writes succeed without a restart, and after
//! a `kill -9` exactly what was acknowledged is stored. A full disk or a
//! read-only file system at startup stops roostd with one clear line.
//!
//! Needs root to mount (see `roost_tests::storage_faults`): skipped with a
//! reason otherwise, failed instead under `ROOST_REQUIRE_MOUNT=1`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use roost_tests::raw::RawClient;
use roost_tests::raw_stanzas::{error_of, read_answer, read_until_seen, show, sync};
use roost_tests::storage_faults::{FileSystem, SmallDisk, mount_permitted};
use roost_tests::web_form::WebForm;
use roost_tests::{HOST, Server, http, roostd_bin, stderr, stdout};
use tokio_xmpp::minidom::Element;

const PASSWORD: &str = "a long enough password";
/// Room for the database, its WAL and the server's keys, with space to spare.
const DISK_BYTES: u64 = 16 << 20;

fn jid(user: &str) -> String {
    format!("{user}@{HOST}")
}

/// A server whose data directory is a fresh disk of [`DISK_BYTES`], or
/// `None` (with the reason printed) where mounting is not permitted.
fn server_on_small_disk(kind: FileSystem, extra: &str) -> Option<(SmallDisk, Server)> {
    if let Err(why) = mount_permitted(kind) {
        eprintln!("skipped: this test mounts a small {kind:?} disk, which failed here: {why}");
        return None;
    }
    let mut disk = None;
    let server = Server::start_prepared(extra, |data| {
        disk = Some(SmallDisk::mount(data, kind, DISK_BYTES).expect("mount the data directory"));
    });
    Some((disk.expect("mounted"), server))
}

async fn online(server: &Server, user: &str, resource: &str) -> RawClient {
    let mut client = RawClient::bound(server, user, PASSWORD, resource).await;
    client.send("<presence/>").await;
    sync(&mut client, "online").await;
    client
}

/// `from` sends `to` (a full JID, online) a chat message, which arrives.
async fn chat(from: &mut RawClient, to: &mut RawClient, to_jid: &str, body: &str) {
    from.send(&format!(
        "<message to='{to_jid}' type='chat'><body>{body}</body></message>"
    ))
    .await;
    read_until_seen(to, body, |seen| {
        seen.last()
            .is_some_and(|m| m.name() == "message" && body_of(m).as_deref() == Some(body))
    })
    .await;
}

/// The text of a message's `<body/>`.
fn body_of(el: &Element) -> Option<String> {
    el.get_child("body", "jabber:client").map(Element::text)
}

/// Sends a message to an offline user; returns the error that came back,
/// if any (a ping after it shows that nothing more is coming).
async fn message_offline_user(
    client: &mut RawClient,
    to: &str,
    id: &str,
    body: &str,
) -> Option<(String, String, String)> {
    client
        .send(&format!(
            "<message to='{to}' type='chat' id='{id}'><body>{body}</body></message>"
        ))
        .await;
    let before = sync(client, &format!("{id}-sync")).await;
    let errors: Vec<_> = before
        .iter()
        .filter(|m| m.name() == "message" && m.attr("id") == Some(id))
        .collect();
    assert!(errors.len() <= 1, "{:?}", show(&before));
    errors.first().map(|m| {
        assert_eq!(m.attr("type"), Some("error"), "{}", String::from(*m));
        error_of(m).expect("an error condition")
    })
}

/// Adds `contact` to the roster; returns the answer.
async fn roster_set(client: &mut RawClient, id: &str, contact: &str) -> Element {
    client
        .send(&format!(
            "<iq type='set' id='{id}'><query xmlns='jabber:iq:roster'>\
             <item jid='{contact}' name='Frank'/></query></iq>"
        ))
        .await;
    read_answer(client, id).await.0
}

/// The JIDs in the roster, as a roster get answers.
async fn roster_get(client: &mut RawClient, id: &str) -> Vec<String> {
    client
        .send(&format!(
            "<iq type='get' id='{id}'><query xmlns='jabber:iq:roster'/></iq>"
        ))
        .await;
    let (answer, _) = read_answer(client, id).await;
    assert_eq!(
        answer.attr("type"),
        Some("result"),
        "{}",
        String::from(&answer)
    );
    answer
        .children()
        .flat_map(|q| q.children())
        .filter_map(|item| item.attr("jid").map(str::to_owned))
        .collect()
}

/// `GET /invites_api` with `key`: the status, the body and Retry-After.
async fn api_invite(server: &Server, key: &str) -> (StatusCode, serde_json::Value, Option<String>) {
    let r = http()
        .get(server.url("/invites_api"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, r.json().await.unwrap(), retry)
}

fn users(server: &Server) -> Vec<String> {
    let out = server.ctl(&["user", "list", HOST]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).lines().map(str::to_owned).collect()
}

/// Runs roostd on `server`'s config while it is stopped, and expects it
/// to refuse to start; returns what it wrote to stderr.
fn start_fails(server: &Server) -> String {
    let mut child = Command::new(roostd_bin())
        .arg("--config")
        .arg(server.config_path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start roostd");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("wait for roostd").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("roostd started where it should have refused to");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("roostd's output");
    assert!(!out.status.success(), "roostd exited with {}", out.status);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// While writes are refused, alice and bob (online) chat both ways, a
/// roster get answers, and dave logs in and chats with bob; dave is
/// returned, online.
async fn sessions_go_on(server: &Server, alice: &mut RawClient, bob: &mut RawClient) -> RawClient {
    chat(alice, bob, &format!("{}/phone", jid("bob")), "hello bob").await;
    chat(bob, alice, &format!("{}/desk", jid("alice")), "hi alice").await;
    assert_eq!(roster_get(alice, "r2").await, Vec::<String>::new());
    let mut dave = online(server, "dave", "laptop").await;
    chat(
        &mut dave,
        bob,
        &format!("{}/phone", jid("bob")),
        "dave here",
    )
    .await;
    dave
}

fn integrity_check(database: &Path) -> String {
    let conn = rusqlite::Connection::open(database).expect("open the database");
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_writes_clearly_keeps_sessions_and_recovers_by_itself() {
    let Some((disk, mut server)) = server_on_small_disk(FileSystem::Tmpfs, "") else {
        return;
    };
    for user in ["alice", "bob", "carol", "dave"] {
        server.create_user(&jid(user), PASSWORD);
    }
    let key = server.create_key(HOST, "storage faults");
    let (status, created, _) = api_invite(&server, &key).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let landing = created["url"].as_str().expect("url").to_owned();
    let mut alice = online(&server, "alice", "desk").await;
    let mut bob = online(&server, "bob", "phone").await;
    roster_get(&mut alice, "r0").await;

    let filler = disk.fill();

    // Writes fail, each with a clear answer at its door.
    let refused = message_offline_user(&mut alice, &jid("carol"), "m1", "while full").await;
    let (kind, condition, text) = refused.expect("the offline message is refused");
    assert_eq!(
        (kind.as_str(), condition.as_str()),
        ("wait", "resource-constraint"),
        "{text}"
    );
    assert!(text.contains("storage is full"), "{text}");
    let answer = roster_set(&mut alice, "r1", &jid("frank")).await;
    let (kind, condition, text) = error_of(&answer).expect("the roster set is refused");
    assert_eq!(
        (kind.as_str(), condition.as_str()),
        ("wait", "resource-constraint"),
        "{text}"
    );
    let (status, body, retry) = api_invite(&server, &key).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "unavailable", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("storage is full"),
        "{body}"
    );
    assert_eq!(retry.as_deref(), Some("60"));
    // Showing the form is a read: it works; registering is refused.
    let form = WebForm::open(&format!("{landing}/register")).await;
    let (status, page) = form.submit("webby", PASSWORD).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{page}");
    assert!(page.contains("Nothing was changed"), "{page}");
    let out = server.ctl_with_stdin(
        &["user", "create", &jid("erin"), "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let message = stderr(&out);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("full"), "{message}");

    // Reads, logins and live sessions go on.
    let mut dave = sessions_go_on(&server, &mut alice, &mut bob).await;
    // Removing one's account is a write too: refused, and the account stays.
    dave.send("<iq type='set' id='rm'><query xmlns='jabber:iq:register'><remove/></query></iq>")
        .await;
    let (answer, _) = read_answer(&mut dave, "rm").await;
    let (kind, condition, _) = error_of(&answer).expect("the removal is refused");
    assert_eq!(
        (kind.as_str(), condition.as_str()),
        ("wait", "resource-constraint")
    );
    chat(
        &mut dave,
        &mut bob,
        &format!("{}/phone", jid("bob")),
        "still dave",
    )
    .await;

    filler.remove();

    // The same writes succeed, without a restart.
    let stored = message_offline_user(&mut alice, &jid("carol"), "m2", "after space").await;
    assert_eq!(stored, None);
    let answer = roster_set(&mut alice, "r3", &jid("frank")).await;
    assert_eq!(
        answer.attr("type"),
        Some("result"),
        "{}",
        String::from(&answer)
    );
    let (status, body, _) = api_invite(&server, &key).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let second_landing = body["url"].as_str().expect("url").to_owned();
    let (status, page) = form.submit("webby", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("is ready"), "{page}");
    server.create_user(&jid("erin"), PASSWORD);
    chat(
        &mut alice,
        &mut bob,
        &format!("{}/phone", jid("bob")),
        "still here",
    )
    .await;

    // A line per failed write and one when writes work again; no panic.
    let log = server.log();
    assert!(log.lines().count() <= 20, "{log}");
    assert!(!log.contains("panicked"), "{log}");
    assert!(log.contains("storage transactions succeed again"), "{log}");

    // What was acknowledged is stored, and only that.
    drop((alice, bob, dave));
    server.kill9_and_restart();
    let listed = users(&server);
    for user in ["dave", "erin", "webby"] {
        assert!(listed.contains(&jid(user)), "{listed:?}");
    }
    let page = http().get(&second_landing).send().await.unwrap();
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "the acknowledged invite is there"
    );
    let mut alice = online(&server, "alice", "desk").await;
    assert_eq!(roster_get(&mut alice, "r4").await, vec![jid("frank")]);
    let mut carol = RawClient::bound(&server, "carol", PASSWORD, "home").await;
    carol.send("<presence/>").await;
    let delivered = read_until_seen(&mut carol, "the stored offline message", |seen| {
        seen.last()
            .is_some_and(|m| body_of(m).as_deref() == Some("after space"))
    })
    .await;
    assert!(
        !delivered
            .iter()
            .any(|m| body_of(m).as_deref() == Some("while full")),
        "a refused message was stored: {:?}",
        show(&delivered)
    );
    let later = sync(&mut carol, "c1").await;
    assert!(
        !later.iter().any(|m| m.name() == "message"),
        "{:?}",
        show(&later)
    );
    drop((alice, carol));

    let (status, log) = server.terminate();
    assert!(status.success(), "{log}");
    assert_eq!(integrity_check(&server.database_path()), "ok");

    // Starting on a full disk: refused with one clear line, not a panic.
    let filler = disk.fill();
    let refusal = start_fails(&server);
    assert!(!refusal.contains("panicked"), "{refusal}");
    assert!(
        refusal.contains("the file system holding the database is full"),
        "{refusal}"
    );
    filler.remove();
    // And on a file system mounted read-only.
    disk.remount("ro");
    let refusal = start_fails(&server);
    disk.remount("rw");
    assert!(!refusal.contains("panicked"), "{refusal}");
    // The data directory's lock file is the first thing it cannot write.
    assert!(refusal.contains("Read-only file system"), "{refusal}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_system_turned_read_only_fails_writes_clearly_and_keeps_sessions() {
    // A file system that fails keeps what was written back to the disk
    // only: "full" writes each commit back before acknowledging it
    // ("normal" leaves the last ones in the page cache, lost with it).
    let durable = "[storage]\nsynchronous = \"full\"\n";
    let Some((disk, mut server)) = server_on_small_disk(FileSystem::Ext4, durable) else {
        return;
    };
    for user in ["alice", "bob", "carol", "dave"] {
        server.create_user(&jid(user), PASSWORD);
    }
    let key = server.create_key(HOST, "storage faults");
    let mut alice = online(&server, "alice", "desk").await;
    let mut bob = online(&server, "bob", "phone").await;
    let stored = message_offline_user(&mut alice, &jid("carol"), "m0", "before").await;
    assert_eq!(stored, None);

    disk.fail_read_only();

    let refused = message_offline_user(&mut alice, &jid("carol"), "m1", "while read-only").await;
    let (kind, condition, text) = refused.expect("the offline message is refused");
    assert_eq!(
        (kind.as_str(), condition.as_str()),
        ("wait", "internal-server-error"),
        "{text}"
    );
    assert!(text.contains("cannot store"), "{text}");
    let answer = roster_set(&mut alice, "r1", &jid("frank")).await;
    let (kind, condition, _) = error_of(&answer).expect("the roster set is refused");
    assert_eq!(
        (kind.as_str(), condition.as_str()),
        ("wait", "internal-server-error")
    );
    let (status, body, _) = api_invite(&server, &key).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "unavailable", "{body}");
    let out = server.ctl_with_stdin(
        &["user", "create", &jid("erin"), "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));

    let dave = sessions_go_on(&server, &mut alice, &mut bob).await;

    let log = server.log();
    assert!(
        log.contains("mounted read-only"),
        "the log names the cause: {log}"
    );
    assert!(log.lines().count() <= 20, "{log}");
    assert!(!log.contains("panicked"), "{log}");

    // Only a check and a new mount make it writable: roostd stops, the
    // operator repairs the file system, roostd starts on what was stored.
    drop((alice, bob, dave));
    let (_, log) = server.terminate();
    assert!(!log.contains("panicked"), "{log}");
    disk.check_and_remount();
    assert_eq!(integrity_check(&server.database_path()), "ok");
    server.start_again();
    assert!(!users(&server).contains(&jid("erin")));
    let mut alice = online(&server, "alice", "desk").await;
    assert_eq!(roster_get(&mut alice, "r3").await, Vec::<String>::new());
    let mut carol = RawClient::bound(&server, "carol", PASSWORD, "home").await;
    carol.send("<presence/>").await;
    let delivered = read_until_seen(&mut carol, "the stored offline message", |seen| {
        seen.last()
            .is_some_and(|m| body_of(m).as_deref() == Some("before"))
    })
    .await;
    let later = sync(&mut carol, "c1").await;
    assert!(
        !delivered
            .iter()
            .chain(&later)
            .any(|m| body_of(m).as_deref() == Some("while read-only")),
        "a refused message was stored: {:?} {:?}",
        show(&delivered),
        show(&later)
    );
    // And it writes again.
    let stored = message_offline_user(&mut alice, &jid("carol"), "m2", "after").await;
    assert_eq!(stored, None);
}
