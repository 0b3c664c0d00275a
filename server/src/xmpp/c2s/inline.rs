//! Features a client enables inline in Bind2 (XEP-0386 §2.2): each one
//! says what it advertises inside `<bind><inline>` and what it does when a
//! request for it arrives inside the client's `<bind>`, so that carbons,
//! client state indication or stream management plug in here rather than
//! into the connection code (issue 13).

mod carbons;
mod csi;

use std::sync::Arc;

use roost_xml::Element;

use crate::xmpp::handlers::XmppContext;
use crate::xmpp::router::SessionHandle;

/// A feature that Bind2 can enable in the same round trip as the login.
pub trait Bind2Feature: Send + Sync {
    /// The `var` advertised as `<feature var=…/>` in `<bind><inline>`.
    fn var(&self) -> &'static str;
    /// Whether `request`, a child of the client's `<bind>`, is for this
    /// feature.
    fn wants(&self, request: &Element) -> bool;
    /// Enables the feature on the freshly bound `session`; what it returns
    /// goes inside `<bound>`.
    fn enable(
        &self,
        ctx: &XmppContext,
        session: &Arc<SessionHandle>,
        request: &Element,
    ) -> Option<Element>;
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
    pub fn enable(
        &self,
        ctx: &XmppContext,
        session: &Arc<SessionHandle>,
        requests: &[Element],
    ) -> Vec<Element> {
        requests
            .iter()
            .filter_map(|request| {
                let feature = self.features.iter().find(|f| f.wants(request))?;
                feature.enable(ctx, session, request)
            })
            .collect()
    }
}
