//! Legacy SASL (RFC 6120 §6) on a connection, beside STARTTLS and in-band
//! registration before authentication; SASL2 elements are handed to
//! `sasl2.rs`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use roost_sasl::SaslFailure;
use roost_xml::{Element, Limits, ns};

use super::super::auth::{self, SaslExchange, SaslStep};
use super::super::login::{Login, Started};
use super::super::register;
use super::super::transport::Transport;
use super::{Connection, Next, Stage};
use crate::services::clients::{AuthMethod, UserAgent};

impl Connection {
    /// Before authentication: STARTTLS, SASL and in-band registration only.
    pub(super) async fn negotiate(&mut self, el: Element) -> Next {
        let secure = self.transport.as_ref().is_some_and(Transport::is_tls);
        if el.is("starttls", ns::TLS) && !secure {
            self.out
                .extend_from_slice(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
            return Next::StartTls;
        }
        if register::is_registration_iq(&el) {
            if let Some(reply) = self
                .registration
                .handle(&self.shared, &self.host, self.peer.ip(), secure, &el)
                .await
            {
                self.write_element(&reply);
            }
            return Next::Continue;
        }
        let sasl2 = el.ns() == ns::SASL2;
        if el.ns() != ns::SASL && !sasl2 {
            self.stream_error("not-authorized", None);
            return Next::Close;
        }
        if !secure && self.shared.xmpp.config.c2s.require_encryption {
            let failure = SaslFailure::EncryptionRequired;
            self.write_sasl_failure(sasl2, failure.condition(), Some("use STARTTLS first"));
            return Next::Continue;
        }
        if sasl2 {
            return self.sasl2(el).await;
        }
        if self.shared.xmpp.config.auth.enforce_client_ids {
            // Prosody answers in SASL2's namespace here; a legacy client
            // understands only its own.
            self.sasl_failure(
                "invalid-mechanism",
                Some("Legacy SASL authentication is not available on this server"),
            );
            return Next::Continue;
        }
        let step = match el.name() {
            "auth" => {
                self.sasl_started = Started::now();
                let Some(mechanism) = el.attr("mechanism") else {
                    self.sasl_failure("invalid-mechanism", None);
                    return Next::Continue;
                };
                let initial = match decode_sasl(&el.text()) {
                    Ok(data) => data,
                    Err(()) => {
                        self.sasl_failure("incorrect-encoding", None);
                        return Next::Continue;
                    }
                };
                let transport = self.transport.as_ref().expect("transport");
                let client = auth::Client {
                    host: &self.host,
                    ip: self.peer.ip(),
                };
                let (exchange, step) =
                    SaslExchange::start(&self.shared, client, mechanism, initial, transport).await;
                self.sasl = exchange;
                step
            }
            "response" => {
                let Some(exchange) = self.sasl.take() else {
                    self.sasl_failure("malformed-request", Some("no authentication in progress"));
                    return Next::Continue;
                };
                match decode_sasl(&el.text()) {
                    Ok(data) => {
                        let client = auth::Client {
                            host: &self.host,
                            ip: self.peer.ip(),
                        };
                        let (exchange, step) = exchange
                            .step(&self.shared, client, data.unwrap_or_default())
                            .await;
                        self.sasl = exchange;
                        step
                    }
                    Err(()) => SaslStep::Failure("incorrect-encoding", None),
                }
            }
            "abort" => SaslStep::Failure("aborted", None),
            _ => {
                self.stream_error("not-authorized", None);
                return Next::Close;
            }
        };
        match step {
            SaslStep::Challenge(data) => {
                let challenge = Element::new("challenge", ns::SASL).with_text(BASE64.encode(data));
                challenge.write_to(&mut self.out, ns::STREAMS);
                Next::Continue
            }
            SaslStep::Success {
                user,
                mechanism,
                additional,
            } => {
                self.sasl = None;
                let mut success = Element::new("success", ns::SASL);
                if let Some(data) = additional {
                    success.push_text(BASE64.encode(data));
                }
                success.write_to(&mut self.out, ns::STREAMS);
                self.authenticated(Login {
                    user,
                    method: AuthMethod::Password,
                    mechanism: mechanism.name(),
                    client: None,
                    agent: UserAgent::default(),
                    at: self.sasl_started.at,
                    at_unix_ms: self.sasl_started.at_unix_ms,
                });
                self.parser.reset();
                self.stage = Stage::Header;
                Next::Continue
            }
            SaslStep::Failure(condition, text) => {
                self.sasl = None;
                self.sasl_failure(condition, text.as_deref());
                Next::Continue
            }
            SaslStep::Refused(text) => {
                self.sasl = None;
                self.sasl_failure(SaslFailure::TemporaryAuthFailure.condition(), Some(&text));
                Next::Continue
            }
        }
    }

    fn sasl_failure(&mut self, condition: &str, text: Option<&str>) {
        self.write_sasl_failure(false, condition, text);
    }

    /// `<failure>` of legacy SASL, or of SASL2 (XEP-0388 §2.6: the same
    /// condition elements, in the SASL namespace, and a text in SASL2's).
    pub(super) fn write_sasl_failure(&mut self, sasl2: bool, condition: &str, text: Option<&str>) {
        let outer = if sasl2 { ns::SASL2 } else { ns::SASL };
        let mut failure = Element::new("failure", outer);
        failure.push_child(Element::new(condition, ns::SASL));
        if let Some(text) = text {
            failure.push_child(
                Element::new("text", outer)
                    .with_attr("xml:lang", "en")
                    .with_text(text),
            );
        }
        failure.write_to(&mut self.out, ns::STREAMS);
    }

    /// Authentication succeeded: authenticated stanzas may be larger, and
    /// the connection no longer counts as unauthenticated.
    pub(super) fn authenticated(&mut self, login: Login) {
        self.login = Some(login);
        self.admission = None;
        self.parser.set_limits(Limits {
            max_stanza_bytes: self.shared.xmpp.config.c2s.max_stanza_size,
            ..Limits::default()
        });
    }
}

/// SASL data: empty, `=` (explicitly empty), or base64.
fn decode_sasl(text: &str) -> Result<Option<Vec<u8>>, ()> {
    let text = text.trim();
    match text {
        "" => Ok(None),
        "=" => Ok(Some(Vec::new())),
        _ => BASE64.decode(text).map(Some).map_err(|_| ()),
    }
}
