//! The stream features a connection offers at each stage: STARTTLS, then
//! legacy SASL and SASL2 (with what SASL2 can do inline: Bind2 and, when
//! the username is known, FAST), then resource binding.

use roost_sasl::fast::FastMechanism;
use roost_xml::{Element, ns};

use super::super::feature_cache::FeatureSet;
use super::super::register;
use super::super::transport::Transport;
use super::Connection;

impl Connection {
    pub(super) fn write_features(&mut self) {
        let transport = self.transport.as_ref().expect("transport");
        let set = FeatureSet {
            authenticated: self.login.is_some(),
            bound: self.session.is_some(),
            tls: transport.is_tls(),
            channel_binding: transport.has_tls_exporter(),
            fast: self.fast_available(),
            stream_management: self.sm.is_enabled(),
        };
        let bytes = self.shared.features.get(set, || self.make_features(set));
        self.out.extend_from_slice(bytes);
    }

    fn make_features(&self, set: FeatureSet) -> Vec<u8> {
        let mut features = Element::new("features", ns::STREAMS);
        if set.authenticated {
            // After SASL2 with Bind2 the session is bound already and
            // there is nothing left to negotiate.
            if !set.bound {
                features.push_child(Element::new("bind", ns::BIND));
                features.push_child(
                    Element::new("session", ns::SESSION)
                        .with_child(Element::new("optional", ns::SESSION)),
                );
            }
            // What a bound session may send besides stanzas (client state
            // indication, …), announced once authenticated.
            for feature in self.shared.nonzas.stream_features(&set) {
                features.push_child(feature);
            }
        } else {
            self.unauthenticated_features(set, &mut features);
        }
        let mut bytes = Vec::new();
        features.write_to(&mut bytes, ns::STREAMS);
        bytes
    }

    fn unauthenticated_features(&self, set: FeatureSet, features: &mut Element) {
        let secure = set.tls;
        let require_tls = self.shared.xmpp.config.c2s.require_encryption;
        if !secure {
            let mut starttls = Element::new("starttls", ns::TLS);
            if require_tls {
                starttls.push_child(Element::new("required", ns::TLS));
            }
            features.push_child(starttls);
        }
        if !secure && require_tls {
            return;
        }
        let config = &self.shared.xmpp.config;
        let channel_binding = set.channel_binding;
        let offered = super::super::auth::offered(config, secure, channel_binding);
        // With client ids enforced, legacy SASL (which has none) is not
        // offered at all, rather than offered and then refused.
        if !config.auth.enforce_client_ids {
            let mut mechanisms = Element::new("mechanisms", ns::SASL);
            for mechanism in &offered {
                mechanisms
                    .push_child(Element::new("mechanism", ns::SASL).with_text(mechanism.name()));
            }
            features.push_child(mechanisms);
        }
        let mut authentication = Element::new("authentication", ns::SASL2);
        for mechanism in &offered {
            authentication
                .push_child(Element::new("mechanism", ns::SASL2).with_text(mechanism.name()));
        }
        let mut inline = Element::new("inline", ns::SASL2);
        inline.push_child(self.bind2_feature());
        // A returning client resumes its session inside <authenticate>.
        inline.push_child(Element::new("sm", ns::SM));
        if set.fast {
            let mut fast = Element::new("fast", ns::FAST);
            for mechanism in FastMechanism::offered(channel_binding) {
                fast.push_child(Element::new("mechanism", ns::FAST).with_text(mechanism.name()));
            }
            inline.push_child(fast);
        }
        authentication.push_child(inline);
        features.push_child(authentication);
        for feature in [
            register::FEATURE_IBR,
            register::FEATURE_INVITE,
            register::FEATURE_IBR_TOKEN,
        ] {
            features.push_child(Element::new("register", feature));
        }
    }

    /// `<bind xmlns='urn:xmpp:bind:0'>` with the features it can enable.
    fn bind2_feature(&self) -> Element {
        let mut bind = Element::new("bind", ns::BIND2);
        let mut vars = self.shared.bind2.vars().peekable();
        if vars.peek().is_some() {
            let mut inline = Element::new("inline", ns::BIND2);
            for var in vars {
                inline.push_child(Element::new("feature", ns::BIND2).with_attr("var", var));
            }
            bind.push_child(inline);
        }
        bind
    }

    /// FAST is offered only over TLS (an `-NONE` proof seen on the wire
    /// could be replayed) and, as Prosody does, only when the stream header
    /// named the user (`from`), the one case where the server knows whose
    /// tokens a login would use.
    pub(super) fn fast_available(&self) -> bool {
        self.names_user && self.transport.as_ref().is_some_and(Transport::is_tls)
    }
}
