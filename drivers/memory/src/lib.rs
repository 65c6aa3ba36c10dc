#![doc = include_str!("../README.md")]

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use tiered_sessions::codec::encode_record;
use tiered_sessions::{
    CacheTier, CasOutcome, CleanupBatch, CleanupCursor, Durability, Error, Record, Result,
    SessionStore, StoreKey, UnixTime,
};

/// How long a deletion marker blocks refills of a deleted key in cache mode.
pub const DELETION_MARKER_SECS: u64 = 60;

/// When full, at most this many least-recently-used entries are inspected for
/// an expired one to evict before the least recently used live one goes.
const EVICTION_PROBE: usize = 64;

/// An in-process session store, bounded by a capacity.
///
/// Use it as a whole store (no durable tier, like gae-sessions' `no_datastore`:
/// sessions are lost on restart) or as the [`CacheTier`] of a
/// [`tiered_sessions::TieredStore`]. Expiry is enforced on every read. When the
/// store is full, inserting a new key evicts an expired entry if one is found
/// among the least recently used, else the least recently used entry.
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    capacity: usize,
    max_record_bytes: usize,
}

#[derive(Debug, Default)]
struct Inner {
    entries: BTreeMap<StoreKey, Entry>,
    lru: BTreeMap<u64, StoreKey>,
    tick: u64,
}

#[derive(Debug)]
struct Entry {
    /// `None` is a deletion marker, or with a `floor` a version floor (cache mode).
    record: Option<Record>,
    /// Cache mode: refills older than this are refused (0 = none). Left by
    /// `invalidate_unless_newer` so a reader that read the durable tier before
    /// a save cannot put the cache back behind it.
    floor: u64,
    /// Until when the entry counts (the record's expiry, or the marker's).
    until: UnixTime,
    used: u64,
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
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
            max_record_bytes: 1 << 20,
        }
    }

    /// The largest encoded record accepted (default 1 MiB); larger saves fail
    /// with [`Error::TooLarge`].
    pub fn with_max_record_bytes(mut self, limit: usize) -> Self {
        self.max_record_bytes = limit;
        self
    }

    /// The largest encoded record accepted.
    pub fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    /// How many entries (live, expired-but-not-swept, or markers) are held.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop everything, as a cache restart would.
    pub fn flush(&self) {
        let mut inner = self.lock();
        inner.entries.clear();
        inner.lru.clear();
    }

    /// Every key held, for tests that check what reached the store.
    pub fn keys(&self) -> Vec<StoreKey> {
        self.lock().entries.keys().cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave an entry half-written
        // (every update is a single insert/remove), so the data stays usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check_size(&self, record: &Record) -> Result<()> {
        let size = encode_record(record).len();
        if size > self.max_record_bytes {
            return Err(Error::TooLarge {
                size,
                limit: self.max_record_bytes,
            });
        }
        Ok(())
    }

    fn put(
        &self,
        inner: &mut Inner,
        key: &StoreKey,
        record: Option<Record>,
        until: UnixTime,
        now: UnixTime,
    ) {
        self.put_entry(inner, key, record, 0, until, now);
    }

    fn put_entry(
        &self,
        inner: &mut Inner,
        key: &StoreKey,
        record: Option<Record>,
        floor: u64,
        until: UnixTime,
        now: UnixTime,
    ) {
        if !inner.entries.contains_key(key) && inner.entries.len() >= self.capacity {
            inner.evict_one(now);
        }
        inner.tick += 1;
        let used = inner.tick;
        if let Some(old) = inner.entries.insert(
            key.clone(),
            Entry {
                record,
                floor,
                until,
                used,
            },
        ) {
            inner.lru.remove(&old.used);
        }
        inner.lru.insert(used, key.clone());
    }
}

impl Inner {
    /// The live record under `key`, marking it used; expired entries are dropped.
    fn live(&mut self, key: &StoreKey, now: UnixTime) -> Option<&mut Entry> {
        let expired = self.entries.get(key).map(|e| e.until <= now)?;
        if expired {
            self.remove(key);
            return None;
        }
        self.tick += 1;
        let tick = self.tick;
        let entry = self.entries.get_mut(key)?;
        self.lru.remove(&entry.used);
        entry.used = tick;
        self.lru.insert(tick, key.clone());
        Some(entry)
    }

    fn live_record(&mut self, key: &StoreKey, now: UnixTime) -> Option<&mut Record> {
        self.live(key, now)?.record.as_mut()
    }

    fn remove(&mut self, key: &StoreKey) {
        if let Some(old) = self.entries.remove(key) {
            self.lru.remove(&old.used);
        }
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

#[async_trait]
impl SessionStore for MemoryStore {
    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
        Ok(self.lock().live_record(key, now).map(|r| r.clone()))
    }

    async fn create(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()> {
        self.check_size(record)?;
        let mut inner = self.lock();
        if inner.live_record(key, now).is_some() {
            return Err(Error::AlreadyExists);
        }
        self.put(
            &mut inner,
            key,
            Some(record.clone()),
            record.expires_at,
            now,
        );
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
        let mut inner = self.lock();
        let current = inner.live_record(key, now).ok_or(Error::NotFound)?;
        if current.version > expected_version {
            return Err(Error::Conflict);
        }
        self.put(
            &mut inner,
            key,
            Some(record.clone()),
            record.expires_at,
            now,
        );
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
        let mut inner = self.lock();
        let current = inner.live_record(key, now).ok_or(Error::NotFound)?;
        if current.version > expected_version {
            return Err(Error::Conflict);
        }
        inner.remove(key);
        Ok(())
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: UnixTime,
        last_active: UnixTime,
        now: UnixTime,
    ) -> Result<()> {
        let mut inner = self.lock();
        let entry = inner
            .live(key, now)
            .filter(|e| e.record.is_some())
            .ok_or(Error::NotFound)?;
        entry.until = expires_at;
        if let Some(r) = entry.record.as_mut() {
            r.expires_at = expires_at;
            r.last_active = last_active;
        }
        Ok(())
    }

    async fn delete_expired(
        &self,
        now: UnixTime,
        max: usize,
        cursor: Option<CleanupCursor>,
    ) -> Result<CleanupBatch> {
        let mut inner = self.lock();
        let start = cursor.map(|c| StoreKey::from_stored(c.0));
        let mut expired = Vec::new();
        let mut last = None;
        let mut more = false;
        let range = match &start {
            Some(s) => inner
                .entries
                .range((std::ops::Bound::Excluded(s), std::ops::Bound::Unbounded)),
            None => inner.entries.range(..),
        };
        for (k, e) in range {
            if expired.len() >= max.max(1) {
                more = true;
                break;
            }
            if e.until <= now {
                expired.push(k.clone());
            }
            last = Some(k.clone());
        }
        for k in &expired {
            inner.remove(k);
        }
        Ok(CleanupBatch {
            deleted: expired.len() as u64,
            next: if more {
                last.map(|k| CleanupCursor(k.as_str().to_owned()))
            } else {
                None
            },
        })
    }
}

#[async_trait]
impl CacheTier for MemoryStore {
    async fn get(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
        SessionStore::load(self, key, now).await
    }

    async fn put_if_newer(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()> {
        if record.is_expired(now) {
            return Ok(());
        }
        self.check_size(record)?;
        let mut inner = self.lock();
        if let Some(entry) = inner.live(key, now) {
            match &entry.record {
                None if entry.floor == 0 || record.version < entry.floor => return Ok(()),
                None => {}
                Some(cached) if cached.version >= record.version => return Ok(()),
                Some(_) => {}
            }
        }
        self.put(
            &mut inner,
            key,
            Some(record.clone()),
            record.expires_at,
            now,
        );
        Ok(())
    }

    async fn compare_and_swap(
        &self,
        key: &StoreKey,
        record: &Record,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<CasOutcome> {
        self.check_size(record)?;
        let mut inner = self.lock();
        let Some(cached) = inner.live_record(key, now) else {
            return Ok(CasOutcome::Missing);
        };
        if cached.version != expected_version {
            return Ok(CasOutcome::Conflict);
        }
        self.put(
            &mut inner,
            key,
            Some(record.clone()),
            record.expires_at,
            now,
        );
        Ok(CasOutcome::Swapped)
    }

    async fn invalidate_unless_newer(&self, key: &StoreKey, expected_version: u64) -> Result<()> {
        let mut inner = self.lock();
        // Before a durable save of `expected + 1`, refills older than that are
        // refused; `u64::MAX` ("drop whatever is cached") floors at the dropped
        // record's own version, which clients may already have read.
        let wanted = expected_version.saturating_add(1);
        let floor = match inner.entries.get(key) {
            Some(Entry {
                record: Some(r), ..
            }) if r.version > expected_version => return Err(Error::Conflict),
            Some(Entry {
                record: Some(r), ..
            }) if expected_version == u64::MAX => r.version,
            Some(Entry {
                record: None,
                floor: 0,
                ..
            }) => return Ok(()),
            Some(Entry { floor, .. }) => wanted.max(*floor),
            None if expected_version == u64::MAX => return Ok(()),
            None => wanted,
        };
        // A floor has no lifetime of its own here (this call has no clock): it
        // lasts until the save's refill replaces it or the LRU evicts it.
        self.put_entry(&mut inner, key, None, floor, UnixTime::MAX, 0);
        Ok(())
    }

    async fn delete(&self, key: &StoreKey, now: UnixTime) -> Result<()> {
        let mut inner = self.lock();
        self.put(&mut inner, key, None, now + DELETION_MARKER_SECS, now);
        Ok(())
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: UnixTime,
        last_active: UnixTime,
        now: UnixTime,
    ) -> Result<()> {
        match SessionStore::touch(self, key, expires_at, last_active, now).await {
            Err(Error::NotFound) => Ok(()),
            other => other,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap is a failed test.
mod tests {
    use super::*;
    use tiered_sessions::{SessionId, StoreKeyHasher};

    fn key() -> StoreKey {
        StoreKeyHasher::new(&[3u8; 32])
            .unwrap()
            .key_for(&SessionId::generate().unwrap())
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
    async fn invalidation_leaves_a_floor_that_refuses_stale_refills() {
        let s = MemoryStore::new();
        let k = key();
        s.put_if_newer(&k, &rec(3, 1000), 0).await.unwrap();
        assert!(matches!(
            s.invalidate_unless_newer(&k, 2).await,
            Err(Error::Conflict)
        ));
        s.invalidate_unless_newer(&k, 3).await.unwrap();
        assert!(s.get(&k, 1).await.unwrap().is_none(), "a floor is a miss");
        // A reader that read version 3 before the save of 4 cannot refill it.
        s.put_if_newer(&k, &rec(3, 1000), 1).await.unwrap();
        assert!(s.get(&k, 1).await.unwrap().is_none());
        assert_eq!(
            s.compare_and_swap(&k, &rec(4, 1000), 3, 1).await.unwrap(),
            CasOutcome::Missing
        );
        // The save's own refill goes in.
        s.put_if_newer(&k, &rec(4, 1000), 1).await.unwrap();
        assert_eq!(s.get(&k, 1).await.unwrap().unwrap().version, 4);
        // Dropping everything floors at the dropped version.
        s.invalidate_unless_newer(&k, u64::MAX).await.unwrap();
        s.put_if_newer(&k, &rec(3, 1000), 1).await.unwrap();
        assert!(s.get(&k, 1).await.unwrap().is_none());
        s.put_if_newer(&k, &rec(4, 1000), 1).await.unwrap();
        assert_eq!(s.get(&k, 1).await.unwrap().unwrap().version, 4);
    }

    #[tokio::test]
    async fn deletion_marker_blocks_refill_then_lapses() {
        let s = MemoryStore::new();
        let k = key();
        CacheTier::delete(&s, &k, 10).await.unwrap();
        s.put_if_newer(&k, &rec(5, 1000), 11).await.unwrap();
        assert!(s.get(&k, 11).await.unwrap().is_none());
        s.put_if_newer(&k, &rec(5, 1000), 10 + DELETION_MARKER_SECS)
            .await
            .unwrap();
        assert!(s.get(&k, 100).await.unwrap().is_some());
    }
}
