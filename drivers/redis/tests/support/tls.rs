//! The test CA of `scripts/services` (`TS_TLS_CA_FILE`) and a raw-key lister
//! for the TLS servers (the kit's `RedisNodes` connects without a CA).

#![allow(dead_code)]

use tiered_sessions_redis::redis::{AsyncCommands, Client, TlsCertificates};

/// The PEM of the CA that signed the TLS servers' certificate.
///
/// # Errors
/// Why it cannot be had (a skip reason).
pub fn ca_pem() -> Result<Vec<u8>, String> {
    let path = std::env::var("TS_TLS_CA_FILE")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .ok_or("TS_TLS_CA_FILE is not set (eval \"$(scripts/services env)\")")?;
    std::fs::read(&path).map_err(|e| format!("TS_TLS_CA_FILE={path}: {e}"))
}

/// Every key under `prefix` on each of `urls` (each a `rediss://` node),
/// trusting `ca`. Unreachable nodes are skipped, as the kit's lister does.
pub async fn keys(urls: &[String], ca: &[u8], prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for url in urls {
        let certs = TlsCertificates {
            client_tls: None,
            root_cert: Some(ca.to_vec()),
        };
        let Ok(client) = Client::build_with_tls(url.as_str(), certs) else {
            continue;
        };
        let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
            continue;
        };
        let pattern = format!("{prefix}*");
        let Ok(mut iter) = conn.scan_match::<_, String>(&pattern).await else {
            continue;
        };
        while let Some(k) = futures_util::StreamExt::next(&mut iter).await {
            if let Ok(k) = k {
                out.push(k);
            }
        }
    }
    out
}
