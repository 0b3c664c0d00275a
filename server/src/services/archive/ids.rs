//! Archive ids: each archived message's row id, which is also its
//! XEP-0359 stanza id, made in memory when the message is routed so that
//! delivery never waits for the database.
//!
//! An id is the time in ms shifted left by [`SEQUENCE_BITS`], plus a
//! sequence that starts at a random point each millisecond (so an id
//! does not tell how many messages the server archived before it). Ids
//! never decrease, and never repeat while their rows exist, even across a
//! restart or a clock that goes back: rows go to the end of the table, a
//! time range is a range of
//! ids, and an id finds its row with no index of its own (a unique index
//! of string ids cost a fifth of the archive's write speed). Clients see
//! 11 URL-safe characters; guessing one gives nothing, as a query only
//! ever reads the asker's own rows.
//!
//! Ids of messages on their way to the writer are "in flight": a query
//! first waits for those made before it ([`Ids::settled`]), so that no
//! message lands behind a page a client was already given. Whoever's they
//! are: a query may wait for other accounts' messages (at most a few
//! seconds, when their senders wait for room in the writer's queue).

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::Notify;

/// Bits of an id below its time in ms: at least half a million ids per
/// millisecond (the sequence starts in the lower half).
pub const SEQUENCE_BITS: u32 = 20;
/// The latest time an id can carry (the year 2248).
const MAX_STAMP_MS: i64 = (1 << (63 - SEQUENCE_BITS)) - 1;
/// Characters of an id as clients see it (6 bits each).
const ID_CHARS: usize = 11;
/// The 64 URL-safe characters in ASCII order, so that later ids sort
/// after earlier ones as strings too.
const SORTED_ALPHABET: &[u8; 64] =
    b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
/// The longest a query waits for messages in flight (their delivery or
/// offline storage) before it reads anyway.
const SETTLE_WAIT: Duration = Duration::from_secs(5);

/// One archived message's id; also its row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ArchiveId(i64);

impl ArchiveId {
    pub fn from_row(row: i64) -> ArchiveId {
        ArchiveId(row)
    }

    pub fn row(self) -> i64 {
        self.0
    }

    /// The first id of the millisecond `stamp_ms`.
    pub fn first_of(stamp_ms: i64) -> ArchiveId {
        ArchiveId(stamp_ms.clamp(0, MAX_STAMP_MS) << SEQUENCE_BITS)
    }

    /// When it was archived, Unix ms.
    pub fn stamp_ms(self) -> i64 {
        self.0 >> SEQUENCE_BITS
    }

    /// The id a client names; `None` when it is not one of this form
    /// (an id of an earlier kind, or none at all).
    pub fn parse(text: &str) -> Option<ArchiveId> {
        let bytes = text.as_bytes();
        if bytes.len() != ID_CHARS {
            return None;
        }
        let mut value: u64 = 0;
        for &b in bytes {
            let digit = SORTED_ALPHABET.iter().position(|&a| a == b)?;
            value = value.checked_mul(64)?.checked_add(digit as u64)?;
        }
        i64::try_from(value).ok().map(ArchiveId)
    }
}

impl fmt::Display for ArchiveId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = self.0 as u64;
        let mut text = [0u8; ID_CHARS];
        for (i, c) in text.iter_mut().enumerate() {
            let shift = 6 * (ID_CHARS - 1 - i);
            *c = SORTED_ALPHABET[((value >> shift) & 63) as usize];
        }
        f.write_str(std::str::from_utf8(&text).expect("the alphabet is ASCII"))
    }
}

/// Makes ids and knows which are in flight.
pub struct Ids {
    state: Mutex<State>,
    /// Queries waiting in [`Ids::settled`].
    waiting: AtomicUsize,
    released: Notify,
}

struct State {
    last: i64,
    in_flight: BTreeSet<i64>,
}

impl Ids {
    /// Ids after `last_row`, the newest row written so far.
    pub fn after(last_row: i64) -> Arc<Ids> {
        Arc::new(Ids {
            state: Mutex::new(State {
                last: last_row,
                in_flight: BTreeSet::new(),
            }),
            waiting: AtomicUsize::new(0),
            released: Notify::new(),
        })
    }

    /// A new id, of `stamp_ms` or later, in flight until the reservation
    /// is dropped (once the message is queued for the writer, or not
    /// archived after all).
    pub fn reserve(self: &Arc<Ids>, stamp_ms: i64) -> Reservation {
        let start = rand::rng().random_range(0..1i64 << (SEQUENCE_BITS - 1));
        let floor = ArchiveId::first_of(stamp_ms).0 | start;
        let mut state = self.state.lock().expect("never poisoned");
        let id = state.last.saturating_add(1).max(floor);
        state.last = id;
        state.in_flight.insert(id);
        Reservation {
            id: ArchiveId(id),
            ids: self.clone(),
        }
    }

    fn release(&self, id: ArchiveId) {
        let oldest = {
            let mut state = self.state.lock().expect("never poisoned");
            let oldest = state.in_flight.first() == Some(&id.0);
            state.in_flight.remove(&id.0);
            oldest
        };
        // Queries wait for the oldest id in flight to move on.
        if oldest && self.waiting.load(Ordering::Acquire) > 0 {
            self.released.notify_waiters();
        }
    }

    /// Waits until every id made so far has left flight (at most
    /// [`SETTLE_WAIT`]).
    pub async fn settled(&self) {
        let fence = self.state.lock().expect("never poisoned").last;
        let _waiting = Waiting::new(&self.waiting);
        let _ = tokio::time::timeout(SETTLE_WAIT, async {
            loop {
                let released = self.released.notified();
                tokio::pin!(released);
                released.as_mut().enable();
                let oldest = self
                    .state
                    .lock()
                    .expect("never poisoned")
                    .in_flight
                    .first()
                    .copied();
                if oldest.is_none_or(|oldest| oldest > fence) {
                    return;
                }
                released.await;
            }
        })
        .await;
    }
}

/// One query counted in [`Ids::waiting`] while it waits, also when it is
/// dropped mid-wait (its session ended).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Waiting<'a> {
        count.fetch_add(1, Ordering::AcqRel);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An id in flight.
pub struct Reservation {
    id: ArchiveId,
    ids: Arc<Ids>,
}

impl Reservation {
    pub fn id(&self) -> ArchiveId {
        self.id
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.ids.release(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    #[test]
    fn ids_read_back_sort_as_strings_and_carry_their_time() {
        let ids = Ids::after(0);
        let made: Vec<ArchiveId> = [T0, T0, T0 + 1, T0 + 64, T0 + 86_400_000]
            .into_iter()
            .map(|t| ids.reserve(t).id())
            .collect();
        let texts: Vec<String> = made.iter().map(ToString::to_string).collect();
        for (id, text) in made.iter().zip(&texts) {
            assert_eq!(text.len(), ID_CHARS);
            assert!(text.bytes().all(|b| SORTED_ALPHABET.contains(&b)), "{text}");
            assert_eq!(ArchiveId::parse(text), Some(*id));
        }
        let mut sorted = texts.clone();
        sorted.sort();
        assert_eq!(sorted, texts);
        let stamps: Vec<i64> = made.iter().map(|id| id.stamp_ms()).collect();
        assert_eq!(stamps, [T0, T0, T0 + 1, T0 + 64, T0 + 86_400_000]);
        assert_ne!(made[0], made[1]);
    }

    #[test]
    fn ids_never_go_back_with_the_clock() {
        let ids = Ids::after(0);
        let late = ids.reserve(T0 + 10).id();
        let early = ids.reserve(T0).id();
        assert!(early > late);
        assert_eq!(early.stamp_ms(), T0 + 10);
        // After a restart, from the newest row.
        let restarted = Ids::after(late.row());
        assert!(restarted.reserve(T0).id() > late);
    }

    #[test]
    fn only_ids_of_this_form_parse() {
        for text in [
            "",
            "short",
            "0123456789AB",
            "0123456789!",
            // An id of the earlier kind: 16 characters.
            "-0Gq3Dq2abcdefgh",
            // Past 2^63.
            "zzzzzzzzzzz",
        ] {
            assert_eq!(ArchiveId::parse(text), None, "{text}");
        }
    }

    /// A query's wait for the ids in flight, in a task of its own.
    fn settling(ids: &std::sync::Arc<Ids>) -> tokio::task::JoinHandle<()> {
        let ids = ids.clone();
        tokio::spawn(async move { ids.settled().await })
    }

    #[tokio::test]
    async fn a_query_waits_for_ids_in_flight_made_before_it() {
        let ids = Ids::after(0);
        let in_flight = ids.reserve(T0);
        let waiter = settling(&ids);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        // A later id in flight does not hold it back.
        let _later = ids.reserve(T0 + 1);
        drop(in_flight);
        tokio::time::timeout(Duration::from_secs(2), waiter)
            .await
            .expect("released")
            .unwrap();
        assert_eq!(ids.waiting.load(Ordering::Acquire), 0);
    }

    #[tokio::test]
    async fn a_query_given_up_mid_wait_is_no_longer_counted() {
        let ids = Ids::after(0);
        let _in_flight = ids.reserve(T0);
        let waiter = settling(&ids);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(ids.waiting.load(Ordering::Acquire), 1);
        waiter.abort();
        let _ = waiter.await;
        assert_eq!(ids.waiting.load(Ordering::Acquire), 0);
    }
}
