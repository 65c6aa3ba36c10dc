//! [`TieredStore`]: a cache tier in front of a durable store, as one store.

mod breaker;
mod principals;
mod repair;
mod store_impl;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use crate::clock::UnixTime;
use crate::clock::{Clock, SystemClock};
use crate::codec;
use crate::error::{Error, Result};
use crate::instrument::{Call, Instrumented};
use crate::log_throttle::{LogThrottle, throttled};
use crate::metrics::Metrics;
use crate::record::Record;
use crate::session_id::StoreKey;
use crate::store::{CacheOutcome, CacheTier, Durability, SessionStore};

pub use self::breaker::CircuitBreaker;
use self::breaker::{Breaker, Gate};
use self::repair::Suspects;

/// How often a run of identical cache failures is summarized in the logs.
const LOG_WINDOW: Duration = Duration::from_secs(10);

/// A [`CacheTier`] in front of a durable [`SessionStore`], itself a store.
///
/// The ordering loses nothing acknowledged:
/// - every write is refused with [`Error::TooLarge`] above the smaller of the
///   two tiers' record limits, quick saves included, so the cache never
///   acknowledges what the durable tier would refuse at the next durable save;
/// - a durable save first invalidates the cached copy (failing with `Conflict`
///   if the cache holds a newer quick save, which stays), then writes the
///   durable tier, then refills the cache; a failed refill leaves the entry
///   evicted, never stale;
/// - while the cache cannot be reached to invalidate or mark a key, a save,
///   a retirement or a delete of that key is refused with the cache's
///   retryable error (an empty 503 from the session layer) and nothing is
///   written: another process sharing the cache would otherwise keep serving
///   the old state (a logged-out session, a write it never sees) once the
///   cache answers again. Reads fall back to the durable tier and new
///   sessions are still created, so an outage costs writes to existing stored
///   sessions only. A cache that no other process reads may opt into writing
///   durably anyway ([`CacheOutageWrites::WriteDurably`]);
/// - a key whose cache entry could not be dropped after a write (or, with
///   [`CacheOutageWrites::WriteDurably`], before it) is remembered: this store
///   reads it from the durable tier only and repairs the cache entry once the
///   cache answers again;
/// - a quick save swaps the cached record by version; if the cache has lost it
///   the save is written durably instead;
/// - a read tries the cache within `cache_timeout`, falls back to the durable
///   tier on a miss, an error or a timeout, and refills the cache on a miss;
/// - a delete removes the cache entry, then the durable record, then leaves a
///   deletion marker in the cache so a racing refill cannot resurrect it;
/// - after a run of failed or timed-out cache calls a circuit breaker opens
///   (see [`CircuitBreaker`]): the cache is skipped — every call is treated
///   as the failure it would have been, keys written meanwhile join the
///   repair set — and a background probe tries it again after each
///   cool-down, so during a cache hang requests pay the durable tier's
///   latency, not the cache deadline;
/// - repeated identical failures are logged once, then summarized every 10 s
///   with a count; the metrics count every one.
#[derive(Debug)]
pub struct TieredStore<C, D> {
    cache: Arc<C>,
    /// Every durable call is timed and traced as the `durable` tier.
    durable: Instrumented<D>,
    cache_timeout: Duration,
    metrics: Arc<Metrics>,
    suspects: Suspects,
    breaker: Arc<Breaker>,
    logs: Arc<LogThrottle>,
    outage_writes: CacheOutageWrites,
}

/// What [`TieredStore`] does with a write whose cache entry it cannot
/// invalidate first (the cache is down, hung, or its circuit is open).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheOutageWrites {
    /// Refuse the write with the cache's retryable error; nothing is written.
    /// Safe when several processes share the cache (the default).
    #[default]
    Refuse,
    /// Write the durable tier anyway and repair the cache entry later. Only
    /// for a cache that no other process reads: another process would serve
    /// the entry this one could not drop — a logged-out session included —
    /// until it is next written or expires.
    WriteDurably,
}

impl<C: CacheTier + 'static, D: SessionStore> TieredStore<C, D> {
    /// Compose `cache` and `durable`, with a 250 ms deadline on cache calls
    /// and the default [`CircuitBreaker`].
    pub fn new(cache: C, durable: D) -> Self {
        TieredStore {
            cache: Arc::new(cache),
            durable: Instrumented::new(durable, "durable"),
            cache_timeout: Duration::from_millis(250),
            metrics: Arc::new(Metrics::default()),
            suspects: Suspects::default(),
            breaker: Arc::new(Breaker::new(CircuitBreaker::default())),
            logs: Arc::new(LogThrottle::new(LOG_WINDOW)),
            outage_writes: CacheOutageWrites::Refuse,
        }
    }

    /// What a write does when the cache cannot be reached to invalidate its
    /// entry first (default [`CacheOutageWrites::Refuse`]).
    pub fn with_cache_outage_writes(mut self, policy: CacheOutageWrites) -> Self {
        self.outage_writes = policy;
        self
    }

    /// The policy set by [`TieredStore::with_cache_outage_writes`].
    pub fn cache_outage_writes(&self) -> CacheOutageWrites {
        self.outage_writes
    }

    /// When the cache's circuit opens and how long it stays open before a
    /// probe (default: after 5 consecutive failures, for 1 s at a time);
    /// [`CircuitBreaker::off`] makes every call wait for the cache deadline.
    pub fn with_circuit_breaker(mut self, breaker: CircuitBreaker) -> Self {
        self.breaker = Arc::new(Breaker::new(breaker));
        self
    }

    /// Whether the cache's circuit is open (the cache is being skipped).
    pub fn cache_circuit_open(&self) -> bool {
        self.breaker.is_open()
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
        self.cache.as_ref()
    }

    /// The durable tier.
    pub fn durable(&self) -> &D {
        self.durable.inner()
    }

    /// The deadline of each cache call.
    pub fn cache_timeout(&self) -> Duration {
        self.cache_timeout
    }

    /// How many keys await a cache repair (for monitoring and tests).
    pub fn keys_awaiting_cache_repair(&self) -> usize {
        self.suspects.len()
    }

    fn check_size(&self, record: &Record) -> Result<()> {
        let limit = self.max_record_bytes();
        let size = codec::record_len(record);
        if size > limit {
            return Err(Error::TooLarge { size, limit });
        }
        Ok(())
    }

    async fn in_cache<T>(
        &self,
        op: &'static str,
        fut: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        match self.breaker.gate() {
            Gate::Call => {}
            gate => {
                // The circuit is open: the call is not made (the future never
                // runs) and counts as the failure it would have been.
                if gate == Gate::SkipAndProbe {
                    self.probe();
                }
                Metrics::inc(&self.metrics.cache_calls_skipped);
                return Err(Error::unavailable(
                    "cache",
                    "the session cache circuit is open after repeated failures",
                ));
            }
        }
        // Timed here rather than by a wrapper of the cache, so a call past
        // the deadline counts as `timeout`, not as dropped.
        let call = Call::start("cache", op);
        let fut = tracing::Instrument::instrument(fut, call.span());
        let out = match tokio::time::timeout(self.cache_timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout {
                backend: "cache",
                after: self.cache_timeout,
            }),
        };
        call.finish(&out);
        match &out {
            Ok(_) => {
                if self.breaker.success() {
                    tracing::info!("session cache answers again; circuit closed");
                }
            }
            Err(e) => {
                Metrics::inc(&self.metrics.cache_errors);
                throttled!(self.logs, op, warn, op, error = %e, "session cache call failed");
                if e.is_retryable() && self.breaker.failure() {
                    Metrics::inc(&self.metrics.cache_circuit_opens);
                    tracing::error!(
                        error = %e,
                        "session cache keeps failing: skipping it and probing it in the background"
                    );
                }
            }
        }
        out
    }

    /// Try the cache once in the background (a read of a key no session
    /// uses); success closes the circuit, failure keeps it open for another
    /// cool-down. Requests never wait for the probe.
    fn probe(&self) {
        let (cache, breaker, timeout) =
            (self.cache.clone(), self.breaker.clone(), self.cache_timeout);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            breaker.probe_failed();
            return;
        };
        runtime.spawn(async move {
            let key = StoreKey::from_stored("tiered-sessions-circuit-probe");
            let answered = tokio::time::timeout(timeout, cache.get(&key, SystemClock.now()))
                .await
                .is_ok_and(|r| r.is_ok());
            if answered {
                if breaker.success() {
                    tracing::info!("session cache answers again; circuit closed");
                }
            } else {
                breaker.probe_failed();
            }
        });
    }

    /// Best-effort eviction after a failed cache write, so the cache can never
    /// serve a version older than the durable tier's; if the cache cannot be
    /// reached, the key is remembered as suspect.
    async fn evict(&self, key: &StoreKey, now: UnixTime) {
        match self.in_cache("evict", self.cache.evict(key, now)).await {
            Ok(()) => self.suspects.remove(key),
            Err(_) => {
                throttled!(
                    self.logs,
                    "evict",
                    error,
                    "could not drop session cache entries; reading them from the durable tier until repaired"
                );
                self.suspect(key);
            }
        }
    }

    fn suspect(&self, key: &StoreKey) {
        if !self.suspects.insert(key) {
            throttled!(
                self.logs,
                "repair-set",
                error,
                "too many session cache entries awaiting repair; relying on their TTL"
            );
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

    async fn refill(&self, key: &StoreKey, record: &Record, now: UnixTime) {
        match self
            .in_cache("put", self.cache.put_if_newer(key, record, now))
            .await
        {
            // The cache now holds this version or a newer one.
            Ok(()) => self.suspects.remove(key),
            Err(_) => self.evict(key, now).await,
        }
    }

    /// Before a durable write over `expected_version`: invalidate the cached
    /// copy, or fail with `Conflict` if the cache holds a newer live quick save
    /// (which stays: it is the latest state).
    async fn invalidate_before(
        &self,
        key: &StoreKey,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<()> {
        let invalidate = || {
            self.in_cache(
                "invalidate",
                self.cache.invalidate(key, expected_version, now),
            )
        };
        let mut outcome = invalidate().await;
        // One immediate retry of a call that failed without spending its
        // deadline (a dropped connection, one lost answer: invalidating twice
        // is harmless): refusing the write is for an outage, not a blip. Not
        // after a timeout, nor once the circuit is open.
        if matches!(outcome, Err(Error::Unavailable { .. })) && !self.breaker.is_open() {
            outcome = invalidate().await;
        }
        match outcome {
            Ok(CacheOutcome::Conflict) if self.cached_is_live(key, now).await => {
                Err(Error::Conflict)
            }
            // A newer entry that has expired (not yet evicted) stands for
            // nothing: evict it and let the durable tier decide (`NotFound`).
            Ok(CacheOutcome::Conflict) => self.in_cache("evict", self.cache.evict(key, now)).await,
            Ok(CacheOutcome::Done | CacheOutcome::Missing) => Ok(()),
            Err(e) => self.cache_unreachable_before_write(key, e),
        }
    }

    /// The cache could not invalidate `key` before a write. By default the
    /// write is refused (another process may read the old entry once the cache
    /// answers). With [`CacheOutageWrites::WriteDurably`] it goes on: this
    /// store reads `key` from the durable tier until the entry is repaired.
    fn cache_unreachable_before_write(&self, key: &StoreKey, e: Error) -> Result<()> {
        match self.outage_writes {
            CacheOutageWrites::Refuse => {
                Metrics::inc(&self.metrics.writes_refused_cache_outage);
                throttled!(
                    self.logs,
                    "refuse-write",
                    warn,
                    "session write refused: the cache could not invalidate the old entry first"
                );
                Err(if e.is_retryable() {
                    e
                } else {
                    Error::unavailable("cache", e)
                })
            }
            CacheOutageWrites::WriteDurably => {
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
        self.invalidate_before(key, expected_version, now).await?;
        Metrics::inc(&self.metrics.durable_writes);
        let saved = self
            .durable
            .save(key, record, expected_version, Durability::Durable, now)
            .await;
        if let Err(e) = saved {
            if matches!(e, Error::Conflict) {
                // The cache may hold a version the durable tier has moved past
                // (a write whose cache step failed); evict it so the reload is
                // fresh.
                self.evict(key, now).await;
            }
            return Err(e);
        }
        self.refill(key, record, now).await;
        Ok(())
    }

    /// After a durable delete: a deletion marker in the cache, so a refill
    /// racing with the delete cannot bring the record back.
    async fn mark_deleted(&self, key: &StoreKey, now: UnixTime) {
        match self.in_cache("delete", self.cache.delete(key, now)).await {
            Ok(()) => self.suspects.remove(key),
            Err(_) => self.suspect(key),
        }
    }

    /// A read of a suspect key: the durable tier, then repair the cache entry.
    async fn load_suspect(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
        Metrics::inc(&self.metrics.durable_reads);
        let record = self.durable.load(key, now).await?;
        let record = record.filter(|r| !r.is_expired(now));
        match &record {
            Some(r) => self.refill(key, r, now).await,
            None => {
                if self
                    .in_cache("delete", self.cache.delete(key, now))
                    .await
                    .is_ok()
                {
                    self.suspects.remove(key);
                }
            }
        }
        Ok(record)
    }
}
