//! The storage-path benchmark group every driver publishes, so figures from
//! different drivers measure the same operations on the same records.
//! Behind the `criterion` feature.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::Criterion;
use tiered_sessions::codec::encode_value;
use tiered_sessions::{Durability, Record, SessionStore, StoreKey, UnixTime};

/// A store key for benchmark session `n` (not a hash of any real id).
pub fn key(n: u64) -> StoreKey {
    StoreKey::from_stored(format!("{n:064x}"))
}

/// A session of a few typical keys (user id, roles, a CSRF token, a cart),
/// about 2.6 KB encoded.
pub fn typical_record(version: u64, now: UnixTime) -> Record {
    let mut r = Record {
        version,
        expires_at: now + 3600,
        created_at: now,
        last_active: now,
        ..Record::default()
    };
    let mut put = |k: &str, v: Vec<u8>| {
        r.data.insert(k.to_owned(), v);
    };
    put("user", encode_value(&42u64).unwrap_or_default());
    put(
        "roles",
        encode_value(&["admin", "editor"]).unwrap_or_default(),
    );
    put("csrf", vec![7; 32]);
    put("cart", vec![1; 2500]);
    r
}

/// The `store` group: cache-hit read, quick write, durable write, new session
/// and rolling read (load + touch) on `store`. `hot` must already hold a live
/// [`typical_record`]; keys 2, 3 and 1000 onwards are created here. Durable
/// steps get `durable_time` of measurement with 30 samples, since they are
/// milliseconds where cache steps are microseconds.
///
/// # Panics
/// If the store fails: a benchmark has no error path.
pub fn storage_path_group(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    store: &dyn SessionStore,
    hot: &StoreKey,
    now: UnixTime,
    durable_time: Duration,
) {
    let mut g = c.benchmark_group("store");
    g.bench_function("cache_hit_read", |b| {
        b.to_async(rt)
            .iter(|| async { store.load(hot, now).await.expect("load").expect("hit") })
    });
    let quick = key(2);
    rt.block_on(store.create(&quick, &typical_record(1, now), now))
        .expect("seed");
    g.bench_function("quick_write", |b| {
        b.to_async(rt).iter(|| async {
            let mut r = store.load(&quick, now).await.expect("load").expect("hit");
            let expected = r.version;
            r.version += 1;
            r.data.insert("n".into(), r.version.to_le_bytes().to_vec());
            store
                .save(&quick, &r, expected, Durability::Quick, now)
                .await
                .expect("quick save");
        })
    });
    g.sample_size(30).measurement_time(durable_time);
    let durable = key(3);
    rt.block_on(store.create(&durable, &typical_record(1, now), now))
        .expect("seed");
    g.bench_function("durable_write", |b| {
        b.to_async(rt).iter(|| async {
            let mut r = store.load(&durable, now).await.expect("load").expect("hit");
            let expected = r.version;
            r.version += 1;
            store
                .save(&durable, &r, expected, Durability::Durable, now)
                .await
                .expect("save");
        })
    });
    let next = AtomicU64::new(1_000);
    g.bench_function("new_session", |b| {
        b.to_async(rt).iter(|| async {
            let k = key(next.fetch_add(1, Ordering::Relaxed));
            store
                .create(&k, &typical_record(1, now), now)
                .await
                .expect("create");
        })
    });
    g.bench_function("rolling_read", |b| {
        b.to_async(rt).iter(|| async {
            let r = store.load(hot, now).await.expect("load").expect("hit");
            store.touch(hot, now + 3600, now, now).await.expect("touch");
            black_box(r)
        })
    });
    g.finish();
}
