//! What becomes of the stanzas a session wrote but its client never
//! acknowledged, once the session ends without being resumed (XEP-0198
//! §5: "the server SHOULD treat unacknowledged stanzas ... as if they were
//! never delivered"). Messages go to offline storage when the account has
//! no other resource online, else to the other resources unless they have
//! them already ([`message::hand_on`]); a message nobody can take is
//! bounced to its sender with an error, as an iq that waits for an answer
//! is. Presence is state, sent again by its owner: dropped. Carbon copies
//! are dropped too: their originals went where they were sent.

use bytes::Bytes;
use roost_xml::{Element, Limits, ns};

use crate::xmpp::handlers::{self, XmppContext, message};
use crate::xmpp::stanza::StanzaError;

/// Hands each unacknowledged stanza on, in order.
pub async fn hand_on(ctx: &XmppContext, stanzas: impl IntoIterator<Item = Bytes>) {
    for bytes in stanzas {
        let Some(stanza) = roost_xml::parse_stanza(&bytes, limits(ctx)) else {
            // Only what this server serialised is kept: never expected.
            tracing::warn!("an unacknowledged stanza could not be read back; dropped");
            continue;
        };
        match stanza.name() {
            "message" if !is_copy(&stanza) => message::hand_on(ctx, stanza).await,
            "iq" if matches!(stanza.attr("type"), Some("get" | "set")) => {
                handlers::bounce_to_sender(ctx, &stanza, &StanzaError::service_unavailable());
            }
            _ => {}
        }
    }
}

/// A carbon copy (XEP-0280): the original went to its own recipient.
fn is_copy(message: &Element) -> bool {
    message.child("sent", ns::CARBONS).is_some() || message.child("received", ns::CARBONS).is_some()
}

/// Generous: these are the server's own bytes, each once a stanza within
/// the configured limits, wrapped at most once more (a forwarded copy).
fn limits(ctx: &XmppContext) -> Limits {
    Limits {
        max_stanza_bytes: ctx.config.c2s.max_queued_bytes,
        max_depth: 128,
        max_attributes: 1024,
        max_namespaces: 1024,
    }
}
