//! A small app behind the session layer, and a browser that keeps its cookies:
//! shared by the fault tests and the benches.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{Request, StatusCode, header};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use tiered_sessions::{
    Metrics, Result, Session, SessionConfig, SessionLayer, SessionManager, SessionStore,
};
use tiered_sessions_conformance::kit::Jar;
use tiered_sessions_redis_mongodb::RedisMongoStore;
use tower::ServiceExt;

/// How long a request may take before it counts as a hang (a liveness bound
/// far above every configured deadline, not a performance threshold).
pub const HANG: Duration = Duration::from_secs(60);

/// Store `k{n} = n` (a durable write).
async fn write(session: Session, Path(n): Path<u32>) -> Result<&'static str> {
    session.insert(&format!("k{n}"), &n).await?;
    Ok("ok")
}

/// Store `q = n` as a quick (cache-only) write.
async fn quick(session: Session, Path(n): Path<u32>) -> Result<&'static str> {
    session.insert_quick("q", &n).await?;
    Ok("ok")
}

/// The session's keys, comma-separated.
async fn read(session: Session) -> Result<String> {
    Ok(session.keys().await?.join(","))
}

/// `POST /write/{n}`, `POST /quick/{n}` and `GET /read` behind a session layer
/// that keeps every session in `store`; also the counters of layer and store.
pub fn app(store: Arc<RedisMongoStore>) -> (Router, Arc<Metrics>) {
    let metrics = store.metrics().clone();
    let config = SessionConfig::builder([[42u8; 32]])
        .cookie_only_threshold(0)
        .secure(false)
        .build()
        .expect("config");
    let manager = SessionManager::with_shared_store(config, store as Arc<dyn SessionStore>)
        .with_metrics(metrics.clone());
    let router = Router::new()
        .route("/write/{n}", post(write))
        .route("/quick/{n}", post(quick))
        .route("/read", get(read))
        .layer(SessionLayer::new(manager));
    (router, metrics)
}

/// A browser: the conformance kit's cookie jar in front of the app.
#[derive(Clone, Debug, Default)]
pub struct Browser {
    jar: Jar,
}

impl Browser {
    /// Send one request; panics if it takes longer than [`HANG`].
    pub async fn send(&mut self, app: &Router, method: &str, uri: &str) -> (StatusCode, String) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(cookie) = self.jar.header() {
            req = req.header(header::COOKIE, cookie);
        }
        let req = req.body(Body::empty()).expect("request");
        let res = tokio::time::timeout(HANG, app.clone().oneshot(req))
            .await
            .unwrap_or_else(|_| panic!("{method} {uri} hung for {HANG:?}"))
            .expect("infallible");
        self.jar.update_from_headers(res.headers());
        let status = res.status();
        let body = res.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }
}
