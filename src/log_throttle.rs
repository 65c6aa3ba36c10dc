//! [`LogThrottle`]: the first of a run of identical failure events is logged
//! at once, the rest are counted and summarized once per window, so an outage
//! costs a few log lines rather than one per failed call (the detail stays in
//! the metrics).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Whether to emit an event of a kind now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Log it: the first of its kind in this window.
    Log,
    /// Log it with the count of events of its kind not logged since the last one.
    Summary(u64),
    /// Count it only.
    Quiet,
}

#[derive(Debug)]
pub(crate) struct LogThrottle {
    window: Duration,
    kinds: Mutex<HashMap<&'static str, (Instant, u64)>>,
}

impl LogThrottle {
    pub(crate) fn new(window: Duration) -> Self {
        LogThrottle {
            window,
            kinds: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn check(&self, kind: &'static str) -> Verdict {
        let now = Instant::now();
        let mut kinds = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        match kinds.get_mut(kind) {
            None => {
                kinds.insert(kind, (now, 0));
                Verdict::Log
            }
            Some((since, quiet)) if now.duration_since(*since) < self.window => {
                *quiet += 1;
                Verdict::Quiet
            }
            Some((since, quiet)) => {
                let n = std::mem::take(quiet);
                *since = now;
                if n == 0 {
                    Verdict::Log
                } else {
                    Verdict::Summary(n)
                }
            }
        }
    }
}

/// Emit a `tracing` event at `$level` unless the throttle says to count it
/// only; a summary carries `suppressed = n`.
macro_rules! throttled {
    ($throttle:expr, $kind:expr, $level:ident, $($fields:tt)+) => {
        match $throttle.check($kind) {
            $crate::log_throttle::Verdict::Log => tracing::$level!($($fields)+),
            $crate::log_throttle::Verdict::Summary(suppressed) => {
                tracing::$level!(suppressed, $($fields)+)
            }
            $crate::log_throttle::Verdict::Quiet => {}
        }
    };
}

pub(crate) use throttled;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_logs_then_counts_then_summarizes_per_window() {
        let t = LogThrottle::new(Duration::from_millis(30));
        assert_eq!(t.check("a"), Verdict::Log);
        assert_eq!(t.check("b"), Verdict::Log, "kinds are separate");
        for _ in 0..50 {
            assert_eq!(t.check("a"), Verdict::Quiet);
        }
        std::thread::sleep(Duration::from_millis(35));
        assert_eq!(t.check("a"), Verdict::Summary(50));
        std::thread::sleep(Duration::from_millis(35));
        assert_eq!(t.check("a"), Verdict::Log, "nothing suppressed since");
    }
}
