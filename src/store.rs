//! The storage contract: [`SessionStore`] for a whole store, [`CacheTier`] for
//! the fast, volatile tier that [`crate::TieredStore`] puts in front of one.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;

use crate::clock::UnixTime;
use crate::error::Result;
use crate::principal::PrincipalIndex;
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
    /// The largest record (as [`crate::codec::record_len`] measures it) this
    /// store accepts; `usize::MAX` for no limit. Larger writes fail with
    /// [`crate::Error::TooLarge`] before anything is sent.
    fn max_record_bytes(&self) -> usize;

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

    /// Delete up to `max` records (0 counts as 1) of this store's namespace
    /// that are expired at `now`, starting after `cursor` (or at the
    /// beginning). Returns how many went and where to resume; `next == None`
    /// only when the scan is complete (a full batch may return a cursor with
    /// nothing expired left after it).
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

    /// The store's index of sessions by principal, if it keeps one (an
    /// optional capability: binding sessions to a principal, listing and
    /// revoking them need it). The default is `None`; a store offering it
    /// returns `Some(self)` and passes the conformance suite's `principals`
    /// cases.
    fn principal_index(&self) -> Option<&dyn PrincipalIndex> {
        None
    }
}

/// What a conditional cache write found. Every [`CacheTier`] method that can
/// be refused reports it this way; `Err` is kept for failures of the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    /// The write was applied.
    Done,
    /// Nothing live is cached under the key (evicted, flushed or deleted).
    Missing,
    /// The cache holds another version ([`CacheTier::compare_and_swap`]) or
    /// a newer one ([`CacheTier::invalidate`]); nothing was changed.
    Conflict,
}

/// A fast, volatile tier (Redis, memory) that [`crate::TieredStore`] puts in
/// front of a durable [`SessionStore`]. It may lose anything at any time; the
/// tiered store never relies on it for durability.
///
/// Besides records it holds two short-lived kinds of entry, both of which must
/// expire on their own: a *deletion marker* left by [`CacheTier::delete`], and
/// a *version floor* left by [`CacheTier::invalidate`] and
/// [`CacheTier::evict`]. While a floor stands, [`CacheTier::put_if_newer`]
/// refuses records older than it, so a reader that read the durable tier
/// before a save cannot refill the cache behind that save.
#[async_trait]
pub trait CacheTier: Send + Sync + fmt::Debug {
    /// The largest record (as [`crate::codec::record_len`] measures it) this
    /// tier accepts; `usize::MAX` for no limit.
    fn max_record_bytes(&self) -> usize;

    /// The cached live record, or `None` (missing, expired or deleted).
    ///
    /// # Errors
    /// A backend error; the tiered store then reads the durable tier.
    async fn get(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>>;

    /// Cache `record` until its expiry unless the cache already holds the same
    /// or a newer version, a deletion marker, or a floor above its version.
    ///
    /// # Errors
    /// [`crate::Error::TooLarge`] above the limit, or a backend error.
    async fn put_if_newer(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()>;

    /// A quick save: replace the cached record only if its version equals
    /// `expected_version`. [`CacheOutcome::Done`], [`CacheOutcome::Missing`]
    /// (nothing live is cached) or [`CacheOutcome::Conflict`] (another version).
    ///
    /// # Errors
    /// [`crate::Error::TooLarge`] above the limit, or a backend error.
    async fn compare_and_swap(
        &self,
        key: &StoreKey,
        record: &Record,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<CacheOutcome>;

    /// Before a durable save over `expected_version`: drop the cached record
    /// and leave a floor at `expected_version + 1` ([`CacheOutcome::Done`]) —
    /// unless the cache holds a newer record, a quick save the caller has not
    /// seen, which stays ([`CacheOutcome::Conflict`]). A deletion marker stays
    /// too; a floor only ever rises.
    ///
    /// # Errors
    /// A backend error.
    async fn invalidate(
        &self,
        key: &StoreKey,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<CacheOutcome>;

    /// Drop whatever record is cached (after a write whose outcome the cache
    /// may not reflect), leaving a floor at the dropped record's version:
    /// clients may have read it, so an older refill must not take its place.
    ///
    /// # Errors
    /// A backend error.
    async fn evict(&self, key: &StoreKey, now: UnixTime) -> Result<()>;

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

/// A store or cache call's future, as `async_trait` declares it.
pub(crate) type CallFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

mod forward;

/// Conveniences for every [`SessionStore`]; implementors never touch these.
#[async_trait]
pub trait SessionStoreExt: SessionStore {
    /// Run [`SessionStore::delete_expired`] batch after batch from `cursor`
    /// (`None`: the beginning) until the scan is complete.
    ///
    /// # Errors
    /// The first batch error, as a [`CleanupStopped`] holding how many were
    /// deleted before it and the cursor to resume from: batches already done
    /// stay done.
    async fn delete_all_expired(
        &self,
        now: UnixTime,
        batch: usize,
        cursor: Option<CleanupCursor>,
    ) -> std::result::Result<u64, CleanupStopped> {
        let mut deleted = 0;
        let mut cursor = cursor;
        loop {
            match self.delete_expired(now, batch.max(1), cursor.clone()).await {
                Ok(page) => {
                    deleted += page.deleted;
                    match page.next {
                        Some(next) => cursor = Some(next),
                        None => return Ok(deleted),
                    }
                }
                Err(error) => {
                    return Err(CleanupStopped {
                        deleted,
                        resume: cursor,
                        error,
                    });
                }
            }
        }
    }
}

impl<S: SessionStore + ?Sized> SessionStoreExt for S {}

/// A cleanup run stopped by an error: what it did, and where to resume.
#[derive(Debug, thiserror::Error)]
#[error("cleanup stopped after deleting {deleted} expired sessions: {error}")]
pub struct CleanupStopped {
    /// Expired records deleted before the error.
    pub deleted: u64,
    /// Pass this back as the cursor to continue where the run stopped.
    pub resume: Option<CleanupCursor>,
    /// What failed.
    #[source]
    pub error: crate::error::Error,
}
