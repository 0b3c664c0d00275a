//! Resuming a session (XEP-0198 §5): after authentication, instead of
//! binding, `<resume previd h/>` (or the same inside SASL2's
//! `<authenticate>`) takes over the session with that id, if it belongs
//! to the account that just authenticated, and writes again every stanza
//! the client has not acknowledged.

use std::time::Duration;

use roost_xml::{Element, ns};

use super::super::stream_management::resumption::Detached;
use super::super::stream_management::{self as sm, hibernation};
use super::{Connection, Next, Stage};

/// How long a resuming connection waits for the session's holder beyond
/// a stalled write's timeout: a live connection answers between writes.
const HOLDER_GRACE: Duration = Duration::from_secs(5);

/// A failed resumption: what to answer, and whether the stream must end.
pub(super) enum ResumeFailure {
    /// `<failed/>`; the client may bind a new session instead.
    Failed(Element),
    /// The client claimed more than it was sent: a stream error.
    TooHigh(sm::HandledCountTooHigh),
}

impl Connection {
    /// `<resume/>` on an authenticated stream.
    pub(super) async fn resume(&mut self, request: &Element) -> Next {
        let h = sm::h_of(request);
        match self.take_over(request.attr("previd"), h).await {
            Ok(resumed) => {
                resumed.write_to(&mut self.out, ns::CLIENT);
                self.write_again();
                Next::Continue
            }
            Err(ResumeFailure::Failed(failed)) => {
                failed.write_to(&mut self.out, ns::CLIENT);
                Next::Continue
            }
            Err(ResumeFailure::TooHigh(too_high)) => {
                self.stream_error_with("undefined-condition", too_high.to_element());
                Next::Close
            }
        }
    }

    /// Takes the session `previd` over onto this connection, the client
    /// having handled `h` of its stanzas, and returns `<resumed/>`; the
    /// stanzas to send again follow it ([`Connection::write_again`]).
    pub(super) async fn take_over(
        &mut self,
        previd: Option<&str>,
        h: Option<u32>,
    ) -> Result<Element, ResumeFailure> {
        let login = self.login.as_ref().expect("authenticated");
        let (Some(previd), Some(h)) = (previd, h) else {
            return Err(ResumeFailure::Failed(sm::failed("bad-request")));
        };
        // What keeps a login from binding keeps it from resuming: the
        // account deleted, its client revoked or its password changed
        // since it authenticated.
        let router = &self.shared.xmpp.router;
        if router
            .cut_off(&login.user, login.client.as_ref(), login.at)
            .is_some()
        {
            return Err(ResumeFailure::Failed(sm::failed("item-not-found")));
        }
        let wait = self.shared.xmpp.config.c2s.write_timeout + HOLDER_GRACE;
        let Some(mut detached) = self
            .shared
            .resumptions
            .take_over(previd, &login.user, login.client.as_ref(), wait)
            .await
        else {
            return Err(ResumeFailure::Failed(sm::failed("item-not-found")));
        };
        if let Err(too_high) = detached.sm.resume_from(h) {
            // The client's view cannot be trusted: the session ends and
            // what it held is handed on.
            hibernation::end(&self.shared.xmpp, detached, None).await;
            return Err(ResumeFailure::TooHigh(too_high));
        }
        let Detached { session, queue, sm } = detached;
        tracing::debug!("{}: resumed {}", self.peer, session.jid);
        session.moved_to(std::sync::Arc::new(self.connected()));
        let resumed = Element::new("resumed", ns::SM)
            .with_attr("previd", previd)
            .with_attr("h", sm.handled().to_string());
        self.session = Some(session);
        self.queue = Some(queue);
        self.sm = sm;
        self.stage = Stage::Bound;
        Ok(resumed)
    }

    /// Writes every stanza the client has not acknowledged, oldest first;
    /// they stay kept until it does.
    pub(super) fn write_again(&mut self) {
        let sent = &self.shared.xmpp.services.metrics.stanzas.sent;
        for stanza in self.sm.unacknowledged() {
            sent.count_serialised(stanza);
            self.out.extend_from_slice(stanza);
        }
    }

    /// A stream error with an application-specific condition.
    pub(super) fn stream_error_with(&mut self, condition: &str, specific: Element) {
        Element::new("error", ns::STREAMS)
            .with_child(Element::new(condition, ns::STREAM_ERRORS))
            .with_child(specific)
            .write_to(&mut self.out, ns::CLIENT);
        self.out.extend_from_slice(roost_xml::STREAM_END);
    }
}
