//! A small axum app behind the session layer, driven in-process through tower,
//! with a cookie jar per simulated browser. Shared by the fault and cost tests.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tiered_sessions::{Session, SessionConfig, SessionLayer, SessionManager, SessionStore};
use tiered_sessions_conformance::kit::Jar;
use tiered_sessions_redis_dynamodb::{
    DynamoStoreBuilder, RedisCache, RedisDynamoStore, RedisTiered,
};
use tower::ServiceExt;

pub const SIGNING_KEY: &[u8; 32] = b"fault-test-signing-key-32-bytes!";

/// `/incr` adds one to `n` (durable save), `/quick` adds one to `q` (quick
/// save), `/read` returns `n`.
pub fn app(store: Arc<dyn SessionStore>) -> Router {
    let config = SessionConfig::builder([SIGNING_KEY])
        .cookie_only_threshold(0)
        .secure(false)
        .build()
        .expect("valid config");
    let manager = SessionManager::with_shared_store(config, store);
    Router::new()
        .route("/incr", post(incr))
        .route("/quick", post(quick))
        .route("/read", get(read))
        .layer(SessionLayer::new(manager))
}

async fn incr(session: Session) -> Result<String, tiered_sessions::Error> {
    let n = session.get::<u64>("n").await?.unwrap_or(0) + 1;
    session.insert("n", &n).await?;
    Ok(n.to_string())
}

async fn quick(session: Session) -> Result<String, tiered_sessions::Error> {
    let q = session.get::<u64>("q").await?.unwrap_or(0) + 1;
    session.insert_quick("q", &q).await?;
    Ok(q.to_string())
}

async fn read(session: Session) -> Result<String, tiered_sessions::Error> {
    Ok(session.get::<u64>("n").await?.unwrap_or(0).to_string())
}

/// One browser: its cookies (the conformance kit's jar).
#[derive(Default, Clone, Debug)]
pub struct Browser {
    jar: Jar,
}

/// What a request got back.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: String,
}

impl Browser {
    /// Send one request through the app, keeping cookies; `None` if it did not
    /// answer within `limit` (a hang).
    pub async fn send(
        &mut self,
        app: &Router,
        method: &str,
        path: &str,
        limit: Duration,
    ) -> Option<Reply> {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(cookie) = self.jar.header() {
            req = req.header("cookie", cookie);
        }
        let req = req.body(Body::empty()).expect("valid request");
        let res = tokio::time::timeout(limit, app.clone().oneshot(req))
            .await
            .ok()?;
        let res = res.expect("the router is infallible");
        self.jar.update(
            res.headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok()),
        );
        let status = res.status();
        let body = res.into_body().collect().await.ok()?.to_bytes();
        Some(Reply {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

/// The driver as users build it, over `redis` and a fresh table on `endpoint`.
pub async fn store(redis: RedisCacheBuilder, endpoint: &str, table: &str) -> RedisDynamoStore {
    let durable = DynamoStoreBuilder::new(table)
        .endpoint_url(endpoint)
        .region("us-east-1")
        .max_record_bytes(300_000)
        .ensure_table(true)
        .build()
        .await
        .expect("the DynamoDB tier builds");
    RedisTiered::new(redis)
        .build(durable)
        .expect("the driver builds")
}

pub use tiered_sessions_redis_dynamodb::RedisCacheBuilder;

/// The Redis cache of a driver store.
pub fn cache(store: &RedisDynamoStore) -> &RedisCache {
    store.cache()
}
