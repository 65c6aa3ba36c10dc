//! The conflict storm: many clients share one stored session (one cookie) and
//! each writes keys of its own, all at once. Saves are conditional on the
//! record's version; the loser of a race re-applies its own changed keys onto
//! the winner's version (up to `max_conflict_retries` times, then a 503 the
//! client retries, as a browser would). Every key must be there at the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::Method;
use serde_json::json;
use tokio::sync::Barrier;

use crate::app::Listing;
use crate::backend::Backend;
use crate::client::Client;
use crate::figures::{Figures, Outcome, Tally};
use crate::rng::Rng;
use crate::serve::Served;

/// How many times a client sends one write before giving up on it (a bound
/// on the run, far above what the storm needs).
const ATTEMPTS: usize = 200;

/// The name and value client `id` writes as its `k`-th key.
fn key(id: usize, k: usize) -> (String, String) {
    (format!("c{id}k{k}"), format!("v{id}.{k}"))
}

/// Run the storm on `backend`: `clients` clients, `keys` keys each, one
/// shared session. Returns the figures and the problems seen.
///
/// # Panics
/// When the app cannot be served, the shared session cannot be made, or a
/// client task panics.
pub async fn run(
    backend: &Backend,
    driver: &str,
    clients: usize,
    keys: usize,
    seed: u64,
) -> (Figures, Vec<String>) {
    let app = Served::app(backend.store.clone(), backend.metrics.clone())
        .await
        .expect("the app listens");
    let tally = Arc::new(Tally::default());
    let mut first = Client::new(app.addr);
    let made = first
        .send(Method::PUT, "/kv/shared", Some("yes".into()))
        .await
        .expect("the shared session is made");
    assert!(made.status.is_success(), "the shared session: {made:?}");
    let jar = first.jar().clone();
    let before = backend.metrics.snapshot();
    let barrier = Arc::new(Barrier::new(clients));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|id| {
            let (tally, barrier, jar, addr) =
                (tally.clone(), barrier.clone(), jar.clone(), app.addr);
            tokio::spawn(async move {
                let mut c = Client::new(addr);
                c.set_jar(jar);
                let mut rng = Rng::fork(seed, id as u64);
                barrier.wait().await;
                for k in 0..keys {
                    let (name, value) = key(id, k);
                    let what = format!("client {id}: PUT /kv/{name}");
                    let mut acked = false;
                    for _ in 0..ATTEMPTS {
                        let sent = c
                            .send(Method::PUT, &format!("/kv/{name}"), Some(value.clone()))
                            .await;
                        match tally.count(&what, &sent) {
                            Outcome::Ok => {
                                tally.acked();
                                acked = true;
                                break;
                            }
                            // Conflicts past the retry budget: try again, a
                            // little later, as a browser's retry would.
                            Outcome::Unavailable => {
                                tokio::time::sleep(
                                    rng.millis(Duration::ZERO, Duration::from_millis(20)),
                                )
                                .await;
                            }
                            Outcome::Failed => break,
                        }
                    }
                    if !acked {
                        tally.problem(format!("{what}: never acknowledged"));
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a client task");
    }
    let elapsed = started.elapsed();
    let m = backend.metrics.snapshot();
    let mut lost = 0;
    let listed = first.send(Method::GET, "/all", None).await;
    if tally.count("GET /all", &listed) == Outcome::Ok {
        let body = listed.map(|r| r.body).unwrap_or_default();
        let listing = Listing::parse(&body).unwrap_or_default();
        for (id, k) in (0..clients).flat_map(|id| (0..keys).map(move |k| (id, k))) {
            let (name, value) = key(id, k);
            if listing.named.get(&name) != Some(&value) {
                lost += 1;
                tally.problem(format!(
                    "{name}: read {:?} after the storm, wrote {value:?}",
                    listing.named.get(&name)
                ));
            }
        }
        if listing.named.len() != clients * keys + 1 {
            tally.problem(format!(
                "{} keys after the storm, expected {}",
                listing.named.len(),
                clients * keys + 1
            ));
        }
    }
    let mut figures = tally.figures("storm", driver, clients);
    figures.elapsed = elapsed;
    figures.seed = Some(seed);
    figures.writes_lost = lost;
    figures.conflicts = m.conflicts - before.conflicts;
    figures.extra = vec![("keys_per_client", json!(keys))];
    (figures, tally.problems().1)
}
