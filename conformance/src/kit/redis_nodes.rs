//! [`RedisNodes`]: a fixture's Redis keys on every node (standalone, or each
//! cluster primary; plain or TLS), for the cache-loss hook and the raw-key
//! check of a Redis-backed fixture (feature `redis`), and [`test_ca_pem`], the
//! CA of `scripts/services`' TLS servers.

use redis::{AsyncCommands, Client, TlsCertificates};

/// Where a fixture's Redis is: one URL, or every cluster primary's URL, and
/// for `rediss://` nodes the CA to trust. Unreachable nodes are skipped (a
/// test then sees fewer keys, never a hang).
#[derive(Clone, Debug)]
pub struct RedisNodes {
    /// One URL per node.
    pub urls: Vec<String>,
    ca: Option<Vec<u8>>,
}

/// The PEM of the CA that signed the TLS servers' certificate of
/// `scripts/services` (`TS_TLS_CA_FILE`).
///
/// # Errors
/// Why it cannot be had (a skip reason).
pub fn test_ca_pem() -> Result<Vec<u8>, String> {
    let path = std::env::var("TS_TLS_CA_FILE")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .ok_or("TS_TLS_CA_FILE is not set (eval \"$(scripts/services env)\")")?;
    std::fs::read(&path).map_err(|e| format!("TS_TLS_CA_FILE={path}: {e}"))
}

impl RedisNodes {
    /// One node.
    pub fn one(url: impl Into<String>) -> Self {
        RedisNodes {
            urls: vec![url.into()],
            ca: None,
        }
    }

    /// The nodes of a comma-separated URL list (as `TS_REDIS_CLUSTER_URLS`).
    pub fn parse(urls: &str) -> Self {
        RedisNodes {
            urls: urls
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_owned)
                .collect(),
            ca: None,
        }
    }

    /// Trust `ca_pem` (instead of the default roots) on `rediss://` nodes.
    #[must_use]
    pub fn trusting(mut self, ca_pem: Vec<u8>) -> Self {
        self.ca = Some(ca_pem);
        self
    }

    async fn connect(&self, url: &str) -> Option<redis::aio::MultiplexedConnection> {
        let client = match &self.ca {
            Some(ca) => Client::build_with_tls(
                url,
                TlsCertificates {
                    client_tls: None,
                    root_cert: Some(ca.clone()),
                },
            ),
            None => Client::open(url),
        }
        .ok()?;
        client.get_multiplexed_async_connection().await.ok()
    }

    async fn keys_on(conn: &mut redis::aio::MultiplexedConnection, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        let pattern = format!("{prefix}*");
        if let Ok(mut iter) = conn.scan_match::<_, String>(&pattern).await {
            while let Some(k) = futures_util::StreamExt::next(&mut iter).await {
                if let Ok(k) = k {
                    out.push(k);
                }
            }
        }
        out
    }

    /// Every key under `prefix`, on every node.
    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        for url in &self.urls {
            if let Some(mut conn) = self.connect(url).await {
                out.extend(Self::keys_on(&mut conn, prefix).await);
            }
        }
        out
    }

    /// Delete every key under `prefix` (a cache flush for this fixture only).
    pub async fn flush(&self, prefix: &str) {
        for url in &self.urls {
            if let Some(mut conn) = self.connect(url).await {
                for k in Self::keys_on(&mut conn, prefix).await {
                    let _: Result<i64, _> = conn.del(&k).await;
                }
            }
        }
    }
}
