//! Connection floods for `tests/tests/floods.rs`: thousands of TCP
//! connections to a listener from 127.0.0.x source addresses (Linux routes
//! all of 127/8 to the loopback interface), each stalling in its own way,
//! and a count of which ones the server has closed so far.

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;

/// Connections being opened at once.
const CONNECTING: usize = 256;
/// A connect the kernel has not completed by then (a full listen queue
/// drops SYNs, and the client retries) is given up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The stream header the trickling flood sends, one byte a second: it
/// would take more than two minutes to finish.
const STREAM_HEADER: &[u8] =
    b"<?xml version='1.0'?><stream:stream to='example.test' version='1.0' \
      xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

/// The start of a TLS ClientHello: a handshake record announcing 512 bytes,
/// of which only these few ever come.
const PARTIAL_CLIENT_HELLO: &[u8] = &[
    0x16, 0x03, 0x01, 0x02, 0x00, // record: handshake, TLS 1.0, 512 bytes
    0x01, 0x00, 0x01, 0xfc, // ClientHello, 508 bytes
    0x03, 0x03, 0x5e, 0x11, 0x42, 0x07, // client_version and some random
];

/// How each connection of a flood stalls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stall {
    /// Opens and sends nothing.
    Silent,
    /// Sends a stream header one byte a second.
    TrickledHeader,
    /// Sends the first bytes of a TLS ClientHello (to a direct TLS port)
    /// and nothing more.
    PartialClientHello,
}

struct Connection {
    stream: TcpStream,
    /// Bytes of the trickled header sent so far.
    sent: usize,
    /// The server sent a `resource-constraint` stream error before closing.
    told_resource_constraint: bool,
    received: Vec<u8>,
}

/// A flood's connections that the server has not closed yet, as the
/// client sees them. A connect the server's full accept queue never took in
/// looks open to a client that sends nothing: count what the server holds
/// with [`open_files`].
pub struct Flood {
    target: SocketAddr,
    stall: Stall,
    /// Flood connections come from 127.0.0.FIRST_SOURCE and up, this many
    /// from each before the next address.
    per_source: usize,
    open: Vec<Connection>,
    opened: usize,
    /// Connections closed by the server: in all, and after a
    /// `resource-constraint` stream error.
    pub closed: usize,
    pub closed_with_resource_constraint: usize,
    /// Connects that did not complete.
    pub failed: usize,
}

/// The first source address of a flood; the real client uses 127.0.0.1.
pub const FIRST_SOURCE: u8 = 2;
/// Source addresses a flood goes through before starting over.
const SOURCES: usize = 200;

impl Flood {
    /// Opens `count` connections to `target`, `per_source` from each
    /// source address in turn, each starting its stall.
    pub async fn open(target: SocketAddr, count: usize, per_source: usize, stall: Stall) -> Flood {
        let mut flood = Flood {
            target,
            stall,
            per_source,
            open: Vec::with_capacity(count),
            opened: 0,
            closed: 0,
            closed_with_resource_constraint: 0,
            failed: 0,
        };
        flood.open_more(count).await;
        flood
    }

    /// Opens `count` more connections, continuing through the source
    /// addresses.
    async fn open_more(&mut self, count: usize) {
        let mut connecting = JoinSet::new();
        let mut started = 0;
        while started < count || !connecting.is_empty() {
            while started < count && connecting.len() < CONNECTING {
                let source = self.source(self.opened + started);
                let (target, stall) = (self.target, self.stall);
                connecting.spawn(connect(source, target, stall));
                started += 1;
            }
            match connecting.join_next().await {
                Some(Ok(Some(connection))) => self.open.push(connection),
                Some(Ok(None)) => self.failed += 1,
                Some(Err(e)) => panic!("connect task: {e}"),
                None => {}
            }
        }
        self.opened += count;
    }

    /// The source address of the `index`th connection: 127.0.0.2 and up,
    /// wrapping around after [`SOURCES`] addresses.
    fn source(&self, index: usize) -> IpAddr {
        let offset = (index / self.per_source % SOURCES) as u8;
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, FIRST_SOURCE + offset))
    }

    /// Reads what the server sent to each open connection, without waiting,
    /// and forgets the connections it closed; returns how many are open.
    pub fn sweep(&mut self) -> usize {
        let mut buf = [0u8; 1024];
        let mut still_open = Vec::with_capacity(self.open.len());
        for mut connection in self.open.drain(..) {
            let closed = loop {
                match connection.stream.try_read(&mut buf) {
                    Ok(0) => break true,
                    Ok(n) => {
                        connection.received.extend_from_slice(&buf[..n]);
                        if find(&connection.received, b"<resource-constraint") {
                            connection.told_resource_constraint = true;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break false,
                    Err(_) => break true,
                }
            };
            if closed {
                self.closed += 1;
                if connection.told_resource_constraint {
                    self.closed_with_resource_constraint += 1;
                }
            } else {
                still_open.push(connection);
            }
        }
        self.open = still_open;
        self.open.len()
    }

    /// Keeps the flood up forever: once a second the trickling connections
    /// send their next byte, and every connection the server closed is
    /// replaced by a new one (from the next source addresses), up to
    /// `size` connections, so the server sees new connections all along.
    /// Run it beside what is measured; it ends when dropped.
    pub async fn keep_up(&mut self, size: usize) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            if self.stall == Stall::TrickledHeader {
                self.trickle();
            }
            self.sweep();
            self.open_more(size.saturating_sub(self.open.len())).await;
        }
    }

    /// Sends the next byte of the stream header on each open connection.
    fn trickle(&mut self) {
        for connection in &mut self.open {
            let Some(byte) = STREAM_HEADER.get(connection.sent..connection.sent + 1) else {
                continue;
            };
            if let Ok(1) = connection.stream.try_write(byte) {
                connection.sent += 1;
            }
        }
    }
}

/// Opens one connection from `source` and starts its stall; `None` if the
/// connect failed.
async fn connect(source: IpAddr, target: SocketAddr, stall: Stall) -> Option<Connection> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(SocketAddr::new(source, 0)).ok()?;
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, socket.connect(target))
        .await
        .ok()?
        .ok()?;
    let mut connection = Connection {
        stream,
        sent: 0,
        told_resource_constraint: false,
        received: Vec::new(),
    };
    let first: &[u8] = match stall {
        Stall::Silent => &[],
        Stall::TrickledHeader => &STREAM_HEADER[..1],
        Stall::PartialClientHello => PARTIAL_CLIENT_HELLO,
    };
    if !first.is_empty() {
        // A few bytes always fit a new socket's send buffer; a connection
        // the server closed at once may refuse them, and counts as closed
        // at the next sweep.
        if let Ok(n) = connection.stream.try_write(first) {
            connection.sent = n;
        }
    }
    Some(connection)
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The established TCP connections process `pid` holds on local `port`
/// (IPv4): its socket descriptors looked up in `/proc/net/tcp`.
pub fn connections_held(pid: u32, port: u16) -> usize {
    let inodes: std::collections::HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("/proc/PID/fd")
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy();
            let inode = target.strip_prefix("socket:[")?.strip_suffix(']')?;
            Some(inode.to_owned())
        })
        .collect();
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let local_port = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // sl local rem state ... inode (the tenth field).
            fields.len() > 9
                && fields[1].ends_with(&local_port)
                && fields[3] == "01"
                && inodes.contains(fields[9])
        })
        .count()
}

/// A process's resident memory (VmRSS) in bytes.
pub fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse().ok())
        .expect("VmRSS in /proc/PID/status");
    kib * 1024
}

/// Runs `future` while `flood` is kept up at `size` connections (see
/// [`Flood::keep_up`]).
pub async fn while_flooding<T>(
    flood: &mut Flood,
    size: usize,
    future: impl Future<Output = T>,
) -> T {
    tokio::select! {
        done = future => done,
        () = flood.keep_up(size) => unreachable!("keep_up never ends"),
    }
}

/// Starts roostd with `http` lines in its `[http]` table (the test config
/// has no other way in for them): started once, the config rewritten, then
/// restarted on the same ports.
pub fn server_with_http(http: &str) -> crate::Server {
    let mut server = crate::Server::start();
    let path = server.config_path();
    let config = std::fs::read_to_string(&path).expect("read config");
    let config = config.replacen("[http]\n", &format!("[http]\n{http}\n"), 1);
    std::fs::write(&path, config).expect("write config");
    server.kill9_and_restart();
    server
}

/// Reads an HTTP response off `stream` until it is complete (by its
/// `content-length`) or the server closes; `None` if neither happens
/// `within`. An empty string means closed without an answer.
pub async fn read_response(stream: &mut TcpStream, within: Duration) -> Option<String> {
    use tokio::io::AsyncReadExt as _;
    let deadline = tokio::time::Instant::now() + within;
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(complete) = complete_response(&received) {
            return Some(complete);
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&received).into()),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
        }
    }
}

fn complete_response(received: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(received);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    (body.len() >= length).then(|| text.into_owned())
}
