//! Failure orderings of the tiered store, over tiers that can be cut off.
#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::*;
use crate::session_id::{SessionId, StoreKeyHasher};
use crate::store::CacheOutcome;

/// A cache that can be cut off while keeping what it holds.
#[derive(Debug, Default)]
struct Cache {
    map: Mutex<HashMap<StoreKey, Record>>,
    down: AtomicBool,
    /// Calls hang (accepted, never answered), like a SIGSTOPped Redis.
    hung: AtomicBool,
    calls: AtomicUsize,
}

impl Cache {
    async fn check(&self) -> Result<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.hung.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
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
    fn max_record_bytes(&self) -> usize {
        usize::MAX
    }
    async fn get(&self, key: &StoreKey, _: UnixTime) -> Result<Option<Record>> {
        self.check().await?;
        Ok(self.held(key))
    }
    async fn put_if_newer(&self, key: &StoreKey, record: &Record, _: UnixTime) -> Result<()> {
        self.check().await?;
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
    ) -> Result<CacheOutcome> {
        self.check().await?;
        let mut map = self.map.lock().unwrap();
        Ok(match map.get(key) {
            None => CacheOutcome::Missing,
            Some(r) if r.version != expected => CacheOutcome::Conflict,
            Some(_) => {
                map.insert(key.clone(), record.clone());
                CacheOutcome::Done
            }
        })
    }
    async fn invalidate(&self, key: &StoreKey, expected: u64, _: UnixTime) -> Result<CacheOutcome> {
        self.check().await?;
        let mut map = self.map.lock().unwrap();
        if map.get(key).is_some_and(|r| r.version > expected) {
            return Ok(CacheOutcome::Conflict);
        }
        map.remove(key);
        Ok(CacheOutcome::Done)
    }
    async fn evict(&self, key: &StoreKey, _: UnixTime) -> Result<()> {
        self.check().await?;
        self.map.lock().unwrap().remove(key);
        Ok(())
    }
    async fn delete(&self, key: &StoreKey, _: UnixTime) -> Result<()> {
        self.check().await?;
        self.map.lock().unwrap().remove(key);
        Ok(())
    }
    async fn touch(&self, _: &StoreKey, _: UnixTime, _: UnixTime, _: UnixTime) -> Result<()> {
        self.check().await
    }
}

#[derive(Debug, Default)]
struct Durable(Mutex<HashMap<StoreKey, Record>>);

#[async_trait]
impl SessionStore for Durable {
    fn max_record_bytes(&self) -> usize {
        usize::MAX
    }
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
    // These cases are about one call at a time; the breaker has its own.
    let store = TieredStore::new(cache.clone(), Arc::new(Durable::default()))
        .with_circuit_breaker(CircuitBreaker::off());
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

/// Two instances share one cache: while it is down, a write or a logout the
/// first cannot invalidate in the cache is refused, so the second never
/// serves the old state once the cache is back. Reads and new sessions go on.
#[tokio::test]
async fn by_default_an_unreachable_cache_refuses_writes_to_stored_sessions_only() {
    let (store, cache, key, v1) = setup();
    let other = TieredStore::new(cache.clone(), store.durable().clone())
        .with_circuit_breaker(CircuitBreaker::off());
    store.create(&key, &v1, 0).await.unwrap();
    cache.down.store(true, Ordering::SeqCst);
    for durability in [Durability::Quick, Durability::Durable] {
        let refused = store.save(&key, &version(2, "b"), 1, durability, 1).await;
        assert!(
            matches!(&refused, Err(e) if e.is_retryable()),
            "{durability:?}: {refused:?}"
        );
    }
    let refused = store.delete(&key, 1).await;
    assert!(
        matches!(&refused, Err(e) if e.is_retryable()),
        "{refused:?}"
    );
    let refused = store.delete_unless_newer(&key, 1, 1).await;
    assert!(
        matches!(&refused, Err(e) if e.is_retryable()),
        "{refused:?}"
    );
    assert_eq!(store.metrics().snapshot().writes_refused_cache_outage, 4);
    // Nothing was written; reads fall back to the durable tier.
    assert_eq!(
        store.durable().load(&key, 1).await.unwrap(),
        Some(v1.clone())
    );
    assert_eq!(store.load(&key, 1).await.unwrap(), Some(v1.clone()));
    assert_eq!(store.keys_awaiting_cache_repair(), 0);
    // A new session is created (its key has no cache entry to go stale).
    let fresh = StoreKeyHasher::new(&[4u8; 32])
        .unwrap()
        .key_for(&SessionId::generate().unwrap());
    store.create(&fresh, &v1, 1).await.unwrap();
    // Back up: both instances agree, and the write goes through.
    cache.down.store(false, Ordering::SeqCst);
    assert_eq!(other.load(&key, 2).await.unwrap(), Some(v1.clone()));
    store.delete(&key, 2).await.unwrap();
    assert_eq!(other.load(&key, 2).await.unwrap(), None);
    assert_eq!(other.load(&fresh, 2).await.unwrap(), Some(v1));
}

#[tokio::test]
async fn writing_durably_an_unreachable_cache_does_not_block_saves_and_is_repaired_after() {
    let (store, cache, key, v1) = setup();
    let store = store.with_cache_outage_writes(CacheOutageWrites::WriteDurably);
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
async fn writing_durably_a_logout_with_the_cache_down_deletes_and_is_not_served() {
    let (store, cache, key, v1) = setup();
    let store = store.with_cache_outage_writes(CacheOutageWrites::WriteDurably);
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

#[tokio::test(start_paused = true)]
async fn a_hung_cache_is_skipped_after_a_few_calls_then_probed_and_repaired() {
    let (_, cache, key, v1) = setup();
    let store = TieredStore::new(cache.clone(), Arc::new(Durable::default()))
        .with_cache_timeout(Duration::from_millis(50))
        .with_circuit_breaker(CircuitBreaker {
            failures: 3,
            cool_down: Duration::from_secs(1),
        });
    store.create(&key, &v1, 0).await.unwrap();
    cache.hung.store(true, Ordering::SeqCst);
    let before = cache.calls.load(Ordering::SeqCst);
    for _ in 0..20 {
        assert_eq!(store.load(&key, 1).await.unwrap(), Some(v1.clone()));
    }
    // Three calls waited out the deadline; the other seventeen never asked.
    assert_eq!(cache.calls.load(Ordering::SeqCst) - before, 3);
    assert!(store.cache_circuit_open());
    assert_eq!(store.metrics().snapshot().cache_calls_skipped, 17);
    assert_eq!(store.metrics().snapshot().cache_circuit_opens, 1);
    // A save while open is refused at once (no deadline waited out).
    let v2 = version(2, "b");
    let calls = cache.calls.load(Ordering::SeqCst);
    let refused = store.save(&key, &v2, 1, Durability::Quick, 2).await;
    assert!(
        matches!(&refused, Err(e) if e.is_retryable()),
        "{refused:?}"
    );
    assert_eq!(cache.calls.load(Ordering::SeqCst), calls);
    assert_eq!(
        store.durable().load(&key, 2).await.unwrap(),
        Some(v1.clone())
    );
    // The cache comes back; after the cool-down one call starts a background
    // probe (the request itself does not wait) that closes the circuit.
    cache.hung.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(store.load(&key, 3).await.unwrap(), Some(v1.clone()));
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(!store.cache_circuit_open());
    store
        .save(&key, &v2, 1, Durability::Quick, 4)
        .await
        .unwrap();
    assert_eq!(cache.held(&key), Some(v2.clone()));
    assert_eq!(store.load(&key, 4).await.unwrap(), Some(v2));
}

/// The same hang with [`CacheOutageWrites::WriteDurably`]: the save is
/// written durably while the circuit is open and the stale entry repaired.
#[tokio::test(start_paused = true)]
async fn writing_durably_a_hung_cache_is_skipped_and_repaired() {
    let (_, cache, key, v1) = setup();
    let store = TieredStore::new(cache.clone(), Arc::new(Durable::default()))
        .with_cache_timeout(Duration::from_millis(50))
        .with_circuit_breaker(CircuitBreaker {
            failures: 3,
            cool_down: Duration::from_secs(1),
        })
        .with_cache_outage_writes(CacheOutageWrites::WriteDurably);
    store.create(&key, &v1, 0).await.unwrap();
    cache.hung.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        assert_eq!(store.load(&key, 1).await.unwrap(), Some(v1.clone()));
    }
    assert!(store.cache_circuit_open());
    let v2 = version(2, "b");
    store
        .save(&key, &v2, 1, Durability::Quick, 2)
        .await
        .unwrap();
    assert_eq!(
        store.durable().load(&key, 2).await.unwrap(),
        Some(v2.clone())
    );
    assert_eq!(store.keys_awaiting_cache_repair(), 1);
    cache.hung.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(store.load(&key, 3).await.unwrap(), Some(v2.clone()));
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(!store.cache_circuit_open());
    // The next read repairs the stale entry (the cache still held v1).
    assert_eq!(cache.held(&key), Some(v1));
    assert_eq!(store.load(&key, 4).await.unwrap(), Some(v2.clone()));
    assert_eq!(cache.held(&key), Some(v2));
    assert_eq!(store.keys_awaiting_cache_repair(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_failing_probe_keeps_the_circuit_open() {
    let (_, cache, key, v1) = setup();
    let store = TieredStore::new(cache.clone(), Arc::new(Durable::default())).with_circuit_breaker(
        CircuitBreaker {
            failures: 2,
            cool_down: Duration::from_secs(1),
        },
    );
    store.create(&key, &v1, 0).await.unwrap();
    cache.down.store(true, Ordering::SeqCst);
    for _ in 0..2 {
        store.load(&key, 1).await.unwrap();
    }
    assert!(store.cache_circuit_open());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = cache.calls.load(Ordering::SeqCst);
    store.load(&key, 2).await.unwrap();
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        cache.calls.load(Ordering::SeqCst) - before,
        1,
        "only the probe asked"
    );
    assert!(store.cache_circuit_open());
}

/// Captured log lines.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Issue 15: during an outage the store logged one line per failed call
/// (1 632 WARN lines for a 1.5 s Redis restart under 32 clients). Identical
/// failures are now logged once and summarized per window; the metrics still
/// count every one.
#[tokio::test]
async fn an_outage_is_a_few_log_lines_not_one_per_call() {
    let logs = Logs::default();
    let writer = logs.clone();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish(),
    );
    let (_, cache, key, v1) = setup();
    // Breaker off: every call reaches the failing cache and fails.
    let store = TieredStore::new(cache.clone(), Arc::new(Durable::default()))
        .with_circuit_breaker(CircuitBreaker::off());
    store.create(&key, &v1, 0).await.unwrap();
    cache.down.store(true, Ordering::SeqCst);
    for current in 1..=500 {
        store.load(&key, 1).await.unwrap();
        let next = version(2, &format!("k{current}"));
        let refused = store.save(&key, &next, 1, Durability::Durable, 1).await;
        assert!(refused.is_err(), "{refused:?}");
    }
    let errors = store.metrics().snapshot().cache_errors;
    assert!(errors >= 1000, "every failed call is counted: {errors}");
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let lines = text.lines().count();
    assert!(
        lines <= 10,
        "{lines} log lines for {errors} failed calls:\n{text}"
    );
}
