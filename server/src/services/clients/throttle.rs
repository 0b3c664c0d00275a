//! Remembers which logins were written lately, so that a client that logs
//! in again within a minute with the same method and full JID costs no
//! storage job (Prosody's `token_auth_access_time_granularity`): last-seen
//! is then at most a minute old, and FAST logins stay cheap.
//!
//! Keys are a 128-bit digest of (account, client id, method, full JID), so
//! an entry costs the same whatever the lengths; the map is cleared when it
//! passes [`MAX_ENTRIES`], which only costs one write per login after.
//!
//! What was written can be undone in storage (a password change clears
//! every client's password use, the cap deletes records), so each account
//! has a generation: [`Throttle::forget`] moves it on, and an entry written
//! under an older generation no longer spares a write. Generations are
//! taken from one counter that never goes back, also across a clear.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jid::{BareJid, FullJid};
use sha2::{Digest as _, Sha256};

use super::{AuthMethod, ClientId};

/// How long a written login spares further writes.
pub const INTERVAL: Duration = Duration::from_secs(60);

/// Entries (and account generations) kept at most.
pub const MAX_ENTRIES: usize = 100_000;

/// A login as the throttle knows it.
pub type Key = [u8; 16];

/// The key of a login: account, SASL2 client id (`None`: legacy), method
/// and full JID, each length-prefixed so that no two logins share one.
pub fn key(user: &BareJid, client: Option<&ClientId>, method: AuthMethod, jid: &FullJid) -> Key {
    let mut hash = Sha256::new();
    for part in [
        user.as_str(),
        client.map_or("", ClientId::as_str),
        method.as_str(),
        jid.as_str(),
    ] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hash.update([u8::from(client.is_some())]);
    let digest = hash.finalize();
    let mut key = [0; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

struct Entry {
    at: Instant,
    generation: u64,
    /// The id a legacy login was recorded under; a SASL2 login's is its own.
    legacy_id: Option<ClientId>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Key, Entry>,
    generations: HashMap<BareJid, u64>,
    /// The generation of every account not in `generations`.
    floor: u64,
    counter: u64,
}

impl Inner {
    fn generation(&self, user: &BareJid) -> u64 {
        self.generations.get(user).copied().unwrap_or(self.floor)
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }
}

#[derive(Default)]
pub struct Throttle {
    inner: Mutex<Inner>,
}

/// A login that was written lately: `Some(id)` for a legacy login.
pub type Fresh = Option<ClientId>;

impl Throttle {
    /// The account's generation now: read it before writing, and give it
    /// to [`Throttle::wrote`] after.
    pub fn generation(&self, user: &BareJid) -> u64 {
        self.lock().generation(user)
    }

    /// Whether `key` was written less than [`INTERVAL`] before `now` under
    /// the account's current generation.
    pub fn fresh(&self, user: &BareJid, key: &Key, now: Instant) -> Option<Fresh> {
        let inner = self.lock();
        let entry = inner.entries.get(key)?;
        (now.saturating_duration_since(entry.at) < INTERVAL
            && entry.generation == inner.generation(user))
        .then(|| entry.legacy_id.clone())
    }

    /// Notes that `key` was written at `now`, under `generation`.
    pub fn wrote(&self, key: Key, generation: u64, legacy_id: Option<ClientId>, now: Instant) {
        let mut inner = self.lock();
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.clear();
        }
        inner.entries.insert(
            key,
            Entry {
                at: now,
                generation,
                legacy_id,
            },
        );
    }

    /// What was written for `user` no longer spares a write.
    pub fn forget(&self, user: &BareJid) {
        let mut inner = self.lock();
        if inner.generations.len() >= MAX_ENTRIES {
            inner.generations.clear();
            inner.floor = inner.next();
        }
        let generation = inner.next();
        inner.generations.insert(user.clone(), generation);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("throttle lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(resource: &str) -> (BareJid, Key) {
        let user = BareJid::new("alice@example.test").unwrap();
        let jid = FullJid::new(&format!("alice@example.test/{resource}")).unwrap();
        let key = key(&user, None, AuthMethod::Password, &jid);
        (user, key)
    }

    #[test]
    fn a_write_spares_the_next_minute_only() {
        let throttle = Throttle::default();
        let (user, key) = login("phone");
        let start = Instant::now();
        assert_eq!(throttle.fresh(&user, &key, start), None);
        let id = ClientId::parse("abc").unwrap();
        throttle.wrote(key, throttle.generation(&user), Some(id.clone()), start);
        assert_eq!(
            throttle.fresh(&user, &key, start + Duration::from_secs(59)),
            Some(Some(id))
        );
        assert_eq!(throttle.fresh(&user, &key, start + INTERVAL), None);
        assert_eq!(throttle.fresh(&user, &login("laptop").1, start), None);
    }

    #[test]
    fn forgetting_an_account_voids_writes_made_before_and_in_flight() {
        let throttle = Throttle::default();
        let (user, key) = login("phone");
        let now = Instant::now();
        let before = throttle.generation(&user);
        throttle.forget(&user);
        // A write whose generation was read before the forget is stale.
        throttle.wrote(key, before, None, now);
        assert_eq!(throttle.fresh(&user, &key, now), None);
        throttle.wrote(key, throttle.generation(&user), None, now);
        assert_eq!(throttle.fresh(&user, &key, now), Some(None));
    }

    #[test]
    fn keys_tell_method_client_and_resource_apart() {
        let user = BareJid::new("a@example.test").unwrap();
        let jid = FullJid::new("a@example.test/r").unwrap();
        let id = ClientId::parse("r").unwrap();
        let keys = [
            key(&user, None, AuthMethod::Password, &jid),
            key(&user, None, AuthMethod::Fast, &jid),
            key(&user, Some(&id), AuthMethod::Password, &jid),
        ];
        assert_ne!(keys[0], keys[1]);
        assert_ne!(keys[0], keys[2]);
        assert_ne!(keys[1], keys[2]);
    }
}
