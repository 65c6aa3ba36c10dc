//! Issue 14 item 7 with issue 15: during a store outage the session layer
//! (axum/tower) and middleware (actix-web) log one `error` event per kind of
//! failure, then summaries, while the metrics count every failure; no event
//! ever shows a cookie value, a session id or session data.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use common::*;
use tiered_sessions::{ManualClock, SessionConfig, SessionManager};
use tiered_sessions_conformance::faults::FaultyDurable;
use tiered_sessions_conformance::kit::Jar as KitJar;
use tiered_sessions_conformance::web::{ActixApp, Gates, TowerApp, WebApp};
use tiered_sessions_memory::MemoryStore;

/// Failed requests of each kind.
const N: usize = 25;

/// What the outage left behind: the browser's secrets and the failures the
/// metrics counted.
struct Outage {
    secrets: Vec<String>,
    save_failures: u64,
}

/// `N` saves failing with the store down for writes (retryable: 503) and `N`
/// saves refused as too large (500), on framework `A`.
async fn outage<A: WebApp>() -> Outage {
    let store = Arc::new(FaultyDurable::new(
        MemoryStore::new().with_max_record_bytes(1024),
    ));
    let config = SessionConfig::builder([KEY])
        .cookie_only_threshold(0)
        .secure(false)
        .build()
        .unwrap();
    let manager = SessionManager::with_shared_store(config, store.clone());
    let app = A::start(manager.clone(), Gates::default()).await.unwrap();
    let mut jar = KitJar::new();
    let r = app
        .send("GET", "/set/user/hunter2-data", None)
        .await
        .unwrap();
    jar.update(&r.set_cookie);
    let cookie = jar.get("session").unwrap().to_owned();
    let id = app
        .send("GET", "/id", jar.header().as_deref())
        .await
        .unwrap()
        .body;
    store.faults().set_fail_writes(true);
    for i in 0..N {
        let path = format!("/set/n{i}/hunter2-data");
        let r = app
            .send("GET", &path, jar.header().as_deref())
            .await
            .unwrap();
        assert_eq!(r.status, 503, "{} {path}", A::FRAMEWORK);
        assert!(r.body.is_empty() && r.set_cookie.is_empty());
        assert!(r.header("cache-control").any(|v| v == "no-store"));
    }
    store.faults().heal();
    for _ in 0..N {
        let r = app
            .send("GET", "/put/big/5000", jar.header().as_deref())
            .await
            .unwrap();
        assert_eq!(r.status, 500, "{} too large", A::FRAMEWORK);
        assert!(r.body.is_empty() && r.set_cookie.is_empty());
    }
    let r = app
        .send("GET", "/read/user", jar.header().as_deref())
        .await
        .unwrap();
    assert_eq!(r.body, "hunter2-data", "the acknowledged session survives");
    Outage {
        secrets: vec![cookie.clone(), cookie[8..40].to_owned(), id],
        save_failures: manager.metrics().snapshot().save_failures,
    }
}

fn one_event_per_kind<A: WebApp>() {
    let (outage, text) = Logs::capture(tracing::Level::TRACE, || {
        A::block_on(outage::<A>()).unwrap()
    });
    let fw = A::FRAMEWORK;
    assert_eq!(
        outage.save_failures,
        2 * N as u64,
        "{fw}: every failure counted"
    );
    let events: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("session could not be saved"))
        .collect();
    assert_eq!(events.len(), 2, "{fw}: one event per kind:\n{text}");
    assert!(events.iter().all(|l| l.contains("ERROR")), "{fw}:\n{text}");
    assert!(
        events[0].contains("unavailable") && events[1].contains("too_large"),
        "{fw}:\n{text}"
    );
    for secret in outage
        .secrets
        .iter()
        .map(String::as_str)
        .chain(["hunter2-data"])
    {
        assert!(
            !text.contains(secret),
            "{fw}: {secret:?} reached the logs:\n{text}"
        );
    }
}

#[test]
fn save_failures_log_once_per_kind_on_axum() {
    one_event_per_kind::<TowerApp>();
}

#[test]
fn save_failures_log_once_per_kind_on_actix() {
    one_event_per_kind::<ActixApp>();
}

/// Errors a handler returns (`?` on a failed load, through axum's
/// `IntoResponse`): one event for a run of the same kind, every response an
/// empty 503. The only test in this binary whose handlers return errors (they
/// share one process-wide throttle).
#[tokio::test]
async fn handler_errors_log_once_per_kind() {
    let logs = Logs::default();
    let _guard = tracing::subscriber::set_default(logs.subscriber(tracing::Level::INFO));
    let clock = ManualClock::new(T0);
    let store = Counting::new(MemoryStore::new());
    let manager = SessionManager::with_shared_store(
        builder(&clock).cookie_only_threshold(0).build().unwrap(),
        store.clone(),
    );
    let app = app(manager);
    let mut jar = Jar::default();
    jar.send(&app, "POST", "/set/user/hunter2-data").await;
    store.fail.store(true, std::sync::atomic::Ordering::SeqCst);
    for _ in 0..N {
        let r = jar.send(&app, "GET", "/get/user").await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.body.is_empty());
    }
    let text = logs.text();
    let events = text.lines().filter(|l| l.contains("session error")).count();
    assert_eq!(events, 1, "one event for {N} failures:\n{text}");
    assert!(!text.contains(&jar.value("session")) && !text.contains("hunter2-data"));
}
