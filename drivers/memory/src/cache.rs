//! [`MemoryCache`]: the cache tier of a [`tiered_sessions::TieredStore`] in
//! process memory.

use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use tiered_sessions::codec::record_len;
use tiered_sessions::{CacheOutcome, CacheTier, Error, Record, Result, StoreKey, UnixTime};

use crate::bounded::Bounded;

/// How long a deletion marker blocks refills of a deleted key.
pub const DELETION_MARKER_SECS: u64 = 60;

/// How long a version floor outlives the durable save it guards (the save's
/// own refill normally replaces it at once).
pub const FLOOR_SECS: u64 = 30;

#[derive(Debug)]
enum Entry {
    Record(Record),
    /// Refills are refused until the entry lapses.
    Deleted,
    /// Refills older than this version are refused until the entry lapses.
    Floor(u64),
}

/// A bounded in-process cache tier (see [`tiered_sessions::CacheTier`]),
/// for a single process or for tests: in front of a durable store it saves
/// that store's reads, and it may lose anything at any time (eviction,
/// restart) without losing an acknowledged durable write.
#[derive(Debug)]
pub struct MemoryCache {
    inner: Mutex<Bounded<Entry>>,
    max_record_bytes: usize,
}

impl Default for MemoryCache {
    fn default() -> Self {
        MemoryCache::new()
    }
}

impl MemoryCache {
    /// A cache holding up to 100 000 entries of at most 1 MiB each.
    pub fn new() -> Self {
        MemoryCache::with_capacity(100_000)
    }

    /// A cache holding up to `capacity` entries (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryCache {
            inner: Mutex::new(Bounded::new(capacity)),
            max_record_bytes: crate::DEFAULT_MAX_RECORD_BYTES,
        }
    }

    /// The largest encoded record cached (default 1 MiB).
    pub fn with_max_record_bytes(mut self, limit: usize) -> Self {
        self.max_record_bytes = limit;
        self
    }

    /// How many entries (records, markers, floors) are held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every key held, for tests that check what reached the cache.
    pub fn keys(&self) -> Vec<StoreKey> {
        self.lock().keys()
    }

    /// Drop everything, as a cache restart would.
    pub fn flush(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> MutexGuard<'_, Bounded<Entry>> {
        // Every update is a single insert/remove: a panic elsewhere while the
        // lock was held leaves nothing half-written.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check_size(&self, record: &Record) -> Result<()> {
        let size = record_len(record);
        if size > self.max_record_bytes {
            return Err(Error::TooLarge {
                size,
                limit: self.max_record_bytes,
            });
        }
        Ok(())
    }
}

fn floor(map: &mut Bounded<Entry>, key: &StoreKey, version: u64, now: UnixTime) {
    map.put(
        key,
        Entry::Floor(version),
        now.saturating_add(FLOOR_SECS),
        now,
    );
}

#[async_trait]
impl CacheTier for MemoryCache {
    fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    async fn get(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
        Ok(match self.lock().live(key, now) {
            Some(Entry::Record(r)) => Some(r.clone()),
            _ => None,
        })
    }

    async fn put_if_newer(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()> {
        if record.is_expired(now) {
            return Ok(());
        }
        self.check_size(record)?;
        let mut map = self.lock();
        let refused = match map.live(key, now) {
            Some(Entry::Deleted) => true,
            Some(Entry::Floor(f)) => record.version < *f,
            Some(Entry::Record(cached)) => cached.version >= record.version,
            None => false,
        };
        if !refused {
            map.put(key, Entry::Record(record.clone()), record.expires_at, now);
        }
        Ok(())
    }

    async fn compare_and_swap(
        &self,
        key: &StoreKey,
        record: &Record,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<CacheOutcome> {
        self.check_size(record)?;
        let mut map = self.lock();
        match map.live(key, now) {
            Some(Entry::Record(cached)) if cached.version == expected_version => {}
            Some(Entry::Record(_)) => return Ok(CacheOutcome::Conflict),
            _ => return Ok(CacheOutcome::Missing),
        }
        map.put(key, Entry::Record(record.clone()), record.expires_at, now);
        Ok(CacheOutcome::Done)
    }

    async fn invalidate(
        &self,
        key: &StoreKey,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<CacheOutcome> {
        let mut map = self.lock();
        let wanted = expected_version.saturating_add(1);
        let version = match map.live(key, now) {
            Some(Entry::Record(r)) if r.version > expected_version => {
                return Ok(CacheOutcome::Conflict);
            }
            Some(Entry::Deleted) => return Ok(CacheOutcome::Done),
            Some(Entry::Floor(f)) => wanted.max(*f),
            Some(Entry::Record(_)) | None => wanted,
        };
        floor(&mut map, key, version, now);
        Ok(CacheOutcome::Done)
    }

    async fn evict(&self, key: &StoreKey, now: UnixTime) -> Result<()> {
        let mut map = self.lock();
        let version = match map.live(key, now) {
            Some(Entry::Record(r)) => r.version,
            Some(Entry::Floor(_) | Entry::Deleted) | None => return Ok(()),
        };
        floor(&mut map, key, version, now);
        Ok(())
    }

    async fn delete(&self, key: &StoreKey, now: UnixTime) -> Result<()> {
        let until = now.saturating_add(DELETION_MARKER_SECS);
        self.lock().put(key, Entry::Deleted, until, now);
        Ok(())
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: UnixTime,
        last_active: UnixTime,
        now: UnixTime,
    ) -> Result<()> {
        let mut map = self.lock();
        if let Some(Entry::Record(r)) = map.live(key, now) {
            r.expires_at = expires_at;
            r.last_active = last_active;
            map.extend(key, expires_at);
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap is a failed test.
mod tests {
    use super::*;
    use tiered_sessions::{SessionConfig, SessionId, SessionManager};

    fn key() -> StoreKey {
        let config = SessionConfig::builder([[3u8; 32]]).build().unwrap();
        SessionManager::cookie_only(config).store_key(&SessionId::generate().unwrap())
    }

    fn rec(version: u64, expires_at: u64) -> Record {
        Record {
            expires_at,
            version,
            ..Record::default()
        }
    }

    #[tokio::test]
    async fn invalidation_leaves_a_floor_that_refuses_stale_refills_then_lapses() {
        let s = MemoryCache::new();
        let k = key();
        s.put_if_newer(&k, &rec(3, 1000), 0).await.unwrap();
        assert_eq!(
            s.invalidate(&k, 2, 0).await.unwrap(),
            CacheOutcome::Conflict
        );
        assert_eq!(s.invalidate(&k, 3, 0).await.unwrap(), CacheOutcome::Done);
        assert!(s.get(&k, 1).await.unwrap().is_none(), "a floor is a miss");
        // A reader that read version 3 before the save of 4 cannot refill it.
        s.put_if_newer(&k, &rec(3, 1000), 1).await.unwrap();
        assert!(s.get(&k, 1).await.unwrap().is_none());
        assert_eq!(
            s.compare_and_swap(&k, &rec(4, 1000), 3, 1).await.unwrap(),
            CacheOutcome::Missing
        );
        // The save's own refill goes in.
        s.put_if_newer(&k, &rec(4, 1000), 1).await.unwrap();
        assert_eq!(s.get(&k, 1).await.unwrap().unwrap().version, 4);
        // Eviction floors at the dropped version...
        s.evict(&k, 2).await.unwrap();
        s.put_if_newer(&k, &rec(3, 1000), 2).await.unwrap();
        assert!(s.get(&k, 2).await.unwrap().is_none());
        // ...for a while only: floors always lapse.
        s.put_if_newer(&k, &rec(3, 1000), 2 + FLOOR_SECS)
            .await
            .unwrap();
        assert_eq!(s.get(&k, 2 + FLOOR_SECS).await.unwrap().unwrap().version, 3);
    }

    #[tokio::test]
    async fn deletion_marker_blocks_refill_then_lapses() {
        let s = MemoryCache::new();
        let k = key();
        s.delete(&k, 10).await.unwrap();
        s.put_if_newer(&k, &rec(5, 1000), 11).await.unwrap();
        assert!(s.get(&k, 11).await.unwrap().is_none());
        assert_eq!(s.invalidate(&k, 4, 11).await.unwrap(), CacheOutcome::Done);
        s.put_if_newer(&k, &rec(5, 1000), 10 + DELETION_MARKER_SECS)
            .await
            .unwrap();
        assert!(s.get(&k, 100).await.unwrap().is_some());
    }
}
