//! The storage contract: [`SessionStore`] for a whole store, [`CacheTier`] for
//! the fast, volatile tier that [`crate::TieredStore`] puts in front of one.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::clock::UnixTime;
use crate::error::Result;
use crate::record::Record;
use crate::session_id::StoreKey;

/// How far a save must reach before it is acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Durability {
    /// The cache tier only (gae-sessions' `set_quick`). Lost if the cache loses
    /// it; a later durable save persists the latest state. A store without a
    /// cache tier treats it as [`Durability::Durable`].
    Quick,
    /// The durable tier, then the cache.
    Durable,
}

/// Where a batched cleanup stopped; pass it back to continue from there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CleanupCursor(pub String);

/// What one cleanup batch did.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CleanupBatch {
    /// Expired records deleted by this batch.
    pub deleted: u64,
    /// `Some` while there is more to scan.
    pub next: Option<CleanupCursor>,
}

/// A session store: the contract every driver (and [`crate::TieredStore`]) keeps.
///
/// Keys are [`StoreKey`]s (keyed hashes), never raw ids. Every method takes the
/// current time from the caller, so expiry is decided by one clock and tests
/// can move it.
///
/// The conformance suite (`tiered-sessions-conformance`) checks each clause.
#[async_trait]
pub trait SessionStore: Send + Sync + fmt::Debug {
    /// The live record under `key`, or `None` if there is none or it expired at
    /// `now` (even if the backend still holds it).
    ///
    /// # Errors
    /// [`crate::Error::Unavailable`]/[`crate::Error::Timeout`] when the backend
    /// cannot answer, [`crate::Error::Codec`] for a record it cannot decode.
    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>>;

    /// Store a new record. Never overwrites a live record; an expired one may
    /// be replaced.
    ///
    /// # Errors
    /// [`crate::Error::AlreadyExists`] if a live record holds the key,
    /// [`crate::Error::TooLarge`] above the driver's size limit, or a backend error.
    async fn create(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()>;

    /// Replace the live record under `key` with `record`, if the stored version
    /// is not newer than `expected_version`. `record.version` must be greater
    /// than `expected_version` (normally `expected_version + 1`).
    ///
    /// "Not newer" rather than "equal" lets a durable tier that missed quick
    /// (cache-only) saves accept the durable save that follows them.
    ///
    /// # Errors
    /// [`crate::Error::Conflict`] if the stored version is newer;
    /// [`crate::Error::NotFound`] if there is no live record (a deleted session
    /// is never brought back by a late save); [`crate::Error::TooLarge`] or a
    /// backend error.
    async fn save(
        &self,
        key: &StoreKey,
        record: &Record,
        expected_version: u64,
        durability: Durability,
        now: UnixTime,
    ) -> Result<()>;

    /// Delete the record under `key` from every tier. Deleting a missing record
    /// succeeds. `now` times the cache tier's deletion marker.
    ///
    /// # Errors
    /// A backend error; the record may then still exist.
    async fn delete(&self, key: &StoreKey, now: UnixTime) -> Result<()>;

    /// Delete the live record under `key` from every tier if its version is
    /// not newer than `expected_version` — the retirement of a record whose
    /// session lives on elsewhere (a new id after `regenerate_id`, the cookie
    /// after shrinking), which must not drop a save another request made to
    /// it meanwhile.
    ///
    /// # Errors
    /// [`crate::Error::Conflict`] if the stored version is newer (nothing is
    /// deleted); [`crate::Error::NotFound`] if there is no live record; a
    /// backend error.
    async fn delete_unless_newer(
        &self,
        key: &StoreKey,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<()>;

    /// Set a live record's expiry and last activity without rewriting its data
    /// or changing its version.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] if there is no live record, or a backend error.
    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: UnixTime,
        last_active: UnixTime,
        now: UnixTime,
    ) -> Result<()>;

    /// Delete up to about `max` records that are expired at `now`, starting at
    /// `cursor` (or the beginning). Returns how many went and where to resume;
    /// `next == None` means the scan is complete.
    ///
    /// # Errors
    /// A backend error; batches already done stay done, so a caller can resume
    /// from the last cursor it got.
    async fn delete_expired(
        &self,
        now: UnixTime,
        max: usize,
        cursor: Option<CleanupCursor>,
    ) -> Result<CleanupBatch>;
}

/// What a [`CacheTier::compare_and_swap`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CasOutcome {
    /// The cached version matched; the new record is in place.
    Swapped,
    /// Nothing live is cached under the key (evicted, flushed or deleted).
    Missing,
    /// The cache holds a different version.
    Conflict,
}

/// A fast, volatile tier (Redis, memory) that [`crate::TieredStore`] puts in
/// front of a durable [`SessionStore`]. It may lose anything at any time; the
/// tiered store never relies on it for durability.
#[async_trait]
pub trait CacheTier: Send + Sync + fmt::Debug {
    /// The cached live record, or `None` (missing, expired or deleted).
    ///
    /// # Errors
    /// A backend error; the tiered store then reads the durable tier.
    async fn get(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>>;

    /// Cache `record` until its expiry unless the cache already holds the same
    /// or a newer version, or a deletion marker for the key.
    ///
    /// # Errors
    /// A backend error.
    async fn put_if_newer(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()>;

    /// A quick save: replace the cached record only if its version equals
    /// `expected_version`.
    ///
    /// # Errors
    /// A backend error.
    async fn compare_and_swap(
        &self,
        key: &StoreKey,
        record: &Record,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<CasOutcome>;

    /// Before a durable save: drop the cached record unless it is newer than
    /// `expected_version` (a quick save this request has not seen), and leave a
    /// version floor: for a while, [`CacheTier::put_if_newer`] refuses records
    /// older than `expected_version + 1`, so a reader that read the durable tier
    /// before the save cannot refill the cache behind it (a stale base for the
    /// next quick save would lose an update). With `u64::MAX` ("drop whatever
    /// is cached"), the floor is the dropped record's own version.
    ///
    /// # Errors
    /// [`crate::Error::Conflict`] if the cached version is newer, or a backend error.
    async fn invalidate_unless_newer(&self, key: &StoreKey, expected_version: u64) -> Result<()>;

    /// Delete the entry and leave a short-lived deletion marker, so a refill
    /// racing with a logout cannot bring the session back into the cache.
    ///
    /// # Errors
    /// A backend error.
    async fn delete(&self, key: &StoreKey, now: UnixTime) -> Result<()>;

    /// Update a cached record's expiry and last activity; nothing if missing.
    ///
    /// # Errors
    /// A backend error.
    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: UnixTime,
        last_active: UnixTime,
        now: UnixTime,
    ) -> Result<()>;
}

macro_rules! forward_store {
    ($ty:ty) => {
        #[async_trait]
        impl<S: SessionStore + ?Sized> SessionStore for $ty {
            async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
                (**self).load(key, now).await
            }
            async fn create(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()> {
                (**self).create(key, record, now).await
            }
            async fn save(
                &self,
                key: &StoreKey,
                record: &Record,
                expected_version: u64,
                durability: Durability,
                now: UnixTime,
            ) -> Result<()> {
                (**self)
                    .save(key, record, expected_version, durability, now)
                    .await
            }
            async fn delete(&self, key: &StoreKey, now: UnixTime) -> Result<()> {
                (**self).delete(key, now).await
            }
            async fn delete_unless_newer(
                &self,
                key: &StoreKey,
                expected_version: u64,
                now: UnixTime,
            ) -> Result<()> {
                (**self)
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
                (**self).touch(key, expires_at, last_active, now).await
            }
            async fn delete_expired(
                &self,
                now: UnixTime,
                max: usize,
                cursor: Option<CleanupCursor>,
            ) -> Result<CleanupBatch> {
                (**self).delete_expired(now, max, cursor).await
            }
        }
    };
}

forward_store!(Arc<S>);
forward_store!(Box<S>);

macro_rules! forward_cache {
    ($ty:ty) => {
        #[async_trait]
        impl<C: CacheTier + ?Sized> CacheTier for $ty {
            async fn get(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
                (**self).get(key, now).await
            }
            async fn put_if_newer(
                &self,
                key: &StoreKey,
                record: &Record,
                now: UnixTime,
            ) -> Result<()> {
                (**self).put_if_newer(key, record, now).await
            }
            async fn compare_and_swap(
                &self,
                key: &StoreKey,
                record: &Record,
                expected_version: u64,
                now: UnixTime,
            ) -> Result<CasOutcome> {
                (**self)
                    .compare_and_swap(key, record, expected_version, now)
                    .await
            }
            async fn invalidate_unless_newer(
                &self,
                key: &StoreKey,
                expected_version: u64,
            ) -> Result<()> {
                (**self)
                    .invalidate_unless_newer(key, expected_version)
                    .await
            }
            async fn delete(&self, key: &StoreKey, now: UnixTime) -> Result<()> {
                (**self).delete(key, now).await
            }
            async fn touch(
                &self,
                key: &StoreKey,
                expires_at: UnixTime,
                last_active: UnixTime,
                now: UnixTime,
            ) -> Result<()> {
                (**self).touch(key, expires_at, last_active, now).await
            }
        }
    };
}

forward_cache!(Arc<C>);
forward_cache!(Box<C>);

/// Conveniences for every [`SessionStore`]; implementors never touch these.
#[async_trait]
pub trait SessionStoreExt: SessionStore {
    /// Run [`SessionStore::delete_expired`] batch after batch until the scan is
    /// complete, returning the total deleted. For cron jobs and the CLI.
    ///
    /// # Errors
    /// The first batch error; the records deleted before it stay deleted.
    async fn delete_all_expired(&self, now: UnixTime, batch: usize) -> Result<u64> {
        let mut total = 0;
        let mut cursor = None;
        loop {
            let page = self.delete_expired(now, batch.max(1), cursor).await?;
            total += page.deleted;
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(total),
            }
        }
    }
}

impl<S: SessionStore + ?Sized> SessionStoreExt for S {}
