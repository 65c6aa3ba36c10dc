//! The seeded fault schedule of a chaos run: for each server, when it fails,
//! how (SIGKILL then restart, or SIGSTOP then SIGCONT) and for how long.

use std::fmt;
use std::time::Duration;

use crate::rng::Rng;

/// How a server fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// SIGKILL, then a restart on the same port and data: a crash.
    Kill,
    /// SIGSTOP, then SIGCONT: a hung host that keeps its connections and data.
    Pause,
}

/// One planned failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// Which server (an index into the run's targets).
    pub target: usize,
    /// When it fails, from the start of the load.
    pub at: Duration,
    /// How.
    pub action: Action,
    /// How long before it is restarted or resumed.
    pub outage: Duration,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "t={:.1}s {} target {} for {:.1}s",
            self.at.as_secs_f64(),
            match self.action {
                Action::Kill => "kill",
                Action::Pause => "pause",
            },
            self.target,
            self.outage.as_secs_f64()
        )
    }
}

/// The failures of every target within `duration`, from `seed`: each target
/// fails again and again with random gaps, independently of the others (so
/// outages overlap at times). `killable[i]` says whether target `i` may be
/// killed or only paused.
pub fn plan(seed: u64, killable: &[bool], duration: Duration) -> Vec<Event> {
    let ms = Duration::from_millis;
    let mut events = Vec::new();
    for (target, &can_kill) in killable.iter().enumerate() {
        let mut rng = Rng::fork(seed, 1000 + target as u64);
        let mut at = rng.millis(ms(300), ms(1500));
        while at + ms(300) < duration {
            let action = if can_kill && rng.percent(50) {
                Action::Kill
            } else {
                Action::Pause
            };
            let outage = rng.millis(ms(200), ms(2000));
            events.push(Event {
                target,
                at,
                action,
                outage,
            });
            at += outage + rng.millis(ms(700), ms(2500));
        }
    }
    events.sort_by_key(|e| (e.at, e.target));
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_seed_one_plan_within_the_run() {
        let d = Duration::from_secs(20);
        let a = plan(42, &[true, false], d);
        assert_eq!(a, plan(42, &[true, false], d));
        assert_ne!(a, plan(43, &[true, false], d));
        assert!(a.iter().all(|e| e.at < d));
        assert!(a.iter().any(|e| e.target == 0) && a.iter().any(|e| e.target == 1));
        assert!(
            a.iter()
                .filter(|e| e.target == 1)
                .all(|e| e.action == Action::Pause),
            "a target that must not be killed is only paused"
        );
    }
}
