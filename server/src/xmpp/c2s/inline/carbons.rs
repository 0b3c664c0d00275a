//! Message carbons enabled inside Bind2 (XEP-0280 §4.2 with XEP-0386):
//! `<enable xmlns='urn:xmpp:carbons:2'/>` in the client's `<bind>`, so a
//! phone gets its account's other chats from its first stanza on.

use roost_xml::{Element, ns};

use super::{Bind2Feature, InlineContext};

/// `<enable xmlns='urn:xmpp:carbons:2'/>` inside `<bind>`.
pub struct Carbons;

impl Bind2Feature for Carbons {
    fn var(&self) -> &'static str {
        ns::CARBONS
    }

    fn wants(&self, request: &Element) -> bool {
        request.is("enable", ns::CARBONS)
    }

    fn enable(&self, cx: &mut InlineContext<'_>, _request: &Element) -> Option<Element> {
        cx.session.set_carbons(true);
        // Nothing to say inside <bound>: carbons are on.
        None
    }
}
