//! A circuit breaker in front of the cache tier: after a run of failed or
//! timed-out calls the cache is skipped for a cool-down, so requests during a
//! cache outage (a hung Redis above all) pay the durable tier's latency, not
//! the cache deadline, request after request.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// When the breaker opens and how long it stays open before probing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CircuitBreaker {
    /// Consecutive failed or timed-out cache calls that open the circuit
    /// (0 turns the breaker off).
    pub failures: u32,
    /// How long the cache is skipped before a background probe tries it.
    pub cool_down: Duration,
}

impl Default for CircuitBreaker {
    /// Open after 5 consecutive failures; probe every second.
    fn default() -> Self {
        CircuitBreaker {
            failures: 5,
            cool_down: Duration::from_secs(1),
        }
    }
}

impl CircuitBreaker {
    /// A breaker that never opens: every call waits for the cache deadline.
    pub fn off() -> Self {
        CircuitBreaker {
            failures: 0,
            cool_down: Duration::ZERO,
        }
    }
}

/// Whether a cache call may go ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Gate {
    /// Call the cache.
    Call,
    /// Skip it: the circuit is open.
    Skip,
    /// Skip it, and start a probe (this caller won the right to).
    SkipAndProbe,
}

/// The breaker's state, lock-free: one atomic load on the closed path.
#[derive(Debug)]
pub(super) struct Breaker {
    config: CircuitBreaker,
    epoch: Instant,
    /// Nanoseconds since `epoch` until which the circuit stays open; 0 = closed.
    open_until: AtomicU64,
    failures: AtomicU32,
    probing: AtomicBool,
}

impl Breaker {
    pub(super) fn new(config: CircuitBreaker) -> Self {
        Breaker {
            config,
            epoch: Instant::now(),
            open_until: AtomicU64::new(0),
            failures: AtomicU32::new(0),
            probing: AtomicBool::new(false),
        }
    }

    fn nanos_now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    pub(super) fn is_open(&self) -> bool {
        self.open_until.load(Ordering::Acquire) != 0
    }

    pub(super) fn gate(&self) -> Gate {
        let until = self.open_until.load(Ordering::Acquire);
        if until == 0 {
            return Gate::Call;
        }
        if self.nanos_now() < until {
            return Gate::Skip;
        }
        // Cooled down: one caller starts a probe; the cache stays skipped
        // until the probe succeeds.
        if self
            .probing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            Gate::SkipAndProbe
        } else {
            Gate::Skip
        }
    }

    /// A call (or probe) that worked. Returns true if this closed the circuit.
    pub(super) fn success(&self) -> bool {
        self.failures.store(0, Ordering::Release);
        self.probing.store(false, Ordering::Release);
        self.open_until.swap(0, Ordering::AcqRel) != 0
    }

    /// A call that failed or timed out. Returns true if this opened the circuit.
    pub(super) fn failure(&self) -> bool {
        if self.config.failures == 0 {
            return false;
        }
        let n = self
            .failures
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1);
        if n < self.config.failures || self.is_open() {
            return false;
        }
        self.reopen();
        true
    }

    /// A probe that failed: stay open for another cool-down.
    pub(super) fn probe_failed(&self) {
        self.reopen();
        self.probing.store(false, Ordering::Release);
    }

    fn reopen(&self) {
        let cool = u64::try_from(self.config.cool_down.as_nanos()).unwrap_or(u64::MAX);
        let until = self.nanos_now().saturating_add(cool).max(1);
        self.open_until.store(until, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_and_probes_once_per_cool_down() {
        let b = Breaker::new(CircuitBreaker {
            failures: 3,
            cool_down: Duration::from_millis(20),
        });
        assert_eq!(b.gate(), Gate::Call);
        assert!(!b.failure());
        assert!(!b.failure());
        assert!(!b.success(), "closed stays closed");
        assert!(!b.failure() && !b.failure());
        assert!(b.failure(), "the third in a row opens it");
        assert_eq!(b.gate(), Gate::Skip);
        std::thread::sleep(Duration::from_millis(25));
        assert_eq!(b.gate(), Gate::SkipAndProbe);
        assert_eq!(b.gate(), Gate::Skip, "one probe at a time");
        b.probe_failed();
        assert_eq!(b.gate(), Gate::Skip);
        std::thread::sleep(Duration::from_millis(25));
        assert_eq!(b.gate(), Gate::SkipAndProbe);
        assert!(b.success(), "a good probe closes it");
        assert_eq!(b.gate(), Gate::Call);
    }

    #[test]
    fn off_never_opens() {
        let b = Breaker::new(CircuitBreaker::off());
        for _ in 0..100 {
            assert!(!b.failure());
        }
        assert_eq!(b.gate(), Gate::Call);
    }
}
