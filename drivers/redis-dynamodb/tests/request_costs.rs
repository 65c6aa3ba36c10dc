//! What one request costs in backend calls, counted (not timed) through the
//! session layer against real Redis and moto:
//!
//! | request | Redis commands | DynamoDB requests |
//! | --- | --- | --- |
//! | read-only, session in the cache | 1 (`GET`) | 0 |
//! | quick write (load + quick save) | 2 (`GET`, `EVALSHA`) | 0 |
//! | durable write | 3 (`GET`, invalidate, refill) | 1 (`PutItem`) |
//! | new session | 1 (fill) | 1 (`PutItem`) |
//!
//! Needs `TS_REDIS_URL`, `TS_REDIS_CLUSTER_URLS`, `TS_DYNAMODB_MOTO_ENDPOINT`
//! and AWS dummy credentials.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

mod app;
use tiered_sessions_conformance::kit as support;

use std::sync::Arc;
use std::time::Duration;

use app::{Browser, RedisCacheBuilder};
use http::StatusCode;
use libtest_mimic::Arguments;
use support::Case;
use tiered_sessions_redis_dynamodb::RedisDynamoStore;

const LIMIT: Duration = Duration::from_secs(20);

/// (Redis commands, DynamoDB requests) sent by one request.
async fn cost(
    store: &RedisDynamoStore,
    b: &mut Browser,
    app: &axum::Router,
    method: &str,
    path: &str,
) -> (u64, u64) {
    let (r0, d0) = (
        store.cache().commands_sent(),
        store.durable().requests_sent(),
    );
    let reply = b.send(app, method, path, LIMIT).await.expect("no hang");
    assert_eq!(reply.status, StatusCode::OK, "{method} {path}: {reply:?}");
    (
        store.cache().commands_sent() - r0,
        store.durable().requests_sent() - d0,
    )
}

async fn costs(redis: RedisCacheBuilder) {
    let moto = std::env::var("TS_DYNAMODB_MOTO_ENDPOINT").unwrap_or_default();
    let ns = tiered_sessions_conformance::unique_namespace("costs");
    let store = Arc::new(app::store(redis.key_prefix(format!("{ns}:")), &moto, &ns).await);
    let app = app::app(store.clone());
    // Warm up: scripts loaded into Redis, connections open.
    let mut warm = Browser::default();
    for path in ["/incr", "/quick", "/incr"] {
        warm.send(&app, "POST", path, LIMIT).await.expect("no hang");
    }
    let mut b = Browser::default();
    assert_eq!(
        cost(&store, &mut b, &app, "POST", "/incr").await,
        (1, 1),
        "new session"
    );
    for _ in 0..5 {
        assert_eq!(
            cost(&store, &mut b, &app, "GET", "/read").await,
            (1, 0),
            "read-only request"
        );
    }
    assert_eq!(
        cost(&store, &mut b, &app, "POST", "/quick").await,
        (2, 0),
        "quick write"
    );
    assert_eq!(
        cost(&store, &mut b, &app, "POST", "/incr").await,
        (3, 1),
        "durable write"
    );
    assert_eq!(
        cost(&store, &mut b, &app, "GET", "/read").await,
        (1, 0),
        "read after a write"
    );
}

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let need = |vars: &[&str]| vars.iter().try_for_each(|v| support::endpoint(v).map(drop));
    let base = ["TS_DYNAMODB_MOTO_ENDPOINT", "AWS_ACCESS_KEY_ID"];
    let cases: &[(&str, Case<RedisCacheBuilder>)] =
        &[("request_costs", |redis| Box::pin(costs(redis)))];
    let standalone = need(&[&base[..], &["TS_REDIS_URL"]].concat()).map(|()| {
        (|| RedisCacheBuilder::standalone(std::env::var("TS_REDIS_URL").unwrap_or_default()))
            as fn() -> RedisCacheBuilder
    });
    let cluster = need(&[&base[..], &["TS_REDIS_CLUSTER_URLS"]].concat()).map(|()| {
        (|| {
            let urls = std::env::var("TS_REDIS_CLUSTER_URLS").unwrap_or_default();
            RedisCacheBuilder::cluster(urls.split(',').map(str::to_owned).collect::<Vec<_>>())
        }) as fn() -> RedisCacheBuilder
    });
    let mut trials = support::trials("standalone", standalone, cases);
    trials.extend(support::trials("cluster", cluster, cases));
    libtest_mimic::run(&args, trials).exit_code()
}
