//! A complete third-party driver, and the conformance suite run against it:
//! the worked example of the "Writing a driver" guide in the crate's README.
//!
//! `BTreeStore` keeps sessions in a `BTreeMap` behind a mutex. The map stands
//! in for a shared backend (a database table); each store works under its own
//! key prefix, which is how every case gets a fresh namespace.
//!
//! Run it with `cargo run -p tiered-sessions-conformance --example btree_driver`
//! (add `-- name_filter` to run some cases only).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tiered_sessions::codec::record_len;
use tiered_sessions::{
    CleanupBatch, CleanupCursor, Durability, Error, Record, Result, SessionStore, StoreKey,
    UnixTime, async_trait,
};
use tiered_sessions_conformance::{Capabilities, Factory, Fixture, Skip, unique_namespace};

// Step 1: the backend and the store ------------------------------------------

/// The "backend": raw key → record. Real drivers hold a client here.
type Backend = Arc<Mutex<BTreeMap<String, Record>>>;

/// A session store over a [`Backend`], under a key prefix.
#[derive(Debug)]
pub struct BTreeStore {
    backend: Backend,
    prefix: String,
    max_record_bytes: usize,
}

impl BTreeStore {
    /// A store keeping its records under `prefix` in `backend`, refusing
    /// records larger than `max_record_bytes` once encoded.
    pub fn new(backend: Backend, prefix: &str, max_record_bytes: usize) -> Self {
        BTreeStore {
            backend,
            prefix: format!("{prefix}/"),
            max_record_bytes,
        }
    }

    /// The raw keys this store holds (for the suite's "no raw id" check).
    pub fn raw_keys(&self) -> Vec<String> {
        let map = self.lock();
        map.keys()
            .filter(|k| k.starts_with(&self.prefix))
            .cloned()
            .collect()
    }

    fn raw(&self, key: &StoreKey) -> String {
        // The key is already a keyed hash of the id: store it as it is.
        format!("{}{}", self.prefix, key.as_str())
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Record>> {
        // Every update is one insert or remove, so a poisoned map is still whole.
        self.backend.lock().unwrap_or_else(PoisonError::into_inner)
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

/// The live record under `raw`: an expired one counts as absent, whether or
/// not it is still stored.
fn live<'a>(
    map: &'a mut BTreeMap<String, Record>,
    raw: &str,
    now: UnixTime,
) -> Option<&'a mut Record> {
    map.get_mut(raw).filter(|r| !r.is_expired(now))
}

#[async_trait]
impl SessionStore for BTreeStore {
    // Larger writes fail with `Error::TooLarge` before anything is stored.
    fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
        Ok(live(&mut self.lock(), &self.raw(key), now).map(|r| r.clone()))
    }

    async fn create(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()> {
        self.check_size(record)?;
        let raw = self.raw(key);
        let mut map = self.lock();
        // Never overwrite a live record: an id collision must not merge sessions.
        if live(&mut map, &raw, now).is_some() {
            return Err(Error::AlreadyExists);
        }
        map.insert(raw, record.clone());
        Ok(())
    }

    async fn save(
        &self,
        key: &StoreKey,
        record: &Record,
        expected_version: u64,
        // No cache tier here: a quick save is a durable one.
        _durability: Durability,
        now: UnixTime,
    ) -> Result<()> {
        // The version must grow: a record at `u64::MAX` cannot be saved over.
        record.check_follows(expected_version)?;
        self.check_size(record)?;
        let raw = self.raw(key);
        let mut map = self.lock();
        // The whole check-and-write happens under one lock: that is what makes
        // it conditional. A real backend uses a conditional write instead.
        match live(&mut map, &raw, now) {
            None => Err(Error::NotFound),
            Some(current) if current.version > expected_version => Err(Error::Conflict),
            Some(current) => {
                *current = record.clone();
                Ok(())
            }
        }
    }

    async fn delete(&self, key: &StoreKey, _now: UnixTime) -> Result<()> {
        self.lock().remove(&self.raw(key));
        Ok(())
    }

    async fn delete_unless_newer(
        &self,
        key: &StoreKey,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<()> {
        let raw = self.raw(key);
        let mut map = self.lock();
        // Same condition as `save`, checked under the same lock.
        match live(&mut map, &raw, now) {
            None => Err(Error::NotFound),
            Some(current) if current.version > expected_version => Err(Error::Conflict),
            Some(_) => {
                map.remove(&raw);
                Ok(())
            }
        }
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: UnixTime,
        last_active: UnixTime,
        now: UnixTime,
    ) -> Result<()> {
        let raw = self.raw(key);
        let mut map = self.lock();
        let record = live(&mut map, &raw, now).ok_or(Error::NotFound)?;
        record.expires_at = expires_at;
        record.last_active = last_active;
        Ok(())
    }

    async fn delete_expired(
        &self,
        now: UnixTime,
        max: usize,
        cursor: Option<CleanupCursor>,
    ) -> Result<CleanupBatch> {
        let mut map = self.lock();
        // Scan this store's prefix only, after the cursor (a raw key).
        let start = match &cursor {
            Some(c) => Bound::Excluded(c.0.clone()),
            None => Bound::Included(self.prefix.clone()),
        };
        let mut doomed = Vec::new();
        let mut next = None;
        for (raw, record) in map.range((start, Bound::Unbounded)) {
            if !raw.starts_with(&self.prefix) {
                break;
            }
            if doomed.len() == max.max(1) {
                // A full batch: resume after the last key deleted.
                next = doomed.last().cloned().map(CleanupCursor);
                break;
            }
            if record.is_expired(now) {
                doomed.push(raw.clone());
            }
        }
        for raw in &doomed {
            map.remove(raw);
        }
        Ok(CleanupBatch {
            deleted: doomed.len() as u64,
            next,
        })
    }
}

// Step 2: the factory ----------------------------------------------------------

/// The documented size limit of this driver.
const MAX_RECORD_BYTES: usize = 16 * 1024;

/// Gives every case a fresh store in its own namespace of one shared backend.
#[derive(Default)]
struct BTreeFactory {
    backend: Backend,
}

#[async_trait]
impl Factory for BTreeFactory {
    fn capabilities(&self) -> Capabilities {
        // No cache tier, no native TTL, not a cluster; a size limit.
        Capabilities::new()
    }

    async fn fixture(&self) -> std::result::Result<Fixture, Skip> {
        // A real-service factory reads its endpoint here, at run time:
        // `let url = tiered_sessions_conformance::env_endpoint("MY_DB_URL")?;`
        let prefix = unique_namespace("btree");
        let store = Arc::new(BTreeStore::new(
            self.backend.clone(),
            &prefix,
            MAX_RECORD_BYTES,
        ));
        let lister = store.clone();
        Ok(Fixture::new(store).with_key_lister(move || {
            let keys = lister.raw_keys();
            async move { keys }
        }))
    }
}

// Step 3: the test binary ------------------------------------------------------

/// Every case, each as its own named test (`btree::round_trip`, …).
fn main() -> ExitCode {
    tiered_sessions_conformance::run("btree", BTreeFactory::default())
}
