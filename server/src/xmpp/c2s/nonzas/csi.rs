//! Client state indication (XEP-0352, `urn:xmpp:csi:0`): a phone says
//! `<inactive/>` when its screen goes off and `<active/>` when it comes
//! back; while inactive its session holds back what can wait (see
//! [`SessionHandle::send_deferrable`](crate::xmpp::router::SessionHandle::send_deferrable)), so the radio can sleep.

use roost_xml::{Element, ns};

use super::{Nonza, NonzaContext, NonzaOutcome};
use crate::xmpp::c2s::feature_cache::FeatureSet;

/// `<active/>` and `<inactive/>`, announced as `<csi/>`.
pub struct ClientState;

impl Nonza for ClientState {
    fn wants(&self, element: &Element) -> bool {
        element.ns() == ns::CSI && matches!(element.name(), "active" | "inactive")
    }

    fn handle(&self, cx: &mut NonzaContext<'_>, element: &Element) -> NonzaOutcome {
        cx.session.set_client_active(element.name() == "active");
        NonzaOutcome::Continue
    }

    fn stream_feature(&self, _set: &FeatureSet) -> Option<Element> {
        Some(Element::new("csi", ns::CSI))
    }
}
