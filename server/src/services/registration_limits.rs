//! Limits on open registration (`registration.invite_only = false`), as
//! Prosody's mod_register_limits throttles it: at most
//! `registration.max_registrations_per_address` accounts per source
//! address (IPv6: per /64) in any sliding hour. Registrations with an
//! invite are not limited here; the invite is their limit.
//!
//! A registration is counted when it starts and holds its place until it
//! ends, so parallel requests get no more accounts than one after another;
//! one that is refused (taken name, weak password) gives its place back.
//! In memory only, bounded in entries (the least recently active address
//! goes first). `0` turns the limit off.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::auth_limits::source;

/// The window registrations are counted in.
pub const WINDOW: Duration = Duration::from_secs(3600);

/// Most addresses tracked at once.
const MAX_SOURCES: usize = 10_000;

/// Open registrations, per source address.
pub type RegistrationLimiter = HourlyLimiter<IpAddr>;

/// At most `max` actions per key in any sliding hour, counted from when
/// they start. Keyed by address for registrations, by account for
/// in-band password changes.
pub struct HourlyLimiter<K> {
    max: usize,
    table: Arc<Mutex<HashMap<K, Tally>>>,
}

impl<K> Clone for HourlyLimiter<K> {
    fn clone(&self) -> Self {
        HourlyLimiter {
            max: self.max,
            table: self.table.clone(),
        }
    }
}

#[derive(Debug, Default)]
struct Tally {
    /// When recent registrations were made, oldest first; at most `max`.
    made: VecDeque<Instant>,
    /// Registrations started and not yet ended.
    pending: usize,
    touched: Option<Instant>,
}

impl Tally {
    fn expire(&mut self, now: Instant) {
        while self
            .made
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= WINDOW)
        {
            self.made.pop_front();
        }
    }

    fn is_idle(&self) -> bool {
        self.made.is_empty() && self.pending == 0
    }
}

/// A registration the limiter let through: [`made`](Self::made) once the
/// account exists; dropped before that, it gives its place back.
pub struct PendingRegistration<K: Hash + Eq + Clone = IpAddr> {
    reservation: Option<(HourlyLimiter<K>, K)>,
}

impl RegistrationLimiter {
    /// Before registering from `ip`: the registration, or
    /// `Err(retry_after)` when the address has used up its registrations.
    pub fn begin(&self, ip: IpAddr) -> Result<PendingRegistration, Duration> {
        self.begin_at(source(ip), Instant::now())
    }
}

impl<K: Hash + Eq + Clone> HourlyLimiter<K> {
    pub fn new(max_per_hour: u32) -> HourlyLimiter<K> {
        HourlyLimiter {
            max: max_per_hour as usize,
            table: Arc::default(),
        }
    }

    /// Before an action for `key`: its place, or `Err(retry_after)` when
    /// the key has used up its actions.
    pub fn begin_for(&self, key: K) -> Result<PendingRegistration<K>, Duration> {
        self.begin_at(key, Instant::now())
    }

    fn begin_at(&self, address: K, now: Instant) -> Result<PendingRegistration<K>, Duration> {
        if self.max == 0 {
            return Ok(PendingRegistration { reservation: None });
        }
        let mut table = self.lock();
        if let Some(tally) = table.get_mut(&address) {
            tally.expire(now);
            if tally.made.len() + tally.pending >= self.max {
                return Err(match tally.made.front() {
                    Some(&oldest) if tally.made.len() >= self.max => {
                        (oldest + WINDOW).saturating_duration_since(now)
                    }
                    _ => Duration::from_secs(1),
                });
            }
        } else if table.len() >= MAX_SOURCES {
            make_room(&mut table, now);
        }
        let tally = table.entry(address.clone()).or_default();
        tally.pending += 1;
        tally.touched = Some(now);
        Ok(PendingRegistration {
            reservation: Some((self.clone(), address)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, Tally>> {
        // Consistent after every statement: a panic leaves nothing half-done.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<K: Hash + Eq + Clone> PendingRegistration<K> {
    /// The account was created: the place becomes a registration.
    pub fn made(mut self) {
        self.settle(true, Instant::now());
    }

    fn settle(&mut self, made: bool, now: Instant) {
        let Some((limiter, address)) = self.reservation.take() else {
            return;
        };
        let mut table = limiter.lock();
        let Some(tally) = table.get_mut(&address) else {
            return;
        };
        tally.pending = tally.pending.saturating_sub(1);
        tally.touched = Some(now);
        tally.expire(now);
        if made {
            tally.made.push_back(now);
            while tally.made.len() > limiter.max {
                tally.made.pop_front();
            }
        }
        if tally.is_idle() {
            table.remove(&address);
        }
    }
}

impl<K: Hash + Eq + Clone> Drop for PendingRegistration<K> {
    fn drop(&mut self) {
        self.settle(false, Instant::now());
    }
}

/// Forgets idle addresses; if that is not enough, the tenth least recently
/// active.
fn make_room<K: Hash + Eq + Clone>(table: &mut HashMap<K, Tally>, now: Instant) {
    table.retain(|_, tally| {
        tally.expire(now);
        !tally.is_idle()
    });
    if table.len() < MAX_SOURCES {
        return;
    }
    let mut by_age: Vec<(Instant, &K)> = table
        .iter()
        .filter_map(|(key, tally)| tally.touched.map(|t| (t, key)))
        .collect();
    by_age.sort_unstable_by_key(|(t, _)| *t);
    let oldest: Vec<K> = by_age
        .into_iter()
        .take(MAX_SOURCES / 10)
        .map(|(_, key)| key.clone())
        .collect();
    for key in oldest {
        table.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn register(limiter: &RegistrationLimiter, ip: IpAddr, at: Instant) -> Result<(), Duration> {
        limiter.begin_at(source(ip), at)?.settle(true, at);
        Ok(())
    }

    #[test]
    fn registrations_are_limited_per_address_and_hour() {
        let limiter = RegistrationLimiter::new(2);
        let start = Instant::now();
        let a = ip("192.0.2.1");
        register(&limiter, a, start).unwrap();
        register(&limiter, a, start + Duration::from_secs(600)).unwrap();
        assert_eq!(
            register(&limiter, a, start + Duration::from_secs(900)),
            Err(Duration::from_secs(2700))
        );
        register(&limiter, ip("192.0.2.2"), start).unwrap();
        // The /64 is one address.
        register(&limiter, ip("2001:db8::1"), start).unwrap();
        register(&limiter, ip("2001:db8::2"), start).unwrap();
        assert!(register(&limiter, ip("2001:db8::3"), start).is_err());
        register(&limiter, a, start + WINDOW).unwrap();
    }

    #[test]
    fn parallel_and_refused_registrations() {
        let limiter = RegistrationLimiter::new(2);
        let now = Instant::now();
        let a = ip("192.0.2.1");
        let first = limiter.begin_at(a, now).unwrap();
        let second = limiter.begin_at(a, now).unwrap();
        assert_eq!(limiter.begin_at(a, now).err(), Some(Duration::from_secs(1)));
        // A registration refused for another reason gives its place back.
        drop(first);
        limiter.begin_at(a, now).unwrap().settle(true, now);
        second.made();
        assert!(limiter.begin_at(a, now).is_err());
    }

    #[test]
    fn zero_means_no_limit_and_the_table_stays_bounded() {
        let off = RegistrationLimiter::new(0);
        let now = Instant::now();
        for _ in 0..100 {
            register(&off, ip("192.0.2.1"), now).unwrap();
        }
        assert!(off.lock().is_empty());

        let limiter = RegistrationLimiter::new(1);
        for i in 0..(MAX_SOURCES as u32 + 50) {
            let address = IpAddr::V4((0x0A00_0000 + i).into());
            register(&limiter, address, now + Duration::from_millis(u64::from(i))).unwrap();
        }
        let table = limiter.lock();
        assert!(table.len() <= MAX_SOURCES, "{}", table.len());
        assert!(
            !table.contains_key(&ip("10.0.0.0")),
            "the oldest went first"
        );
    }
}
