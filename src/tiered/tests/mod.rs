//! Failure orderings of the tiered store, over tiers that can be cut off.
#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::*;
use crate::session_id::{SessionId, StoreKeyHasher};
use async_trait::async_trait;

use crate::store::{CacheOutcome, CleanupBatch, CleanupCursor};

/// A cache that can be cut off while keeping what it holds.
#[derive(Debug, Default)]
struct Cache {
    map: Mutex<HashMap<StoreKey, Record>>,
    down: AtomicBool,
    /// Calls hang (accepted, never answered), like a SIGSTOPped Redis.
    hung: AtomicBool,
    calls: AtomicUsize,
    /// This many next calls fail (a dropped connection), then it answers.
    fail_next: AtomicUsize,
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
        let failing = self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if failing.is_ok() {
            return Err(Error::unavailable("cache", "connection dropped"));
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

mod circuit;
mod outages;
