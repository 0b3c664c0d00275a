//! XMPP Ping (XEP-0199): an empty result, to the server or an account.

use super::XmppContext;
use super::iq::{IqFuture, IqHandler, IqKind, IqRequest};
use crate::xmpp::stanza::StanzaError;
use roost_xml::ns;

pub struct PingHandler;

impl IqHandler for PingHandler {
    fn payload(&self) -> (&'static str, &'static str) {
        ("ping", ns::PING)
    }

    fn features(&self) -> &'static [&'static str] {
        &[ns::PING]
    }

    fn handle<'a>(&'a self, _ctx: &'a XmppContext, request: IqRequest<'a>) -> IqFuture<'a> {
        Box::pin(async move {
            match request.kind {
                IqKind::Get => Ok(None),
                IqKind::Set => Err(StanzaError::bad_request()),
            }
        })
    }
}
