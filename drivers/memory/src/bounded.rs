//! A bounded map with least-recently-used eviction that prefers expired
//! entries: the storage under both [`crate::MemoryStore`] and [`crate::MemoryCache`].

use std::collections::hash_map::{Entry, RandomState};
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};

use tiered_sessions::{StoreKey, UnixTime};

/// When full, at most this many least-recently-used entries are inspected for
/// an expired one to evict before the least recently used live one goes.
const EVICTION_PROBE: usize = 64;

#[derive(Debug)]
pub(crate) struct Bounded<V> {
    /// By key, hashed: a lookup costs one hash and a probe or two however
    /// many sessions are held (an ordered map walked several nodes of keys).
    entries: HashMap<StoreKey, Slot<V>, KeyHashing>,
    /// By last use: each key with until when it lasts (at or past it the
    /// entry is gone), the one place the expiry is kept, so an eviction
    /// probes the oldest entries without a lookup per key.
    lru: BTreeMap<u64, (StoreKey, UnixTime)>,
    tick: u64,
    capacity: usize,
}

#[derive(Debug)]
struct Slot<V> {
    value: V,
    /// Its place in `lru`.
    used: u64,
}

/// Hashes store keys for the map. A store key is a keyed hash (HMAC-SHA256)
/// of a session id: its bytes are uniform and nobody can choose them without
/// the store-key secret, so a multiply-and-rotate over them, seeded at random
/// per map and mixed at the end, spreads them as well as SipHash does at a
/// fraction of its cost (SipHash was ~4 % of a new session in a profile).
#[derive(Debug, Clone)]
struct KeyHashing {
    seed: u64,
}

impl KeyHashing {
    fn new() -> Self {
        KeyHashing {
            seed: RandomState::new().hash_one(0x5eed_u64),
        }
    }
}

impl BuildHasher for KeyHashing {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(self.seed)
    }
}

struct KeyHasher(u64);

impl KeyHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0 ^ word)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            self.mix(u64::from_le_bytes(w));
        }
        let rest = words.remainder();
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        // The length too, so "ab" and "ab\0" differ.
        self.mix(u64::from_le_bytes(w) ^ ((bytes.len() as u64) << 56));
    }

    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }

    fn finish(&self) -> u64 {
        // MurmurHash3's finalizer: every input bit reaches every output bit,
        // the high ones the table's control bytes use included.
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    }
}

impl<V> Bounded<V> {
    pub(crate) fn new(capacity: usize) -> Self {
        Bounded {
            entries: HashMap::with_hasher(KeyHashing::new()),
            lru: BTreeMap::new(),
            tick: 0,
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Every key held, in key order.
    pub(crate) fn keys(&self) -> Vec<StoreKey> {
        let mut keys: Vec<StoreKey> = self.entries.keys().cloned().collect();
        keys.sort_unstable();
        keys
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.lru.clear();
    }

    /// The entry under `key` if it lasts past `now`, marked as used; a lapsed
    /// entry is dropped on the way. One lookup of the key.
    pub(crate) fn live(&mut self, key: &StoreKey, now: UnixTime) -> Option<&mut V> {
        let Entry::Occupied(slot) = self.entries.entry(key.clone()) else {
            return None;
        };
        match self.lru.remove(&slot.get().used) {
            Some((held, until)) if until > now => {
                self.tick += 1;
                self.lru.insert(self.tick, (held, until));
                let slot = slot.into_mut();
                slot.used = self.tick;
                Some(&mut slot.value)
            }
            _ => {
                slot.remove();
                None
            }
        }
    }

    /// Set how long the live entry under `key` lasts.
    pub(crate) fn extend(&mut self, key: &StoreKey, until: UnixTime) {
        if let Some(slot) = self.entries.get(key) {
            if let Some(held) = self.lru.get_mut(&slot.used) {
                held.1 = until;
            }
        }
    }

    /// Insert or replace; a new key in a full map evicts one entry first.
    pub(crate) fn put(&mut self, key: &StoreKey, value: V, until: UnixTime, now: UnixTime) {
        let used = self.next_tick();
        let slot = Slot { value, used };
        if self.entries.len() >= self.capacity && !self.entries.contains_key(key) {
            self.evict_one(now);
        }
        match self.entries.entry(key.clone()) {
            Entry::Occupied(mut held) => {
                let old = held.insert(slot);
                let key = self
                    .lru
                    .remove(&old.used)
                    .map_or_else(|| key.clone(), |(k, _)| k);
                self.lru.insert(used, (key, until));
            }
            Entry::Vacant(free) => {
                free.insert(slot);
                self.lru.insert(used, (key.clone(), until));
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &StoreKey) {
        if let Some(old) = self.entries.remove(key) {
            self.lru.remove(&old.used);
        }
    }

    /// Up to `max` keys (at least one) that have lapsed at `now`, the first
    /// in key order after `after`; and, when more are left, the last key
    /// returned (where the next batch starts after).
    pub(crate) fn lapsed_after(
        &self,
        after: Option<&StoreKey>,
        now: UnixTime,
        max: usize,
    ) -> (Vec<StoreKey>, Option<StoreKey>) {
        let max = max.max(1);
        let mut lapsed: Vec<&StoreKey> = self
            .lru
            .values()
            .filter(|(k, until)| *until <= now && after.is_none_or(|a| k > a))
            .map(|(k, _)| k)
            .collect();
        let more = lapsed.len() > max;
        if more {
            lapsed.select_nth_unstable(max - 1);
            lapsed.truncate(max);
        }
        lapsed.sort_unstable();
        let stopped_at = more.then(|| lapsed.last().map(|k| (*k).clone())).flatten();
        (lapsed.into_iter().cloned().collect(), stopped_at)
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    /// Drop an entry lapsed at `now` among the `EVICTION_PROBE` least
    /// recently used, else the least recently used one.
    fn evict_one(&mut self, now: UnixTime) {
        let victim = self
            .lru
            .iter()
            .take(EVICTION_PROBE)
            .find(|(_, (_, until))| *until <= now)
            .or_else(|| self.lru.iter().next())
            .map(|(&tick, _)| tick);
        if let Some((key, _)) = victim.and_then(|tick| self.lru.remove(&tick)) {
            self.entries.remove(&key);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap is a failed test.
mod tests {
    use super::*;
    use tiered_sessions::{SessionConfig, SessionId, SessionManager};

    fn keys(n: usize) -> Vec<StoreKey> {
        let config = SessionConfig::builder([[9u8; 32]]).build().unwrap();
        let manager = SessionManager::cookie_only(config);
        (0..n)
            .map(|_| manager.store_key(&SessionId::generate().unwrap()))
            .collect()
    }

    /// The two maps hold the same keys, each entry at its place in the use order.
    fn check(map: &Bounded<u32>) {
        assert_eq!(map.entries.len(), map.lru.len());
        assert!(map.entries.len() <= map.capacity);
        for (tick, (key, _)) in &map.lru {
            assert_eq!(map.entries[key].used, *tick);
        }
    }

    #[test]
    fn the_use_order_follows_every_operation() {
        let keys = keys(12);
        let mut map = Bounded::new(8);
        // A fixed pseudo-random walk (xorshift) over every operation.
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        for step in 0..5_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = &keys[(x % 12) as usize];
            let now = step / 10;
            let until = now + (x >> 8) % 40;
            match (x >> 4) % 4 {
                0 | 1 => map.put(key, step as u32, until, now),
                2 => {
                    if let Some(v) = map.live(key, now) {
                        *v += 1;
                    }
                }
                _ => match (x >> 6) % 2 {
                    0 => map.extend(key, until),
                    _ => map.remove(key),
                },
            }
            check(&map);
        }
    }

    #[test]
    fn a_full_map_evicts_a_lapsed_entry_before_the_least_recently_used() {
        let keys = keys(4);
        let mut map = Bounded::new(3);
        map.put(&keys[0], 0, 100, 0);
        map.put(&keys[1], 1, 100, 0);
        map.put(&keys[2], 2, 100, 0);
        // keys[1] lapses at 10 once extended so; keys[0] stays least recently used.
        map.extend(&keys[1], 10);
        map.put(&keys[3], 3, 100, 20);
        check(&map);
        assert!(map.entries.contains_key(&keys[0]));
        assert!(!map.entries.contains_key(&keys[1]));
    }

    #[test]
    fn key_hashes_spread_over_low_and_high_bits() {
        let hashing = KeyHashing::new();
        let hashes: Vec<u64> = keys(4096).iter().map(|k| hashing.hash_one(k)).collect();
        let low: std::collections::HashSet<u64> = hashes.iter().map(|h| h & 0xfff).collect();
        let high: std::collections::HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        // 4096 uniform draws from 4096 buckets fill about 63 % of them.
        assert!(low.len() > 2400, "{} of 4096 low buckets used", low.len());
        assert_eq!(high.len(), 128, "every 7-bit control value appears");
        // A different seed, different hashes.
        let (other, key) = (KeyHashing::new(), &keys(1)[0]);
        assert_ne!(other.hash_one(key), hashing.hash_one(key));
    }
}
