//! Fault injection: [`FaultyCache`] and [`FaultyDurable`] wrap a tier (or a
//! whole store) and make its calls fail or stall on command, through a shared
//! [`Faults`] handle. They also count calls, which the HTTP cases use to prove
//! that a request made no store I/O.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tiered_sessions::{
    CacheOutcome, CacheTier, CleanupBatch, CleanupCursor, Durability, Error, Record, Result,
    SessionStore, StoreKey, UnixTime,
};

/// The error source of every injected failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InjectedFault {
    /// Which fault fired: `"down"`, `"write"` or `"budget"`.
    pub kind: &'static str,
}

impl fmt::Display for InjectedFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "injected fault ({})", self.kind)
    }
}

impl std::error::Error for InjectedFault {}

/// Shared controls and counters of one faulty wrapper. Clones control the same
/// wrapper. Every injected failure is an [`Error::Unavailable`] whose source is
/// an [`InjectedFault`], raised *before* the inner tier is called (so a failed
/// call changed nothing).
#[derive(Clone, Debug, Default)]
pub struct Faults {
    state: Arc<Mutex<FaultState>>,
}

#[derive(Debug, Default)]
struct FaultState {
    down: bool,
    fail_writes: bool,
    latency: Duration,
    budget: Option<u64>,
    reads: u64,
    writes: u64,
    injected: u64,
}

/// Call counts of a faulty wrapper.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallCounts {
    /// Reads attempted (`load`, `get`).
    pub reads: u64,
    /// Writes attempted (everything else).
    pub writes: u64,
    /// Calls that failed by injection.
    pub injected: u64,
}

impl CallCounts {
    /// Reads and writes together.
    pub fn total(&self) -> u64 {
        self.reads + self.writes
    }
}

impl Faults {
    /// No faults, no latency.
    pub fn new() -> Self {
        Faults::default()
    }

    fn lock(&self) -> MutexGuard<'_, FaultState> {
        // Counters and flags stay meaningful after a panic elsewhere.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every call fails (`true`) or behaves (`false`).
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// Every write fails while reads still work (a full or read-only backend).
    pub fn set_fail_writes(&self, fail: bool) {
        self.lock().fail_writes = fail;
    }

    /// Every call waits this long before it starts (a slow backend).
    /// [`Duration::MAX`] makes calls hang.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// The next `n` calls behave, then every call fails until [`Faults::heal`].
    pub fn fail_after(&self, n: u64) {
        self.lock().budget = Some(n);
    }

    /// Remove every fault and the latency; counters keep counting.
    pub fn heal(&self) {
        let mut s = self.lock();
        s.down = false;
        s.fail_writes = false;
        s.latency = Duration::ZERO;
        s.budget = None;
    }

    /// The counters so far.
    pub fn counts(&self) -> CallCounts {
        let s = self.lock();
        CallCounts {
            reads: s.reads,
            writes: s.writes,
            injected: s.injected,
        }
    }

    /// Set the counters back to zero.
    pub fn reset_counts(&self) {
        let mut s = self.lock();
        s.reads = 0;
        s.writes = 0;
        s.injected = 0;
    }

    /// Count a call, apply the latency, and fail it if a fault says so.
    async fn gate(&self, backend: &'static str, write: bool) -> Result<()> {
        // Yield once so concurrent cases interleave even over in-memory tiers.
        tokio::task::yield_now().await;
        let latency = self.lock().latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let mut s = self.lock();
        if write {
            s.writes += 1;
        } else {
            s.reads += 1;
        }
        let kind = if s.down {
            Some("down")
        } else if write && s.fail_writes {
            Some("write")
        } else {
            match &mut s.budget {
                Some(0) => Some("budget"),
                Some(n) => {
                    *n -= 1;
                    None
                }
                None => None,
            }
        };
        match kind {
            Some(kind) => {
                s.injected += 1;
                Err(Error::unavailable(backend, InjectedFault { kind }))
            }
            None => Ok(()),
        }
    }
}

/// A [`CacheTier`] that fails or stalls on command (see [`Faults`]).
#[derive(Debug)]
pub struct FaultyCache<C> {
    inner: C,
    faults: Faults,
}

impl<C: CacheTier> FaultyCache<C> {
    /// Wrap `inner`, with no faults yet.
    pub fn new(inner: C) -> Self {
        FaultyCache {
            inner,
            faults: Faults::new(),
        }
    }

    /// The controls.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The wrapped tier, to look at it without faults.
    pub fn inner(&self) -> &C {
        &self.inner
    }
}

const CACHE: &str = "cache (injected)";
const DURABLE: &str = "durable (injected)";

#[async_trait]
impl<C: CacheTier> CacheTier for FaultyCache<C> {
    fn max_record_bytes(&self) -> usize {
        self.inner.max_record_bytes()
    }

    async fn get(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
        self.faults.gate(CACHE, false).await?;
        self.inner.get(key, now).await
    }

    async fn put_if_newer(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()> {
        self.faults.gate(CACHE, true).await?;
        self.inner.put_if_newer(key, record, now).await
    }

    async fn compare_and_swap(
        &self,
        key: &StoreKey,
        record: &Record,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<CacheOutcome> {
        self.faults.gate(CACHE, true).await?;
        self.inner
            .compare_and_swap(key, record, expected_version, now)
            .await
    }

    async fn invalidate(
        &self,
        key: &StoreKey,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<CacheOutcome> {
        self.faults.gate(CACHE, true).await?;
        self.inner.invalidate(key, expected_version, now).await
    }

    async fn evict(&self, key: &StoreKey, now: UnixTime) -> Result<()> {
        self.faults.gate(CACHE, true).await?;
        self.inner.evict(key, now).await
    }

    async fn delete(&self, key: &StoreKey, now: UnixTime) -> Result<()> {
        self.faults.gate(CACHE, true).await?;
        self.inner.delete(key, now).await
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: UnixTime,
        last_active: UnixTime,
        now: UnixTime,
    ) -> Result<()> {
        self.faults.gate(CACHE, true).await?;
        self.inner.touch(key, expires_at, last_active, now).await
    }
}

/// A [`SessionStore`] (a durable tier, or any whole store) that fails or
/// stalls on command (see [`Faults`]).
#[derive(Debug)]
pub struct FaultyDurable<D> {
    inner: D,
    faults: Faults,
    limit: usize,
}

impl<D: SessionStore> FaultyDurable<D> {
    /// Wrap `inner`, with no faults yet.
    pub fn new(inner: D) -> Self {
        FaultyDurable {
            inner,
            faults: Faults::new(),
            limit: usize::MAX,
        }
    }

    /// Declare (and enforce) a record limit below the inner store's: a durable
    /// tier that accepts less than the cache in front of it.
    pub fn with_max_record_bytes(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    fn check_size(&self, record: &Record) -> Result<()> {
        let size = tiered_sessions::codec::record_len(record);
        if size > self.max_record_bytes() {
            return Err(Error::TooLarge {
                size,
                limit: self.max_record_bytes(),
            });
        }
        Ok(())
    }

    /// The controls.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The wrapped store, to look at it without faults.
    pub fn inner(&self) -> &D {
        &self.inner
    }
}

#[async_trait]
impl<D: SessionStore> SessionStore for FaultyDurable<D> {
    fn max_record_bytes(&self) -> usize {
        self.inner.max_record_bytes().min(self.limit)
    }

    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
        self.faults.gate(DURABLE, false).await?;
        self.inner.load(key, now).await
    }

    async fn create(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()> {
        self.faults.gate(DURABLE, true).await?;
        self.check_size(record)?;
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
        self.faults.gate(DURABLE, true).await?;
        self.check_size(record)?;
        self.inner
            .save(key, record, expected_version, durability, now)
            .await
    }

    async fn delete(&self, key: &StoreKey, now: UnixTime) -> Result<()> {
        self.faults.gate(DURABLE, true).await?;
        self.inner.delete(key, now).await
    }

    async fn delete_unless_newer(
        &self,
        key: &StoreKey,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<()> {
        self.faults.gate(DURABLE, true).await?;
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
        self.faults.gate(DURABLE, true).await?;
        self.inner.touch(key, expires_at, last_active, now).await
    }

    async fn delete_expired(
        &self,
        now: UnixTime,
        max: usize,
        cursor: Option<CleanupCursor>,
    ) -> Result<CleanupBatch> {
        self.faults.gate(DURABLE, true).await?;
        self.inner.delete_expired(now, max, cursor).await
    }
}
