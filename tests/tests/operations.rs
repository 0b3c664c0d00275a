//! Running roostd in production (issue 12, item 4), against the real
//! binary: SIGHUP and `roostctl reload` with a new certificate seen by a new
//! TLS client while an old session stays up, live limits, refusals that
//! change nothing, systemd's notification protocol on a socket of our own,
//! and JSON log lines.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use roost_tests::raw::RawClient;
use roost_tests::{HOST, Server, stderr, stdout, test_ca};

const PASSWORD: &str = "correct horse battery";

fn jid(user: &str) -> String {
    format!("{user}@{HOST}")
}

/// The certificate a new client is served, DER.
async fn served_certificate(server: &Server) -> Vec<u8> {
    let mut client = RawClient::connect(server).await;
    client.open(HOST).await;
    let (client, _) = client.starttls().await;
    client.peer_certificate().to_vec()
}

/// The certificate file roostd is configured with, DER.
fn certificate_file(server: &Server) -> Vec<u8> {
    let pem = std::fs::read(server.dir.path().join("cert.pem")).unwrap();
    let der = rustls_pki_types::pem::PemObject::pem_slice_iter(&pem)
        .next()
        .unwrap()
        .unwrap();
    let der: rustls_pki_types::CertificateDer = der;
    der.to_vec()
}

fn sighup(server: &Server) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(server.pid() as i32, libc::SIGHUP) };
}

/// Waits until roostd's log contains `needle` more than `seen` times (a
/// reload is logged once it is done), then returns the log.
fn wait_for_log(server: &Server, needle: &str, seen: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = server.log();
        if log.matches(needle).count() > seen {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "no '{needle}' in the log:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The audit log's entries of `action`, newest first.
fn audit(server: &Server, action: &str) -> Vec<serde_json::Value> {
    let out = server.ctl(&["audit", "--action", action, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

async fn ping(client: &mut RawClient, id: &str) -> String {
    client
        .send(&format!(
            "<iq type='get' id='{id}' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>"
        ))
        .await;
    client.read_iq(id).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_serves_a_new_certificate_to_new_clients_and_keeps_sessions() {
    let server = Server::start();
    server.create_user(&jid("alice"), PASSWORD);
    let mut old = RawClient::bound(&server, "alice", PASSWORD, "old").await;
    let first = certificate_file(&server);
    assert_eq!(served_certificate(&server).await, first);

    test_ca().server_certificate(server.dir.path());
    let second = certificate_file(&server);
    assert_ne!(first, second);
    sighup(&server);
    // The reload is logged at info, below the tests' level: new clients
    // are asked until one is served the new certificate.
    let deadline = Instant::now() + Duration::from_secs(20);
    while served_certificate(&server).await != second {
        assert!(Instant::now() < deadline, "still the old certificate");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let answer = ping(&mut old, "p1").await;
    assert!(
        answer.contains("type='result'"),
        "the old session: {answer}"
    );
    assert_eq!(old.peer_certificate(), first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roostctl_reload_applies_live_options_and_names_the_rest() {
    let server = Server::start_with("[limits]\nroster_items = 1000\n");
    server.create_user(&jid("alice"), PASSWORD);
    let mut alice = RawClient::bound(&server, "alice", PASSWORD, "res").await;

    let config = std::fs::read_to_string(server.config_path()).unwrap();
    // The level the harness chose (ROOST_TEST_LOG) goes to error.
    let level_line = config
        .lines()
        .find(|l| l.starts_with("log_level = "))
        .unwrap()
        .to_owned();
    let level = level_line
        .trim_start_matches("log_level = ")
        .trim_matches('"');
    assert_ne!(level, "error");
    let changed = config
        .replace("roster_items = 1000", "roster_items = 1")
        .replace(&level_line, "log_level = \"error\"")
        .replace("[c2s]\n", "[c2s]\nmax_stanza_size = 70000\n");
    std::fs::write(server.config_path(), changed).unwrap();
    let out = server.ctl(&["reload", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        report,
        serde_json::json!({
            "changed": [
                format!("log_level: {level} -> error"),
                "limits.roster_items: 1000 -> 1",
            ],
            "needs_restart": ["c2s"],
        })
    );

    // The new limit holds at once, for the session that was already up.
    let set = |contact: &str| {
        format!(
            "<query xmlns='jabber:iq:roster'><item jid='{}'/></query>",
            jid(contact)
        )
    };
    alice
        .send(&format!("<iq type='set' id='s1'>{}</iq>", set("b1")))
        .await;
    let answer = alice.read_iq("s1").await;
    assert!(answer.contains("type='result'"), "{answer}");
    alice
        .send(&format!("<iq type='set' id='s2'>{}</iq>", set("b2")))
        .await;
    let answer = alice.read_iq("s2").await;
    assert!(answer.contains("at most 1 items"), "{answer}");

    // Nothing differs any more from what runs, but c2s still does.
    let out = server.ctl(&["reload"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "restart\tc2s\n");

    // Both reloads are in the audit log, by the admin, with what changed.
    let entries = audit(&server, "server.reload");
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[0]["detail"], "nothing changed");
    assert_eq!(entries[1]["actor_kind"], "admin");
    assert_eq!(entries[1]["outcome"], "ok");
    assert_eq!(
        entries[1]["detail"],
        format!("log_level: {level} -> error; limits.roster_items: 1000 -> 1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_certificate_or_config_changes_nothing() {
    let server = Server::start_with("[limits]\nroster_items = 1000\n");
    let first = certificate_file(&server);
    let config = std::fs::read_to_string(server.config_path()).unwrap();
    let key = server.dir.path().join("key.pem");
    let good_key = std::fs::read(&key).unwrap();

    // A key that is not the certificate's, with a limit changed alongside.
    let other = rcgen::KeyPair::generate().unwrap();
    std::fs::write(&key, other.serialize_pem()).unwrap();
    std::fs::write(
        server.config_path(),
        config.replace("roster_items = 1000", "roster_items = 1"),
    )
    .unwrap();
    let out = server.ctl(&["reload"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let message = stderr(&out);
    assert!(
        message.contains("reload refused, nothing was changed")
            && message.contains("does not match key"),
        "{message}"
    );
    assert_eq!(served_certificate(&server).await, first);
    std::fs::write(&key, &good_key).unwrap();

    // A config that does not parse.
    std::fs::write(server.config_path(), "hosts = [").unwrap();
    let out = server.ctl(&["reload"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("roost.toml"), "{}", stderr(&out));

    // SIGHUP with the same broken file: logged, roostd goes on.
    // Each refusal is logged (read from roostd's stderr by another thread).
    wait_for_log(&server, "reload refused, nothing changed", 1);
    sighup(&server);
    wait_for_log(&server, "reload refused, nothing changed", 2);
    assert_eq!(served_certificate(&server).await, first);

    // Recorded as refused, by the admin twice and by the server for the
    // signal, without the error's words. The signal's entry is written
    // after its log line.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut entries = audit(&server, "server.reload");
    while entries.len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        entries = audit(&server, "server.reload");
    }
    let who: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                e["actor_kind"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            ("server", "refused"),
            ("admin", "refused"),
            ("admin", "refused")
        ]
    );
    assert!(entries.iter().all(|e| e["detail"].is_null()), "{entries:?}");

    // The refused reloads applied nothing: the limit is still 1000.
    std::fs::write(server.config_path(), &config).unwrap();
    let out = server.ctl(&["reload", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["changed"], serde_json::json!([]), "{report}");
}

/// systemd's side of `Type=notify`: a datagram socket roostd is pointed at.
struct Notifications {
    socket: UnixDatagram,
    _dir: tempfile::TempDir,
    path: String,
}

impl Notifications {
    fn new() -> Notifications {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Notifications {
            socket,
            path: path.display().to_string(),
            _dir: dir,
        }
    }

    /// The next message that is not a watchdog ping.
    fn next_state(&self) -> String {
        loop {
            let message = self.next();
            if message != "WATCHDOG=1\n" {
                return message;
            }
        }
    }

    fn next(&self) -> String {
        let mut buf = [0u8; 4096];
        let n = self.socket.recv(&mut buf).expect("a notification");
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }
}

#[test]
fn systemd_hears_ready_reloading_watchdog_and_stopping() {
    let systemd = Notifications::new();
    let mut server = Server::start_with_env(
        "",
        &[
            ("NOTIFY_SOCKET", systemd.path.as_str()),
            ("WATCHDOG_USEC", "200000"),
        ],
    );
    assert_eq!(systemd.next_state(), "READY=1\n");
    // Ready means ready: the admin socket answers.
    let out = server.ctl(&["user", "list", HOST]);
    assert!(out.status.success(), "{}", stderr(&out));

    // Pings at half the interval, each after storage answered.
    let started = Instant::now();
    for _ in 0..3 {
        assert_eq!(systemd.next(), "WATCHDOG=1\n");
    }
    assert!(started.elapsed() < Duration::from_secs(5));

    sighup(&server);
    let reloading = systemd.next_state();
    assert!(
        reloading.starts_with("RELOADING=1\nMONOTONIC_USEC="),
        "{reloading:?}"
    );
    assert_eq!(systemd.next_state(), "READY=1\n");

    let (status, _) = server.terminate();
    assert!(status.success());
    assert_eq!(systemd.next_state(), "STOPPING=1\n");
}

#[test]
fn json_logs_are_one_object_per_line() {
    let server = Server::start_with_top_level("log_format = \"json\"", "");
    std::fs::write(server.config_path(), "hosts = [").unwrap();
    sighup(&server);
    let log = wait_for_log(&server, "reload refused", 0);
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let refusal = lines
        .iter()
        .find(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("reload refused"))
        })
        .expect("the refusal");
    assert_eq!(refusal["level"], "ERROR");
    assert!(refusal["timestamp"].is_string(), "{refusal}");
}

#[test]
fn the_systemd_unit_verifies() {
    let Ok(analyze) = which("systemd-analyze") else {
        eprintln!("systemd-analyze not installed: skipped");
        return;
    };
    let unit = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../contrib/systemd/roostd.service"),
    )
    .unwrap();
    assert!(unit.contains("Type=notify") && unit.contains("WatchdogSec="));
    // Verified with the binary this test run built in its place.
    let roostd = roost_tests::roostd_bin();
    let unit = unit.replace("/usr/local/bin/roostd", &roostd.display().to_string());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roostd.service");
    std::fs::write(&path, unit).unwrap();
    let out = std::process::Command::new(analyze)
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    // An unknown or misspelt key is only a warning, so any output fails.
    assert!(
        out.status.success() && out.stderr.is_empty() && out.stdout.is_empty(),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

fn which(program: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .ok_or(())
}
