//! Archive paging benchmark (issue 13): fills one account's message
//! archive by sending it messages through the real server, then pages
//! through it with concurrent sessions of that account, 50 a page,
//! forwards from the start (RSM `<after/>`) and backwards from the end
//! (`<before/>`), for a fixed time. Prints one JSON object: queries/s,
//! results/s, and query latency (iq sent to its result read, results
//! included) p50/p99/max.
//!
//!   archive-paging --port 6432 --domain bench.test --owner bench0 \
//!       --sender bench1 --password benchpass --messages 100000 \
//!       --clients 4 --duration 15
//!
//! STARTTLS (the certificate is not checked: a bench on loopback) and SASL
//! PLAIN; the XML is scanned, not parsed: the server's own serialisation is
//! known (single quotes, no prefixes).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Accepts any certificate: the bench's server is on loopback.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn connector() -> TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

struct Options {
    port: u16,
    domain: String,
    owner: String,
    sender: String,
    password: String,
    messages: usize,
    clients: usize,
    duration: u64,
    page: usize,
}

fn options() -> Options {
    let mut o = Options {
        port: 6432,
        domain: "bench.test".into(),
        owner: "bench0".into(),
        sender: "bench1".into(),
        password: "benchpass".into(),
        messages: 100_000,
        clients: 4,
        duration: 15,
        page: 50,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        let number = || value.parse().unwrap_or_else(|_| panic!("{}: a number", pair[0]));
        match pair[0].as_str() {
            "--port" => o.port = number() as u16,
            "--domain" => o.domain = value.clone(),
            "--owner" => o.owner = value.clone(),
            "--sender" => o.sender = value.clone(),
            "--password" => o.password = value.clone(),
            "--messages" => o.messages = number(),
            "--clients" => o.clients = number(),
            "--duration" => o.duration = number() as u64,
            "--page" => o.page = number(),
            other => panic!("unknown option {other}"),
        }
    }
    o
}

/// One XMPP session over TLS.
struct Session {
    stream: TlsStream<TcpStream>,
    buffer: Vec<u8>,
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl Session {
    async fn login(o: &Options, user: &str, resource: &str) -> Session {
        let mut tcp = TcpStream::connect(("127.0.0.1", o.port)).await.expect("connect");
        tcp.set_nodelay(true).expect("nodelay");
        let header = format!(
            "<?xml version='1.0'?><stream:stream to='{}' version='1.0' xmlns='jabber:client' \
             xmlns:stream='http://etherx.jabber.org/streams'>",
            o.domain
        );
        tcp.write_all(header.as_bytes()).await.expect("write");
        tcp.write_all(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            .await
            .expect("write");
        // Byte by byte up to `<proceed …/>`: nothing of the TLS handshake
        // may be read into a buffer here.
        let mut seen = Vec::new();
        while !seen.ends_with(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>") {
            let mut byte = [0u8; 1];
            let n = tcp.read(&mut byte).await.expect("read");
            assert!(n == 1, "the server closed the stream before TLS");
            seen.push(byte[0]);
        }
        let name = ServerName::try_from(o.domain.clone()).expect("a server name");
        let stream = connector().connect(name, tcp).await.expect("TLS handshake");
        let mut s = Session {
            stream,
            buffer: Vec::new(),
        };
        s.send(&header).await;
        s.read_past(b"</stream:features>").await;
        let credentials = base64(format!("\0{user}\0{}", o.password).as_bytes());
        s.send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{credentials}</auth>"
        ))
        .await;
        let answer = s.read_past(b"/>").await;
        assert!(
            find(&answer, b"<success").is_some(),
            "{user}: login failed: {}",
            String::from_utf8_lossy(&answer)
        );
        s.send(&header).await;
        s.read_past(b"</stream:features>").await;
        s.send(&format!(
            "<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
             <resource>{resource}</resource></bind></iq>"
        ))
        .await;
        s.read_past(b"</iq>").await;
        s
    }

    async fn send(&mut self, text: &str) {
        self.stream.write_all(text.as_bytes()).await.expect("write");
    }

    async fn fill(&mut self) {
        let mut chunk = [0u8; 64 * 1024];
        let n = tokio::time::timeout(Duration::from_secs(30), self.stream.read(&mut chunk))
            .await
            .expect("the server answers within 30 s")
            .expect("read");
        assert!(n > 0, "the server closed the stream");
        self.buffer.extend_from_slice(&chunk[..n]);
    }

    /// Reads until `marker` and returns everything up to and including it.
    async fn read_past(&mut self, marker: &[u8]) -> Vec<u8> {
        loop {
            if let Some(at) = find(&self.buffer, marker) {
                let rest = self.buffer.split_off(at + marker.len());
                return std::mem::replace(&mut self.buffer, rest);
            }
            self.fill().await;
        }
    }
}

/// Sends `n` chats from the sender to the owner's bare JID while one
/// available session of the owner reads them, a ping every 500 so that
/// no more than that many are in flight.
async fn fill_archive(o: &'static Options) -> f64 {
    let mut owner = Session::login(o, &o.owner, "receiver").await;
    owner.send("<presence/>").await;
    let mut sender = Session::login(o, &o.sender, "sender").await;
    let to = format!("{}@{}", o.owner, o.domain);
    let started = Instant::now();
    let reader = tokio::spawn(async move {
        // What is kept between reads is shorter than the marker, so no
        // body is counted twice.
        let mut received = 0usize;
        while received < o.messages {
            owner.fill().await;
            received += count(&owner.buffer, b"<body>");
            let keep = owner.buffer.len().saturating_sub(b"<body>".len() - 1);
            owner.buffer.drain(..keep);
        }
    });
    let mut batch = String::new();
    for i in 0..o.messages {
        batch.push_str(&format!(
            "<message type='chat' to='{to}' id='m{i}'><body>archived message number {i} \
             with a body of about the size of a short chat line</body></message>"
        ));
        if i % 500 == 499 || i + 1 == o.messages {
            batch.push_str(&format!("<iq type='get' id='p{i}'><ping xmlns='urn:xmpp:ping'/></iq>"));
            sender.send(&batch).await;
            batch.clear();
            sender.read_past(format!("id='p{i}'").as_bytes()).await;
        }
    }
    reader.await.expect("the receiver");
    started.elapsed().as_secs_f64()
}

/// Occurrences of `needle` that start in `hay`.
fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// The text of `<name>…</name>` in `text`.
fn element_text(text: &[u8], name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = find(text, open.as_bytes())? + open.len();
    let end = start + find(&text[start..], format!("</{name}>").as_bytes())?;
    Some(String::from_utf8_lossy(&text[start..end]).into_owned())
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    results: usize,
    forward_passes: usize,
    backward_passes: usize,
}

/// One session paging through the archive, forwards then backwards, until
/// `deadline`.
async fn page_through(o: &'static Options, client: usize, deadline: Instant) -> Tally {
    let mut s = Session::login(o, &o.owner, &format!("pager{client}")).await;
    let mut tally = Tally::default();
    let mut query = 0usize;
    let mut forwards = true;
    let mut cursor: Option<String> = None;
    let mut seen_this_pass = 0usize;
    while Instant::now() < deadline {
        let id = format!("q{client}-{query}");
        query += 1;
        let set = match (forwards, &cursor) {
            (true, None) => format!("<max>{}</max>", o.page),
            (true, Some(after)) => format!("<max>{}</max><after>{after}</after>", o.page),
            (false, None) => format!("<max>{}</max><before/>", o.page),
            (false, Some(before)) => format!("<max>{}</max><before>{before}</before>", o.page),
        };
        let sent = Instant::now();
        s.send(&format!(
            "<iq type='set' id='{id}'><query xmlns='urn:xmpp:mam:2' queryid='{id}'>\
             <set xmlns='http://jabber.org/protocol/rsm'>{set}</set></query></iq>"
        ))
        .await;
        let marker = format!("<iq type='result' id='{id}'");
        let before_answer = s.read_past(marker.as_bytes()).await;
        let answer = s.read_past(b"</iq>").await;
        tally.latencies.push(sent.elapsed());
        let results = count(&before_answer, b"<result xmlns='urn:xmpp:mam:2'");
        assert!(
            results > 0 || find(&answer, b"complete='true'").is_some(),
            "an empty page that is not the end: {}",
            String::from_utf8_lossy(&answer)
        );
        tally.results += results;
        seen_this_pass += results;
        if find(&answer, b"complete='true'").is_some() {
            assert_eq!(seen_this_pass, o.messages, "a whole pass sees every message once");
            if forwards {
                tally.forward_passes += 1;
            } else {
                tally.backward_passes += 1;
            }
            forwards = !forwards;
            cursor = None;
            seen_this_pass = 0;
        } else {
            cursor = element_text(&answer, if forwards { "last" } else { "first" });
            assert!(cursor.is_some(), "a page names its first and last");
        }
    }
    tally
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank].as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let o: &'static Options = Box::leak(Box::new(options()));
    let fill_secs = fill_archive(o).await;
    // A first query waits for the archive's writer to commit everything.
    let settle = Instant::now();
    let mut first = Session::login(o, &o.owner, "settle").await;
    first
        .send("<iq type='set' id='c'><query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><max>0</max></set></query></iq>")
        .await;
    let answer = first.read_past(b"</iq>").await;
    let archived: usize = element_text(&answer, "count")
        .and_then(|c| c.parse().ok())
        .expect("a count");
    assert_eq!(archived, o.messages, "every message archived once");
    let settle_ms = settle.elapsed().as_secs_f64() * 1000.0;

    let started = Instant::now();
    let deadline = started + Duration::from_secs(o.duration);
    let tasks: Vec<_> = (0..o.clients)
        .map(|c| tokio::spawn(page_through(o, c, deadline)))
        .collect();
    let mut all = Tally::default();
    for task in tasks {
        let t = task.await.expect("a pager");
        all.latencies.extend(t.latencies);
        all.results += t.results;
        all.forward_passes += t.forward_passes;
        all.backward_passes += t.backward_passes;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.latencies.sort();
    println!(
        "{{\"messages\": {}, \"fill_secs\": {:.2}, \"fill_msgs_per_sec\": {:.0}, \"settle_ms\": {:.1}, \
         \"clients\": {}, \"page\": {}, \"duration_secs\": {:.2}, \"queries\": {}, \
         \"queries_per_sec\": {:.0}, \"results_per_sec\": {:.0}, \"latency_ms\": {{\"p50\": {:.2}, \
         \"p99\": {:.2}, \"max\": {:.2}}}, \"forward_passes\": {}, \"backward_passes\": {}}}",
        o.messages,
        fill_secs,
        o.messages as f64 / fill_secs,
        settle_ms,
        o.clients,
        o.page,
        elapsed,
        all.latencies.len(),
        all.latencies.len() as f64 / elapsed,
        all.results as f64 / elapsed,
        percentile(&all.latencies, 50.0),
        percentile(&all.latencies, 99.0),
        percentile(&all.latencies, 100.0),
        all.forward_passes,
        all.backward_passes
    );
}
