//! How many audit entries strangers can make roostd write: a token bucket
//! per (budget, action), so a flood of one kind (bad API keys) cannot crowd
//! out another (lock-outs). What a bucket refuses is counted, and the next
//! entry it lets through carries the count.
//!
//! The buckets' sizes bound the log: refusals at most 20 at once and then
//! one per five minutes per action, lock-outs and other events 100 at once
//! and then one a minute. Over the default 90 days that is some 26,000
//! refusal entries per action and 130,000 lock-outs, a few tens of MiB at
//! worst.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use roost_common::admin::AuditAction;

/// Which allowance an entry draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Budget {
    /// Refusals of anyone but an admin.
    Refusals,
    /// Security events that are no change (lock-outs).
    Events,
}

impl Budget {
    /// (burst, one more per this long)
    fn shape(self) -> (u32, Duration) {
        match self {
            Budget::Refusals => (20, Duration::from_secs(300)),
            Budget::Events => (100, Duration::from_secs(60)),
        }
    }
}

#[derive(Default)]
pub(super) struct Limiter {
    buckets: Mutex<HashMap<(Budget, AuditAction), Bucket>>,
}

struct Bucket {
    tokens: u32,
    /// When the last token was added (or the bucket made).
    refilled: Instant,
    /// Entries refused since the last one let through.
    left_out: u64,
}

impl Limiter {
    /// `Some(n)` when an entry may be written, `n` being how many were left
    /// out before it; `None` when it must be left out. The map holds at
    /// most one bucket per budget and action.
    pub(super) fn admit(&self, budget: Budget, action: AuditAction) -> Option<u64> {
        self.admit_at(budget, action, Instant::now())
    }

    pub(super) fn admit_at(
        &self,
        budget: Budget,
        action: AuditAction,
        now: Instant,
    ) -> Option<u64> {
        let (burst, every) = budget.shape();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry((budget, action)).or_insert(Bucket {
            tokens: burst,
            refilled: now,
            left_out: 0,
        });
        let earned = now.saturating_duration_since(bucket.refilled).as_secs() / every.as_secs();
        if earned > 0 {
            bucket.tokens = burst.min(
                bucket
                    .tokens
                    .saturating_add(u32::try_from(earned).unwrap_or(u32::MAX)),
            );
            bucket.refilled += every * u32::try_from(earned).unwrap_or(u32::MAX);
        }
        if bucket.tokens == 0 {
            bucket.left_out += 1;
            return None;
        }
        bucket.tokens -= 1;
        Some(std::mem::take(&mut bucket.left_out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_cut_to_the_burst_then_counted() {
        let limiter = Limiter::default();
        let start = Instant::now();
        let action = AuditAction::InviteCreate;
        for _ in 0..20 {
            assert_eq!(limiter.admit_at(Budget::Refusals, action, start), Some(0));
        }
        for _ in 0..1000 {
            assert_eq!(limiter.admit_at(Budget::Refusals, action, start), None);
        }
        // Another action and another budget have their own buckets.
        assert_eq!(
            limiter.admit_at(Budget::Refusals, AuditAction::InviteRedeem, start),
            Some(0)
        );
        assert_eq!(
            limiter.admit_at(Budget::Events, AuditAction::LoginLockout, start),
            Some(0)
        );
        // After five minutes one more, carrying the count.
        let later = start + Duration::from_secs(300);
        assert_eq!(
            limiter.admit_at(Budget::Refusals, action, later),
            Some(1000)
        );
        assert_eq!(limiter.admit_at(Budget::Refusals, action, later), None);
        assert_eq!(
            limiter.admit_at(Budget::Refusals, action, later + Duration::from_secs(299)),
            None
        );
        assert_eq!(
            limiter.admit_at(Budget::Refusals, action, later + Duration::from_secs(300)),
            Some(2)
        );
    }
}
