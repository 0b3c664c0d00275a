use super::*;

const WINDOW: Duration = Duration::from_secs(900);

fn limiter(per_pair: u32, per_address: u32) -> AuthLimiter {
    AuthLimiter::new(&AuthConfig {
        max_failures_per_account: per_pair,
        max_failures_per_address: per_address,
        failure_window: WINDOW,
        ..AuthConfig::default()
    })
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// One attempt at `at` that ends with a wrong password.
fn fail(limiter: &AuthLimiter, ip: IpAddr, account: &str, at: Instant) -> Result<(), Duration> {
    let mut attempt = limiter.begin_at(ip, account, at)?;
    attempt.settle(Outcome::Failure, at);
    Ok(())
}

fn succeed(limiter: &AuthLimiter, ip: IpAddr, account: &str, at: Instant) -> Result<(), Duration> {
    let mut attempt = limiter.begin_at(ip, account, at)?;
    attempt.settle(Outcome::Success, at);
    Ok(())
}

#[test]
fn a_pair_locks_after_its_failures_and_only_that_pair() {
    let limiter = limiter(3, 100);
    let start = Instant::now();
    let a = ip("192.0.2.1");
    for i in 0..3 {
        fail(&limiter, a, "alice@h", start + secs(i * 10)).unwrap();
    }
    // Failures at 0, 10 and 20 s: locked until the first leaves the window,
    // for the right password too.
    assert_eq!(
        succeed(&limiter, a, "alice@h", start + secs(25)),
        Err(WINDOW - secs(25))
    );
    // Another account from the same address, and the same account from
    // another address, are not affected.
    succeed(&limiter, a, "bob@h", start + secs(25)).unwrap();
    succeed(&limiter, ip("192.0.2.2"), "alice@h", start + secs(25)).unwrap();
    // Once the oldest failure has left the window, one more try.
    fail(&limiter, a, "alice@h", start + WINDOW).unwrap();
    assert_eq!(
        fail(&limiter, a, "alice@h", start + WINDOW),
        Err(secs(10)),
        "failures at 10, 20 and 900 s"
    );
}

#[test]
fn the_address_budget_stops_a_sweep_but_not_trusted_accounts() {
    let limiter = limiter(3, 5);
    let now = Instant::now();
    let a = ip("198.51.100.7");
    // carol logged in from this address before.
    succeed(&limiter, a, "carol@h", now).unwrap();
    for i in 0..5 {
        fail(&limiter, a, &format!("user{i}@h"), now).unwrap();
    }
    // The sixth name is refused, even one nobody has tried.
    assert_eq!(fail(&limiter, a, "user5@h", now), Err(WINDOW));
    assert!(succeed(&limiter, a, "dave@h", now).is_err());
    // carol is trusted here: the budget does not stop her...
    succeed(&limiter, a, "carol@h", now).unwrap();
    // ...and her own failures count only towards her pair.
    for _ in 0..3 {
        fail(&limiter, a, "carol@h", now).unwrap();
    }
    assert!(succeed(&limiter, a, "carol@h", now).is_err());
    // Other addresses keep their own budget.
    succeed(&limiter, ip("198.51.100.8"), "dave@h", now).unwrap();
}

#[test]
fn a_success_clears_the_pairs_failures_not_the_addresss() {
    let limiter = limiter(3, 4);
    let now = Instant::now();
    let a = ip("192.0.2.1");
    fail(&limiter, a, "alice@h", now).unwrap();
    fail(&limiter, a, "alice@h", now).unwrap();
    succeed(&limiter, a, "alice@h", now).unwrap();
    // The pair starts again from nothing...
    for _ in 0..2 {
        fail(&limiter, a, "alice@h", now).unwrap();
    }
    // ...which a trusted pair spends outside the address budget: the two
    // failures before the first success still count there.
    fail(&limiter, a, "x@h", now).unwrap();
    fail(&limiter, a, "y@h", now).unwrap();
    assert!(fail(&limiter, a, "z@h", now).is_err());
}

#[test]
fn parallel_attempts_get_no_more_guesses_than_one_connection() {
    let limiter = limiter(5, 100);
    let now = Instant::now();
    let a = ip("192.0.2.1");
    let started: Vec<_> = (0..8)
        .filter_map(|_| limiter.begin_at(a, "alice@h", now).ok())
        .collect();
    assert_eq!(started.len(), 5, "only the pair limit may be in flight");
    assert_eq!(
        limiter.begin_at(a, "alice@h", now).err(),
        Some(secs(1)),
        "attempts in flight: retry shortly"
    );
    for mut attempt in started {
        attempt.settle(Outcome::Failure, now);
    }
    assert_eq!(limiter.begin_at(a, "alice@h", now).err(), Some(WINDOW));
}

#[test]
fn abandoned_and_successful_attempts_give_their_place_back() {
    let limiter = limiter(2, 2);
    let now = Instant::now();
    let a = ip("192.0.2.1");
    for _ in 0..10 {
        drop(limiter.begin_at(a, "alice@h", now).unwrap());
        limiter.begin_at(a, "bob@h", now).unwrap().succeeded();
    }
    fail(&limiter, a, "alice@h", now).unwrap();
    fail(&limiter, a, "alice@h", now).unwrap();
    assert!(limiter.begin_at(a, "alice@h", now).is_err());
}

#[test]
fn failures_expire() {
    let limiter = limiter(2, 3);
    let start = Instant::now();
    let a = ip("192.0.2.1");
    fail(&limiter, a, "alice@h", start).unwrap();
    fail(&limiter, a, "alice@h", start).unwrap();
    fail(&limiter, a, "bob@h", start).unwrap();
    assert!(fail(&limiter, a, "carol@h", start).is_err());
    let later = start + WINDOW;
    fail(&limiter, a, "carol@h", later).unwrap();
    fail(&limiter, a, "alice@h", later).unwrap();
    // Only the later failures are left; the pair entry of bob is gone
    // once it settles with nothing in its window.
    succeed(&limiter, a, "bob@h", later).unwrap();
    let (pairs, addresses, trusted) = limiter.sizes();
    assert_eq!((pairs, addresses, trusted), (2, 1, 1));
}

#[test]
fn trust_expires() {
    let limiter = limiter(3, 1);
    let start = Instant::now();
    let a = ip("192.0.2.1");
    succeed(&limiter, a, "carol@h", start).unwrap();
    fail(&limiter, a, "x@h", start + TRUST_PERIOD - WINDOW).unwrap();
    succeed(&limiter, a, "carol@h", start + TRUST_PERIOD - WINDOW).unwrap();
    // Trust renews with every success; without one it lapses.
    let lapsed = start + 2 * TRUST_PERIOD;
    fail(&limiter, a, "x@h", lapsed).unwrap();
    assert!(succeed(&limiter, a, "carol@h", lapsed).is_err());
}

#[test]
fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
    let limiter = limiter(2, 0);
    let now = Instant::now();
    fail(&limiter, ip("2001:db8:1:2::1"), "alice@h", now).unwrap();
    fail(&limiter, ip("2001:db8:1:2:ffff::9"), "alice@h", now).unwrap();
    assert!(fail(&limiter, ip("2001:db8:1:2::77"), "alice@h", now).is_err());
    assert!(fail(&limiter, ip("2001:db8:1:3::1"), "alice@h", now).is_ok());

    fail(&limiter, ip("::ffff:192.0.2.7"), "alice@h", now).unwrap();
    fail(&limiter, ip("192.0.2.7"), "alice@h", now).unwrap();
    assert!(fail(&limiter, ip("192.0.2.7"), "alice@h", now).is_err());
}

#[test]
fn zero_turns_a_tier_off() {
    let now = Instant::now();
    let a = ip("192.0.2.1");
    let off = limiter(0, 0);
    for _ in 0..100 {
        fail(&off, a, "alice@h", now).unwrap();
    }
    assert_eq!(off.sizes(), (0, 0, 0));

    let address_only = limiter(0, 3);
    for _ in 0..3 {
        fail(&address_only, a, "alice@h", now).unwrap();
    }
    assert!(fail(&address_only, a, "bob@h", now).is_err());

    let pair_only = limiter(3, 0);
    for i in 0..100 {
        fail(&pair_only, a, &format!("user{i}@h"), now).unwrap();
    }
    assert_eq!(pair_only.sizes().1, 0, "no address tallies");
}

#[test]
fn the_tables_stay_bounded_and_forget_the_oldest() {
    let limiter = limiter(5, 5);
    let start = Instant::now();
    let first = ip("10.0.0.0");
    fail(&limiter, first, "alice@h", start).unwrap();
    for i in 1..(MAX_PAIRS as u32 + 50) {
        let source = IpAddr::V4((0x0A00_0000 + i).into());
        fail(
            &limiter,
            source,
            "alice@h",
            start + Duration::from_millis(u64::from(i)),
        )
        .unwrap();
    }
    let (pairs, addresses, _) = limiter.sizes();
    assert!(pairs <= MAX_PAIRS, "{pairs}");
    assert!(addresses <= MAX_ADDRESSES, "{addresses}");
    let tables = lock(&limiter.tables);
    assert!(
        !tables.addresses.contains_key(&first),
        "the oldest went first"
    );
    assert!(
        !tables.pairs.contains_key(&(first, account_key("alice@h"))),
        "the oldest went first"
    );
}

#[test]
fn trusted_pairs_stay_bounded() {
    let limiter = limiter(5, 5);
    let start = Instant::now();
    for i in 0..(MAX_TRUSTED as u32 + 50) {
        let source = IpAddr::V4((0x0A00_0000 + i).into());
        succeed(
            &limiter,
            source,
            "alice@h",
            start + Duration::from_millis(u64::from(i)),
        )
        .unwrap();
    }
    let (pairs, addresses, trusted) = limiter.sizes();
    assert_eq!((pairs, addresses), (0, 0), "successes leave no tallies");
    assert!(trusted <= MAX_TRUSTED, "{trusted}");
}

#[test]
fn a_lock_kept_up_by_a_steady_guesser_is_recorded_once() {
    let mut tally = Tally::default();
    let start = Instant::now();
    for i in 0..3 {
        tally.record_failure(3, start + secs(i));
    }
    assert!(tally.locks_now(3), "the lock starts");
    // The oldest failure leaves the window, one more attempt fails and
    // fills it again: still the same lock.
    for i in 0..3 {
        let at = start + WINDOW + secs(i);
        tally.expire(at, WINDOW);
        tally.record_failure(3, at);
        assert!(!tally.locks_now(3), "round {i}");
    }
}
