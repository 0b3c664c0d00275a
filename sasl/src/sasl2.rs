//! SASL2 (XEP-0388) requests: the client's `<authenticate>` read into a
//! typed [`Authenticate`], with what rides inline in it (XEP-0386 Bind2's
//! `<bind>`, XEP-0484 FAST's `<request-token>` and `<fast>`).
//!
//! Only reading happens here; what to do with a request is the server's.
//! Every refusal is a [`SaslFailure`] to send in SASL2's `<failure>`.
//! Strings a client chooses (client id, software, device, tag) are bounded
//! here, so that nothing later stores or echoes more than a line.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use roost_xml::{Element, ns};

use super::SaslFailure;

/// Longest `<user-agent id>` accepted, in bytes.
pub const MAX_CLIENT_ID: usize = 128;
/// Longest `<software>`, `<device>` or Bind2 `<tag>` kept, in characters;
/// longer ones are cut.
pub const MAX_LABEL_CHARS: usize = 256;

/// `<user-agent>`: who is logging in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserAgent {
    /// The `id` attribute: stable per installation. `None` when missing
    /// or not usable (empty, too long, with control characters or spaces).
    pub id: Option<String>,
    pub software: Option<String>,
    pub device: Option<String>,
}

/// Bind2's `<bind>`: bind a resource in the same round trip.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BindRequest {
    /// `<tag>`: the client's name for itself, the resource's first part.
    pub tag: Option<String>,
    /// Every other child: requests for features inline in Bind2
    /// (carbons, CSI, stream management), for the server to match.
    pub inline: Vec<Element>,
}

/// Stream management's `<resume/>` inline (XEP-0198 with XEP-0388):
/// resume a session instead of binding one. Either attribute may be
/// missing or malformed; the server answers that with `<failed/>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResumeRequest {
    pub previd: Option<String>,
    /// The client's count of stanzas it handled, an unsigned 32-bit number.
    pub h: Option<u32>,
}

/// FAST's part of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FastRequest {
    /// `<request-token mechanism=…>`: the mechanism a new token is for.
    pub request_token: Option<String>,
    /// `<fast/>` is present: the login uses a token.
    pub uses_token: bool,
    /// `<fast invalidate='true'/>`: log in and then forget the token.
    pub invalidate: bool,
}

/// A client's `<authenticate xmlns='urn:xmpp:sasl:2'>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Authenticate {
    pub mechanism: String,
    /// `None` without `<initial-response>`; empty for an explicit empty one
    /// (`=`).
    pub initial_response: Option<Vec<u8>>,
    pub user_agent: Option<UserAgent>,
    pub bind: Option<BindRequest>,
    pub resume: Option<ResumeRequest>,
    pub fast: FastRequest,
}

impl Authenticate {
    /// The client id, if the client sent a usable one.
    pub fn client_id(&self) -> Option<&str> {
        self.user_agent.as_ref()?.id.as_deref()
    }

    /// Reads `<authenticate>`. A missing mechanism is `invalid-mechanism`,
    /// undecodable base64 `incorrect-encoding`.
    pub fn parse(el: &Element) -> Result<Authenticate, SaslFailure> {
        let mechanism = el
            .attr("mechanism")
            .filter(|m| !m.is_empty())
            .ok_or(SaslFailure::InvalidMechanism)?;
        let initial_response = el
            .child("initial-response", ns::SASL2)
            .map(|r| decode(&r.text()))
            .transpose()?;
        let user_agent = el.child("user-agent", ns::SASL2).map(|ua| UserAgent {
            id: ua
                .attr("id")
                .filter(|id| is_client_id(id))
                .map(str::to_owned),
            software: label(ua.child("software", ns::SASL2)),
            device: label(ua.child("device", ns::SASL2)),
        });
        let bind = el.child("bind", ns::BIND2).map(|bind| BindRequest {
            tag: label(bind.child("tag", ns::BIND2)),
            inline: bind
                .children()
                .filter(|c| !c.is("tag", ns::BIND2))
                .cloned()
                .collect(),
        });
        let resume = el.child("resume", ns::SM).map(|resume| ResumeRequest {
            previd: resume.attr("previd").map(str::to_owned),
            h: resume.attr("h").and_then(|h| h.parse().ok()),
        });
        let fast_element = el.child("fast", ns::FAST);
        let fast = FastRequest {
            request_token: el
                .child("request-token", ns::FAST)
                .and_then(|r| r.attr("mechanism"))
                .map(str::to_owned),
            uses_token: fast_element.is_some(),
            invalidate: fast_element
                .and_then(|f| f.attr("invalidate"))
                .is_some_and(|v| v == "true" || v == "1"),
        };
        Ok(Authenticate {
            mechanism: mechanism.to_owned(),
            initial_response,
            user_agent,
            bind,
            resume,
            fast,
        })
    }
}

/// SASL2 data: base64, where `=` is explicitly empty (XEP-0388 §2.3
/// follows RFC 6120 §6.4.2).
pub fn decode(text: &str) -> Result<Vec<u8>, SaslFailure> {
    match text.trim() {
        "=" | "" => Ok(Vec::new()),
        text => STANDARD
            .decode(text)
            .map_err(|_| SaslFailure::IncorrectEncoding),
    }
}

/// Whether `id` can name a client: printable, no spaces, not too long.
pub fn is_client_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CLIENT_ID
        && id.chars().all(|c| !c.is_control() && !c.is_whitespace())
}

/// An element's text, trimmed, cut to [`MAX_LABEL_CHARS`]; `None` when
/// absent or empty.
fn label(el: Option<&Element>) -> Option<String> {
    let text = el?.text();
    let text = text.trim();
    (!text.is_empty()).then(|| {
        text.chars()
            .filter(|c| !c.is_control())
            .take(MAX_LABEL_CHARS)
            .collect()
    })
}

#[cfg(test)]
mod tests;
