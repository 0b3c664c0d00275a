//! Stream management (XEP-0198, `urn:xmpp:sm:3`): what one connection
//! counts and keeps so that nothing is lost when its TCP connection is.
//!
//! Both sides count the stanzas they handled; the client's `<a h/>` says
//! how many of ours arrived, so the server keeps every stanza it wrote
//! until acknowledged. When the connection is lost the session hibernates
//! (`hibernation.rs`): it stays bound, its queue keeps filling, and a new
//! connection that authenticates as the same account and names the
//! session's id with `<resume/>` takes it over (`resumption.rs`) and gets
//! every unacknowledged stanza again. A session that is not resumed in
//! time, or ends any other way, hands its unacknowledged messages to the
//! account's other resources or offline storage (`unacked.rs`).
//!
//! This file is the counting, with no I/O: the connection reports what
//! it sent and received and what the client acknowledged.

pub mod hibernation;
pub mod resumption;
pub mod unacked;

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use roost_xml::{Element, ns};

use super::C2sShared;
use resumption::Resumable;

/// What a kept stanza costs beyond its bytes, as in the router's queues.
const STANZA_OVERHEAD: usize = 64;

/// A connection's stream management: off until the client enables it.
/// Boxed when on, so a session without it costs one pointer.
#[derive(Default)]
pub struct StreamManagement {
    enabled: Option<Box<Enabled>>,
}

struct Enabled {
    /// Stanzas received from the client since `<enable/>` (its `h`).
    handled: u32,
    /// The client's last `h`: stanzas it acknowledged.
    acked: u32,
    /// Stanzas written since `<enable/>` and not acknowledged, oldest first.
    unacked: VecDeque<Bytes>,
    unacked_cost: usize,
    /// An `<r/>` was sent and its `<a/>` has not come.
    ack_requested: bool,
    /// Set when the client asked for resumption.
    resumable: Option<Resumable>,
}

/// The client acknowledged more stanzas than were sent (XEP-0198 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandledCountTooHigh {
    pub h: u32,
    pub sent: u32,
}

impl HandledCountTooHigh {
    /// The stream error's application-specific condition.
    pub fn to_element(self) -> Element {
        Element::new("handled-count-too-high", ns::SM)
            .with_attr("h", self.h.to_string())
            .with_attr("send-count", self.sent.to_string())
    }
}

impl StreamManagement {
    pub fn is_enabled(&self) -> bool {
        self.enabled.is_some()
    }

    /// Turns counting on (`<enable/>`), resumable if `resumable` is given.
    pub fn enable(&mut self, resumable: Option<Resumable>) {
        self.enabled = Some(Box::new(Enabled {
            handled: 0,
            acked: 0,
            unacked: VecDeque::new(),
            unacked_cost: 0,
            ack_requested: false,
            resumable,
        }));
    }

    /// The resumption id, when the session can be resumed.
    pub fn resumption_id(&self) -> Option<&str> {
        Some(self.enabled.as_ref()?.resumable.as_ref()?.id())
    }

    /// The next request to hand the session over (whoever holds it, a
    /// connection or its hibernation, waits on this); never, unless the
    /// session is resumable.
    pub async fn takeover_requested(&mut self) -> resumption::Takeover {
        match self.enabled.as_mut().and_then(|on| on.resumable.as_mut()) {
            Some(resumable) => resumable.requested().await,
            None => std::future::pending().await,
        }
    }

    /// The client sent a stanza.
    pub fn received(&mut self) {
        if let Some(on) = &mut self.enabled {
            on.handled = on.handled.wrapping_add(1);
        }
    }

    /// Stanzas received from the client: the `h` of our `<a/>`.
    pub fn handled(&self) -> u32 {
        self.enabled.as_ref().map_or(0, |on| on.handled)
    }

    /// A stanza was written to the client; it is kept until acknowledged.
    pub fn sent(&mut self, stanza: &Bytes) {
        if let Some(on) = &mut self.enabled {
            on.unacked_cost += stanza.len() + STANZA_OVERHEAD;
            on.unacked.push_back(stanza.clone());
        }
    }

    /// What the kept stanzas cost: past the session's queue bound, the
    /// client is not acknowledging and the session ends.
    pub fn unacked_cost(&self) -> usize {
        self.enabled.as_ref().map_or(0, |on| on.unacked_cost)
    }

    /// The client's `<a h/>`: stanzas up to `h` (counted modulo 2³²)
    /// arrived and are dropped. An `h` behind the last one (a client that
    /// kept a stale count) changes nothing: what it acknowledged before is
    /// gone already, and the rest is kept.
    pub fn acknowledge(&mut self, h: u32) -> Result<(), HandledCountTooHigh> {
        let Some(on) = &mut self.enabled else {
            return Ok(());
        };
        if h != on.acked && on.acked.wrapping_sub(h) < 1 << 31 {
            return Ok(());
        }
        let newly = h.wrapping_sub(on.acked) as usize;
        if newly > on.unacked.len() {
            return Err(HandledCountTooHigh {
                h,
                sent: on.acked.wrapping_add(on.unacked.len() as u32),
            });
        }
        for stanza in on.unacked.drain(..newly) {
            on.unacked_cost -= stanza.len() + STANZA_OVERHEAD;
        }
        on.acked = h;
        on.ack_requested = false;
        Ok(())
    }

    /// Whether to ask the client for an acknowledgement now: something
    /// is unacknowledged and no `<r/>` is outstanding. Marks one as sent.
    pub fn request_ack(&mut self) -> bool {
        match &mut self.enabled {
            Some(on) if !on.ack_requested && !on.unacked.is_empty() => {
                on.ack_requested = true;
                true
            }
            _ => false,
        }
    }

    /// The client's `h` in `<resume/>`: what it acknowledges is dropped;
    /// the rest is sent anew ([`StreamManagement::unacknowledged`]) and
    /// stays kept until acknowledged again.
    pub fn resume_from(&mut self, h: u32) -> Result<(), HandledCountTooHigh> {
        self.acknowledge(h)
    }

    /// The stanzas kept, oldest first.
    pub fn unacknowledged(&self) -> impl Iterator<Item = &Bytes> {
        self.enabled.iter().flat_map(|on| on.unacked.iter())
    }

    /// Everything unacknowledged, for the session's end; counting stops.
    pub fn take_unacked(&mut self) -> VecDeque<Bytes> {
        self.enabled
            .as_mut()
            .map(|on| {
                on.unacked_cost = 0;
                std::mem::take(&mut on.unacked)
            })
            .unwrap_or_default()
    }

    /// Ends stream management on this stream for good: the session can no
    /// longer be resumed.
    pub fn disable(&mut self) {
        self.enabled = None;
    }
}

/// Enables stream management on a bound session's stream for `<enable/>`
/// (a nonza, or inside Bind2), and says how: `<enabled/>`, with an id
/// when resumable, or `<failed/>` when it was on already.
pub fn enable(shared: &Arc<C2sShared>, sm: &mut StreamManagement, request: &Element) -> Element {
    if sm.is_enabled() {
        return failed("unexpected-request");
    }
    let resumable = wants_resumption(request).then(|| shared.resumptions.register());
    let mut enabled = Element::new("enabled", ns::SM);
    if let Some(resumable) = &resumable {
        let max = shared.xmpp.config.c2s.resume_timeout.as_secs().max(1);
        enabled.set_attr("id", resumable.id());
        enabled.set_attr("resume", "true");
        enabled.set_attr("max", max.to_string());
    }
    sm.enable(resumable);
    enabled
}

/// `<a xmlns='urn:xmpp:sm:3' h='…'/>`.
pub fn answer(h: u32) -> Element {
    Element::new("a", ns::SM).with_attr("h", h.to_string())
}

/// `<failed xmlns='urn:xmpp:sm:3'>` with a stanza error condition.
pub fn failed(condition: &str) -> Element {
    Element::new("failed", ns::SM).with_child(Element::new(condition, ns::STANZAS))
}

/// The `h` attribute of `<a/>` or `<resume/>`: an unsigned 32-bit count.
pub fn h_of(element: &Element) -> Option<u32> {
    element.attr("h")?.parse().ok()
}

/// Whether `<enable/>` or `<resume/>` asked for resumption
/// (`resume='true'` or `'1'`, xs:boolean).
pub fn wants_resumption(enable: &Element) -> bool {
    matches!(enable.attr("resume"), Some("true" | "1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(text: &'static str) -> Bytes {
        Bytes::from_static(text.as_bytes())
    }

    fn enabled() -> StreamManagement {
        let mut sm = StreamManagement::default();
        sm.enable(None);
        sm
    }

    #[test]
    fn nothing_is_counted_or_kept_until_enabled() {
        let mut sm = StreamManagement::default();
        sm.received();
        sm.sent(&b("<message/>"));
        assert_eq!(sm.handled(), 0);
        assert_eq!(sm.unacked_cost(), 0);
        assert!(!sm.request_ack());
        assert!(sm.take_unacked().is_empty());
    }

    #[test]
    fn acknowledged_stanzas_are_dropped_and_the_rest_kept_in_order() {
        let mut sm = enabled();
        for s in ["<a1/>", "<a2/>", "<a3/>"] {
            sm.sent(&Bytes::from(s));
        }
        sm.acknowledge(1).unwrap();
        sm.acknowledge(1).unwrap();
        sm.resume_from(2).unwrap();
        assert_eq!(sm.unacknowledged().collect::<Vec<_>>(), [&b("<a3/>")]);
        assert_eq!(sm.unacked_cost(), 5 + STANZA_OVERHEAD);
        assert_eq!(sm.take_unacked(), [b("<a3/>")]);
    }

    #[test]
    fn acknowledging_more_than_was_sent_is_an_error_that_changes_nothing() {
        let mut sm = enabled();
        sm.sent(&b("<m/>"));
        assert_eq!(
            sm.acknowledge(2),
            Err(HandledCountTooHigh { h: 2, sent: 1 })
        );
        assert_eq!(sm.take_unacked().len(), 1);
    }

    #[test]
    fn a_count_behind_the_last_one_changes_nothing() {
        let mut sm = enabled();
        for _ in 0..3 {
            sm.sent(&b("<m/>"));
        }
        sm.acknowledge(2).unwrap();
        sm.acknowledge(1).unwrap();
        sm.resume_from(0).unwrap();
        assert_eq!(sm.unacknowledged().count(), 1);
        sm.acknowledge(3).unwrap();
        assert_eq!(sm.unacknowledged().count(), 0);
    }

    #[test]
    fn counts_wrap_around_at_two_to_the_32() {
        let mut sm = enabled();
        let on = sm.enabled.as_mut().unwrap();
        on.acked = u32::MAX - 1;
        on.handled = u32::MAX;
        sm.received();
        assert_eq!(sm.handled(), 0);
        for _ in 0..3 {
            sm.sent(&b("<m/>"));
        }
        sm.acknowledge(0).unwrap();
        assert_eq!(sm.take_unacked().len(), 1);
    }

    #[test]
    fn one_ack_request_is_outstanding_at_a_time() {
        let mut sm = enabled();
        assert!(!sm.request_ack(), "nothing to acknowledge");
        sm.sent(&b("<m/>"));
        assert!(sm.request_ack());
        sm.sent(&b("<m/>"));
        assert!(!sm.request_ack());
        sm.acknowledge(1).unwrap();
        assert!(sm.request_ack());
    }

    #[test]
    fn h_is_an_unsigned_32_bit_count() {
        let a = |h: &str| Element::new("a", ns::SM).with_attr("h", h);
        assert_eq!(h_of(&a("4294967295")), Some(u32::MAX));
        for bad in ["-1", "4294967296", "", "x"] {
            assert_eq!(h_of(&a(bad)), None, "{bad}");
        }
        assert_eq!(h_of(&Element::new("a", ns::SM)), None);
    }
}
