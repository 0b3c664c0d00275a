//! A blocking admin-protocol client over roostd's Unix socket.
//!
//! One request frame out, one response frame back (see
//! [`roost_common::admin`]). The client connects lazily and keeps the
//! connection for the next request, which is what lets the shell keep one
//! connection open; when roostd has closed it in between (a restart), the
//! client notices before sending and reconnects. A request is never sent
//! twice: once it may have reached roostd, a failure is reported, not retried,
//! so a retried `create` cannot make two keys.
//!
//! Plain `std` I/O on purpose: a one-shot `roostctl` must start, ask and exit
//! in a few milliseconds, which an async runtime would not help with.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use roost_common::admin::{
    AdminError, MAX_REQUEST_LEN, MAX_RESPONSE_LEN, Outcome, PROTOCOL_VERSION, Reply, Request,
    RequestFrame, ResponseFrame,
};
use roost_common::frame::{self, FrameDecoder};

/// How long roostd may take to answer one request before roostctl gives up.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach roostd: {}", unreachable_hint(.path, .source))]
    Unreachable { path: PathBuf, source: io::Error },
    #[error("roostd closed the connection without answering (see its log)")]
    Closed,
    #[error("roostd did not answer within {} seconds", .0.as_secs())]
    Timeout(Duration),
    #[error("connection to roostd failed: {0}")]
    Io(io::Error),
    #[error("roostd sent an answer roostctl cannot read ({0}); are both the same version?")]
    Protocol(String),
    /// roostd understood the request and said no.
    #[error("{0}")]
    Refused(AdminError),
    /// Not sent: roostd reads requests of at most [`MAX_REQUEST_LEN`]
    /// bytes (a `roster refresh` of thousands of JIDs).
    #[error(
        "the request would be {len} bytes, more than roostd reads ({MAX_REQUEST_LEN}); \
         give fewer arguments per command"
    )]
    TooLarge { len: usize },
}

impl ClientError {
    /// The exit status documented in `roostctl --help`: 1 when roostd
    /// refused, 2 for a request too large to send (like a bad argument),
    /// 3 when no answer could be had.
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::Refused(_) => 1,
            ClientError::TooLarge { .. } => 2,
            _ => 3,
        }
    }
}

fn unreachable_hint(path: &Path, error: &io::Error) -> String {
    let path = path.display();
    match error.kind() {
        io::ErrorKind::NotFound => format!("no socket at {path} (is roostd running?)"),
        io::ErrorKind::PermissionDenied => format!(
            "permission denied on {path} (run roostctl as the user roostd runs as, \
             or give yourself access to the socket)"
        ),
        io::ErrorKind::ConnectionRefused => format!(
            "nothing is listening on {path} (is roostd running? \
             the socket file may be left over from a crash)"
        ),
        _ => format!("{path}: {error}"),
    }
}

struct Connection {
    stream: UnixStream,
    decoder: FrameDecoder,
}

pub struct AdminClient {
    path: PathBuf,
    connection: Option<Connection>,
    last_id: u64,
    timeout: Duration,
}

impl AdminClient {
    /// A client for the socket at `path`; nothing is opened until the first
    /// request.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        AdminClient {
            path: path.into(),
            connection: None,
            last_id: 0,
            timeout: ANSWER_TIMEOUT,
        }
    }

    /// Changes how long to wait for an answer (tests use a short one).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Changes how long to wait for the next answers, on the open
    /// connection too. A zero duration is taken as a millisecond: the
    /// socket API reads zero as "forever".
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout.max(Duration::from_millis(1));
        if let Some(connection) = &self.connection {
            let stream = &connection.stream;
            let applied = stream
                .set_read_timeout(Some(self.timeout))
                .and_then(|()| stream.set_write_timeout(Some(self.timeout)));
            if applied.is_err() {
                // A socket that cannot take it is replaced at the next call.
                self.connection = None;
            }
        }
    }

    /// How long the next answer is waited for.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn socket_path(&self) -> &Path {
        &self.path
    }

    /// Asks roostd for its version: a cheap way to check it is there.
    pub fn hello(&mut self) -> Result<String, ClientError> {
        match self.call(Request::Hello)? {
            Reply::Hello { server_version } => Ok(server_version),
            other => Err(ClientError::Protocol(format!(
                "expected a hello reply, got {other:?}"
            ))),
        }
    }

    /// Sends one request and waits for its answer. An error outcome is
    /// [`ClientError::Refused`]; the connection stays open for the next
    /// request unless it broke.
    pub fn call(&mut self, request: Request) -> Result<Reply, ClientError> {
        self.last_id += 1;
        let id = self.last_id;
        let bytes = frame::encode(&RequestFrame {
            v: PROTOCOL_VERSION,
            id,
            request,
        });
        // roostd would answer "too large" only after reading the whole line;
        // saying so here is quicker and names the cure.
        let len = bytes.len() - 1;
        if len > MAX_REQUEST_LEN {
            return Err(ClientError::TooLarge { len });
        }
        let result = match self.send(&bytes) {
            Ok(()) => self.receive(id),
            // roostd may answer and close before reading a request (one
            // from a user it refuses): its answer says why, if it came.
            Err(ClientError::Closed) => match self.receive(id) {
                Err(ClientError::Refused(error)) => Err(ClientError::Refused(error)),
                _ => Err(ClientError::Closed),
            },
            Err(e) => Err(e),
        };
        if matches!(result, Err(ref e) if !matches!(e, ClientError::Refused(_))) {
            self.connection = None;
        }
        result
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        if self.connection.as_mut().is_some_and(|c| !c.is_open()) {
            self.connection = None;
        }
        let connection = match &mut self.connection {
            Some(connection) => connection,
            None => self.connection.insert(self.open()?),
        };
        connection
            .stream
            .write_all(bytes)
            .map_err(|e| match e.kind() {
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => ClientError::Closed,
                _ => ClientError::Io(e),
            })
    }

    fn open(&self) -> Result<Connection, ClientError> {
        let unreachable = |source| ClientError::Unreachable {
            path: self.path.clone(),
            source,
        };
        let stream = UnixStream::connect(&self.path).map_err(unreachable)?;
        stream
            .set_read_timeout(Some(self.timeout))
            .and_then(|()| stream.set_write_timeout(Some(self.timeout)))
            .map_err(ClientError::Io)?;
        Ok(Connection {
            stream,
            decoder: FrameDecoder::new(MAX_RESPONSE_LEN),
        })
    }

    fn receive(&mut self, id: u64) -> Result<Reply, ClientError> {
        let timeout = self.timeout;
        let connection = self.connection.as_mut().ok_or(ClientError::Closed)?;
        let line = connection.read_frame(timeout)?;
        let response: ResponseFrame =
            frame::decode(&line).map_err(|e| ClientError::Protocol(format!("bad frame: {e}")))?;
        // Id 0 answers a request roostd could not read at all; it is still
        // the answer to ours, as only one is outstanding.
        if response.id != id && response.id != 0 {
            return Err(ClientError::Protocol(format!(
                "answer to request {} while waiting for {id}",
                response.id
            )));
        }
        match response.outcome {
            Outcome::Ok(reply) => Ok(reply),
            Outcome::Error(error) => Err(ClientError::Refused(error)),
        }
    }
}

impl Connection {
    /// Whether the connection is still fit for a request, checked without
    /// blocking. Between requests roostd sends nothing, so a read that does
    /// not block means trouble: end-of-file (roostd closed it) or stray
    /// bytes (the stream is out of step). Either way a new connection is
    /// the cure.
    fn is_open(&mut self) -> bool {
        if self.stream.set_nonblocking(true).is_err() {
            return false;
        }
        let idle = matches!(
            self.stream.read(&mut [0u8; 1]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock
        );
        self.stream.set_nonblocking(false).is_ok() && idle
    }

    fn read_frame(&mut self, timeout: Duration) -> Result<Vec<u8>, ClientError> {
        let mut buf = [0u8; 8192];
        loop {
            match self.decoder.next_frame() {
                Some(Ok(line)) => return Ok(line),
                Some(Err(e)) => return Err(ClientError::Protocol(e.to_string())),
                None => {}
            }
            let n = match self.stream.read(&mut buf) {
                Ok(0) => return Err(ClientError::Closed),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(ClientError::Timeout(timeout));
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    return Err(ClientError::Closed);
                }
                Err(e) => return Err(ClientError::Io(e)),
            };
            self.decoder.push(&buf[..n]);
        }
    }
}

#[cfg(test)]
mod tests;
