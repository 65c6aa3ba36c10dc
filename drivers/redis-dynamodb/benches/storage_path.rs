//! The storage path over real Redis (and moto for the durable steps), next to
//! a raw Redis GET and SET on the same pooled connection, in the same run.
//!
//! Targets: a cache-hit read ≤ 1.15 × one raw GET; a quick write (load +
//! conditional save) ≤ 2.3 × one raw GET. Durable steps include moto, an
//! emulator: read them as relative figures only.
//!
//! Needs `TS_REDIS_URL`, `TS_DYNAMODB_MOTO_ENDPOINT` and AWS dummy credentials
//! (`eval "$(scripts/services env)"`); without them it prints why and exits.

#[path = "../tests/app/mod.rs"]
mod app;

use std::sync::Arc;
use std::time::Duration;

use app::{Browser, RedisCacheBuilder};
use criterion::{Criterion, criterion_group, criterion_main};
use tiered_sessions::{Clock, Durability, SessionStore, SystemClock};
use tiered_sessions_conformance::bench::{key, storage_path_group, typical_record};
use tiered_sessions_redis::redis::cmd as redis_cmd;
use tiered_sessions_redis_dynamodb::RedisDynamoStore;

fn benches(c: &mut Criterion) {
    let (Ok(redis_url), Ok(moto)) = (
        std::env::var("TS_REDIS_URL"),
        std::env::var("TS_DYNAMODB_MOTO_ENDPOINT"),
    ) else {
        eprintln!("storage_path: TS_REDIS_URL and TS_DYNAMODB_MOTO_ENDPOINT are needed; skipped");
        return;
    };
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    else {
        eprintln!("storage_path: no Tokio runtime");
        return;
    };
    let ns = format!("bench{}", std::process::id());
    let store: Arc<RedisDynamoStore> = Arc::new(rt.block_on(app::store(
        RedisCacheBuilder::standalone(redis_url).key_prefix(format!("{ns}:")),
        &moto,
        &ns,
    )));
    let now = SystemClock.now();
    let hot = key(1);
    let raw_key = format!("{ns}:raw");
    let payload = tiered_sessions::codec::encode_record(&typical_record(1, now));
    rt.block_on(async {
        store
            .create(&hot, &typical_record(1, now), now)
            .await
            .expect("seed");
        let _: () = store
            .cache()
            .query(
                redis_cmd("SET")
                    .arg(&raw_key)
                    .arg(&payload[..])
                    .arg("EX")
                    .arg(3600),
            )
            .await
            .expect("raw set");
    });

    let mut g = c.benchmark_group("redis_raw");
    g.bench_function("get", |b| {
        b.to_async(&rt).iter(|| async {
            let v: Option<Vec<u8>> = store
                .cache()
                .query(redis_cmd("GET").arg(&raw_key))
                .await
                .expect("get");
            v
        })
    });
    g.bench_function("set", |b| {
        b.to_async(&rt).iter(|| async {
            let _: () = store
                .cache()
                .query(
                    redis_cmd("SET")
                        .arg(&raw_key)
                        .arg(&payload[..])
                        .arg("EX")
                        .arg(3600),
                )
                .await
                .expect("set");
        })
    });
    g.finish();

    storage_path_group(c, &rt, store.as_ref(), &hot, now, Duration::from_secs(4));
    // The group created this session (key 2) for its quick writes.
    let quick = key(2);

    // The same through the session layer: cookie verification, lazy load and
    // the quick save, as a request pays them.
    let router = app::app(store.clone());
    let mut browser = Browser::default();
    rt.block_on(async {
        browser
            .send(&router, "POST", "/incr", Duration::from_secs(10))
            .await
            .expect("session");
    });
    let mut g = c.benchmark_group("request");
    g.bench_function("cache_hit_read", |b| {
        b.to_async(&rt).iter(|| {
            let (mut browser, router) = (browser.clone(), router.clone());
            async move {
                browser
                    .send(&router, "GET", "/read", Duration::from_secs(10))
                    .await
                    .expect("read")
            }
        })
    });
    g.bench_function("quick_write", |b| {
        b.to_async(&rt).iter(|| {
            let (mut browser, router) = (browser.clone(), router.clone());
            async move {
                browser
                    .send(&router, "POST", "/quick", Duration::from_secs(10))
                    .await
                    .expect("quick")
            }
        })
    });
    g.finish();

    // The targets are ratios to one raw GET. On a shared machine the load
    // drifts between criterion's groups, so the ratios are also measured with
    // the two operations interleaved, one after the other, and compared by
    // their medians. Only under `cargo bench` (not in `cargo test`'s quick
    // pass over the benches).
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    rt.block_on(async {
        let raw_get = || async {
            let v: Option<Vec<u8>> = store
                .cache()
                .query(redis_cmd("GET").arg(&raw_key))
                .await
                .expect("get");
            v
        };
        let ratio = |name: &'static str, samples: Vec<(Duration, Duration)>| {
            let median = |mut v: Vec<Duration>| {
                v.sort();
                v[v.len() / 2]
            };
            let (raw, op): (Vec<_>, Vec<_>) = samples.into_iter().unzip();
            let (raw, op) = (median(raw), median(op));
            eprintln!(
                "interleaved: {name}: {op:?} vs raw GET {raw:?} = {:.2} x",
                op.as_secs_f64() / raw.as_secs_f64()
            );
        };
        const N: usize = 3000;
        let mut samples = Vec::with_capacity(N);
        for _ in 0..N {
            let t = std::time::Instant::now();
            raw_get().await;
            let raw = t.elapsed();
            let t = std::time::Instant::now();
            store.load(&hot, now).await.expect("load").expect("hit");
            samples.push((raw, t.elapsed()));
        }
        ratio("store cache-hit read", samples);
        let mut samples = Vec::with_capacity(N);
        for _ in 0..N {
            let t = std::time::Instant::now();
            raw_get().await;
            let raw = t.elapsed();
            let t = std::time::Instant::now();
            let mut r = store.load(&quick, now).await.expect("load").expect("hit");
            let expected = r.version;
            r.version += 1;
            store
                .save(&quick, &r, expected, Durability::Quick, now)
                .await
                .expect("quick save");
            samples.push((raw, t.elapsed()));
        }
        ratio("store quick write (load + quick save)", samples);
        for (name, method, path) in [
            ("request cache-hit read", "GET", "/read"),
            ("request quick write", "POST", "/quick"),
        ] {
            let mut samples = Vec::with_capacity(N);
            for _ in 0..N {
                let t = std::time::Instant::now();
                raw_get().await;
                let raw = t.elapsed();
                let mut b = browser.clone();
                let t = std::time::Instant::now();
                b.send(&router, method, path, Duration::from_secs(10))
                    .await
                    .expect("request");
                samples.push((raw, t.elapsed()));
            }
            ratio(name, samples);
        }
    });
}

criterion_group! {
    name = storage;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(storage);
