//! One client connection: stream negotiation (RFC 6120 §4–§7: stream
//! header, STARTTLS, SASL, resource binding), then stanza processing.
//!
//! The connection task owns the socket. It reads bytes into the XML codec,
//! acts on each event, and writes what other sessions queued for it; all
//! writes are gathered in one buffer and flushed once per wake-up.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use jid::BareJid;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::watch;

mod binding;
mod features;
mod resume;
mod sasl;
mod sasl2;

use super::C2sShared;
use super::admission::Ticket;
use super::auth::SaslExchange;
use super::login::{Login, Started};
use super::nonzas::{NonzaContext, NonzaOutcome};
use super::offline_delivery::OfflineDelivery;
use super::register::StreamRegistration;
use super::stream_management::resumption::{Detached, Takeover};
use super::stream_management::{StreamManagement, hibernation};
use super::transport::Transport;
use crate::services::secrets;
use crate::xmpp::handlers::{self, presence};
use crate::xmpp::router::{CloseReason, Outbound, SessionHandle, SessionQueue};
use crate::xmpp::stanza::{self, StanzaError};
use roost_xml::{self as xml, Element, Limits, StreamEvent, StreamParser, ns};

/// Bytes read per call. Small, because every connection holds one for its
/// whole life; bursts simply take a few more reads.
const READ_BUFFER: usize = 2048;
/// A write buffer that grew past this is given back after the flush.
const KEEP_WRITE_BUFFER: usize = 8192;
/// How long closing a connection may wait for the peer (the TLS
/// close_notify written out).
const SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

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
    /// A legacy SASL exchange in progress, and when it began.
    sasl: Option<SaslExchange>,
    sasl_started: Started,
    /// A SASL2 exchange in progress.
    sasl2: Option<sasl2::Sasl2Pending>,
    registration: StreamRegistration,
    /// The stream header named an account of this host (`from`), which
    /// makes FAST available.
    names_user: bool,
    /// Set by authentication, read by binding.
    login: Option<Login>,
    session: Option<Arc<SessionHandle>>,
    queue: Option<SessionQueue>,
    offline: OfflineDelivery,
    /// Stream management (XEP-0198): off until the client enables it.
    sm: StreamManagement,
    /// When the client connected: the negotiation deadline runs from here.
    connected_at: Instant,
    /// This connection's place among the unauthenticated ones, given back
    /// at authentication.
    admission: Option<Ticket>,
}

impl Connection {
    pub fn new(
        shared: Arc<C2sShared>,
        tcp: TcpStream,
        peer: SocketAddr,
        admission: Ticket,
    ) -> Connection {
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
            sasl_started: Started::now(),
            sasl2: None,
            registration: StreamRegistration::default(),
            names_user: false,
            login: None,
            session: None,
            queue: None,
            offline: OfflineDelivery::default(),
            sm: StreamManagement::default(),
            connected_at: Instant::now(),
            admission: Some(admission),
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
        // The connection was lost (not closed by either side): a session
        // with stream management then waits to be resumed.
        let mut lost = false;
        loop {
            // A client that does not acknowledge gets no more offline
            // pages than its unacknowledged stanzas may hold.
            let offline_due = self.offline.due(self.session.as_deref())
                && self.sm.unacked_cost() < self.shared.xmpp.config.c2s.max_queued_bytes / 2;
            let transport = self
                .transport
                .as_mut()
                .expect("transport present while running");
            let bound = self.stage == Stage::Bound;
            let mut next = tokio::select! {
                read = transport.read(&mut buf) => match read {
                    Ok(0) | Err(_) => {
                        lost = true;
                        break;
                    }
                    Ok(n) => {
                        self.parser.push(&buf[..n]);
                        self.handle_events().await
                    }
                },
                outbound = recv(&mut self.queue) => self.outbound(outbound),
                () = std::future::ready(()), if offline_due => {
                    let session = self.session.clone().expect("bound");
                    let (out, sm) = (&mut self.out, &mut self.sm);
                    let written = |stanza: bytes::Bytes| {
                        out.extend_from_slice(&stanza);
                        sm.sent(&stanza);
                    };
                    self.offline.step(&self.shared.xmpp, &session, written).await;
                    Next::Continue
                }
                request = self.sm.takeover_requested() => self.hand_over(request).await,
                _ = tokio::time::sleep_until(negotiation_deadline), if !bound => {
                    self.stream_error("connection-timeout", Some("negotiation took too long"));
                    Next::Close
                }
                () = evicted(&mut self.admission) => {
                    self.admission = None;
                    if self.stage == Stage::Header {
                        self.write_header();
                    }
                    self.stream_error(
                        "resource-constraint",
                        Some("too many connections are logging in; try again"),
                    );
                    Next::Close
                }
                _ = stopped(&mut stop) => {
                    self.stream_error("system-shutdown", None);
                    Next::Close
                }
            };
            // Write what queued up meanwhile in the same flush, unless the
            // stream is ending: nothing may follow its end, and what is
            // still queued is handed on when the session ends.
            while !matches!(next, Next::Close)
                && let Some(outbound) = self.queue.as_mut().and_then(SessionQueue::try_recv)
            {
                if let Next::Close = self.outbound(outbound) {
                    next = Next::Close;
                }
            }
            if !matches!(next, Next::Close) && self.sm.request_ack() {
                Element::new("r", ns::SM).write_to(&mut self.out, ns::CLIENT);
            }
            // Before bind, no write may outlast the negotiation deadline.
            let write_deadline = (self.stage != Stage::Bound).then_some(negotiation_deadline);
            if !self.flush(write_deadline).await {
                lost = true;
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
        if lost && self.sm.resumption_id().is_some() {
            self.hibernate(stop).await;
        }
        self.finish().await;
    }

    /// The connection was lost; the session waits for its client to
    /// resume it, in a task of its own.
    async fn hibernate(&mut self, stop: watch::Receiver<bool>) {
        if let Some(detached) = self.detach().await {
            hibernation::hibernate(self.shared.clone(), detached, stop);
        }
    }

    /// Gives the session to a connection that resumes it.
    async fn hand_over(&mut self, request: Takeover) -> Next {
        if !self.session.as_ref().is_some_and(|s| request.is_for(s)) {
            return Next::Continue;
        }
        if let Some(detached) = self.detach().await
            && let Err(back) = request.hand_over(detached)
        {
            // The resuming connection gave up: this one goes on.
            let Detached { session, queue, sm } = *back;
            self.session = Some(session);
            self.queue = Some(queue);
            self.sm = sm;
            return Next::Continue;
        }
        tracing::debug!("{}: session resumed by another connection", self.peer);
        // Should this client still be there, it learns why the stream
        // ends, and does not try to resume what is no longer its own.
        self.stream_error(
            "conflict",
            Some("the session was resumed on another connection"),
        );
        Next::Close
    }

    /// Takes the session off this connection, with what stream management
    /// keeps of it; offline messages written to the client are deleted,
    /// as stream management now answers for them.
    async fn detach(&mut self) -> Option<Detached> {
        let queue = self.queue.take()?;
        let session = self.session.take().unwrap_or_else(|| queue.handle());
        self.offline.kept_elsewhere();
        self.offline.finish(&self.shared.xmpp, &session).await;
        Some(Detached {
            session,
            queue,
            sm: std::mem::take(&mut self.sm),
        })
    }

    async fn finish(&mut self) {
        tracing::debug!("{}: connection closed", self.peer);
        if self.sm.is_enabled() {
            // What the client did not acknowledge is handed on to the
            // account; a session another took the resource of
            // (`session` unset) tells its contacts nothing.
            let replaced = self.session.is_none();
            if let Some(detached) = self.detach().await {
                let reason = replaced.then_some(CloseReason::Replaced);
                hibernation::end(&self.shared.xmpp, detached, reason).await;
            }
        }
        // Even a replaced session deletes what it delivered.
        if let Some(handle) = self.queue.as_ref().map(SessionQueue::handle) {
            self.offline.finish(&self.shared.xmpp, &handle).await;
        }
        if let Some(session) = self.session.take() {
            self.shared.xmpp.router.unbind(&session);
            presence::disconnected(&self.shared.xmpp, &session).await;
        }
        if let Some(transport) = self.transport.as_mut() {
            // A peer that stopped reading would keep a TLS shutdown (its
            // close_notify behind unsent data) waiting forever, and with it
            // the socket and the TLS state of a connection no limit counts
            // any more.
            let _ = tokio::time::timeout(SHUTDOWN_TIMEOUT, transport.shutdown()).await;
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
        let handshake = tokio::select! {
            handshake = tokio::time::timeout_at(deadline, self.shared.tls.accept(tcp)) => handshake,
            () = evicted(&mut self.admission) => {
                tracing::debug!("{}: evicted during the TLS handshake", self.peer);
                return false;
            }
        };
        let Ok(handshake) = handshake else {
            tracing::debug!("{}: TLS handshake took too long", self.peer);
            return false;
        };
        match handshake {
            Ok(tls) => {
                // RFC 6120 §5.4.3.3: nothing negotiated before TLS carries
                // over (a SASL exchange in progress, an invite token).
                self.sasl = None;
                self.sasl2 = None;
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
                self.shared
                    .xmpp
                    .services
                    .metrics
                    .stanzas
                    .sent
                    .count_serialised(&bytes);
                self.out.extend_from_slice(&bytes);
                self.sm.sent(&bytes);
                if self.sm.unacked_cost() > self.shared.xmpp.config.c2s.max_queued_bytes {
                    self.stream_error(
                        "resource-constraint",
                        Some("too many stanzas are waiting to be acknowledged"),
                    );
                    return Next::Close;
                }
                Next::Continue
            }
            Outbound::Close(reason) => {
                if reason == CloseReason::Replaced {
                    // The new session already announced this one's end.
                    self.session = None;
                }
                let handle = self
                    .queue
                    .as_ref()
                    .map(SessionQueue::handle)
                    .expect("closes come from the session's queue");
                let (condition, text) = handle.close_error(reason);
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
        self.names_user = header
            .from
            .as_deref()
            .and_then(|from| BareJid::new(from).ok())
            .is_some_and(|from| from.node().is_some() && from.domain().as_str() == self.host);
        self.stage = if self.login.is_some() {
            Stage::Authenticated
        } else {
            Stage::Unauthenticated
        };
        self.write_features();
        Next::Continue
    }

    async fn on_element(&mut self, el: Element) -> Next {
        match self.stage {
            Stage::Header => Next::Close,
            // Negotiation's futures are large (SASL2 holds a request, an
            // exchange, a bind and a token issue across its awaits) and run
            // a few times per connection: boxed, they cost memory only
            // while they run, not in every idle session's task.
            Stage::Unauthenticated => Box::pin(self.negotiate(el)).await,
            Stage::Authenticated => Box::pin(self.bind(el)).await,
            Stage::Bound => self.stanza(el).await,
        }
    }

    /// A bound session's stanza: stamp `from` and hand it to the handlers.
    async fn stanza(&mut self, mut el: Element) -> Next {
        if !stanza::is_stanza(&el) {
            let session = self.session.clone().expect("bound");
            if let Some(nonza) = self.shared.nonzas.find(&el) {
                let mut cx = NonzaContext {
                    shared: &self.shared,
                    session: &session,
                    sm: &mut self.sm,
                    out: &mut self.out,
                };
                return match nonza.handle(&mut cx, &el) {
                    NonzaOutcome::Continue => Next::Continue,
                    NonzaOutcome::Close => Next::Close,
                };
            }
            self.stream_error("unsupported-stanza-type", None);
            return Next::Close;
        }
        self.sm.received();
        self.shared
            .xmpp
            .services
            .metrics
            .stanzas
            .received
            .count(el.name());
        let session = self.session.clone().expect("bound");
        tracing::trace!(
            "{}: <{} id={:?} type={:?}>",
            session.jid,
            el.name(),
            el.attr("id"),
            el.attr("type")
        );
        session.stanza_received();
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

/// Completes when the connection was evicted to make room for a new one;
/// never once it has authenticated.
async fn evicted(admission: &mut Option<Ticket>) {
    match admission {
        Some(ticket) => ticket.evicted().await,
        None => std::future::pending().await,
    }
}

/// Waits on an optional queue; never ready when there is none.
async fn recv(queue: &mut Option<SessionQueue>) -> Outbound {
    match queue {
        Some(queue) => queue.recv().await,
        None => std::future::pending().await,
    }
}
