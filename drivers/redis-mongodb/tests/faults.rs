//! Real faults, through the tower layer, with servers this test starts itself
//! on ports of its own (the shared services are never touched):
//!
//! - `faults::redis_killed_mid_stream_loses_nothing`: Redis is SIGKILLed in the
//!   middle of a stream of requests and restarted empty; every read still
//!   succeeds (falling back to MongoDB), a write the cache cannot invalidate
//!   first is refused with an empty 503 and changes nothing
//!   (`CacheOutageWrites::Refuse`), nothing acknowledged is lost, and the
//!   cache serves (and writes go through) again afterwards.
//! - `faults::redis_paused_mid_stream_serves_nothing_stale`: Redis is SIGSTOPped
//!   (unreachable, but keeping its data) while sessions are written, then
//!   resumed with the old versions still cached; no read ever returns one.
//! - `faults::mongodb_killed_mid_stream_keeps_acknowledged_writes`: a
//!   SecantusDB replica set with on-disk storage is SIGKILLed mid-stream and
//!   restarted on the same path; requests during the outage get an opaque 5xx
//!   (no hang), and every write acknowledged before the kill is there after the
//!   restart, read from MongoDB with the cache emptied.
//!
//! Needs `TS_MONGO_RS_URI` (first test), `redis-server` on the PATH and
//! SecantusDB under `.services/` (`scripts/services start` installs both).

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use tiered_sessions::Metrics;
use tiered_sessions_conformance::libtest_mimic::{self, Arguments, Completion, Failed, Trial};
use tiered_sessions_redis_mongodb::{MongoStore, RedisCache, RedisTiered};

use support::browser::{Browser, app};
use support::servers::{Server, free_port, redis_server, secantusd};

/// Clients (sessions) the requests rotate over.
const CLIENTS: u32 = 4;
/// A browser, the writes it tried and those acknowledged.
#[derive(Default)]
struct Client {
    browser: Browser,
    attempted: BTreeSet<String>,
    acknowledged: BTreeSet<String>,
}

impl Client {
    async fn send(&mut self, app: &Router, method: &str, uri: &str) -> (StatusCode, String) {
        self.browser.send(app, method, uri).await
    }

    /// A write that must be acknowledged.
    async fn write_ok(&mut self, app: &Router, n: u32) {
        let key = format!("k{n}");
        self.attempted.insert(key.clone());
        let (status, body) = self.send(app, "POST", &format!("/write/{n}")).await;
        assert_eq!(status, StatusCode::OK, "write {n}: {body}");
        self.acknowledged.insert(key);
    }

    /// A write during a cache outage: acknowledged, or refused with an empty
    /// 503 (then it must never show up).
    async fn write_or_refused(&mut self, app: &Router, n: u32) {
        let key = format!("k{n}");
        let (status, body) = self.send(app, "POST", &format!("/write/{n}")).await;
        match status {
            StatusCode::OK => {
                self.attempted.insert(key.clone());
                self.acknowledged.insert(key);
            }
            StatusCode::SERVICE_UNAVAILABLE => assert_eq!(body, "", "write {n}: an opaque 503"),
            other => panic!("write {n}: {other} {body}"),
        }
    }

    /// The session's keys: every acknowledged write, and nothing never tried.
    async fn read_all(&mut self, app: &Router, when: &str) {
        let (status, body) = self.send(app, "GET", "/read").await;
        assert_eq!(status, StatusCode::OK, "read {when}: {body}");
        let keys: BTreeSet<String> = body
            .split(',')
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect();
        assert!(
            keys.is_superset(&self.acknowledged) && keys.is_subset(&self.attempted),
            "keys {when}: read {keys:?}, acknowledged {:?}, tried {:?}",
            self.acknowledged,
            self.attempted
        );
    }
}

/// `count` rounds of "write, then read everything back", rotating clients;
/// every write must be acknowledged.
async fn stream(app: &Router, clients: &mut [Client], next: &mut u32, count: u32, when: &str) {
    for _ in 0..count {
        let n = *next;
        *next += 1;
        let client = &mut clients[(n % CLIENTS) as usize];
        client.write_ok(app, n).await;
        client.read_all(app, when).await;
    }
}

/// [`stream`] during a cache outage: a write may be refused (503), a read
/// never fails.
async fn outage_stream(
    app: &Router,
    clients: &mut [Client],
    next: &mut u32,
    count: u32,
    when: &str,
) {
    for _ in 0..count {
        let n = *next;
        *next += 1;
        let client = &mut clients[(n % CLIENTS) as usize];
        client.write_or_refused(app, n).await;
        client.read_all(app, when).await;
    }
}

/// A temporary directory, removed when dropped; kept, with the servers' logs,
/// when the test fails.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(support::unique(name));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept {} (server logs) for inspection", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

async fn start_redis(dir: &std::path::Path) -> Server {
    Server::redis(
        &["--dir", &dir.display().to_string()],
        dir.join("redis.log"),
    )
    .await
}

/// The app over the Redis on `redis_port` (100 ms call deadline) and a fresh
/// database on the shared MongoDB; also its MongoDB tier.
async fn redis_app(redis_port: u16, mongo_uri: &str) -> (Router, Arc<Metrics>, MongoStore) {
    let durable = MongoStore::builder(mongo_uri)
        .database(support::unique("ts_fault_redis"))
        .build()
        .await
        .expect("the MongoDB tier");
    let store = RedisTiered::new(
        RedisCache::standalone(format!("redis://127.0.0.1:{redis_port}"))
            .key_prefix("f:")
            .call_timeout(Duration::from_millis(100)),
    )
    .build(durable)
    .expect("store");
    let durable = store.durable().clone();
    let (app, metrics) = app(Arc::new(store));
    (app, metrics, durable)
}

/// Drop the test's database (best effort) and close the client.
async fn drop_database_and_close(durable: MongoStore) {
    let namespace = durable.collection().namespace();
    let database = durable.collection().client().database(&namespace.db);
    let _ = database.drop().await;
    durable.shutdown().await;
}

async fn redis_killed_mid_stream_loses_nothing(mongo_uri: String) {
    let scratch = Scratch::new("ts_fault_redis");
    let mut redis = start_redis(&scratch.0).await;
    let (app, metrics, durable) = redis_app(redis.port, &mongo_uri).await;
    let mut clients: Vec<Client> = (0..CLIENTS).map(|_| Client::default()).collect();
    let mut n = 0;

    stream(&app, &mut clients, &mut n, 8, "with Redis up").await;
    let errors_before = metrics.snapshot().cache_errors;

    redis.kill();
    outage_stream(&app, &mut clients, &mut n, 8, "with Redis down").await;
    let outage = metrics.snapshot();
    assert!(
        outage.cache_errors > errors_before,
        "Redis was down, yet no cache call failed: {outage:?}"
    );
    assert!(
        outage.durable_reads > 0,
        "reads did not fall back: {outage:?}"
    );

    redis.restart().await;
    // The circuit may still be open for its cool-down.
    outage_stream(&app, &mut clients, &mut n, 8, "after Redis came back empty").await;
    for c in &mut clients {
        c.read_all(&app, "at the end").await;
    }
    // The cache serves again once its pool has reconnected (and the circuit
    // breaker, opened by the outage, has probed it after its cool-down).
    let hits_before = metrics.snapshot().cache_hits;
    let mut served = false;
    for _ in 0..100 {
        clients[0].read_all(&app, "waiting for cache hits").await;
        if metrics.snapshot().cache_hits > hits_before {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        served,
        "no cache hit after Redis restarted: {:?}",
        metrics.snapshot()
    );
    stream(
        &app,
        &mut clients,
        &mut n,
        8,
        "with the cache serving again",
    )
    .await;
    drop_database_and_close(durable).await;
}

async fn redis_paused_mid_stream_serves_nothing_stale(mongo_uri: String) {
    let scratch = Scratch::new("ts_fault_pause");
    let redis = start_redis(&scratch.0).await;
    let (app, metrics, durable) = redis_app(redis.port, &mongo_uri).await;
    let mut clients: Vec<Client> = (0..CLIENTS).map(|_| Client::default()).collect();
    let mut n = 0;

    stream(&app, &mut clients, &mut n, 8, "with Redis up").await;
    let before = metrics.snapshot();
    assert!(
        before.cache_hits > 0,
        "the cache was not in use: {before:?}"
    );

    redis.pause();
    outage_stream(&app, &mut clients, &mut n, 8, "with Redis paused").await;
    let paused = metrics.snapshot();
    assert!(
        paused.cache_errors > before.cache_errors,
        "Redis was paused, yet no cache call failed: {paused:?}"
    );

    // Redis answers again, still holding the versions from before the pause.
    redis.resume();
    for c in &mut clients {
        c.read_all(&app, "right after Redis resumed").await;
    }
    outage_stream(&app, &mut clients, &mut n, 8, "after Redis resumed").await;
    for c in &mut clients {
        c.read_all(&app, "at the end").await;
    }
    drop_database_and_close(durable).await;
}

async fn mongodb_killed_mid_stream_keeps_acknowledged_writes() {
    let scratch = Scratch::new("ts_fault_mongo");
    let dir = &scratch.0;
    let redis = start_redis(dir).await;
    let storage = dir.join("mongo-data");
    std::fs::create_dir_all(&storage).expect("storage dir");
    let port = free_port().expect("free port");
    let args = [
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--storage-path",
        &storage.display().to_string(),
    ]
    .map(str::to_owned)
    .to_vec();
    let mut mongo = Server::start(
        secantusd().expect("checked before"),
        args,
        port,
        dir.join("mongo.log"),
    )
    .await;
    let uri = format!("mongodb://127.0.0.1:{port}/?directConnection=true");
    let durable = MongoStore::builder(&uri)
        .database("faults")
        .connect_timeout(Duration::from_secs(1))
        .operation_timeout(Duration::from_secs(3));
    let tiered = RedisTiered::new(
        RedisCache::standalone(format!("redis://127.0.0.1:{}", redis.port)).key_prefix("f:"),
    );
    // Listening is not serving yet: retry until the TTL index is made.
    let mut store = None;
    for _ in 0..60 {
        if let Ok(d) = durable.clone().build().await {
            store = Some(tiered.clone().build(d).expect("store"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let store = Arc::new(store.expect("SecantusDB never served"));
    let durable = store.durable().clone();
    let cache = RedisCache::standalone(format!("redis://127.0.0.1:{}", redis.port))
        .build()
        .expect("a second Redis handle");
    let (app, _metrics) = app(store);
    let mut clients: Vec<Client> = (0..CLIENTS).map(|_| Client::default()).collect();
    let mut n = 0;

    stream(&app, &mut clients, &mut n, 12, "with MongoDB up").await;

    mongo.kill();
    for i in 0..6 {
        let client = &mut clients[(i % CLIENTS) as usize];
        let started = Instant::now();
        let (status, body) = client
            .send(&app, "POST", &format!("/write/{}", 1000 + i))
            .await;
        eprintln!(
            "write during the outage: {status} after {:?}",
            started.elapsed()
        );
        assert!(
            status.is_server_error(),
            "write during the outage answered {status}"
        );
        assert!(body.is_empty(), "the 5xx is not opaque: {body:?}");
    }

    mongo.restart().await;
    let mut back = false;
    for _ in 0..60 {
        if durable.ping().await.is_ok() {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(back, "SecantusDB did not serve again after its restart");
    // Empty the cache: what the clients read now comes from MongoDB.
    let _: () = cache
        .query(&tiered_sessions_redis::redis::cmd("FLUSHALL"))
        .await
        .expect("FLUSHALL");
    for c in &mut clients {
        c.read_all(&app, "after the MongoDB restart, from MongoDB")
            .await;
    }
    stream(&app, &mut clients, &mut n, 4, "after the MongoDB restart").await;
    durable.shutdown().await;
}

/// A trial that runs `body` when every prerequisite is there, and is ignored
/// with the reason (failed under `CI=true`) when one is missing.
fn trial<F, Fut>(name: &str, needs: Result<(), String>, body: F) -> Trial
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    Trial::ignorable_test(
        format!("faults::{name}"),
        move || -> std::result::Result<Completion, Failed> {
            match needs {
                Err(reason) => support::missing(reason),
                Ok(()) => support::block_on(body()),
            }
        },
    )
}

fn main() -> ExitCode {
    // `RUST_LOG=error` shows each store error the layer turns into a 5xx and
    // each cache entry the tiered store could not drop.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "off".into()),
        )
        .init();
    let args = Arguments::from_args();
    let redis = redis_server().map(drop);
    let mongo_rs = support::endpoint(support::MONGO_RS);
    let redis_and_rs = redis.clone().and(mongo_rs.clone().map(drop));
    let uri = mongo_rs.unwrap_or_default();
    let needs_b = redis.and(secantusd().map(drop));
    let trials = vec![
        trial(
            "redis_killed_mid_stream_loses_nothing",
            redis_and_rs.clone(),
            {
                let uri = uri.clone();
                move || redis_killed_mid_stream_loses_nothing(uri)
            },
        ),
        trial(
            "redis_paused_mid_stream_serves_nothing_stale",
            redis_and_rs,
            move || redis_paused_mid_stream_serves_nothing_stale(uri),
        ),
        trial(
            "mongodb_killed_mid_stream_keeps_acknowledged_writes",
            needs_b,
            mongodb_killed_mid_stream_keeps_acknowledged_writes,
        ),
    ];
    libtest_mimic::run(&args, trials).exit_code()
}
