//! Resource binding: the legacy iq (RFC 6120 §7) and the step Bind2 shares
//! with it, which records the client (client management) and registers
//! the session with the router.

use jid::{BareJid, FullJid};
use roost_xml::{Element, ns};

use super::{Connection, Next, Stage};
use crate::services::ServiceError;
use crate::services::clients::ClientLogin;
use crate::services::secrets;
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
        let jid = match wanted {
            Some(resource) => match user.with_resource_str(&resource) {
                Ok(jid) => jid,
                Err(_) => {
                    self.reply_error(
                        &el,
                        StanzaError::bad_request().with_text("invalid resource"),
                    );
                    return Next::Continue;
                }
            },
            None => generated_resource(&user),
        };
        match self.bind_session(jid.clone()).await {
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
    /// client by its full JID), then the router takes the session.
    pub(super) async fn bind_session(&mut self, jid: FullJid) -> Result<(), BindRefusal> {
        let login = self.login.as_ref().expect("authenticated");
        let recorded = self
            .shared
            .xmpp
            .services
            .clients
            .record(ClientLogin {
                user: &login.user,
                client: login.client.as_ref(),
                method: login.method,
                mechanism: login.mechanism,
                agent: &login.agent,
                jid: &jid,
            })
            .await;
        let client = match recorded {
            Ok(client) => client,
            // Deleted since it authenticated.
            Err(ServiceError::NotFound(_)) => {
                return Err(BindRefusal::Ended(CloseReason::AccountDeleted));
            }
            Err(e) => {
                tracing::error!("{jid}: recording the client failed: {e}");
                return Err(BindRefusal::Internal(
                    StanzaError::new(ErrorType::Wait, "internal-server-error")
                        .with_text("could not record the client; try again"),
                ));
            }
        };
        let session_login = SessionLogin {
            client,
            method: login.method,
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
}

fn generated_resource(user: &BareJid) -> FullJid {
    let resource = format!("roost-{}", secrets::random_id(secrets::SHORT_ID_BYTES));
    user.with_resource_str(&resource)
        .expect("generated resources are valid")
}
