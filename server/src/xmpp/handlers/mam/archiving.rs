//! Routing's part of the archive: which messages are kept (Prosody's
//! rules: chats and normal messages with a body, hints obeyed), the
//! stanza id the recipient's copy carries (XEP-0359, made in memory, with
//! any claim by someone else to speak for the recipient's archive removed
//! first), and handing the copies to the archive's writer once the
//! message was delivered or stored offline. A message kept offline thus
//! carries its archive id, and its later hand-over archives nothing again.

use std::sync::Arc;

use jid::BareJid;
use roost_xml::{Element, ns};

use super::STANZA_IDS;
use crate::services::archive::{NewMessage, Reservation};
use crate::xmpp::handlers::XmppContext;

/// Whether a message is worth archiving, before anyone's preferences:
/// never an error, a groupchat or a headline message; `<no-store/>` and
/// `<no-permanent-store/>` (XEP-0334) keep it out, `<store/>` puts it in;
/// otherwise a chat or normal message with a body, an encrypted payload
/// (XEP-0380) or a call being set up (XEP-0353), not chat states,
/// receipts or markers alone.
pub fn eligible(message: &Element) -> bool {
    if !matches!(message.attr("type"), None | Some("chat") | Some("normal")) {
        return false;
    }
    if message.child("no-store", ns::HINTS).is_some()
        || message.child("no-permanent-store", ns::HINTS).is_some()
    {
        return false;
    }
    if message.child("store", ns::HINTS).is_some() {
        return true;
    }
    // A carbon copy is never routed (the server makes them), but a client
    // could send one: its content belongs to someone else's exchange.
    if message.child("sent", ns::CARBONS).is_some()
        || message.child("received", ns::CARBONS).is_some()
    {
        return false;
    }
    message.child("body", ns::CLIENT).is_some()
        || message.child("encryption", EXPLICIT_ENCRYPTION).is_some()
        || message
            .children()
            .any(|c| JINGLE_MESSAGES.contains(&c.ns()))
}

const EXPLICIT_ENCRYPTION: &str = "urn:xmpp:eme:0";
const JINGLE_MESSAGES: [&str; 2] = ["urn:xmpp:jingle-message:0", "urn:xmpp:jingle-message:1"];

/// The archive copies of one routed message, waiting for its delivery;
/// their ids stay in flight until then (dropped uncommitted, they were
/// never archived).
pub struct Archiving {
    copies: Vec<(NewMessage, Reservation)>,
}

impl Archiving {
    /// Hands the copies to the archive: call once the message was
    /// delivered or stored offline. Waits while the writer's queue is full.
    pub async fn commit(self, ctx: &XmppContext) {
        for (copy, reservation) in self.copies {
            ctx.services.archive.append(copy).await;
            drop(reservation);
            ctx.services.metrics.archive_message();
        }
    }
}

/// Prepares `message`, from `sender` (an account, or `None` for the
/// server) to `recipient`, for the archive: removes stanza ids that claim
/// to come from the recipient's archive, and when the recipient keeps it,
/// adds the id of its copy. `None` when nobody archives it.
pub async fn prepare(
    ctx: &XmppContext,
    sender: Option<&BareJid>,
    recipient: &BareJid,
    message: &mut Element,
) -> Option<Archiving> {
    let archive = &ctx.services.archive;
    if !archive.enabled() {
        return None;
    }
    remove_claims(message, recipient);
    if !eligible(message) {
        return None;
    }
    // The other party of the recipient's copy: the sender, or the host
    // itself (whose JID is made only for the server's own messages).
    let server;
    let other = match sender {
        Some(sender) => sender,
        None => {
            server = BareJid::from_parts(None, recipient.domain());
            &server
        }
    };
    let sender_keeps = match sender {
        Some(sender) if sender != recipient => wants(ctx, sender, recipient).await,
        _ => false,
    };
    let recipient_keeps = wants(ctx, recipient, other).await;
    if !sender_keeps && !recipient_keeps {
        return None;
    }
    let stanza = message.to_bytes("");
    if stanza.len() > archive.max_message_bytes() {
        return None;
    }
    let stanza: Arc<str> = String::from_utf8(stanza)
        .expect("serialised XML is UTF-8")
        .into();
    let stamp_ms = crate::services::now_ms();
    let reserve = || async {
        archive
            .reserve(stamp_ms)
            .await
            .inspect_err(|e| tracing::warn!("no archive id could be made: {e}"))
            .ok()
    };
    let mut copies = Vec::with_capacity(2);
    if let Some(sender) = sender.filter(|_| sender_keeps) {
        let reservation = reserve().await?;
        copies.push((
            NewMessage {
                owner: sender.clone(),
                with: recipient.clone(),
                id: reservation.id(),
                stanza: stanza.clone(),
            },
            reservation,
        ));
    }
    if recipient_keeps {
        let reservation = reserve().await?;
        message.push_child(
            Element::new("stanza-id", STANZA_IDS)
                .with_attr("id", reservation.id().to_string())
                .with_attr("by", recipient.to_string()),
        );
        copies.push((
            NewMessage {
                owner: recipient.clone(),
                with: other.clone(),
                id: reservation.id(),
                stanza,
            },
            reservation,
        ));
    }
    Some(Archiving { copies })
}

async fn wants(ctx: &XmppContext, owner: &BareJid, with: &BareJid) -> bool {
    match ctx.services.archive.wants(owner, with).await {
        Ok(keep) => keep,
        Err(e) => {
            tracing::warn!("{owner}: cannot read archiving preferences: {e}");
            false
        }
    }
}

/// Removes `<stanza-id/>`s that say they come from `recipient`'s archive:
/// only the server may make that claim (XEP-0359 §4).
fn remove_claims(message: &mut Element, recipient: &BareJid) {
    let claims = |c: &Element| {
        c.is("stanza-id", STANZA_IDS)
            && c.attr("by")
                .and_then(|by| BareJid::new(by).ok())
                .is_some_and(|by| by == *recipient)
    };
    if message.children().any(claims) {
        message.retain_children(|c| !claims(c));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::xmpp::handlers::test_message as message;

    const BODY: (&str, &str) = ("body", ns::CLIENT);

    #[test]
    fn chats_with_content_are_archived() {
        for kept in [
            message(Some("chat"), &[BODY]),
            message(None, &[BODY]),
            message(Some("normal"), &[BODY]),
            message(Some("chat"), &[("encryption", EXPLICIT_ENCRYPTION)]),
            message(Some("chat"), &[("propose", "urn:xmpp:jingle-message:0")]),
            message(Some("chat"), &[("active", "x"), ("store", ns::HINTS)]),
            message(Some("chat"), &[BODY, ("origin-id", STANZA_IDS)]),
        ] {
            assert!(eligible(&kept), "{kept:?}");
        }
    }

    #[test]
    fn idle_chatter_other_types_and_hints_are_not() {
        for skipped in [
            message(Some("chat"), &[]),
            message(
                Some("chat"),
                &[("composing", "http://jabber.org/protocol/chatstates")],
            ),
            message(Some("chat"), &[("received", "urn:xmpp:receipts")]),
            message(Some("error"), &[BODY]),
            message(Some("groupchat"), &[BODY]),
            message(Some("headline"), &[BODY]),
            message(Some("chat"), &[BODY, ("no-store", ns::HINTS)]),
            message(Some("chat"), &[BODY, ("no-permanent-store", ns::HINTS)]),
            message(
                Some("chat"),
                &[BODY, ("store", ns::HINTS), ("no-store", ns::HINTS)],
            ),
            message(Some("error"), &[BODY, ("store", ns::HINTS)]),
            message(Some("chat"), &[("sent", ns::CARBONS)]),
        ] {
            assert!(!eligible(&skipped), "{skipped:?}");
        }
    }

    #[test]
    fn only_claims_for_the_recipients_archive_are_removed() {
        let id = |by: &str| {
            Element::new("stanza-id", STANZA_IDS)
                .with_attr("id", "forged")
                .with_attr("by", by)
        };
        let mut message = message(Some("chat"), &[BODY])
            .with_child(id("Bob@X.test"))
            .with_child(id("alice@x.test"))
            .with_child(Element::new("origin-id", STANZA_IDS).with_attr("id", "o1"));
        remove_claims(&mut message, &BareJid::new("bob@x.test").unwrap());
        let left: Vec<_> = message
            .children()
            .map(|c| (c.name().to_owned(), c.attr("by").map(str::to_owned)))
            .collect();
        assert_eq!(
            left,
            vec![
                ("body".to_owned(), None),
                ("stanza-id".to_owned(), Some("alice@x.test".to_owned())),
                ("origin-id".to_owned(), None),
            ]
        );
    }
}
