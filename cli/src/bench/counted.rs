//! A store that counts what the session layer asks of it: reads (`load`) and
//! writes (`create`, `save`, `delete`, `delete_unless_newer`, `touch`),
//! whichever tiers the store behind it has.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tiered_sessions::{
    CleanupBatch, CleanupCursor, Durability, PrincipalIndex, Record, Result, SessionStore,
    StoreKey, UnixTime, async_trait,
};

/// `inner`, counting its calls.
#[derive(Debug)]
pub struct Counted {
    inner: Arc<dyn SessionStore>,
    reads: AtomicU64,
    writes: AtomicU64,
}

impl Counted {
    /// Count the calls to `inner`.
    pub fn new(inner: Arc<dyn SessionStore>) -> Self {
        Counted {
            inner,
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        }
    }

    /// (reads, writes) so far.
    pub fn calls(&self) -> (u64, u64) {
        (
            self.reads.load(Ordering::Relaxed),
            self.writes.load(Ordering::Relaxed),
        )
    }

    fn wrote(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl SessionStore for Counted {
    fn max_record_bytes(&self) -> usize {
        self.inner.max_record_bytes()
    }

    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.load(key, now).await
    }

    async fn create(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()> {
        self.wrote();
        self.inner.create(key, record, now).await
    }

    async fn save(
        &self,
        key: &StoreKey,
        record: &Record,
        expected_version: u64,
        durability: Durability,
        now: UnixTime,
    ) -> Result<()> {
        self.wrote();
        self.inner
            .save(key, record, expected_version, durability, now)
            .await
    }

    async fn delete(&self, key: &StoreKey, now: UnixTime) -> Result<()> {
        self.wrote();
        self.inner.delete(key, now).await
    }

    async fn delete_unless_newer(
        &self,
        key: &StoreKey,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<()> {
        self.wrote();
        self.inner
            .delete_unless_newer(key, expected_version, now)
            .await
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: UnixTime,
        last_active: UnixTime,
        now: UnixTime,
    ) -> Result<()> {
        self.wrote();
        self.inner.touch(key, expires_at, last_active, now).await
    }

    async fn delete_expired(
        &self,
        now: UnixTime,
        max: usize,
        cursor: Option<CleanupCursor>,
    ) -> Result<CleanupBatch> {
        self.inner.delete_expired(now, max, cursor).await
    }

    fn principal_index(&self) -> Option<&dyn PrincipalIndex> {
        self.inner.principal_index()
    }
}
