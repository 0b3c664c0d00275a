//! Starting and stopping roostd: config errors, clean shutdown, restarts.

use std::process::Command;

use roost_tests::{HOST, Server, free_port, roostd_bin, stderr};

#[test]
fn config_errors_name_file_line_and_option() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "hosts = [\"a.test\"]\n\n[http]\nbnid = \"127.0.0.1:1\"\n",
    )
    .unwrap();
    let out = Command::new(roostd_bin())
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains(&format!("{}:4:", path.display())), "{err}");
    assert!(err.contains("bnid"), "{err}");
    assert!(
        !dir.path().join("data").exists(),
        "nothing is created on a bad config"
    );

    let out = Command::new(roostd_bin())
        .arg("--config")
        .arg(dir.path().join("missing.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("missing.toml"), "{}", stderr(&out));
}

/// Whether process `pid` has a handler for `signal` (its `SigCgt` mask).
fn catches_signal(pid: u32, signal: i32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (signal - 1)) != 0)
}

#[test]
fn sigterm_is_caught_as_soon_as_roostd_is_ready() {
    // Once the admin socket exists a supervisor may send SIGTERM at once;
    // it must stop roostd cleanly, not kill it with the default action.
    let mut server = Server::start();
    assert!(catches_signal(server.pid(), libc::SIGTERM));
    assert!(catches_signal(server.pid(), libc::SIGINT));
    let (status, log) = server.terminate();
    assert!(status.success(), "{status:?}\n{log}");
}

#[test]
fn check_config_accepts_the_example_config() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../roost.example.toml");
    let out = Command::new(roostd_bin())
        .args(["--check-config", "--config", example])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn sigterm_stops_cleanly_and_removes_the_socket() {
    let mut server = Server::start();
    server.create_key(HOST, "k");
    // An idle admin client (say, a forgotten `roostctl shell`) must not hold up shutdown.
    let mut idle = server.admin_connection();
    assert!(idle.request(r#"{"v":1,"id":1,"request":"hello"}"#)["outcome"]["ok"].is_object());
    let socket = server.socket_path();
    let (status, err) = server.terminate();
    assert!(status.success(), "exit {status}: {err}");
    assert!(!socket.exists(), "socket left behind");
}

#[test]
fn a_stale_socket_is_replaced_and_a_live_one_refused() {
    let mut server = Server::start();
    let key = server.create_key(HOST, "k");
    // kill -9 leaves the socket file behind; the next start must cope.
    server.kill9_and_restart();
    let out = server.ctl(&["invites-api", "list", HOST]);
    assert!(roost_tests::stdout(&out).contains(key.split_once('/').unwrap().0));

    // A second roostd on the same data directory refuses to start, even with
    // its own ports and admin socket.
    let mut config = std::fs::read_to_string(server.config_path()).unwrap();
    config = config.replace(&server.http_port.to_string(), &free_port().to_string());
    config.push_str("[admin]\nsocket = \"second.sock\"\n");
    let second = server.dir.path().join("second.toml");
    std::fs::write(&second, config).unwrap();
    let out = Command::new(roostd_bin())
        .arg("--config")
        .arg(&second)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already running"), "{}", stderr(&out));
    assert!(!server.dir.path().join("second.sock").exists());
    assert!(
        roost_tests::stdout(&server.ctl(&["invites-api", "list", HOST]))
            .contains(key.split_once('/').unwrap().0)
    );
}

/// Each thread of process `pid` by name, with its nice value (from
/// `/proc/PID/task/TID/stat`: the name in parentheses, nice the 17th field
/// after it).
fn thread_nices(pid: u32) -> Vec<(String, i32)> {
    let mut threads = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).expect("/proc tasks") {
        let stat = std::fs::read_to_string(task.unwrap().path().join("stat")).unwrap();
        let (name, rest) = stat
            .split_once(" (")
            .and_then(|(_, rest)| rest.rsplit_once(") "))
            .expect("a stat line");
        let nice = rest
            .split(' ')
            .nth(16)
            .and_then(|n| n.parse().ok())
            .unwrap();
        threads.push((name.to_owned(), nice));
    }
    threads
}

#[test]
fn the_runtime_threads_give_way_to_the_storage_thread() {
    let nice_of = |threads: &[(String, i32)], name: &str| -> Vec<i32> {
        threads
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, nice)| *nice)
            .collect()
    };
    for (config, steps) in [("", 3), ("[storage]\npriority = 0\n", 0)] {
        let mut server = Server::start_with(config);
        let threads = thread_nices(server.pid());
        let storage = nice_of(&threads, "roost-storage");
        let main = nice_of(&threads, "roostd");
        let workers = nice_of(&threads, "tokio-rt-worker");
        assert_eq!(storage.len(), 1, "{threads:?}");
        assert_eq!(storage, main, "the storage thread keeps roostd's priority");
        assert!(!workers.is_empty(), "{threads:?}");
        for nice in workers {
            assert_eq!(
                nice,
                (storage[0] + steps).min(19),
                "{config:?}: {threads:?}"
            );
        }
        let (status, log) = server.terminate();
        assert!(status.success(), "{status:?}\n{log}");
    }
}
