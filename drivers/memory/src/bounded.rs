//! A bounded map with least-recently-used eviction that prefers expired
//! entries: the storage under both [`crate::MemoryStore`] and [`crate::MemoryCache`].

use std::collections::BTreeMap;

use tiered_sessions::{StoreKey, UnixTime};

/// When full, at most this many least-recently-used entries are inspected for
/// an expired one to evict before the least recently used live one goes.
const EVICTION_PROBE: usize = 64;

#[derive(Debug)]
pub(crate) struct Bounded<V> {
    entries: BTreeMap<StoreKey, Slot<V>>,
    lru: BTreeMap<u64, StoreKey>,
    tick: u64,
    capacity: usize,
}

#[derive(Debug)]
struct Slot<V> {
    value: V,
    /// Until when the entry counts; at or past it the entry is gone.
    until: UnixTime,
    used: u64,
}

impl<V> Bounded<V> {
    pub(crate) fn new(capacity: usize) -> Self {
        Bounded {
            entries: BTreeMap::new(),
            lru: BTreeMap::new(),
            tick: 0,
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn keys(&self) -> Vec<StoreKey> {
        self.entries.keys().cloned().collect()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.lru.clear();
    }

    /// The entry under `key` if it lasts past `now`, marked as used; a lapsed
    /// entry is dropped on the way.
    pub(crate) fn live(&mut self, key: &StoreKey, now: UnixTime) -> Option<&mut V> {
        let lapsed = self.entries.get(key).map(|e| e.until <= now)?;
        if lapsed {
            self.remove(key);
            return None;
        }
        self.tick += 1;
        let tick = self.tick;
        let slot = self.entries.get_mut(key)?;
        self.lru.remove(&slot.used);
        slot.used = tick;
        self.lru.insert(tick, key.clone());
        Some(&mut slot.value)
    }

    /// Set how long the live entry under `key` lasts.
    pub(crate) fn extend(&mut self, key: &StoreKey, until: UnixTime) {
        if let Some(slot) = self.entries.get_mut(key) {
            slot.until = until;
        }
    }

    /// Insert or replace; a new key in a full map evicts one entry first.
    pub(crate) fn put(&mut self, key: &StoreKey, value: V, until: UnixTime, now: UnixTime) {
        if !self.entries.contains_key(key) && self.entries.len() >= self.capacity {
            self.evict_one(now);
        }
        self.tick += 1;
        let used = self.tick;
        let slot = Slot { value, until, used };
        if let Some(old) = self.entries.insert(key.clone(), slot) {
            self.lru.remove(&old.used);
        }
        self.lru.insert(used, key.clone());
    }

    pub(crate) fn remove(&mut self, key: &StoreKey) {
        if let Some(old) = self.entries.remove(key) {
            self.lru.remove(&old.used);
        }
    }

    /// Up to `max` keys (at least one) that have lapsed at `now`, in key order
    /// after `after`; and whether the scan stopped before the end (with the
    /// last key looked at).
    pub(crate) fn lapsed_after(
        &self,
        after: Option<&StoreKey>,
        now: UnixTime,
        max: usize,
    ) -> (Vec<StoreKey>, Option<StoreKey>) {
        use std::ops::Bound::{Excluded, Unbounded};
        let range = match after {
            Some(s) => self.entries.range((Excluded(s), Unbounded)),
            None => self.entries.range(..),
        };
        let mut lapsed = Vec::new();
        let mut last = None;
        for (k, e) in range {
            if lapsed.len() >= max.max(1) {
                return (lapsed, last);
            }
            if e.until <= now {
                lapsed.push(k.clone());
            }
            last = Some(k.clone());
        }
        (lapsed, None)
    }

    fn evict_one(&mut self, now: UnixTime) {
        let victim = self
            .lru
            .values()
            .take(EVICTION_PROBE)
            .find(|k| self.entries.get(*k).is_some_and(|e| e.until <= now))
            .or_else(|| self.lru.values().next())
            .cloned();
        if let Some(k) = victim {
            self.remove(&k);
        }
    }
}
