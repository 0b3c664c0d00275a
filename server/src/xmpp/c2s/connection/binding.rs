//! Resource binding: the legacy iq (RFC 6120 §7) and the step Bind2 shares
//! with it, which records the client (client management) and registers
//! the session with the router.

use jid::{BareJid, FullJid};
use roost_xml::{Element, ns};

use super::{Connection, Next, Stage};
use crate::services::ServiceError;
use crate::services::clients::{ClientId, ClientLogin};
use crate::services::secrets;
use crate::services::sessions::Connected;
use crate::xmpp::handlers::presence;
use crate::xmpp::router::{BindError, CloseReason, SessionLogin};
use crate::xmpp::stanza::{self, ErrorType, StanzaError};

/// Why a session could not be bound.
pub(super) enum BindRefusal {
    /// The account has `max_sessions_per_account` resources: an answer,
    /// not the end of the stream.
    TooManySessions(StanzaError),
    /// The login no longer counts (the account was deleted, the client
    /// revoked, the password changed): the stream ends with this.
    Ended(CloseReason),
    /// Storage failed; the client may try again.
    Internal(StanzaError),
}

impl Connection {
    /// After authentication: resource binding (RFC 6120 §7).
    pub(super) async fn bind(&mut self, el: Element) -> Next {
        if el.ns() == ns::SM {
            // Resuming replaces binding; anything else of stream
            // management needs a bound resource first.
            if el.name() == "resume" {
                return self.resume(&el).await;
            }
            crate::xmpp::c2s::stream_management::failed("unexpected-request")
                .write_to(&mut self.out, ns::CLIENT);
            return Next::Continue;
        }
        let is_set = el.is("iq", ns::CLIENT) && el.attr("type") == Some("set");
        let Some(request) = el.child("bind", ns::BIND).filter(|_| is_set) else {
            if el.is("iq", ns::CLIENT) && el.child("session", ns::SESSION).is_some() {
                self.write_element(&stanza::iq_result(&el, None));
                return Next::Continue;
            }
            self.stream_error("not-authorized", Some("bind a resource first"));
            return Next::Close;
        };
        let user = self.login.as_ref().expect("authenticated").user.clone();
        let wanted = request
            .child("resource", ns::BIND)
            .map(|r| r.text())
            .filter(|r| !r.trim().is_empty());
        let (jid, resource) = match wanted {
            Some(resource) => match user.with_resource_str(&resource) {
                Ok(jid) => (jid, Resource::Chosen),
                Err(_) => {
                    self.reply_error(
                        &el,
                        StanzaError::bad_request().with_text("invalid resource"),
                    );
                    return Next::Continue;
                }
            },
            None => {
                let jid = generated_resource(&user);
                let id = jid.resource().to_string();
                (jid, Resource::Generated(id))
            }
        };
        match self.bind_session(jid.clone(), resource).await {
            Ok(()) => {}
            Err(BindRefusal::TooManySessions(error) | BindRefusal::Internal(error)) => {
                self.reply_error(&el, error);
                return Next::Continue;
            }
            Err(BindRefusal::Ended(reason)) => {
                let (condition, text) = reason.stream_error();
                self.stream_error(condition, Some(text));
                return Next::Close;
            }
        }
        let payload = Element::new("bind", ns::BIND)
            .with_child(Element::new("jid", ns::BIND).with_text(jid.to_string()));
        let mut reply = stanza::iq_result(&el, Some(payload));
        reply.remove_attr("from");
        reply.remove_attr("to");
        self.write_element(&reply);
        Next::Continue
    }

    /// Binds `jid` to this connection: the client is recorded (a legacy
    /// client by its full JID), then the router takes the session. A
    /// legacy client on a resource the server chose is not recorded: it
    /// could never be recognised again, so it is known by its resource
    /// while connected (`services::clients` lists it from the session).
    pub(super) async fn bind_session(
        &mut self,
        jid: FullJid,
        resource: Resource,
    ) -> Result<(), BindRefusal> {
        let login = self.login.as_ref().expect("authenticated");
        // Checked before the client is recorded too, so that a login cut
        // off meanwhile does not mark its client as knowing the password.
        let router = &self.shared.xmpp.router;
        if let Some(reason) = router.cut_off(&login.user, login.client.as_ref(), login.at) {
            return Err(BindRefusal::Ended(reason));
        }
        let ephemeral = match (&login.client, resource) {
            (None, Resource::Generated(id)) => ClientId::parse(&id),
            _ => None,
        };
        let recorded = match ephemeral {
            Some(id) => Ok(id),
            None => self.record_client(&jid).await,
        };
        let client = match recorded {
            Ok(client) => client,
            // Deleted since it authenticated.
            Err(ServiceError::NotFound(_)) => {
                return Err(BindRefusal::Ended(CloseReason::AccountDeleted));
            }
            // The record is bookkeeping (client management lists it after
            // the session ends): when storage cannot write it (a full
            // disk), the login stands rather than locking every user out,
            // and the client is known by its session while connected.
            Err(ServiceError::Storage(e)) => {
                tracing::warn!("{jid}: the client could not be recorded, bound anyway: {e}");
                login.client.clone().unwrap_or_else(unrecorded_client)
            }
            Err(e) => {
                tracing::error!("{jid}: recording the client failed: {e}");
                return Err(BindRefusal::Internal(
                    StanzaError::new(ErrorType::Wait, "internal-server-error")
                        .with_text("could not record the client; try again"),
                ));
            }
        };
        let login = self.login.as_ref().expect("authenticated");
        let session_login = SessionLogin {
            client,
            method: login.method,
            since: crate::services::now(),
            connected: std::sync::Arc::new(self.connected()),
        };
        let bound = self
            .shared
            .xmpp
            .router
            .bind(jid.clone(), session_login, login.at);
        let (queue, replaced) = match bound {
            Ok(bound) => bound,
            Err(BindError::TooManySessions) => {
                let limit = self.shared.xmpp.config.c2s.max_sessions_per_account;
                // RFC 6120 §7.6.2.1: the account has reached its limit of
                // simultaneously connected resources.
                return Err(BindRefusal::TooManySessions(
                    StanzaError::new(ErrorType::Wait, "resource-constraint").with_text(format!(
                        "this account already has {limit} connected resources"
                    )),
                ));
            }
            Err(BindError::AccountDeleted) => {
                return Err(BindRefusal::Ended(CloseReason::AccountDeleted));
            }
            Err(BindError::AccessEnded(reason)) => return Err(BindRefusal::Ended(reason)),
        };
        let session = queue.handle();
        if let Some(old) = replaced {
            tracing::info!("{jid}: resource conflict, replacing the older session");
            presence::disconnected(&self.shared.xmpp, &old).await;
        }
        tracing::debug!("{}: bound {jid}", self.peer);
        self.session = Some(session);
        self.queue = Some(queue);
        self.stage = Stage::Bound;
        Ok(())
    }
    /// Where and how this connection's client connected and logged in.
    pub(super) fn connected(&self) -> Connected {
        let login = self.login.as_ref().expect("authenticated");
        Connected {
            peer: self.peer,
            tls: self.transport.as_ref().and_then(|t| t.tls_version()),
            mechanism: login.mechanism,
            agent: login.agent.clone(),
        }
    }

    /// Records the client of this login as bound to `jid`.
    async fn record_client(&self, jid: &FullJid) -> Result<ClientId, ServiceError> {
        let login = self.login.as_ref().expect("authenticated");
        self.shared
            .xmpp
            .services
            .clients
            .record(ClientLogin {
                user: &login.user,
                client: login.client.as_ref(),
                method: login.method,
                mechanism: login.mechanism,
                agent: &login.agent,
                jid,
            })
            .await
    }
}

/// Who picked the resource being bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Resource {
    /// The client asked for it (or Bind2 derived it from the client id).
    Chosen,
    /// The server made it up (a random part, which is the id its session
    /// is known by); nothing ties it to the client.
    Generated(String),
}

/// An id for a legacy client whose stored id could not be read or made:
/// it lasts as long as its session, as a generated resource's does.
fn unrecorded_client() -> ClientId {
    ClientId::parse(&secrets::random_id(secrets::SHORT_ID_BYTES))
        .expect("random ids are valid client ids")
}

fn generated_resource(user: &BareJid) -> FullJid {
    let resource = format!("roost-{}", secrets::random_id(secrets::SHORT_ID_BYTES));
    user.with_resource_str(&resource)
        .expect("generated resources are valid")
}
