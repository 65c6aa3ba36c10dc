//! [`MemoryStore`]: a whole session store in process memory.

use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use tiered_sessions::codec::record_len;
use tiered_sessions::{
    CleanupBatch, CleanupCursor, Durability, Error, PrincipalIndex, Record, Result, SessionStore,
    StoreKey, UnixTime,
};

use crate::bounded::Bounded;
use crate::principals::PrincipalsLock;

/// An in-process session store, bounded by a capacity.
///
/// A whole store with no durable tier behind it, like gae-sessions'
/// `no_datastore`: sessions are lost on restart. Also a durable tier for tests
/// and benches. Expiry is enforced on every read. When the store is full,
/// inserting a new key evicts an expired entry if one is found among the least
/// recently used, else the least recently used entry.
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<Bounded<Record>>,
    max_record_bytes: usize,
    capacity: usize,
    /// The principal index (see `principals.rs`).
    pub(crate) principals: PrincipalsLock,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl MemoryStore {
    /// A store holding up to 100 000 sessions of at most 1 MiB each.
    pub fn new() -> Self {
        MemoryStore::with_capacity(100_000)
    }

    /// A store holding up to `capacity` sessions (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryStore {
            inner: Mutex::new(Bounded::new(capacity)),
            max_record_bytes: crate::DEFAULT_MAX_RECORD_BYTES,
            capacity: capacity.max(1),
            principals: PrincipalsLock::default(),
        }
    }

    /// The largest encoded record accepted (default 1 MiB); larger saves fail
    /// with [`Error::TooLarge`].
    pub fn with_max_record_bytes(mut self, limit: usize) -> Self {
        self.max_record_bytes = limit;
        self
    }

    /// How many records (live or expired but not yet swept) are held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop every session (and the principal index), as a restart would.
    pub fn clear(&self) {
        self.lock().clear();
        *self
            .principals
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Default::default();
    }

    /// Every key held, for tests that check what reached the store.
    pub fn keys(&self) -> Vec<StoreKey> {
        self.lock().keys()
    }

    fn lock(&self) -> MutexGuard<'_, Bounded<Record>> {
        // A panic while holding the lock cannot leave an entry half-written
        // (every update is a single insert/remove), so the data stays usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many sessions (and, separately, principals) the store holds at most.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
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

#[async_trait]
impl SessionStore for MemoryStore {
    fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
        Ok(self.lock().live(key, now).map(|r| r.clone()))
    }

    async fn create(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()> {
        self.check_size(record)?;
        let mut map = self.lock();
        if map.live(key, now).is_some() {
            return Err(Error::AlreadyExists);
        }
        map.put(key, record.clone(), record.expires_at, now);
        Ok(())
    }

    async fn save(
        &self,
        key: &StoreKey,
        record: &Record,
        expected_version: u64,
        _durability: Durability,
        now: UnixTime,
    ) -> Result<()> {
        record.check_follows(expected_version)?;
        self.check_size(record)?;
        let mut map = self.lock();
        let current = map.live(key, now).ok_or(Error::NotFound)?;
        if current.version > expected_version {
            return Err(Error::Conflict);
        }
        map.put(key, record.clone(), record.expires_at, now);
        Ok(())
    }

    async fn delete(&self, key: &StoreKey, _now: UnixTime) -> Result<()> {
        self.lock().remove(key);
        Ok(())
    }

    async fn delete_unless_newer(
        &self,
        key: &StoreKey,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<()> {
        let mut map = self.lock();
        let current = map.live(key, now).ok_or(Error::NotFound)?;
        if current.version > expected_version {
            return Err(Error::Conflict);
        }
        map.remove(key);
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
        let record = map.live(key, now).ok_or(Error::NotFound)?;
        record.expires_at = expires_at;
        record.last_active = last_active;
        map.extend(key, expires_at);
        Ok(())
    }

    async fn delete_expired(
        &self,
        now: UnixTime,
        max: usize,
        cursor: Option<CleanupCursor>,
    ) -> Result<CleanupBatch> {
        let mut map = self.lock();
        let after = cursor.map(|c| StoreKey::from_stored(c.0));
        let (expired, stopped_at) = map.lapsed_after(after.as_ref(), now, max);
        for k in &expired {
            map.remove(k);
        }
        Ok(CleanupBatch {
            deleted: expired.len() as u64,
            next: stopped_at.map(|k| CleanupCursor(k.as_str().to_owned())),
        })
    }

    fn principal_index(&self) -> Option<&dyn PrincipalIndex> {
        Some(self)
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
    async fn capacity_evicts_expired_first_then_lru() {
        let s = MemoryStore::with_capacity(3);
        let (a, b, c, d, e) = (key(), key(), key(), key(), key());
        s.create(&a, &rec(1, 1000), 0).await.unwrap();
        s.create(&b, &rec(1, 50), 0).await.unwrap();
        s.create(&c, &rec(1, 1000), 0).await.unwrap();
        // a is used, b is expired at 100: d evicts b, not the LRU a.
        assert!(s.load(&a, 100).await.unwrap().is_some());
        s.create(&d, &rec(1, 1000), 100).await.unwrap();
        assert_eq!(s.len(), 3);
        assert!(s.load(&a, 100).await.unwrap().is_some());
        // Now all live: e evicts the least recently used (c).
        s.create(&e, &rec(1, 1000), 100).await.unwrap();
        assert!(s.load(&c, 100).await.unwrap().is_none());
        for k in [&a, &d, &e] {
            assert!(s.load(k, 100).await.unwrap().is_some());
        }
    }

    #[tokio::test]
    async fn touch_moves_the_eviction_time_too() {
        let s = MemoryStore::with_capacity(2);
        let (a, b, c) = (key(), key(), key());
        s.create(&a, &rec(1, 50), 0).await.unwrap();
        s.create(&b, &rec(1, 1000), 0).await.unwrap();
        s.load(&b, 10).await.unwrap();
        s.touch(&a, 2000, 10, 10).await.unwrap();
        // At 100, a would have lapsed (and gone first) without the touch; now
        // the least recently used, b, goes.
        s.create(&c, &rec(1, 1000), 100).await.unwrap();
        assert_eq!(s.load(&a, 100).await.unwrap().unwrap().expires_at, 2000);
        assert!(s.load(&b, 100).await.unwrap().is_none());
    }
}
