//! What the real-service test targets share: endpoints read at run time (a
//! missing one is *ignored with the reason*, or a failure under `CI=true`),
//! fresh namespaces, and raw access to a fixture's Redis keys.

#![allow(dead_code, unused_imports)] // Each test target uses a different part.

use tiered_sessions_redis_mongodb::mongodb::Client;
use tiered_sessions_redis_mongodb::mongodb::bson::RawDocumentBuf;

pub use tiered_sessions_conformance::kit::{block_on, endpoint, missing, unique};

/// The replica-set SecantusDB (or MongoDB) of `scripts/services`.
pub const MONGO_RS: &str = "TS_MONGO_RS_URI";
/// The standalone one.
pub const MONGO_STANDALONE: &str = "TS_MONGO_STANDALONE_URI";
/// The standalone Redis.
pub const REDIS: &str = "TS_REDIS_URL";
/// The Redis Cluster's node URLs, comma-separated.
pub const REDIS_CLUSTER: &str = "TS_REDIS_CLUSTER_URLS";

/// The two MongoDB modes every real-service test runs in: (name, variable).
pub const MONGO_MODES: [(&str, &str); 2] = [("rs", MONGO_RS), ("standalone", MONGO_STANDALONE)];

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
