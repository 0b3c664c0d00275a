//! SASL2 (XEP-0388) on a connection: `<authenticate>` with the same
//! mechanisms as legacy SASL plus FAST (XEP-0484), challenges and
//! responses, and a `<success>` that carries what was done inline (a
//! Bind2 resource, a FAST token), followed at once by new stream features:
//! no stream restart, and with Bind2 no separate bind.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use roost_sasl::SaslFailure;
use roost_sasl::bind2;
use roost_sasl::fast::FastMechanism;
use roost_sasl::sasl2::{self, Authenticate};
use roost_xml::{Element, ns};

use super::super::auth::{self, SaslExchange, SaslStep};
use super::super::fast::{self, FastAttempt};
use super::super::inline::InlineContext;
use super::super::login::{Login, Started};
use super::super::transport::Transport;
use super::binding::{BindRefusal, Resource};
use super::resume::ResumeFailure;
use super::{Connection, Next, Stage};
use crate::services::ServiceError;
use crate::services::clients::{AuthMethod, ClientId, UserAgent};
use crate::services::fast_tokens::IssuedToken;
use crate::services::secrets;
use crate::xmpp::stanza::StanzaError;

/// What a token login brought, besides the request.
struct TokenLogin {
    mechanism: FastMechanism,
    client_id: Option<ClientId>,
    initial: Option<Vec<u8>>,
    channel_binding: Option<Vec<u8>>,
    started: Started,
}

/// A SASL2 exchange waiting for the client's `<response>`.
pub(super) struct Sasl2Pending {
    exchange: SaslExchange,
    request: Authenticate,
    started: Started,
}

impl Connection {
    pub(super) async fn sasl2(&mut self, el: Element) -> Next {
        match el.name() {
            "authenticate" => self.sasl2_authenticate(el).await,
            "response" => self.sasl2_response(el).await,
            "abort" => {
                self.sasl2 = None;
                self.sasl2_failure(SaslFailure::Aborted, None);
                Next::Continue
            }
            _ => {
                self.stream_error("not-authorized", None);
                Next::Close
            }
        }
    }

    fn sasl2_failure(&mut self, failure: SaslFailure, text: Option<&str>) {
        self.write_sasl_failure(true, failure.condition(), text);
    }

    async fn sasl2_authenticate(&mut self, el: Element) -> Next {
        // A new `<authenticate>` abandons any exchange in progress.
        self.sasl = None;
        self.sasl2 = None;
        let started = Started::now();
        let mut request = match Authenticate::parse(&el) {
            Ok(request) => request,
            Err(failure) => {
                self.sasl2_failure(failure, None);
                return Next::Continue;
            }
        };
        let client_id = request.client_id().and_then(ClientId::parse);
        if self.shared.xmpp.config.auth.enforce_client_ids && client_id.is_none() {
            self.sasl2_failure(
                SaslFailure::MalformedRequest,
                Some("Client identifier required but not supplied"),
            );
            return Next::Continue;
        }
        let transport = self.transport.as_ref().expect("transport");
        let initial = request.initial_response.take();
        if let Some(mechanism) = FastMechanism::from_name(&request.mechanism) {
            // Exported only for the mechanism that binds to it.
            let channel_binding = mechanism
                .binds_channel()
                .then(|| transport.tls_exporter())
                .flatten();
            let token_login = TokenLogin {
                mechanism,
                client_id,
                initial,
                channel_binding,
                started,
            };
            return self.sasl2_fast(request, token_login).await;
        }
        let client = auth::Client {
            host: &self.host,
            ip: self.peer.ip(),
        };
        let (exchange, step) =
            SaslExchange::start(&self.shared, client, &request.mechanism, initial, transport).await;
        self.sasl2_answer(request, exchange, step, started).await
    }

    /// A FAST login (XEP-0484): only where FAST was offered, with the
    /// client's id and `<fast/>`, and `-EXPR` only with channel binding.
    async fn sasl2_fast(&mut self, request: Authenticate, login: TokenLogin) -> Next {
        let TokenLogin {
            mechanism,
            client_id,
            initial,
            channel_binding,
            started,
        } = login;
        let usable = self.fast_available() && request.fast.uses_token;
        let Some(client_id) = client_id.filter(|_| usable) else {
            self.sasl2_failure(
                SaslFailure::MalformedRequest,
                Some("FAST is not available on this stream"),
            );
            return Next::Continue;
        };
        let binding = match (mechanism.binds_channel(), &channel_binding) {
            (false, _) => &[][..],
            (true, Some(data)) => data.as_slice(),
            (true, None) => {
                self.sasl2_failure(SaslFailure::InvalidMechanism, None);
                return Next::Continue;
            }
        };
        let Some(message) = initial else {
            self.sasl2_failure(
                SaslFailure::MalformedRequest,
                Some("FAST needs an initial response"),
            );
            return Next::Continue;
        };
        let sent = FastAttempt {
            mechanism,
            client_id: &client_id,
            message: &message,
            channel_binding: binding,
            invalidate: request.fast.invalidate,
            requested: requested_token(&request),
        };
        let client = auth::Client {
            host: &self.host,
            ip: self.peer.ip(),
        };
        let outcome = fast::login(&self.shared, client, sent).await;
        match outcome {
            Ok(done) => {
                let login = Login {
                    user: done.user,
                    method: AuthMethod::Fast,
                    mechanism: mechanism.name(),
                    client: Some(client_id),
                    agent: user_agent(&request),
                    at: started.at,
                    at_unix_ms: started.at_unix_ms,
                };
                let token = Issued::Already(done.token);
                self.sasl2_success(request, login, Some(done.responder), token)
                    .await
            }
            Err(step) => self.sasl2_answer(request, None, step, started).await,
        }
    }

    async fn sasl2_response(&mut self, el: Element) -> Next {
        let Some(pending) = self.sasl2.take() else {
            self.sasl2_failure(
                SaslFailure::MalformedRequest,
                Some("no authentication in progress"),
            );
            return Next::Continue;
        };
        let data = match sasl2::decode(&el.text()) {
            Ok(data) => data,
            Err(failure) => {
                self.sasl2_failure(failure, None);
                return Next::Continue;
            }
        };
        let client = auth::Client {
            host: &self.host,
            ip: self.peer.ip(),
        };
        let (exchange, step) = pending.exchange.step(&self.shared, client, data).await;
        self.sasl2_answer(pending.request, exchange, step, pending.started)
            .await
    }

    /// Answers one step of a password mechanism.
    async fn sasl2_answer(
        &mut self,
        request: Authenticate,
        exchange: Option<SaslExchange>,
        step: SaslStep,
        started: Started,
    ) -> Next {
        match step {
            SaslStep::Challenge(data) => {
                Element::new("challenge", ns::SASL2)
                    .with_text(BASE64.encode(data))
                    .write_to(&mut self.out, ns::STREAMS);
                self.sasl2 = exchange.map(|exchange| Sasl2Pending {
                    exchange,
                    request,
                    started,
                });
                Next::Continue
            }
            SaslStep::Success {
                user,
                mechanism,
                additional,
            } => {
                let login = Login {
                    user,
                    method: AuthMethod::Password,
                    mechanism: mechanism.name(),
                    client: request.client_id().and_then(ClientId::parse),
                    agent: user_agent(&request),
                    at: started.at,
                    at_unix_ms: started.at_unix_ms,
                };
                self.sasl2_success(request, login, additional, Issued::OnRequest)
                    .await
            }
            SaslStep::Failure(condition, text) => {
                self.write_sasl_failure(true, condition, text.as_deref());
                Next::Continue
            }
            SaslStep::Refused(text) => {
                self.sasl2_failure(SaslFailure::TemporaryAuthFailure, Some(&text));
                Next::Continue
            }
        }
    }

    /// Authenticated: binds inline if asked (Bind2), adds the FAST token
    /// (`token`), and answers `<success>` and the new stream features.
    async fn sasl2_success(
        &mut self,
        request: Authenticate,
        login: Login,
        additional: Option<Vec<u8>>,
        token: Issued,
    ) -> Next {
        let user = login.user.clone();
        let client_id = login.client.clone();
        self.authenticated(login);
        let mut authorization_identifier = user.to_string();
        let mut inline = Vec::new();
        // Resuming comes first; a client whose session is gone is bound
        // anew in the same round trip if it asked for that too.
        let mut resumed = false;
        if let Some(resume) = &request.resume {
            match self.take_over(resume.previd.as_deref(), resume.h).await {
                Ok(element) => {
                    let session = self.session.as_ref().expect("resumed");
                    authorization_identifier = session.jid.to_string();
                    inline.push(element);
                    resumed = true;
                }
                Err(ResumeFailure::Failed(failed)) => inline.push(failed),
                Err(ResumeFailure::TooHigh(too_high)) => {
                    self.stream_error_with("undefined-condition", too_high.to_element());
                    return Next::Close;
                }
            }
        }
        if let Some(bind) = request.bind.as_ref().filter(|_| !resumed) {
            let suffix = match &client_id {
                Some(id) => bind2::suffix_for_client(id.as_str()),
                None => secrets::random_id(secrets::SHORT_ID_BYTES),
            };
            let resource = bind2::resource(bind.tag.as_deref(), &suffix);
            // A tag that resourceprep refuses leaves the suffix alone.
            let jid = user
                .with_resource_str(&resource)
                .or_else(|_| user.with_resource_str(&suffix))
                .expect("a base64 suffix is a valid resource");
            // Without a client id the suffix is random: nothing ties the
            // resource to the client.
            let resource = match &client_id {
                Some(_) => Resource::Chosen,
                None => Resource::Generated(suffix.clone()),
            };
            match self.bind_session(jid.clone(), resource).await {
                Ok(()) => {
                    authorization_identifier = jid.to_string();
                    let session = self.session.clone().expect("bound");
                    let mut bound = Element::new("bound", ns::BIND2);
                    let mut cx = InlineContext {
                        shared: &self.shared,
                        session: &session,
                        sm: &mut self.sm,
                    };
                    for result in self.shared.bind2.enable(&mut cx, &bind.inline) {
                        bound.push_child(result);
                    }
                    inline.push(bound);
                }
                Err(BindRefusal::TooManySessions(error) | BindRefusal::Internal(error)) => {
                    inline.push(bind2_failed(&error));
                }
                Err(BindRefusal::Ended(reason)) => {
                    let (condition, text) = reason.stream_error();
                    self.stream_error(condition, Some(text));
                    return Next::Close;
                }
            }
        }
        let token = match token {
            Issued::Already(token) => token,
            Issued::OnRequest => self.fast_token(&request, client_id.as_ref()).await,
        };
        if let Some(token) = token {
            inline.push(
                Element::new("token", ns::FAST)
                    .with_attr("expiry", roost_common::time::xep0082(token.expires_at))
                    .with_attr("token", token.token),
            );
        }
        let mut success = Element::new("success", ns::SASL2);
        if let Some(data) = additional {
            success.push_child(
                Element::new("additional-data", ns::SASL2).with_text(BASE64.encode(data)),
            );
        }
        success.push_child(
            Element::new("authorization-identifier", ns::SASL2).with_text(authorization_identifier),
        );
        for element in inline {
            success.push_child(element);
        }
        success.write_to(&mut self.out, ns::STREAMS);
        if self.session.is_none() {
            self.stage = Stage::Authenticated;
        }
        self.write_features();
        if resumed {
            self.write_again();
        }
        Next::Continue
    }

    /// A new FAST token after a password login, when the client asked for
    /// one; only for a client with an id, over TLS.
    async fn fast_token(
        &self,
        request: &Authenticate,
        client_id: Option<&ClientId>,
    ) -> Option<IssuedToken> {
        let mechanism = requested_token(request)?;
        let Some(client_id) = client_id else {
            tracing::debug!("{}: FAST token asked for without a client id", self.peer);
            return None;
        };
        if !self.transport.as_ref().is_some_and(Transport::is_tls) {
            return None;
        }
        let login = self.login.as_ref().expect("authenticated");
        let issued = self
            .shared
            .xmpp
            .services
            .fast_tokens
            .issue(&login.user, client_id, mechanism, login.at_unix_ms)
            .await;
        // Without a token the login stands: the client keeps its old one
        // or asks again next time.
        match issued {
            Ok(token) => Some(token),
            Err(e @ ServiceError::Forbidden(_)) => {
                tracing::info!("{}: no FAST token issued: {e}", login.user);
                None
            }
            Err(e) => {
                tracing::error!("{}: issuing a FAST token failed: {e}", login.user);
                None
            }
        }
    }
}

/// Where the FAST token in a `<success>` comes from.
enum Issued {
    /// A FAST login issued it (or none) with the login itself.
    Already(Option<IssuedToken>),
    /// Issued after a password login if the client asked.
    OnRequest,
}

/// The mechanism of `<request-token>`, if it names one we implement.
fn requested_token(request: &Authenticate) -> Option<FastMechanism> {
    request
        .fast
        .request_token
        .as_deref()
        .and_then(FastMechanism::from_name)
}

/// `<failed xmlns='urn:xmpp:bind:0'>` with the stanza error that says why.
fn bind2_failed(error: &StanzaError) -> Element {
    Element::new("failed", ns::BIND2).with_child(error.to_element())
}

fn user_agent(request: &Authenticate) -> UserAgent {
    request
        .user_agent
        .as_ref()
        .map(|ua| UserAgent {
            software: ua.software.clone(),
            device: ua.device.clone(),
        })
        .unwrap_or_default()
}
