//! One request at a time through actix-web 4 (`test::init_service` +
//! `call_service`, on an actix `System`), on the same ~1 KiB session:
//!
//! - `tiered_sessions`: our `SessionMiddleware`, with the session in the
//!   signed cookie (`cookie/…`) and in `RedisStore` (`redis/…`, every session
//!   stored);
//! - `actix_session`: actix-session 0.11's `SessionMiddleware` over
//!   `CookieSessionStore` with signed cookies (`cookie_signed/…`) and over
//!   `RedisSessionStore` (`redis/…`);
//!
//! each group with its own `no_session` baseline (the same routes, no
//! middleware), so `case − no_session` is what the session layer adds.
//! `read` reads one key, `write` overwrites one, `new` starts a session,
//! `read_rolling` is `read` with a 1 h idle expiry that actix-session extends
//! on every request (ours refreshes it at most once per touch interval).
//!
//! Redis: `TS_BENCH_REDIS_URL` (a Redis of the bench's own: actix-session
//! writes unprefixed keys); without it the Redis cases are skipped with a
//! message. Pin the bench and the redis-server to one
//! CPU (see the README beside this crate).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashMap;
use std::future::Future;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header;
use actix_web::{App, HttpResponse, test, web};
use criterion::async_executor::AsyncExecutor;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use tiered_sessions_conformance::bench::PairedNanos;

const READ_KEY: &str = "user_id";
const WRITE_KEY: &str = "last_seen";
const NEW_KEY: &str = "user_id";

/// A typical logged-in web session: 10 entries, ~1 KiB as JSON (the
/// anchorbench fixture).
fn session_map() -> HashMap<String, Value> {
    let v = json!({
        "user_id": 48_213_977u64,
        "username": "alice.liddell",
        "display_name": "Alice Pleasance Liddell",
        "email": "alice.liddell@wonderland.example",
        "roles": ["customer", "beta-tester", "newsletter", "support-tier-2"],
        "csrf_token": "q7Yc0mJ3vTz9WfA2pLk8sXn4dRb6hGe1uVo5iCy0tMw",
        "cart": {
            "currency": "EUR",
            "coupon": null,
            "items": [
                { "sku": "BK-0451-HC", "title": "Through the Looking-Glass (hardcover)", "qty": 1, "unit_price_cents": 2499 },
                { "sku": "TEA-EARL-250", "title": "Earl Grey loose leaf tea, 250 g", "qty": 2, "unit_price_cents": 1150 },
                { "sku": "MUG-HATTER-L", "title": "Mad Hatter mug, large", "qty": 1, "unit_price_cents": 1899 },
                { "sku": "CARD-RED-QUEEN", "title": "Playing cards: Red Queen edition", "qty": 3, "unit_price_cents": 799 },
                { "sku": "CLK-RABBIT-PKT", "title": "White Rabbit pocket watch (replica)", "qty": 1, "unit_price_cents": 3450 },
                { "sku": "MAP-WONDER-A2", "title": "Map of Wonderland, A2 poster", "qty": 1, "unit_price_cents": 1275 }
            ]
        },
        "created_at": 1_767_225_600u64,
        "last_seen": 1_767_229_213u64,
        "prefs": { "locale": "en-GB", "tz": "Europe/London", "theme": "dark", "marketing_opt_in": false, "page_size": 50 }
    });
    serde_json::from_value(v).unwrap()
}

/// A new value for every `write`, so each one really changes the session.
fn next_counter() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(1_767_229_214);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

fn redis_url() -> Option<String> {
    std::env::var("TS_BENCH_REDIS_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// Criterion's async bencher on an actix `System` (actix services are `!Send`).
struct ActixRt(actix_web::rt::SystemRunner);

impl AsyncExecutor for &ActixRt {
    fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        self.0.block_on(future)
    }
}

fn configure(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
}

fn request(path: &str, cookie: Option<&str>) -> actix_http::Request {
    let mut req = test::TestRequest::get().uri(path);
    if let Some(c) = cookie {
        req = req.insert_header((header::COOKIE, c));
    }
    req.to_request()
}

async fn call<S, B>(app: &S, path: &str, cookie: Option<&str>) -> ServiceResponse<B>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let res = test::call_service(app, request(path, cookie)).await;
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res
}

/// Every `name=value` of a response's `Set-Cookie`s, as one `Cookie` header.
fn cookie_header<B>(res: &ServiceResponse<B>) -> String {
    let pairs: Vec<String> = res
        .headers()
        .get_all(header::SET_COOKIE)
        .map(|v| {
            let v = v.to_str().unwrap();
            v.split(';').next().unwrap().trim().to_owned()
        })
        .collect();
    assert!(!pairs.is_empty(), "the priming request set no cookie");
    pairs.join("; ")
}

async fn plain() -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// The `no_session` baseline: the same routes and request, no middleware.
fn baseline(g: &mut BenchmarkGroup<'_, WallTime>, rt: &ActixRt) {
    let app = ["/init", "/read", "/write", "/new", "/untouched"]
        .into_iter()
        .fold(App::new(), |app, p| app.route(p, web::get().to(plain)));
    let app = rt.0.block_on(test::init_service(app));
    g.bench_function("no_session", |b| {
        b.to_async(rt).iter(|| call(&app, "/read", Some("id=x")))
    });
}

/// Prime a session on `app`, then bench each `(case, path, with_cookie)`.
fn cases<S, B>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    rt: &ActixRt,
    store: &str,
    app: &S,
    list: &[(&str, &str, bool)],
) where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let cookie = cookie_header(&rt.0.block_on(call(app, "/init", None)));
    for &(case, path, with_cookie) in list {
        let cookie = with_cookie.then_some(cookie.as_str());
        g.bench_function(format!("{store}/{case}"), |b| {
            b.to_async(rt).iter(|| call(app, path, cookie))
        });
    }
}

/// The bench's routes over the middleware `$mw`, to the handlers (`init`,
/// `read`, `write`, `new`) of the module it is used in.
macro_rules! routes {
    ($mw:expr) => {
        App::new()
            .wrap($mw)
            .route("/init", web::get().to(init))
            .route("/read", web::get().to(read))
            .route("/write", web::get().to(write))
            .route("/new", web::get().to(new))
    };
}

const STANDARD: &[(&str, &str, bool)] = &[
    ("read", "/read", true),
    ("write", "/write", true),
    ("new", "/new", false),
];
const ROLLING: &[(&str, &str, bool)] = &[("read_rolling", "/read", true)];

mod ours {
    use std::sync::Arc;

    use tiered_sessions::actix::SessionMiddleware;
    use tiered_sessions::{Session, SessionConfig, SessionManager};

    use super::*;

    async fn init(session: Session) -> HttpResponse {
        for (k, v) in session_map() {
            session.insert(&k, &v).await.unwrap();
        }
        HttpResponse::Ok().finish()
    }

    async fn read(session: Session) -> HttpResponse {
        match session.get::<u64>(READ_KEY).await.unwrap() {
            Some(v) => {
                black_box(v);
                HttpResponse::Ok().finish()
            }
            None => HttpResponse::NotFound().finish(),
        }
    }

    async fn write(session: Session) -> HttpResponse {
        session.insert(WRITE_KEY, &next_counter()).await.unwrap();
        HttpResponse::Ok().finish()
    }

    async fn new(session: Session) -> HttpResponse {
        session.insert(NEW_KEY, &42u64).await.unwrap();
        HttpResponse::Ok().finish()
    }

    pub(super) fn config(threshold: usize) -> SessionConfig {
        SessionConfig::builder([[0x5au8; 32]])
            .cookie_only_threshold(threshold)
            .idle_timeout(Some(Duration::from_secs(3600)))
            .build()
            .unwrap()
    }

    pub(super) async fn service(
        manager: SessionManager,
    ) -> impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    > {
        let app = routes!(SessionMiddleware::new(manager));
        test::init_service(app.route("/untouched", web::get().to(plain))).await
    }

    pub(super) fn bench(c: &mut Criterion) {
        let rt = ActixRt(actix_web::rt::System::new());
        let mut g = c.benchmark_group("tiered_sessions");
        configure(&mut g);
        baseline(&mut g, &rt);

        // The ~1 KiB session in the signed cookie (no store I/O).
        let cookie_app =
            rt.0.block_on(service(SessionManager::cookie_only(config(4096))));
        let mut list = vec![("untouched", "/untouched", true)];
        list.extend_from_slice(STANDARD);
        list.extend_from_slice(ROLLING);
        cases(&mut g, &rt, "cookie", &cookie_app, &list);

        match redis_url() {
            Some(url) => {
                let store = tiered_sessions_redis::RedisStore::standalone(url)
                    .key_prefix("ts_actix_bench:")
                    .build_store()
                    .unwrap();
                let manager = SessionManager::with_shared_store(config(0), Arc::new(store));
                let redis_app = rt.0.block_on(service(manager));
                let mut list = STANDARD.to_vec();
                list.extend_from_slice(ROLLING);
                cases(&mut g, &rt, "redis", &redis_app, &list);
            }
            None => eprintln!("tiered_sessions: no TS_BENCH_REDIS_URL, Redis cases skipped"),
        }
        g.finish();
    }
}

mod peer {
    use actix_session::config::{
        CookieContentSecurity, PersistentSession, SessionMiddlewareBuilder, TtlExtensionPolicy,
    };
    use actix_session::storage::{CookieSessionStore, RedisSessionStore, SessionStore};
    use actix_session::{Session, SessionMiddleware};
    use actix_web::cookie::Key;

    use super::*;

    async fn init(session: Session) -> HttpResponse {
        for (k, v) in session_map() {
            session.insert(k, v).unwrap();
        }
        HttpResponse::Ok().finish()
    }

    async fn read(session: Session) -> HttpResponse {
        match session.get::<u64>(READ_KEY).unwrap() {
            Some(v) => {
                black_box(v);
                HttpResponse::Ok().finish()
            }
            None => HttpResponse::NotFound().finish(),
        }
    }

    async fn write(session: Session) -> HttpResponse {
        session.insert(WRITE_KEY, next_counter()).unwrap();
        HttpResponse::Ok().finish()
    }

    async fn new(session: Session) -> HttpResponse {
        session.insert(NEW_KEY, 42u64).unwrap();
        HttpResponse::Ok().finish()
    }

    fn rolling<St: SessionStore>(b: SessionMiddlewareBuilder<St>) -> SessionMiddlewareBuilder<St> {
        b.session_lifecycle(
            PersistentSession::default()
                .session_ttl(actix_web::cookie::time::Duration::hours(1))
                .session_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest),
        )
    }

    fn run<St: SessionStore + 'static>(
        g: &mut BenchmarkGroup<'_, WallTime>,
        rt: &ActixRt,
        store: &str,
        mw: SessionMiddleware<St>,
        list: &[(&str, &str, bool)],
    ) {
        let app = rt.0.block_on(service(mw));
        cases(g, rt, store, &app, list);
    }

    pub(super) async fn service<St: SessionStore + 'static>(
        mw: SessionMiddleware<St>,
    ) -> impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    > {
        test::init_service(routes!(mw)).await
    }

    pub(super) async fn redis_store(url: String) -> RedisSessionStore {
        RedisSessionStore::new(url).await.unwrap()
    }

    pub(super) fn bench(c: &mut Criterion) {
        let rt = ActixRt(actix_web::rt::System::new());
        let mut g = c.benchmark_group("actix_session");
        configure(&mut g);
        baseline(&mut g, &rt);

        let key = Key::generate();
        let signed = || {
            SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
                .cookie_content_security(CookieContentSecurity::Signed)
        };
        run(&mut g, &rt, "cookie_signed", signed().build(), STANDARD);
        run(
            &mut g,
            &rt,
            "cookie_signed",
            rolling(signed()).build(),
            ROLLING,
        );

        match redis_url() {
            Some(url) => {
                let store = rt.0.block_on(redis_store(url));
                let mw = SessionMiddleware::new(store.clone(), key.clone());
                run(&mut g, &rt, "redis", mw, STANDARD);
                let mw = rolling(SessionMiddleware::builder(store, key.clone())).build();
                run(&mut g, &rt, "redis", mw, ROLLING);
            }
            None => eprintln!("actix_session: no TS_BENCH_REDIS_URL, Redis cases skipped"),
        }
        g.finish();
    }
}

/// Ours minus actix-session's, request for request (see `PairedNanos` in the
/// conformance crate): `redis/{read,write}`, whole requests through the same
/// routes on the same actix `System`, one of each per iteration in alternating
/// timed blocks. Both apps' routers are identical, so a negative difference
/// means our session layer costs less than theirs. Criterion's separate cases
/// drift between runs on a shared machine by more than the difference here.
mod paired {
    use std::sync::Arc;
    use std::time::Instant;

    use tiered_sessions::SessionManager;
    use tiered_sessions_conformance::bench::paired_difference;

    use super::*;

    /// `n` requests to `app`, in ns.
    fn timed<S, B>(rt: &ActixRt, app: &S, path: &str, cookie: &str, n: u64) -> f64
    where
        S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
        B: MessageBody,
    {
        rt.0.block_on(async {
            let start = Instant::now();
            for _ in 0..n {
                black_box(call(app, path, Some(cookie)).await);
            }
            start.elapsed().as_nanos() as f64
        })
    }

    pub(super) fn bench(c: &mut Criterion<PairedNanos>) {
        let Some(url) = redis_url() else {
            eprintln!("paired: no TS_BENCH_REDIS_URL, skipped");
            return;
        };
        let rt = ActixRt(actix_web::rt::System::new());
        let store = tiered_sessions_redis::RedisStore::standalone(url.clone())
            .key_prefix("ts_actix_bench:")
            .build_store()
            .unwrap();
        let manager = SessionManager::with_shared_store(ours::config(0), Arc::new(store));
        let ours_app = rt.0.block_on(ours::service(manager));
        let ours_cookie = cookie_header(&rt.0.block_on(call(&ours_app, "/init", None)));
        let key = actix_web::cookie::Key::generate();
        let store = rt.0.block_on(peer::redis_store(url));
        let mw = actix_session::SessionMiddleware::new(store, key);
        let peer_app = rt.0.block_on(peer::service(mw));
        let peer_cookie = cookie_header(&rt.0.block_on(call(&peer_app, "/init", None)));

        let mut g = c.benchmark_group("paired");
        g.sample_size(30)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5));
        for (case, path) in [("read", "/read"), ("write", "/write")] {
            g.bench_function(format!("redis_{case}_ours_minus_actix_session"), |b| {
                b.iter_custom(|iters| {
                    paired_difference(
                        iters,
                        |n| timed(&rt, &ours_app, path, &ours_cookie, n),
                        |n| timed(&rt, &peer_app, path, &peer_cookie, n),
                    )
                });
            });
        }
        g.finish();
    }
}

criterion_group!(benches, ours::bench, peer::bench);
criterion_group! {
    name = paired_group;
    // Plots assume positive times; these are differences.
    config = Criterion::default().with_measurement(PairedNanos).without_plots();
    targets = paired::bench
}
criterion_main!(benches, paired_group);
