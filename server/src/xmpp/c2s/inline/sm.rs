//! Stream management enabled inside Bind2 (XEP-0198 with XEP-0386):
//! `<enable xmlns='urn:xmpp:sm:3' resume='true'/>` in the client's
//! `<bind>`, answered by `<enabled/>` inside `<bound>`, so a phone is
//! counting (and resumable) from its first stanza on.

use roost_xml::{Element, ns};

use super::{Bind2Feature, InlineContext};
use crate::xmpp::c2s::stream_management;

/// `<enable xmlns='urn:xmpp:sm:3'/>` inside `<bind>`.
pub struct StreamManagement;

impl Bind2Feature for StreamManagement {
    fn var(&self) -> &'static str {
        ns::SM
    }

    fn wants(&self, request: &Element) -> bool {
        request.is("enable", ns::SM)
    }

    fn enable(&self, cx: &mut InlineContext<'_>, request: &Element) -> Option<Element> {
        Some(stream_management::enable(cx.shared, cx.sm, request))
    }
}
