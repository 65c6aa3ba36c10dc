//! One configuration's run: an axum app behind the session layer, called
//! in-process (`tower::ServiceExt::oneshot`, no sockets) by `concurrency`
//! browsers, each with its own cookie jar and one request in flight.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::header::COOKIE;
use axum::http::{Method, Request};
use axum::routing::{get, post};
use hdrhistogram::Histogram;
use tiered_sessions::{Result, Session, SessionLayer, SessionManager};
use tiered_sessions_conformance::kit::Jar;
use tower::ServiceExt;

use super::matrix::{Mix, Stop};

/// The session key holding the payload that sets the session's size.
const BLOB: &str = "blob";
/// The session key of the durable counter.
const COUNTER: &str = "n";
/// The session key of the quick (cache-only) value.
const SEEN: &str = "seen";
/// The largest response body read back.
const BODY_LIMIT: usize = 1 << 20;

/// The routes the browsers call, behind a session layer over `manager`.
/// `POST /new` fills a new session with `size` bytes.
pub fn app(manager: SessionManager, size: usize) -> Router {
    let blob: Arc<str> = "x".repeat(size).into();
    Router::new()
        .route(
            "/new",
            post(move |s: Session| {
                let blob = blob.clone();
                async move { fill(s, &blob).await }
            }),
        )
        .route("/read", get(read))
        .route("/write", post(write))
        .route("/quick", post(quick))
        .route("/logout", post(logout))
        .layer(SessionLayer::new(manager))
}

async fn fill(session: Session, blob: &str) -> Result<&'static str> {
    session.insert(BLOB, blob).await?;
    session.insert(COUNTER, &0u64).await?;
    Ok("ok")
}

async fn read(session: Session) -> Result<String> {
    let blob = session.get::<String>(BLOB).await?;
    Ok(blob.map_or(0, |b| b.len()).to_string())
}

async fn write(session: Session) -> Result<&'static str> {
    let n = session.get::<u64>(COUNTER).await?.unwrap_or(0);
    session.insert(COUNTER, &(n + 1)).await?;
    Ok("ok")
}

async fn quick(session: Session) -> Result<&'static str> {
    let n = session.get::<u64>(SEEN).await?.unwrap_or(0);
    session.insert_quick(SEEN, &(n + 1)).await?;
    Ok("ok")
}

async fn logout(session: Session) -> Result<&'static str> {
    session.terminate().await?;
    Ok("bye")
}

/// One browser: its jar, and what its requests measured.
struct Browser {
    jar: Jar,
    rng: fastrand::Rng,
}

/// What a request's answer was, when it was not a success.
type Failure = String;

impl Browser {
    async fn send(&mut self, app: &Router, method: Method, path: &str) -> (usize, Option<Failure>) {
        let cookie = self.jar.header();
        let cookie_bytes = cookie.as_ref().map_or(0, String::len);
        let mut req = Request::builder().method(method.clone()).uri(path);
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        let req = match req.body(Body::empty()) {
            Ok(r) => r,
            Err(e) => return (cookie_bytes, Some(format!("bad request: {e}"))),
        };
        let res = match app.clone().oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        self.jar.update_from_headers(res.headers());
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), BODY_LIMIT).await;
        if !status.is_success() {
            let text = body
                .map(|b| {
                    String::from_utf8_lossy(&b)
                        .chars()
                        .take(200)
                        .collect::<String>()
                })
                .unwrap_or_default();
            return (
                cookie_bytes,
                Some(format!("{method} {path}: {status} {text}")),
            );
        }
        (cookie_bytes, None)
    }
}

/// What all the browsers of one run measured.
#[derive(Debug)]
pub struct Measured {
    /// Request latencies, microseconds.
    pub latency_us: Histogram<u64>,
    /// Requests sent in the measured window.
    pub requests: u64,
    /// Requests that failed (a non-2xx answer).
    pub errors: u64,
    /// The first failure, as an example.
    pub first_error: Option<String>,
    /// The measured window.
    pub elapsed: Duration,
    /// Bytes of `Cookie` header sent, summed over requests.
    pub cookie_bytes_sum: u64,
    /// The largest `Cookie` header sent.
    pub cookie_bytes_max: u64,
}

impl Measured {
    fn empty() -> Self {
        Measured {
            // 1 µs to 10 minutes at 3 significant digits; values above saturate.
            latency_us: Histogram::new_with_bounds(1, 600_000_000, 3)
                .expect("constant, valid bounds"),
            requests: 0,
            errors: 0,
            first_error: None,
            elapsed: Duration::ZERO,
            cookie_bytes_sum: 0,
            cookie_bytes_max: 0,
        }
    }
}

/// Browsers with a session each, ready to run (their setup requests not measured).
pub struct Prepared {
    browsers: Vec<Browser>,
}

/// Give each of `concurrency` browsers a session (`POST /new`), unmeasured.
///
/// # Errors
/// The first setup request that failed (a session too large for the
/// cookies, a store that refuses it, a service down).
pub async fn prepare(
    app: &Router,
    concurrency: usize,
    seed: u64,
) -> std::result::Result<Prepared, String> {
    let mut browsers = Vec::with_capacity(concurrency);
    for i in 0..concurrency {
        let mut b = Browser {
            jar: Jar::new(),
            rng: fastrand::Rng::with_seed(seed.wrapping_add(i as u64)),
        };
        if let (_, Some(e)) = b.send(app, Method::POST, "/new").await {
            return Err(e);
        }
        browsers.push(b);
    }
    Ok(Prepared { browsers })
}

/// Run the browsers of `prepared` against `app` until `stop`, `mix` deciding
/// each request; `tick` is called after every request (for a progress bar).
pub async fn run(
    app: &Router,
    prepared: Prepared,
    mix: Mix,
    stop: Stop,
    tick: Arc<dyn Fn() + Send + Sync>,
) -> (Measured, Vec<Jar>) {
    let issued = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = match stop {
        Stop::After(d) => Some(start + d),
        Stop::Requests(_) => None,
    };
    let limit = match stop {
        Stop::Requests(n) => n,
        Stop::After(_) => u64::MAX,
    };
    let mut tasks = Vec::new();
    for mut browser in prepared.browsers {
        let app = app.clone();
        let issued = issued.clone();
        let tick = tick.clone();
        tasks.push(tokio::spawn(async move {
            let mut m = Measured::empty();
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d)
                    || issued.fetch_add(1, Ordering::Relaxed) >= limit
                {
                    break;
                }
                let roll = browser.rng.u8(0..100);
                let (method, path) = if roll < mix.new {
                    // A new browser: no cookie, a new session.
                    browser.jar = Jar::new();
                    (Method::POST, "/new")
                } else if roll < mix.new + mix.write {
                    (Method::POST, "/write")
                } else if roll < mix.new + mix.write + mix.quick {
                    (Method::POST, "/quick")
                } else {
                    (Method::GET, "/read")
                };
                let t = Instant::now();
                let (cookie_bytes, failure) = browser.send(&app, method, path).await;
                let us = u64::try_from(t.elapsed().as_micros())
                    .unwrap_or(u64::MAX)
                    .max(1);
                m.latency_us.saturating_record(us);
                m.requests += 1;
                m.cookie_bytes_sum += cookie_bytes as u64;
                m.cookie_bytes_max = m.cookie_bytes_max.max(cookie_bytes as u64);
                if let Some(f) = failure {
                    m.errors += 1;
                    m.first_error.get_or_insert(f);
                }
                tick();
            }
            (m, browser.jar)
        }));
    }
    let mut total = Measured::empty();
    let mut jars = Vec::new();
    for task in tasks {
        match task.await {
            Ok((m, jar)) => {
                // Same bounds on both sides: adding cannot fail.
                let _ = total.latency_us.add(&m.latency_us);
                total.requests += m.requests;
                total.errors += m.errors;
                if total.first_error.is_none() {
                    total.first_error = m.first_error;
                }
                total.cookie_bytes_sum += m.cookie_bytes_sum;
                total.cookie_bytes_max = total.cookie_bytes_max.max(m.cookie_bytes_max);
                jars.push(jar);
            }
            Err(e) => {
                total.errors += 1;
                total
                    .first_error
                    .get_or_insert(format!("a browser task failed: {e}"));
            }
        }
    }
    total.elapsed = start.elapsed();
    (total, jars)
}

/// End the browsers' sessions (`POST /logout`), unmeasured, so the run
/// leaves no records behind but those of abandoned sessions (the `new`
/// share), which expire.
pub async fn log_out(app: &Router, jars: Vec<Jar>) {
    for jar in jars {
        let mut b = Browser {
            jar,
            rng: fastrand::Rng::with_seed(0),
        };
        let _ = b.send(app, Method::POST, "/logout").await;
    }
}
