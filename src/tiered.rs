//! [`TieredStore`]: a cache tier in front of a durable store, as one store.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use crate::clock::UnixTime;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::record::Record;
use crate::session_id::StoreKey;
use crate::store::{CacheTier, CasOutcome, CleanupBatch, CleanupCursor, Durability, SessionStore};

/// A [`CacheTier`] in front of a durable [`SessionStore`], itself a store.
///
/// The ordering loses nothing acknowledged:
/// - a durable save first drops the cached copy (failing with `Conflict` if the
///   cache holds a newer quick save, which stays), then writes the durable
///   tier, then the cache; a failed cache write leaves the entry dropped, never
///   stale;
/// - while the cache cannot be reached, durable saves, touches and deletes
///   still go through (the cache is never required for availability); each key
///   whose cache entry could not be dropped is remembered, this store reads it
///   from the durable tier only, and repairs the cache entry once the cache
///   answers again. Another process sharing a cache that kept its data through
///   the outage may read such an entry stale until it is next written (its
///   version is older, so a save from there fails with `Conflict`, reloads and
///   re-applies: no update is lost) or expires;
/// - a quick save swaps the cached record by version; if the cache has lost it
///   the save is written durably instead;
/// - a read tries the cache within `cache_timeout`, falls back to the durable
///   tier on a miss, an error or a timeout, and refills the cache on a miss;
/// - a delete removes the cache entry, then the durable record, then leaves a
///   deletion marker in the cache so a racing refill cannot resurrect it.
#[derive(Debug)]
pub struct TieredStore<C, D> {
    cache: C,
    durable: D,
    cache_timeout: Duration,
    metrics: Arc<Metrics>,
    /// Keys whose cache entry may be stale: the cache could not be reached to
    /// drop it. Read from the durable tier until repaired.
    suspect: Mutex<HashSet<StoreKey>>,
    any_suspect: AtomicBool,
}

/// Beyond this many suspect keys, new ones are only logged (the cache has been
/// unreachable for long; entries still expire with their TTL).
const MAX_SUSPECT: usize = 100_000;

impl<C: CacheTier, D: SessionStore> TieredStore<C, D> {
    /// Compose `cache` and `durable`, with a 250 ms deadline on cache calls.
    pub fn new(cache: C, durable: D) -> Self {
        TieredStore {
            cache,
            durable,
            cache_timeout: Duration::from_millis(250),
            metrics: Arc::new(Metrics::default()),
            suspect: Mutex::new(HashSet::new()),
            any_suspect: AtomicBool::new(false),
        }
    }

    /// The deadline for each cache call; past it the cache counts as failed
    /// (reads then go to the durable tier).
    pub fn with_cache_timeout(mut self, timeout: Duration) -> Self {
        self.cache_timeout = timeout;
        self
    }

    /// Count into `metrics` (for example the session layer's own).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// The counters of cache hits, misses, errors and durable I/O.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The cache tier.
    pub fn cache(&self) -> &C {
        &self.cache
    }

    /// The durable tier.
    pub fn durable(&self) -> &D {
        &self.durable
    }

    async fn in_cache<T>(
        &self,
        op: &'static str,
        fut: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let out = match tokio::time::timeout(self.cache_timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout {
                backend: "cache",
                after: self.cache_timeout,
            }),
        };
        if let Err(e) = &out {
            Metrics::inc(&self.metrics.cache_errors);
            tracing::warn!(op, error = %e, "session cache call failed");
        }
        out
    }

    fn suspects(&self) -> MutexGuard<'_, HashSet<StoreKey>> {
        self.suspect.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `key`'s cache entry may be stale.
    fn is_suspect(&self, key: &StoreKey) -> bool {
        self.any_suspect.load(Ordering::Acquire) && self.suspects().contains(key)
    }

    fn suspect(&self, key: &StoreKey) {
        let mut set = self.suspects();
        if set.len() < MAX_SUSPECT {
            set.insert(key.clone());
            self.any_suspect.store(true, Ordering::Release);
        } else {
            tracing::error!(%key, "too many session cache entries awaiting repair; relying on their TTL");
        }
    }

    fn repaired(&self, key: &StoreKey) {
        if self.any_suspect.load(Ordering::Acquire) {
            let mut set = self.suspects();
            set.remove(key);
            if set.is_empty() {
                self.any_suspect.store(false, Ordering::Release);
            }
        }
    }

    /// How many keys await a cache repair (for monitoring and tests).
    pub fn keys_awaiting_cache_repair(&self) -> usize {
        self.suspects().len()
    }

    /// Best-effort drop of a cache entry after a failed cache write, so the
    /// cache can never serve a version older than the durable tier's; if the
    /// cache cannot be reached, the key is remembered as suspect.
    async fn drop_cached(&self, key: &StoreKey) {
        match self
            .in_cache(
                "invalidate",
                self.cache.invalidate_unless_newer(key, u64::MAX),
            )
            .await
        {
            Ok(()) => self.repaired(key),
            Err(_) => {
                tracing::error!(%key, "could not drop a session cache entry; reading it from the durable tier until repaired");
                self.suspect(key);
            }
        }
    }

    /// Whether the cache holds a live record for `key`. An error counts as
    /// yes, so a conflict is never waved through on a guess.
    async fn cached_is_live(&self, key: &StoreKey, now: UnixTime) -> bool {
        match self.in_cache("get", self.cache.get(key, now)).await {
            Ok(Some(r)) => !r.is_expired(now),
            Ok(None) => false,
            Err(_) => true,
        }
    }

    async fn refresh_cache(&self, key: &StoreKey, record: &Record, now: UnixTime) {
        match self
            .in_cache("put", self.cache.put_if_newer(key, record, now))
            .await
        {
            // The cache now holds this version or a newer one.
            Ok(()) => self.repaired(key),
            Err(_) => self.drop_cached(key).await,
        }
    }

    /// Before a durable write over `expected_version`: drop the cached copy,
    /// or fail with `Conflict` if the cache holds a newer live quick save
    /// (which stays: it is the latest state).
    async fn clear_cache_before(
        &self,
        key: &StoreKey,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<()> {
        match self
            .in_cache(
                "invalidate",
                self.cache.invalidate_unless_newer(key, expected_version),
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(Error::Conflict) if self.cached_is_live(key, now).await => Err(Error::Conflict),
            // A newer entry that has expired (not yet evicted) stands for
            // nothing: drop it and let the durable tier decide (`NotFound`).
            Err(Error::Conflict) => {
                self.in_cache(
                    "invalidate",
                    self.cache.invalidate_unless_newer(key, u64::MAX),
                )
                .await
            }
            // An unreachable cache may still hold the old version: read this
            // key from the durable tier until the entry is repaired, and do not
            // make the write wait for the cache.
            Err(_) => {
                self.suspect(key);
                Ok(())
            }
        }
    }

    async fn durable_save(
        &self,
        key: &StoreKey,
        record: &Record,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<()> {
        self.clear_cache_before(key, expected_version, now).await?;
        Metrics::inc(&self.metrics.durable_writes);
        match self
            .durable
            .save(key, record, expected_version, Durability::Durable, now)
            .await
        {
            Ok(()) => {}
            Err(e) => {
                if matches!(e, Error::Conflict) {
                    // The cache may hold a version the durable tier has moved
                    // past (a write whose cache step failed); drop it so the
                    // reload is fresh.
                    self.drop_cached(key).await;
                }
                return Err(e);
            }
        }
        self.refresh_cache(key, record, now).await;
        Ok(())
    }

    /// After a durable delete: a deletion marker in the cache, so a refill
    /// racing with the delete cannot bring the record back.
    async fn mark_deleted(&self, key: &StoreKey, now: UnixTime) {
        match self.in_cache("delete", self.cache.delete(key, now)).await {
            Ok(()) => self.repaired(key),
            Err(_) => self.suspect(key),
        }
    }
}

#[async_trait]
impl<C: CacheTier, D: SessionStore> SessionStore for TieredStore<C, D> {
    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
        if self.is_suspect(key) {
            Metrics::inc(&self.metrics.durable_reads);
            let record = self.durable.load(key, now).await?;
            let record = record.filter(|r| !r.is_expired(now));
            match &record {
                Some(r) => self.refresh_cache(key, r, now).await,
                None => {
                    if self
                        .in_cache("delete", self.cache.delete(key, now))
                        .await
                        .is_ok()
                    {
                        self.repaired(key);
                    }
                }
            }
            return Ok(record);
        }
        let cached = self.in_cache("get", self.cache.get(key, now)).await;
        match cached {
            Ok(Some(record)) if !record.is_expired(now) => {
                Metrics::inc(&self.metrics.cache_hits);
                return Ok(Some(record));
            }
            Ok(_) => Metrics::inc(&self.metrics.cache_misses),
            Err(_) => {}
        }
        Metrics::inc(&self.metrics.durable_reads);
        let record = self.durable.load(key, now).await?;
        let record = record.filter(|r| !r.is_expired(now));
        if let (Some(r), Ok(_)) = (&record, &cached) {
            self.refresh_cache(key, r, now).await;
        }
        Ok(record)
    }

    async fn create(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()> {
        Metrics::inc(&self.metrics.durable_writes);
        self.durable.create(key, record, now).await?;
        self.refresh_cache(key, record, now).await;
        Ok(())
    }

    async fn save(
        &self,
        key: &StoreKey,
        record: &Record,
        expected_version: u64,
        durability: Durability,
        now: UnixTime,
    ) -> Result<()> {
        record.check_follows(expected_version)?;
        // A suspect entry cannot be compared against: write durably.
        if durability == Durability::Quick && !self.is_suspect(key) {
            match self
                .in_cache(
                    "cas",
                    self.cache
                        .compare_and_swap(key, record, expected_version, now),
                )
                .await
            {
                Ok(CasOutcome::Swapped) => {
                    Metrics::inc(&self.metrics.quick_writes);
                    return Ok(());
                }
                Ok(CasOutcome::Conflict) if self.cached_is_live(key, now).await => {
                    return Err(Error::Conflict);
                }
                // An expired entry the cache still holds: as good as missing.
                Ok(CasOutcome::Conflict) => {}
                // Missing or failing cache: a quick save is never dropped; it is
                // written durably instead (or fails if the cache is unreachable).
                Ok(CasOutcome::Missing) | Err(_) => {}
            }
        }
        // A conflict reported by the cache means it holds a newer quick save:
        // that entry is the latest state and stays.
        self.durable_save(key, record, expected_version, now).await
    }

    async fn delete(&self, key: &StoreKey, now: UnixTime) -> Result<()> {
        // Cache, durable, cache again: a refill racing with the durable delete
        // meets the deletion marker. An unreachable cache does not block a
        // logout; the key is then suspect until the marker is in place.
        if self
            .in_cache("delete", self.cache.delete(key, now))
            .await
            .is_err()
        {
            self.suspect(key);
        }
        Metrics::inc(&self.metrics.durable_writes);
        self.durable.delete(key, now).await?;
        self.mark_deleted(key, now).await;
        Ok(())
    }

    async fn delete_unless_newer(
        &self,
        key: &StoreKey,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<()> {
        // A newer quick save lives only in the cache: it is carried over by
        // the caller, never dropped with the record.
        self.clear_cache_before(key, expected_version, now).await?;
        Metrics::inc(&self.metrics.durable_writes);
        match self
            .durable
            .delete_unless_newer(key, expected_version, now)
            .await
        {
            Ok(()) => {}
            Err(Error::Conflict) => {
                self.drop_cached(key).await;
                return Err(Error::Conflict);
            }
            Err(e) => return Err(e),
        }
        self.mark_deleted(key, now).await;
        Ok(())
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: UnixTime,
        last_active: UnixTime,
        now: UnixTime,
    ) -> Result<()> {
        Metrics::inc(&self.metrics.durable_writes);
        self.durable
            .touch(key, expires_at, last_active, now)
            .await?;
        if self
            .in_cache("touch", self.cache.touch(key, expires_at, last_active, now))
            .await
            .is_err()
        {
            self.drop_cached(key).await;
        }
        Ok(())
    }

    async fn delete_expired(
        &self,
        now: UnixTime,
        max: usize,
        cursor: Option<CleanupCursor>,
    ) -> Result<CleanupBatch> {
        self.durable.delete_expired(now, max, cursor).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap is a failed test.
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::session_id::{SessionId, StoreKeyHasher};

    /// A cache that can be cut off while keeping what it holds.
    #[derive(Debug, Default)]
    struct Cache {
        map: Mutex<HashMap<StoreKey, Record>>,
        down: AtomicBool,
    }

    impl Cache {
        fn check(&self) -> Result<()> {
            if self.down.load(Ordering::SeqCst) {
                return Err(Error::unavailable("cache", "down"));
            }
            Ok(())
        }
        fn held(&self, key: &StoreKey) -> Option<Record> {
            self.map.lock().unwrap().get(key).cloned()
        }
    }

    #[async_trait]
    impl CacheTier for Cache {
        async fn get(&self, key: &StoreKey, _: UnixTime) -> Result<Option<Record>> {
            self.check()?;
            Ok(self.held(key))
        }
        async fn put_if_newer(&self, key: &StoreKey, record: &Record, _: UnixTime) -> Result<()> {
            self.check()?;
            let mut map = self.map.lock().unwrap();
            if map.get(key).is_none_or(|r| r.version < record.version) {
                map.insert(key.clone(), record.clone());
            }
            Ok(())
        }
        async fn compare_and_swap(
            &self,
            key: &StoreKey,
            record: &Record,
            expected: u64,
            _: UnixTime,
        ) -> Result<CasOutcome> {
            self.check()?;
            let mut map = self.map.lock().unwrap();
            Ok(match map.get(key) {
                None => CasOutcome::Missing,
                Some(r) if r.version != expected => CasOutcome::Conflict,
                Some(_) => {
                    map.insert(key.clone(), record.clone());
                    CasOutcome::Swapped
                }
            })
        }
        async fn invalidate_unless_newer(&self, key: &StoreKey, expected: u64) -> Result<()> {
            self.check()?;
            let mut map = self.map.lock().unwrap();
            if map.get(key).is_some_and(|r| r.version > expected) {
                return Err(Error::Conflict);
            }
            map.remove(key);
            Ok(())
        }
        async fn delete(&self, key: &StoreKey, _: UnixTime) -> Result<()> {
            self.check()?;
            self.map.lock().unwrap().remove(key);
            Ok(())
        }
        async fn touch(&self, _: &StoreKey, _: UnixTime, _: UnixTime, _: UnixTime) -> Result<()> {
            self.check()
        }
    }

    #[derive(Debug, Default)]
    struct Durable(Mutex<HashMap<StoreKey, Record>>);

    #[async_trait]
    impl SessionStore for Durable {
        async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
            let map = self.0.lock().unwrap();
            Ok(map.get(key).filter(|r| !r.is_expired(now)).cloned())
        }
        async fn create(&self, key: &StoreKey, record: &Record, _: UnixTime) -> Result<()> {
            self.0.lock().unwrap().insert(key.clone(), record.clone());
            Ok(())
        }
        async fn save(
            &self,
            key: &StoreKey,
            record: &Record,
            expected: u64,
            _: Durability,
            now: UnixTime,
        ) -> Result<()> {
            let mut map = self.0.lock().unwrap();
            match map.get(key).filter(|r| !r.is_expired(now)) {
                None => Err(Error::NotFound),
                Some(r) if r.version > expected => Err(Error::Conflict),
                Some(_) => {
                    map.insert(key.clone(), record.clone());
                    Ok(())
                }
            }
        }
        async fn delete(&self, key: &StoreKey, _: UnixTime) -> Result<()> {
            self.0.lock().unwrap().remove(key);
            Ok(())
        }
        async fn delete_unless_newer(
            &self,
            key: &StoreKey,
            expected: u64,
            now: UnixTime,
        ) -> Result<()> {
            let mut map = self.0.lock().unwrap();
            match map.get(key).filter(|r| !r.is_expired(now)) {
                None => Err(Error::NotFound),
                Some(r) if r.version > expected => Err(Error::Conflict),
                Some(_) => {
                    map.remove(key);
                    Ok(())
                }
            }
        }
        async fn touch(&self, _: &StoreKey, _: UnixTime, _: UnixTime, _: UnixTime) -> Result<()> {
            Ok(())
        }
        async fn delete_expired(
            &self,
            _: UnixTime,
            _: usize,
            _: Option<CleanupCursor>,
        ) -> Result<CleanupBatch> {
            Ok(CleanupBatch::default())
        }
    }

    type Store = TieredStore<Arc<Cache>, Arc<Durable>>;

    fn setup() -> (Store, Arc<Cache>, StoreKey, Record) {
        let cache = Arc::new(Cache::default());
        let store = TieredStore::new(cache.clone(), Arc::new(Durable::default()));
        let key = StoreKeyHasher::new(&[4u8; 32])
            .unwrap()
            .key_for(&SessionId::generate().unwrap());
        let v1 = Record {
            expires_at: 1000,
            version: 1,
            ..Record::default()
        };
        (store, cache, key, v1)
    }

    fn version(v: u64, tag: &str) -> Record {
        let mut r = Record {
            expires_at: 1000,
            version: v,
            ..Record::default()
        };
        r.data.insert(tag.into(), vec![1]);
        r
    }

    #[tokio::test]
    async fn unreachable_cache_does_not_block_saves_and_is_repaired_after() {
        let (store, cache, key, v1) = setup();
        store.create(&key, &v1, 0).await.unwrap();
        cache.down.store(true, Ordering::SeqCst);
        let v2 = version(2, "b");
        store
            .save(&key, &v2, 1, Durability::Durable, 1)
            .await
            .unwrap();
        assert_eq!(store.keys_awaiting_cache_repair(), 1);
        // While down, and once back (still holding v1), this store serves v2.
        assert_eq!(store.load(&key, 2).await.unwrap(), Some(v2.clone()));
        cache.down.store(false, Ordering::SeqCst);
        assert_eq!(cache.held(&key), Some(v1));
        assert_eq!(store.load(&key, 2).await.unwrap(), Some(v2.clone()));
        // The read repaired the entry.
        assert_eq!(cache.held(&key), Some(v2.clone()));
        assert_eq!(store.keys_awaiting_cache_repair(), 0);
        // A quick save on a suspect key goes durable rather than comparing
        // against a stale entry.
        cache.down.store(true, Ordering::SeqCst);
        let v3 = version(3, "c");
        store
            .save(&key, &v3, 2, Durability::Durable, 3)
            .await
            .unwrap();
        cache.down.store(false, Ordering::SeqCst);
        let v4 = version(4, "d");
        store
            .save(&key, &v4, 3, Durability::Quick, 4)
            .await
            .unwrap();
        assert_eq!(
            store.durable().load(&key, 4).await.unwrap(),
            Some(v4.clone())
        );
        assert_eq!(store.load(&key, 4).await.unwrap(), Some(v4));
    }

    #[tokio::test]
    async fn logout_with_the_cache_down_still_deletes_and_is_not_served() {
        let (store, cache, key, v1) = setup();
        store.create(&key, &v1, 0).await.unwrap();
        cache.down.store(true, Ordering::SeqCst);
        store.delete(&key, 1).await.unwrap();
        cache.down.store(false, Ordering::SeqCst);
        // The cache still holds v1, but this store knows better and repairs it.
        assert_eq!(store.load(&key, 1).await.unwrap(), None);
        assert_eq!(store.keys_awaiting_cache_repair(), 0);
        assert_eq!(store.load(&key, 1).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_conflicting_durable_save_keeps_the_newer_quick_save() {
        let (store, cache, key, v1) = setup();
        store.create(&key, &v1, 0).await.unwrap();
        let quick = version(2, "quick");
        store
            .save(&key, &quick, 1, Durability::Quick, 1)
            .await
            .unwrap();
        let stale = store
            .save(&key, &version(2, "stale"), 1, Durability::Durable, 2)
            .await;
        assert!(matches!(stale, Err(Error::Conflict)), "{stale:?}");
        assert_eq!(cache.held(&key), Some(quick.clone()));
        assert_eq!(store.load(&key, 3).await.unwrap(), Some(quick));
    }

    #[tokio::test]
    async fn an_expired_session_is_not_found_even_behind_a_newer_cache_entry() {
        // The cache still holds version 5 past its expiry (a real cache filters
        // expired entries on read but evicts them later).
        let (store, cache, key, _) = setup();
        let mut v5 = version(5, "a");
        v5.expires_at = 100;
        store.create(&key, &v5, 0).await.unwrap();
        assert_eq!(cache.held(&key), Some(v5.clone()));
        for durability in [Durability::Quick, Durability::Durable] {
            let late = store
                .save(&key, &version(2, "late"), 1, durability, 200)
                .await;
            assert!(
                matches!(late, Err(Error::NotFound)),
                "{durability:?}: {late:?}"
            );
        }
        assert_eq!(store.load(&key, 200).await.unwrap(), None);
    }
}
