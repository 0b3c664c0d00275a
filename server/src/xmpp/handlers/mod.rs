//! Stanza processing after resource binding: routing of messages,
//! presence and iqs, and the registry of iq handlers (roster, disco, ping,
//! version, ...). Every rule that touches stored state is a service call.
//!
//! There is no server-to-server link yet: stanzas to other domains are
//! answered with `remote-server-not-found`.

mod account;
mod account_events;
mod adhoc;
mod carbons;
mod disco;
mod iq;
mod mam;
mod manage_clients;
pub mod message;
mod ping;
pub mod presence;
mod roster;
mod version;

use std::sync::Arc;

use bytes::Bytes;
use jid::{BareJid, Jid};
use roost_common::config::Config;
use roost_common::jid::DomainName;

use super::router::{Router, RouterLimits, SessionHandle};
use super::stanza::{self, StanzaError};
use crate::services::Services;
use roost_xml::{Element, ns};

pub use account_events::follow_account_events;
pub use iq::IqRegistry;

/// What every connection shares.
pub struct XmppContext {
    pub services: Services,
    pub router: Arc<Router>,
    pub config: Arc<Config>,
    pub iq_handlers: IqRegistry,
}

impl XmppContext {
    /// The context, with the router attached to the services as their
    /// view of live sessions.
    pub fn new(services: Services, config: Arc<Config>) -> XmppContext {
        let router = Arc::new(Router::new(RouterLimits::from(&config.c2s)));
        services.sessions.attach(router.clone());
        let mut iq_handlers = IqRegistry::with_core_handlers();
        if services.archive.enabled() {
            iq_handlers.register(Box::new(mam::QueryHandler));
            iq_handlers.register(Box::new(mam::PrefsHandler));
        }
        XmppContext {
            services,
            router,
            config,
            iq_handlers,
        }
    }

    /// Whether `domain` is one of our hosts.
    pub fn is_local(&self, domain: &str) -> bool {
        DomainName::parse(domain).is_ok_and(|d| self.config.serves(&d))
    }
}

/// Processes one stanza from a bound session. `from` has already been
/// stamped with the session's full JID.
pub async fn process(ctx: &XmppContext, session: &Arc<SessionHandle>, stanza: Element) {
    let result = match stanza.name() {
        "message" => message::outbound(ctx, session, stanza).await,
        "presence" => presence::outbound(ctx, session, stanza).await,
        "iq" => iq::outbound(ctx, session, stanza).await,
        _ => Ok(()),
    };
    if let Err((stanza, error)) = result {
        bounce(session, &stanza, &error);
    }
}

/// Sends the error reply for `stanza` back to `session`.
pub fn bounce(session: &SessionHandle, stanza: &Element, error: &StanzaError) {
    if let Some(reply) = stanza::error_reply(stanza, error) {
        session.send(serialise(&reply));
    }
}

/// Sends the error reply for `stanza`, which can no longer reach the
/// session it was for, to the session that sent it, if still there.
pub fn bounce_to_sender(ctx: &XmppContext, stanza: &Element, error: &StanzaError) {
    let Some(reply) = stanza::error_reply(stanza, error) else {
        return;
    };
    let sender = reply.attr("to").and_then(|to| jid::FullJid::new(to).ok());
    if let Some(session) = sender.and_then(|sender| ctx.router.session(&sender)) {
        session.send(serialise(&reply));
    }
}

/// A stanza as bytes for a c2s stream (default namespace jabber:client).
///
/// Sized to the stanza: the writer starts with room to spare, and bytes
/// that wait in a queue or for an acknowledgement should cost what the
/// queue's bound counts (a `Vec` with spare room would also make `Bytes`
/// allocate a second header for it).
pub fn serialise(el: &Element) -> Bytes {
    Bytes::from(el.to_bytes(ns::CLIENT).into_boxed_slice())
}

/// The bare JID of an account as its own type, if `jid` names one.
pub fn account_of(jid: &Jid) -> Option<BareJid> {
    jid.node().is_some().then(|| jid.to_bare())
}

/// What went wrong with a stanza: the stanza (to bounce) and the error.
pub type Bounce = (Element, StanzaError);

/// A message from `bob@b/desk` of `kind` (none: no `type`) with an empty
/// child element for each (name, namespace): what the handlers' unit tests
/// classify.
#[cfg(test)]
pub(crate) fn test_message(kind: Option<&str>, children: &[(&str, &str)]) -> Element {
    let mut message = Element::new("message", ns::CLIENT).with_attr("from", "bob@b/desk");
    if let Some(kind) = kind {
        message.set_attr("type", kind);
    }
    for (name, namespace) in children {
        message.push_child(Element::new(name, namespace));
    }
    message
}
