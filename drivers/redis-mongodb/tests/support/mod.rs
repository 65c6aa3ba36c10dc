//! What the real-service test targets share: endpoints read at run time (a
//! missing one is *ignored with the reason*, or a failure under `CI=true`),
//! fresh namespaces, and raw access to a fixture's Redis keys.

#![allow(dead_code)] // Each test target uses a different part.

use std::future::Future;

use tiered_sessions_conformance::libtest_mimic::{Completion, Failed};
use tiered_sessions_conformance::{env_endpoint, in_ci};
use tiered_sessions_redis_mongodb::RedisCache;
use tiered_sessions_redis_mongodb::mongodb::Client;
use tiered_sessions_redis_mongodb::mongodb::bson::RawDocumentBuf;

pub use tiered_sessions_conformance::unique_namespace as unique;

/// The replica-set SecantusDB (or MongoDB) of `scripts/services`.
pub const MONGO_RS: &str = "TS_MONGO_RS_URI";
/// The standalone one.
pub const MONGO_STANDALONE: &str = "TS_MONGO_STANDALONE_URI";
/// The standalone Redis.
pub const REDIS: &str = "TS_REDIS_URL";

/// The two MongoDB modes every real-service test runs in: (name, variable).
pub const MONGO_MODES: [(&str, &str); 2] = [("rs", MONGO_RS), ("standalone", MONGO_STANDALONE)];

/// The value of an endpoint variable, or why the tests cannot run.
pub fn endpoint(var: &str) -> Result<String, String> {
    env_endpoint(var).map_err(|skip| skip.0)
}

/// The outcome for a test whose service is missing: ignored with the reason,
/// or a failure under `CI=true`.
pub fn missing(reason: String) -> Result<Completion, Failed> {
    if in_ci() {
        Err(Failed::from(format!(
            "CI=true and a service is missing: {reason}"
        )))
    } else {
        Ok(Completion::ignored_with(reason))
    }
}

/// Run one async test body on a runtime of its own (the MongoDB client's
/// background tasks live on the runtime that created it).
pub fn block_on<F: Future<Output = ()>>(fut: F) -> Result<Completion, Failed> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failed::from(format!("tokio runtime: {e}")))?;
    rt.block_on(fut);
    Ok(Completion::Completed)
}

/// Every Redis key under `prefix` (test-sized key spaces only: `KEYS`).
pub async fn redis_keys(cache: &RedisCache, prefix: &str) -> Vec<String> {
    let mut cmd = tiered_sessions_redis::redis::cmd("KEYS");
    cmd.arg(format!("{prefix}*"));
    cache.query(&cmd).await.unwrap_or_default()
}

/// Delete every Redis key under `prefix`: a cache loss for one fixture.
pub async fn redis_flush(cache: &RedisCache, prefix: &str) {
    let keys = redis_keys(cache, prefix).await;
    if !keys.is_empty() {
        let mut cmd = tiered_sessions_redis::redis::cmd("DEL");
        cmd.arg(keys);
        let _: Result<i64, _> = cache.query(&cmd).await;
    }
}

/// Every `_id` in a collection.
pub async fn mongo_ids(
    collection: &tiered_sessions_redis_mongodb::mongodb::Collection<RawDocumentBuf>,
) -> Vec<String> {
    use futures_util::TryStreamExt;
    let Ok(cursor) = collection
        .find(tiered_sessions_redis_mongodb::mongodb::bson::doc! {})
        .await
    else {
        return Vec::new();
    };
    let docs: Vec<RawDocumentBuf> = cursor.try_collect().await.unwrap_or_default();
    docs.iter()
        .filter_map(|d| d.get_str("_id").ok().map(str::to_owned))
        .collect()
}

/// Drop a test database, best effort (the next run uses new names anyway).
pub async fn drop_database(uri: &str, database: &str) {
    if let Ok(c) = Client::with_uri_str(uri).await {
        let _ = c.database(database).drop().await;
        c.shutdown().await;
    }
}
pub mod browser;
pub mod servers;
