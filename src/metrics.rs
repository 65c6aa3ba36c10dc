//! Counters for the paths sessions take. Cheap relaxed atomics that only the
//! session layer and [`crate::TieredStore`] advance: read them with
//! [`Metrics::snapshot`] and export them to whatever metrics system you run.

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Live counters, shared by the session layer and the tiered store.
        /// Create one with `Metrics::default()` to share it between them;
        /// read it with [`Metrics::snapshot`].
        #[derive(Debug, Default)]
        pub struct Metrics {
            $($(#[$doc])* pub(crate) $name: AtomicU64,)*
        }

        /// A copy of the counters at one moment.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct MetricsSnapshot {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl Metrics {
            /// Read every counter.
            pub fn snapshot(&self) -> MetricsSnapshot {
                MetricsSnapshot { $($name: self.$name.load(Ordering::Relaxed),)* }
            }
        }
    };
}

counters! {
    /// Sessions read entirely from the cookie.
    cookie_loads,
    /// Sessions read from the store.
    store_loads,
    /// Cookies rejected as bogus (tampered, expired, wrong key, malformed).
    rejected_cookies,
    /// Cache tier reads that found the record.
    cache_hits,
    /// Cache tier reads that found nothing.
    cache_misses,
    /// Cache tier calls that failed or timed out.
    cache_errors,
    /// Times the cache tier's circuit breaker opened (after a run of failures).
    cache_circuit_opens,
    /// Cache tier calls skipped while the circuit was open.
    cache_calls_skipped,
    /// Writes refused because the cache could not invalidate the old entry
    /// first (see [`crate::CacheOutageWrites`]).
    writes_refused_cache_outage,
    /// Reads from the durable tier.
    durable_reads,
    /// Writes (create, save, touch, delete) to the durable tier.
    durable_writes,
    /// Saves acknowledged by the cache tier alone.
    quick_writes,
    /// Saves that met a newer version and were re-applied (counted by the
    /// session layer, once per re-apply, whichever tier reported it).
    conflicts,
    /// Saves that failed (each answered with an opaque 5xx by the session
    /// layer or middleware): every one is counted, while the error events are
    /// throttled to one per kind of failure and window.
    save_failures,
}

impl Metrics {
    pub(crate) fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}
