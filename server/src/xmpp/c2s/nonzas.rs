//! Top-level elements a bound session may send that are not stanzas
//! (RFC 6120 §8 allows only message, presence and iq; XEPs add their own
//! "nonzas"): each feature registers what it handles and the stream feature
//! that announces it, so the connection loop does not grow a case per XEP.
//! Client state indication is the first. A nonza here acts on the session
//! and answers nothing; stream management, which answers `<r/>` and keeps
//! counters per connection, will need more of this trait.

mod csi;

use std::sync::Arc;

use roost_xml::Element;

use crate::xmpp::router::SessionHandle;

/// One kind of nonza.
pub trait Nonza: Send + Sync {
    /// Whether `element` is for this handler.
    fn wants(&self, element: &Element) -> bool;
    /// Handles `element` from `session`; nothing is answered.
    fn handle(&self, session: &Arc<SessionHandle>, element: &Element);
    /// The feature announced to authenticated streams.
    fn stream_feature(&self) -> Element;
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

    /// The stream features of every registered nonza, in order.
    pub fn stream_features(&self) -> impl Iterator<Item = Element> + '_ {
        self.handlers.iter().map(|h| h.stream_feature())
    }
}
