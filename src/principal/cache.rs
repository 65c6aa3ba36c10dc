//! The process-local cache of principals' revocations: a bound session's
//! load consults it, and asks the store at most once per
//! `revocation_check_interval` per principal.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, PoisonError, RwLock};

use crate::clock::UnixTime;

use super::{PRINCIPAL_HASH_LEN, Revocations, SessionHandle};

/// How many principals are cached at most; past it, stale entries go first,
/// then everything (the next loads simply ask the store again).
const MAX_PRINCIPALS: usize = 100_000;

/// What the cache says about one bound session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allowed,
    Revoked,
    /// Nothing fresh is cached: ask the store.
    Unknown,
}

struct Cached {
    fetched_at: UnixTime,
    revocations: Arc<Revocations>,
}

/// Principal hashes are uniformly random already: their first eight bytes
/// are a hash, and hashing them again would cost more than the lookup.
#[derive(Clone, Copy, Default)]
struct Prehashed;

#[derive(Default)]
struct PrefixHasher(u64);

impl Hasher for PrefixHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut b = [0u8; 8];
        let n = bytes.len().min(8);
        b[..n].copy_from_slice(&bytes[..n]);
        self.0 ^= u64::from_le_bytes(b);
    }
}

impl BuildHasher for Prehashed {
    type Hasher = PrefixHasher;
    fn build_hasher(&self) -> PrefixHasher {
        PrefixHasher(0)
    }
}

pub(crate) struct RevocationCache {
    interval: u64,
    map: RwLock<HashMap<[u8; PRINCIPAL_HASH_LEN], Cached, Prehashed>>,
}

impl RevocationCache {
    pub(crate) fn new(interval_secs: u64) -> Self {
        RevocationCache {
            interval: interval_secs,
            map: RwLock::new(HashMap::with_hasher(Prehashed)),
        }
    }

    /// The verdict on the session `handle` of `principal`, bound at
    /// `bound_at`, from what was fetched within the interval.
    pub(crate) fn check(
        &self,
        principal: &[u8; PRINCIPAL_HASH_LEN],
        handle: &SessionHandle,
        bound_at: UnixTime,
        now: UnixTime,
    ) -> Verdict {
        if self.interval == 0 {
            return Verdict::Unknown;
        }
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        match map.get(principal) {
            Some(c) if now.saturating_sub(c.fetched_at) < self.interval => {
                if c.revocations.revokes(handle, bound_at) {
                    Verdict::Revoked
                } else {
                    Verdict::Allowed
                }
            }
            _ => Verdict::Unknown,
        }
    }

    /// Remember what the store said at `now`.
    pub(crate) fn put(
        &self,
        principal: &[u8; PRINCIPAL_HASH_LEN],
        revocations: Revocations,
        now: UnixTime,
    ) {
        if self.interval == 0 {
            return;
        }
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_PRINCIPALS && !map.contains_key(principal) {
            let interval = self.interval;
            map.retain(|_, c| now.saturating_sub(c.fetched_at) < interval);
            if map.len() >= MAX_PRINCIPALS {
                map.clear();
            }
        }
        map.insert(
            *principal,
            Cached {
                fetched_at: now,
                revocations: Arc::new(revocations),
            },
        );
    }

    /// Drop what is cached for `principal` (after this process revoked some
    /// of its sessions: the next load asks the store).
    pub(crate) fn forget(&self, principal: &[u8; PRINCIPAL_HASH_LEN]) {
        self.map
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(principal);
    }
}

impl std::fmt::Debug for RevocationCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationCache")
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_hold_for_the_interval_then_expire() {
        let cache = RevocationCache::new(10);
        let (p, h) = ([5u8; PRINCIPAL_HASH_LEN], SessionHandle::from_bytes([1; 8]));
        assert_eq!(cache.check(&p, &h, 100, 100), Verdict::Unknown);
        let r = Revocations {
            not_before: 150,
            ..Revocations::default()
        };
        cache.put(&p, r, 200);
        assert_eq!(cache.check(&p, &h, 100, 205), Verdict::Revoked);
        assert_eq!(cache.check(&p, &h, 151, 205), Verdict::Allowed);
        assert_eq!(cache.check(&p, &h, 151, 210), Verdict::Unknown);
        cache.put(&p, Revocations::default(), 210);
        cache.forget(&p);
        assert_eq!(cache.check(&p, &h, 151, 211), Verdict::Unknown);
        let every_time = RevocationCache::new(0);
        every_time.put(&p, Revocations::default(), 0);
        assert_eq!(every_time.check(&p, &h, 1, 0), Verdict::Unknown);
    }
}
