//! Every Redis node a fixture's keys can be on (the standalone server, or
//! each cluster node), listed with plain connections outside the driver.

use tiered_sessions_redis::redis;

/// Where the fixture's Redis is: one URL, or every cluster node's URL.
#[derive(Clone, Debug)]
pub struct RedisNodes(pub Vec<String>);

impl RedisNodes {
    /// The nodes named by a comma-separated URL list.
    pub fn parse(urls: &str) -> Self {
        RedisNodes(
            urls.split(',')
                .map(|u| u.trim().to_owned())
                .filter(|u| !u.is_empty())
                .collect(),
        )
    }

    /// Every key under `prefix`, on every node (replicas hold copies, so
    /// duplicates are dropped). Panics if a node cannot be scanned: a
    /// lister that silently returns nothing would let a leak pass.
    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        for url in &self.0 {
            let client = redis::Client::open(url.as_str()).expect("a valid node URL");
            let mut conn = client
                .get_multiplexed_async_connection()
                .await
                .expect("a node that answers");
            let mut cursor = 0u64;
            loop {
                let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(format!("{prefix}*"))
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut conn)
                    .await
                    .expect("SCAN");
                out.extend(keys);
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        out.sort();
        out.dedup();
        out
    }
}
