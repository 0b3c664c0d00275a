//! Top-level elements a bound session may send that are not stanzas
//! (RFC 6120 §8 allows only message, presence and iq; XEPs add their own
//! "nonzas"): each feature registers what it handles and the stream feature
//! that announces it, so the connection loop does not grow a case per XEP.
//! Client state indication acts on the session; stream management answers
//! and counts per connection, so a nonza gets the connection's stream
//! management state and its output.

mod csi;
mod sm;

use std::sync::Arc;

use roost_xml::Element;

use super::C2sShared;
use super::feature_cache::FeatureSet;
use super::stream_management::StreamManagement;
use crate::xmpp::router::SessionHandle;

/// What a nonza may act on: the session and its connection's state.
pub struct NonzaContext<'a> {
    pub shared: &'a Arc<C2sShared>,
    pub session: &'a Arc<SessionHandle>,
    pub sm: &'a mut StreamManagement,
    /// The connection's output: answers are nonzas too, not stanzas.
    pub out: &'a mut Vec<u8>,
}

/// What the connection does after a nonza.
#[derive(Debug, PartialEq, Eq)]
pub enum NonzaOutcome {
    Continue,
    /// The nonza wrote a stream error: close the stream.
    Close,
}

/// One kind of nonza.
pub trait Nonza: Send + Sync {
    /// Whether `element` is for this handler.
    fn wants(&self, element: &Element) -> bool;
    /// Handles `element` from the session in `cx`.
    fn handle(&self, cx: &mut NonzaContext<'_>, element: &Element) -> NonzaOutcome;
    /// The feature announced to authenticated streams like `set`, if any.
    fn stream_feature(&self, set: &FeatureSet) -> Option<Element>;
}

/// The nonzas a bound session may send, looked up by each element.
#[derive(Default)]
pub struct NonzaRegistry {
    handlers: Vec<Box<dyn Nonza>>,
}

impl NonzaRegistry {
    /// The nonzas Roost understands.
    pub fn with_core_nonzas() -> NonzaRegistry {
        let mut registry = NonzaRegistry::default();
        registry.register(Box::new(csi::ClientState));
        registry.register(Box::new(sm::StreamManagement));
        registry
    }

    pub fn register(&mut self, handler: Box<dyn Nonza>) {
        self.handlers.push(handler);
    }

    pub fn find(&self, element: &Element) -> Option<&dyn Nonza> {
        self.handlers
            .iter()
            .find(|h| h.wants(element))
            .map(|h| h.as_ref())
    }

    /// The stream features of the registered nonzas for `set`, in order.
    pub fn stream_features<'a>(
        &'a self,
        set: &'a FeatureSet,
    ) -> impl Iterator<Item = Element> + 'a {
        self.handlers.iter().filter_map(|h| h.stream_feature(set))
    }
}
