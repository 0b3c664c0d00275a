//! Software Version (XEP-0092), answered for the server only.

use super::XmppContext;
use super::iq::{IqFuture, IqHandler, IqKind, IqRequest, IqTarget};
use crate::xmpp::stanza::StanzaError;
use roost_xml::{Element, ns};

pub struct VersionHandler;

impl IqHandler for VersionHandler {
    fn payload(&self) -> (&'static str, &'static str) {
        ("query", ns::VERSION)
    }

    fn features(&self) -> &'static [&'static str] {
        &[ns::VERSION]
    }

    fn handle<'a>(&'a self, _ctx: &'a XmppContext, request: IqRequest<'a>) -> IqFuture<'a> {
        Box::pin(async move {
            if request.kind != IqKind::Get {
                return Err(StanzaError::bad_request());
            }
            if !matches!(request.target, IqTarget::Server(_)) {
                return Err(StanzaError::service_unavailable());
            }
            Ok(Some(
                Element::new("query", ns::VERSION)
                    .with_child(Element::new("name", ns::VERSION).with_text("Roost"))
                    .with_child(
                        Element::new("version", ns::VERSION).with_text(env!("CARGO_PKG_VERSION")),
                    ),
            ))
        })
    }
}
