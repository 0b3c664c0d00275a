//! In-band registration on an authenticated stream (XEP-0077): a user sees
//! that they are registered (§3.1), changes their password (§3.3) or
//! removes their account (§3.2). Before authentication, registration is
//! `c2s/register.rs`'s.
//!
//! A password change follows the registration's password rules and takes
//! back what the old password gave: every other session of the account
//! ends and FAST tokens stop working (`services/accounts.rs`); the session
//! that changed it keeps running. At most
//! `onboarding::PASSWORD_CHANGES_PER_HOUR` changes an hour.

use super::XmppContext;
use super::iq::{IqFuture, IqHandler, IqKind, IqRequest, IqTarget};
use crate::services::audit::Actor;
use crate::xmpp::stanza::StanzaError;
use roost_xml::Element;

/// XEP-0077's namespace.
pub const REGISTER: &str = "jabber:iq:register";

pub struct AccountHandler;

impl IqHandler for AccountHandler {
    fn payload(&self) -> (&'static str, &'static str) {
        ("query", REGISTER)
    }

    fn features(&self) -> &'static [&'static str] {
        &[REGISTER]
    }

    fn handle<'a>(&'a self, ctx: &'a XmppContext, request: IqRequest<'a>) -> IqFuture<'a> {
        Box::pin(async move {
            let own = &request.session.jid;
            let to_own_server =
                matches!(&request.target, IqTarget::Server(host) if host == own.domain().as_str());
            if !(to_own_server || request.to_self()) {
                return Err(StanzaError::service_unavailable());
            }
            let query = request.payload;
            match request.kind {
                IqKind::Get => Ok(Some(
                    Element::new("query", REGISTER)
                        .with_child(Element::new("registered", REGISTER))
                        .with_child(
                            Element::new("username", REGISTER)
                                .with_text(own.node().map_or("", |n| n.as_str())),
                        ),
                )),
                IqKind::Set if query.child("remove", REGISTER).is_some() => {
                    // Answered only once the deletion is stored (a full
                    // disk gets an error, not a result). The deletion's
                    // event ends this session through its queue, which
                    // this connection reads only after it has written
                    // the result.
                    let user = own.to_bare().to_string();
                    let actor = Actor::Xmpp { jid: user.clone() };
                    ctx.services.accounts.delete(&actor, &user).await?;
                    Ok(None)
                }
                IqKind::Set => {
                    let (Some(given), Some(password)) = (
                        query.child("username", REGISTER),
                        query.child("password", REGISTER),
                    ) else {
                        return Err(StanzaError::bad_request().with_text(
                            "a password change needs <username/> and <password/>; \
                             <remove/> removes the account",
                        ));
                    };
                    let named = ctx
                        .services
                        .onboarding
                        .normalise_username(own.domain().as_str(), &given.text());
                    if !named.is_ok_and(|named| named == own.to_bare()) {
                        return Err(StanzaError::bad_request()
                            .with_text("the username is not this account's"));
                    }
                    ctx.services
                        .onboarding
                        .change_password(&request.session.live(), &password.text())
                        .await
                        .map_err(crate::xmpp::c2s::register::error_for)?;
                    Ok(None)
                }
            }
        })
    }
}
