//! Time as UNIX seconds, from the system or from a test's hand.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the UNIX epoch. Expiry, creation and activity times all use it.
pub type UnixTime = u64;

/// A source of the current time. The session layer and the stores take the time
/// from one of these, so tests can move it by hand.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time in UNIX seconds.
    fn now(&self) -> UnixTime;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        // A clock set before 1970 is treated as 1970 rather than panicking.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// A clock that only moves when told to; clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: UnixTime) -> Self {
        ManualClock(Arc::new(AtomicU64::new(start)))
    }

    /// Set the time.
    pub fn set(&self, now: UnixTime) {
        self.0.store(now, Ordering::SeqCst);
    }

    /// Move the time forward.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_secs(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share() {
        let c = ManualClock::new(100);
        let c2 = c.clone();
        assert_eq!(c.now(), 100);
        c.advance(Duration::from_secs(5));
        assert_eq!(c2.now(), 105);
        c2.set(7);
        assert_eq!(c.now(), 7);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now() > 1_577_836_800);
    }
}
