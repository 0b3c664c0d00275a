//! `roostctl backup FILE` (issue 12, item 5), against the real binary: a
//! backup taken while accounts, roster items and invites are being written
//! restores to a working server holding everything acknowledged before the
//! backup began; refusals leave files alone.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use roost_tests::raw::RawClient;
use roost_tests::{HOST, Server, http, roostctl_bin, stderr, stdout};

const PASSWORD: &str = "correct horse battery";

/// What the load had acknowledged, each with when.
#[derive(Default)]
struct Acknowledged {
    accounts: Vec<(String, Instant)>,
    roster_items: Vec<(String, Instant)>,
    invite_tokens: Vec<(String, Instant)>,
}

fn before(list: &[(String, Instant)], moment: Instant) -> Vec<String> {
    list.iter()
        .filter(|(_, at)| *at < moment)
        .map(|(v, _)| v.clone())
        .collect()
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_str(&stdout(out)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_load_restores_with_everything_acknowledged_before_it() {
    let mut server = Server::start();
    server.create_user(&format!("alice@{HOST}"), PASSWORD);
    let key = stdout(&server.ctl(&["invites-api", "create", HOST, "load"]))
        .trim()
        .to_owned();
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let stop = Arc::new(AtomicBool::new(false));

    // Accounts, one roostctl call after another.
    let accounts = {
        let (acked, stop, socket) = (acked.clone(), stop.clone(), server.socket_path());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let jid = format!("user{n}@{HOST}");
                let mut child = Command::new(roostctl_bin())
                    .arg("--socket")
                    .arg(&socket)
                    .args(["user", "create", &jid, "--password-stdin"])
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap();
                use std::io::Write as _;
                writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
                assert!(child.wait().unwrap().success(), "user create {jid}");
                let at = Instant::now();
                acked.lock().unwrap().accounts.push((jid, at));
            }
        })
    };
    // Roster items, each set answered before the next.
    let roster = {
        let (acked, stop) = (acked.clone(), stop.clone());
        let mut alice = RawClient::bound(&server, "alice", PASSWORD, "load").await;
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let contact = format!("contact{n}@elsewhere.test");
                alice
                    .send(&format!(
                        "<iq type='set' id='r{n}'><query xmlns='jabber:iq:roster'>\
                         <item jid='{contact}'/></query></iq>"
                    ))
                    .await;
                let answer = alice.read_iq(&format!("r{n}")).await;
                assert!(answer.contains("type='result'"), "{answer}");
                let at = Instant::now();
                acked.lock().unwrap().roster_items.push((contact, at));
            }
        })
    };
    // Invites over the HTTP API.
    let invites = {
        let (acked, stop, url) = (acked.clone(), stop.clone(), server.url("/invites_api"));
        tokio::spawn(async move {
            let client = http();
            while !stop.load(Ordering::Relaxed) {
                let created = client.get(&url).bearer_auth(&key).send().await.unwrap();
                assert_eq!(created.status(), 201);
                let location = created.headers()["location"].to_str().unwrap().to_owned();
                let token = location.rsplit('/').next().unwrap().to_owned();
                let at = Instant::now();
                acked.lock().unwrap().invite_tokens.push((token, at));
            }
        })
    };

    // Let every writer get going, then back up in the middle of it.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let started = {
            let a = acked.lock().unwrap();
            a.accounts.len() >= 10 && a.roster_items.len() >= 300 && a.invite_tokens.len() >= 300
        };
        if started {
            break;
        }
        assert!(Instant::now() < deadline, "the load did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("roost-backup.sqlite3");
    let began = Instant::now();
    let socket = server.socket_path();
    let target = file.display().to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(roostctl_bin())
            .arg("--socket")
            .arg(socket)
            .args(["backup", &target, "--json"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let info = json(&out);
    assert_eq!(info["path"], file.display().to_string());
    let size = std::fs::metadata(&file).unwrap();
    assert_eq!(info["bytes"], size.len());
    assert_eq!(size.permissions().mode() & 0o777, 0o600);
    // More writes after it, which the backup may or may not hold.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    accounts.join().unwrap();
    roster.await.unwrap();
    invites.await.unwrap();
    let (status, _) = server.terminate();
    assert!(status.success());

    let acked = std::mem::take(&mut *acked.lock().unwrap());
    let accounts = before(&acked.accounts, began);
    let roster_items = before(&acked.roster_items, began);
    let tokens = before(&acked.invite_tokens, began);
    assert!(
        accounts.len() >= 10 && roster_items.len() >= 300 && tokens.len() >= 300,
        "the backup began under load"
    );
    eprintln!(
        "acknowledged before the backup: {} accounts, {} roster items, {} invites; \
         in all: {}, {}, {}; the backup took {} ms",
        accounts.len(),
        roster_items.len(),
        tokens.len(),
        acked.accounts.len(),
        acked.roster_items.len(),
        acked.invite_tokens.len(),
        info["millis"]
    );

    // Restore: the copy in place of the database of a new data directory.
    let restored = Server::start_prepared("", |data| {
        std::fs::copy(&file, data.join("roost.sqlite3")).unwrap();
    });
    let listed: BTreeSet<String> = json(&restored.ctl(&["user", "list", HOST, "--json"]))
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["jid"].as_str().unwrap().to_owned())
        .collect();
    for jid in &accounts {
        assert!(listed.contains(jid), "{jid} missing from the backup");
    }
    // Accounts work: their credentials came along.
    for jid in [&accounts[0], accounts.last().unwrap()] {
        let user = jid.split('@').next().unwrap();
        RawClient::bound(&restored, user, PASSWORD, "restored").await;
    }
    let roster = json(&restored.ctl(&["roster", "show", &format!("alice@{HOST}"), "--json"]));
    let items: BTreeSet<String> = roster["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["jid"].as_str().unwrap().to_owned())
        .collect();
    for contact in &roster_items {
        assert!(items.contains(contact), "{contact} missing from the backup");
    }
    let client = http();
    for token in &tokens {
        let page = client
            .get(restored.url(&format!("/invite/{token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200, "invite {token} missing from the backup");
    }
    let unknown = client
        .get(restored.url("/invite/AAAAAAAAAAAAAAAAAAAAAAAA"))
        .send()
        .await
        .unwrap();
    assert_ne!(unknown.status(), 200, "the page check can tell");
}

#[test]
fn backup_refuses_to_overwrite_and_takes_relative_paths_from_roostctl() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let taken = dir.path().join("taken.sqlite3");
    std::fs::write(&taken, "precious").unwrap();
    let out = server.ctl(&["backup", taken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&taken).unwrap(), b"precious");

    let out = Command::new(roostctl_bin())
        .current_dir(dir.path())
        .arg("--socket")
        .arg(server.socket_path())
        .args(["backup", "relative.sqlite3"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let written = dir.path().join("relative.sqlite3");
    assert_eq!(stdout(&out), format!("{}\n", written.display()));
    let copy = rusqlite_open(&written);
    assert!(copy.contains("accounts"), "{copy}");

    let out = server.ctl(&["backup", "/no/such/directory/b.sqlite3"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));

    // Each attempt is in the audit log: a copy of every credential.
    let out = server.ctl(&["audit", "--action", "database.backup", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let entries: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let seen: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                e["subject"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "/no/such/directory/b.sqlite3".to_owned(),
                "invalid".to_owned()
            ),
            (written.display().to_string(), "ok".to_owned()),
            (taken.display().to_string(), "conflict".to_owned()),
        ]
    );
}

/// The table names of an SQLite file, read with the sqlite3 format's own
/// header check by opening it read-only.
fn rusqlite_open(path: &std::path::Path) -> String {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut names = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    names
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect::<Vec<_>>()
        .join(" ")
}
