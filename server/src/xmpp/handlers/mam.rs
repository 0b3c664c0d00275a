//! Message Archive Management (XEP-0313, `urn:xmpp:mam:2`) with unique
//! stanza ids (XEP-0359, `urn:xmpp:sid:0`): the iq handlers through which
//! an account's clients read its archive and set its preferences. What is
//! archived, and the stanza id added on the way, is [`archiving`]'s part
//! of routing; storage and its bounds are `services/archive.rs`.
//!
//! Registered only while `[archive] enabled`: then the account's disco#info
//! lists the features; otherwise a query is `service-unavailable`.

pub mod archiving;
mod request;

use bytes::Bytes;
use jid::BareJid;

use super::XmppContext;
use super::iq::{IqFuture, IqHandler, IqKind, IqRequest, IqTarget};
use crate::services::archive::{Item, Page, Prefs};
use crate::xmpp::stanza::StanzaError;
use roost_xml::{Element, ns};

pub const MAM: &str = "urn:xmpp:mam:2";
/// The query fields past XEP-0313's basic three: after-id, before-id, ids.
pub const MAM_EXTENDED: &str = "urn:xmpp:mam:2#extended";
pub const STANZA_IDS: &str = "urn:xmpp:sid:0";
pub const RSM: &str = "http://jabber.org/protocol/rsm";
pub const DATA_FORMS: &str = "jabber:x:data";
const DELAY: &str = "urn:xmpp:delay";

/// The archive's owner: a query or a preference is for one's own account
/// (addressed to it, or to nobody) and for no one else's.
fn owner(request: &IqRequest<'_>) -> Result<BareJid, StanzaError> {
    match &request.target {
        IqTarget::Account(_) if request.to_self() => Ok(request.session.jid.to_bare()),
        IqTarget::Account(_) => {
            Err(StanzaError::forbidden().with_text("only the account's own archive"))
        }
        IqTarget::Server(_) => Err(StanzaError::service_unavailable()),
    }
}

/// `<query/>`: a get returns the form, a set sends a page of results.
pub struct QueryHandler;

impl IqHandler for QueryHandler {
    fn payload(&self) -> (&'static str, &'static str) {
        ("query", MAM)
    }

    fn features(&self) -> &'static [&'static str] {
        &[STANZA_IDS]
    }

    fn account_features(&self) -> &'static [&'static str] {
        &[MAM, MAM_EXTENDED, STANZA_IDS]
    }

    fn handle<'a>(&'a self, ctx: &'a XmppContext, request: IqRequest<'a>) -> IqFuture<'a> {
        Box::pin(async move {
            let owner = owner(&request)?;
            if request.kind == IqKind::Get {
                return Ok(Some(Element::new("query", MAM).with_child(query_form())));
            }
            let (query_id, query) = request::query(request.payload)?;
            // A page must fit the session's queue with room to spare, or
            // `send` would end the session that asked for it.
            let page_bytes = ctx.config.c2s.max_queued_bytes / 2;
            let page = ctx
                .services
                .archive
                .query(&owner, query, page_bytes)
                .await?;
            let to = request.session.jid.to_string();
            for item in &page.items {
                // `send`, never held back for an inactive client: the
                // client asked and waits for the answer.
                request
                    .session
                    .send(result_message(&owner, &to, query_id.as_deref(), item));
            }
            Ok(Some(fin(&page)))
        })
    }
}

/// `<prefs/>`: get and set the account's preferences.
pub struct PrefsHandler;

impl IqHandler for PrefsHandler {
    fn payload(&self) -> (&'static str, &'static str) {
        ("prefs", MAM)
    }

    fn handle<'a>(&'a self, ctx: &'a XmppContext, request: IqRequest<'a>) -> IqFuture<'a> {
        Box::pin(async move {
            let owner = owner(&request)?;
            let archive = &ctx.services.archive;
            if request.kind == IqKind::Set {
                let prefs = request::prefs(request.payload)?;
                archive
                    .set_prefs(&owner, prefs)
                    .await
                    .map_err(|e| match e {
                        crate::services::ServiceError::Invalid(text) => StanzaError::new(
                            crate::xmpp::stanza::ErrorType::Modify,
                            "not-acceptable",
                        )
                        .with_text(text),
                        other => other.into(),
                    })?;
            }
            Ok(Some(prefs_element(&*archive.prefs(&owner).await?)))
        })
    }
}

/// The query form (XEP-0313 §5.1), with the extended fields.
fn query_form() -> Element {
    let field = |var: &str, kind: &str| {
        Element::new("field", DATA_FORMS)
            .with_attr("var", var)
            .with_attr("type", kind)
    };
    Element::new("x", DATA_FORMS)
        .with_attr("type", "form")
        .with_child(
            field("FORM_TYPE", "hidden")
                .with_child(Element::new("value", DATA_FORMS).with_text(MAM)),
        )
        .with_child(field("with", "jid-single"))
        .with_child(field("start", "text-single"))
        .with_child(field("end", "text-single"))
        .with_child(field("after-id", "text-single"))
        .with_child(field("before-id", "text-single"))
        .with_child(field("ids", "text-multi"))
}

/// One result: the archived message, as routed, inside `<forwarded/>`
/// with its time. The stored bytes are put in as they are, not parsed.
fn result_message(owner: &BareJid, to: &str, query_id: Option<&str>, item: &Item) -> Bytes {
    let mut result = Element::new("result", MAM).with_attr("id", item.stanza_id.as_str());
    if let Some(query_id) = query_id {
        result.set_attr("queryid", query_id);
    }
    let wrapper = Element::new("message", ns::CLIENT)
        .with_attr("from", owner.to_string())
        .with_attr("to", to)
        .with_child(
            result.with_child(
                Element::new("forwarded", ns::FORWARD).with_child(
                    Element::new("delay", DELAY)
                        .with_attr("stamp", roost_common::time::xep0082_ms(item.stamp_ms)),
                ),
            ),
        );
    let mut bytes = wrapper.to_bytes(ns::CLIENT);
    let end = memchr::memmem::rfind(&bytes, b"</forwarded>")
        .expect("a forwarded element with a child has an end tag");
    bytes.splice(end..end, item.stanza.bytes());
    Bytes::from(bytes)
}

/// The iq result's `<fin/>` with the page's RSM summary.
fn fin(page: &Page) -> Element {
    let mut set = Element::new("set", RSM);
    if let (Some(first), Some(last)) = (page.items.first(), page.items.last()) {
        set.push_child(Element::new("first", RSM).with_text(first.stanza_id.as_str()));
        set.push_child(Element::new("last", RSM).with_text(last.stanza_id.as_str()));
    }
    if let Some(count) = page.count {
        set.push_child(Element::new("count", RSM).with_text(count.to_string()));
    }
    let mut fin = Element::new("fin", MAM);
    if page.complete {
        fin.set_attr("complete", "true");
    }
    fin.with_child(set)
}

fn prefs_element(prefs: &Prefs) -> Element {
    let list = |name: &str, jids: &[BareJid]| {
        let mut list = Element::new(name, MAM);
        for jid in jids {
            list.push_child(Element::new("jid", MAM).with_text(jid.to_string()));
        }
        list
    };
    Element::new("prefs", MAM)
        .with_attr("default", prefs.default.as_str())
        .with_child(list("always", &prefs.always))
        .with_child(list("never", &prefs.never))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_wraps_the_stored_message_as_it_is() {
        let item = Item {
            stanza_id: "s1".into(),
            stamp_ms: 1_700_000_000_007,
            stanza:
                "<message xmlns='jabber:client' from='b@x/r' to='a@x'><body>hi</body></message>"
                    .into(),
        };
        let owner = BareJid::new("a@x").unwrap();
        let bytes = result_message(&owner, "a@x/phone", Some("q'1"), &item);
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            "<message from='a@x' to='a@x/phone'><result xmlns='urn:xmpp:mam:2' id='s1' queryid='q&apos;1'>\
             <forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2023-11-14T22:13:20.007Z'/>\
             <message xmlns='jabber:client' from='b@x/r' to='a@x'><body>hi</body></message>\
             </forwarded></result></message>"
        );
    }

    #[test]
    fn fin_says_complete_and_names_the_page() {
        let item = |id: &str| Item {
            stanza_id: id.into(),
            stamp_ms: 0,
            stanza: String::new(),
        };
        let page = Page {
            items: vec![item("a"), item("b")],
            complete: false,
            count: Some(7),
        };
        let text = String::from_utf8(fin(&page).to_bytes(ns::CLIENT)).unwrap();
        assert_eq!(
            text,
            "<fin xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'>\
             <first>a</first><last>b</last><count>7</count></set></fin>"
        );
        let empty = Page {
            items: vec![],
            complete: true,
            count: None,
        };
        let text = String::from_utf8(fin(&empty).to_bytes(ns::CLIENT)).unwrap();
        assert_eq!(
            text,
            "<fin xmlns='urn:xmpp:mam:2' complete='true'>\
             <set xmlns='http://jabber.org/protocol/rsm'/></fin>"
        );
    }
}
