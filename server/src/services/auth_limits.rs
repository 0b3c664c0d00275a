//! Limits on password guessing, in two tiers (as Synapse and OWASP's
//! authentication guidance do), so that one attacker cannot lock out the
//! people who share an address with them:
//!
//! 1. **Per address and account**: at most `auth.max_failures_per_account`
//!    failed logins for one account from one address in any
//!    `auth.failure_window`. Past that, only that pair is refused (even the
//!    right password, or guessing would simply go on) until the oldest
//!    failure has left the window.
//! 2. **Per address**: at most `auth.max_failures_per_address` failures
//!    across all accounts in the window, which stops a sweep over many
//!    account names. Accounts that logged in successfully from the address
//!    within [`TRUST_PERIOD`] are *trusted* there: their attempts neither
//!    count towards nor are stopped by this budget (only by tier 1). So
//!    the right password of an account that is not under attack keeps
//!    working from a busy address (a NAT, a web gateway) once it has been
//!    used there before; an account new to the address waits like any
//!    other name while a sweep from that address is being refused.
//!
//! An attempt is counted when it *starts* ([`AuthLimiter::begin`]) and
//! holds its place until it ends: parallel connections get no more guesses
//! than one. PLAIN begins as soon as the username is known, before the key
//! derivation runs; SCRAM is only checked against the limits at its first
//! message and begins with the client's proof, which is verified and
//! settled with no wait in between, so exchanges left open after the
//! challenge hold no place (they cannot lock an account out). A success gives the place
//! back and clears the pair's failures; a wrong password turns it into a
//! failure; an exchange abandoned before its answer (dropped, aborted,
//! malformed) gives it back, as the client learned nothing.
//!
//! In memory only (a restart forgets), each table capped in entries, the
//! least recently active going first. IPv6 addresses count per /64, the
//! block one subscriber usually gets, so walking through a prefix buys no
//! more guesses. Accounts are keyed by a hash of their normalised JID, so
//! a long name costs no more memory than a short one. `0` turns a tier off.
//!
//! The moment a tier starts refusing (the failure that fills a pair's or
//! an address's allowance) is recorded in the audit log as a
//! `login.lockout`, once per lock, not per refused attempt.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use roost_common::config::AuthConfig;
use sha2::{Digest as _, Sha256};

use super::audit::{Actor, Audit, AuditAction, Entry};

/// How long a successful login keeps its (address, account) pair trusted.
pub const TRUST_PERIOD: Duration = Duration::from_secs(30 * 24 * 3600);

/// Most (address, account) pairs with failures tracked at once.
const MAX_PAIRS: usize = 50_000;
/// Most addresses with failures tracked at once.
const MAX_ADDRESSES: usize = 10_000;
/// Most trusted (address, account) pairs remembered at once.
const MAX_TRUSTED: usize = 50_000;

/// An account as the limiter knows it: a hash of its normalised JID.
type AccountKey = [u8; 16];
type PairKey = (IpAddr, AccountKey);

/// The limits, from `[auth]`.
#[derive(Debug, Clone, Copy)]
struct Limits {
    per_pair: usize,
    per_address: usize,
    window: Duration,
}

#[derive(Clone)]
pub struct AuthLimiter {
    limits: Limits,
    tables: Arc<Mutex<Tables>>,
    /// Where lock-outs are recorded; none in unit tests of the limiter.
    audit: Option<Audit>,
}

#[derive(Default)]
struct Tables {
    pairs: HashMap<PairKey, Tally>,
    addresses: HashMap<IpAddr, Tally>,
    /// When each trusted pair last logged in successfully.
    trusted: HashMap<PairKey, Instant>,
}

/// Recent failures and attempts in flight, for one pair or one address.
#[derive(Debug, Default)]
struct Tally {
    /// Times of recent failures, oldest first; no more than the limit, as
    /// older ones cannot matter.
    failures: VecDeque<Instant>,
    /// Attempts started and not yet ended.
    pending: usize,
    /// The last time this entry changed, to pick whom to forget first.
    touched: Option<Instant>,
    /// This lock was recorded in the audit log. Under a steady guesser the
    /// window slides (one failure expires, one more attempt fails and fills
    /// it again) without the lock ever lifting; it is one lock, recorded
    /// once, until its failures are all gone (the entry is forgotten) or a
    /// login succeeds.
    lock_recorded: bool,
}

impl Tally {
    fn expire(&mut self, now: Instant, window: Duration) {
        while self
            .failures
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= window)
        {
            self.failures.pop_front();
        }
    }

    /// `Err(retry_after)` when failures and attempts in flight reach `max`.
    fn check(&self, max: usize, now: Instant, window: Duration) -> Result<(), Duration> {
        if self.failures.len() + self.pending < max {
            return Ok(());
        }
        // Attempts in flight end within seconds; a full window of failures
        // lasts until the oldest leaves it.
        Err(match self.failures.front() {
            Some(&oldest) if self.failures.len() >= max => oldest
                .checked_add(window)
                .map_or(window, |free| free.saturating_duration_since(now)),
            _ => Duration::from_secs(1),
        })
    }

    fn is_idle(&self) -> bool {
        self.failures.is_empty() && self.pending == 0
    }

    /// Whether the failure just recorded filled the allowance and this lock
    /// was not recorded yet: the lock starts now (later refused attempts
    /// record no failure).
    fn locks_now(&mut self, max: usize) -> bool {
        if self.failures.len() == max && !self.lock_recorded {
            self.lock_recorded = true;
            return true;
        }
        false
    }

    fn record_failure(&mut self, max: usize, now: Instant) {
        self.failures.push_back(now);
        while self.failures.len() > max {
            self.failures.pop_front();
        }
    }
}

/// One login attempt the limiter let through. Settle it with
/// [`succeeded`](Attempt::succeeded) or [`failed`](Attempt::failed);
/// dropped unsettled, it gives its place back.
pub struct Attempt {
    reservation: Option<Reservation>,
}

struct Reservation {
    limits: Limits,
    tables: Arc<Mutex<Tables>>,
    audit: Option<Audit>,
    /// The account as given to [`AuthLimiter::begin`], for the audit log.
    account: String,
    pair: PairKey,
    /// Whether the address budget was charged (not for trusted pairs).
    charged_address: bool,
}

enum Outcome {
    Success,
    Failure,
    Abandoned,
}

impl AuthLimiter {
    pub fn new(config: &AuthConfig) -> AuthLimiter {
        AuthLimiter {
            limits: Limits {
                per_pair: config.max_failures_per_account as usize,
                per_address: config.max_failures_per_address as usize,
                window: config.failure_window,
            },
            tables: Arc::default(),
            audit: None,
        }
    }

    /// Records lock-outs in `audit`.
    pub fn with_audit(mut self, audit: Audit) -> AuthLimiter {
        self.audit = Some(audit);
        self
    }

    /// Before checking a password for `account` (the normalised JID, or
    /// the name as sent when it is not one) from `ip`: the attempt, or
    /// `Err(retry_after)` when the pair or the address has used up its
    /// failures for now.
    pub fn begin(&self, ip: IpAddr, account: &str) -> Result<Attempt, Duration> {
        self.begin_at(ip, account, Instant::now())
    }

    fn begin_at(&self, ip: IpAddr, account: &str, now: Instant) -> Result<Attempt, Duration> {
        let Limits {
            per_pair,
            per_address,
            window,
        } = self.limits;
        if per_pair == 0 && per_address == 0 {
            return Ok(Attempt { reservation: None });
        }
        let address = source(ip);
        let pair = (address, account_key(account));
        let mut tables = lock(&self.tables);
        let trusted = tables
            .trusted
            .get(&pair)
            .is_some_and(|&t| now.saturating_duration_since(t) < TRUST_PERIOD);
        if per_pair > 0
            && let Some(tally) = tables.pairs.get_mut(&pair)
        {
            tally.expire(now, window);
            tally.check(per_pair, now, window)?;
        }
        let charged_address = per_address > 0 && !trusted;
        if charged_address && let Some(tally) = tables.addresses.get_mut(&address) {
            tally.expire(now, window);
            tally.check(per_address, now, window)?;
        }
        if per_pair > 0 {
            let tally = entry(&mut tables.pairs, pair, MAX_PAIRS, now, window);
            tally.pending += 1;
        }
        if charged_address {
            let tally = entry(&mut tables.addresses, address, MAX_ADDRESSES, now, window);
            tally.pending += 1;
        }
        Ok(Attempt {
            reservation: Some(Reservation {
                limits: self.limits,
                tables: self.tables.clone(),
                audit: self.audit.clone(),
                account: account.to_owned(),
                pair,
                charged_address,
            }),
        })
    }

    #[cfg(test)]
    fn sizes(&self) -> (usize, usize, usize) {
        let tables = lock(&self.tables);
        (
            tables.pairs.len(),
            tables.addresses.len(),
            tables.trusted.len(),
        )
    }
}

impl Attempt {
    /// The password was right: the place is given back, the pair's
    /// failures are forgotten and the pair is trusted at this address.
    pub fn succeeded(mut self) {
        self.settle(Outcome::Success, Instant::now());
    }

    /// The password (or the account) was wrong: the place becomes a failure.
    pub fn failed(mut self) {
        self.settle(Outcome::Failure, Instant::now());
    }

    fn settle(&mut self, outcome: Outcome, now: Instant) {
        let Some(r) = self.reservation.take() else {
            return;
        };
        let address = r.pair.0;
        let mut locked = Vec::new();
        let mut tables = lock(&r.tables);
        if let Some(tally) = tables.pairs.get_mut(&r.pair) {
            tally.pending = tally.pending.saturating_sub(1);
            tally.touched = Some(now);
            tally.expire(now, r.limits.window);
            match outcome {
                Outcome::Failure => {
                    tally.record_failure(r.limits.per_pair, now);
                    if tally.locks_now(r.limits.per_pair) {
                        locked.push(Scope::Account);
                    }
                }
                Outcome::Success => {
                    tally.failures.clear();
                    tally.lock_recorded = false;
                }
                Outcome::Abandoned => {}
            }
            if tally.is_idle() {
                tables.pairs.remove(&r.pair);
            }
        }
        if r.charged_address
            && let Some(tally) = tables.addresses.get_mut(&address)
        {
            tally.pending = tally.pending.saturating_sub(1);
            tally.touched = Some(now);
            if matches!(outcome, Outcome::Failure) {
                tally.record_failure(r.limits.per_address, now);
                if tally.locks_now(r.limits.per_address) {
                    locked.push(Scope::Address);
                }
            }
            tally.expire(now, r.limits.window);
            if tally.is_idle() {
                tables.addresses.remove(&address);
            }
        }
        if matches!(outcome, Outcome::Success) {
            if !tables.trusted.contains_key(&r.pair) && tables.trusted.len() >= MAX_TRUSTED {
                tables
                    .trusted
                    .retain(|_, &mut t| now.saturating_duration_since(t) < TRUST_PERIOD);
                evict_oldest(&mut tables.trusted, |&t| Some(t), MAX_TRUSTED);
            }
            tables.trusted.insert(r.pair, now);
        }
        drop(tables);
        if let Some(audit) = &r.audit {
            for scope in locked {
                audit.event(scope.entry(address, &r.account));
            }
        }
    }
}

/// What a lock-out refuses.
enum Scope {
    /// One account from one address.
    Account,
    /// Every account not trusted there, from one address.
    Address,
}

impl Scope {
    fn entry(self, address: IpAddr, account: &str) -> Entry {
        let entry =
            Entry::new(&Actor::Connection { address }, AuditAction::LoginLockout).subject(address);
        match self {
            Scope::Account => entry.jid(account).detail("scope=account"),
            Scope::Address => entry.detail("scope=address"),
        }
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        self.settle(Outcome::Abandoned, Instant::now());
    }
}

/// The tally for `key`, made room for when it is new and the table full.
fn entry<K: Copy + Eq + Hash>(
    table: &mut HashMap<K, Tally>,
    key: K,
    cap: usize,
    now: Instant,
    window: Duration,
) -> &mut Tally {
    if !table.contains_key(&key) && table.len() >= cap {
        table.retain(|_, tally| {
            tally.expire(now, window);
            !tally.is_idle()
        });
        // Entries with attempts in flight go last: they are settling now.
        evict_oldest(table, |t| t.touched.filter(|_| t.pending == 0), cap);
        evict_oldest(table, |t| t.touched, cap);
    }
    let tally = table.entry(key).or_default();
    tally.touched = Some(now);
    tally
}

/// When `table` holds `cap` entries or more, forgets the tenth of `cap`
/// whose `age` is oldest (entries without one are kept).
fn evict_oldest<K: Copy + Eq + Hash, V>(
    table: &mut HashMap<K, V>,
    age: impl Fn(&V) -> Option<Instant>,
    cap: usize,
) {
    if table.len() < cap {
        return;
    }
    let mut by_age: Vec<(Instant, K)> = table
        .iter()
        .filter_map(|(k, v)| age(v).map(|t| (t, *k)))
        .collect();
    let excess = table.len() + 1 - cap;
    let count = excess.max(cap / 10).min(by_age.len());
    if count == 0 {
        return;
    }
    by_age.select_nth_unstable_by_key(count - 1, |&(t, _)| t);
    for (_, key) in by_age.into_iter().take(count) {
        table.remove(&key);
    }
}

fn lock(tables: &Mutex<Tables>) -> MutexGuard<'_, Tables> {
    // The tables are consistent after every statement, so a panic while
    // they were held leaves nothing half-done.
    tables.lock().unwrap_or_else(|e| e.into_inner())
}

fn account_key(account: &str) -> AccountKey {
    let digest = Sha256::digest(account.as_bytes());
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

/// The address failures are counted under: IPv4 as is (also when mapped
/// into IPv6), IPv6 by its /64.
pub(crate) fn source(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

#[cfg(test)]
mod tests;
