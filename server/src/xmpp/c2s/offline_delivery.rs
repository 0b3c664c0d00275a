//! Handing a session its offline messages (RFC 6121 §8.5.2.2.1) as fast as
//! its client reads them: the connection asks for a page when the last one
//! was written, writes the page straight into its output (not through the
//! session's queue, whose bound is for what others send), and only what
//! was written leaves storage. A backlog of any size thus arrives in one
//! login, in order, with at most a page in memory, and a session that ends
//! midway leaves the rest stored.
//!
//! One session per account hands them over at a time (the router's claim):
//! two resources becoming available together would otherwise both read the
//! oldest page. The claim is kept until what was delivered is deleted, so
//! the next session to claim reads none of it again.

use bytes::Bytes;

use crate::xmpp::handlers::XmppContext;
use crate::xmpp::router::SessionHandle;

/// Where one session's hand-over stands.
#[derive(Default)]
pub struct OfflineDelivery {
    /// Holds the account's claim.
    claimed: bool,
    /// Ids of the messages in the output buffer, not yet flushed.
    written: Vec<i64>,
    /// Ids of messages flushed to the client and not yet deleted.
    delivered: Vec<i64>,
}

impl OfflineDelivery {
    /// Whether the connection has offline work to do now: a page to read,
    /// or a claim to give back.
    pub fn due(&self, session: Option<&SessionHandle>) -> bool {
        self.written.is_empty()
            && (self.claimed || session.is_some_and(SessionHandle::wants_offline_messages))
    }

    /// Deletes what was delivered and gives the next page to `write`. Once
    /// nothing is left, or the session no longer wants them (it became
    /// unavailable), the claim is given back; when another session holds
    /// it, this one leaves the messages to that one.
    pub async fn step(
        &mut self,
        ctx: &XmppContext,
        session: &SessionHandle,
        mut write: impl FnMut(Bytes),
    ) {
        let user = session.jid.to_bare();
        if !session.wants_offline_messages() {
            self.finish(ctx, session).await;
            return;
        }
        if !self.claimed {
            self.claimed = ctx.router.claim_offline(session);
            if !self.claimed {
                session.offline_messages_done();
                return;
            }
        }
        let delivered = std::mem::take(&mut self.delivered);
        match ctx.services.offline.next_page(&user, delivered).await {
            Ok(page) if page.is_empty() => {
                session.offline_messages_done();
                self.release(ctx, session);
            }
            Ok(page) => {
                let sent = &ctx.services.metrics.stanzas.sent;
                for (id, stanza) in page {
                    sent.count_serialised(stanza.as_bytes());
                    write(Bytes::from(stanza));
                    self.written.push(id);
                }
            }
            Err(e) => {
                tracing::warn!("{user}: cannot read offline messages: {e}");
                session.offline_messages_done();
                self.release(ctx, session);
            }
        }
    }

    /// The output buffer was written to the client.
    pub fn flushed(&mut self) {
        self.delivered.append(&mut self.written);
    }

    /// What was written is kept by stream management from now on, which
    /// sends it again or hands it on: it may leave storage unflushed.
    pub fn kept_elsewhere(&mut self) {
        self.flushed();
    }

    /// Deletes what was delivered (what was written but not flushed stays
    /// stored), then gives the claim back. At the end of the session too.
    pub async fn finish(&mut self, ctx: &XmppContext, session: &SessionHandle) {
        let delivered = std::mem::take(&mut self.delivered);
        if !delivered.is_empty() {
            let user = session.jid.to_bare();
            if let Err(e) = ctx.services.offline.delivered(&user, delivered).await {
                tracing::warn!("{user}: cannot delete delivered offline messages: {e}");
            }
        }
        self.release(ctx, session);
    }

    fn release(&mut self, ctx: &XmppContext, session: &SessionHandle) {
        if std::mem::take(&mut self.claimed) {
            ctx.router.release_offline(session);
        }
    }
}
