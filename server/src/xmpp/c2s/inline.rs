//! Features a client enables inline in Bind2 (XEP-0386 §2.2): each one
//! says what it advertises inside `<bind><inline>` and what it does when a
//! request for it arrives inside the client's `<bind>`, so that carbons,
//! client state indication and stream management plug in here rather than
//! into the connection code (issue 13).

mod carbons;
mod csi;
mod sm;

use std::sync::Arc;

use roost_xml::Element;

use super::C2sShared;
use super::stream_management::StreamManagement;
use crate::xmpp::router::SessionHandle;

/// What an inline feature may act on: the freshly bound session and its
/// connection's state.
pub struct InlineContext<'a> {
    pub shared: &'a Arc<C2sShared>,
    pub session: &'a Arc<SessionHandle>,
    pub sm: &'a mut StreamManagement,
}

/// A feature that Bind2 can enable in the same round trip as the login.
pub trait Bind2Feature: Send + Sync {
    /// The `var` advertised as `<feature var=…/>` in `<bind><inline>`.
    fn var(&self) -> &'static str;
    /// Whether `request`, a child of the client's `<bind>`, is for this
    /// feature.
    fn wants(&self, request: &Element) -> bool;
    /// Enables the feature on the freshly bound `session`; what it returns
    /// goes inside `<bound>`.
    fn enable(&self, cx: &mut InlineContext<'_>, request: &Element) -> Option<Element>;
}

/// The Bind2 features a server offers.
#[derive(Default)]
pub struct Bind2Registry {
    features: Vec<Box<dyn Bind2Feature>>,
}

impl Bind2Registry {
    /// The features Roost enables inline.
    pub fn with_core_features() -> Bind2Registry {
        let mut registry = Bind2Registry::default();
        registry.register(Box::new(carbons::Carbons));
        registry.register(Box::new(csi::ClientState));
        registry.register(Box::new(sm::StreamManagement));
        registry
    }

    pub fn register(&mut self, feature: Box<dyn Bind2Feature>) {
        self.features.push(feature);
    }

    /// The `var`s to advertise, in registration order.
    pub fn vars(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.features.iter().map(|f| f.var())
    }

    /// Runs every request the client made inside `<bind>` that a feature
    /// wants; requests nobody wants are ignored (XEP-0386 §2.3: the
    /// server enables what it can). Returns the results for `<bound>`.
    pub fn enable(&self, cx: &mut InlineContext<'_>, requests: &[Element]) -> Vec<Element> {
        requests
            .iter()
            .filter_map(|request| {
                let feature = self.features.iter().find(|f| f.wants(request))?;
                feature.enable(cx, request)
            })
            .collect()
    }
}
