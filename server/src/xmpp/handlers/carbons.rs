//! Message carbons (XEP-0280, `urn:xmpp:carbons:2`): a session that
//! enables them gets a copy of every eligible chat its account's other
//! sessions send (`<sent/>`) and receive (`<received/>`), so a chat read
//! on the laptop shows on the phone too.
//!
//! Enabled with an iq (`<enable/>`, `<disable/>`) or inline in Bind2
//! (`c2s/inline/carbons.rs`). Routing (`message.rs`) asks [`eligible`]
//! and hands each delivered message to [`copy_sent`] and [`copy_received`];
//! sessions without carbons cost nothing more than a flag read.

use std::sync::Arc;

use bytes::Bytes;
use jid::BareJid;

use super::iq::{IqFuture, IqHandler, IqKind, IqRequest, IqTarget};
use super::{XmppContext, serialise};
use crate::xmpp::router::SessionHandle;
use crate::xmpp::stanza::StanzaError;
use roost_xml::{Element, ns};

/// XEP-0085 chat states, XEP-0184 receipts and XEP-0333 markers: what a
/// message without a body carries in a chat, copied like the chat itself
/// (XEP-0280 §6.1).
const IM_PAYLOADS: [&str; 3] = [
    "http://jabber.org/protocol/chatstates",
    "urn:xmpp:receipts",
    "urn:xmpp:chat-markers:0",
];

/// Whether `message` is copied to its sender's and recipient's other
/// sessions (XEP-0280 §6.1): a chat, or a normal message with a body or
/// an IM payload, unless it asks not to be (`<private/>`, `<no-copy/>`)
/// or is itself a copy.
pub fn eligible(message: &Element) -> bool {
    if message.child("private", ns::CARBONS).is_some()
        || message.child("no-copy", ns::HINTS).is_some()
        || message.child("sent", ns::CARBONS).is_some()
        || message.child("received", ns::CARBONS).is_some()
    {
        return false;
    }
    match message.attr("type") {
        Some("chat") => true,
        None | Some("normal") => {
            message.child("body", ns::CLIENT).is_some()
                || message
                    .children()
                    .any(|child| IM_PAYLOADS.contains(&child.ns()))
        }
        _ => false,
    }
}

/// Sends `<sent/>` copies of `message`, which `sender` sent, to the other
/// carbons-enabled sessions of its account; `also_skip` got the message
/// itself (a message to one's own other resource).
pub fn copy_sent(
    ctx: &XmppContext,
    sender: &Arc<SessionHandle>,
    message: &Element,
    also_skip: &[Arc<SessionHandle>],
) {
    let account = sender.jid.to_bare();
    let skip = |s: &Arc<SessionHandle>| {
        Arc::ptr_eq(s, sender) || also_skip.iter().any(|o| Arc::ptr_eq(s, o))
    };
    copy(ctx, &account, "sent", message, skip);
}

/// Sends `<received/>` copies of `message`, delivered to `delivered` of
/// `account`'s sessions, to its other carbons-enabled sessions. A message
/// that no session took (kept offline) is not copied: the sessions would
/// get it twice, now and from offline storage.
pub fn copy_received(
    ctx: &XmppContext,
    account: &BareJid,
    message: &Element,
    delivered: &[Arc<SessionHandle>],
) {
    if delivered.is_empty() {
        return;
    }
    let skip = |s: &Arc<SessionHandle>| delivered.iter().any(|d| Arc::ptr_eq(s, d));
    copy(ctx, account, "received", message, skip);
}

fn copy(
    ctx: &XmppContext,
    account: &BareJid,
    direction: &str,
    message: &Element,
    skip: impl Fn(&Arc<SessionHandle>) -> bool,
) {
    for session in ctx.router.sessions_of(account) {
        if !session.wants_carbons() || skip(&session) {
            continue;
        }
        let copy = wrap(account, &session, direction, message);
        if session.is_inactive() {
            // A copy waits like the original would (XEP-0352): the phone
            // is not woken for chat states typed on the laptop.
            match super::message::can_wait(message) {
                Some(replaces) => {
                    let replaces = replaces.map(|key| format!("{direction} {key}"));
                    session.send_deferrable(replaces.as_deref(), copy)
                }
                None => session.send_now(None, copy),
            };
        } else {
            // `offer`: a copy is not worth ending a session that is slow
            // to read; it is dropped if it does not fit.
            session.offer(copy);
        }
    }
}

/// The copy for `session`: the original inside `<forwarded/>`, from the
/// account's bare JID (XEP-0280 §7 and §8; a client must ignore a carbon
/// from anyone else).
fn wrap(account: &BareJid, session: &SessionHandle, direction: &str, message: &Element) -> Bytes {
    let mut copy = Element::new("message", ns::CLIENT)
        .with_attr("from", account.to_string())
        .with_attr("to", session.jid.to_string())
        .with_child(
            Element::new(direction, ns::CARBONS)
                .with_child(Element::new("forwarded", ns::FORWARD).with_child(message.clone())),
        );
    if let Some(kind) = message.attr("type") {
        copy.set_attr("type", kind);
    }
    serialise(&copy)
}

/// `<enable/>` and `<disable/>`, each a handler of its own (the registry
/// goes by payload).
pub struct CarbonsHandler {
    enable: bool,
}

impl CarbonsHandler {
    pub const ENABLE: CarbonsHandler = CarbonsHandler { enable: true };
    pub const DISABLE: CarbonsHandler = CarbonsHandler { enable: false };
}

impl IqHandler for CarbonsHandler {
    fn payload(&self) -> (&'static str, &'static str) {
        match self.enable {
            true => ("enable", ns::CARBONS),
            false => ("disable", ns::CARBONS),
        }
    }

    fn features(&self) -> &'static [&'static str] {
        &[ns::CARBONS]
    }

    fn handle<'a>(&'a self, _ctx: &'a XmppContext, request: IqRequest<'a>) -> IqFuture<'a> {
        Box::pin(async move {
            if request.kind != IqKind::Set {
                return Err(StanzaError::bad_request().with_text("carbons are set, not got"));
            }
            // For one's own account or one's server, not anyone else's.
            if matches!(request.target, IqTarget::Account(_)) && !request.to_self() {
                return Err(StanzaError::forbidden());
            }
            request.session.set_carbons(self.enable);
            Ok(None)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::xmpp::handlers::test_message as message;

    const BODY: (&str, &str) = ("body", ns::CLIENT);

    #[test]
    fn chats_and_normal_messages_with_content_are_copied() {
        for copied in [
            message(Some("chat"), &[BODY]),
            message(Some("chat"), &[]),
            message(None, &[BODY]),
            message(Some("normal"), &[BODY]),
            message(None, &[("received", "urn:xmpp:receipts")]),
            message(None, &[("active", "http://jabber.org/protocol/chatstates")]),
            message(None, &[("displayed", "urn:xmpp:chat-markers:0")]),
        ] {
            assert!(eligible(&copied), "{copied:?}");
        }
    }

    #[test]
    fn private_no_copy_copies_and_other_types_are_not() {
        for kept in [
            message(Some("chat"), &[BODY, ("private", ns::CARBONS)]),
            message(Some("chat"), &[BODY, ("no-copy", ns::HINTS)]),
            message(Some("chat"), &[("sent", ns::CARBONS)]),
            message(Some("chat"), &[("received", ns::CARBONS)]),
            message(Some("groupchat"), &[BODY]),
            message(Some("headline"), &[BODY]),
            message(Some("error"), &[BODY]),
            message(None, &[("subject", ns::CLIENT)]),
        ] {
            assert!(!eligible(&kept), "{kept:?}");
        }
    }
}
