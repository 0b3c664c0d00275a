//! Recent cut-offs: a client revoked, a password changed. A login that
//! authenticated before one of them may not bind after it, even though it
//! was valid when it was checked; so they are remembered for as long as a
//! connection may take from authentication to bind (the negotiation
//! timeout), and no longer.
//!
//! Bounded per account (a user who revokes in a loop replaces one entry)
//! and looked up per account, so one account's activity never slows
//! another's binds.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jid::BareJid;

use super::CloseReason;
use crate::services::clients::ClientId;
use crate::services::sessions::SessionFilter;

/// Cut-offs kept per account; past it they are replaced by one that
/// selects every login.
const PER_ACCOUNT: usize = 16;
/// Accounts with cut-offs past which the whole table is pruned of expired
/// entries at the next addition.
const PRUNE_ABOVE: usize = 4096;

struct Cutoff {
    filter: SessionFilter,
    reason: CloseReason,
    at: Instant,
}

pub(super) struct Cutoffs {
    keep: Duration,
    by_account: HashMap<BareJid, Vec<Cutoff>>,
}

impl Cutoffs {
    pub fn new(keep: Duration) -> Cutoffs {
        Cutoffs {
            keep,
            by_account: HashMap::new(),
        }
    }

    /// Remembers that logins `filter` selects (regardless of which session
    /// it spared) were cut off at `now` for `reason`.
    pub fn add(
        &mut self,
        user: &BareJid,
        filter: &SessionFilter,
        reason: CloseReason,
        now: Instant,
    ) {
        let keep = self.keep;
        if self.by_account.len() > PRUNE_ABOVE {
            self.by_account.retain(|_, list| {
                list.retain(|c| now.duration_since(c.at) <= keep);
                !list.is_empty()
            });
        }
        let filter = filter.for_later_logins();
        let list = self.by_account.entry(user.clone()).or_default();
        list.retain(|c| now.duration_since(c.at) <= keep && c.filter != filter);
        if filter == SessionFilter::AllExcept(None) {
            // It selects every login the older ones did.
            list.clear();
        }
        if list.len() >= PER_ACCOUNT {
            // Full of live cut-offs: one that selects every login, as of
            // now, covers them all (it refuses more, never less).
            list.clear();
            list.push(Cutoff {
                filter: SessionFilter::AllExcept(None),
                reason,
                at: now,
            });
            return;
        }
        list.push(Cutoff {
            filter,
            reason,
            at: now,
        });
    }

    /// Why a login of `user` by `client` (unknown yet for a legacy login)
    /// that authenticated at `authenticated_at` was cut off since, if it was.
    pub fn find(
        &self,
        user: &BareJid,
        client: Option<&ClientId>,
        authenticated_at: Instant,
    ) -> Option<CloseReason> {
        self.by_account
            .get(user)?
            .iter()
            .rev()
            .find(|c| c.at >= authenticated_at && c.filter.selects_login(client))
            .map(|c| c.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> BareJid {
        BareJid::new("alice@example.test").unwrap()
    }

    #[test]
    fn a_looping_revoke_keeps_one_entry_and_the_list_stays_bounded() {
        let mut cutoffs = Cutoffs::new(Duration::from_secs(60));
        let now = Instant::now();
        let phone = ClientId::parse("phone").unwrap();
        for _ in 0..1000 {
            cutoffs.add(
                &alice(),
                &SessionFilter::Client(phone.clone()),
                CloseReason::ClientRevoked,
                now,
            );
        }
        assert_eq!(cutoffs.by_account[&alice()].len(), 1);
        let before = now - Duration::from_millis(1);
        for i in 0..1000 {
            let client = ClientId::parse(&format!("c{i}")).unwrap();
            cutoffs.add(
                &alice(),
                &SessionFilter::Client(client),
                CloseReason::ClientRevoked,
                now,
            );
        }
        assert!(cutoffs.by_account[&alice()].len() <= PER_ACCOUNT);
        // Nothing live was dropped: every revoked client is still refused.
        for i in [0, 500, 999] {
            let client = ClientId::parse(&format!("c{i}")).unwrap();
            assert!(
                cutoffs.find(&alice(), Some(&client), before).is_some(),
                "c{i}"
            );
        }
        assert!(cutoffs.find(&alice(), Some(&phone), before).is_some());
    }

    #[test]
    fn what_a_cutoff_selects() {
        let mut cutoffs = Cutoffs::new(Duration::from_secs(60));
        let before = Instant::now();
        let phone = ClientId::parse("phone").unwrap();
        let laptop = ClientId::parse("laptop").unwrap();
        cutoffs.add(
            &alice(),
            &SessionFilter::Client(phone.clone()),
            CloseReason::ClientRevoked,
            Instant::now(),
        );
        assert_eq!(
            cutoffs.find(&alice(), Some(&phone), before),
            Some(CloseReason::ClientRevoked)
        );
        assert_eq!(cutoffs.find(&alice(), Some(&laptop), before), None);
        assert_eq!(cutoffs.find(&alice(), None, before), None);
        assert_eq!(cutoffs.find(&alice(), Some(&phone), Instant::now()), None);

        // The session that changed the password is spared when sessions
        // end, but no later login is: the kept JID is no way back in.
        let keep = jid::FullJid::new("alice@example.test/phone").unwrap();
        cutoffs.add(
            &alice(),
            &SessionFilter::AllExcept(Some(keep)),
            CloseReason::PasswordChanged,
            Instant::now(),
        );
        assert_eq!(
            cutoffs.find(&alice(), None, before),
            Some(CloseReason::PasswordChanged)
        );
        assert_eq!(
            cutoffs.find(&alice(), Some(&laptop), before),
            Some(CloseReason::PasswordChanged)
        );
        let bob = BareJid::new("bob@example.test").unwrap();
        assert_eq!(cutoffs.find(&bob, None, before), None);
    }

    #[test]
    fn expired_cutoffs_are_dropped() {
        let mut cutoffs = Cutoffs::new(Duration::from_secs(60));
        let long_ago = Instant::now();
        let later = long_ago + Duration::from_secs(120);
        let phone = ClientId::parse("phone").unwrap();
        cutoffs.add(
            &alice(),
            &SessionFilter::Client(phone.clone()),
            CloseReason::ClientRevoked,
            long_ago,
        );
        cutoffs.add(
            &alice(),
            &SessionFilter::AllExcept(None),
            CloseReason::PasswordChanged,
            later,
        );
        assert_eq!(cutoffs.by_account[&alice()].len(), 1);
    }
}
