//! Counters for the paths sessions take. Cheap relaxed atomics that only the
//! session layer and [`crate::TieredStore`] advance: read them with
//! [`Metrics::snapshot`]. With the `metrics` cargo feature every increment
//! also goes to the `metrics` facade crate as `tiered_sessions_<name>_total`
//! (the README's "Metrics" section lists every name, label and unit).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// One counter: the atomic [`Metrics::snapshot`] reads and, with the
/// `metrics` feature, the name it is emitted under.
pub(crate) struct Counter {
    value: AtomicU64,
    #[cfg(feature = "metrics")]
    name: &'static str,
}

impl Counter {
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    const fn new(name: &'static str) -> Self {
        Counter {
            value: AtomicU64::new(0),
            #[cfg(feature = "metrics")]
            name,
        }
    }

    fn load(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.load().fmt(f)
    }
}

macro_rules! counters {
    ($($(#[doc = $doc:literal])* $name:ident),* $(,)?) => {
        /// Live counters, shared by the session layer and the tiered store.
        /// Create one with `Metrics::default()` to share it between them;
        /// read it with [`Metrics::snapshot`]. With the `metrics` cargo
        /// feature each increment is also emitted through the `metrics`
        /// facade as the counter `tiered_sessions_<field>_total`.
        #[derive(Debug)]
        pub struct Metrics {
            $($(#[doc = $doc])* pub(crate) $name: Counter,)*
        }

        impl Default for Metrics {
            fn default() -> Self {
                Metrics {
                    $($name: Counter::new(concat!("tiered_sessions_", stringify!($name), "_total")),)*
                }
            }
        }

        /// The name, unit and description of every counter, for
        /// [`Metrics::describe`].
        #[cfg(feature = "metrics")]
        const COUNTERS: &[(&str, &str)] = &[
            $((concat!("tiered_sessions_", stringify!($name), "_total"), concat!($($doc, " "),*)),)*
        ];

        /// A copy of the counters at one moment.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct MetricsSnapshot {
            $($(#[doc = $doc])* pub $name: u64,)*
        }

        impl Metrics {
            /// Read every counter.
            pub fn snapshot(&self) -> MetricsSnapshot {
                MetricsSnapshot { $($name: self.$name.load(),)* }
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
    pub(crate) fn inc(counter: &Counter) {
        Metrics::add(counter, 1);
    }

    pub(crate) fn add(counter: &Counter, n: u64) {
        counter.value.fetch_add(n, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        metrics::counter!(counter.name).increment(n);
    }

    /// Register the description and unit of every metric this crate emits
    /// with the installed `metrics` recorder (exporters show them, for
    /// example as Prometheus `# HELP` lines). Optional: the metrics are
    /// emitted either way. Call it once the recorder is installed.
    #[cfg(feature = "metrics")]
    pub fn describe() {
        for (name, doc) in COUNTERS {
            // The field's rustdoc, as one line without markdown.
            let help: Vec<&str> = doc.split_whitespace().collect();
            let help = help.join(" ").replace(['[', ']', '`'], "");
            metrics::describe_counter!(*name, metrics::Unit::Count, help);
        }
        metrics::describe_histogram!(
            crate::instrument::STORE_CALL_SECONDS,
            metrics::Unit::Seconds,
            "Latency of each store call, by tier (cache, durable, store), operation and outcome."
        );
    }
}
