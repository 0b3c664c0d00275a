//! What the XMPP side does about account changes made through other doors
//! (the admin socket, the web form) or by other sessions: ends a deleted
//! account's sessions, pushes roster changes from a redeemed invite, and
//! tells the inviter their invite was used.

use std::sync::Arc;

use super::XmppContext;
use super::message;
use super::roster::push;
use crate::services::events::{AccountEvent, InviteUsed};

/// Follows the services' events for as long as they are sent.
pub async fn follow_account_events(ctx: Arc<XmppContext>) {
    let mut events = ctx.services.events.subscribe();
    loop {
        match events.recv().await {
            Some(AccountEvent::Deleted(jid)) => ctx.router.account_deleted(&jid),
            Some(AccountEvent::InviteUsed(used)) => invite_used(&ctx, used).await,
            None => return,
        }
    }
}

async fn invite_used(ctx: &XmppContext, used: InviteUsed) {
    for (user, change) in &used.pushes {
        push(ctx, user, change);
    }
    let Some(inviter) = used.inviter.filter(|_| used.notify) else {
        return;
    };
    let contact = used.pushes.iter().any(|(user, _)| *user == inviter);
    let text = match (used.registered, contact) {
        (true, true) => format!(
            "{} accepted your invite and created an account; you are now contacts.",
            used.invitee
        ),
        (true, false) => format!(
            "{} accepted your invite and created an account.",
            used.invitee
        ),
        (false, _) => format!(
            "{} accepted your invite; you are now contacts.",
            used.invitee
        ),
    };
    message::from_server(ctx, &inviter, &text).await;
}
