//! Presence (RFC 6121 §4) and subscriptions (§3): broadcast to
//! subscribers, probes answered from the session table, directed presence,
//! and the subscription state machine (applied by the rosters service).
//!
//! Who receives what (RFC 6121 §3): an inbound subscription request goes to
//! the contact's *available* resources and is kept until approved or
//! refused (§3.1.3); an inbound approval (`subscribed`, §3.1.6), an
//! unsubscribe (§3.3.3) and a cancellation (`unsubscribed`, §3.2.3) go to
//! the *interested* resources (those that asked for the roster, §2.1.6),
//! available or not, before the roster push; roster pushes go there too.
//! Availability presence goes to available resources (§4.2.2, §4.4.2).

use std::sync::Arc;

use jid::{BareJid, Jid};

use super::roster::push;
use super::{Bounce, XmppContext, serialise};
use crate::metrics::InviteRedeemedBy;
use crate::services::rosters::{InboundSubscribe, OutboundSubscribed, RosterPush};
use crate::xmpp::router::{Presence, SessionHandle};
use crate::xmpp::stanza::{self, StanzaError};
use roost_xml::{Element, ns};

/// XEP-0379 pre-authenticated subscription requests carry the invite token.
const PREAUTH: &str = "urn:xmpp:pars:0";

pub async fn outbound(
    ctx: &XmppContext,
    session: &Arc<SessionHandle>,
    presence: Element,
) -> Result<(), Bounce> {
    let to = match stanza::to_jid(&presence) {
        Ok(to) => to,
        Err(e) => return Err((presence, e)),
    };
    match (presence.attr("type"), to) {
        (None | Some("unavailable"), None) => {
            broadcast(ctx, session, presence).await;
            Ok(())
        }
        (None | Some("unavailable"), Some(to)) => {
            directed(ctx, session, &presence, to).map_err(|e| (presence, e))
        }
        (Some(kind @ ("subscribe" | "subscribed" | "unsubscribe" | "unsubscribed")), Some(to)) => {
            subscription(ctx, session, presence.clone(), kind, to)
                .await
                .map_err(|e| (presence, e))
        }
        (Some("error"), Some(to)) => {
            deliver_to(ctx, &to, &presence);
            Ok(())
        }
        // Probes are the server's business; anything else is malformed.
        (Some("probe"), _) => Ok(()),
        _ => Err((presence, StanzaError::bad_request())),
    }
}

/// Broadcast presence: to the user's subscribers and other resources; the
/// first available presence also probes the user's contacts and delivers
/// what waited offline.
async fn broadcast(ctx: &XmppContext, session: &Arc<SessionHandle>, mut presence: Element) {
    let user = session.jid.to_bare();
    let available = presence.attr("type").is_none();
    let before = session.presence();
    let priority = presence
        .child("priority", ns::CLIENT)
        .and_then(|p| p.text().trim().parse::<i8>().ok())
        .unwrap_or(0);
    presence.remove_attr("to");
    let directed_targets = if available {
        before.directed.clone()
    } else {
        Vec::new()
    };
    session.set_presence(Presence {
        available,
        priority,
        last: available.then(|| presence.clone()),
        directed: directed_targets,
    });
    if !available {
        // Offline messages wait for the next available presence.
        session.offline_messages_done();
        if !before.available {
            return;
        }
    }
    let initial = available && !before.available;
    let (roster, waiting) = if initial {
        match ctx.services.rosters.arrival(&user).await {
            Ok(a) => (a.roster, Some((a.requests, a.offline_waiting))),
            Err(e) => {
                tracing::warn!("{user}: cannot read roster for presence: {e}");
                return;
            }
        }
    } else {
        match ctx.services.rosters.get(&user).await {
            Ok(r) => (r, None),
            Err(e) => {
                tracing::warn!("{user}: cannot read roster for presence: {e}");
                return;
            }
        }
    };
    for item in roster.items.iter().filter(|i| i.subscription.has_from()) {
        if let Ok(contact) = BareJid::new(&item.contact) {
            send_to_account(ctx, &contact, &presence);
        }
    }
    // The user's own other resources see it too, and it sees theirs.
    for other in ctx.router.sessions_of(&user) {
        if other.id == session.id {
            continue;
        }
        let mut copy = presence.clone();
        copy.set_attr("to", other.jid.to_string());
        send_presence(&other, &copy, serialise(&copy));
        if initial && let Some(mut theirs) = other.last_presence() {
            theirs.set_attr("to", session.jid.to_string());
            // Offered: this session's queue is not drained while it runs
            // this, so what does not fit is left out rather than ending it.
            offer_presence(session, &theirs, serialise(&theirs));
        }
    }
    if !available {
        for target in before.directed {
            let mut copy = presence.clone();
            copy.set_attr("to", target.to_string());
            deliver_to(ctx, &target, &copy);
        }
        return;
    }
    let Some((requests, offline_waiting)) = waiting else {
        return;
    };
    // Initial presence: probe contacts (answered from the session table),
    // then hand over what waited.
    for item in roster.items.iter().filter(|i| i.subscription.has_to()) {
        let Ok(contact) = BareJid::new(&item.contact) else {
            continue;
        };
        for theirs in ctx.router.sessions_of(&contact) {
            if let Some(mut last) = theirs.last_presence() {
                last.set_attr("to", session.jid.to_string());
                offer_presence(session, &last, serialise(&last));
            }
        }
    }
    // Stored requests stay stored until answered: what does not fit in the
    // queue now comes again at the next login.
    for stanza in requests {
        if !session.offer(stanza.into()) {
            break;
        }
    }
    // RFC 6121 §8.5.2.1.1: offline messages go to a resource of
    // non-negative priority. The connection hands them over as its client
    // reads them (`c2s::offline_delivery`).
    if priority >= 0 && offline_waiting {
        session.want_offline_messages();
    }
}

/// A stored subscription request is sent again at every login until it is
/// answered; one larger than this is stored without its payload (status,
/// nick, …), so that a login never reads more than
/// `MAX_STORED_REQUEST` times the pending requests' cap.
const MAX_STORED_REQUEST: usize = 4096;

/// What is stored of a subscription request (`from` and `to` already set).
fn stored_request(presence: &Element) -> String {
    let mut bytes = presence.to_bytes(ns::CLIENT);
    if bytes.len() > MAX_STORED_REQUEST {
        let mut bare = Element::new("presence", ns::CLIENT).with_attr("type", "subscribe");
        for name in ["from", "to"] {
            if let Some(value) = presence.attr(name) {
                bare.set_attr(name, value);
            }
        }
        bytes = bare.to_bytes(ns::CLIENT);
    }
    String::from_utf8(bytes).expect("the writer writes UTF-8")
}

/// Presence sent to one entity; remembered so it gets unavailable later.
/// A session remembers at most `limits.directed_presences` entities: past
/// that, available presence to a new one is refused (and not sent, as the
/// server could not tell it of the session's end).
fn directed(
    ctx: &XmppContext,
    session: &Arc<SessionHandle>,
    presence: &Element,
    to: Jid,
) -> Result<(), StanzaError> {
    let mut state = session.presence();
    if presence.attr("type").is_some() {
        state.directed.retain(|j| *j != to);
    } else if !state.directed.contains(&to) {
        remember_directed(
            &mut state.directed,
            to.clone(),
            ctx.config.limits.get().directed_presences,
        )?;
    }
    session.set_presence(state);
    deliver_to(ctx, &to, presence);
    Ok(())
}

/// Adds `to` to the entities a session sent directed presence to, unless
/// `max` are remembered already: then `resource-constraint` (RFC 6120
/// §8.3.3.18), which clears once the client sends some of them unavailable.
fn remember_directed(directed: &mut Vec<Jid>, to: Jid, max: usize) -> Result<(), StanzaError> {
    if directed.len() >= max {
        return Err(StanzaError::resource_constraint().with_text(format!(
            "at most {max} entities may have your directed presence at once"
        )));
    }
    directed.push(to);
    Ok(())
}

/// Sends `presence` to a local entity: a full JID's session, or every
/// available resource of a bare JID.
fn deliver_to(ctx: &XmppContext, to: &Jid, presence: &Element) {
    if !ctx.is_local(to.domain().as_str()) {
        return;
    }
    match to.try_as_full() {
        Ok(full) => {
            if let Some(s) = ctx.router.session(full) {
                send_presence(&s, presence, serialise(presence));
            }
        }
        Err(bare) => send_to_account(ctx, bare, presence),
    }
}

/// Which resources of an account a presence stanza addressed to the bare
/// JID goes to, by its type (RFC 6121).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Audience {
    /// Available resources: availability presence (§4.2.2, §4.4.2), a
    /// subscription request (§3.1.3: "all available resources"; it is also
    /// kept and delivered again when one becomes available), errors.
    Available,
    /// Interested resources, those that asked for the roster (§2.1.6),
    /// available or not: an approval (§3.1.6), an unsubscribe (§3.3.3), a
    /// cancellation (§3.2.3), each just before its roster push.
    Interested,
}

impl Audience {
    fn of(presence: &Element) -> Audience {
        match presence.attr("type") {
            Some("subscribed" | "unsubscribe" | "unsubscribed") => Audience::Interested,
            _ => Audience::Available,
        }
    }

    fn includes(self, session: &SessionHandle) -> bool {
        match self {
            Audience::Available => session.availability().0,
            Audience::Interested => session.wants_roster_pushes(),
        }
    }
}

/// Sends `presence` to the resources of `account` its type is for.
pub(super) fn send_to_account(ctx: &XmppContext, account: &BareJid, presence: &Element) {
    let audience = Audience::of(presence);
    let mut copy = presence.clone();
    copy.set_attr("to", account.to_string());
    let bytes = serialise(&copy);
    for s in ctx.router.sessions_of(account) {
        if audience.includes(&s) {
            send_presence(&s, presence, bytes.clone());
        }
    }
}

/// Sends `presence` (as `bytes`) to `session`: an availability update can
/// wait while the client is inactive (XEP-0352), and a newer one from the
/// same sender replaces it; subscription stanzas and errors go at once.
pub(super) fn send_presence(session: &SessionHandle, presence: &Element, bytes: bytes::Bytes) {
    match presence.attr("type") {
        None | Some("unavailable") => session.send_deferrable(presence.attr("from"), bytes),
        _ => session.send(bytes),
    };
}

/// As [`send_presence`] for what the server offers a session that just
/// became available (its contacts' and its other resources' presence):
/// held while the client is inactive, offered otherwise, so that what does
/// not fit is left out rather than ending it.
fn offer_presence(session: &SessionHandle, presence: &Element, bytes: bytes::Bytes) {
    if session.is_inactive() {
        session.send_deferrable(presence.attr("from"), bytes);
    } else {
        session.offer(bytes);
    }
}

/// The subscription stanzas, applied on both sides (both accounts are local).
async fn subscription(
    ctx: &XmppContext,
    session: &Arc<SessionHandle>,
    mut presence: Element,
    kind: &str,
    to: Jid,
) -> Result<(), StanzaError> {
    let user = session.jid.to_bare();
    let contact = to.to_bare();
    // Subscription stanzas are between accounts: bare JIDs on both ends.
    presence.set_attr("from", user.to_string());
    presence.set_attr("to", contact.to_string());
    let rosters = &ctx.services.rosters;
    let local_contact = ctx.is_local(contact.domain().as_str()) && contact.node().is_some();
    if !local_contact {
        return Err(StanzaError::remote_server_not_found());
    }
    rosters.check_subscription(&user, &contact)?;
    let max_items = ctx.config.limits.get().roster_items;
    match kind {
        "subscribe" if redeemed_contact_invite(ctx, &presence, &user, &contact).await? => {}
        "subscribe" => {
            push_opt(
                ctx,
                &user,
                rosters
                    .outbound_subscribe(&user, &contact, max_items)
                    .await?,
            );
            match rosters
                .inbound_subscribe(&contact, &user, stored_request(&presence))
                .await
            {
                Ok(InboundSubscribe::AlreadySubscribed) => {
                    answer_subscribed(ctx, &contact, &user).await
                }
                Ok(InboundSubscribe::PreApproved(change)) => {
                    push(ctx, &contact, &change);
                    answer_subscribed(ctx, &contact, &user).await;
                }
                // §3.1.3: to the contact's available resources now, and
                // again whenever one becomes available, until answered.
                Ok(InboundSubscribe::Pending) => send_to_account(ctx, &contact, &presence),
                // RFC 6121 §8.5.1: a subscription request to a local
                // account that does not exist is silently ignored (the
                // user's roster item stays pending, as with any contact
                // that never answers).
                Err(crate::services::ServiceError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        "subscribed" => match rosters
            .outbound_subscribed(&user, &contact, max_items)
            .await?
        {
            OutboundSubscribed::Approved(change) => {
                push(ctx, &user, &change);
                if let Some(theirs) = rosters
                    .inbound_subscribed(&contact, &user)
                    .await
                    .ok()
                    .flatten()
                {
                    // §3.1.6: the approval first, then the roster push.
                    send_to_account(ctx, &contact, &presence);
                    push(ctx, &contact, &theirs);
                }
                send_current_presence(ctx, &user, &contact);
            }
            OutboundSubscribed::PreApproved(change) => push(ctx, &user, &change),
            OutboundSubscribed::Nothing => {}
        },
        "unsubscribe" => {
            push_opt(
                ctx,
                &user,
                rosters.outbound_unsubscribe(&user, &contact).await?,
            );
            if let Some(change) = rosters
                .inbound_unsubscribe(&contact, &user)
                .await
                .ok()
                .flatten()
            {
                // §3.3.3: the unsubscribe, then the roster push.
                send_to_account(ctx, &contact, &presence);
                push(ctx, &contact, &change);
                send_unavailable(ctx, &contact, &user);
            }
        }
        "unsubscribed" => {
            push_opt(
                ctx,
                &user,
                rosters.outbound_unsubscribed(&user, &contact).await?,
            );
            if let Some(change) = rosters
                .inbound_unsubscribed(&contact, &user)
                .await
                .ok()
                .flatten()
            {
                // §3.2.3: the cancellation, then the roster push.
                send_to_account(ctx, &contact, &presence);
                push(ctx, &contact, &change);
                send_unavailable(ctx, &user, &contact);
            }
        }
        _ => unreachable!("caller matched the four subscription types"),
    }
    Ok(())
}

/// XEP-0379: a subscription request carrying a valid contact invite of
/// `contact`'s makes the two mutual contacts at once (the roster pushes
/// come from the service's event); both sides then see `subscribed` and
/// each other's presence. `false`: no such invite, an ordinary request.
async fn redeemed_contact_invite(
    ctx: &XmppContext,
    presence: &Element,
    user: &BareJid,
    contact: &BareJid,
) -> Result<bool, StanzaError> {
    let Some(token) = presence
        .child("preauth", PREAUTH)
        .and_then(|p| p.attr("token"))
    else {
        return Ok(false);
    };
    if !ctx
        .services
        .onboarding
        .redeem_contact(token, contact, user)
        .await?
    {
        return Ok(false);
    }
    ctx.services
        .metrics
        .invites
        .redeemed(InviteRedeemedBy::XmppSubscription);
    for (from, to) in [(contact, user), (user, contact)] {
        let subscribed = Element::new("presence", ns::CLIENT)
            .with_attr("from", from.to_string())
            .with_attr("type", "subscribed");
        send_to_account(ctx, to, &subscribed);
        send_current_presence(ctx, from, to);
    }
    Ok(true)
}

/// `owner` (who already allows `subscriber`) answers `subscribed` on its
/// own (RFC 6121 §3.1.3), delivered as any approval is (§3.1.6).
async fn answer_subscribed(ctx: &XmppContext, owner: &BareJid, subscriber: &BareJid) {
    let reply = Element::new("presence", ns::CLIENT)
        .with_attr("from", owner.to_string())
        .with_attr("type", "subscribed");
    send_to_account(ctx, subscriber, &reply);
    if let Some(change) = ctx
        .services
        .rosters
        .inbound_subscribed(subscriber, owner)
        .await
        .ok()
        .flatten()
    {
        push(ctx, subscriber, &change);
    }
    send_current_presence(ctx, owner, subscriber);
}

/// Sends every available resource's presence of `from` to `to`'s resources.
pub(super) fn send_current_presence(ctx: &XmppContext, from: &BareJid, to: &BareJid) {
    for session in ctx.router.sessions_of(from) {
        if let Some(last) = session.last_presence() {
            send_to_account(ctx, to, &last);
        }
    }
}

/// Tells `to` that every resource of `from` is now unavailable to it.
pub(super) fn send_unavailable(ctx: &XmppContext, from: &BareJid, to: &BareJid) {
    for session in ctx.router.sessions_of(from) {
        let unavailable = Element::new("presence", ns::CLIENT)
            .with_attr("from", session.jid.to_string())
            .with_attr("type", "unavailable");
        send_to_account(ctx, to, &unavailable);
    }
}

fn push_opt(ctx: &XmppContext, user: &BareJid, change: Option<RosterPush>) {
    if let Some(change) = change {
        push(ctx, user, &change);
    }
}

/// On disconnect: the session goes unavailable to everyone who saw it.
pub async fn disconnected(ctx: &XmppContext, session: &Arc<SessionHandle>) {
    if !session.availability().0 {
        return;
    }
    let unavailable = Element::new("presence", ns::CLIENT)
        .with_attr("from", session.jid.to_string())
        .with_attr("type", "unavailable");
    broadcast(ctx, session, unavailable).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presence(kind: Option<&str>) -> Element {
        let mut p = Element::new("presence", ns::CLIENT);
        if let Some(kind) = kind {
            p.set_attr("type", kind);
        }
        p
    }

    #[test]
    fn each_presence_type_has_its_audience() {
        for kind in ["subscribed", "unsubscribe", "unsubscribed"] {
            assert_eq!(
                Audience::of(&presence(Some(kind))),
                Audience::Interested,
                "{kind}"
            );
        }
        for kind in [None, Some("unavailable"), Some("subscribe"), Some("error")] {
            assert_eq!(
                Audience::of(&presence(kind)),
                Audience::Available,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn interested_and_available_resources_differ() {
        use crate::xmpp::router::{Router, RouterLimits};
        let router = Router::new(RouterLimits::from(
            &roost_common::config::C2sConfig::default(),
        ));
        let bind = |resource: &str| {
            let jid = jid::FullJid::new(&format!("alice@x.test/{resource}")).unwrap();
            let login = crate::xmpp::router::SessionLogin {
                client: crate::services::clients::ClientId::parse(resource).unwrap(),
                method: crate::services::clients::AuthMethod::Password,
                since: 0,
                connected: std::sync::Arc::new(crate::services::sessions::Connected {
                    peer: "127.0.0.1:1".parse().unwrap(),
                    tls: None,
                    mechanism: "PLAIN",
                    agent: Default::default(),
                }),
            };
            let (queue, _) = router.bind(jid, login, std::time::Instant::now()).unwrap();
            queue.handle()
        };
        // Fetched the roster, sent no presence (a client mid-login).
        let fetching = bind("fetching");
        fetching.set_wants_roster_pushes();
        // Available, never asked for the roster (a bot).
        let bot = bind("bot");
        bot.set_presence(Presence {
            available: true,
            ..Presence::default()
        });
        assert!(Audience::Interested.includes(&fetching));
        assert!(!Audience::Interested.includes(&bot));
        assert!(Audience::Available.includes(&bot));
        assert!(!Audience::Available.includes(&fetching));
    }

    #[test]
    fn a_large_subscription_request_is_stored_without_its_payload() {
        let request = Element::new("presence", ns::CLIENT)
            .with_attr("type", "subscribe")
            .with_attr("from", "mallory@x.test")
            .with_attr("to", "alice@x.test");
        let small = request
            .clone()
            .with_child(Element::new("status", ns::CLIENT).with_text("hi, it's me"));
        assert_eq!(
            stored_request(&small),
            String::from_utf8(small.to_bytes(ns::CLIENT)).unwrap()
        );
        let large = request
            .clone()
            .with_child(Element::new("status", ns::CLIENT).with_text("x".repeat(200_000)));
        let stored = stored_request(&large);
        assert!(stored.len() <= MAX_STORED_REQUEST, "{}", stored.len());
        assert!(stored.contains("type='subscribe'") && stored.contains("from='mallory@x.test'"));
        assert!(stored.contains("to='alice@x.test'"));
    }

    #[test]
    fn directed_presence_targets_are_bounded() {
        let mut directed = Vec::new();
        for i in 0..3 {
            let to = Jid::new(&format!("room{i}@muc.example.test/me")).unwrap();
            remember_directed(&mut directed, to, 3).unwrap();
        }
        let refused =
            remember_directed(&mut directed, Jid::new("one@more.test").unwrap(), 3).unwrap_err();
        assert_eq!(refused.condition, "resource-constraint");
        assert_eq!(refused.kind, crate::xmpp::stanza::ErrorType::Wait);
        assert_eq!(directed.len(), 3);
    }
}
