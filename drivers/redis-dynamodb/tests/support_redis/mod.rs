//! Test helpers over real Redis: list and delete a fixture's keys on every
//! node (standalone or each cluster primary), for cache-loss cases and
//! raw-key checks.

use tiered_sessions_redis::redis::{self, AsyncCommands};

/// Where the fixture's Redis is: one URL, or every cluster node's URL.
#[derive(Clone, Debug)]
pub struct RedisNodes(pub Vec<String>);

impl RedisNodes {
    /// Every key under `prefix`, on every node.
    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        for url in &self.0 {
            let Ok(client) = redis::Client::open(url.as_str()) else {
                continue;
            };
            let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
                continue;
            };
            let pattern = format!("{prefix}*");
            if let Ok(mut iter) = conn.scan_match::<_, String>(&pattern).await {
                while let Some(k) = futures_util::StreamExt::next(&mut iter).await {
                    if let Ok(k) = k {
                        out.push(k);
                    }
                }
            }
        }
        out
    }

    /// Delete every key under `prefix` (a cache flush for this fixture only).
    pub async fn flush(&self, prefix: &str) {
        for url in &self.0 {
            let Ok(client) = redis::Client::open(url.as_str()) else {
                continue;
            };
            let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
                continue;
            };
            let keys = RedisNodes(vec![url.clone()]).keys(prefix).await;
            for k in keys {
                let _: Result<i64, _> = conn.del(&k).await;
            }
        }
    }
}
