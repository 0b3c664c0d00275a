//! Rosters and presence subscriptions (RFC 6121 §2, §3, Appendix A).
//!
//! Each subscription stanza, outbound from a user or inbound to one, is one
//! method here that applies the state table in a single storage job and
//! says what changed; the XMPP layer only routes stanzas and pushes the
//! changed items. Every change bumps the account's roster version.
//!
//! A roster holds at most `limits.roster_items` items: whatever would add
//! one more (a roster set, a subscription request or pre-approval, an
//! invite redeemed) is refused with [`RosterError::Full`] and changes
//! nothing.
//!
//! On a host with roster delegation (issue 10) the roster service is the
//! source of truth: users cannot edit their rosters or change
//! subscriptions ([`RosterError::Managed`]); [`replace_items`] writes what
//! the service sent, in the same table, so presence and roster versions
//! work as for local rosters.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use jid::BareJid;
use roost_common::admin::{RosterInfo, RosterItemInfo};
use roost_common::config::Config;
use rusqlite::{Connection, OptionalExtension as _, params};

use super::ServiceError;
use crate::storage::Db;

/// Why a delegated user's roster edit is refused.
pub const ROSTER_MANAGED: &str = "rosters on this host are managed by an external service";
/// Why a subscription stanza from or to a delegated user is refused.
pub const SUBSCRIPTIONS_MANAGED: &str =
    "subscriptions on this host are managed by an external service";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscription {
    None,
    To,
    From,
    Both,
}

impl Subscription {
    pub fn as_str(self) -> &'static str {
        match self {
            Subscription::None => "none",
            Subscription::To => "to",
            Subscription::From => "from",
            Subscription::Both => "both",
        }
    }

    fn parse(s: &str) -> Subscription {
        match s {
            "to" => Subscription::To,
            "from" => Subscription::From,
            "both" => Subscription::Both,
            _ => Subscription::None,
        }
    }

    /// The contact receives the user's presence.
    pub fn has_from(self) -> bool {
        matches!(self, Subscription::From | Subscription::Both)
    }

    /// The user receives the contact's presence.
    pub fn has_to(self) -> bool {
        matches!(self, Subscription::To | Subscription::Both)
    }

    fn with_to(self, on: bool) -> Subscription {
        match (self.has_from(), on) {
            (true, true) => Subscription::Both,
            (true, false) => Subscription::From,
            (false, true) => Subscription::To,
            (false, false) => Subscription::None,
        }
    }

    fn with_from(self, on: bool) -> Subscription {
        match (self.has_to(), on) {
            (true, true) => Subscription::Both,
            (true, false) => Subscription::To,
            (false, true) => Subscription::From,
            (false, false) => Subscription::None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterItem {
    pub contact: String,
    pub name: Option<String>,
    pub subscription: Subscription,
    /// An outbound subscription request is pending ("ask='subscribe'").
    pub ask: bool,
    /// The contact's subscription request is pre-approved.
    pub approved: bool,
    pub groups: Vec<String>,
}

impl RosterItem {
    fn new(contact: &str) -> RosterItem {
        RosterItem {
            contact: contact.to_owned(),
            name: None,
            subscription: Subscription::None,
            ask: false,
            approved: false,
            groups: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Roster {
    pub version: i64,
    pub items: Vec<RosterItem>,
}

/// A roster change to push to the user's interested resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterPush {
    pub version: i64,
    pub item: RosterItem,
    /// The item was removed (push with `subscription='remove'`).
    pub removed: bool,
}

/// What the server does with an inbound subscription request.
#[derive(Debug)]
pub enum InboundSubscribe {
    /// The contact already has a subscription: answer `subscribed` at once.
    AlreadySubscribed,
    /// The request was pre-approved: answer `subscribed` and push the change.
    PreApproved(RosterPush),
    /// Stored; deliver it to the user's available resources.
    Pending,
}

/// What happens when the user sends `subscribed`.
#[derive(Debug)]
pub enum OutboundSubscribed {
    /// Approved a pending request: route `subscribed`, send presence.
    Approved(RosterPush),
    /// No request yet: recorded as pre-approval, nothing is routed.
    PreApproved(RosterPush),
    Nothing,
}

/// Most inbound subscription requests kept pending for one account.
const MAX_PENDING_REQUESTS: i64 = 1000;

/// What a session needs when it first becomes available.
#[derive(Debug)]
pub struct Arrival {
    pub roster: Roster,
    /// Stored inbound subscription requests, to deliver again.
    pub requests: Vec<String>,
    /// Offline messages wait: only then does the session ask for them, so
    /// a login with none costs no storage round trip more.
    pub offline_waiting: bool,
}

/// Why a roster change was refused.
#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    /// The change would add an item to a roster that holds the most allowed.
    #[error("the roster is full (at most {0} items)")]
    Full(usize),
    /// The host's rosters come from its roster service.
    #[error("{0}")]
    Managed(&'static str),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<crate::storage::StorageError> for RosterError {
    fn from(e: crate::storage::StorageError) -> Self {
        RosterError::Service(e.into())
    }
}

/// Where a roster change is one step of a larger job (redeeming an invite),
/// a full roster refuses the whole job.
impl From<RosterError> for ServiceError {
    fn from(e: RosterError) -> Self {
        match e {
            RosterError::Full(_) => ServiceError::Forbidden("the contact list is full"),
            RosterError::Managed(why) => ServiceError::Forbidden(why),
            RosterError::Service(e) => e,
        }
    }
}

impl From<rusqlite::Error> for RosterError {
    fn from(e: rusqlite::Error) -> Self {
        RosterError::Service(e.into())
    }
}

#[derive(Clone)]
pub struct Rosters {
    db: Db,
    /// Hosts whose rosters come from a roster service.
    delegated: Arc<HashSet<String>>,
}

fn parts(user: &BareJid) -> (String, String) {
    (
        user.domain().as_str().to_owned(),
        user.node()
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
    )
}

impl Rosters {
    pub fn new(db: Db, config: &Config) -> Rosters {
        let delegated = config
            .roster_delegation
            .keys()
            .map(|h| h.as_str().to_owned())
            .collect();
        Rosters {
            db,
            delegated: Arc::new(delegated),
        }
    }

    /// Whether `user`'s roster comes from a roster service.
    pub fn is_delegated(&self, user: &BareJid) -> bool {
        self.delegated.contains(user.domain().as_str())
    }

    fn editable(&self, user: &BareJid) -> Result<(), RosterError> {
        if self.is_delegated(user) {
            return Err(RosterError::Managed(ROSTER_MANAGED));
        }
        Ok(())
    }

    /// Subscription stanzas between `user` and `contact` change state only
    /// when neither roster comes from a roster service (as Prosody's
    /// mod_block_subscriptions, but refused rather than dropped silently).
    pub fn check_subscription(&self, user: &BareJid, contact: &BareJid) -> Result<(), RosterError> {
        if self.is_delegated(user) || self.is_delegated(contact) {
            return Err(RosterError::Managed(SUBSCRIPTIONS_MANAGED));
        }
        Ok(())
    }

    /// An account's roster for the admin, with where it comes from.
    pub async fn show(&self, user: &BareJid) -> Result<RosterInfo, ServiceError> {
        let (host, name) = parts(user);
        let delegated = self.is_delegated(user);
        let (roster, fetched_at) = self
            .db
            .call(move |c| -> Result<_, ServiceError> {
                let roster = roster_in(c, &host, &name)?;
                let fetched_at: Option<i64> = c
                    .prepare_cached(
                        "SELECT fetched_at FROM delegated_rosters WHERE host = ?1 AND username = ?2",
                    )?
                    .query_row(params![host, name], |r| r.get(0))
                    .optional()?;
                Ok((roster, fetched_at))
            })
            .await?;
        Ok(RosterInfo {
            jid: user.to_string(),
            delegated,
            fetched_at: fetched_at.filter(|_| delegated),
            version: roster.version,
            items: roster
                .items
                .into_iter()
                .map(|i| RosterItemInfo {
                    jid: i.contact,
                    name: i.name,
                    subscription: i.subscription.as_str().to_owned(),
                    ask: i.ask,
                    approved: i.approved,
                    groups: i.groups,
                })
                .collect(),
        })
    }

    pub async fn get(&self, user: &BareJid) -> Result<Roster, ServiceError> {
        let (host, name) = parts(user);
        self.db.call(move |c| roster_in(c, &host, &name)).await
    }

    /// The roster and pending subscription requests in one storage round
    /// trip: what initial presence needs, on every login (offline messages
    /// follow in pages, see [`super::Offline::next_page`]).
    pub async fn arrival(&self, user: &BareJid) -> Result<Arrival, ServiceError> {
        let (host, name) = parts(user);
        self.db
            .call(move |c| -> Result<Arrival, ServiceError> {
                Ok(Arrival {
                    roster: roster_in(c, &host, &name)?,
                    requests: requests_in(c, &host, &name)?,
                    offline_waiting: c
                        .prepare_cached(
                            "SELECT 1 FROM offline_messages WHERE host = ?1 AND username = ?2",
                        )?
                        .exists(params![host, name])?,
                })
            })
            .await
    }

    /// Adds or updates an item's name and groups (a roster set); a new item
    /// only while the roster has fewer than `max_items`.
    pub async fn set(
        &self,
        user: &BareJid,
        contact: &BareJid,
        name: Option<String>,
        groups: Vec<String>,
        max_items: usize,
    ) -> Result<RosterPush, RosterError> {
        self.editable(user)?;
        let (host, username) = parts(user);
        let contact = contact.to_string();
        self.db
            .call(move |c| -> Result<RosterPush, RosterError> {
                let mut item = match load(c, &host, &username, &contact)? {
                    Some(item) => item,
                    None => new_item(c, &host, &username, &contact, max_items)?,
                };
                item.name = name;
                item.groups = groups;
                Ok(save(c, &host, &username, &item)?)
            })
            .await
    }

    /// Removes an item; `None` if there was none. The caller cancels the
    /// subscriptions the item had (RFC 6121 §2.5.2).
    pub async fn remove(
        &self,
        user: &BareJid,
        contact: &BareJid,
    ) -> Result<Option<RosterPush>, RosterError> {
        self.editable(user)?;
        let (host, username) = parts(user);
        let contact = contact.to_string();
        self.db
            .call(move |c| -> Result<_, RosterError> {
                let Some(item) = load(c, &host, &username, &contact)? else {
                    return Ok(None);
                };
                c.prepare_cached("DELETE FROM roster_items WHERE host = ?1 AND username = ?2 AND contact = ?3")?
                    .execute(params![host, username, contact])?;
                c.prepare_cached(
                    "DELETE FROM subscription_requests WHERE host = ?1 AND username = ?2 AND contact = ?3",
                )?
                .execute(params![host, username, contact])?;
                let version = bump(c, &host, &username)?;
                Ok(Some(RosterPush {
                    version,
                    item,
                    removed: true,
                }))
            })
            .await
    }

    /// The user sends `subscribe` to `contact`; the item is created (within
    /// `max_items`) if missing.
    pub async fn outbound_subscribe(
        &self,
        user: &BareJid,
        contact: &BareJid,
        max_items: usize,
    ) -> Result<Option<RosterPush>, RosterError> {
        self.change(user, contact, Some(max_items), |item, _| {
            if item.subscription.has_to() || item.ask {
                return false;
            }
            item.ask = true;
            true
        })
        .await
    }

    /// `from` sends `subscribe` to the user; `stanza` is kept to redeliver it.
    pub async fn inbound_subscribe(
        &self,
        user: &BareJid,
        from: &BareJid,
        stanza: String,
    ) -> Result<InboundSubscribe, ServiceError> {
        if self.is_delegated(user) {
            return Err(ServiceError::Forbidden(SUBSCRIPTIONS_MANAGED));
        }
        let (host, username) = parts(user);
        let contact = from.to_string();
        self.db
            .call(move |c| -> Result<InboundSubscribe, ServiceError> {
                if !account_exists(c, &host, &username)? {
                    return Err(ServiceError::NotFound("account"));
                }
                let item = load(c, &host, &username, &contact)?;
                if let Some(mut item) = item {
                    if item.subscription.has_from() {
                        return Ok(InboundSubscribe::AlreadySubscribed);
                    }
                    if item.approved {
                        item.approved = false;
                        item.subscription = item.subscription.with_from(true);
                        return Ok(InboundSubscribe::PreApproved(save(c, &host, &username, &item)?));
                    }
                }
                let count: i64 = c
                    .prepare_cached("SELECT count(*) FROM subscription_requests WHERE host = ?1 AND username = ?2")?
                    .query_row(params![host, username], |r| r.get(0))?;
                if count >= MAX_PENDING_REQUESTS {
                    return Err(ServiceError::Invalid("too many pending subscription requests".into()));
                }
                c.prepare_cached(
                    "INSERT INTO subscription_requests (host, username, contact, stanza, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (host, username, contact) DO UPDATE SET stanza = ?4, received_at = ?5",
                )?
                .execute(params![host, username, contact, stanza, super::now()])?;
                Ok(InboundSubscribe::Pending)
            })
            .await
    }

    /// The user sends `subscribed` to `contact`. Approving a request or
    /// pre-approving a contact not yet in the roster adds an item, within
    /// `max_items`.
    pub async fn outbound_subscribed(
        &self,
        user: &BareJid,
        contact: &BareJid,
        max_items: usize,
    ) -> Result<OutboundSubscribed, RosterError> {
        self.editable(user)?;
        let (host, username) = parts(user);
        let contact = contact.to_string();
        self.db
            .call(move |c| -> Result<OutboundSubscribed, RosterError> {
                let mut item = match load(c, &host, &username, &contact)? {
                    Some(item) => item,
                    None => new_item(c, &host, &username, &contact, max_items)?,
                };
                let pending = take_request(c, &host, &username, &contact)?;
                if item.subscription.has_from() {
                    return Ok(OutboundSubscribed::Nothing);
                }
                if pending {
                    item.subscription = item.subscription.with_from(true);
                    item.approved = false;
                    return Ok(OutboundSubscribed::Approved(save(
                        c, &host, &username, &item,
                    )?));
                }
                if item.approved {
                    return Ok(OutboundSubscribed::Nothing);
                }
                item.approved = true;
                Ok(OutboundSubscribed::PreApproved(save(
                    c, &host, &username, &item,
                )?))
            })
            .await
    }

    /// `from` sends `subscribed` to the user. `Some` if it answered the
    /// user's pending request (then it is delivered), `None` to drop it.
    pub async fn inbound_subscribed(
        &self,
        user: &BareJid,
        from: &BareJid,
    ) -> Result<Option<RosterPush>, ServiceError> {
        self.change::<ServiceError>(user, from, None, |item, _| {
            if !item.ask {
                return false;
            }
            item.ask = false;
            item.subscription = item.subscription.with_to(true);
            true
        })
        .await
    }

    /// The user sends `unsubscribe` to `contact`.
    pub async fn outbound_unsubscribe(
        &self,
        user: &BareJid,
        contact: &BareJid,
    ) -> Result<Option<RosterPush>, ServiceError> {
        self.change::<ServiceError>(user, contact, None, |item, _| {
            let changed = item.ask || item.subscription.has_to();
            item.ask = false;
            item.subscription = item.subscription.with_to(false);
            changed
        })
        .await
    }

    /// `from` sends `unsubscribe` to the user. `Some` if it changed anything.
    pub async fn inbound_unsubscribe(
        &self,
        user: &BareJid,
        from: &BareJid,
    ) -> Result<Option<RosterPush>, ServiceError> {
        self.change::<ServiceError>(user, from, None, |item, had_request| {
            let changed = had_request || item.subscription.has_from();
            item.subscription = item.subscription.with_from(false);
            changed
        })
        .await
    }

    /// The user sends `unsubscribed` to `contact` (cancels or refuses).
    pub async fn outbound_unsubscribed(
        &self,
        user: &BareJid,
        contact: &BareJid,
    ) -> Result<Option<RosterPush>, ServiceError> {
        self.change::<ServiceError>(user, contact, None, |item, had_request| {
            let changed = had_request || item.approved || item.subscription.has_from();
            item.approved = false;
            item.subscription = item.subscription.with_from(false);
            changed
        })
        .await
    }

    /// `from` sends `unsubscribed` to the user. `Some` if it changed anything.
    pub async fn inbound_unsubscribed(
        &self,
        user: &BareJid,
        from: &BareJid,
    ) -> Result<Option<RosterPush>, ServiceError> {
        self.change::<ServiceError>(user, from, None, |item, _| {
            let changed = item.ask || item.subscription.has_to();
            item.ask = false;
            item.subscription = item.subscription.with_to(false);
            changed
        })
        .await
    }

    /// Applies `rule` to the item for `contact`, created when missing if
    /// `create` gives the roster's limit. The rule gets whether a pending
    /// inbound request existed (it is removed) and returns whether anything
    /// changed.
    async fn change<E>(
        &self,
        user: &BareJid,
        contact: &BareJid,
        create: Option<usize>,
        rule: impl FnOnce(&mut RosterItem, bool) -> bool + Send + 'static,
    ) -> Result<Option<RosterPush>, E>
    where
        E: From<RosterError>
            + From<ServiceError>
            + From<crate::storage::StorageError>
            + Send
            + 'static,
    {
        // A delegated roster changes only when its service says so: a
        // subscription stanza reaching it (from a contact's roster removal,
        // say) leaves it as it is.
        if self.is_delegated(user) {
            return Ok(None);
        }
        let (host, username) = parts(user);
        let contact = contact.to_string();
        self.db
            .call(move |c| -> Result<Option<RosterPush>, E> {
                let existing = load(c, &host, &username, &contact)?;
                let mut item = match (existing, create) {
                    (Some(item), _) => item,
                    (None, Some(max_items)) => new_item(c, &host, &username, &contact, max_items)?,
                    (None, None) => {
                        take_request(c, &host, &username, &contact)?;
                        return Ok(None);
                    }
                };
                let had_request = take_request(c, &host, &username, &contact)?;
                if !rule(&mut item, had_request) {
                    return Ok(None);
                }
                Ok(save(c, &host, &username, &item).map(Some)?)
            })
            .await
    }
}

fn roster_in(c: &Connection, host: &str, name: &str) -> Result<Roster, ServiceError> {
    let version = c
        .prepare_cached("SELECT roster_version FROM accounts WHERE host = ?1 AND username = ?2")?
        .query_row(params![host, name], |r| r.get(0))
        .optional()?
        .ok_or(ServiceError::NotFound("account"))?;
    let mut st = c.prepare_cached(
        "SELECT contact, name, subscription, ask_subscribe, approved, groups
         FROM roster_items WHERE host = ?1 AND username = ?2 ORDER BY contact",
    )?;
    let items = st
        .query_map(params![host, name], item_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Roster { version, items })
}

fn account_exists(c: &Connection, host: &str, username: &str) -> Result<bool, ServiceError> {
    Ok(
        c.prepare_cached("SELECT 1 FROM accounts WHERE host = ?1 AND username = ?2")?
            .exists(params![host, username])?,
    )
}

/// A new item for `contact`, if the roster has room for one more.
fn new_item(
    c: &Connection,
    host: &str,
    username: &str,
    contact: &str,
    max_items: usize,
) -> Result<RosterItem, RosterError> {
    let count: i64 = c
        .prepare_cached("SELECT count(*) FROM roster_items WHERE host = ?1 AND username = ?2")?
        .query_row(params![host, username], |r| r.get(0))?;
    if usize::try_from(count).unwrap_or(usize::MAX) >= max_items {
        return Err(RosterError::Full(max_items));
    }
    Ok(RosterItem::new(contact))
}

fn requests_in(c: &Connection, host: &str, username: &str) -> Result<Vec<String>, ServiceError> {
    let mut st = c.prepare_cached(
        "SELECT stanza FROM subscription_requests WHERE host = ?1 AND username = ?2 ORDER BY received_at",
    )?;
    let rows = st.query_map(params![host, username], |r| r.get(0))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

fn item_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RosterItem> {
    let groups: String = r.get(5)?;
    Ok(RosterItem {
        contact: r.get(0)?,
        name: r.get(1)?,
        subscription: Subscription::parse(&r.get::<_, String>(2)?),
        ask: r.get(3)?,
        approved: r.get(4)?,
        groups: serde_json::from_str(&groups).unwrap_or_default(),
    })
}

fn load(
    c: &Connection,
    host: &str,
    username: &str,
    contact: &str,
) -> Result<Option<RosterItem>, ServiceError> {
    Ok(c.prepare_cached(
        "SELECT contact, name, subscription, ask_subscribe, approved, groups
         FROM roster_items WHERE host = ?1 AND username = ?2 AND contact = ?3",
    )?
    .query_row(params![host, username, contact], item_from_row)
    .optional()?)
}

fn save(
    c: &Connection,
    host: &str,
    username: &str,
    item: &RosterItem,
) -> Result<RosterPush, ServiceError> {
    let version = bump(c, host, username)?;
    c.prepare_cached(
        "INSERT INTO roster_items (host, username, contact, name, subscription, ask_subscribe, approved, groups, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (host, username, contact) DO UPDATE SET
           name = ?4, subscription = ?5, ask_subscribe = ?6, approved = ?7, groups = ?8, version = ?9",
    )?
    .execute(params![
        host,
        username,
        item.contact,
        item.name,
        item.subscription.as_str(),
        item.ask,
        item.approved,
        serde_json::to_string(&item.groups).expect("strings serialise"),
        version
    ])?;
    Ok(RosterPush {
        version,
        item: item.clone(),
        removed: false,
    })
}

/// Sets `user`'s subscription with `contact` (both local accounts) outright,
/// as redeeming a contact invite does, clearing pending requests between
/// them; the change to push, if anything changed. A new item needs room
/// within `max_items`. On the storage thread.
pub(crate) fn set_subscription(
    c: &Connection,
    user: &BareJid,
    contact: &BareJid,
    subscription: Subscription,
    max_items: usize,
) -> Result<Option<RosterPush>, RosterError> {
    let (host, username) = parts(user);
    let contact = contact.to_string();
    let existing = load(c, &host, &username, &contact)?;
    let mut item = match &existing {
        Some(item) => item.clone(),
        None => new_item(c, &host, &username, &contact, max_items)?,
    };
    let had_request = take_request(c, &host, &username, &contact)?;
    item.subscription = subscription;
    item.ask = false;
    item.approved = false;
    if existing.as_ref() == Some(&item) && !had_request {
        return Ok(None);
    }
    Ok(save(c, &host, &username, &item).map(Some)?)
}

/// Increments and returns the account's roster version.
/// How one contact changed when a roster was replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemChange {
    /// New, or newly a mutual subscription: presence starts flowing.
    Added,
    /// Gone: presence stops.
    Removed,
    /// Pushed only: another name, other groups, or a contact listed
    /// without presence.
    Changed,
}

/// Makes `user`'s roster exactly `wanted` (contact, name, groups, and
/// `both`, or `none` for a contact listed without presence), with nothing
/// pending, as a roster service says it is; one version per changed item.
/// `None` when the account does not exist. On the storage thread.
pub(crate) fn replace_items(
    c: &Connection,
    user: &BareJid,
    wanted: Vec<(String, Option<String>, Vec<String>, Subscription)>,
) -> Result<Option<Vec<(ItemChange, RosterPush)>>, ServiceError> {
    let (host, username) = parts(user);
    if !account_exists(c, &host, &username)? {
        return Ok(None);
    }
    let mut current: HashMap<String, RosterItem> = roster_in(c, &host, &username)?
        .items
        .into_iter()
        .map(|i| (i.contact.clone(), i))
        .collect();
    let mut changes = Vec::new();
    for (contact, name, groups, subscription) in wanted {
        let before = current.remove(&contact);
        let starts_presence = subscription == Subscription::Both
            && before
                .as_ref()
                .is_none_or(|old| old.subscription != Subscription::Both);
        let change = match &before {
            _ if starts_presence => ItemChange::Added,
            None => ItemChange::Changed,
            Some(old)
                if old.subscription != subscription
                    || old.ask
                    || old.approved
                    || old.name != name
                    || old.groups != groups =>
            {
                ItemChange::Changed
            }
            Some(_) => continue,
        };
        let item = RosterItem {
            contact,
            name,
            subscription,
            ask: false,
            approved: false,
            groups,
        };
        take_request(c, &host, &username, &item.contact)?;
        changes.push((change, save(c, &host, &username, &item)?));
    }
    let mut gone: Vec<RosterItem> = current.into_values().collect();
    gone.sort_by(|a, b| a.contact.cmp(&b.contact));
    for item in gone {
        c.prepare_cached(
            "DELETE FROM roster_items WHERE host = ?1 AND username = ?2 AND contact = ?3",
        )?
        .execute(params![host, username, item.contact])?;
        take_request(c, &host, &username, &item.contact)?;
        let version = bump(c, &host, &username)?;
        changes.push((
            ItemChange::Removed,
            RosterPush {
                version,
                item,
                removed: true,
            },
        ));
    }
    Ok(Some(changes))
}

fn bump(c: &Connection, host: &str, username: &str) -> Result<i64, ServiceError> {
    c.prepare_cached(
        "UPDATE accounts SET roster_version = roster_version + 1
         WHERE host = ?1 AND username = ?2 RETURNING roster_version",
    )?
    .query_row(params![host, username], |r| r.get(0))
    .optional()?
    .ok_or(ServiceError::NotFound("account"))
}

/// Removes a pending inbound request; whether there was one.
fn take_request(
    c: &Connection,
    host: &str,
    username: &str,
    contact: &str,
) -> Result<bool, ServiceError> {
    Ok(c.prepare_cached(
        "DELETE FROM subscription_requests WHERE host = ?1 AND username = ?2 AND contact = ?3",
    )?
    .execute(params![host, username, contact])?
        > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use roost_common::config::Synchronous;

    const MAX: usize = 1000;

    async fn setup() -> (tempfile::TempDir, Rosters, BareJid, BareJid) {
        let dir = tempfile::tempdir().unwrap();
        let (db, _thread) = Db::open(&dir.path().join("t.sqlite3"), Synchronous::Normal).unwrap();
        db.call(|c| -> Result<(), ServiceError> {
            c.execute_batch(
                "INSERT INTO accounts (host, username, created_at) VALUES ('x.test', 'alice', 0), ('x.test', 'bob', 0);",
            )?;
            Ok(())
        })
        .await
        .unwrap();
        let alice = BareJid::new("alice@x.test").unwrap();
        let bob = BareJid::new("bob@x.test").unwrap();
        (dir, Rosters::new(db, &Config::default()), alice, bob)
    }

    fn sub(roster: &Roster, contact: &BareJid) -> (Subscription, bool) {
        let item = roster
            .items
            .iter()
            .find(|i| i.contact == contact.to_string())
            .unwrap();
        (item.subscription, item.ask)
    }

    #[tokio::test]
    async fn mutual_subscription_walks_the_state_table() {
        let (_dir, r, alice, bob) = setup().await;
        let push = r
            .outbound_subscribe(&alice, &bob, MAX)
            .await
            .unwrap()
            .unwrap();
        assert!(push.item.ask);
        assert!(
            r.outbound_subscribe(&alice, &bob, MAX)
                .await
                .unwrap()
                .is_none(),
            "already asked"
        );
        assert!(matches!(
            r.inbound_subscribe(&bob, &alice, "<presence/>".into())
                .await
                .unwrap(),
            InboundSubscribe::Pending
        ));
        assert_eq!(
            r.arrival(&bob).await.unwrap().requests,
            vec!["<presence/>".to_owned()]
        );
        let OutboundSubscribed::Approved(push) =
            r.outbound_subscribed(&bob, &alice, MAX).await.unwrap()
        else {
            panic!("pending request not approved")
        };
        assert_eq!(push.item.subscription, Subscription::From);
        assert!(r.arrival(&bob).await.unwrap().requests.is_empty());
        r.inbound_subscribed(&alice, &bob).await.unwrap().unwrap();
        assert_eq!(
            sub(&r.get(&alice).await.unwrap(), &bob),
            (Subscription::To, false)
        );
        // An unsolicited `subscribed` changes nothing.
        assert!(r.inbound_subscribed(&alice, &bob).await.unwrap().is_none());

        // The other direction, pre-approved this time.
        let OutboundSubscribed::PreApproved(_) =
            r.outbound_subscribed(&alice, &bob, MAX).await.unwrap()
        else {
            panic!("no pre-approval")
        };
        r.outbound_subscribe(&bob, &alice, MAX)
            .await
            .unwrap()
            .unwrap();
        let InboundSubscribe::PreApproved(push) = r
            .inbound_subscribe(&alice, &bob, String::new())
            .await
            .unwrap()
        else {
            panic!("pre-approval ignored")
        };
        assert_eq!(push.item.subscription, Subscription::Both);
        r.inbound_subscribed(&bob, &alice).await.unwrap().unwrap();
        assert_eq!(
            sub(&r.get(&bob).await.unwrap(), &alice),
            (Subscription::Both, false)
        );
        assert!(matches!(
            r.inbound_subscribe(&alice, &bob, String::new())
                .await
                .unwrap(),
            InboundSubscribe::AlreadySubscribed
        ));

        // Alice stops receiving Bob's presence.
        r.outbound_unsubscribe(&alice, &bob).await.unwrap().unwrap();
        r.inbound_unsubscribe(&bob, &alice).await.unwrap().unwrap();
        assert_eq!(
            sub(&r.get(&alice).await.unwrap(), &bob),
            (Subscription::From, false)
        );
        assert_eq!(
            sub(&r.get(&bob).await.unwrap(), &alice),
            (Subscription::To, false)
        );
        // Bob cancels Alice's subscription... which she no longer has: no change.
        assert!(
            r.outbound_unsubscribed(&bob, &alice)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn set_remove_and_versions() {
        let (_dir, r, alice, bob) = setup().await;
        let v0 = r.get(&alice).await.unwrap().version;
        let push = r
            .set(
                &alice,
                &bob,
                Some("Bob".into()),
                vec!["Friends".into()],
                MAX,
            )
            .await
            .unwrap();
        assert!(push.version > v0);
        let roster = r.get(&alice).await.unwrap();
        assert_eq!(roster.version, push.version);
        assert_eq!(roster.items[0].name.as_deref(), Some("Bob"));
        assert_eq!(roster.items[0].groups, vec!["Friends".to_owned()]);
        let removed = r.remove(&alice, &bob).await.unwrap().unwrap();
        assert!(removed.removed && removed.version > push.version);
        assert!(r.get(&alice).await.unwrap().items.is_empty());
        assert!(r.remove(&alice, &bob).await.unwrap().is_none());
        let nobody = BareJid::new("nobody@x.test").unwrap();
        assert!(r.get(&nobody).await.is_err());
    }

    #[tokio::test]
    async fn a_full_roster_takes_no_new_item() {
        let (_dir, r, alice, bob) = setup().await;
        let carol = BareJid::new("carol@x.test").unwrap();
        r.set(&alice, &bob, None, Vec::new(), 1).await.unwrap();
        // Changing an item already there is fine.
        r.set(&alice, &bob, Some("Bob".into()), Vec::new(), 1)
            .await
            .unwrap();
        assert!(matches!(
            r.set(&alice, &carol, None, Vec::new(), 1).await,
            Err(RosterError::Full(1))
        ));
        assert!(matches!(
            r.outbound_subscribe(&alice, &carol, 1).await,
            Err(RosterError::Full(1))
        ));
        assert!(matches!(
            r.outbound_subscribed(&alice, &carol, 1).await,
            Err(RosterError::Full(1))
        ));
        assert!(
            r.outbound_subscribe(&alice, &bob, 1)
                .await
                .unwrap()
                .is_some()
        );
        let roster = r.get(&alice).await.unwrap();
        assert_eq!(roster.items.len(), 1, "{roster:?}");
    }

    #[tokio::test]
    async fn a_request_to_no_account_is_not_found() {
        let (_dir, r, alice, _bob) = setup().await;
        let nobody = BareJid::new("nobody@x.test").unwrap();
        assert!(matches!(
            r.inbound_subscribe(&nobody, &alice, "<presence/>".into())
                .await,
            Err(ServiceError::NotFound(_))
        ));
    }
}
