//! What Redis costs a session, next to a raw `GET` of the same ~1 KiB payload
//! on the same connection type, in one criterion run:
//!
//! - `floor/get`: `GET` of the encoded record through the store's own pool,
//!   deadline and error mapping (`RedisStore::query`) — the floor the issue's
//!   ratios are taken against; `floor/get_multiplexed`: the same `GET` on a
//!   bare redis-rs multiplexed connection, for reference.
//! - `store/{read,write,new}`: `RedisStore` calls (load; load + save; create).
//!   `store/new` leaves every new session in Redis, so Redis keeps allocating
//!   fresh memory (~1 KiB a key, over 100 MB a run); `store/new_steady` times
//!   the same creates beside 40 000 other sessions but removes the keys
//!   between batches (untimed), as expiry does in a steady state. Both
//!   create records whose data is already encoded, as the session layer
//!   hands them over.
//! - `layer_store/{read,write,new}`: whole requests through the session layer
//!   (axum + `SessionLayer`, cookie-only threshold 0) over `RedisStore`.
//! - `layer_tiered/{read,write}`: the same over the Redis cache tier in front
//!   of an in-process `MemoryStore` (a write is a durable save: invalidate,
//!   memory save, refill).
//! - `*_x64`: 64 requests in flight on 64 sessions (each its own primed
//!   ~1 KiB session), `join_all` on one current-thread runtime.
//!
//! With `TS_BENCH_COMMANDSTATS=1` the bench first prints Redis's own cost of
//! each store operation (`INFO commandstats` around 2000 calls of each; this
//! resets the server's statistics, so use it on a private server only).
//!
//! Needs a Redis: `TS_BENCH_REDIS_URL`, else `TS_REDIS_URL`;
//! `TS_BENCH_REDIS_CONNECTIONS` overrides the number of shared connections. For the issue's
//! figures use a private server pinned with the bench to one CPU:
//!
//! ```sh
//! taskset -c 1 redis-server --port 6395 --bind 127.0.0.1 --save "" --appendonly no \
//!     --daemonize yes --pidfile /tmp/ts-bench-redis.pid
//! TS_BENCH_REDIS_URL=redis://127.0.0.1:6395 taskset -c 1 \
//!     cargo bench -p tiered-sessions-redis --bench redis_paths
//! kill "$(cat /tmp/ts-bench-redis.pid)"
//! ```

#![allow(missing_docs, clippy::unwrap_used)] // A failed unwrap is a failed bench.

#[path = "../tests/support/app.rs"]
mod web;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};
use futures_util::future::join_all;
use tiered_sessions::codec::{decode_data, encode_data, encode_record};
use tiered_sessions::{Durability, Record, SessionStore, StoreKey, TieredStore};
use tiered_sessions_memory::MemoryStore;
use tiered_sessions_redis::{RedisCacheBuilder, RedisStore, redis};
use tokio::runtime::Runtime;

const FANOUT: usize = 64;

fn redis_url() -> Option<String> {
    ["TS_BENCH_REDIS_URL", "TS_REDIS_URL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.trim().is_empty()))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn prefix() -> String {
    format!("bench:{}:{}:", std::process::id(), now())
}

static NEXT_KEY: AtomicU64 = AtomicU64::new(0);

fn key() -> StoreKey {
    StoreKey::from_stored(format!(
        "{:0>32x}{:0>32x}",
        std::process::id(),
        NEXT_KEY.fetch_add(1, Ordering::Relaxed)
    ))
}

/// A ~1 KiB session record (10 entries).
fn record(now: u64) -> Record {
    let mut r = Record {
        version: 1,
        created_at: now,
        last_active: now,
        expires_at: now + 3600,
        ..Record::default()
    };
    for i in 0..10 {
        r.data
            .insert(format!("k{i}"), format!("{i:0>90}").into_bytes());
    }
    r
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn configure(g: &mut BenchmarkGroup<'_, WallTime>) {
    g.sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
}

/// The builder for `url`, with `TS_BENCH_REDIS_CONNECTIONS` shared
/// connections when set (to compare against the default).
fn builder(url: &str) -> RedisCacheBuilder {
    let b = RedisCacheBuilder::standalone(url).key_prefix(prefix());
    match std::env::var("TS_BENCH_REDIS_CONNECTIONS").map(|n| n.trim().parse()) {
        Ok(Ok(n)) => b.pool_size(n),
        _ => b,
    }
}

fn store(url: &str) -> Arc<RedisStore> {
    Arc::new(builder(url).build_store().unwrap())
}

fn tiered(url: &str) -> Arc<dyn SessionStore> {
    let cache = builder(url).build().unwrap();
    Arc::new(TieredStore::new(cache, MemoryStore::new()))
}

fn floor_and_store(g: &mut BenchmarkGroup<'_, WallTime>, rt: &Runtime, url: &str) {
    let s = store(url);
    let n = now();
    let payload = encode_record(&record(n));
    let raw_key = format!("{}raw", s.key_prefix());
    rt.block_on(async {
        s.query::<()>(
            redis::cmd("SET")
                .arg(&raw_key)
                .arg(&payload)
                .arg("EX")
                .arg(3600),
        )
        .await
        .unwrap();
    });
    let get = redis::cmd("GET").arg(&raw_key).clone();
    g.bench_function("floor/get", |b| {
        b.to_async(rt)
            .iter(|| async { black_box(s.query::<Vec<u8>>(&get).await.unwrap()) })
    });
    let client = redis::Client::open(url).unwrap();
    let conn = rt
        .block_on(client.get_multiplexed_async_connection())
        .unwrap();
    g.bench_function("floor/get_multiplexed", |b| {
        b.to_async(rt).iter(|| {
            let mut conn = conn.clone();
            let get = &get;
            async move { black_box(get.query_async::<Vec<u8>>(&mut conn).await.unwrap()) }
        })
    });

    let k = key();
    rt.block_on(s.create(&k, &record(n), n)).unwrap();
    g.bench_function("store/read", |b| {
        b.to_async(rt)
            .iter(|| async { black_box(s.load(&k, now()).await.unwrap().unwrap()) })
    });
    g.bench_function("store/write", |b| {
        b.to_async(rt).iter(|| async {
            let t = now();
            let mut r = s.load(&k, t).await.unwrap().unwrap();
            let expected = r.version;
            r.version += 1;
            r.data
                .insert("counter".into(), r.version.to_le_bytes().to_vec());
            s.save(&k, &r, expected, Durability::Durable, t)
                .await
                .unwrap();
        })
    });
    // The same new ~1 KiB record under a new key each time (building the
    // record is the application's work, not the store's). Its data is in
    // the encoded form the session layer hands a store (a map would be
    // encoded entry by entry on every create).
    let mut fresh = record(n);
    fresh.data = decode_data(&encode_data(&fresh.data)).unwrap();
    g.bench_function("store/new", |b| {
        b.to_async(rt)
            .iter(|| async { s.create(&key(), &fresh, now()).await.unwrap() })
    });
    // A steady population of sessions, as a live server holds: without it
    // each batch below grows Redis's key table from nearly empty and the
    // creates pay its rehashing, which a server whose sessions come and go
    // at the same rate does not.
    populate(rt, url, s.key_prefix(), Some(&fresh));
    g.bench_function("store/new_steady", |b| {
        b.to_async(rt).iter_custom(|iters| {
            let (s, fresh) = (s.clone(), fresh.clone());
            async move {
                let keys: Vec<StoreKey> = (0..iters).map(|_| key()).collect();
                let t = now();
                let start = std::time::Instant::now();
                for k in &keys {
                    s.create(k, &fresh, t).await.unwrap();
                }
                let elapsed = start.elapsed();
                for chunk in keys.chunks(512) {
                    let mut unlink = redis::cmd("UNLINK");
                    for k in chunk {
                        unlink.arg(s.redis_key(k));
                    }
                    s.query::<i64>(&unlink).await.unwrap();
                }
                elapsed
            }
        })
    });
    populate(rt, url, s.key_prefix(), None);
}

/// How many other sessions `store/new_steady` creates beside (a Redis key
/// table of 65 536 slots, about two thirds full, so no batch makes it grow
/// or shrink).
const POPULATION: usize = 40_000;

/// `POPULATION` sessions like `fresh`, under keys of their own with a TTL of
/// an hour; `None` removes them again.
fn populate(rt: &Runtime, url: &str, prefix: &str, fresh: Option<&Record>) {
    let value = fresh.map(encode_record);
    rt.block_on(async {
        let client = redis::Client::open(url).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        for chunk in 0..POPULATION / 1000 {
            let mut pipe = redis::pipe();
            for i in 0..1000 {
                let key = format!("{prefix}population:{chunk}:{i}");
                match &value {
                    Some(v) => pipe.cmd("SET").arg(key).arg(v).arg("EX").arg(3600),
                    None => pipe.cmd("UNLINK").arg(key),
                }
                .ignore();
            }
            pipe.query_async::<()>(&mut conn).await.unwrap();
        }
    });
}

/// Whole requests through the session layer over `store`: one at a time,
/// then `FANOUT` in flight on `FANOUT` sessions.
fn layer(
    g: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    name: &str,
    store: Arc<dyn SessionStore>,
    with_new: bool,
) {
    let app = web::app(store);
    let cookie = rt.block_on(web::session(&app));
    for path in ["read", "write"] {
        let route = format!("/{path}");
        g.bench_function(format!("{name}/{path}"), |b| {
            b.to_async(rt)
                .iter(|| web::call(&app, &route, Some(&cookie)))
        });
    }
    if with_new {
        g.bench_function(format!("{name}/new"), |b| {
            b.to_async(rt).iter(|| web::call(&app, "/new", None))
        });
    }
    let jars: Vec<String> = rt.block_on(join_all((0..FANOUT).map(|_| web::session(&app))));
    for path in ["read", "write"] {
        let route = format!("/{path}");
        g.bench_function(format!("{name}/{path}_x64"), |b| {
            b.to_async(rt)
                .iter(|| join_all(jars.iter().map(|c| web::call(&app, &route, Some(c)))))
        });
    }
}

/// Server-side cost of each store operation: `CONFIG RESETSTAT`, `N` calls,
/// then the `INFO commandstats` lines of the commands they sent.
fn commandstats(rt: &Runtime, url: &str) {
    const N: u64 = 2000;
    let s = store(url);
    let n = now();
    let fresh = record(n);
    let report = |op: &str| {
        rt.block_on(async {
            let info: String = s
                .query(redis::cmd("INFO").arg("commandstats"))
                .await
                .unwrap();
            for line in info.lines().filter(|l| l.starts_with("cmdstat_")) {
                let calls = line
                    .split("calls=")
                    .nth(1)
                    .and_then(|r| r.split(',').next())
                    .and_then(|c| c.parse::<u64>().ok())
                    .unwrap_or(0);
                if calls >= N / 2 && !line.starts_with("cmdstat_config") {
                    println!("commandstats {op:<22} {line}");
                }
            }
        });
    };
    let reset = || {
        rt.block_on(s.query::<()>(redis::cmd("CONFIG").arg("RESETSTAT")))
            .unwrap();
    };
    let keys: Vec<StoreKey> = (0..N).map(|_| key()).collect();
    reset();
    rt.block_on(async {
        for k in &keys {
            s.create(k, &fresh, n).await.unwrap();
        }
    });
    report("create");
    reset();
    rt.block_on(async {
        for k in &keys {
            black_box(s.load(k, n).await.unwrap());
        }
    });
    report("load");
    reset();
    rt.block_on(async {
        let mut next = fresh.clone();
        next.version = 2;
        for k in &keys {
            s.save(k, &next, 1, Durability::Durable, n).await.unwrap();
        }
    });
    report("save");
    reset();
    rt.block_on(async {
        for k in &keys {
            s.touch(k, n + 7200, n, n).await.unwrap();
        }
    });
    report("touch");
    reset();
    rt.block_on(async {
        // Every record is expired by a clock past its end: create replaces it.
        let later = n + 10_000;
        let mut again = fresh.clone();
        again.expires_at = later + 3600;
        for k in &keys {
            s.create(k, &again, later).await.unwrap();
        }
    });
    report("create_over_expired");
    reset();
    rt.block_on(async {
        for k in &keys {
            s.delete_unless_newer(k, 2, n).await.unwrap();
        }
    });
    report("delete_unless_newer");
}

fn bench(c: &mut Criterion) {
    let Some(url) = redis_url() else {
        eprintln!("redis_paths: skipped: set TS_BENCH_REDIS_URL or TS_REDIS_URL");
        return;
    };
    let rt = runtime();
    if std::env::var("TS_BENCH_COMMANDSTATS").is_ok_and(|v| v.trim() == "1") {
        commandstats(&rt, &url);
    }
    let mut g = c.benchmark_group("redis");
    configure(&mut g);
    floor_and_store(&mut g, &rt, &url);
    layer(&mut g, &rt, "layer_store", store(&url), true);
    layer(&mut g, &rt, "layer_tiered", tiered(&url), false);
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
