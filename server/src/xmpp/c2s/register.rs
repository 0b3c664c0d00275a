//! In-band registration before authentication: XEP-0077 with an invite
//! token presented first (`<preauth xmlns='urn:xmpp:pars:0'/>`, XEP-0401 /
//! XEP-0445), as Prosody's mod_invites_register and mod_register_ibr do.
//!
//! The stream remembers the token it was shown; registering takes one use
//! of it in the onboarding service, atomically. Unlike Prosody, the stream
//! forgets the token once an account is created, so a single-use token
//! cannot create a second account on the same stream.

use std::net::IpAddr;

use super::C2sShared;
use crate::metrics::InviteRedeemedBy;
use crate::services::audit::Actor;
use crate::services::onboarding::RegistrationError;
use crate::xmpp::stanza::{ErrorType, StanzaError};
use roost_xml::{Element, ns};

pub const REGISTER: &str = "jabber:iq:register";
pub const PREAUTH: &str = "urn:xmpp:pars:0";
const DATA_FORMS: &str = "jabber:x:data";
/// Stream features: XEP-0077, XEP-0401 (0.3) and XEP-0445.
pub const FEATURE_IBR: &str = "http://jabber.org/features/iq-register";
pub const FEATURE_INVITE: &str = "urn:xmpp:invite";
pub const FEATURE_IBR_TOKEN: &str = "urn:xmpp:ibr-token:0";

const TITLE: &str = "Creating a new account";
const INSTRUCTIONS: &str = "Choose a username and password for use with this service.";

/// Whether `el` is an iq this module answers on an unauthenticated stream.
pub fn is_registration_iq(el: &Element) -> bool {
    el.is("iq", ns::CLIENT)
        && el
            .children()
            .any(|c| c.is("preauth", PREAUTH) || c.is("query", REGISTER))
}

/// Registration state of one unauthenticated stream.
#[derive(Debug, Default)]
pub struct StreamRegistration {
    /// The invite token this stream presented and that was valid then.
    token: Option<String>,
}

impl StreamRegistration {
    /// Answers a registration iq (`None` for a result or error, which are
    /// never answered). `secure`: the stream is encrypted; `peer`: the
    /// client's address, which open registration is limited by.
    pub async fn handle(
        &mut self,
        shared: &C2sShared,
        host: &str,
        peer: IpAddr,
        secure: bool,
        iq: &Element,
    ) -> Option<Element> {
        if matches!(iq.attr("type"), Some("result" | "error")) {
            return None;
        }
        Some(match self.answer(shared, host, peer, secure, iq).await {
            Ok(payload) => reply(iq, "result", payload),
            Err(error) => reply(iq, "error", Some(error.to_element())),
        })
    }

    async fn answer(
        &mut self,
        shared: &C2sShared,
        host: &str,
        peer: IpAddr,
        secure: bool,
        iq: &Element,
    ) -> Result<Option<Element>, StanzaError> {
        if !secure && shared.xmpp.config.c2s.require_encryption {
            return Err(StanzaError::new(ErrorType::Modify, "policy-violation")
                .with_text("Encryption is required"));
        }
        let onboarding = &shared.xmpp.services.onboarding;
        if let Some(preauth) = iq.child("preauth", PREAUTH) {
            // Prosody accepts both get and set here; so do we.
            let token = preauth.attr("token").unwrap_or_default();
            return match onboarding.registration_invite(token).await {
                Ok(invite) if invite.host == host => {
                    self.token = Some(token.to_owned());
                    Ok(None)
                }
                Ok(_) | Err(RegistrationError::InviteInvalid) => Err(invalid_token()),
                Err(e) => Err(error_for(e)),
            };
        }
        let query = iq.child("query", REGISTER).expect("caller checked");
        match iq.attr("type") {
            Some("get") => Ok(Some(form())),
            Some("set") if query.child("remove", REGISTER).is_some() => {
                Err(StanzaError::new(ErrorType::Auth, "registration-required"))
            }
            Some("set") => {
                let (username, password) = submitted(query)?;
                let actor = Actor::Connection { address: peer };
                let registered = match &self.token {
                    Some(token) => {
                        onboarding
                            .register(&actor, host, token, &username, &password)
                            .await
                    }
                    None => {
                        onboarding
                            .register_open(&actor, host, peer, &username, &password)
                            .await
                    }
                };
                match registered {
                    Ok(jid) => {
                        tracing::info!("{jid}: registered in-band");
                        if self.token.take().is_some() {
                            shared
                                .xmpp
                                .services
                                .metrics
                                .invites
                                .redeemed(InviteRedeemedBy::XmppRegistration);
                        }
                        Ok(None)
                    }
                    Err(e) => Err(error_for(e)),
                }
            }
            _ => Err(StanzaError::bad_request()),
        }
    }
}

/// The XEP-0077 form: legacy fields and a data form, as Prosody sends them.
fn form() -> Element {
    let field = |var: &str, kind: &str, label: &str| {
        Element::new("field", DATA_FORMS)
            .with_attr("type", kind)
            .with_attr("var", var)
            .with_attr("label", label)
            .with_child(Element::new("required", DATA_FORMS))
    };
    Element::new("query", REGISTER)
        .with_child(Element::new("instructions", REGISTER).with_text(INSTRUCTIONS))
        .with_child(Element::new("username", REGISTER))
        .with_child(Element::new("password", REGISTER))
        .with_child(
            Element::new("x", DATA_FORMS)
                .with_attr("type", "form")
                .with_child(Element::new("title", DATA_FORMS).with_text(TITLE))
                .with_child(Element::new("instructions", DATA_FORMS).with_text(INSTRUCTIONS))
                .with_child(
                    Element::new("field", DATA_FORMS)
                        .with_attr("type", "hidden")
                        .with_attr("var", "FORM_TYPE")
                        .with_child(Element::new("value", DATA_FORMS).with_text(REGISTER)),
                )
                .with_child(field("username", "text-single", "Username"))
                .with_child(field("password", "text-private", "Password")),
        )
}

/// Username and password from legacy fields or a submitted data form.
fn submitted(query: &Element) -> Result<(String, String), StanzaError> {
    let from_form = |var: &str| {
        query
            .child("x", DATA_FORMS)?
            .children()
            .find(|f| f.is("field", DATA_FORMS) && f.attr("var") == Some(var))?
            .child("value", DATA_FORMS)
            .map(Element::text)
    };
    let value = |name: &str| {
        query
            .child(name, REGISTER)
            .map(Element::text)
            .or_else(|| from_form(name))
            .filter(|v| !v.is_empty())
    };
    let username = value("username");
    let password = value("password");
    let mut missing = Vec::new();
    if username.is_none() {
        missing.push("Username: Required value missing");
    }
    if password.is_none() {
        missing.push("Password: Required value missing");
    }
    match (username, password) {
        (Some(u), Some(p)) => Ok((u, p)),
        _ => {
            Err(StanzaError::new(ErrorType::Modify, "not-acceptable").with_text(missing.join("\n")))
        }
    }
}

fn invalid_token() -> StanzaError {
    StanzaError::new(ErrorType::Cancel, "forbidden")
        .with_text("The invite token is invalid or expired")
}

/// The XMPP error for a refused registration or password change, in
/// Prosody's words: the one mapping for both.
pub(crate) fn error_for(e: RegistrationError) -> StanzaError {
    let not_acceptable = StanzaError::new(ErrorType::Modify, "not-acceptable");
    match e {
        RegistrationError::InviteOnly => {
            not_acceptable.with_text("Registration on this server is through invitation only")
        }
        RegistrationError::InviteInvalid => invalid_token(),
        RegistrationError::UsernameInvalid => {
            not_acceptable.with_text("The requested username is invalid.")
        }
        RegistrationError::UsernameTaken => StanzaError::new(ErrorType::Cancel, "conflict")
            .with_text("The requested username already exists."),
        RegistrationError::WeakPassword(text) => not_acceptable.with_text(text),
        RegistrationError::TooManyRegistrations(_) => {
            StanzaError::new(ErrorType::Wait, "policy-violation")
                .with_text("Too many registrations from this IP address recently")
        }
        e @ RegistrationError::TooManyPasswordChanges(_) => {
            StanzaError::new(ErrorType::Wait, "resource-constraint").with_text(e.to_string())
        }
        RegistrationError::Service(e) => e.into(),
    }
}

/// An answer to `iq` without echoing its payload (which may hold a password).
fn reply(iq: &Element, kind: &str, child: Option<Element>) -> Element {
    let mut reply = Element::new("iq", ns::CLIENT).with_attr("type", kind);
    if let Some(id) = iq.attr("id") {
        reply.set_attr("id", id);
    }
    if let Some(child) = child {
        reply.push_child(child);
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(children: Vec<Element>) -> Element {
        let mut q = Element::new("query", REGISTER);
        for c in children {
            q.push_child(c);
        }
        q
    }

    #[test]
    fn legacy_fields_and_forms_are_read() {
        let legacy = query(vec![
            Element::new("username", REGISTER).with_text("alice"),
            Element::new("password", REGISTER).with_text("secret123"),
        ]);
        assert_eq!(
            submitted(&legacy).unwrap(),
            ("alice".into(), "secret123".into())
        );
        let field = |var: &str, value: &str| {
            Element::new("field", DATA_FORMS)
                .with_attr("var", var)
                .with_child(Element::new("value", DATA_FORMS).with_text(value))
        };
        let form = query(vec![
            Element::new("x", DATA_FORMS)
                .with_attr("type", "submit")
                .with_child(field("username", "bob"))
                .with_child(field("password", "pw-bob-123")),
        ]);
        assert_eq!(
            submitted(&form).unwrap(),
            ("bob".into(), "pw-bob-123".into())
        );
    }

    #[test]
    fn missing_fields_are_named() {
        let e = submitted(&query(vec![
            Element::new("username", REGISTER).with_text("alice"),
        ]))
        .unwrap_err();
        assert_eq!(e.condition, "not-acceptable");
        assert_eq!(e.text.as_deref(), Some("Password: Required value missing"));
        let e = submitted(&query(vec![])).unwrap_err();
        assert_eq!(
            e.text.as_deref(),
            Some("Username: Required value missing\nPassword: Required value missing")
        );
    }

    #[test]
    fn errors_use_prosodys_conditions() {
        assert_eq!(
            error_for(RegistrationError::UsernameTaken).condition,
            "conflict"
        );
        assert_eq!(
            error_for(RegistrationError::InviteInvalid).condition,
            "forbidden"
        );
        let e = error_for(RegistrationError::InviteOnly);
        assert_eq!((e.kind, e.condition), (ErrorType::Modify, "not-acceptable"));
        // mod_register_limits' answer to a throttled address.
        let e = error_for(RegistrationError::TooManyRegistrations(
            std::time::Duration::from_secs(60),
        ));
        assert_eq!((e.kind, e.condition), (ErrorType::Wait, "policy-violation"));
        assert_eq!(
            e.text.as_deref(),
            Some("Too many registrations from this IP address recently")
        );
    }

    #[test]
    fn replies_never_echo_the_request() {
        let iq = Element::new("iq", ns::CLIENT)
            .with_attr("id", "r1")
            .with_attr("type", "set")
            .with_child(query(vec![
                Element::new("password", REGISTER).with_text("secret"),
            ]));
        let bytes = reply(&iq, "error", Some(invalid_token().to_element())).to_bytes(ns::CLIENT);
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.contains("id=\"r1\"") || text.contains("id='r1'"),
            "{text}"
        );
        assert!(!text.contains("secret"), "{text}");
    }
}
