//! `xmpp:prosody.im/protocol/manage-clients` (Prosody's
//! mod_client_management): a user lists the clients with access to their
//! account and revokes one. The rules are the clients service's; this
//! module speaks the protocol, to one's own account only.
//!
//! Unlike Prosody, revoking a known client that has no access left
//! succeeds (Prosody crashes), and a revoke that closed connected sessions
//! still answers as the client's access says (Prosody may answer
//! `undefined-condition` then).

use roost_common::admin::ClientInfo;
use roost_common::time::xep0082;

use super::XmppContext;
use super::iq::{DetailedFuture, IqError, IqFuture, IqHandler, IqKind, IqRequest};
use crate::services::ServiceError;
use crate::services::audit::Actor;
use crate::xmpp::stanza::StanzaError;
use roost_xml::Element;

/// The protocol's namespace, also its disco feature and the namespace of
/// its application error condition.
pub const MANAGE_CLIENTS: &str = "xmpp:prosody.im/protocol/manage-clients";

/// `<list/>`: the account's clients.
pub struct ListClientsHandler;

/// `<revoke id='…'/>`: ends one client's access.
pub struct RevokeClientHandler;

impl IqHandler for ListClientsHandler {
    fn payload(&self) -> (&'static str, &'static str) {
        ("list", MANAGE_CLIENTS)
    }

    fn features(&self) -> &'static [&'static str] {
        &[MANAGE_CLIENTS]
    }

    fn handle<'a>(&'a self, ctx: &'a XmppContext, request: IqRequest<'a>) -> IqFuture<'a> {
        Box::pin(async move {
            own_account_only(&request)?;
            if request.kind != IqKind::Get {
                return Err(
                    StanzaError::bad_request().with_text("clients are listed with iq type 'get'")
                );
            }
            let clients = ctx
                .services
                .clients
                .list(&request.session.jid.to_bare())
                .await?;
            let mut list = Element::new("clients", MANAGE_CLIENTS);
            for client in &clients {
                list.push_child(client_element(client));
            }
            Ok(Some(list))
        })
    }
}

impl IqHandler for RevokeClientHandler {
    fn payload(&self) -> (&'static str, &'static str) {
        ("revoke", MANAGE_CLIENTS)
    }

    fn handle<'a>(&'a self, ctx: &'a XmppContext, request: IqRequest<'a>) -> IqFuture<'a> {
        Box::pin(async move { revoke(ctx, request).await.map_err(|e| e.error) })
    }

    fn handle_detailed<'a>(
        &'a self,
        ctx: &'a XmppContext,
        request: IqRequest<'a>,
    ) -> DetailedFuture<'a> {
        Box::pin(revoke(ctx, request))
    }
}

async fn revoke(ctx: &XmppContext, request: IqRequest<'_>) -> Result<Option<Element>, IqError> {
    own_account_only(&request)?;
    if request.kind != IqKind::Set {
        return Err(StanzaError::bad_request()
            .with_text("clients are revoked with iq type 'set'")
            .into());
    }
    let selector = request.payload.attr("id").unwrap_or_default();
    let user = request.session.jid.to_bare();
    let actor = Actor::Xmpp {
        jid: user.to_string(),
    };
    let revoked = ctx
        .services
        .clients
        .revoke(&actor, &user, selector)
        .await
        .map_err(|e| match e {
            ServiceError::NotFound(_) => {
                IqError::from(StanzaError::item_not_found().with_text("Client not found"))
            }
            e => StanzaError::from(e).into(),
        })?;
    if revoked.password_reset_required {
        return Err(IqError {
            error: StanzaError::service_unavailable().with_text("Password reset required"),
            condition: Some(Element::new("password-reset-required", MANAGE_CLIENTS)),
            payload: None,
        });
    }
    Ok(None)
}

/// Only the account itself: no `to`, or its own bare JID (Prosody answers
/// other addresses `service-unavailable`, as for any unhandled iq).
fn own_account_only(request: &IqRequest<'_>) -> Result<(), StanzaError> {
    if request.to_self() {
        Ok(())
    } else {
        Err(StanzaError::service_unavailable())
    }
}

/// One `<client/>` as Prosody sends it: attributes `connected`, `id`,
/// `type`; then `<first-seen>`, `<last-seen>`, `<auth>` and `<user-agent>`,
/// the last two always present.
fn client_element(client: &ClientInfo) -> Element {
    let mut auth = Element::new("auth", MANAGE_CLIENTS);
    for method in &client.auth {
        auth.push_child(Element::new(method.as_str(), MANAGE_CLIENTS));
    }
    let mut agent = Element::new("user-agent", MANAGE_CLIENTS);
    for (name, value) in [("software", &client.software), ("device", &client.device)] {
        if let Some(value) = value {
            agent.push_child(Element::new(name, MANAGE_CLIENTS).with_text(value.clone()));
        }
    }
    Element::new("client", MANAGE_CLIENTS)
        .with_attr("connected", if client.connected { "true" } else { "false" })
        .with_attr("id", client.id.clone())
        .with_attr("type", "session")
        .with_child(
            Element::new("first-seen", MANAGE_CLIENTS).with_text(xep0082(client.first_seen)),
        )
        .with_child(Element::new("last-seen", MANAGE_CLIENTS).with_text(xep0082(client.last_seen)))
        .with_child(auth)
        .with_child(agent)
}

#[cfg(test)]
mod tests {
    use roost_common::admin::ClientAuth;

    use super::*;

    #[test]
    fn a_client_is_written_in_prosodys_order_and_shape() {
        let client = ClientInfo {
            id: "client/d4565fa7".into(),
            software: Some("TestApp".into()),
            device: None,
            first_seen: 1_795_297_130,
            last_seen: 1_795_297_138,
            auth: vec![ClientAuth::Password, ClientAuth::Fast],
            connected: false,
            jid: None,
            legacy: false,
        };
        let xml = String::from_utf8(client_element(&client).to_bytes(MANAGE_CLIENTS)).unwrap();
        assert_eq!(
            xml,
            "<client connected='false' id='client/d4565fa7' type='session'>\
             <first-seen>2026-11-21T21:38:50Z</first-seen>\
             <last-seen>2026-11-21T21:38:58Z</last-seen>\
             <auth><password/><fast/></auth>\
             <user-agent><software>TestApp</software></user-agent></client>"
        );
        let bare = ClientInfo {
            auth: vec![],
            software: None,
            connected: true,
            ..client
        };
        let xml = String::from_utf8(client_element(&bare).to_bytes(MANAGE_CLIENTS)).unwrap();
        assert!(xml.starts_with("<client connected='true'"), "{xml}");
        assert!(xml.ends_with("<auth/><user-agent/></client>"), "{xml}");
    }
}
