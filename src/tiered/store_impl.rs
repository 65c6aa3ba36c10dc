//! `SessionStore` for [`TieredStore`]: the tier ordering of each operation
//! (see the type's documentation), over the helpers in the parent module.

use async_trait::async_trait;

use super::TieredStore;
use crate::clock::UnixTime;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::record::Record;
use crate::session_id::StoreKey;
use crate::store::{
    CacheOutcome, CacheTier, CleanupBatch, CleanupCursor, Durability, SessionStore,
};

#[async_trait]
impl<C: CacheTier + 'static, D: SessionStore> SessionStore for TieredStore<C, D> {
    fn max_record_bytes(&self) -> usize {
        self.cache
            .max_record_bytes()
            .min(self.durable.max_record_bytes())
    }

    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
        if self.suspects.contains(key) {
            return self.load_suspect(key, now).await;
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
            self.refill(key, r, now).await;
        }
        Ok(record)
    }

    async fn create(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()> {
        self.check_size(record)?;
        Metrics::inc(&self.metrics.durable_writes);
        self.durable.create(key, record, now).await?;
        self.refill(key, record, now).await;
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
        self.check_size(record)?;
        // A suspect entry cannot be compared against: write durably.
        if durability == Durability::Quick && !self.suspects.contains(key) {
            match self
                .in_cache(
                    "cas",
                    self.cache
                        .compare_and_swap(key, record, expected_version, now),
                )
                .await
            {
                Ok(CacheOutcome::Done) => {
                    Metrics::inc(&self.metrics.quick_writes);
                    return Ok(());
                }
                Ok(CacheOutcome::Conflict) if self.cached_is_live(key, now).await => {
                    return Err(Error::Conflict);
                }
                // An expired entry the cache still holds: as good as missing.
                Ok(CacheOutcome::Conflict) => {}
                // Missing or failing cache: a quick save is never dropped; it is
                // written durably instead (or fails if the cache is unreachable).
                Ok(CacheOutcome::Missing) | Err(_) => {}
            }
        }
        self.durable_save(key, record, expected_version, now).await
    }

    async fn delete(&self, key: &StoreKey, now: UnixTime) -> Result<()> {
        // Cache, durable, cache again: a refill racing with the durable delete
        // meets the deletion marker. An unreachable cache refuses the logout
        // (or, when allowed, leaves the key suspect until the marker is in
        // place).
        if let Err(e) = self.in_cache("delete", self.cache.delete(key, now)).await {
            self.cache_unreachable_before_write(key, e)?;
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
        self.invalidate_before(key, expected_version, now).await?;
        Metrics::inc(&self.metrics.durable_writes);
        match self
            .durable
            .delete_unless_newer(key, expected_version, now)
            .await
        {
            Ok(()) => {}
            Err(Error::Conflict) => {
                self.evict(key, now).await;
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
            self.evict(key, now).await;
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

    fn principal_index(&self) -> Option<&dyn crate::principal::PrincipalIndex> {
        self.durable_principal_index()
    }
}
