//! Roster management (RFC 6121 §2): get with versioning, set, remove, and
//! roster pushes to every resource that asked for the roster.

use jid::{BareJid, FullJid};

use super::iq::{IqFuture, IqHandler, IqKind, IqRequest};
use super::{XmppContext, serialise};
use crate::services::rosters::{RosterItem, RosterPush};
use crate::xmpp::stanza::StanzaError;
use roost_xml::{Element, ns};

/// Longest roster item name and group name accepted, in bytes.
const MAX_NAME_BYTES: usize = 1024;
/// Most groups on one item.
const MAX_GROUPS: usize = 64;
/// Most bytes of name and group names together on one item, so that a full
/// roster (`[limits] roster_items`) stays a few MiB at most.
const MAX_ITEM_BYTES: usize = 4096;

pub struct RosterHandler;

impl IqHandler for RosterHandler {
    fn payload(&self) -> (&'static str, &'static str) {
        ("query", ns::ROSTER)
    }

    fn features(&self) -> &'static [&'static str] {
        &[ns::ROSTER]
    }

    fn handle<'a>(&'a self, ctx: &'a XmppContext, request: IqRequest<'a>) -> IqFuture<'a> {
        Box::pin(async move {
            if !request.to_self() {
                return Err(StanzaError::forbidden());
            }
            let user = request.session.jid.to_bare();
            match request.kind {
                IqKind::Get => get(ctx, &request, &user).await,
                IqKind::Set => set(ctx, request.payload, &user).await.map(|()| None),
            }
        })
    }
}

async fn get(
    ctx: &XmppContext,
    request: &IqRequest<'_>,
    user: &BareJid,
) -> Result<Option<Element>, StanzaError> {
    request.session.set_wants_roster_pushes();
    // A delegated roster is fetched first when due; the answer always
    // comes from storage, the last good copy if the fetch failed.
    ctx.services
        .roster_delegation
        .before_roster_get(&request.session.jid)
        .await;
    let roster = ctx.services.rosters.get(user).await?;
    let version = roster.version.to_string();
    // Roster versioning (RFC 6121 §2.6): an up-to-date client gets an empty
    // result, and pushes from then on.
    if request.payload.attr("ver") == Some(version.as_str()) {
        return Ok(None);
    }
    let mut query = Element::new("query", ns::ROSTER).with_attr("ver", version);
    for item in &roster.items {
        query.push_child(item_element(item));
    }
    Ok(Some(query))
}

async fn set(ctx: &XmppContext, query: &Element, user: &BareJid) -> Result<(), StanzaError> {
    let mut items = query.children();
    let (Some(item), None) = (items.next(), items.next()) else {
        return Err(StanzaError::bad_request().with_text("a roster set carries exactly one item"));
    };
    if !item.is("item", ns::ROSTER) {
        return Err(StanzaError::bad_request());
    }
    let contact = item
        .attr("jid")
        .and_then(|j| BareJid::new(j).ok())
        .ok_or_else(|| StanzaError::bad_request().with_text("the item needs a bare JID"))?;
    if contact == *user {
        return Err(StanzaError::not_allowed().with_text("you cannot add yourself"));
    }
    let rosters = &ctx.services.rosters;
    if item.attr("subscription") == Some("remove") {
        let Some(change) = rosters.remove(user, &contact).await? else {
            return Err(StanzaError::item_not_found());
        };
        cancel_subscriptions(ctx, user, &contact, &change.item).await;
        push(ctx, user, &change);
        return Ok(());
    }
    let name = item
        .attr("name")
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    let mut groups: Vec<String> = item
        .children()
        .filter(|g| g.is("group", ns::ROSTER))
        .map(|g| g.text())
        .collect();
    groups.sort();
    groups.dedup();
    if groups.iter().any(|g| g.is_empty()) {
        return Err(
            StanzaError::new(crate::xmpp::stanza::ErrorType::Modify, "not-acceptable")
                .with_text("empty group name"),
        );
    }
    let item_bytes =
        name.as_ref().map_or(0, String::len) + groups.iter().map(String::len).sum::<usize>();
    if groups.len() > MAX_GROUPS
        || name.as_ref().is_some_and(|n| n.len() > MAX_NAME_BYTES)
        || groups.iter().any(|g| g.len() > MAX_NAME_BYTES)
        || item_bytes > MAX_ITEM_BYTES
    {
        return Err(
            StanzaError::new(crate::xmpp::stanza::ErrorType::Modify, "not-acceptable")
                .with_text("name or groups too long"),
        );
    }
    let change = rosters
        .set(
            user,
            &contact,
            name,
            groups,
            ctx.config.limits.get().roster_items,
        )
        .await?;
    push(ctx, user, &change);
    Ok(())
}

/// Removing an item cancels both directions of subscription (RFC 6121
/// §2.5.2): the contact gets `unsubscribe` and `unsubscribed` on its
/// interested resources (§3.3.3, §3.2.3), each before its roster push.
async fn cancel_subscriptions(
    ctx: &XmppContext,
    user: &BareJid,
    contact: &BareJid,
    item: &RosterItem,
) {
    if !ctx.is_local(contact.domain().as_str()) {
        return;
    }
    let rosters = &ctx.services.rosters;
    let cancel = |kind: &str| {
        Element::new("presence", ns::CLIENT)
            .with_attr("from", user.to_string())
            .with_attr("type", kind)
    };
    if (item.subscription.has_to() || item.ask)
        && let Some(change) = rosters
            .inbound_unsubscribe(contact, user)
            .await
            .ok()
            .flatten()
    {
        super::presence::send_to_account(ctx, contact, &cancel("unsubscribe"));
        push(ctx, contact, &change);
    }
    if item.subscription.has_from() {
        if let Some(change) = rosters
            .inbound_unsubscribed(contact, user)
            .await
            .ok()
            .flatten()
        {
            super::presence::send_to_account(ctx, contact, &cancel("unsubscribed"));
            push(ctx, contact, &change);
        }
        for session in ctx.router.sessions_of(user) {
            let unavailable = Element::new("presence", ns::CLIENT)
                .with_attr("from", session.jid.to_string())
                .with_attr("to", contact.to_string())
                .with_attr("type", "unavailable");
            // Through CSI's path: it replaces an available presence the
            // contact's inactive phone may hold, which would else come after.
            let bytes = serialise(&unavailable);
            for theirs in ctx.router.sessions_of(contact) {
                super::presence::send_presence(&theirs, &unavailable, bytes.clone());
            }
        }
    }
}

/// Sends a roster push to every resource of `user` that asked for the roster.
pub fn push(ctx: &XmppContext, user: &BareJid, change: &RosterPush) {
    push_except(ctx, user, change, &[]);
}

/// [`push`], leaving out the sessions in `except`.
pub fn push_except(ctx: &XmppContext, user: &BareJid, change: &RosterPush, except: &[FullJid]) {
    let mut item = item_element(&change.item);
    if change.removed {
        item = Element::new("item", ns::ROSTER)
            .with_attr("jid", change.item.contact.clone())
            .with_attr("subscription", "remove");
    }
    for session in ctx.router.sessions_of(user) {
        if !session.wants_roster_pushes() || except.contains(&session.jid) {
            continue;
        }
        let iq = Element::new("iq", ns::CLIENT)
            .with_attr("type", "set")
            .with_attr("id", format!("push{}", change.version))
            .with_attr("to", session.jid.to_string())
            .with_child(
                Element::new("query", ns::ROSTER)
                    .with_attr("ver", change.version.to_string())
                    .with_child(item.clone()),
            );
        session.send(serialise(&iq));
    }
}

fn item_element(item: &RosterItem) -> Element {
    let mut el = Element::new("item", ns::ROSTER)
        .with_attr("jid", item.contact.clone())
        .with_attr("subscription", item.subscription.as_str());
    if let Some(name) = &item.name {
        el.set_attr("name", name.clone());
    }
    if item.ask {
        el.set_attr("ask", "subscribe");
    }
    if item.approved {
        el.set_attr("approved", "true");
    }
    for group in &item.groups {
        el.push_child(Element::new("group", ns::ROSTER).with_text(group.clone()));
    }
    el
}
