//! A deliberately dumb XMPP client for protocol-level tests: it writes the
//! exact bytes a test gives it and reads raw text back, so tests can send
//! malformed XML, cut connections mid-stanza and look at stream errors.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

use crate::{HOST, Server, test_ca};

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

pub struct RawClient {
    io: Pin<Box<dyn Io>>,
    /// Received and not yet consumed by a `read_until`.
    pending: String,
    /// TLS 1.3's exporter for channel binding (RFC 9266), taken right after
    /// the handshake; `None` before TLS.
    tls_exporter: Option<Vec<u8>>,
    /// The server's end-entity certificate (DER); `None` before TLS.
    peer_certificate: Option<Vec<u8>>,
}

/// RFC 9266: 32 bytes of `EXPORTER-Channel-Binding` with no context.
fn channel_binding<T>(tls: &tokio_rustls::client::TlsStream<T>) -> Vec<u8> {
    tls.get_ref()
        .1
        .export_keying_material(vec![0u8; 32], b"EXPORTER-Channel-Binding", None)
        .expect("TLS 1.3 exporter")
}

fn end_entity<T>(tls: &tokio_rustls::client::TlsStream<T>) -> Vec<u8> {
    tls.get_ref()
        .1
        .peer_certificates()
        .expect("a server certificate")[0]
        .to_vec()
}

const STEP: Duration = Duration::from_secs(10);

impl RawClient {
    pub async fn connect(server: &Server) -> RawClient {
        let tcp = TcpStream::connect(server.c2s_addr())
            .await
            .expect("connect c2s");
        RawClient {
            io: Box::pin(tcp),
            pending: String::new(),
            tls_exporter: None,
            peer_certificate: None,
        }
    }

    /// The TLS exporter value of this connection (panics before TLS).
    pub fn tls_exporter(&self) -> &[u8] {
        self.tls_exporter.as_deref().expect("a TLS connection")
    }

    /// The certificate the server presented (DER; panics before TLS).
    pub fn peer_certificate(&self) -> &[u8] {
        self.peer_certificate.as_deref().expect("a TLS connection")
    }

    pub async fn send(&mut self, text: &str) {
        self.io.write_all(text.as_bytes()).await.expect("write");
        self.io.flush().await.expect("flush");
    }

    /// Sends a stream header to `to` and returns everything up to the end of
    /// the features (or of whatever the server sent instead, if it closed).
    pub async fn open(&mut self, to: &str) -> String {
        self.open_from(to, None).await
    }

    /// As [`open`](Self::open), with `from='FROM'` on the header when given
    /// (what makes a server offer FAST).
    pub async fn open_from(&mut self, to: &str, from: Option<&str>) -> String {
        let from = from.map(|f| format!(" from='{f}'")).unwrap_or_default();
        self.send(&format!(
            "<?xml version='1.0'?><stream:stream to='{to}'{from} version='1.0' xmlns='jabber:client' \
             xmlns:stream='http://etherx.jabber.org/streams'>"
        ))
        .await;
        self.read_until_any(&["</stream:features>", "</stream:stream>"])
            .await
    }

    /// Reads until `needle` has arrived; returns the text up to and including it.
    pub async fn read_until(&mut self, needle: &str) -> String {
        self.read_until_any(&[needle]).await
    }

    pub async fn read_until_any(&mut self, needles: &[&str]) -> String {
        let deadline = tokio::time::Instant::now() + STEP;
        let mut buf = [0u8; 4096];
        loop {
            if let Some(end) = needles
                .iter()
                .filter_map(|n| self.pending.find(n).map(|i| i + n.len()))
                .min()
            {
                return self.pending.drain(..end).collect();
            }
            let read = tokio::time::timeout_at(deadline, self.io.read(&mut buf))
                .await
                .unwrap_or_else(|_| {
                    panic!("timed out waiting for {needles:?}; got {:?}", self.pending)
                });
            match read {
                Ok(0) | Err(_) => panic!(
                    "connection closed waiting for {needles:?}; got {:?}",
                    self.pending
                ),
                Ok(n) => self.pending.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
    }

    /// Reads until the server closes the connection; returns all it sent
    /// (ending in "[not closed]" if it kept the connection open).
    pub async fn read_to_end(&mut self) -> String {
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(STEP, self.io.read_to_end(&mut rest))
            .await
            .is_ok();
        let mut all = std::mem::take(&mut self.pending);
        all.push_str(&String::from_utf8_lossy(&rest));
        if !closed {
            all.push_str("[not closed]");
        }
        all
    }

    /// Reads up to the end of the iq with `id` (self-closing or not) and
    /// returns the text up to there.
    pub async fn read_iq(&mut self, id: &str) -> String {
        let marker = format!("id='{id}'");
        let mut text = self.read_until(&marker).await;
        let start = text.rfind("<iq").expect("an iq carries the id");
        let head_rest = self.read_until(">").await;
        text.push_str(&head_rest);
        if text[start..].ends_with("/>") {
            return text;
        }
        text.push_str(&self.read_until("</iq>").await);
        text
    }

    /// STARTTLS on an opened stream, then a new stream over TLS; returns
    /// the new features.
    pub async fn starttls(self) -> (RawClient, String) {
        self.starttls_from(None).await
    }

    /// As [`starttls`](Self::starttls), with `from` on the new stream header.
    pub async fn starttls_from(mut self, from: Option<&str>) -> (RawClient, String) {
        self.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
            .await;
        self.read_until("<proceed").await;
        self.read_until(">").await;
        let mut roots = rustls::RootCertStore::empty();
        let ca = std::fs::read(&test_ca().pem_path).expect("CA file");
        for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(&ca) {
            roots.add(cert.expect("CA pem")).expect("add CA");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let name = rustls_pki_types::ServerName::try_from(HOST).expect("name");
        let tls = connector
            .connect(name, self.io)
            .await
            .expect("TLS handshake");
        let tls_exporter = Some(channel_binding(&tls));
        let peer_certificate = Some(end_entity(&tls));
        let mut client = RawClient {
            io: Box::pin(tls),
            pending: String::new(),
            tls_exporter,
            peer_certificate,
        };
        let features = client.open_from(HOST, from).await;
        (client, features)
    }

    /// Connects with TLS from the first byte (XEP-0368) to `port`.
    pub async fn connect_direct_tls(port: u16) -> RawClient {
        let tcp = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let tls = tls_connector()
            .connect(server_name(), tcp)
            .await
            .expect("TLS handshake");
        let tls_exporter = Some(channel_binding(&tls));
        let peer_certificate = Some(end_entity(&tls));
        RawClient {
            io: Box::pin(tls),
            pending: String::new(),
            tls_exporter,
            peer_certificate,
        }
    }

    /// Connects, starts TLS and authenticates with PLAIN; returns the client
    /// at the post-authentication stream features.
    pub async fn authenticated(server: &Server, user: &str, password: &str) -> RawClient {
        let mut client = RawClient::connect(server).await;
        client.open(HOST).await;
        let (mut client, _) = client.starttls().await;
        let creds =
            base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
        client
            .send(&format!(
                "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{creds}</auth>"
            ))
            .await;
        let answer = client.read_until_any(&["<success", "</failure>"]).await;
        assert!(answer.contains("<success"), "PLAIN login failed: {answer}");
        client.read_until(">").await;
        client.open(HOST).await;
        client
    }

    /// Authenticates and binds `resource`; returns the client ready for stanzas.
    pub async fn bound(server: &Server, user: &str, password: &str, resource: &str) -> RawClient {
        let mut client = RawClient::authenticated(server, user, password).await;
        client.bind(resource).await;
        client
    }

    /// Binds `resource` on an authenticated stream; panics if refused.
    pub async fn bind(&mut self, resource: &str) {
        self.send(&format!(
            "<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
             <resource>{resource}</resource></bind></iq>"
        ))
        .await;
        let answer = self.read_until("</iq>").await;
        assert!(
            answer.contains("type='result'") || answer.contains("type=\"result\""),
            "bind failed: {answer}"
        );
    }
}

/// One PLAIN login over STARTTLS on a new connection; whether it
/// succeeded.
pub async fn plain_login_succeeds(server: &Server, user: &str, password: &str) -> bool {
    let (mut client, _) = tls_stream(server).await;
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
    client
        .send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{credentials}</auth>"
        ))
        .await;
    client
        .read_until_any(&["<success", "</failure>"])
        .await
        .contains("<success")
}

/// Logs in with SCRAM-SHA-256 without TLS (for servers configured with
/// `require_encryption = false`) and binds `resource`; returns the client
/// ready for stanzas.
pub async fn bound_in_plaintext(
    server: &Server,
    user: &str,
    password: &str,
    resource: &str,
) -> RawClient {
    use hmac::{Hmac, Mac as _};
    use sha2::{Digest as _, Sha256};
    let b64 = base64::engine::general_purpose::STANDARD;
    let hmac = |key: &[u8], data: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    };

    let mut client = RawClient::connect(server).await;
    let features = client.open(HOST).await;
    assert!(features.contains("SCRAM-SHA-256"), "{features}");
    let client_first_bare = format!("n={user},r=rawclientnonce");
    client
        .send(&format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>{}</auth>",
            b64.encode(format!("n,,{client_first_bare}"))
        ))
        .await;
    let challenge = client.read_until("</challenge>").await;
    let start = challenge.find("<challenge").expect("a challenge");
    let body = &challenge[start..];
    let body = &body[body.find('>').expect("tag end") + 1..body.len() - "</challenge>".len()];
    let server_first = String::from_utf8(b64.decode(body).expect("base64")).expect("UTF-8");
    let field = |name: &str| {
        server_first
            .split(',')
            .find_map(|f| f.strip_prefix(name))
            .unwrap_or_else(|| panic!("{name} in {server_first}"))
    };
    let nonce = field("r=");
    let salt = b64.decode(field("s=")).expect("salt");
    let iterations: u32 = field("i=").parse().expect("iterations");
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2::<Hmac<Sha256>>(password.as_bytes(), &salt, iterations, &mut salted)
        .expect("PBKDF2");
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = Sha256::digest(&client_key);
    let without_proof = format!("c=biws,r={nonce}");
    let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
    let signature = hmac(&stored_key, auth_message.as_bytes());
    let proof: Vec<u8> = client_key
        .iter()
        .zip(&signature)
        .map(|(k, s)| k ^ s)
        .collect();
    client
        .send(&format!(
            "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</response>",
            b64.encode(format!("{without_proof},p={}", b64.encode(proof)))
        ))
        .await;
    let answer = client
        .read_until_any(&["</success>", "<success/>", "</failure>"])
        .await;
    assert!(answer.contains("<success"), "SCRAM login failed: {answer}");
    client.open(HOST).await;
    client.bind(resource).await;
    client
}

/// A TLS client that trusts the test CA only.
pub(crate) fn tls_connector() -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(&test_ca().pem_path).expect("CA file");
    for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(&ca) {
        roots.add(cert.expect("CA pem")).expect("add CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

fn server_name() -> rustls_pki_types::ServerName<'static> {
    rustls_pki_types::ServerName::try_from(HOST).expect("name")
}

/// A raw unauthenticated stream over TLS, with the features offered after
/// STARTTLS.
pub async fn tls_stream(server: &Server) -> (RawClient, String) {
    let mut client = RawClient::connect(server).await;
    client.open(HOST).await;
    client.starttls().await
}

/// Sends an invite token (XEP-0401 `<preauth/>`) as iq `id`; returns the answer.
pub async fn preauth(client: &mut RawClient, id: &str, token: &str) -> String {
    client
        .send(&format!(
            "<iq type='set' id='{id}'><preauth xmlns='urn:xmpp:pars:0' token='{token}'/></iq>"
        ))
        .await;
    client.read_iq(id).await
}

/// Asks to register `user` (XEP-0077) as iq `id`; returns the answer.
pub async fn register(client: &mut RawClient, id: &str, user: &str, password: &str) -> String {
    client
        .send(&format!(
            "<iq type='set' id='{id}'><query xmlns='jabber:iq:register'>\
             <username>{user}</username><password>{password}</password></query></iq>"
        ))
        .await;
    client.read_iq(id).await
}
