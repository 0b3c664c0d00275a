//! Client state indication set inside Bind2 (XEP-0352 with XEP-0386): a
//! phone that logs in with its screen off says `<inactive/>` in its
//! `<bind>` and is held back from its first stanza on.

use roost_xml::{Element, ns};

use super::{Bind2Feature, InlineContext};

/// `<active/>` or `<inactive/>` inside `<bind>`.
pub struct ClientState;

impl Bind2Feature for ClientState {
    fn var(&self) -> &'static str {
        ns::CSI
    }

    fn wants(&self, request: &Element) -> bool {
        request.ns() == ns::CSI && matches!(request.name(), "active" | "inactive")
    }

    fn enable(&self, cx: &mut InlineContext<'_>, request: &Element) -> Option<Element> {
        cx.session.set_client_active(request.name() == "active");
        None
    }
}
