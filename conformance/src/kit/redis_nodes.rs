//! [`RedisNodes`]: a fixture's Redis keys on every node (standalone, or each
//! cluster primary), for the cache-loss hook and the raw-key check of a
//! Redis-backed fixture (feature `redis`).

use redis::AsyncCommands;

/// Where a fixture's Redis is: one URL, or every cluster primary's URL.
/// Unreachable nodes are skipped (a test then sees fewer keys, never a hang).
#[derive(Clone, Debug)]
pub struct RedisNodes(pub Vec<String>);

impl RedisNodes {
    /// The nodes of a comma-separated URL list (as `TS_REDIS_CLUSTER_URLS`).
    pub fn parse(urls: &str) -> Self {
        RedisNodes(
            urls.split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

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
