//! Keys whose cache entry may be stale because the cache could not be
//! reached to drop it: read from the durable tier until the entry is repaired.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::session_id::StoreKey;

/// Beyond this many suspect keys, new ones are only logged (the cache has been
/// unreachable for long; entries still expire with their TTL).
const MAX_SUSPECT: usize = 100_000;

#[derive(Debug, Default)]
pub(super) struct Suspects {
    keys: Mutex<HashSet<StoreKey>>,
    /// Lets the common case (no outage) skip the lock.
    any: AtomicBool,
}

impl Suspects {
    fn lock(&self) -> MutexGuard<'_, HashSet<StoreKey>> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `key`'s cache entry may be stale.
    pub(super) fn contains(&self, key: &StoreKey) -> bool {
        self.any.load(Ordering::Acquire) && self.lock().contains(key)
    }

    /// Remember `key`; false when the set is full (the entry then relies on
    /// its TTL).
    pub(super) fn insert(&self, key: &StoreKey) -> bool {
        let mut set = self.lock();
        if set.len() < MAX_SUSPECT || set.contains(key) {
            set.insert(key.clone());
            self.any.store(true, Ordering::Release);
            true
        } else {
            false
        }
    }

    pub(super) fn remove(&self, key: &StoreKey) {
        if self.any.load(Ordering::Acquire) {
            let mut set = self.lock();
            set.remove(key);
            if set.is_empty() {
                self.any.store(false, Ordering::Release);
            }
        }
    }

    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }
}
