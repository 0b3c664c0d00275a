//! Message routing (RFC 6121 §8.5): to a full JID, to a bare JID by
//! priority, or into offline storage when the account has no available
//! resource.

use std::sync::Arc;

use jid::{BareJid, Jid};

use super::{Bounce, XmppContext, carbons, mam, serialise};
use crate::services::offline::Stored;
use crate::xmpp::router::SessionHandle;
use crate::xmpp::stanza::{self, StanzaError};
use roost_xml::{Element, ns};

/// XEP-0203 Delayed Delivery, stamped on stored messages.
const DELAY: &str = "urn:xmpp:delay";

/// RFC 6121 §5.2.2 message types; anything unknown is `normal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MessageType {
    Chat,
    Error,
    Groupchat,
    Headline,
    Normal,
}

impl MessageType {
    fn of(message: &Element) -> MessageType {
        match message.attr("type") {
            Some("chat") => MessageType::Chat,
            Some("error") => MessageType::Error,
            Some("groupchat") => MessageType::Groupchat,
            Some("headline") => MessageType::Headline,
            _ => MessageType::Normal,
        }
    }
}

pub async fn outbound(
    ctx: &XmppContext,
    session: &Arc<SessionHandle>,
    mut message: Element,
) -> Result<(), Bounce> {
    let to = match stanza::to_jid(&message) {
        Ok(Some(to)) => to,
        // A message to nobody is for the sender's own account: nothing to do.
        Ok(None) => return Ok(()),
        Err(e) => return Err((message, e)),
    };
    if !ctx.is_local(to.domain().as_str()) {
        return Err((message, StanzaError::remote_server_not_found()));
    }
    let Some(account) = super::account_of(&to) else {
        // Messages to the server itself are not a service we offer.
        return Err((message, StanzaError::service_unavailable()));
    };
    let from = session.jid.to_bare();
    // Only this server says a message waited here (offline storage keeps
    // the first stamp it gave): a client's claim to speak for it goes.
    let host = account.domain().as_str();
    if message.children().any(|c| is_delay_by(c, host)) {
        message.retain_children(|c| !is_delay_by(c, host));
    }
    // XEP-0280 §6: a private message is copied to no one, and the marker,
    // meant for this server, is not delivered.
    let private = message.child("private", ns::CARBONS).is_some();
    if private {
        message.retain_children(|child| !child.is("private", ns::CARBONS));
    }
    // Stamped with the recipient's archive id before anyone gets a copy.
    let archiving = mam::archiving::prepare(ctx, Some(&from), &account, &mut message).await;
    // A copy of the original is kept only when some session will want it;
    // while no session on the server has carbons, that costs one load.
    let carbons = !private && ctx.router.any_carbons() && carbons::eligible(&message);
    let sender = carbons.then_some(from);
    let original = sender
        .as_ref()
        .is_some_and(|sender| {
            ctx.router.carbons_wanted(sender, Some(session.id))
                || ctx.router.carbons_wanted(&account, None)
        })
        .then(|| message.clone());
    let delivered = deliver(ctx, &to, &account, message).await?;
    // Archived once delivered or kept offline; a bounced message is not.
    if let Some(archiving) = archiving {
        archiving.commit(ctx).await;
    }
    if let (Some(original), Some(sender)) = (original, sender) {
        if account == sender {
            // To one's own other resource: it has the message; the rest
            // get it as sent, once.
            carbons::copy_sent(ctx, session, &original, delivered.sessions());
        } else {
            carbons::copy_sent(ctx, session, &original, &[]);
            carbons::copy_received(ctx, &account, &original, delivered.sessions());
        }
    }
    Ok(())
}

/// A chat message from the server itself (the host's JID) to a local
/// account: delivered now, or kept offline.
pub async fn from_server(ctx: &XmppContext, account: &BareJid, body: &str) {
    let mut message = Element::new("message", ns::CLIENT)
        .with_attr("from", account.domain().as_str())
        .with_attr("to", account.to_string())
        .with_attr("type", "chat")
        .with_attr(
            "id",
            crate::services::secrets::random_id(crate::services::secrets::SHORT_ID_BYTES),
        )
        .with_child(Element::new("body", ns::CLIENT).with_text(body));
    let archiving = mam::archiving::prepare(ctx, None, account, &mut message).await;
    let original = ctx
        .router
        .carbons_wanted(account, None)
        .then(|| message.clone());
    match deliver(ctx, &Jid::from(account.clone()), account, message).await {
        Ok(delivered) => {
            if let Some(archiving) = archiving {
                archiving.commit(ctx).await;
            }
            if let Some(original) = original {
                carbons::copy_received(ctx, account, &original, delivered.sessions());
            }
        }
        Err((_, e)) => tracing::info!("{account}: server message not delivered: {e:?}"),
    }
}

/// Routes again a message that an ending session took but its client
/// never acknowledged (XEP-0198): with no other resource of the account
/// online, to offline storage; else to the account's resources, unless
/// they have it already: a message to the bare JID went to them too, and
/// one to this resource reached those with carbons as a copy. Whatever
/// nobody can take is bounced to its sender.
pub async fn hand_on(ctx: &XmppContext, message: Element) {
    let Some(to) = message.attr("to").and_then(|to| Jid::new(to).ok()) else {
        return;
    };
    let Some(account) = super::account_of(&to) else {
        return;
    };
    let others: Vec<_> = ctx
        .router
        .sessions_of(&account)
        .into_iter()
        .filter(|s| !s.is_closing() && s.availability().0)
        .collect();
    let delivered_already = match to.try_as_full() {
        Ok(_) => others.iter().any(|s| s.wants_carbons()),
        Err(_) => true,
    };
    if !others.is_empty() && delivered_already {
        return;
    }
    let to = Jid::from(account.clone());
    if let Err((message, error)) = deliver(ctx, &to, &account, message).await {
        super::bounce_to_sender(ctx, &message, &error);
    }
}

/// Delivers a message to a local account (RFC 6121 §8.5.2, §8.5.3);
/// says which sessions took it.
async fn deliver(
    ctx: &XmppContext,
    to: &Jid,
    account: &BareJid,
    message: Element,
) -> Result<Delivered, Bounce> {
    let kind = MessageType::of(&message);
    let bytes = serialise(&message);
    // Whether it can wait is asked only of an inactive session (XEP-0352);
    // one that cannot makes the sender's held chat state obsolete.
    let obsoletes = || {
        message
            .attr("from")
            .map(|from| format!("chat state {from}"))
    };
    let send = |session: &SessionHandle| match session.is_inactive() {
        true => match can_wait(&message) {
            Some(replaces) => session.send_deferrable(replaces.as_deref(), bytes.clone()),
            None => session.send_now(obsoletes().as_deref(), bytes.clone()),
        },
        false => session.send(bytes.clone()),
    };
    if let Ok(full) = to.try_as_full() {
        // A session that is ending takes nothing (`send` is false).
        if let Some(session) = ctx.router.session(full)
            && send(&session)
        {
            return Ok(Delivered::To(session));
        }
        // No such resource: like a bare JID for chat and normal (§8.5.3.2.1).
        if !matches!(kind, MessageType::Chat | MessageType::Normal) {
            return match kind {
                MessageType::Groupchat => Err((message, StanzaError::service_unavailable())),
                _ => Ok(Delivered::Nowhere),
            };
        }
    }
    let sessions = ctx.router.sessions_of(account);
    let available: Vec<_> = sessions
        .iter()
        .filter(|s| !s.is_closing())
        .filter_map(|s| {
            let (available, priority) = s.availability();
            (available && priority >= 0).then_some((s, priority))
        })
        .collect();
    if kind == MessageType::Groupchat {
        return Err((message, StanzaError::service_unavailable()));
    }
    if let Some(top) = available.iter().map(|(_, p)| *p).max() {
        // Headlines go to every available resource; others to the most
        // preferred ones (highest priority). Every one is tried (`count`,
        // not `any`), and if none took it, it is kept as if none were there.
        let taken: Vec<Arc<SessionHandle>> = available
            .iter()
            .filter(|(_, p)| kind == MessageType::Headline || *p == top)
            .filter(|(s, _)| send(s))
            .map(|(s, _)| Arc::clone(s))
            .collect();
        if !taken.is_empty() {
            return Ok(Delivered::ToMany(taken));
        }
    }
    match kind {
        MessageType::Chat | MessageType::Normal => {
            store_offline(ctx, account, message).await?;
            Ok(Delivered::Nowhere)
        }
        _ => Ok(Delivered::Nowhere),
    }
}

/// XEP-0352: what an inactive client's session may hold back: a chat or
/// normal message with nothing in it but chat states, receipts, markers
/// and hints (`Some`, with what makes it obsolete: a newer chat state from
/// the same sender). Anything else, a body or a payload not known to be
/// idle chatter (a call being proposed, an encrypted key), goes at once.
pub(super) fn can_wait(message: &Element) -> Option<Option<String>> {
    if !matches!(
        MessageType::of(message),
        MessageType::Chat | MessageType::Normal
    ) {
        return None;
    }
    let mut has_chat_state = false;
    for child in message.children() {
        match child.ns() {
            CHAT_STATES => has_chat_state = true,
            RECEIPTS | CHAT_MARKERS | ns::HINTS | STANZA_IDS | DELAY => {}
            _ => return None,
        }
    }
    // A chat state (with hints and ids) is made obsolete by the sender's
    // next one; a receipt or a marker is not.
    let only_chat_state = has_chat_state
        && message
            .children()
            .all(|c| matches!(c.ns(), CHAT_STATES | ns::HINTS | STANZA_IDS));
    Some(
        only_chat_state
            .then(|| {
                message
                    .attr("from")
                    .map(|from| format!("chat state {from}"))
            })
            .flatten(),
    )
}

/// XEP-0085, XEP-0184, XEP-0333 and XEP-0359: what an idle chat carries.
const CHAT_STATES: &str = "http://jabber.org/protocol/chatstates";
const RECEIPTS: &str = "urn:xmpp:receipts";
const CHAT_MARKERS: &str = "urn:xmpp:chat-markers:0";
const STANZA_IDS: &str = "urn:xmpp:sid:0";

/// The sessions a message went to: most often one, and then no list is
/// made for it.
enum Delivered {
    To(Arc<SessionHandle>),
    ToMany(Vec<Arc<SessionHandle>>),
    /// Stored offline, or dropped as RFC 6121 says.
    Nowhere,
}

impl Delivered {
    fn sessions(&self) -> &[Arc<SessionHandle>] {
        match self {
            Delivered::To(one) => std::slice::from_ref(one),
            Delivered::ToMany(many) => many,
            Delivered::Nowhere => &[],
        }
    }
}

/// A `<delay/>` (XEP-0203) that says `host` held the message.
fn is_delay_by(child: &Element, host: &str) -> bool {
    child.is("delay", DELAY) && child.attr("from") == Some(host)
}

async fn store_offline(
    ctx: &XmppContext,
    account: &BareJid,
    mut message: Element,
) -> Result<(), Bounce> {
    // Only messages with content are worth keeping (not bare chat states).
    if message.child("body", ns::CLIENT).is_none() {
        return Ok(());
    }
    // A message back from a session that never acknowledged it (stream
    // management) waited here before: its first stamp says when it came.
    let domain = account.domain().as_str();
    if !message.children().any(|c| is_delay_by(c, domain)) {
        message.push_child(
            Element::new("delay", DELAY)
                .with_attr("from", domain)
                .with_attr("stamp", roost_common::time::xep0082(crate::services::now())),
        );
    }
    // Storage is bounded per sender account (every resource of it, or the
    // server itself); `from` was stamped by the sender's connection.
    let sender = message
        .attr("from")
        .and_then(|f| Jid::new(f).ok())
        .map_or_else(
            || BareJid::from_parts(None, account.domain()),
            |j| j.to_bare(),
        );
    let text = String::from_utf8(message.to_bytes(ns::CLIENT)).expect("serialised XML is UTF-8");
    let limits = ctx.config.limits.get();
    match ctx
        .services
        .offline
        .store(account, &sender, text, &limits)
        .await
    {
        Ok(Stored::Stored) => {
            ctx.services.metrics.offline_message_stored();
            Ok(())
        }
        // RFC 6121 §8.5.2.2.1 and §8.5.1: no such account.
        Ok(Stored::NoSuchAccount) => Err((message, StanzaError::service_unavailable())),
        // The recipient's storage for this sender, or in all, is used up
        // until it logs in: RFC 6120 §8.3.3.18, retry later.
        Ok(Stored::SenderQuotaReached) => Err((
            message,
            StanzaError::resource_constraint().with_text(format!(
                "the recipient keeps at most {} offline messages from you",
                limits.offline_messages_per_sender
            )),
        )),
        Ok(Stored::StorageFull) => Err((
            message,
            StanzaError::resource_constraint().with_text("the recipient's offline storage is full"),
        )),
        Err(e) => Err((message, e.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::xmpp::handlers::test_message as message;

    #[test]
    fn only_idle_chatter_can_wait_for_an_inactive_client() {
        let chat_state = Some(Some("chat state bob@b/desk".to_owned()));
        for (children, expected) in [
            (vec![("composing", CHAT_STATES)], chat_state.clone()),
            (
                vec![
                    ("paused", CHAT_STATES),
                    ("no-store", ns::HINTS),
                    ("origin-id", STANZA_IDS),
                ],
                chat_state,
            ),
            (vec![("received", RECEIPTS)], Some(None)),
            (vec![("displayed", CHAT_MARKERS)], Some(None)),
            (
                vec![("active", CHAT_STATES), ("received", RECEIPTS)],
                Some(None),
            ),
            (vec![("body", ns::CLIENT)], None),
            (vec![("active", CHAT_STATES), ("body", ns::CLIENT)], None),
            // A call being proposed, an encryption key, an invitation.
            (vec![("propose", "urn:xmpp:jingle-message:0")], None),
            (vec![("encrypted", "eu.siacs.conversations.axolotl")], None),
            (vec![("x", "jabber:x:conference")], None),
        ] {
            assert_eq!(
                can_wait(&message(Some("chat"), &children)),
                expected,
                "{children:?}"
            );
        }
        for kind in ["error", "headline", "groupchat"] {
            assert_eq!(
                can_wait(&message(Some(kind), &[("composing", CHAT_STATES)])),
                None,
                "{kind}"
            );
        }
    }
}
