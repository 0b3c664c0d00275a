//! Stanza-level helpers shared by the handlers: kinds, addressing, and
//! stanza errors (RFC 6120 §8.3) built in one place.

use jid::Jid;

use roost_xml::{Element, ns};

/// RFC 6120 §8.3.2 error types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    Auth,
    Cancel,
    Modify,
    Wait,
}

impl ErrorType {
    fn as_str(self) -> &'static str {
        match self {
            ErrorType::Auth => "auth",
            ErrorType::Cancel => "cancel",
            ErrorType::Modify => "modify",
            ErrorType::Wait => "wait",
        }
    }
}

/// A stanza error to send back to the sender of a stanza.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StanzaError {
    pub kind: ErrorType,
    pub condition: &'static str,
    pub text: Option<String>,
}

impl StanzaError {
    pub fn new(kind: ErrorType, condition: &'static str) -> StanzaError {
        StanzaError {
            kind,
            condition,
            text: None,
        }
    }

    pub fn with_text(mut self, text: impl Into<String>) -> StanzaError {
        self.text = Some(text.into());
        self
    }

    pub fn bad_request() -> StanzaError {
        StanzaError::new(ErrorType::Modify, "bad-request")
    }

    pub fn service_unavailable() -> StanzaError {
        StanzaError::new(ErrorType::Cancel, "service-unavailable")
    }

    pub fn item_not_found() -> StanzaError {
        StanzaError::new(ErrorType::Cancel, "item-not-found")
    }

    pub fn not_allowed() -> StanzaError {
        StanzaError::new(ErrorType::Cancel, "not-allowed")
    }

    /// RFC 6120 §8.3.3.18: a per-account or per-session bound is reached
    /// for now; retrying later (once some is freed) may succeed.
    pub fn resource_constraint() -> StanzaError {
        StanzaError::new(ErrorType::Wait, "resource-constraint")
    }

    pub fn forbidden() -> StanzaError {
        StanzaError::new(ErrorType::Auth, "forbidden")
    }

    pub fn remote_server_not_found() -> StanzaError {
        StanzaError::new(ErrorType::Cancel, "remote-server-not-found")
    }

    pub fn internal_server_error() -> StanzaError {
        StanzaError::new(ErrorType::Wait, "internal-server-error")
    }

    pub fn jid_malformed() -> StanzaError {
        StanzaError::new(ErrorType::Modify, "jid-malformed")
    }

    pub fn to_element(&self) -> Element {
        let mut error = Element::new("error", ns::CLIENT).with_attr("type", self.kind.as_str());
        error.push_child(Element::new(self.condition, ns::STANZAS));
        if let Some(text) = &self.text {
            error.push_child(
                Element::new("text", ns::STANZAS)
                    .with_attr("xml:lang", "en")
                    .with_text(text.clone()),
            );
        }
        error
    }
}

impl From<crate::services::ServiceError> for StanzaError {
    /// The one place where service errors become stanza errors.
    fn from(e: crate::services::ServiceError) -> Self {
        use crate::services::ServiceError as E;
        match &e {
            E::Invalid(_) => StanzaError::bad_request().with_text(e.to_string()),
            E::UnknownHost(_) | E::NotFound(_) => StanzaError::item_not_found(),
            E::Conflict(_) => StanzaError::new(ErrorType::Cancel, "conflict"),
            E::Unauthenticated(_) | E::Forbidden(_) => StanzaError::forbidden(),
            E::Storage(inner) => storage_failed(inner),
        }
    }
}

/// A write the server could not store: nothing was done, and retrying
/// later may succeed (`wait`). A full disk is RFC 6120 §8.3.3.18's
/// `resource-constraint`; anything else an `internal-server-error`.
fn storage_failed(e: &crate::storage::StorageError) -> StanzaError {
    e.log_refusal("a stanza");
    match e {
        crate::storage::StorageError::Full => StanzaError::resource_constraint()
            .with_text("the server's storage is full; nothing was stored, try again later"),
        _ => StanzaError::internal_server_error().with_text(
            "the server cannot store data right now; nothing was stored, try again later",
        ),
    }
}

impl From<crate::services::rosters::RosterError> for StanzaError {
    /// A full roster refuses every new item with `not-allowed` (RFC 6120
    /// §8.3.3.10: no entity may do this, so retrying will not help).
    fn from(e: crate::services::rosters::RosterError) -> Self {
        use crate::services::rosters::RosterError as E;
        match e {
            E::Full(_) | E::Managed(_) => StanzaError::not_allowed().with_text(e.to_string()),
            E::Service(e) => e.into(),
        }
    }
}

/// Whether an element is one of the three stanza kinds in jabber:client.
pub fn is_stanza(el: &Element) -> bool {
    el.ns() == ns::CLIENT && matches!(el.name(), "message" | "presence" | "iq")
}

/// The `to` address, if present and valid. `Err` when present but malformed.
pub fn to_jid(el: &Element) -> Result<Option<Jid>, StanzaError> {
    match el.attr("to") {
        None => Ok(None),
        Some(to) => Jid::new(to)
            .map(Some)
            .map_err(|_| StanzaError::jid_malformed()),
    }
}

/// The error reply to `stanza`: addresses swapped, `type='error'`, the
/// original payload kept (RFC 6120 §8.3.1). `None` for stanzas that must
/// never be answered with an error (errors themselves).
pub fn error_reply(stanza: &Element, error: &StanzaError) -> Option<Element> {
    if stanza.attr("type") == Some("error") {
        return None;
    }
    let mut reply = Element::new(stanza.name(), ns::CLIENT);
    if let Some(id) = stanza.attr("id") {
        reply.set_attr("id", id);
    }
    if let Some(from) = stanza.attr("from") {
        reply.set_attr("to", from);
    }
    if let Some(to) = stanza.attr("to") {
        reply.set_attr("from", to);
    }
    reply.set_attr("type", "error");
    // Keep the payload of an iq (helps the client match it), not of bulky messages.
    if stanza.name() == "iq" {
        for child in stanza.children() {
            reply.push_child(child.clone());
        }
    }
    reply.push_child(error.to_element());
    Some(reply)
}

/// A `type='result'` answer to an iq, optionally with a payload.
pub fn iq_result(iq: &Element, payload: Option<Element>) -> Element {
    let mut reply = Element::new("iq", ns::CLIENT).with_attr("type", "result");
    if let Some(id) = iq.attr("id") {
        reply.set_attr("id", id);
    }
    if let Some(from) = iq.attr("from") {
        reply.set_attr("to", from);
    }
    if let Some(to) = iq.attr("to") {
        reply.set_attr("from", to);
    }
    if let Some(payload) = payload {
        reply.push_child(payload);
    }
    reply
}
