//! Roster delegation (issue 10, Prosody's mod_http_roster_admin): on a
//! host with `[roster_delegation."HOST"]`, users' rosters come from an
//! external HTTP service.
//!
//! A fetch replaces the stored roster ([`rosters::replace_items`]), so the
//! last good copy survives restarts and outages, and the XMPP side reads
//! rosters as it always does. Fetches happen at the first roster get of a
//! user's online period ([`RosterDelegation::before_roster_get`]) and on
//! refresh ([`RosterDelegation::refresh`], the refresh endpoint and
//! `roostctl roster refresh`). Concurrent fetches of one user are one
//! request ([`single_flight`]); each runs in its own task under the
//! backend's timeout and concurrency cap ([`backend`]), so a slow service
//! delays only the callers waiting for that user, never the storage
//! thread or anyone else. Changes reach online resources through an
//! [`AccountEvent::RosterReplaced`].

pub mod backend;
mod single_flight;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jid::{BareJid, FullJid};
use roost_common::admin::RosterRefreshFailure;
use roost_common::config::{AddressPrefix, Config, LimitsConfig, Live};
use roost_http_proto::roster_backend;
use rusqlite::params;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use self::backend::{Backend, SetupError};
use self::single_flight::SingleFlight;
use super::audit::{self, Actor, Audit, AuditAction, Entry};
use super::events::{AccountEvent, Events};
use super::rosters::{self, Subscription};
use super::{ServiceError, Sessions};
use crate::storage::Db;

/// Users remembered as fetched during their online period before the map
/// is first pruned to those still online.
const FRESH_PRUNE_AT: usize = 10_000;

/// Time a refresh call has beyond the backend's timeout to answer.
const REFRESH_GRACE: Duration = Duration::from_secs(1);

/// What a refresh did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RefreshOutcome {
    /// Rosters fetched and stored, plus valid usernames without an account
    /// (nothing to fetch: their first login will).
    pub updated: u32,
    pub failures: Vec<RosterRefreshFailure>,
}

/// Why a refresh caller is turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefreshDenied {
    #[error("roster delegation is not configured for this host")]
    NotDelegated,
    #[error("this address may not refresh rosters")]
    Address,
    #[error("a valid 'Authorization: Bearer' secret is needed to refresh rosters")]
    Secret,
    /// Through a reverse proxy every caller has the proxy's address, so an
    /// address list says nothing: only a secret tells callers apart.
    #[error(
        "a request through a proxy may refresh rosters only with the refresh secret (refresh_secret_file)"
    )]
    Proxied,
}

/// One delegated host.
struct Host {
    backend: Backend,
    refresh_allow: Vec<AddressPrefix>,
    /// SHA-256 of the refresh secret: compared in constant time whatever
    /// the length of what a caller sends.
    refresh_secret: Option<[u8; 32]>,
    refresh_body_limit: usize,
}

/// What a fetch ended with, shared by everyone who waited for it.
type FetchResult = Result<(), String>;

/// Why a fetch runs. A refresh means the roster changed: it does not take
/// a roster get's fetch, which may have been answered before, as its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FetchOrigin {
    RosterGet,
    Refresh,
}

#[derive(Clone)]
pub struct RosterDelegation {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    audit: Audit,
    events: Events,
    sessions: Sessions,
    hosts: HashMap<String, Host>,
    /// Every host served, delegated or not.
    served: HashSet<String>,
    /// `[limits]`, read at each fetch so a reload applies.
    limits: Live<LimitsConfig>,
    fetches: SingleFlight<BareJid, FetchResult, FetchOrigin>,
    /// Users whose roster was fetched in their current online period,
    /// with the sessions of that period: a roster get while one of them
    /// is bound is answered from storage.
    fresh: Mutex<HashMap<BareJid, Vec<(FullJid, i64)>>>,
    /// The size of `fresh` at which it is pruned to users still online.
    fresh_prune_at: AtomicUsize,
    /// Sessions whose roster get waits for a fetch of their user: their
    /// answers carry the roster, so the fetch's pushes skip them.
    waiting: Arc<Mutex<HashMap<BareJid, Vec<FullJid>>>>,
}

impl RosterDelegation {
    /// Reads the configured secret files and builds one HTTP client per
    /// delegated host.
    pub fn new(
        db: Db,
        config: &Config,
        events: Events,
        sessions: Sessions,
        audit: Audit,
    ) -> Result<RosterDelegation, SetupError> {
        let mut hosts = HashMap::new();
        for (name, delegation) in &config.roster_delegation {
            let refresh_secret = match &delegation.refresh_secret_file {
                Some(path) => Some(digest(&backend::read_secret(path).map_err(|message| {
                    SetupError {
                        host: name.to_string(),
                        message,
                    }
                })?)),
                None => None,
            };
            hosts.insert(
                name.to_string(),
                Host {
                    backend: Backend::new(name.as_str(), delegation)?,
                    refresh_allow: delegation.refresh_allow.clone(),
                    refresh_secret,
                    refresh_body_limit: delegation.refresh_body_limit,
                },
            );
        }
        Ok(RosterDelegation {
            inner: Arc::new(Inner {
                db,
                audit,
                events,
                sessions,
                hosts,
                served: config.hosts.iter().map(ToString::to_string).collect(),
                limits: config.limits.clone(),
                fetches: SingleFlight::default(),
                fresh: Mutex::default(),
                fresh_prune_at: AtomicUsize::new(FRESH_PRUNE_AT),
                waiting: Arc::default(),
            }),
        })
    }

    /// Whether `host`'s rosters come from a roster service.
    pub fn delegates(&self, host: &str) -> bool {
        self.inner.hosts.contains_key(host)
    }

    /// The largest refresh body `host` takes, if it delegates rosters.
    pub fn refresh_body_limit(&self, host: &str) -> Option<usize> {
        self.inner.hosts.get(host).map(|h| h.refresh_body_limit)
    }

    /// The delegated host a refresh request is for: the one its `Host`
    /// header names or, when that names none of ours (an address, a
    /// proxy's name) and only one host delegates, that one. `None` when
    /// the request names a host without delegation or cannot be placed.
    pub fn refresh_host(&self, named: Option<&str>) -> Option<String> {
        let named = named.map(str::to_ascii_lowercase);
        match named {
            Some(name) if self.inner.hosts.contains_key(&name) => Some(name),
            Some(name) if self.inner.served.contains(&name) => None,
            _ if self.inner.hosts.len() == 1 => self.inner.hosts.keys().next().cloned(),
            _ => None,
        }
    }

    /// Whether a refresh call for `host` from `peer`, with this bearer
    /// token if it sent one, may go ahead; `proxied` when it says it was
    /// forwarded by a proxy.
    pub fn check_refresh_caller(
        &self,
        host: &str,
        peer: IpAddr,
        bearer: Option<&str>,
        proxied: bool,
    ) -> Result<(), RefreshDenied> {
        let host = self
            .inner
            .hosts
            .get(host)
            .ok_or(RefreshDenied::NotDelegated)?;
        if !host.refresh_allow.iter().any(|p| p.contains(peer)) {
            return Err(RefreshDenied::Address);
        }
        if proxied && host.refresh_secret.is_none() {
            return Err(RefreshDenied::Proxied);
        }
        if let Some(expected) = &host.refresh_secret {
            // Hashed first, so that the comparison takes the same time
            // whatever the caller sent.
            let given = bearer.map(digest).unwrap_or([0; 32]);
            if !bool::from(given.ct_eq(expected)) {
                return Err(RefreshDenied::Secret);
            }
        }
        Ok(())
    }

    /// Before `session` of a delegated user reads its roster: fetches it
    /// at the first roster get of the user's online period (as Prosody,
    /// which keeps the roster while any resource is online), or when the
    /// last fetch failed. A failed fetch is logged and leaves the stored
    /// copy; the caller answers from storage either way.
    pub async fn before_roster_get(&self, session: &FullJid) {
        let user = session.to_bare();
        if !self.delegates(user.domain().as_str()) {
            return;
        }
        let live = self.live_sessions(&user);
        {
            let mut fresh = self.inner.fresh.lock().expect("fresh lock");
            // The period goes on while a session that was bound at the
            // fetch, or that asked for the roster since, still is.
            if let Some(mark) = fresh.get_mut(&user)
                && live.iter().any(|s| mark.contains(s))
            {
                *mark = live;
                return;
            }
        }
        let fetched = {
            let _waiting = Waiting::new(&self.inner.waiting, &user, session);
            self.fetch(&user, FetchOrigin::RosterGet).await.is_ok()
        };
        let live = self.live_sessions(&user);
        let mut fresh = self.inner.fresh.lock().expect("fresh lock");
        if fetched {
            if fresh.len() >= self.inner.fresh_prune_at.load(Ordering::Relaxed) {
                let sessions = &self.inner.sessions;
                fresh.retain(|u, _| !sessions.sessions(u).is_empty());
                // Pruned again only when it has doubled: with many users
                // online each prune keeps most, and must not run per fetch.
                self.inner
                    .fresh_prune_at
                    .store((fresh.len() * 2).max(FRESH_PRUNE_AT), Ordering::Relaxed);
            }
            fresh.insert(user, live);
        } else {
            fresh.remove(&user);
        }
    }

    /// The user's bound sessions, each known by its JID and bind time
    /// (a resource may come back in a later period).
    fn live_sessions(&self, user: &BareJid) -> Vec<(FullJid, i64)> {
        self.inner
            .sessions
            .sessions(user)
            .into_iter()
            .map(|s| (s.jid, s.since))
            .collect()
    }

    /// Refreshes the rosters of `usernames` on `host` (the refresh endpoint).
    pub async fn refresh(
        &self,
        host: &str,
        usernames: &[String],
    ) -> Result<RefreshOutcome, ServiceError> {
        if !self.delegates(host) {
            return Err(ServiceError::NotFound("roster delegation for this host"));
        }
        let mut users = BTreeSet::new();
        let mut invalid = BTreeSet::new();
        for name in usernames {
            match BareJid::new(&format!("{name}@{host}")) {
                Ok(jid) if !name.is_empty() && jid.domain().as_str() == host => {
                    users.insert(jid);
                }
                _ => {
                    invalid.insert(name.clone());
                }
            }
        }
        let invalid = invalid
            .into_iter()
            .map(|name| RosterRefreshFailure {
                jid: format!("{name}@{host}"),
                reason: "not a valid username".into(),
            })
            .collect();
        Ok(self.refresh_users(users, invalid).await)
    }

    /// Refreshes the rosters of `jids` (`roostctl roster refresh`): every
    /// one must be a valid JID on a delegated host, or nothing is fetched.
    /// Recorded as one entry once done: the account when there is one,
    /// the counts otherwise.
    pub async fn refresh_jids(
        &self,
        actor: &Actor,
        jids: &[String],
    ) -> Result<RefreshOutcome, ServiceError> {
        let entry = match jids {
            [one] => Entry::new(actor, AuditAction::RosterRefresh).jid(one),
            _ => Entry::new(actor, AuditAction::RosterRefresh),
        };
        let result = self.refresh_checked(jids).await;
        let entry = match &result {
            Ok(outcome) => {
                let entry = entry.detail(format!(
                    "updated={} errors={}",
                    outcome.updated,
                    outcome.failures.len()
                ));
                if outcome.failures.is_empty() {
                    entry
                } else {
                    entry.outcome("partly_failed")
                }
            }
            Err(e) => entry.outcome(audit::code(e)),
        };
        self.inner.audit.record_apart(entry).await;
        result
    }

    async fn refresh_checked(&self, jids: &[String]) -> Result<RefreshOutcome, ServiceError> {
        let mut users = BTreeSet::new();
        for text in jids {
            let jid = BareJid::new(text)
                .ok()
                .filter(|j| j.node().is_some())
                .ok_or_else(|| ServiceError::Invalid(format!("'{text}' is not a user JID")))?;
            if !self.delegates(jid.domain().as_str()) {
                return Err(ServiceError::Invalid(format!(
                    "{} has no roster delegation ([roster_delegation.\"{}\"] in the config)",
                    jid.domain(),
                    jid.domain()
                )));
            }
            users.insert(jid);
        }
        Ok(self.refresh_users(users, Vec::new()).await)
    }

    async fn refresh_users(
        &self,
        users: BTreeSet<BareJid>,
        mut failures: Vec<RosterRefreshFailure>,
    ) -> RefreshOutcome {
        if users.is_empty() {
            return RefreshOutcome {
                updated: 0,
                failures,
            };
        }
        let timeout = users
            .iter()
            .filter_map(|u| self.inner.hosts.get(u.domain().as_str()))
            .map(|h| h.backend.timeout())
            .max()
            .unwrap_or_default();
        let deadline = tokio::time::Instant::now() + timeout + REFRESH_GRACE;
        let list: Vec<BareJid> = users.into_iter().collect();
        let existing = match tokio::time::timeout_at(deadline, self.existing(list.clone())).await {
            Ok(Ok(existing)) => existing,
            failed => {
                let reason = match failed {
                    Ok(Err(e)) => format!("cannot read accounts: {e}"),
                    _ => "storage too busy to read accounts in time".to_owned(),
                };
                failures.extend(list.iter().map(|u| RosterRefreshFailure {
                    jid: u.to_string(),
                    reason: reason.clone(),
                }));
                return RefreshOutcome {
                    updated: 0,
                    failures,
                };
            }
        };
        let mut updated = 0;
        let mut pending = tokio::task::JoinSet::new();
        let mut unfinished = HashSet::new();
        for user in list {
            if !existing.contains(&user) {
                updated += 1;
                continue;
            }
            unfinished.insert(user.clone());
            let this = self.clone();
            pending.spawn(async move {
                let result = this.fetch(&user, FetchOrigin::Refresh).await;
                (user, result)
            });
        }
        while let Ok(Some(joined)) = tokio::time::timeout_at(deadline, pending.join_next()).await {
            let Ok((user, result)) = joined else { continue };
            unfinished.remove(&user);
            match result {
                Ok(()) => updated += 1,
                Err(reason) => failures.push(RosterRefreshFailure {
                    jid: user.to_string(),
                    reason,
                }),
            }
        }
        // Dropping `pending` stops only the waiting: each fetch runs on in
        // its own task (single flight), bounded by the backend's timeout.
        if !unfinished.is_empty() {
            let within = (timeout + REFRESH_GRACE).as_millis();
            tracing::warn!(
                "roster refresh: {} fetches not done within {within} ms",
                unfinished.len()
            );
            let mut unfinished: Vec<BareJid> = unfinished.into_iter().collect();
            unfinished.sort();
            failures.extend(unfinished.into_iter().map(|u| RosterRefreshFailure {
                jid: u.to_string(),
                reason: format!("not done within {within} ms"),
            }));
        }
        RefreshOutcome { updated, failures }
    }

    /// Which of `users` have accounts, in one storage job.
    async fn existing(&self, users: Vec<BareJid>) -> Result<HashSet<BareJid>, ServiceError> {
        self.inner
            .db
            .call(move |c| -> Result<HashSet<BareJid>, ServiceError> {
                let mut st =
                    c.prepare_cached("SELECT 1 FROM accounts WHERE host = ?1 AND username = ?2")?;
                let mut found = HashSet::new();
                for user in users {
                    let name = user
                        .node()
                        .map(|n| n.as_str().to_owned())
                        .unwrap_or_default();
                    if st.exists(params![user.domain().as_str(), name])? {
                        found.insert(user);
                    }
                }
                Ok(found)
            })
            .await
    }

    /// Fetches `user`'s roster and stores it; joins a fetch of the same
    /// user already running. `Err` says why, already logged.
    /// Fetches `user`'s roster and stores it, or joins a fetch of the user
    /// already running: a roster get joins any, a refresh only another
    /// refresh's (a roster get's may have been answered before the change;
    /// the refresh waits for it and fetches anew).
    async fn fetch(&self, user: &BareJid, origin: FetchOrigin) -> FetchResult {
        let joins: fn(FetchOrigin) -> bool = match origin {
            FetchOrigin::RosterGet => |_| true,
            FetchOrigin::Refresh => |o| o == FetchOrigin::Refresh,
        };
        let this = self.clone();
        let owned = user.clone();
        self.inner
            .fetches
            .run(user.clone(), origin, joins, async move {
                this.fetch_and_store(&owned).await
            })
            .await
            .unwrap_or_else(|| Err("the fetch ended unexpectedly".into()))
    }

    async fn fetch_and_store(&self, user: &BareJid) -> FetchResult {
        let Some(host) = self.inner.hosts.get(user.domain().as_str()) else {
            return Err("no roster delegation for this host".into());
        };
        let username = user
            .node()
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default();
        let url = host.backend.url_for(&username);
        let fail = |reason: String| {
            tracing::warn!(user = %user, url = %url, "roster service fetch failed: {reason}");
            Err(reason)
        };
        let body = match host.backend.fetch(&username).await {
            Ok(body) => body,
            Err(e) => return fail(e.to_string()),
        };
        let parsed = match roster_backend::parse(&body, user, self.inner.limits.get().roster_items)
        {
            Ok(parsed) => parsed,
            Err(e) => return fail(format!("answer is not a roster: {e}")),
        };
        if !parsed.skipped.is_empty() {
            tracing::warn!(
                user = %user,
                url = %url,
                "roster service answer: {} entries skipped or cut: {}",
                parsed.skipped.len(),
                parsed.skipped.iter().take(5).cloned().collect::<Vec<_>>().join("; ")
            );
        }
        // Presence flows only between users whose rosters a service keeps:
        // anyone else never agreed to share theirs, so such a contact is
        // listed without a subscription.
        let mut unshared = 0;
        let wanted = parsed
            .items
            .into_iter()
            .map(|i| {
                let subscription = if self.delegates(i.jid.domain().as_str()) {
                    Subscription::Both
                } else {
                    unshared += 1;
                    Subscription::None
                };
                (i.jid.to_string(), i.name, i.groups, subscription)
            })
            .collect();
        if unshared > 0 {
            tracing::info!(
                user = %user,
                "{unshared} contacts on hosts without roster delegation are listed without presence"
            );
        }
        let owner = user.clone();
        let stored = self
            .inner
            .db
            .call(move |c| -> Result<_, ServiceError> {
                let changes = rosters::replace_items(c, &owner, wanted)?;
                if changes.is_some() {
                    let (host, name) = (owner.domain().as_str(), owner.node().map_or("", |n| n.as_str()));
                    c.prepare_cached(
                        "INSERT INTO delegated_rosters (host, username, fetched_at) VALUES (?1, ?2, ?3)
                         ON CONFLICT (host, username) DO UPDATE SET fetched_at = ?3",
                    )?
                    .execute(params![host, name, super::now()])?;
                }
                Ok(changes)
            })
            .await;
        match stored {
            Ok(Some(changes)) if !changes.is_empty() => {
                let answering = self
                    .inner
                    .waiting
                    .lock()
                    .expect("waiting lock")
                    .get(user)
                    .cloned()
                    .unwrap_or_default();
                self.inner.events.emit(AccountEvent::RosterReplaced {
                    user: user.clone(),
                    changes,
                    answering,
                });
                Ok(())
            }
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err("no such account".into()),
            Err(e) => {
                tracing::error!(user = %user, "cannot store the fetched roster: {e}");
                Err(format!("cannot store the roster: {e}"))
            }
        }
    }
}

/// A session's roster get waiting for a fetch, until it is dropped (also
/// when the connection goes away mid-wait).
struct Waiting {
    map: Arc<Mutex<HashMap<BareJid, Vec<FullJid>>>>,
    user: BareJid,
    session: FullJid,
}

impl Waiting {
    fn new(
        map: &Arc<Mutex<HashMap<BareJid, Vec<FullJid>>>>,
        user: &BareJid,
        session: &FullJid,
    ) -> Waiting {
        map.lock()
            .expect("waiting lock")
            .entry(user.clone())
            .or_default()
            .push(session.clone());
        Waiting {
            map: map.clone(),
            user: user.clone(),
            session: session.clone(),
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let Ok(mut map) = self.map.lock() else { return };
        if let Some(sessions) = map.get_mut(&self.user) {
            if let Some(i) = sessions.iter().position(|s| *s == self.session) {
                sessions.swap_remove(i);
            }
            if sessions.is_empty() {
                map.remove(&self.user);
            }
        }
    }
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}
