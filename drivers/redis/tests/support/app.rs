//! A small axum app over the session layer, for the request-cost test and the
//! benches: `/init` stores a ~1 KiB session, `/read` reads one key, `/write`
//! changes one, `/new` starts a session. Every store write is real (the
//! cookie-only threshold is 0). Answers 404 when the session did not load.

#![allow(dead_code, clippy::unwrap_used)] // A failed unwrap is a failed test or bench.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, Response, StatusCode, header};
use tiered_sessions::{Session, SessionConfig, SessionLayer, SessionManager, SessionStore};
use tower::ServiceExt;

const READ_KEY: &str = "k0";
const WRITE_KEY: &str = "counter";

async fn init(session: Session) -> StatusCode {
    for i in 0..10 {
        session
            .insert(&format!("k{i}"), &format!("{i:0>90}"))
            .await
            .unwrap();
    }
    StatusCode::OK
}

async fn read(session: Session) -> StatusCode {
    match session.get::<String>(READ_KEY).await.unwrap() {
        Some(v) => {
            std::hint::black_box(v);
            StatusCode::OK
        }
        None => StatusCode::NOT_FOUND,
    }
}

async fn write(session: Session) -> StatusCode {
    static N: AtomicU64 = AtomicU64::new(0);
    if session.get::<String>(READ_KEY).await.unwrap().is_none() {
        return StatusCode::NOT_FOUND;
    }
    session
        .insert(WRITE_KEY, &N.fetch_add(1, Ordering::Relaxed))
        .await
        .unwrap();
    StatusCode::OK
}

async fn new(session: Session) -> StatusCode {
    session.insert("new", &42u64).await.unwrap();
    StatusCode::OK
}

/// The app over `store`, every session stored (threshold 0).
pub fn app(store: Arc<dyn SessionStore>) -> Router {
    let config = SessionConfig::builder([[0x5au8; 32]])
        .cookie_only_threshold(0)
        .build()
        .unwrap();
    Router::new()
        .route("/init", get(init))
        .route("/read", get(read))
        .route("/write", get(write))
        .route("/new", get(new))
        .layer(SessionLayer::new(SessionManager::with_shared_store(
            config, store,
        )))
}

/// One request; panics unless it answers 2xx.
pub async fn call(app: &Router, path: &str, cookie: Option<&str>) -> Response<Body> {
    let mut req = Request::get(path);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res
}

/// A fresh ~1 KiB session: the `Cookie` header that sends it.
pub async fn session(app: &Router) -> String {
    let res = call(app, "/init", None).await;
    let mut jar = tiered_sessions_conformance::kit::Jar::new();
    jar.update_from_headers(res.headers());
    jar.header().expect("a session cookie on create")
}
