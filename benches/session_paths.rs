//! Cookie-only path vs storage path (memory driver), against the same router
//! without the session layer as the baseline, all in one run.
//!
//! `cargo bench --bench session_paths`; compare each `layer/*` figure with
//! `baseline/*` in the same group (`new_session` fills ~1 KiB,
//! `new_session_small` one value). The `cookie_header` group reads a session
//! through a valid cookie and through hostile `Cookie` headers (64 KiB of
//! copies of the name, 500 random pairs): the work per request stays bounded.
//! The `in_flight_x64` group runs 64 requests at once on 64 sessions (each its
//! own ~1 KiB session, `join_all` on one current-thread runtime), read and
//! write, no layer, cookie-only and memory store: the time is per batch of 64 (the
//! Redis figures of the same load are in `drivers/redis/benches/redis_paths.rs`).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request};
use axum::routing::{get, post};
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::future::join_all;
use tiered_sessions::{Session, SessionConfig, SessionLayer, SessionManager};
use tiered_sessions_memory::MemoryStore;
use tower::ServiceExt;

/// About 1 KiB of encoded session data: a user, a role, 14 short preferences.
async fn fill(session: Session) -> &'static str {
    session.insert("user", "alice@example.com").await.ok();
    session.insert("role", "admin").await.ok();
    for i in 0..14 {
        session
            .insert(&format!("pref{i:02}"), &"v".repeat(56))
            .await
            .ok();
    }
    "ok"
}

async fn read(session: Session) -> String {
    session
        .get::<String>("user")
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

async fn write(session: Session) -> &'static str {
    session.insert("role", "editor").await.ok();
    "ok"
}

/// A new session holding one small value (as the anchorbench `new` case).
async fn new_small(session: Session) -> &'static str {
    session.insert("n", &42u64).await.ok();
    "ok"
}

fn routes() -> Router {
    Router::new()
        .route("/fill", post(fill))
        .route("/read", get(read))
        .route("/write", post(write))
        .route("/new", post(new_small))
        .route("/noop", get(|| async { "ok" }))
}

fn baseline_routes() -> Router {
    Router::new()
        .route("/fill", post(|| async { "ok" }))
        .route("/read", get(|| async { String::from("alice@example.com") }))
        .route("/write", post(|| async { "ok" }))
        .route("/new", post(|| async { "ok" }))
        .route("/noop", get(|| async { "ok" }))
}

fn manager(threshold: usize) -> SessionManager {
    let config = SessionConfig::builder([[0x5au8; 32]])
        .cookie_only_threshold(threshold)
        .build()
        .expect("valid config");
    SessionManager::with_shared_store(config, Arc::new(MemoryStore::new()))
}

/// Cookie values are shared, not copied, as hyper hands them out (slices of
/// its read buffer): cloning one is a reference-count increment.
fn request(method: &str, uri: &str, cookie: Option<&HeaderValue>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(c) = cookie {
        b = b.header("cookie", c.clone());
    }
    b.body(Body::empty()).expect("valid request")
}

fn shared_value(value: String) -> HeaderValue {
    HeaderValue::from_maybe_shared(Bytes::from(value)).expect("valid header")
}

async fn call(app: &Router, req: Request<Body>) -> Vec<String> {
    let res = app.clone().oneshot(req).await.expect("infallible");
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .collect()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let baseline = baseline_routes();
    let cookie_app = routes().layer(SessionLayer::new(manager(4096)));
    let store_app = routes().layer(SessionLayer::new(manager(0)));
    let cookie_jar = rt
        .block_on(call(&cookie_app, request("POST", "/fill", None)))
        .join("; ");
    let store_jar = rt
        .block_on(call(&store_app, request("POST", "/fill", None)))
        .join("; ");
    assert!(cookie_jar.len() > 1300, "a ~1 KiB session in the cookie");
    let cookie_jar = shared_value(cookie_jar);
    let store_jar = shared_value(store_jar);

    for (name, method, uri, jars) in [
        ("untouched", "GET", "/noop", true),
        ("read", "GET", "/read", true),
        ("write", "POST", "/write", true),
        ("new_session", "POST", "/fill", false),
        ("new_session_small", "POST", "/new", false),
    ] {
        let mut g = c.benchmark_group(name);
        let cookie = jars.then_some(&cookie_jar);
        let stored = jars.then_some(&store_jar);
        g.bench_function("baseline", |b| {
            b.to_async(&rt)
                .iter(|| async { black_box(call(&baseline, request(method, uri, cookie)).await) })
        });
        g.bench_function("layer/cookie", |b| {
            b.to_async(&rt)
                .iter(|| async { black_box(call(&cookie_app, request(method, uri, cookie)).await) })
        });
        if jars {
            g.bench_function("layer/store", |b| {
                b.to_async(&rt).iter(|| async {
                    black_box(call(&store_app, request(method, uri, stored)).await)
                })
            });
        } else {
            // New sessions go to a fresh store per sample: one store filled by
            // every iteration would soon be full, and measure its eviction.
            g.bench_function("layer/store", |b| {
                b.to_async(&rt).iter_custom(|iters| async move {
                    let app = routes().layer(SessionLayer::new(manager(0)));
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(call(&app, request(method, uri, None)).await);
                    }
                    start.elapsed()
                })
            });
        }
        g.finish();
    }

    in_flight(c, &rt);

    // Hostile `Cookie` headers against a valid one, with a subscriber that
    // formats every event (into a sink), so log cost counts too.
    let _logs = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_writer(std::io::sink)
            .with_max_level(tracing::Level::WARN)
            .finish(),
    );
    let flood = shared_value("session=AA; ".repeat(5_460));
    let random: String = (0..500u32)
        .map(|i| {
            let name = ["session.0", "session.1", "session"][i as usize % 3];
            format!(
                "{name}=QUJD{:08x}eHl6cXdlcnR5; ",
                i.wrapping_mul(2_654_435_761)
            )
        })
        .collect();
    let random = shared_value(random);
    let mut g = c.benchmark_group("cookie_header");
    for (name, header) in [
        ("valid_1kib", &cookie_jar),
        ("flood_64kib", &flood),
        ("random_500_pairs", &random),
    ] {
        g.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async {
                black_box(call(&cookie_app, request("GET", "/read", Some(header))).await)
            })
        });
    }
    g.finish();
}

/// Requests in flight at once, each on its own session.
const FANOUT: usize = 64;

/// `FANOUT` reads or writes in flight on `FANOUT` sessions, per batch.
fn in_flight(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let mut g = c.benchmark_group("in_flight_x64");
    for (name, threshold) in [
        ("baseline", None),
        ("cookie", Some(4096)),
        ("store", Some(0)),
    ] {
        let app = match threshold {
            Some(t) => routes().layer(SessionLayer::new(manager(t))),
            None => baseline_routes(),
        };
        let jars: Vec<HeaderValue> = rt
            .block_on(join_all(
                (0..FANOUT).map(|_| call(&app, request("POST", "/fill", None))),
            ))
            .into_iter()
            .map(|jar| shared_value(jar.join("; ")))
            .collect();
        for (path, method) in [("read", "GET"), ("write", "POST")] {
            let uri = format!("/{path}");
            g.bench_function(format!("{name}/{path}_x64"), |b| {
                b.to_async(rt).iter(|| {
                    join_all(
                        jars.iter()
                            .map(|jar| call(&app, request(method, &uri, Some(jar)))),
                    )
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
