//! Limits on failed authentications per source address, against password
//! guessing: at most `auth.max_failures_per_minute` failures per address in
//! any sliding minute; past that, attempts are refused until the oldest
//! failure is a minute old.
//!
//! In memory only (a restart forgets), bounded in size. IPv6 addresses
//! count per /64, the block one subscriber usually gets, so walking through
//! a prefix does not buy more guesses. A successful login does not wipe an
//! address's failures: otherwise whoever holds one account could interleave
//! a good login between guesses at others. `0` disables the limit.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The window failures are counted in.
const WINDOW: Duration = Duration::from_secs(60);

/// Most addresses tracked at once; past that the ones whose last failure is
/// oldest are forgotten first.
const MAX_SOURCES: usize = 10_000;

#[derive(Clone)]
pub struct AuthLimiter {
    max_failures: usize,
    /// Per source, the times of its recent failures, oldest first; at most
    /// `max_failures` of them, as older ones cannot matter.
    failures: Arc<Mutex<HashMap<IpAddr, VecDeque<Instant>>>>,
}

impl AuthLimiter {
    pub fn new(max_failures_per_minute: u32) -> AuthLimiter {
        AuthLimiter {
            max_failures: max_failures_per_minute as usize,
            failures: Arc::default(),
        }
    }

    /// Before an attempt from `ip`: `Err(retry_after)` when it has used up
    /// its failures for now.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.check_at(ip, Instant::now())
    }

    pub fn record_failure(&self, ip: IpAddr) {
        self.record_failure_at(ip, Instant::now());
    }

    /// Notes a successful login from `ip`. Its failures still count (see
    /// the module docs); its entry is dropped once none of them does.
    pub fn record_success(&self, ip: IpAddr) {
        self.record_success_at(ip, Instant::now());
    }

    fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.max_failures == 0 {
            return Ok(());
        }
        let mut table = self.lock();
        let Some(times) = table.get_mut(&source(ip)) else {
            return Ok(());
        };
        expire(times, now);
        match times.front() {
            Some(&oldest) if times.len() >= self.max_failures => {
                Err((oldest + WINDOW).saturating_duration_since(now))
            }
            _ => Ok(()),
        }
    }

    fn record_failure_at(&self, ip: IpAddr, now: Instant) {
        if self.max_failures == 0 {
            return;
        }
        let source = source(ip);
        let mut table = self.lock();
        if !table.contains_key(&source) && table.len() >= MAX_SOURCES {
            make_room(&mut table, now);
        }
        let times = table.entry(source).or_default();
        expire(times, now);
        times.push_back(now);
        if times.len() > self.max_failures {
            times.pop_front();
        }
    }

    fn record_success_at(&self, ip: IpAddr, now: Instant) {
        let source = source(ip);
        let mut table = self.lock();
        if let Some(times) = table.get_mut(&source) {
            expire(times, now);
            if times.is_empty() {
                table.remove(&source);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<IpAddr, VecDeque<Instant>>> {
        // The table is consistent after every statement, so a panic while
        // it was held leaves nothing half-done.
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The address failures are counted under: IPv4 as is (also when mapped
/// into IPv6), IPv6 by its /64.
fn source(ip: IpAddr) -> IpAddr {
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

/// Drops failures that are a minute old or more.
fn expire(times: &mut VecDeque<Instant>, now: Instant) {
    while times
        .front()
        .is_some_and(|&t| now.saturating_duration_since(t) >= WINDOW)
    {
        times.pop_front();
    }
}

/// Forgets addresses with no current failures; if that is not enough, the
/// tenth of them whose last failure is oldest.
fn make_room(table: &mut HashMap<IpAddr, VecDeque<Instant>>, now: Instant) {
    table.retain(|_, times| {
        expire(times, now);
        !times.is_empty()
    });
    if table.len() < MAX_SOURCES {
        return;
    }
    let mut by_last: Vec<(Instant, IpAddr)> = table
        .iter()
        .filter_map(|(ip, times)| times.back().map(|&t| (t, *ip)))
        .collect();
    by_last.sort_unstable();
    for (_, ip) in by_last.into_iter().take(MAX_SOURCES / 10) {
        table.remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn failures_are_limited_per_sliding_minute() {
        let limiter = AuthLimiter::new(3);
        let start = Instant::now();
        let a = ip("192.0.2.1");
        for i in 0..3 {
            assert_eq!(limiter.check_at(a, start + Duration::from_secs(i)), Ok(()));
            limiter.record_failure_at(a, start + Duration::from_secs(i * 10));
        }
        // Failures at 0, 10 and 20 s: blocked until the first is a minute old.
        assert_eq!(
            limiter.check_at(a, start + Duration::from_secs(25)),
            Err(Duration::from_secs(35))
        );
        assert_eq!(limiter.check_at(ip("192.0.2.2"), start), Ok(()));
        assert_eq!(limiter.check_at(a, start + Duration::from_secs(60)), Ok(()));
        limiter.record_failure_at(a, start + Duration::from_secs(61));
        assert_eq!(
            limiter.check_at(a, start + Duration::from_secs(61)),
            Err(Duration::from_secs(9))
        );
    }

    #[test]
    fn a_success_does_not_reset_the_count() {
        let limiter = AuthLimiter::new(2);
        let now = Instant::now();
        let a = ip("192.0.2.1");
        limiter.record_failure_at(a, now);
        limiter.record_success_at(a, now);
        limiter.record_failure_at(a, now);
        assert!(limiter.check_at(a, now).is_err());
        // Once the failures are old, a success lets go of the entry.
        limiter.record_success_at(a, now + WINDOW);
        assert!(limiter.lock().is_empty());
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let limiter = AuthLimiter::new(2);
        let now = Instant::now();
        limiter.record_failure_at(ip("2001:db8:1:2::1"), now);
        limiter.record_failure_at(ip("2001:db8:1:2:ffff::9"), now);
        assert!(limiter.check_at(ip("2001:db8:1:2::77"), now).is_err());
        assert!(limiter.check_at(ip("2001:db8:1:3::1"), now).is_ok());

        limiter.record_failure_at(ip("::ffff:192.0.2.7"), now);
        limiter.record_failure_at(ip("192.0.2.7"), now);
        assert!(limiter.check_at(ip("192.0.2.7"), now).is_err());
    }

    #[test]
    fn zero_means_no_limit() {
        let limiter = AuthLimiter::new(0);
        let a = ip("192.0.2.1");
        for _ in 0..100 {
            limiter.record_failure(a);
        }
        assert_eq!(limiter.check(a), Ok(()));
        assert!(limiter.lock().is_empty());
    }

    #[test]
    fn the_table_stays_bounded() {
        let limiter = AuthLimiter::new(5);
        let start = Instant::now();
        let first = ip("10.0.0.0");
        limiter.record_failure_at(first, start);
        for i in 1..(MAX_SOURCES as u32 + 50) {
            let source = IpAddr::V4((0x0A00_0000 + i).into());
            limiter.record_failure_at(source, start + Duration::from_millis(u64::from(i)));
        }
        let table = limiter.lock();
        assert!(table.len() <= MAX_SOURCES, "{}", table.len());
        assert!(!table.contains_key(&first), "the oldest went first");
    }
}
