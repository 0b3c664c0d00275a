//! Service Discovery (XEP-0030) for the server and for accounts.

use super::XmppContext;
use super::adhoc;
use super::iq::{IqFuture, IqHandler, IqKind, IqRequest, IqTarget};
use crate::xmpp::stanza::StanzaError;
use roost_xml::{Element, ns};

pub struct DiscoInfoHandler;
pub struct DiscoItemsHandler;

impl IqHandler for DiscoInfoHandler {
    fn payload(&self) -> (&'static str, &'static str) {
        ("query", ns::DISCO_INFO)
    }

    fn features(&self) -> &'static [&'static str] {
        &[ns::DISCO_INFO, ns::DISCO_ITEMS]
    }

    fn handle<'a>(&'a self, ctx: &'a XmppContext, request: IqRequest<'a>) -> IqFuture<'a> {
        Box::pin(async move {
            if request.kind != IqKind::Get {
                return Err(StanzaError::bad_request());
            }
            if let Some(node) = request.payload.attr("node") {
                // The server's nodes are its ad-hoc commands (XEP-0050 §2.3).
                return match &request.target {
                    IqTarget::Server(host) => {
                        adhoc::disco_info(ctx, &request.session.jid.to_bare(), host, node).await
                    }
                    IqTarget::Account(_) => Err(StanzaError::item_not_found()),
                };
            }
            let mut query = Element::new("query", ns::DISCO_INFO);
            match &request.target {
                IqTarget::Server(_) => {
                    query.push_child(identity("server", "im", "Roost"));
                    for feature in ctx.iq_handlers.features() {
                        query.push_child(feature_element(feature));
                    }
                }
                IqTarget::Account(account) => {
                    // Only the owner, or someone the owner shares presence
                    // with, may learn that an account exists (XEP-0030 §8).
                    let allowed =
                        request.to_self() || shares_presence(ctx, account, &request).await;
                    if !allowed {
                        return Err(StanzaError::service_unavailable());
                    }
                    query.push_child(identity("account", "registered", ""));
                    query.push_child(feature_element(ns::DISCO_INFO));
                    for feature in ctx.iq_handlers.account_features() {
                        query.push_child(feature_element(feature));
                    }
                }
            }
            Ok(Some(query))
        })
    }
}

impl IqHandler for DiscoItemsHandler {
    fn payload(&self) -> (&'static str, &'static str) {
        ("query", ns::DISCO_ITEMS)
    }

    fn handle<'a>(&'a self, ctx: &'a XmppContext, request: IqRequest<'a>) -> IqFuture<'a> {
        Box::pin(async move {
            if request.kind != IqKind::Get {
                return Err(StanzaError::bad_request());
            }
            match &request.target {
                IqTarget::Server(host) => match request.payload.attr("node") {
                    Some(node) => {
                        adhoc::disco_items(ctx, &request.session.jid.to_bare(), host, node).await
                    }
                    None => Ok(Some(Element::new("query", ns::DISCO_ITEMS))),
                },
                IqTarget::Account(_) if request.to_self() => {
                    Ok(Some(Element::new("query", ns::DISCO_ITEMS)))
                }
                IqTarget::Account(_) => Err(StanzaError::service_unavailable()),
            }
        })
    }
}

async fn shares_presence(
    ctx: &XmppContext,
    account: &jid::BareJid,
    request: &IqRequest<'_>,
) -> bool {
    let asker = request.session.jid.to_bare().to_string();
    ctx.services.rosters.get(account).await.is_ok_and(|r| {
        r.items
            .iter()
            .any(|i| i.contact == asker && i.subscription.has_from())
    })
}

pub(super) fn identity(category: &str, kind: &str, name: &str) -> Element {
    let mut el = Element::new("identity", ns::DISCO_INFO)
        .with_attr("category", category)
        .with_attr("type", kind);
    if !name.is_empty() {
        el.set_attr("name", name);
    }
    el
}

pub(super) fn feature_element(var: &str) -> Element {
    Element::new("feature", ns::DISCO_INFO).with_attr("var", var)
}
