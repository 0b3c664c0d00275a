//! Stream management's nonzas on a bound stream (XEP-0198): `<enable/>`,
//! `<r/>` (answered with the count of stanzas received) and `<a/>` (the
//! client's count of ours, which frees what it acknowledged). `<resume/>`
//! belongs before binding and is handled there.

use roost_xml::{Element, ns};

use super::{Nonza, NonzaContext, NonzaOutcome};
use crate::xmpp::c2s::feature_cache::FeatureSet;
use crate::xmpp::c2s::stream_management::{self as sm, HandledCountTooHigh};

/// `<enable/>`, `<r/>`, `<a/>`, announced as `<sm/>`.
pub struct StreamManagement;

impl Nonza for StreamManagement {
    fn wants(&self, element: &Element) -> bool {
        element.ns() == ns::SM
    }

    fn handle(&self, cx: &mut NonzaContext<'_>, element: &Element) -> NonzaOutcome {
        let answer = match element.name() {
            "enable" => sm::enable(cx.shared, cx.sm, element),
            "r" if cx.sm.is_enabled() => sm::answer(cx.sm.handled()),
            "a" if cx.sm.is_enabled() => {
                let Some(h) = sm::h_of(element) else {
                    write_stream_error(cx.out, "undefined-condition", None);
                    return NonzaOutcome::Close;
                };
                match cx.sm.acknowledge(h) {
                    Ok(()) => return NonzaOutcome::Continue,
                    Err(too_high) => {
                        write_stream_error(cx.out, "undefined-condition", Some(too_high));
                        return NonzaOutcome::Close;
                    }
                }
            }
            // An acknowledgement nobody asked for on a stream without
            // stream management: nothing to do.
            "a" => return NonzaOutcome::Continue,
            // `<r/>` before `<enable/>`, `<resume/>` after binding, and
            // anything unknown in the namespace.
            _ => sm::failed("unexpected-request"),
        };
        answer.write_to(cx.out, ns::CLIENT);
        NonzaOutcome::Continue
    }

    /// Offered until it is on: after Bind2 enabled it, or a resumption,
    /// a client seeing it again would try to enable it twice (xmpp.js does).
    fn stream_feature(&self, set: &FeatureSet) -> Option<Element> {
        (!set.stream_management).then(|| Element::new("sm", ns::SM))
    }
}

/// A stream error with stream management's own condition, if any
/// (XEP-0198 §4: `<handled-count-too-high/>`).
fn write_stream_error(out: &mut Vec<u8>, condition: &str, too_high: Option<HandledCountTooHigh>) {
    let mut error =
        Element::new("error", ns::STREAMS).with_child(Element::new(condition, ns::STREAM_ERRORS));
    match too_high {
        Some(too_high) => error.push_child(too_high.to_element()),
        None => error.push_child(
            Element::new("text", ns::STREAM_ERRORS)
                .with_attr("xml:lang", "en")
                .with_text("the h attribute is not an unsigned 32-bit count"),
        ),
    }
    error.write_to(out, ns::CLIENT);
    out.extend_from_slice(roost_xml::STREAM_END);
}
