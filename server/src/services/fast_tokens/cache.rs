//! The FAST token rows of recently seen clients, in memory, so that a
//! login with a token in use costs no storage job: the check is a few
//! HMACs against rows read earlier.
//!
//! Storage stays the authority. Every job that changes an account's tokens
//! (issue, first use, invalidation, rotation, a password change, a
//! revocation, the client cap, an account deletion) forgets the account
//! here once it committed, and rows are put back only by jobs that changed
//! nothing, under the generation taken before they read: rows read before
//! a change never land after it. So a revoked or superseded token is
//! refused from the next login on, as without a cache; and a refusal is
//! always storage's, so a missing row never costs a client its token.
//!
//! Bounded: past [`MAX_CLIENTS`] clients the whole cache is dropped, which
//! only costs each client one storage job at its next login.

use std::collections::HashMap;
use std::sync::Mutex;

use jid::BareJid;

use super::store::Row;
use crate::services::clients::ClientId;

/// Clients whose rows are kept at most.
pub const MAX_CLIENTS: usize = 100_000;

#[derive(Default)]
struct Inner {
    accounts: HashMap<BareJid, HashMap<ClientId, Vec<Row>>>,
    clients: usize,
    generations: HashMap<BareJid, u64>,
    /// The generation of every account not in `generations`.
    floor: u64,
    counter: u64,
}

impl Inner {
    fn generation(&self, user: &BareJid) -> u64 {
        self.generations.get(user).copied().unwrap_or(self.floor)
    }
}

#[derive(Default)]
pub struct TokenCache {
    inner: Mutex<Inner>,
}

impl TokenCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Consistent after every statement: a panic leaves nothing half-done.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The account's generation: take it before a job that reads rows,
    /// give it back to [`put`](Self::put).
    pub fn generation(&self, user: &BareJid) -> u64 {
        self.lock().generation(user)
    }

    /// The client's rows, if known.
    pub fn get(&self, user: &BareJid, client: &ClientId) -> Option<Vec<Row>> {
        self.lock().accounts.get(user)?.get(client).cloned()
    }

    /// Keeps rows read under `generation`, unless the account changed since.
    pub fn put(&self, user: &BareJid, client: &ClientId, rows: Vec<Row>, generation: u64) {
        let mut inner = self.lock();
        if inner.generation(user) != generation {
            return;
        }
        if inner.clients >= MAX_CLIENTS {
            inner.accounts.clear();
            inner.generations.clear();
            inner.clients = 0;
            inner.counter += 1;
            inner.floor = inner.counter;
            // Everything read before the clear is now of an old generation.
            return;
        }
        let account = inner.accounts.entry(user.clone()).or_default();
        let added = account.insert(client.clone(), rows).is_none();
        inner.clients += usize::from(added);
    }

    /// The account's tokens changed, or are about to: nothing kept or read
    /// before is used again.
    pub fn forget(&self, user: &BareJid) {
        let mut inner = self.lock();
        if let Some(account) = inner.accounts.remove(user) {
            inner.clients -= account.len();
        }
        inner.counter += 1;
        let next = inner.counter;
        inner.generations.insert(user.clone(), next);
        if inner.generations.len() > MAX_CLIENTS {
            // Too many accounts changed lately to track one by one: move
            // every account on at once.
            inner.generations.clear();
            inner.accounts.clear();
            inner.clients = 0;
            inner.floor = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::store::Slot;
    use super::*;

    fn row(id: u8) -> Row {
        Row {
            token_id: vec![id; 16],
            slot: Slot::Current,
            mechanism: "HT-SHA-256-NONE".into(),
            issued_at: 0,
            expires_at: i64::MAX,
        }
    }

    #[test]
    fn rows_read_before_a_change_never_land_after_it() {
        let cache = TokenCache::default();
        let alice = BareJid::new("alice@example.test").unwrap();
        let phone = ClientId::parse("phone").unwrap();
        let before = cache.generation(&alice);
        cache.forget(&alice);
        cache.put(&alice, &phone, vec![row(1)], before);
        assert!(cache.get(&alice, &phone).is_none());

        let now = cache.generation(&alice);
        cache.put(&alice, &phone, vec![row(1)], now);
        assert_eq!(cache.get(&alice, &phone).unwrap().len(), 1);
        cache.forget(&alice);
        assert!(cache.get(&alice, &phone).is_none());
    }

    #[test]
    fn bounded() {
        let cache = TokenCache::default();
        let alice = BareJid::new("alice@example.test").unwrap();
        for i in 0..MAX_CLIENTS + 10 {
            let client = ClientId::parse(&format!("c{i}")).unwrap();
            let generation = cache.generation(&alice);
            cache.put(&alice, &client, vec![row(1)], generation);
        }
        assert!(cache.lock().clients <= MAX_CLIENTS);
    }
}
