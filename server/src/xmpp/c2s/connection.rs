//! One client connection: stream negotiation (RFC 6120 §4–§7: stream
//! header, STARTTLS, SASL, resource binding), then stanza processing.
//!
//! The connection task owns the socket. It reads bytes into the XML codec,
//! acts on each event, and writes what other sessions queued for it; all
//! writes are gathered in one buffer and flushed once per wake-up.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use jid::{BareJid, FullJid};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::C2sShared;
use super::auth::{SaslExchange, SaslStep};
use super::offline_delivery::OfflineDelivery;
use super::register::{self, StreamRegistration};
use super::transport::Transport;
use crate::services::secrets;
use crate::xmpp::handlers::{self, presence};
use crate::xmpp::router::{BindError, CloseReason, Outbound, SessionHandle, SessionQueue};
use crate::xmpp::stanza::{self, ErrorType, StanzaError};
use roost_xml::{self as xml, Element, Limits, StreamEvent, StreamParser, ns};

/// Bytes read per call. Small, because every connection holds one for its
/// whole life; bursts simply take a few more reads.
const READ_BUFFER: usize = 2048;
/// A write buffer that grew past this is given back after the flush.
const KEEP_WRITE_BUFFER: usize = 8192;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting for the client's stream header.
    Header,
    /// Header exchanged; TLS and SASL may happen.
    Unauthenticated,
    /// SASL succeeded; waiting for resource binding.
    Authenticated,
    /// A resource is bound: stanzas flow.
    Bound,
}

/// What to do after handling a batch of events.
enum Next {
    Continue,
    StartTls,
    /// Close the stream (after writing what is buffered).
    Close,
}

pub struct Connection {
    shared: Arc<C2sShared>,
    peer: SocketAddr,
    transport: Option<Transport>,
    parser: StreamParser,
    out: Vec<u8>,
    stage: Stage,
    host: String,
    sasl: Option<SaslExchange>,
    registration: StreamRegistration,
    user: Option<BareJid>,
    session: Option<Arc<SessionHandle>>,
    queue: Option<SessionQueue>,
    offline: OfflineDelivery,
    /// When the client connected: the negotiation deadline runs from here,
    /// and an account deleted after it cannot be bound on this connection.
    connected_at: Instant,
}

impl Connection {
    pub fn new(shared: Arc<C2sShared>, tcp: TcpStream, peer: SocketAddr) -> Connection {
        let limits = Limits {
            max_stanza_bytes: shared.xmpp.config.c2s.max_stanza_size_unauthenticated,
            ..Limits::default()
        };
        Connection {
            shared,
            peer,
            transport: Some(Transport::Plain(tcp)),
            parser: StreamParser::new(limits),
            out: Vec::new(),
            stage: Stage::Header,
            host: String::new(),
            sasl: None,
            registration: StreamRegistration::default(),
            user: None,
            session: None,
            queue: None,
            offline: OfflineDelivery::default(),
            connected_at: Instant::now(),
        }
    }

    /// Runs the connection to its end. With `direct_tls`, TLS starts at once
    /// (XEP-0368) instead of after STARTTLS.
    pub async fn run(mut self, direct_tls: bool, mut stop: watch::Receiver<bool>) {
        let negotiation_deadline = tokio::time::Instant::from_std(
            self.connected_at + self.shared.xmpp.config.c2s.negotiation_timeout,
        );
        if direct_tls && !self.start_tls(negotiation_deadline).await {
            return;
        }
        let mut buf = vec![0u8; READ_BUFFER];
        loop {
            let offline_due = self.offline.due(self.session.as_deref());
            let transport = self
                .transport
                .as_mut()
                .expect("transport present while running");
            let bound = self.stage == Stage::Bound;
            let mut next = tokio::select! {
                read = transport.read(&mut buf) => match read {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        self.parser.push(&buf[..n]);
                        self.handle_events().await
                    }
                },
                outbound = recv(&mut self.queue) => self.outbound(outbound),
                () = std::future::ready(()), if offline_due => {
                    let session = self.session.clone().expect("bound");
                    self.offline.step(&self.shared.xmpp, &session, &mut self.out).await;
                    Next::Continue
                }
                _ = tokio::time::sleep_until(negotiation_deadline), if !bound => {
                    self.stream_error("connection-timeout", Some("negotiation took too long"));
                    Next::Close
                }
                _ = stopped(&mut stop) => {
                    self.stream_error("system-shutdown", None);
                    Next::Close
                }
            };
            // Write what queued up meanwhile in the same flush.
            while let Some(outbound) = self.queue.as_mut().and_then(SessionQueue::try_recv) {
                if let Next::Close = self.outbound(outbound) {
                    next = Next::Close;
                    break;
                }
            }
            // Before bind, no write may outlast the negotiation deadline.
            let write_deadline = (self.stage != Stage::Bound).then_some(negotiation_deadline);
            if !self.flush(write_deadline).await {
                break;
            }
            self.offline.flushed();
            match next {
                Next::Continue => {}
                Next::Close => break,
                Next::StartTls => {
                    if !self.start_tls(negotiation_deadline).await {
                        break;
                    }
                }
            }
        }
        self.finish().await;
    }

    async fn finish(&mut self) {
        tracing::debug!("{}: connection closed", self.peer);
        // Even a replaced session deletes what it delivered.
        if let Some(handle) = self.queue.as_ref().map(SessionQueue::handle) {
            self.offline.finish(&self.shared.xmpp, &handle).await;
        }
        if let Some(session) = self.session.take() {
            self.shared.xmpp.router.unbind(&session);
            presence::disconnected(&self.shared.xmpp, &session).await;
        }
        if let Some(transport) = self.transport.as_mut() {
            let _ = transport.shutdown().await;
        }
    }

    /// Writes what is buffered. A write that makes no progress for
    /// `write_timeout` ends the session: the client stopped reading, and
    /// waiting longer would only let its queue fill up.
    async fn flush(&mut self, deadline: Option<tokio::time::Instant>) -> bool {
        if self.out.is_empty() {
            return true;
        }
        let Some(transport) = self.transport.as_mut() else {
            return false;
        };
        let timeout = self.shared.xmpp.config.c2s.write_timeout;
        let until = || {
            let now = tokio::time::Instant::now();
            deadline.map_or(now + timeout, |d| d.min(now + timeout))
        };
        let mut written = 0;
        let mut ok = true;
        while ok && written < self.out.len() {
            ok = match within(until, transport.write(&self.out[written..])).await {
                Some(Ok(n)) if n > 0 => {
                    written += n;
                    true
                }
                Some(_) => false,
                None => {
                    tracing::info!("{}: no write progress for {timeout:?}", self.peer);
                    false
                }
            };
        }
        ok = ok && matches!(within(until, transport.flush()).await, Some(Ok(())));
        self.out.clear();
        if self.out.capacity() > KEEP_WRITE_BUFFER {
            self.out = Vec::new();
        }
        ok
    }

    /// The TLS handshake, which must end by the negotiation deadline like
    /// the rest of the negotiation.
    async fn start_tls(&mut self, deadline: tokio::time::Instant) -> bool {
        let Some(Transport::Plain(tcp)) = self.transport.take() else {
            return false;
        };
        let handshake = tokio::time::timeout_at(deadline, self.shared.tls.accept(tcp)).await;
        let Ok(handshake) = handshake else {
            tracing::debug!("{}: TLS handshake took too long", self.peer);
            return false;
        };
        match handshake {
            Ok(tls) => {
                // RFC 6120 §5.4.3.3: nothing negotiated before TLS carries
                // over (a SASL exchange in progress, an invite token).
                self.sasl = None;
                self.registration = StreamRegistration::default();
                self.transport = Some(Transport::Tls(Box::new(tls)));
                self.parser.reset();
                self.stage = Stage::Header;
                true
            }
            Err(e) => {
                tracing::debug!("{}: TLS handshake failed: {e}", self.peer);
                false
            }
        }
    }

    fn outbound(&mut self, outbound: Outbound) -> Next {
        match outbound {
            Outbound::Stanza(bytes) => {
                self.out.extend_from_slice(&bytes);
                Next::Continue
            }
            Outbound::Close(reason) => {
                if reason == CloseReason::Replaced {
                    // The new session already announced this one's end.
                    self.session = None;
                }
                let (condition, text) = reason.stream_error();
                self.stream_error(condition, Some(text));
                Next::Close
            }
        }
    }

    async fn handle_events(&mut self) -> Next {
        loop {
            let event = match self.parser.next_event() {
                Ok(Some(event)) => event,
                Ok(None) => {
                    self.parser.release_idle_buffer();
                    return Next::Continue;
                }
                Err(e) => {
                    if self.stage == Stage::Header {
                        self.write_header();
                    }
                    self.stream_error(e.condition(), None);
                    return Next::Close;
                }
            };
            let next = match event {
                StreamEvent::Header(header) => self.on_header(header),
                StreamEvent::Stanza(el) => self.on_element(el).await,
                StreamEvent::End => {
                    self.out.extend_from_slice(xml::STREAM_END);
                    Next::Close
                }
            };
            if !matches!(next, Next::Continue) {
                return next;
            }
        }
    }

    fn write_header(&mut self) {
        let host = if self.host.is_empty() {
            self.shared.xmpp.config.hosts[0].to_string()
        } else {
            self.host.clone()
        };
        let id = secrets::random_id(secrets::SHORT_ID_BYTES);
        self.out
            .extend_from_slice(&xml::stream_header(&host, &id, "en", None));
    }

    fn stream_error(&mut self, condition: &str, text: Option<&str>) {
        self.out
            .extend_from_slice(&xml::stream_error(condition, text));
    }

    fn on_header(&mut self, header: xml::StreamHeader) -> Next {
        let to = header.to.as_deref().unwrap_or("");
        let known = self.shared.xmpp.is_local(to);
        if self.stage != Stage::Header {
            self.write_header();
            self.stream_error("bad-format", Some("unexpected stream header"));
            return Next::Close;
        }
        if known {
            self.host = roost_common::jid::DomainName::parse(to)
                .map(|d| d.to_string())
                .unwrap_or_default();
        }
        self.write_header();
        if !known {
            self.stream_error("host-unknown", None);
            return Next::Close;
        }
        if !header
            .version
            .as_deref()
            .is_some_and(|v| v.starts_with("1."))
        {
            self.stream_error("unsupported-version", None);
            return Next::Close;
        }
        self.stage = if self.user.is_some() {
            Stage::Authenticated
        } else {
            Stage::Unauthenticated
        };
        self.write_features();
        Next::Continue
    }

    fn write_features(&mut self) {
        let transport = self.transport.as_ref().expect("transport");
        let secure = transport.is_tls();
        let mut features = Element::new("features", ns::STREAMS);
        if self.user.is_some() {
            features.push_child(Element::new("bind", ns::BIND));
            features.push_child(
                Element::new("session", ns::SESSION)
                    .with_child(Element::new("optional", ns::SESSION)),
            );
        } else {
            let require_tls = self.shared.xmpp.config.c2s.require_encryption;
            if !secure {
                let mut starttls = Element::new("starttls", ns::TLS);
                if require_tls {
                    starttls.push_child(Element::new("required", ns::TLS));
                }
                features.push_child(starttls);
            }
            if secure || !require_tls {
                let mut mechanisms = Element::new("mechanisms", ns::SASL);
                let config = &self.shared.xmpp.config;
                for mechanism in
                    super::auth::offered(config, secure, transport.tls_exporter().is_some())
                {
                    mechanisms.push_child(
                        Element::new("mechanism", ns::SASL).with_text(mechanism.name()),
                    );
                }
                features.push_child(mechanisms);
                for feature in [
                    register::FEATURE_IBR,
                    register::FEATURE_INVITE,
                    register::FEATURE_IBR_TOKEN,
                ] {
                    features.push_child(Element::new("register", feature));
                }
            }
        }
        features.write_to(&mut self.out, ns::STREAMS);
    }

    async fn on_element(&mut self, el: Element) -> Next {
        match self.stage {
            Stage::Header => Next::Close,
            Stage::Unauthenticated => self.negotiate(el).await,
            Stage::Authenticated => self.bind(el).await,
            Stage::Bound => self.stanza(el).await,
        }
    }

    /// Before authentication: STARTTLS, SASL and in-band registration only.
    async fn negotiate(&mut self, el: Element) -> Next {
        let secure = self.transport.as_ref().is_some_and(Transport::is_tls);
        if el.is("starttls", ns::TLS) && !secure {
            self.out
                .extend_from_slice(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
            return Next::StartTls;
        }
        if register::is_registration_iq(&el) {
            if let Some(reply) = self
                .registration
                .handle(&self.shared, &self.host, self.peer.ip(), secure, &el)
                .await
            {
                self.write_element(&reply);
            }
            return Next::Continue;
        }
        if el.ns() != ns::SASL {
            self.stream_error("not-authorized", None);
            return Next::Close;
        }
        if !secure && self.shared.xmpp.config.c2s.require_encryption {
            self.sasl_failure("encryption-required", Some("use STARTTLS first"));
            return Next::Continue;
        }
        let step = match el.name() {
            "auth" => {
                let Some(mechanism) = el.attr("mechanism") else {
                    self.sasl_failure("invalid-mechanism", None);
                    return Next::Continue;
                };
                let initial = match decode_sasl(&el.text()) {
                    Ok(data) => data,
                    Err(()) => {
                        self.sasl_failure("incorrect-encoding", None);
                        return Next::Continue;
                    }
                };
                let channel_binding = self.transport.as_ref().and_then(Transport::tls_exporter);
                let client = super::auth::Client {
                    host: &self.host,
                    ip: self.peer.ip(),
                };
                let (exchange, step) = SaslExchange::start(
                    &self.shared,
                    client,
                    mechanism,
                    initial,
                    secure,
                    channel_binding,
                )
                .await;
                self.sasl = exchange;
                step
            }
            "response" => {
                let Some(exchange) = self.sasl.take() else {
                    self.sasl_failure("malformed-request", Some("no authentication in progress"));
                    return Next::Continue;
                };
                match decode_sasl(&el.text()) {
                    Ok(data) => {
                        let client = super::auth::Client {
                            host: &self.host,
                            ip: self.peer.ip(),
                        };
                        let (exchange, step) = exchange
                            .step(&self.shared, client, data.unwrap_or_default())
                            .await;
                        self.sasl = exchange;
                        step
                    }
                    Err(()) => SaslStep::Failure("incorrect-encoding", None),
                }
            }
            "abort" => SaslStep::Failure("aborted", None),
            _ => {
                self.stream_error("not-authorized", None);
                return Next::Close;
            }
        };
        match step {
            SaslStep::Challenge(data) => {
                let challenge = Element::new("challenge", ns::SASL).with_text(BASE64.encode(data));
                challenge.write_to(&mut self.out, ns::STREAMS);
                Next::Continue
            }
            SaslStep::Success { user, additional } => {
                self.sasl = None;
                let mut success = Element::new("success", ns::SASL);
                if let Some(data) = additional {
                    success.push_text(BASE64.encode(data));
                }
                success.write_to(&mut self.out, ns::STREAMS);
                self.user = Some(user);
                self.parser.reset();
                self.parser.set_limits(Limits {
                    max_stanza_bytes: self.shared.xmpp.config.c2s.max_stanza_size,
                    ..Limits::default()
                });
                self.stage = Stage::Header;
                Next::Continue
            }
            SaslStep::Failure(condition, text) => {
                self.sasl = None;
                self.sasl_failure(condition, text.as_deref());
                Next::Continue
            }
        }
    }

    fn sasl_failure(&mut self, condition: &str, text: Option<&str>) {
        let mut failure = Element::new("failure", ns::SASL);
        failure.push_child(Element::new(condition, ns::SASL));
        if let Some(text) = text {
            failure.push_child(
                Element::new("text", ns::SASL)
                    .with_attr("xml:lang", "en")
                    .with_text(text),
            );
        }
        failure.write_to(&mut self.out, ns::STREAMS);
    }

    /// After authentication: resource binding (RFC 6120 §7).
    async fn bind(&mut self, el: Element) -> Next {
        let is_set = el.is("iq", ns::CLIENT) && el.attr("type") == Some("set");
        let Some(request) = el.child("bind", ns::BIND).filter(|_| is_set) else {
            if el.is("iq", ns::CLIENT) && el.child("session", ns::SESSION).is_some() {
                self.write_element(&stanza::iq_result(&el, None));
                return Next::Continue;
            }
            self.stream_error("not-authorized", Some("bind a resource first"));
            return Next::Close;
        };
        let user = self.user.clone().expect("authenticated");
        let wanted = request
            .child("resource", ns::BIND)
            .map(|r| r.text())
            .filter(|r| !r.trim().is_empty());
        let jid = match wanted {
            Some(resource) => match user.with_resource_str(&resource) {
                Ok(jid) => jid,
                Err(_) => {
                    self.reply_error(
                        &el,
                        StanzaError::bad_request().with_text("invalid resource"),
                    );
                    return Next::Continue;
                }
            },
            None => generated_resource(&user),
        };
        let (queue, replaced) = match self.shared.xmpp.router.bind(jid.clone(), self.connected_at) {
            Ok(bound) => bound,
            Err(BindError::TooManySessions) => {
                let limit = self.shared.xmpp.config.c2s.max_sessions_per_account;
                // RFC 6120 §7.6.2.1: the account has reached its limit of
                // simultaneously connected resources.
                self.reply_error(
                    &el,
                    StanzaError::new(ErrorType::Wait, "resource-constraint").with_text(format!(
                        "this account already has {limit} connected resources"
                    )),
                );
                return Next::Continue;
            }
            Err(BindError::AccountDeleted) => {
                let (condition, text) = CloseReason::AccountDeleted.stream_error();
                self.stream_error(condition, Some(text));
                return Next::Close;
            }
        };
        let session = queue.handle();
        if let Some(old) = replaced {
            tracing::info!("{jid}: resource conflict, replacing the older session");
            presence::disconnected(&self.shared.xmpp, &old).await;
        }
        tracing::debug!("{}: bound {jid}", self.peer);
        self.session = Some(session);
        self.queue = Some(queue);
        self.stage = Stage::Bound;
        let payload = Element::new("bind", ns::BIND)
            .with_child(Element::new("jid", ns::BIND).with_text(jid.to_string()));
        let mut reply = stanza::iq_result(&el, Some(payload));
        reply.remove_attr("from");
        reply.remove_attr("to");
        self.write_element(&reply);
        Next::Continue
    }

    /// A bound session's stanza: stamp `from` and hand it to the handlers.
    async fn stanza(&mut self, mut el: Element) -> Next {
        if !stanza::is_stanza(&el) {
            self.stream_error("unsupported-stanza-type", None);
            return Next::Close;
        }
        let session = self.session.clone().expect("bound");
        tracing::trace!(
            "{}: <{} id={:?} type={:?}>",
            session.jid,
            el.name(),
            el.attr("id"),
            el.attr("type")
        );
        el.set_attr("from", session.jid.to_string());
        handlers::process(&self.shared.xmpp, &session, el).await;
        Next::Continue
    }

    fn reply_error(&mut self, el: &Element, error: StanzaError) {
        if let Some(reply) = stanza::error_reply(el, &error) {
            self.write_element(&reply);
        }
    }

    fn write_element(&mut self, el: &Element) {
        el.write_to(&mut self.out, ns::CLIENT);
    }
}

/// Completes once the server is stopping.
pub(super) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Runs a write, bounded by the time `until` gives, or `None` once that has
/// passed. A timer is set only if the write cannot complete at once: nearly
/// every write can, and a timer for each would cost the message path.
async fn within<T>(
    until: impl FnOnce() -> tokio::time::Instant,
    io: impl Future<Output = std::io::Result<T>>,
) -> Option<std::io::Result<T>> {
    let mut io = std::pin::pin!(io);
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(io.as_mut().poll(cx))).await;
    match first {
        std::task::Poll::Ready(done) => Some(done),
        std::task::Poll::Pending => tokio::time::timeout_at(until(), io).await.ok(),
    }
}

/// Waits on an optional queue; never ready when there is none.
async fn recv(queue: &mut Option<SessionQueue>) -> Outbound {
    match queue {
        Some(queue) => queue.recv().await,
        None => std::future::pending().await,
    }
}

/// SASL data: empty, `=` (explicitly empty), or base64.
fn decode_sasl(text: &str) -> Result<Option<Vec<u8>>, ()> {
    let text = text.trim();
    match text {
        "" => Ok(None),
        "=" => Ok(Some(Vec::new())),
        _ => BASE64.decode(text).map(Some).map_err(|_| ()),
    }
}

fn generated_resource(user: &BareJid) -> FullJid {
    let resource = format!("roost-{}", secrets::random_id(secrets::SHORT_ID_BYTES));
    user.with_resource_str(&resource)
        .expect("generated resources are valid")
}
