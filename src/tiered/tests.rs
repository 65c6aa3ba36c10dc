//! Failure orderings of the tiered store, over tiers that can be cut off.
#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;
use crate::session_id::{SessionId, StoreKeyHasher};
use crate::store::CacheOutcome;

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
    fn max_record_bytes(&self) -> usize {
        usize::MAX
    }
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
    ) -> Result<CacheOutcome> {
        self.check()?;
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
        self.check()?;
        let mut map = self.map.lock().unwrap();
        if map.get(key).is_some_and(|r| r.version > expected) {
            return Ok(CacheOutcome::Conflict);
        }
        map.remove(key);
        Ok(CacheOutcome::Done)
    }
    async fn evict(&self, key: &StoreKey, _: UnixTime) -> Result<()> {
        self.check()?;
        self.map.lock().unwrap().remove(key);
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
