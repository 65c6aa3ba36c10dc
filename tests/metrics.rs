//! The `metrics` feature and the `tracing` spans, through the HTTP layer: the
//! counters and the store-call histograms a Prometheus recorder sees after
//! real requests, with their labels, ok and failed; and the spans' fields,
//! which never name a session.
//!
//! Each case runs on the memory driver (a memory cache in front of a memory
//! durable tier) and on Redis as the whole store (`TS_REDIS_URL`; ignored
//! with the reason when it is not set, a failure under `CI=true`), with a
//! recorder of its own (`metrics::with_local_recorder`, no global state);
//! the tower layer's cases on a Tokio runtime, the actix-web middleware's in
//! an actix `System`.
#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Service;
use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, test, web};
use axum::Router;
use common::{Jar, T0, app, builder, capture_all_spans};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tiered_sessions::actix::SessionMiddleware;
use tiered_sessions::{
    ManualClock, Metrics, MetricsSnapshot, Session, SessionId, SessionManager, SessionStore,
    TieredStore,
};
use tiered_sessions_conformance::faults::{Faults, FaultyCache, FaultyDurable};
use tiered_sessions_conformance::kit::{endpoint, missing, unique};
use tiered_sessions_conformance::libtest_mimic::{Arguments, Completion, Failed, Trial, run};
use tiered_sessions_memory::{MemoryCache, MemoryStore};
use tiered_sessions_redis::RedisStore;

const HISTOGRAM: &str = "tiered_sessions_store_call_duration_seconds";

/// A store under the layer, with its faults at hand.
struct Fixture {
    app: Router,
    manager: SessionManager,
    /// The cache tier's faults (the memory driver only).
    cache: Option<Faults>,
    /// The durable tier's faults (memory), or the whole store's (Redis).
    durable: Faults,
    /// What the recorder saw, in the Prometheus text format.
    recorder: PrometheusHandle,
}

#[derive(Clone, Copy)]
enum Backend {
    Memory,
    Redis,
}

impl Fixture {
    /// Built on the case's runtime: a Redis client's tasks live there.
    fn new(backend: Backend, recorder: PrometheusHandle) -> Fixture {
        let clock = ManualClock::new(T0);
        let metrics = Arc::new(Metrics::default());
        let (store, cache, durable): (Arc<dyn SessionStore>, _, _) = match backend {
            Backend::Memory => {
                let cache = FaultyCache::new(MemoryCache::new());
                let durable = FaultyDurable::new(MemoryStore::new());
                let faults = (cache.faults().clone(), durable.faults().clone());
                let tiered = TieredStore::new(cache, durable)
                    .with_cache_timeout(Duration::from_millis(100))
                    .with_metrics(metrics.clone());
                (Arc::new(tiered), Some(faults.0), faults.1)
            }
            Backend::Redis => {
                let url = std::env::var("TS_REDIS_URL").unwrap_or_default();
                let redis = RedisStore::standalone(url)
                    .key_prefix(format!("{}:", unique("metrics")))
                    .call_timeout(Duration::from_secs(5))
                    .build_store()
                    .expect("valid Redis settings");
                let store = FaultyDurable::new(redis);
                let faults = store.faults().clone();
                (Arc::new(store), None, faults)
            }
        };
        // Sessions above 64 bytes of data go to the store.
        let config = builder(&clock).cookie_only_threshold(64).build().unwrap();
        let manager = SessionManager::with_shared_store(config, store).with_metrics(metrics);
        Fixture {
            app: app(manager.clone()),
            manager,
            cache,
            durable,
            recorder,
        }
    }

    /// What the recorder holds, line by line in a stable order.
    fn rendered_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.recorder.render().lines().map(str::to_owned).collect();
        lines.sort();
        lines
    }

    fn tiered(&self) -> bool {
        self.cache.is_some()
    }

    /// How many store calls the recorder timed with these labels (the
    /// histogram's `_count`, summed over the series that carry them all).
    fn calls(&self, labels: &[(&str, &str)]) -> u64 {
        samples(
            &self.recorder.render(),
            &format!("{HISTOGRAM}_count"),
            labels,
        ) as u64
    }

    /// The value of the counter `tiered_sessions_{name}_total` (0 if never
    /// emitted).
    fn counter(&self, name: &str) -> u64 {
        let text = self.recorder.render();
        samples(&text, &format!("tiered_sessions_{name}_total"), &[]) as u64
    }

    /// Every counter the recorder holds equals the in-house snapshot's.
    fn assert_counters_match_snapshot(&self) {
        let s: MetricsSnapshot = self.manager.metrics().snapshot();
        let expected = [
            ("cookie_loads", s.cookie_loads),
            ("store_loads", s.store_loads),
            ("rejected_cookies", s.rejected_cookies),
            ("cache_hits", s.cache_hits),
            ("cache_misses", s.cache_misses),
            ("cache_errors", s.cache_errors),
            ("cache_circuit_opens", s.cache_circuit_opens),
            ("cache_calls_skipped", s.cache_calls_skipped),
            ("writes_refused_cache_outage", s.writes_refused_cache_outage),
            ("durable_reads", s.durable_reads),
            ("durable_writes", s.durable_writes),
            ("quick_writes", s.quick_writes),
            ("conflicts", s.conflicts),
            ("save_failures", s.save_failures),
        ];
        for (name, value) in expected {
            assert_eq!(self.counter(name), value, "counter {name}");
        }
    }
}

/// The sum of the samples named `name` whose labels include all of `labels`.
fn samples(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            let all = labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            (metric == name && all).then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

type Case = fn(Fixture) -> Pin<Box<dyn Future<Output = ()>>>;

/// Where a case runs: a Tokio runtime (the tower layer) or an actix `System`.
#[derive(Clone, Copy)]
enum On {
    Tokio,
    Actix,
}

/// Run `case` on a current-thread runtime under a recorder of its own: every
/// task of the case runs on this thread, where the local recorder is.
fn run_case(backend: Backend, on: On, case: Case) -> Result<Completion, Failed> {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let body = async move { case(Fixture::new(backend, handle)).await };
    metrics::with_local_recorder(&recorder, || {
        Metrics::describe();
        match on {
            On::Tokio => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Failed::from(format!("tokio runtime: {e}")))
                .map(|rt| rt.block_on(body)),
            On::Actix => {
                actix_web::rt::System::new().block_on(body);
                Ok(())
            }
        }
    })?;
    Ok(Completion::Completed)
}

async fn store_calls_and_counters_follow_real_requests(f: Fixture) {
    let app = &f.app;
    let mut jar = Jar::default();
    assert_eq!(jar.send(app, "POST", "/big/2000").await.status, 200);
    assert_eq!(jar.send(app, "GET", "/get/big").await.status, 200);
    assert_eq!(jar.send(app, "POST", "/set/cart/1").await.status, 200);
    // An untouched session: no store call, no counter.
    let before = f.rendered_lines();
    assert_eq!(jar.send(app, "GET", "/noop").await.status, 200);
    assert_eq!(f.rendered_lines(), before, "an untouched session recorded");
    assert_eq!(jar.send(app, "POST", "/terminate").await.status, 200);

    let store = |op: &'static str| [("tier", "store"), ("operation", op), ("outcome", "ok")];
    assert_eq!(f.calls(&store("create")), 1);
    assert_eq!(
        f.calls(&store("load")),
        3,
        "one load per request after the first"
    );
    assert_eq!(f.calls(&store("save")), 1);
    assert_eq!(f.calls(&store("delete")), 1);
    assert_eq!(f.calls(&[("outcome", "unavailable")]), 0);
    let text = f.recorder.render();
    let sum = samples(&text, &format!("{HISTOGRAM}_sum"), &store("load"));
    assert!(sum > 0.0 && sum < 60.0, "seconds, not another unit: {sum}");
    assert!(
        text.contains(&format!("# TYPE {HISTOGRAM} summary")),
        "{text}"
    );
    assert!(
        text.contains("# HELP tiered_sessions_store_loads_total Sessions read from the store.")
    );
    if f.tiered() {
        let tier = |t, op| [("tier", t), ("operation", op), ("outcome", "ok")];
        assert_eq!(f.calls(&tier("durable", "create")), 1);
        assert_eq!(f.calls(&tier("durable", "save")), 1);
        assert_eq!(f.calls(&tier("durable", "delete")), 1);
        assert!(f.calls(&tier("cache", "get")) >= 3);
        assert!(f.calls(&tier("cache", "invalidate")) >= 1);
        assert!(f.counter("cache_hits") >= 3);
    }
    assert_eq!(f.counter("store_loads"), 3);
    f.assert_counters_match_snapshot();
}

async fn a_failing_store_is_an_error_outcome(f: Fixture) {
    let app = &f.app;
    let mut jar = Jar::default();
    assert_eq!(jar.send(app, "POST", "/big/2000").await.status, 200);
    f.durable.set_fail_writes(true);
    // The durable tier (or the whole store) refuses writes: the save fails
    // with a retryable error, an empty 503.
    assert_eq!(jar.send(app, "POST", "/big/3000").await.status, 503);
    f.durable.heal();

    let failed = |tier| [("tier", tier), ("outcome", "unavailable")];
    assert_eq!(f.calls(&failed("store")), 1);
    if f.tiered() {
        assert_eq!(f.calls(&failed("durable")), 1);
        assert_eq!(f.calls(&[("tier", "durable"), ("operation", "save")]), 1);
    }
    assert_eq!(f.counter("save_failures"), 1);
    f.assert_counters_match_snapshot();
}

/// Memory only: a cache call past the tiered store's deadline.
async fn a_cache_past_its_deadline_is_a_timeout_outcome(f: Fixture) {
    let cache = f.cache.clone().unwrap();
    cache.set_latency(Duration::from_millis(300));
    let mut jar = Jar::default();
    // The durable create succeeds; the cache refill and the eviction after
    // it pass the deadline, and the request still succeeds.
    assert_eq!(jar.send(&f.app, "POST", "/big/2000").await.status, 200);
    cache.heal();
    let timeout = |op| [("tier", "cache"), ("operation", op), ("outcome", "timeout")];
    assert_eq!(f.calls(&timeout("put")), 1);
    assert_eq!(f.calls(&timeout("evict")), 1);
    assert_eq!(f.counter("cache_errors"), 2);
    f.assert_counters_match_snapshot();
}

async fn spans_carry_tier_operation_outcome_and_duration_never_the_session(f: Fixture) {
    let logs = capture_all_spans(tracing::Level::DEBUG);
    let app = &f.app;
    let mut jar = Jar::default();
    let secret = "s3cr3t-value-in-the-session";
    jar.send(
        app,
        "POST",
        &format!("/set/secret/{secret}{}", "x".repeat(80)),
    )
    .await;
    let id = SessionId::parse(&jar.send(app, "GET", "/id").await.body).unwrap();
    jar.send(app, "GET", "/get/secret").await;
    f.durable.set_fail_writes(true);
    assert_eq!(jar.send(app, "POST", "/set/other/1").await.status, 503);
    f.durable.heal();

    let text = logs.text();
    let closed = |name: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.contains(" close ") && l.contains(&format!("{name}{{")))
            .map(str::to_owned)
            .collect()
    };
    let stores = closed("session.store");
    let requests = closed("session.request");
    for line in &stores {
        for field in ["tier=", "operation=", "outcome=", "duration_ms="] {
            assert!(line.contains(field), "{field} missing: {line}");
        }
    }
    assert!(
        stores
            .iter()
            .any(|l| l.contains("tier=\"store\" operation=\"load\" outcome=\"ok\"")),
        "no store load span: {stores:?}"
    );
    assert!(
        stores
            .iter()
            .any(|l| l.contains("tier=\"store\" operation=\"save\" outcome=\"unavailable\"")),
        "no failed store save span: {stores:?}"
    );
    assert!(
        requests
            .iter()
            .any(|l| l.contains("outcome=\"unavailable\" status=503 duration_ms=")),
        "no failed request span: {requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|l| l.contains("outcome=\"ok\" status=200 duration_ms=")),
        "no request span: {requests:?}"
    );
    // The store calls run inside the request's span.
    assert!(
        stores
            .iter()
            .any(|l| l.contains("session.request:session.load:session.store{")),
        "store spans are not children of the request span: {stores:?}"
    );
    let hex: String = id.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let key = f.manager.store_key(&id);
    let cookie = jar.value("session");
    for needle in [
        id.to_text(),
        hex,
        key.as_str().to_owned(),
        cookie[..40].to_owned(),
    ] {
        assert!(
            !text.contains(&needle),
            "a session id, key or cookie in the spans"
        );
    }
    assert!(!text.contains(secret), "session data in the spans");
}

/// The actix-web middleware: its requests run in `session.request` spans
/// (the store calls inside them), and are timed and counted like the layer's.
async fn actix_requests_are_spanned_timed_and_counted(f: Fixture) {
    let logs = capture_all_spans(tracing::Level::DEBUG);
    // 201 marks this case's requests among the spans of every case.
    let app = test::init_service(
        App::new()
            .wrap(SessionMiddleware::new(f.manager.clone()))
            .route(
                "/spill",
                web::post().to(|s: Session| async move {
                    s.insert("big", &"x".repeat(200)).await?;
                    Ok::<_, tiered_sessions::Error>(HttpResponse::Created().finish())
                }),
            )
            .route(
                "/read",
                web::get().to(|s: Session| async move {
                    let found = s.get::<String>("big").await?.is_some();
                    let status = if found {
                        StatusCode::CREATED
                    } else {
                        StatusCode::NOT_FOUND
                    };
                    Ok::<_, tiered_sessions::Error>(HttpResponse::new(status))
                }),
            ),
    )
    .await;
    let mut jar = Jar::default();
    for (method, path) in [("POST", "/spill"), ("GET", "/read")] {
        let mut req = test::TestRequest::default()
            .method(method.parse().unwrap())
            .uri(path);
        if let Some(cookie) = jar.header() {
            req = req.insert_header(("cookie", cookie));
        }
        let res = app.call(req.to_request()).await.unwrap();
        assert_eq!(res.status(), 201, "{method} {path}");
        let set_cookie: Vec<String> = res
            .headers()
            .get_all("set-cookie")
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        jar.absorb(&set_cookie);
    }

    let ok = |op| [("tier", "store"), ("operation", op), ("outcome", "ok")];
    assert_eq!(f.calls(&ok("create")), 1);
    assert_eq!(f.calls(&ok("load")), 1);
    assert_eq!(f.counter("store_loads"), 1);
    f.assert_counters_match_snapshot();
    let text = logs.text();
    let ours: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.contains(" close ") && l.contains("session.request{outcome=\"ok\" status=201")
        })
        .collect();
    // Both requests of this case (and those of the other backend's run).
    assert!(
        ours.len() >= 2,
        "no request span per actix request: {ours:?}"
    );
    assert!(ours.iter().all(|l| l.contains("duration_ms=")), "{ours:?}");
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        &[$((stringify!($name), |f: Fixture| Box::pin($name(f)) as _)),*]
    };
}

const CASES: &[(&str, Case)] = cases![
    store_calls_and_counters_follow_real_requests,
    a_failing_store_is_an_error_outcome,
    spans_carry_tier_operation_outcome_and_duration_never_the_session,
];

const MEMORY_ONLY: &[(&str, Case)] = cases![a_cache_past_its_deadline_is_a_timeout_outcome];

const ACTIX: &[(&str, Case)] = cases![actix_requests_are_spanned_timed_and_counted];

fn main() {
    let args = Arguments::from_args();
    let mut tests = Vec::new();
    let tower = CASES.iter().map(|c| (c, On::Tokio));
    let actix = ACTIX.iter().map(|c| (c, On::Actix));
    let memory_only = MEMORY_ONLY.iter().map(|c| (c, On::Tokio));
    for (&(name, case), on) in tower.clone().chain(actix.clone()).chain(memory_only) {
        tests.push(Trial::ignorable_test(
            format!("memory::{name}"),
            move || run_case(Backend::Memory, on, case),
        ));
    }
    for (&(name, case), on) in tower.chain(actix) {
        let redis = endpoint("TS_REDIS_URL");
        tests.push(Trial::ignorable_test(
            format!("redis::{name}"),
            move || match redis {
                Ok(_) => run_case(Backend::Redis, on, case),
                Err(reason) => missing(reason),
            },
        ));
    }
    run(&args, tests).exit();
}
