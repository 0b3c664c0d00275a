//! Helpers for end-to-end tests: start the real `roostd` binary on free
//! loopback ports with a temporary data directory, run the real `roostctl`
//! against its admin socket, and stop or kill it.

pub mod client;
pub mod crash_load;
pub mod floods;
pub mod manage_clients;
pub mod openmetrics;
pub mod python;
pub mod raw;
pub mod raw_stanzas;
pub mod roster_backend;
pub mod sasl2;
pub mod slixmpp;
pub mod storage_faults;
pub mod web_form;
pub mod xmppjs;

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The directory holding the built `roostd` and `roostctl`, built once per
/// test run with the same profile as the tests themselves.
pub fn bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        let dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>/deps")
            .to_owned();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args([
            "build",
            "--quiet",
            "-p",
            "roost-server",
            "-p",
            "roostctl",
            "--bins",
        ]);
        if dir.ends_with("release") {
            build.arg("--release");
        }
        // `cargo test` runs us with the test crate's CARGO_MANIFEST_DIR and
        // friends set; ring's build script tracks CARGO_MANIFEST_DIR, so
        // passing them on made this build and the next `cargo test` rebuild
        // ring and everything above it in turn (16 s per test binary).
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if [
                "CARGO_MANIFEST_",
                "CARGO_PKG_",
                "CARGO_CRATE_",
                "CARGO_BIN_",
            ]
            .iter()
            .any(|prefix| name.starts_with(prefix))
                || name == "CARGO_PRIMARY_PACKAGE"
                || name == "CARGO_TARGET_TMPDIR"
            {
                build.env_remove(name.as_ref());
            }
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "building roostd and roostctl failed");
        dir
    })
}

pub fn roostd_bin() -> PathBuf {
    bin_dir().join("roostd")
}

pub fn roostctl_bin() -> PathBuf {
    bin_dir().join("roostctl")
}

/// A loopback port that was free a moment ago.
///
/// Taken below the kernel's ephemeral range: a port the kernel hands out
/// for port 0 can be handed out again as the source port of any test's
/// outgoing connection before roostd binds it. Each test process starts
/// at its own offset (from its pid) and walks on, so parallel tests and
/// test binaries rarely try the same port, and a port in use is skipped.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let low = ephemeral_range_start().max(PORTS_FROM + 1000);
    let span = u32::from(low - PORTS_FROM);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id().wrapping_mul(7919) % span,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    for _ in 0..span {
        let port = PORTS_FROM + (NEXT.fetch_add(1, Ordering::Relaxed) % span) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port below {low}");
}

/// Where the ports [`free_port`] hands out begin.
const PORTS_FROM: u16 = 10_000;

/// The first port the kernel picks for port 0 and source ports.
fn ephemeral_range_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// A running `roostd` with its own data directory; killed when dropped.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub http_port: u16,
    pub c2s_port: u16,
    /// The `[metrics]` listener's: every server has its own, as two on
    /// the default port would collide.
    pub metrics_port: u16,
    child: Option<Child>,
    /// What roostd wrote to stderr, read as it comes: an unread pipe would
    /// fill up and block roostd's logging (and the thread doing it).
    log: Arc<Mutex<String>>,
    log_reader: Option<std::thread::JoinHandle<()>>,
    /// Set in roostd's environment on every launch.
    env: Vec<(String, String)>,
}

/// The certificate authority of this test run. Its certificate is what
/// `SSL_CERT_FILE` points at, so TLS clients (tokio-xmpp through
/// rustls-native-certs) trust the servers' certificates.
pub struct TestCa {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
    pub pem_path: PathBuf,
}

pub fn test_ca() -> &'static TestCa {
    static CA: OnceLock<TestCa> = OnceLock::new();
    CA.get_or_init(|| {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Roost test CA");
        let key = rcgen::KeyPair::generate().expect("CA key");
        let issuer = rcgen::CertifiedIssuer::self_signed(params, key).expect("CA certificate");
        let dir = tempfile::tempdir().expect("CA dir").keep();
        let pem_path = dir.join("ca.pem");
        std::fs::write(&pem_path, issuer.pem()).expect("write CA");
        // SAFETY: set once, before any test in this process starts a TLS
        // client; nothing else in the tests writes the environment.
        unsafe { std::env::set_var("SSL_CERT_FILE", &pem_path) };
        TestCa { issuer, pem_path }
    })
}

impl TestCa {
    /// Writes a certificate for the test hosts, signed by this CA, and its
    /// key into `dir`; returns their paths.
    pub fn server_certificate(&self, dir: &Path) -> (PathBuf, PathBuf) {
        let key = rcgen::KeyPair::generate().expect("server key");
        let params = rcgen::CertificateParams::new(vec![HOST.to_owned(), OTHER_HOST.to_owned()])
            .expect("params");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("server certificate");
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_path, cert.pem()).expect("write cert");
        std::fs::write(&key_path, key.serialize_pem()).expect("write key");
        (cert_path, key_path)
    }
}

/// The hosts every test server serves.
pub const HOST: &str = "example.test";
pub const OTHER_HOST: &str = "other.test";

impl Server {
    pub fn start() -> Server {
        Server::start_with("")
    }

    /// Starts with the default test config plus `extra` TOML (tables) after it.
    pub fn start_with(extra: &str) -> Server {
        Server::start_c2s("", extra)
    }

    /// Starts with `c2s` lines added to the `[c2s]` table and `extra` tables.
    pub fn start_c2s(c2s: &str, extra: &str) -> Server {
        Server::start_full("", c2s, "", extra)
    }

    /// Starts with `auth` lines added to the `[auth]` table.
    pub fn start_auth(auth: &str) -> Server {
        Server::start_full("", "", auth, "")
    }

    /// Starts with `top` (options outside any table, such as `admins = [...]`)
    /// at the top of the default test config, and `extra` tables after it.
    pub fn start_with_top_level(top: &str, extra: &str) -> Server {
        Server::start_full(top, "", "", extra)
    }

    /// Starts with `extra` tables and `env` added to roostd's environment
    /// (on this launch and every later one).
    pub fn start_with_env(extra: &str, env: &[(&str, &str)]) -> Server {
        let mut server = Server::start_prepared(extra, |_| {});
        server.terminate();
        server.env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        server.start_again();
        server
    }

    /// Starts with `extra` tables once `prepare` has been given the data
    /// directory (created and empty): to mount a file system there.
    pub fn start_prepared(extra: &str, prepare: impl FnOnce(&Path)) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("create the data directory");
        prepare(&data);
        Server::start_config(dir, "", "", "", extra)
    }

    fn start_full(top: &str, c2s: &str, auth: &str, extra: &str) -> Server {
        Server::start_config(
            tempfile::tempdir().expect("temp dir"),
            top,
            c2s,
            auth,
            extra,
        )
    }

    fn start_config(
        dir: tempfile::TempDir,
        top: &str,
        c2s: &str,
        auth: &str,
        extra: &str,
    ) -> Server {
        let (cert, key) = test_ca().server_certificate(dir.path());
        let mut server = Server {
            dir,
            http_port: 0,
            c2s_port: 0,
            metrics_port: 0,
            child: None,
            log: Arc::default(),
            log_reader: None,
            env: Vec::new(),
        };
        // A port found free can still be taken before roostd binds it (by
        // another test's server): then the start is tried on new ports.
        for attempt in 1.. {
            server.http_port = free_port();
            server.c2s_port = free_port();
            server.metrics_port = free_port();
            server.write_config(top, c2s, auth, extra, &cert, &key);
            match server.try_launch() {
                Ok(()) => break,
                Err(e) if attempt < 3 && e.contains("Address already in use") => continue,
                Err(e) => panic!("{e}"),
            }
        }
        server
    }

    fn write_config(&self, top: &str, c2s: &str, auth: &str, extra: &str, cert: &Path, key: &Path) {
        let (http_port, c2s_port, metrics_port) =
            (self.http_port, self.c2s_port, self.metrics_port);
        // ROOST_TEST_LOG=debug shows more of what roostd did in a failed test.
        let log_level = std::env::var("ROOST_TEST_LOG").unwrap_or_else(|_| "warn".into());
        let config = format!(
            "{top}\nhosts = [\"{HOST}\", \"{OTHER_HOST}\"]\ndata_dir = \"data\"\nlog_level = \"{log_level}\"\n\
             [http]\nbind = \"127.0.0.1:{http_port}\"\n\
             [c2s]\nbind = [\"127.0.0.1:{c2s_port}\"]\n{c2s}\n\
             [metrics]\nbind = [\"127.0.0.1:{metrics_port}\"]\n\
             [tls]\ncertificate = \"{}\"\nkey = \"{}\"\n\
             [auth]\nscram_iterations = 4096\n{auth}\n{extra}\n",
            cert.display(),
            key.display()
        );
        std::fs::write(self.config_path(), config).expect("write config");
    }

    /// The running roostd's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("roost.toml")
    }

    pub fn socket_path(&self) -> PathBuf {
        self.dir.path().join("data").join("roostd.sock")
    }

    pub fn database_path(&self) -> PathBuf {
        self.dir.path().join("data").join("roost.sqlite3")
    }

    pub fn c2s_addr(&self) -> String {
        format!("127.0.0.1:{}", self.c2s_port)
    }

    /// Creates an account with roostctl.
    pub fn create_user(&self, jid: &str, password: &str) {
        let out = self.ctl_with_stdin(
            &["user", "create", jid, "--password-stdin"],
            &format!("{password}\n"),
        );
        assert!(
            out.status.success(),
            "user create {jid}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs roostctl with `input` on its standard input.
    pub fn ctl_with_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut child = Command::new(roostctl_bin())
            .arg("--socket")
            .arg(self.socket_path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run roostctl");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("roostctl output")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.http_port)
    }

    /// A URL on the `[metrics]` listener (`/metrics` is the endpoint).
    pub fn metrics_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.metrics_port)
    }

    fn launch(&mut self) {
        if let Err(e) = self.try_launch() {
            panic!("{e}");
        }
    }

    /// Starts roostd and waits for its admin socket; the error says why
    /// it did not come up.
    fn try_launch(&mut self) -> Result<(), String> {
        let child = Command::new(roostd_bin())
            .arg("--config")
            .arg(self.config_path())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start roostd");
        let mut child = child;
        let stderr = child.stderr.take().expect("piped stderr");
        let log = self.log.clone();
        self.log_reader = Some(std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                log.push_str(&line);
                log.push('\n');
            }
        }));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if UnixStream::connect(self.socket_path()).is_ok() {
                return Ok(());
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                let stderr = self.take_stderr();
                return Err(format!("roostd exited early with {status}: {stderr}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err("roostd did not open its admin socket in time".into())
    }

    /// What roostd has written to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// What roostd wrote to stderr since it started (all of it once it
    /// has exited).
    fn take_stderr(&mut self) -> String {
        if let Some(reader) = self.log_reader.take() {
            let _ = reader.join();
        }
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Starts roostd again after [`terminate`](Self::terminate), on the
    /// same data directory and ports.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "roostd is still running");
        self.launch();
    }

    /// `kill -9`, then start again on the same data directory and ports.
    pub fn kill9_and_restart(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        self.launch();
    }

    /// SIGTERM; returns the exit status and what roostd wrote to stderr.
    /// Panics if roostd has not exited 10 seconds later.
    pub fn terminate(&mut self) -> (std::process::ExitStatus, String) {
        let mut child = self.child.take().expect("running");
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().expect("wait for roostd").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("roostd still running 10 s after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let status = child.wait().expect("wait for roostd");
        (status, self.take_stderr())
    }

    /// Runs `roostctl --socket SOCKET ARGS…` and returns its output.
    pub fn ctl(&self, args: &[&str]) -> Output {
        Command::new(roostctl_bin())
            .arg("--socket")
            .arg(self.socket_path())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run roostctl")
    }

    /// Creates an API key for `host` and returns it (`ID/SECRET`).
    pub fn create_key(&self, host: &str, name: &str) -> String {
        let out = self.ctl(&["invites-api", "create", host, name]);
        assert!(
            out.status.success(),
            "create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    }

    /// An account invite made with API key `key` over HTTP, as a web app
    /// makes one: its landing page URL.
    pub async fn api_invite(&self, key: &str) -> String {
        let r = http()
            .get(self.url("/invites_api"))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::CREATED);
        r.headers()["location"].to_str().unwrap().to_owned()
    }

    /// A raw admin-protocol connection, for protocol-level tests.
    pub fn admin_connection(&self) -> AdminConnection {
        let stream = UnixStream::connect(self.socket_path()).expect("connect admin socket");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        AdminConnection {
            reader: BufReader::new(stream.try_clone().unwrap()),
            stream,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            let log = self.take_stderr();
            if !log.is_empty() {
                eprintln!("--- roostd's log ---\n{log}--- end of roostd's log ---");
            }
        }
    }
}

pub struct AdminConnection {
    stream: UnixStream,
    reader: BufReader<UnixStream>,
}

impl AdminConnection {
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write admin socket");
    }

    /// Reads one response line as JSON.
    pub fn read(&mut self) -> serde_json::Value {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("read admin socket");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad frame {line:?}: {e}"))
    }

    pub fn request(&mut self, json: &str) -> serde_json::Value {
        self.send_raw(format!("{json}\n").as_bytes());
        self.read()
    }
}

/// An HTTP client that shows redirects instead of following them.
pub fn http() -> reqwest::Client {
    http_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

/// A client builder for these tests. roostd's reqwest brings rustls
/// without a crypto provider (ring is chosen in code), and features are
/// shared across the workspace: without a process-wide provider, building
/// a client panics ("No provider set").
pub fn http_builder() -> reqwest::ClientBuilder {
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
