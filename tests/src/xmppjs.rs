//! xmpp.js (`@xmpp/client` 0.14, an independent SASL2, Bind2 and FAST
//! client) as a child process: `tests/xmppjs/client.mjs` takes JSON
//! commands on stdin and reports JSON events on stdout, one a line. The
//! first use installs node and the pinned xmpp.js (`tests/xmppjs/install.sh`).

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use crate::{HOST, Server, test_ca};

/// How long to wait for an event. A FAST or SCRAM login over TLS takes
/// milliseconds; node's start-up on a loaded machine takes longer.
const WAIT: Duration = Duration::from_secs(30);

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("xmppjs")
}

/// Runs `install.sh` once per test binary (it takes a lock, so binaries
/// running at once do not install twice).
fn install() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let status = Command::new("bash")
            .arg(dir().join("install.sh"))
            .status()
            .expect("run tests/xmppjs/install.sh");
        assert!(status.success(), "tests/xmppjs/install.sh failed");
    });
}

/// Who the client is: its account and its SASL2 user agent.
pub struct Identity<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub client_id: &'a str,
    pub software: &'a str,
    pub device: &'a str,
    /// The Bind2 tag: the resource is `TAG~SUFFIX`.
    pub tag: &'a str,
}

/// One running xmpp.js client; the process is killed when dropped.
pub struct XmppJs {
    child: Child,
    stdin: ChildStdin,
    events: mpsc::UnboundedReceiver<Value>,
    /// Every event received, for failure messages.
    seen: Vec<Value>,
}

impl XmppJs {
    /// Starts the node process (not yet connected) for `who` on `server`.
    pub async fn spawn(server: &Server, who: &Identity<'_>) -> XmppJs {
        install();
        let mut child = Command::new("node")
            .arg(dir().join("client.mjs"))
            .env(
                "XMPP_SERVICE",
                format!("xmpp://127.0.0.1:{}", server.c2s_port),
            )
            .env("XMPP_DOMAIN", HOST)
            .env("XMPP_USERNAME", who.username)
            .env("XMPP_PASSWORD", who.password)
            .env("XMPP_CLIENT_ID", who.client_id)
            .env("XMPP_SOFTWARE", who.software)
            .env("XMPP_DEVICE", who.device)
            .env("XMPP_RESOURCE", who.tag)
            .env("NODE_EXTRA_CA_CERTS", &test_ca().pem_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node (tests/xmppjs/install.sh installs it)");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (send, events) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let event = serde_json::from_str(&line)
                    .unwrap_or_else(|_| serde_json::json!({ "event": "unparsed", "line": line }));
                if send.send(event).is_err() {
                    break;
                }
            }
        });
        let mut client = XmppJs {
            child,
            stdin,
            events,
            seen: Vec::new(),
        };
        client.expect("ready").await;
        client
    }

    fn command(&mut self, cmd: &str) {
        self.command_with(serde_json::json!({ "cmd": cmd }));
    }

    fn command_with(&mut self, command: Value) {
        writeln!(self.stdin, "{command}").expect("write to node");
        self.stdin.flush().expect("flush to node");
    }

    /// Destroys the socket without closing the stream, as a phone losing
    /// its network; waits until xmpp.js noticed.
    pub async fn drop_connection(&mut self) {
        self.command("drop");
        self.expect("disconnect").await;
    }

    /// Connects again and waits until stream management resumed the
    /// session; returns its state then.
    pub async fn resume(&mut self) -> Value {
        self.command("resume");
        loop {
            let event = self.next_event("resumed").await;
            match event["event"].as_str() {
                Some("resumed") => return event,
                Some("start-failed" | "online") => panic!("not resumed: {event}"),
                _ => {}
            }
        }
    }

    /// Stream management's state (enabled, id, inbound, outbound).
    pub async fn stream_management(&mut self) -> Value {
        self.command("sm");
        self.expect("sm").await
    }

    pub fn send_chat(&mut self, to: &str, body: &str) {
        self.command_with(serde_json::json!({ "cmd": "send", "to": to, "body": body }));
    }

    /// The bodies of the messages received so far, in order.
    pub fn bodies(&self) -> Vec<String> {
        self.seen
            .iter()
            .filter(|e| e["event"] == "message")
            .map(|e| e["body"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The next event named `name`; others on the way are kept in `seen`.
    /// Panics when none comes in time.
    pub async fn expect(&mut self, name: &str) -> Value {
        loop {
            let event = self.next_event(name).await;
            if event["event"] == name {
                return event;
            }
        }
    }

    /// The next event, whatever it is.
    pub async fn next_event(&mut self, waiting_for: &str) -> Value {
        match tokio::time::timeout(WAIT, self.events.recv()).await {
            Ok(Some(event)) => {
                self.seen.push(event.clone());
                event
            }
            Ok(None) => panic!(
                "xmpp.js exited waiting for {waiting_for}; events: {:#?}",
                self.seen
            ),
            Err(_) => panic!(
                "timed out waiting for {waiting_for} from xmpp.js; events: {:#?}",
                self.seen
            ),
        }
    }

    /// Connects and logs in; returns the `online` or `start-failed` event,
    /// and the FAST token the server issued on the way, if any.
    pub async fn start(&mut self) -> (Value, Option<Value>) {
        self.command("start");
        let mut token = None;
        loop {
            let event = self.next_event("online or start-failed").await;
            match event["event"].as_str() {
                Some("online" | "start-failed") => return (event, token),
                Some("token") => token = Some(event),
                _ => {}
            }
        }
    }

    /// Closes the stream and waits until it is closed.
    pub async fn stop(&mut self) {
        self.command("stop");
        self.expect("stopped").await;
    }

    /// Every event received so far.
    pub fn seen(&self) -> &[Value] {
        &self.seen
    }
}

impl Drop for XmppJs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
