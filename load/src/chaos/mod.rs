//! The chaos run: clients write, read, count and log out while the driver's
//! private servers are killed and restarted, or paused and resumed, on a
//! seeded schedule. Afterwards — and again after a final crash of every
//! server that keeps its data — every write answered 2xx must be readable,
//! no logged-out session may show data, and the only errors may be 503s.

mod setup;
mod tracked;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::figures::{Figures, Tally};
use crate::schedule::{self, Action, Event};
use crate::serve::Served;
use crate::servers::Scratch;

pub use self::setup::{ChaosDriver, Ready, Target};
pub use self::tracked::{RECOVERY, Tracked};

/// 503s answered this long after an outage ended still count as part of it
/// in the figures (reconnects, the cache's circuit-breaker probe). Reported,
/// never asserted.
pub const GRACE: Duration = Duration::from_secs(5);

/// One outage as it happened: from the failure until the server was ready.
#[derive(Clone, Copy, Debug)]
struct Window {
    from: Instant,
    to: Instant,
}

type Shared<T> = Arc<tokio::sync::Mutex<T>>;

/// Wait until `target` serves again (its port already accepts connections).
async fn ready(target: &Target, tally: &Tally) {
    let Some(ready) = &target.ready else {
        return;
    };
    let until = Instant::now() + RECOVERY;
    while Instant::now() < until {
        if ready().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tally.problem(format!(
        "{} did not serve again within {RECOVERY:?}",
        target.name
    ));
}

/// Play `events` (all for `target`) from `start`.
async fn control(
    target: Shared<Target>,
    events: Vec<Event>,
    start: Instant,
    windows: Arc<Mutex<Vec<Window>>>,
    tally: Arc<Tally>,
) {
    for e in events {
        tokio::time::sleep_until((start + e.at).into()).await;
        let mut t = target.lock().await;
        let from = Instant::now();
        match e.action {
            Action::Kill => t.server.kill(),
            Action::Pause => t.server.pause(),
        }
        tokio::time::sleep(e.outage).await;
        match e.action {
            Action::Kill => t.server.restart().await,
            Action::Pause => t.server.resume(),
        }
        ready(&t, &tally).await;
        let to = Instant::now();
        windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Window { from, to });
    }
}

/// Run every client's [`Tracked::verify`] at once.
async fn verify_all(clients: Vec<Tracked>, tally: &Arc<Tally>, when: &'static str) -> Vec<Tracked> {
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut c| {
            let tally = tally.clone();
            tokio::spawn(async move {
                c.verify(&tally, when).await;
                c
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("a client task"));
    }
    out
}

/// Run chaos on `driver`: `clients` clients for `duration` while its servers
/// fail on the schedule of `seed`. Returns the figures and the problems seen.
///
/// # Panics
/// When a server does not start or restart, or a task panics.
pub async fn run(
    driver: ChaosDriver,
    clients: usize,
    duration: Duration,
    seed: u64,
) -> (Figures, Vec<String>) {
    let scratch = Scratch::new(&format!("chaos_{}", driver.name().replace('+', "_")));
    let (targets, backend) = driver.start(&scratch).await;
    let killable: Vec<bool> = targets.iter().map(|t| t.killable).collect();
    let events = schedule::plan(seed, &killable, duration);
    println!(
        "chaos {}: seed {seed} (TS_LOAD_SEED={seed} repeats it), {} events over {duration:?}:",
        driver.name(),
        events.len()
    );
    for e in &events {
        println!("  {e} = {}", targets[e.target].name);
    }
    let app = Served::app(backend.store.clone(), backend.metrics.clone())
        .await
        .expect("the app listens");
    let tally = Arc::new(Tally::default());
    let windows = Arc::new(Mutex::new(Vec::new()));
    let targets: Vec<Shared<Target>> = targets
        .into_iter()
        .map(|t| Arc::new(tokio::sync::Mutex::new(t)))
        .collect();

    let start = Instant::now();
    let deadline = start + duration;
    let controllers: Vec<_> = targets
        .iter()
        .enumerate()
        .map(|(i, target)| {
            let mine: Vec<Event> = events.iter().filter(|e| e.target == i).copied().collect();
            tokio::spawn(control(
                target.clone(),
                mine,
                start,
                windows.clone(),
                tally.clone(),
            ))
        })
        .collect();
    let tasks: Vec<_> = (0..clients)
        .map(|id| {
            let tally = tally.clone();
            let mut c = Tracked::new(app.addr, id, seed);
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    c.step(&tally).await;
                }
                c
            })
        })
        .collect();
    let mut trackeds = Vec::new();
    for t in tasks {
        trackeds.push(t.await.expect("a client task"));
    }
    let elapsed = start.elapsed();
    for c in controllers {
        c.await.expect("a chaos controller");
    }

    let trackeds = verify_all(trackeds, &tally, "after the outages").await;

    // A last crash of every server that keeps its data: what they
    // acknowledged must come back from disk, not from a process's memory.
    let from = Instant::now();
    for target in &targets {
        let mut t = target.lock().await;
        if t.killable {
            t.server.kill();
            t.server.restart().await;
            ready(&t, &tally).await;
        }
    }
    windows
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Window {
            from,
            to: Instant::now(),
        });
    let trackeds = verify_all(trackeds, &tally, "after a final crash of every server").await;

    let windows = windows
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let outside = trackeds
        .iter()
        .flat_map(|c| &c.unavailable_at)
        .filter(|&&at| !windows.iter().any(|w| w.from <= at && at <= w.to + GRACE))
        .count();
    let m = backend.metrics.snapshot();
    let mut figures = tally.figures("chaos", driver.name(), clients);
    figures.elapsed = elapsed;
    figures.seed = Some(seed);
    figures.writes_lost = trackeds.iter().map(|c| c.lost).sum();
    figures.resurrected = trackeds.iter().map(|c| c.resurrected).sum();
    figures.conflicts = m.conflicts;
    let mut names = Vec::new();
    for t in &targets {
        names.push(t.lock().await.name);
    }
    figures.extra = vec![
        ("targets", json!(names)),
        (
            "events",
            json!(
                events
                    .iter()
                    .map(|e| format!("{e} = {}", names[e.target]))
                    .collect::<Vec<_>>()
            ),
        ),
        (
            "kills",
            json!(events.iter().filter(|e| e.action == Action::Kill).count()),
        ),
        (
            "pauses",
            json!(events.iter().filter(|e| e.action == Action::Pause).count()),
        ),
        ("status_503_outside_outages", json!(outside)),
        (
            "status_503_writes_racing_a_logout",
            json!(trackeds.iter().map(|c| c.raced).sum::<u64>()),
        ),
        ("cache_errors", json!(m.cache_errors)),
        ("cache_circuit_opens", json!(m.cache_circuit_opens)),
    ];
    drop(app);
    drop(backend);
    drop(targets);
    (figures, tally.problems().1)
}
