//! Iq routing (RFC 6120 §8.2.3, §10) and the registry of iq handlers.
//!
//! An iq get/set addressed to the server or to an account is answered by
//! the handler registered for its payload's (name, namespace); every one
//! gets exactly one answer, `service-unavailable` when nobody handles it.
//! Iqs to a full JID are routed to that session.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use jid::BareJid;

use super::{Bounce, XmppContext, serialise};
use crate::xmpp::router::SessionHandle;
use crate::xmpp::stanza::{self, StanzaError};
use roost_xml::{Element, ns};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IqKind {
    Get,
    Set,
}

/// Who an iq get/set is addressed to.
#[derive(Debug, Clone)]
pub enum IqTarget {
    /// One of our hosts.
    Server(String),
    /// An account on one of our hosts (possibly the sender's own).
    Account(BareJid),
}

pub struct IqRequest<'a> {
    pub session: &'a Arc<SessionHandle>,
    pub kind: IqKind,
    pub target: IqTarget,
    pub payload: &'a Element,
}

impl IqRequest<'_> {
    /// Whether the iq is addressed to the sender's own account.
    pub fn to_self(&self) -> bool {
        matches!(&self.target, IqTarget::Account(a) if *a == self.session.jid.to_bare())
    }
}

pub type IqAnswer = Result<Option<Element>, StanzaError>;
pub type IqFuture<'a> = Pin<Box<dyn Future<Output = IqAnswer> + Send + 'a>>;

/// An error answer that says more than RFC 6120's condition and text, for
/// protocols that define their own error details (XEP-0050 §4.6 puts an
/// application condition inside `<error/>` and the command's state beside it).
#[derive(Debug)]
pub struct IqError {
    pub error: StanzaError,
    /// An application-specific condition, sent inside `<error/>`.
    pub condition: Option<Element>,
    /// Sent back in place of the request's payload.
    pub payload: Option<Element>,
}

impl From<StanzaError> for IqError {
    fn from(error: StanzaError) -> Self {
        IqError {
            error,
            condition: None,
            payload: None,
        }
    }
}

pub type DetailedAnswer = Result<Option<Element>, IqError>;
pub type DetailedFuture<'a> = Pin<Box<dyn Future<Output = DetailedAnswer> + Send + 'a>>;

/// One protocol answered by the server.
pub trait IqHandler: Send + Sync {
    /// The payload `(name, namespace)` this handler answers.
    fn payload(&self) -> (&'static str, &'static str);
    /// Features to advertise in disco#info of the server.
    fn features(&self) -> &'static [&'static str] {
        &[]
    }
    /// Features to advertise in disco#info of an account (its bare JID).
    fn account_features(&self) -> &'static [&'static str] {
        &[]
    }
    fn handle<'a>(&'a self, ctx: &'a XmppContext, request: IqRequest<'a>) -> IqFuture<'a>;
    /// What the router calls: [`handle`](Self::handle), unless the handler's
    /// errors need more than a condition and a text.
    fn handle_detailed<'a>(
        &'a self,
        ctx: &'a XmppContext,
        request: IqRequest<'a>,
    ) -> DetailedFuture<'a> {
        let answer = self.handle(ctx, request);
        Box::pin(async move { answer.await.map_err(IqError::from) })
    }
}

/// Handlers by payload. A short list: a linear scan of a few entries beats
/// hashing two strings per iq.
#[derive(Default)]
pub struct IqRegistry {
    handlers: Vec<Box<dyn IqHandler>>,
}

impl IqRegistry {
    pub fn with_core_handlers() -> IqRegistry {
        let mut registry = IqRegistry::default();
        registry.register(Box::new(super::roster::RosterHandler));
        registry.register(Box::new(super::ping::PingHandler));
        registry.register(Box::new(super::version::VersionHandler));
        registry.register(Box::new(super::disco::DiscoInfoHandler));
        registry.register(Box::new(super::disco::DiscoItemsHandler));
        registry.register(Box::new(SessionHandler));
        registry.register(Box::new(super::adhoc::AdhocHandler));
        registry.register(Box::new(super::manage_clients::ListClientsHandler));
        registry.register(Box::new(super::manage_clients::RevokeClientHandler));
        registry.register(Box::new(super::account::AccountHandler));
        registry.register(Box::new(super::carbons::CarbonsHandler::ENABLE));
        registry.register(Box::new(super::carbons::CarbonsHandler::DISABLE));
        registry
    }

    /// Adds a handler; one registered later for the same payload replaces it.
    pub fn register(&mut self, handler: Box<dyn IqHandler>) {
        self.handlers.retain(|h| h.payload() != handler.payload());
        self.handlers.push(handler);
    }

    /// Every server feature of every handler, sorted, for disco#info.
    pub fn features(&self) -> Vec<&'static str> {
        self.collect(|h| h.features())
    }

    /// Every account feature of every handler, sorted, for an account's
    /// disco#info.
    pub fn account_features(&self) -> Vec<&'static str> {
        self.collect(|h| h.account_features())
    }

    fn collect(&self, of: impl Fn(&dyn IqHandler) -> &'static [&'static str]) -> Vec<&'static str> {
        let mut features: Vec<&'static str> = self
            .handlers
            .iter()
            .flat_map(|h| of(h.as_ref()).iter().copied())
            .collect();
        features.sort_unstable();
        features.dedup();
        features
    }

    fn get(&self, payload: &Element) -> Option<&dyn IqHandler> {
        self.handlers
            .iter()
            .find(|h| h.payload() == (payload.name(), payload.ns()))
            .map(|h| h.as_ref())
    }
}

/// Legacy session establishment (RFC 3921): answered with success for old clients.
struct SessionHandler;

impl IqHandler for SessionHandler {
    fn payload(&self) -> (&'static str, &'static str) {
        ("session", roost_xml::ns::SESSION)
    }

    fn handle<'a>(&'a self, _ctx: &'a XmppContext, _request: IqRequest<'a>) -> IqFuture<'a> {
        Box::pin(async { Ok(None) })
    }
}

pub async fn outbound(
    ctx: &XmppContext,
    session: &Arc<SessionHandle>,
    iq: Element,
) -> Result<(), Bounce> {
    let kind = match iq.attr("type") {
        Some("get") => IqKind::Get,
        Some("set") => IqKind::Set,
        Some("result") | Some("error") => {
            route_response(ctx, &iq);
            return Ok(());
        }
        _ => {
            return Err((
                iq,
                StanzaError::bad_request().with_text("iq type must be get, set, result or error"),
            ));
        }
    };
    if iq.attr("id").is_none() {
        return Err((iq, StanzaError::bad_request().with_text("iq without id")));
    }
    let to = match stanza::to_jid(&iq) {
        Ok(to) => to,
        Err(e) => return Err((iq, e)),
    };
    let target = match to {
        None => IqTarget::Account(session.jid.to_bare()),
        Some(jid) if !ctx.is_local(jid.domain().as_str()) => {
            return Err((iq, StanzaError::remote_server_not_found()));
        }
        Some(jid) if jid.is_full() && jid.node().is_some() => {
            let full = jid.try_into_full().expect("checked to be full");
            return match ctx.router.session(&full) {
                Some(target) => {
                    target.send(serialise(&iq));
                    Ok(())
                }
                None => Err((iq, StanzaError::service_unavailable())),
            };
        }
        Some(jid) => match super::account_of(&jid) {
            Some(account) => IqTarget::Account(account),
            None => IqTarget::Server(jid.domain().as_str().to_owned()),
        },
    };
    let payload = {
        let mut payloads = iq.children();
        match (payloads.next(), payloads.next()) {
            (Some(payload), None) => Some(payload.clone()),
            _ => None,
        }
    };
    let Some(payload) = payload else {
        return Err((
            iq,
            StanzaError::bad_request().with_text("an iq get/set carries exactly one payload"),
        ));
    };
    let Some(handler) = ctx.iq_handlers.get(&payload) else {
        return Err((iq, StanzaError::service_unavailable()));
    };
    let answer = handler
        .handle_detailed(
            ctx,
            IqRequest {
                session,
                kind,
                target,
                payload: &payload,
            },
        )
        .await;
    match answer {
        Ok(payload) => {
            let mut reply = stanza::iq_result(&iq, payload);
            reply.remove_attr("from");
            if let Some(to) = iq.attr("to") {
                reply.set_attr("from", to);
            }
            session.send(serialise(&reply));
            Ok(())
        }
        Err(IqError {
            error,
            condition,
            payload,
        }) => {
            let iq = match payload {
                Some(payload) => with_payload(&iq, payload),
                None => iq,
            };
            let Some(condition) = condition else {
                return Err((iq, error));
            };
            if let Some(mut reply) = stanza::error_reply(&iq, &error) {
                if let Some(el) = reply.child_mut("error", ns::CLIENT) {
                    el.push_child(condition);
                }
                session.send(serialise(&reply));
            }
            Ok(())
        }
    }
}

/// `iq` with `payload` as its only child, for an error reply that sends
/// back something else than the request's payload.
fn with_payload(iq: &Element, payload: Element) -> Element {
    let mut copy = Element::new(iq.name(), iq.ns());
    for (name, value) in iq.attrs() {
        copy.set_attr(name, value);
    }
    copy.with_child(payload)
}

/// Results and errors go to the full JID they name; others are dropped.
fn route_response(ctx: &XmppContext, iq: &Element) {
    if let Ok(Some(to)) = stanza::to_jid(iq)
        && let Some(target) = to
            .try_as_full()
            .ok()
            .and_then(|full| ctx.router.session(full))
    {
        target.send(serialise(iq));
    }
}
