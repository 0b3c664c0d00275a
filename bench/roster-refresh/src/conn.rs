//! One client connection (from bench/fast-login's `conn.rs`): TCP, STARTTLS
//! with the shared loadgen's TLS settings, a receive buffer, pattern
//! matching on the byte stream during negotiation, and whole top-level
//! elements (`stanzas::next_element`) once the session is up.
//!
//! As in the shared loadgen, the negotiation only looks for byte patterns:
//! the server under test is ours and writes `stream:`-prefixed stream
//! elements and single-quoted attributes; anything unexpected makes a step
//! fail with the bytes it saw, it is never skipped.

use std::io;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use memchr::memmem;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::client::TlsStream;

use crate::stanzas::{self, Next};
use crate::Target;

pub fn fail<T>(msg: impl Into<String>) -> io::Result<T> {
    Err(io::Error::other(msg.into()))
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memmem::find(haystack, needle)
}

/// Up to `n` characters of `bytes`, for error texts.
pub fn excerpt(bytes: &[u8], n: usize) -> String {
    String::from_utf8_lossy(bytes).chars().take(n).collect()
}

/// Accepts any certificate chain, as the shared loadgen does (loopback,
/// self-signed bench certificate); the TLS 1.3 handshake signature is still
/// verified, so the client's handshake work is the loadgen's.
#[derive(Debug)]
struct NoChainCheck(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoChainCheck {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &rustls::pki_types::CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &rustls::pki_types::CertificateDer<'_>,
        d: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn tls_connector() -> tokio_rustls::TlsConnector {
    static CONNECTOR: OnceLock<tokio_rustls::TlsConnector> = OnceLock::new();
    CONNECTOR
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions")
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoChainCheck(provider)))
                .with_no_client_auth();
            // Every login is a fresh client, as in the shared procedure.
            cfg.resumption = rustls::client::Resumption::disabled();
            tokio_rustls::TlsConnector::from(Arc::new(cfg))
        })
        .clone()
}

/// Protocol version and cipher suite of the first TLS session, for the report.
pub static TLS_INFO: OnceLock<String> = OnceLock::new();

enum Stream {
    Tcp(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// Only while the TCP stream moves into the TLS stream.
    Gone,
}

pub struct Conn {
    stream: Stream,
    buf: Vec<u8>,
    pos: usize,
    step: Duration,
    domain: String,
}

impl Conn {
    pub async fn connect(t: &Target) -> io::Result<Conn> {
        let step = Duration::from_secs_f64(t.step_timeout);
        let tcp = timeout(step, TcpStream::connect((t.host.as_str(), t.port)))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timeout"))??;
        tcp.set_nodelay(true)?;
        Ok(Conn {
            stream: Stream::Tcp(tcp),
            buf: Vec::with_capacity(4096),
            pos: 0,
            step,
            domain: t.domain.clone(),
        })
    }

    pub async fn write(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.stream {
            Stream::Tcp(s) => s.write_all(data).await,
            Stream::Tls(s) => {
                s.write_all(data).await?;
                s.flush().await
            }
            Stream::Gone => fail("connection lost in STARTTLS"),
        }
    }

    async fn read_more(&mut self) -> io::Result<usize> {
        // Consumed bytes go, so a session that stays open for the whole run
        // keeps a buffer of one partial stanza, not of everything it read.
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.reserve(16384);
        match &mut self.stream {
            Stream::Tcp(s) => s.read_buf(&mut self.buf).await,
            Stream::Tls(s) => s.read_buf(&mut self.buf).await,
            Stream::Gone => fail("connection lost in STARTTLS"),
        }
    }

    /// Reads until one of `patterns` appears in the unconsumed input;
    /// returns which one and the bytes consumed up to and including it. A
    /// stream error or a SASL `<failure` seen first ends the wait.
    pub async fn read_until_any(&mut self, patterns: &[&[u8]]) -> io::Result<(usize, Vec<u8>)> {
        let deadline = Instant::now() + self.step;
        loop {
            let rest = &self.buf[self.pos..];
            let hit = patterns
                .iter()
                .enumerate()
                .filter_map(|(k, p)| find(rest, p).map(|i| (i + p.len(), k)))
                .min();
            if let Some((end, k)) = hit {
                let out = rest[..end].to_vec();
                self.pos += end;
                return Ok((k, out));
            }
            if find(rest, b"<stream:error").is_some() || find(rest, b"<failure").is_some() {
                return fail(format!(
                    "failure while waiting for {:?}: {}",
                    String::from_utf8_lossy(patterns[0]),
                    excerpt(rest, 400)
                ));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match timeout(left, self.read_more()).await {
                Err(_) => {
                    return fail(format!(
                        "timeout waiting for {:?} (have: {})",
                        String::from_utf8_lossy(patterns[0]),
                        excerpt(&self.buf[self.pos..], 200)
                    ))
                }
                Ok(Ok(0)) => {
                    return fail(format!(
                        "EOF waiting for {:?} (have: {})",
                        String::from_utf8_lossy(patterns[0]),
                        excerpt(&self.buf[self.pos..], 200)
                    ))
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e),
            }
        }
    }

    pub async fn read_until(&mut self, pattern: &[u8]) -> io::Result<Vec<u8>> {
        Ok(self.read_until_any(&[pattern]).await?.1)
    }

    /// The next whole top-level element, waiting at most until `deadline`
    /// (forever with `None`). The server closing the stream, EOF or bytes
    /// that are not an element are errors.
    pub async fn next_element(&mut self, deadline: Option<Instant>) -> io::Result<Vec<u8>> {
        loop {
            match stanzas::next_element(&self.buf[self.pos..]) {
                Next::Element { start, end } => {
                    let el = self.buf[self.pos + start..self.pos + end].to_vec();
                    self.pos += end;
                    return Ok(el);
                }
                Next::StreamEnd => {
                    return fail(format!(
                        "server closed the stream: {}",
                        excerpt(&self.buf[self.pos..], 300)
                    ))
                }
                Next::Invalid(why) => return fail(why),
                Next::Incomplete => {}
            }
            let read = match deadline {
                None => self.read_more().await,
                Some(d) => timeout(
                    d.saturating_duration_since(Instant::now()),
                    self.read_more(),
                )
                .await
                .unwrap_or_else(|_| {
                    fail(format!(
                        "timeout waiting for a stanza (have: {})",
                        excerpt(&self.buf[self.pos..], 200)
                    ))
                }),
            };
            if read? == 0 {
                return fail(format!(
                    "EOF (have: {})",
                    excerpt(&self.buf[self.pos..], 200)
                ));
            }
        }
    }

    /// Opens a stream (with `from` when given) and returns its features,
    /// which may be an empty `<stream:features/>`.
    pub async fn open_stream(&mut self, from: Option<&str>) -> io::Result<Vec<u8>> {
        let from = from.map(|f| format!(" from='{f}'")).unwrap_or_default();
        let header = format!(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='{}'{from} version='1.0'>",
            self.domain
        );
        self.write(header.as_bytes()).await?;
        self.read_features().await
    }

    /// Input up to the end of the next `<stream:features>`, which may be
    /// empty (`<stream:features/>`).
    pub async fn read_features(&mut self) -> io::Result<Vec<u8>> {
        Ok(self
            .read_until_any(&[b"</stream:features>", b"<stream:features/>"])
            .await?
            .1)
    }

    /// STARTTLS and the TLS handshake (no stream restart here).
    pub async fn starttls(&mut self) -> io::Result<()> {
        self.write(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            .await?;
        self.read_until(b"<proceed").await?;
        self.read_until(b">").await?;
        self.buf.clear();
        self.pos = 0;
        let Stream::Tcp(tcp) = std::mem::replace(&mut self.stream, Stream::Gone) else {
            return fail("STARTTLS twice");
        };
        let name = rustls::pki_types::ServerName::try_from(self.domain.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let tls = timeout(self.step, tls_connector().connect(name, tcp))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "tls handshake timeout"))??;
        if TLS_INFO.get().is_none() {
            let (_, c) = tls.get_ref();
            let _ = TLS_INFO.set(format!(
                "{:?} {:?}",
                c.protocol_version(),
                c.negotiated_cipher_suite().map(|s| s.suite())
            ));
        }
        self.stream = Stream::Tls(Box::new(tls));
        Ok(())
    }
}
