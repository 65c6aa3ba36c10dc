//! What both demos (axum and actix-web) set up the same way: tracing, the
//! Prometheus recorder, the store chosen from the environment, the signing
//! key and the configuration.

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tiered_sessions::{FromEnv, Metrics, SessionConfig, SessionManager, SessionStore, TieredStore};
use tiered_sessions_memory::{MemoryCache, MemoryStore};
use tiered_sessions_redis::{RedisCacheBuilder, env as redis_env};

/// The demo's session manager, and the settings its page explains.
#[derive(Clone)]
pub struct Demo {
    /// The manager every request goes through.
    pub manager: SessionManager,
    /// `cookie_only_threshold`: larger data goes to the store.
    pub threshold: usize,
    /// Where stored sessions go, for the page.
    pub store_name: &'static str,
    /// The process's `metrics` recorder, rendered by `GET /metrics`.
    pub prometheus: PrometheusHandle,
}

/// Log to stderr, `RUST_LOG` or `info`.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
}

/// Store-call latency buckets, in seconds: 50 µs (memory) to 2.5 s (a
/// struggling backend).
const STORE_CALL_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5,
];

/// Install a Prometheus recorder as the process's `metrics` recorder (the
/// recorder only: the demo serves its text itself, at `/metrics`), with
/// histogram buckets for the store-call latencies and the description of
/// every metric.
///
/// # Errors
/// Another recorder is already installed.
fn install_prometheus() -> Result<PrometheusHandle, Box<dyn std::error::Error>> {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("tiered_sessions_store_call_duration_seconds".into()),
            STORE_CALL_BUCKETS,
        )?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|e| e.to_string())?;
    Metrics::describe();
    // Without the exporter's own listener nothing drains the histograms'
    // buffers: do it every few seconds.
    let upkeep = handle.clone();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(5));
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// The port to listen on: `PORT`, or 3000.
pub fn port() -> u16 {
    std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000)
}

/// The store from the environment: Redis (a whole store) when
/// `TIERED_SESSIONS_REDIS_URL` or `TIERED_SESSIONS_REDIS_CLUSTER_URLS` is
/// set, else a memory cache in front of a memory "durable" tier.
/// `COOKIE_ONLY_THRESHOLD` (bytes, default 2048) moves the spill point: raise
/// it to see a cookie-only session split over several cookies.
///
/// # Errors
/// Bad Redis settings or a bad threshold, or a `metrics` recorder already
/// installed.
pub fn demo() -> Result<Demo, Box<dyn std::error::Error>> {
    let prometheus = install_prometheus()?;
    let metrics = Arc::new(Metrics::default());
    let redis = [redis_env::URL, redis_env::CLUSTER_URLS]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|v| !v.trim().is_empty()));
    let (store, store_name): (Arc<dyn SessionStore>, _) = if redis {
        tracing::info!("sessions in Redis (a whole store), from TIERED_SESSIONS_REDIS_*");
        (
            Arc::new(RedisCacheBuilder::from_env()?.build_store()?),
            "Redis",
        )
    } else {
        tracing::info!("sessions in memory (set TIERED_SESSIONS_REDIS_URL for Redis)");
        (
            Arc::new(
                TieredStore::new(MemoryCache::new(), MemoryStore::new())
                    .with_metrics(metrics.clone()),
            ),
            "memory cache + memory durable tier",
        )
    };
    let threshold = match std::env::var("COOKIE_ONLY_THRESHOLD") {
        Ok(v) => v.trim().parse()?,
        Err(_) => 2048,
    };
    let config = SessionConfig::builder([signing_key()])
        // The demo serves plain HTTP on localhost; keep Secure on in production.
        .secure(false)
        .cookie_only_threshold(threshold)
        .build()?;
    Ok(Demo {
        manager: SessionManager::with_shared_store(config, store).with_metrics(metrics),
        threshold,
        store_name,
        prometheus,
    })
}

/// `SESSION_KEY` (at least 64 hex characters) keeps sessions valid across
/// restarts; otherwise a random key.
fn signing_key() -> Vec<u8> {
    if let Ok(hex) = std::env::var("SESSION_KEY") {
        let bytes: Option<Vec<u8>> = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect();
        if let Some(b) = bytes.filter(|b| b.len() >= 32) {
            return b;
        }
        eprintln!("SESSION_KEY must be at least 64 hex characters; using a random key");
    }
    let mut key = vec![0u8; 32];
    for chunk in key.chunks_mut(16) {
        let id = tiered_sessions::SessionId::generate().expect("OS random source");
        chunk.copy_from_slice(&id.as_bytes()[..chunk.len()]);
    }
    key
}
