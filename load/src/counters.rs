//! The counter load: many clients at once, each with its own session, each
//! counting its own requests, setting and reading named keys, listing its
//! session and logging out. Every count must end exactly at the number of
//! increments the client sent, with no 5xx at all.

use std::sync::Arc;
use std::time::Instant;

use http::{Method, StatusCode};
use serde_json::json;

use crate::app::Listing;
use crate::backend::Backend;
use crate::client::Client;
use crate::figures::{Figures, Outcome, Tally};
use crate::rng::Rng;
use crate::serve::Served;

/// One client's part: `rounds` increments, a named key every few rounds
/// (written, then read back), the whole session listed, a logout, and the old
/// cookie replayed after it.
async fn client(app: &Served, tally: &Tally, id: usize, rounds: usize, seed: u64) {
    let mut c = Client::new(app.addr);
    let mut rng = Rng::fork(seed, id as u64);
    let mut named = std::collections::BTreeMap::new();
    let who = |what: &str| format!("client {id}: {what}");
    // Increments answered 2xx. A failed one already fails the run; counting
    // only acknowledged ones keeps the later checks exact.
    let mut counted = 0u64;
    for round in 1..=rounds as u64 {
        let sent = c.send(Method::POST, "/incr", None).await;
        if tally.count(&who("POST /incr"), &sent) == Outcome::Ok {
            tally.acked();
            counted += 1;
            let body = sent.map(|r| r.body).unwrap_or_default();
            if body != counted.to_string() {
                tally.problem(who(&format!("increment {counted} answered {body:?}")));
            }
        }
        if rng.percent(25) {
            let (path, value) = (format!("/kv/r{round}"), format!("c{id}.{round}"));
            let sent = c.send(Method::PUT, &path, Some(value.clone())).await;
            if tally.count(&who(&format!("PUT {path}")), &sent) == Outcome::Ok {
                tally.acked();
                named.insert(format!("r{round}"), value.clone());
                let read = c.send(Method::GET, &path, None).await;
                if tally.count(&who(&format!("GET {path}")), &read) == Outcome::Ok {
                    let body = read.map(|r| r.body).unwrap_or_default();
                    if body != value {
                        tally.problem(who(&format!("{path} read {body:?}, wrote {value:?}")));
                    }
                }
            }
        }
    }
    // A key never written is absent: a 404, not an error.
    let absent = c.send(Method::GET, "/kv/never", None).await;
    match &absent {
        Ok(reply) => {
            tally.reply(&who("GET /kv/never"), reply, Some(StatusCode::NOT_FOUND));
            if reply.status.is_success() {
                tally.problem(who(&format!("a key never written read {:?}", reply.body)));
            }
        }
        Err(e) => {
            tally.no_answer(&who("GET /kv/never"), e);
        }
    }
    let listed = c.send(Method::GET, "/all", None).await;
    if tally.count(&who("GET /all"), &listed) == Outcome::Ok {
        let body = listed.map(|r| r.body).unwrap_or_default();
        let want = Listing {
            counter: counted,
            named,
        };
        if Listing::parse(&body).as_ref() != Some(&want) {
            tally.problem(who(&format!("listed {body:?}, expected {want:?}")));
        }
    }
    let old = c.jar().clone();
    let bye = c.send(Method::POST, "/logout", None).await;
    if tally.count(&who("POST /logout"), &bye) == Outcome::Ok {
        tally.logged_out();
        if !c.jar().is_empty() {
            tally.problem(who("the logout left cookies in the jar"));
        }
        c.set_jar(old);
        let replay = c.send(Method::GET, "/all", None).await;
        if tally.count(&who("GET /all, old cookie"), &replay) == Outcome::Ok {
            let body = replay.map(|r| r.body).unwrap_or_default();
            if !body.is_empty() {
                tally.problem(who(&format!("the ended session came back: {body:?}")));
            }
        }
    }
}

/// Run the counter load on `backend`: `clients` clients of `rounds`
/// increments each, all at once. Returns the figures and the problems seen.
///
/// # Panics
/// When the app cannot be served or a client task panics.
pub async fn run(
    backend: &Backend,
    driver: &str,
    clients: usize,
    rounds: usize,
    seed: u64,
) -> (Figures, Vec<String>) {
    let app = Arc::new(
        Served::app(backend.store.clone(), backend.metrics.clone())
            .await
            .expect("the app listens"),
    );
    let tally = Arc::new(Tally::default());
    let before = backend.metrics.snapshot();
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|id| {
            let (app, tally) = (app.clone(), tally.clone());
            tokio::spawn(async move { client(&app, &tally, id, rounds, seed).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("a client task");
    }
    let elapsed = started.elapsed();
    let m = backend.metrics.snapshot();
    // Every session of the app is above the cookie threshold: none may have
    // been read from a cookie alone, and each one was read from the store.
    if m.cookie_loads != before.cookie_loads {
        tally.problem(format!(
            "{} sessions were cookie-only; the profile must push every one into the store",
            m.cookie_loads - before.cookie_loads
        ));
    }
    if m.store_loads.saturating_sub(before.store_loads) < (clients * rounds) as u64 {
        tally.problem(format!(
            "only {} store loads for {} increments after the first",
            m.store_loads - before.store_loads,
            clients * rounds
        ));
    }
    let mut figures = tally.figures("load", driver, clients);
    figures.elapsed = elapsed;
    figures.seed = Some(seed);
    figures.conflicts = m.conflicts - before.conflicts;
    figures.extra = vec![
        ("increments_per_client", json!(rounds)),
        ("store_loads", json!(m.store_loads - before.store_loads)),
        ("cache_hits", json!(m.cache_hits - before.cache_hits)),
        (
            "durable_writes",
            json!(m.durable_writes - before.durable_writes),
        ),
        ("cache_errors", json!(m.cache_errors - before.cache_errors)),
        (
            "cache_circuit_opens",
            json!(m.cache_circuit_opens - before.cache_circuit_opens),
        ),
        (
            "cache_calls_skipped",
            json!(m.cache_calls_skipped - before.cache_calls_skipped),
        ),
    ];
    (figures, tally.problems().1)
}
