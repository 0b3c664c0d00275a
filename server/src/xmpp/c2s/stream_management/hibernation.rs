//! A session whose connection was lost, waiting to be resumed (XEP-0198
//! §5). It stays bound, so contacts and client management still see it
//! connected; stanzas for it keep arriving in its queue and are counted
//! as sent but unacknowledged, so a resuming client gets them all. It
//! ends like a connection would when a close is requested (account
//! deleted, client revoked, an admin), when more waits for it than its
//! queue may hold, at shutdown, or when `resume_timeout` passes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::watch;

use super::resumption::{Detached, Takeover};
use super::unacked;
use crate::xmpp::c2s::C2sShared;
use crate::xmpp::handlers::{XmppContext, presence};
use crate::xmpp::router::{CloseReason, Outbound};

/// Sessions hibernating now, for the metrics.
#[derive(Default)]
pub struct Hibernating(AtomicUsize);

impl Hibernating {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// What ended a wait.
enum Woken {
    Takeover(Takeover),
    Stanza(bytes::Bytes),
    Closed(CloseReason),
    Expired,
}

/// Keeps `session` for its client in a task of its own.
pub fn hibernate(shared: Arc<C2sShared>, session: Detached, stop: watch::Receiver<bool>) {
    tokio::spawn(wait_for_resumption(shared, session, stop));
}

async fn wait_for_resumption(
    shared: Arc<C2sShared>,
    mut session: Detached,
    mut stop: watch::Receiver<bool>,
) {
    let ctx = &shared.xmpp;
    tracing::debug!("{}: connection lost, hibernating", session.session.jid);
    session.session.hibernating();
    shared.hibernating.0.fetch_add(1, Ordering::Relaxed);
    let deadline = tokio::time::Instant::now() + ctx.config.c2s.resume_timeout;
    let max_waiting = ctx.config.c2s.max_queued_bytes;
    let reason = loop {
        let Detached { queue, sm, .. } = &mut session;
        let woken = tokio::select! {
            request = sm.takeover_requested() => Woken::Takeover(request),
            outbound = queue.recv() => match outbound {
                Outbound::Stanza(bytes) => Woken::Stanza(bytes),
                Outbound::Close(reason) => Woken::Closed(reason),
            },
            () = tokio::time::sleep_until(deadline) => Woken::Expired,
            _ = stop.wait_for(|s| *s) => Woken::Expired,
        };
        match woken {
            Woken::Takeover(request) if !request.is_for(&session.session) => {}
            Woken::Takeover(request) => match request.hand_over(session) {
                Ok(()) => {
                    shared.hibernating.0.fetch_sub(1, Ordering::Relaxed);
                    return;
                }
                // The resuming connection gave up meanwhile.
                Err(back) => session = *back,
            },
            Woken::Stanza(bytes) => {
                session.sm.sent(&bytes);
                if session.sm.unacked_cost() > max_waiting {
                    break None;
                }
            }
            Woken::Closed(reason) => break Some(reason),
            Woken::Expired => break None,
        }
    };
    shared.hibernating.0.fetch_sub(1, Ordering::Relaxed);
    tracing::debug!("{}: not resumed, ending", session.session.jid);
    end(ctx, session, reason).await;
}

/// Ends a session with stream management for good: it takes nothing
/// more, what it had not delivered is handed on to the account (or
/// bounced), then it leaves the router and its contacts are told, unless
/// a new session for its resource replaced it and told them already.
pub async fn end(ctx: &XmppContext, session: Detached, reason: Option<CloseReason>) {
    let Detached {
        session,
        mut queue,
        mut sm,
    } = session;
    session.refuse_stanzas();
    let mut stanzas = sm.take_unacked();
    stanzas.extend(queue.drain());
    // The id goes now: nothing may resume a session that is ending.
    drop(sm);
    unacked::hand_on(ctx, stanzas).await;
    ctx.router.unbind(&session);
    if reason != Some(CloseReason::Replaced) {
        presence::disconnected(ctx, &session).await;
    }
}
