//! What the XMPP side does about account changes made through other doors
//! (the admin socket, the web form, a roster service) or by other
//! sessions: ends a deleted account's sessions, pushes roster changes from
//! a redeemed invite or a roster service, and tells the inviter their
//! invite was used.

use std::sync::Arc;

use jid::{BareJid, FullJid};

use super::XmppContext;
use super::message;
use super::presence::{send_current_presence, send_unavailable};
use super::roster::{push, push_except};
use crate::services::events::{AccountEvent, InviteUsed};
use crate::services::rosters::{ItemChange, RosterPush};

/// Follows the services' events for as long as they are sent.
pub async fn follow_account_events(ctx: Arc<XmppContext>) {
    let mut events = ctx.services.events.subscribe();
    loop {
        match events.recv().await {
            Some(AccountEvent::Deleted(jid)) => ctx.router.account_deleted(&jid),
            Some(AccountEvent::InviteUsed(used)) => invite_used(&ctx, used).await,
            Some(AccountEvent::RosterReplaced {
                user,
                changes,
                answering,
            }) => roster_replaced(&ctx, &user, &changes, &answering),
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

/// A roster service changed `user`'s roster: each change is pushed, then
/// presence starts (both ways, as between new mutual subscribers) or stops
/// (unavailable both ways) with the contact; anything else is only pushed. The
/// sessions whose roster gets waited for it get the roster in their answers.
fn roster_replaced(
    ctx: &XmppContext,
    user: &BareJid,
    changes: &[(ItemChange, RosterPush)],
    answering: &[FullJid],
) {
    for (change, roster_push) in changes {
        push_except(ctx, user, roster_push, answering);
        let Ok(contact) = BareJid::new(&roster_push.item.contact) else {
            continue;
        };
        match change {
            ItemChange::Added => {
                send_current_presence(ctx, user, &contact);
                send_current_presence(ctx, &contact, user);
            }
            ItemChange::Removed => {
                send_unavailable(ctx, user, &contact);
                send_unavailable(ctx, &contact, user);
            }
            ItemChange::Changed => {}
        }
    }
}
