//! The actix-web integration beyond the shared HTTP-level conformance cases
//! (which every driver runs on actix-web too): the extractor without the
//! middleware, 5xx responses, store failures, `!Send` handlers, and a real
//! multi-worker `HttpServer` over Redis (each worker an actix runtime of its
//! own, sharing the store's connections).
//!
//! The Redis tests read `TS_REDIS_URL` at run time: without it they are
//! ignored with the reason, and fail under `CI=true`.
#![allow(clippy::unwrap_used)]

mod common;
use common::Logs;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, test, web};
use tiered_sessions::actix::SessionMiddleware;
use tiered_sessions::{
    CircuitBreaker, Result, Session, SessionConfig, SessionConfigBuilder, SessionManager,
    SessionStore, TieredStore,
};
use tiered_sessions_conformance::faults::{FaultyCache, FaultyDurable};
use tiered_sessions_conformance::kit::{self, Jar};
use tiered_sessions_conformance::libtest_mimic::{Arguments, Completion, Failed, Trial, run};
use tiered_sessions_memory::{MemoryCache, MemoryStore};
use tiered_sessions_redis::RedisStore;

fn config() -> SessionConfigBuilder {
    SessionConfig::builder([[0x33u8; 32]]).secure(false)
}

/// One response as the browser saw it.
struct Reply {
    status: StatusCode,
    set_cookie: Vec<String>,
    cache_control: Option<String>,
    body: String,
}

async fn send<S, B>(app: &S, jar: &mut Jar, path: &str) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut req = test::TestRequest::get().uri(path);
    if let Some(cookie) = jar.header() {
        req = req.insert_header(("cookie", cookie));
    }
    let res = test::call_service(app, req.to_request()).await;
    let set_cookie: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    jar.update(&set_cookie);
    let status = res.status();
    let cache_control = res
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = test::try_read_body(res).await.ok().unwrap_or_default();
    Reply {
        status,
        set_cookie,
        cache_control,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn on_actix(body: impl std::future::Future<Output = ()>) -> Result<Completion, Failed> {
    actix_web::rt::System::new().block_on(body);
    Ok(Completion::Completed)
}

async fn put(session: Session, path: web::Path<(String, String)>) -> Result<&'static str> {
    let (key, value) = path.into_inner();
    session.insert(&key, &value).await?;
    Ok("ok")
}

async fn get(session: Session, key: web::Path<String>) -> Result<String> {
    Ok(session
        .get::<String>(&key)
        .await?
        .unwrap_or_else(|| "none".to_owned()))
}

/// Changes the session, then answers 500 itself.
async fn put_then_fail(session: Session) -> Result<HttpResponse> {
    session.insert("failed", &"yes").await?;
    Ok(HttpResponse::InternalServerError().body("boom"))
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/put/{key}/{value}", web::get().to(put))
        .route("/get/{key}", web::get().to(get))
        .route("/fail", web::get().to(put_then_fail));
}

/// The extractor on an app without the middleware: an empty 500 and an error
/// event that names the missing middleware.
fn extractor_without_the_middleware() -> Result<Completion, Failed> {
    let (reply, logs) = Logs::capture(tracing::Level::INFO, || {
        actix_web::rt::System::new().block_on(async {
            let app = test::init_service(App::new().configure(routes)).await;
            send(&app, &mut Jar::new(), "/get/a").await
        })
    });
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(reply.body.is_empty(), "{:?}", reply.body);
    assert!(logs.contains("ERROR"), "{logs}");
    assert!(logs.contains("SessionMiddleware"), "{logs}");
    Ok(Completion::Completed)
}

/// A handler that changed the session and answered 5xx: nothing is saved and
/// no cookie is set, unless `save_on_server_error`.
fn a_5xx_response_saves_nothing() -> Result<Completion, Failed> {
    on_actix(async {
        for save_on_error in [false, true] {
            let store = Arc::new(MemoryStore::new());
            let config = config()
                .cookie_only_threshold(0)
                .save_on_server_error(save_on_error)
                .build()
                .unwrap();
            let manager = SessionManager::with_shared_store(config, store.clone());
            let app = test::init_service(
                App::new()
                    .wrap(SessionMiddleware::new(manager))
                    .configure(routes),
            )
            .await;
            let mut jar = Jar::new();
            let reply = send(&app, &mut jar, "/fail").await;
            assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(reply.body, "boom", "the handler's own 500 is kept");
            if save_on_error {
                assert_eq!(store.len(), 1, "save_on_server_error saves");
                assert_eq!(send(&app, &mut jar, "/get/failed").await.body, "yes");
            } else {
                assert!(reply.set_cookie.is_empty(), "{:?}", reply.set_cookie);
                assert!(store.is_empty(), "a 5xx response saved the session");
            }
        }
    })
}

/// A store failure while saving: an empty 503 with `Cache-Control: no-store`,
/// no cookie, one error event; the acknowledged session survives.
fn a_store_failure_is_an_empty_503() -> Result<Completion, Failed> {
    let (_, logs) = Logs::capture(tracing::Level::INFO, || {
        on_actix(async {
            let store = Arc::new(FaultyDurable::new(MemoryStore::new()));
            let config = config().cookie_only_threshold(0).build().unwrap();
            let manager = SessionManager::with_shared_store(config, store.clone());
            let app = test::init_service(
                App::new()
                    .wrap(SessionMiddleware::new(manager))
                    .configure(routes),
            )
            .await;
            let mut jar = Jar::new();
            assert_eq!(
                send(&app, &mut jar, "/put/a/1").await.status,
                StatusCode::OK
            );
            let before = jar.clone();
            store.faults().set_fail_writes(true);
            let reply = send(&app, &mut jar, "/put/a/2").await;
            store.faults().heal();
            assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
            assert!(reply.body.is_empty(), "{:?}", reply.body);
            assert!(reply.set_cookie.is_empty(), "{:?}", reply.set_cookie);
            assert_eq!(reply.cache_control.as_deref(), Some("no-store"));
            assert_eq!(jar, before);
            assert_eq!(send(&app, &mut jar, "/get/a").await.body, "1");
            // A store failure while loading, returned by the handler as
            // `tiered_sessions::Error`: the same empty 503.
            store.faults().set_down(true);
            let reply = send(&app, &mut jar, "/get/a").await;
            store.faults().heal();
            assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
            assert!(reply.body.is_empty(), "{:?}", reply.body);
        })
    });
    let errors = logs.matches("ERROR").count();
    assert!(logs.contains("session could not be saved"), "{logs}");
    assert!(logs.contains("session error"), "{logs}");
    assert_eq!(errors, 2, "one error event per failure: {logs}");
    Ok(Completion::Completed)
}

/// `!Send` handlers (an `Rc` held across awaits) work with the extractor and
/// the middleware, in-process.
fn not_send_handlers() -> Result<Completion, Failed> {
    on_actix(async {
        let manager = SessionManager::new(config().build().unwrap(), MemoryStore::new());
        let app = test::init_service(
            App::new()
                .wrap(SessionMiddleware::new(manager))
                .route("/counter", web::get().to(kit::not_send_counter)),
        )
        .await;
        let mut jar = Jar::new();
        for want in 0..3 {
            let reply = send(&app, &mut jar, "/counter").await;
            assert_eq!(reply.status, StatusCode::OK);
            assert!(
                reply.body.starts_with(&format!("{want} ")),
                "{}",
                reply.body
            );
        }
    })
}

/// `TieredStore`'s circuit breaker probes the cache with a task of its own
/// (spawned on the current Tokio runtime): inside an actix `System` it runs
/// and closes the circuit once the cache answers again.
fn the_tiered_probe_runs_on_the_actix_runtime() -> Result<Completion, Failed> {
    on_actix(async {
        let cache = Arc::new(FaultyCache::new(MemoryCache::new()));
        let store = Arc::new(
            TieredStore::new(cache.clone(), MemoryStore::new()).with_circuit_breaker(
                CircuitBreaker {
                    failures: 2,
                    cool_down: std::time::Duration::from_millis(50),
                },
            ),
        );
        let config = config().cookie_only_threshold(0).build().unwrap();
        let manager = SessionManager::with_shared_store(config, store.clone());
        let app = test::init_service(
            App::new()
                .wrap(SessionMiddleware::new(manager))
                .configure(routes),
        )
        .await;
        let mut jar = Jar::new();
        assert_eq!(
            send(&app, &mut jar, "/put/a/1").await.status,
            StatusCode::OK
        );
        cache.faults().set_down(true);
        for _ in 0..4 {
            assert_eq!(send(&app, &mut jar, "/get/a").await.body, "1");
        }
        assert!(store.cache_circuit_open(), "the circuit did not open");
        cache.faults().heal();
        actix_web::rt::time::sleep(std::time::Duration::from_millis(60)).await;
        // This read starts the probe; the request does not wait for it.
        assert_eq!(send(&app, &mut jar, "/get/a").await.body, "1");
        for _ in 0..50 {
            if !store.cache_circuit_open() {
                break;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(
            !store.cache_circuit_open(),
            "the background probe never closed the circuit"
        );
    })
}

fn redis_url() -> std::result::Result<String, String> {
    kit::endpoint("TS_REDIS_URL")
}

/// `RedisStore` as the whole store, across two server workers.
fn redis_store_across_server_workers() -> Result<Completion, Failed> {
    let url = match redis_url() {
        Ok(url) => url,
        Err(reason) => return kit::missing(reason),
    };
    let store = RedisStore::standalone(url)
        .key_prefix(format!("{}:", kit::unique("ts_actix")))
        .build_store()
        .unwrap();
    kit::count_across_actix_workers(
        move || async move { Arc::new(store) as Arc<dyn SessionStore> },
    );
    Ok(Completion::Completed)
}

/// A `TieredStore` with the Redis cache tier in front of a memory durable
/// tier, across two server workers.
fn redis_tiered_across_server_workers() -> Result<Completion, Failed> {
    let url = match redis_url() {
        Ok(url) => url,
        Err(reason) => return kit::missing(reason),
    };
    let cache = tiered_sessions_redis::RedisCacheBuilder::standalone(url)
        .key_prefix(format!("{}:", kit::unique("ts_actix")))
        .build()
        .unwrap();
    kit::count_across_actix_workers(move || async move {
        Arc::new(TieredStore::new(cache, MemoryStore::new())) as Arc<dyn SessionStore>
    });
    Ok(Completion::Completed)
}

/// The memory store across two server workers (no service needed).
fn memory_across_server_workers() -> Result<Completion, Failed> {
    kit::count_across_actix_workers(|| async {
        Arc::new(TieredStore::new(MemoryCache::new(), MemoryStore::new())) as Arc<dyn SessionStore>
    });
    Ok(Completion::Completed)
}

type Test = fn() -> Result<Completion, Failed>;

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let tests: Vec<(&str, Test)> = vec![
        (
            "extractor_without_the_middleware",
            extractor_without_the_middleware,
        ),
        ("a_5xx_response_saves_nothing", a_5xx_response_saves_nothing),
        (
            "a_store_failure_is_an_empty_503",
            a_store_failure_is_an_empty_503,
        ),
        ("not_send_handlers", not_send_handlers),
        (
            "the_tiered_probe_runs_on_the_actix_runtime",
            the_tiered_probe_runs_on_the_actix_runtime,
        ),
        ("memory_across_server_workers", memory_across_server_workers),
        (
            "redis_store_across_server_workers",
            redis_store_across_server_workers,
        ),
        (
            "redis_tiered_across_server_workers",
            redis_tiered_across_server_workers,
        ),
    ];
    let trials = tests
        .into_iter()
        .map(|(name, f)| Trial::ignorable_test(name, f))
        .collect();
    run(&args, trials).exit_code()
}
