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

/// A criterion measurement of *differences*: nanoseconds of case A minus
/// case B, measured together by [`paired_difference`] through
/// `iter_custom`. On a shared machine criterion's one-case-after-another
/// runs drift by more than a difference of a few percent; pairing takes each
/// difference between blocks microseconds apart.
///
/// Use it with `Criterion::default().with_measurement(PairedNanos)
/// .without_plots()` (plots assume positive times) and `iter_custom` only.
pub struct PairedNanos;

impl criterion::measurement::Measurement for PairedNanos {
    type Intermediate = ();
    type Value = f64;
    fn start(&self) {
        panic!("PairedNanos is measured through iter_custom only");
    }
    fn end(&self, (): ()) -> f64 {
        panic!("PairedNanos is measured through iter_custom only");
    }
    fn add(&self, a: &f64, b: &f64) -> f64 {
        a + b
    }
    fn zero(&self) -> f64 {
        0.0
    }
    fn to_f64(&self, v: &f64) -> f64 {
        *v
    }
    fn formatter(&self) -> &dyn criterion::measurement::ValueFormatter {
        &Nanos
    }
}

/// Differences in ns, kept in ns (they may be negative).
struct Nanos;

impl criterion::measurement::ValueFormatter for Nanos {
    fn scale_values(&self, _: f64, _: &mut [f64]) -> &'static str {
        "ns"
    }
    fn scale_throughputs(&self, _: f64, _: &criterion::Throughput, _: &mut [f64]) -> &'static str {
        "ns"
    }
    fn scale_for_machines(&self, _: &mut [f64]) -> &'static str {
        "ns"
    }
}

/// `iters` runs of `a` minus `iters` runs of `b`, in ns, for `iter_custom`
/// with [`PairedNanos`]. Each closure runs the given number of iterations and
/// returns their elapsed ns; they alternate in blocks of 32, and which goes
/// first alternates too, so neither always follows the other.
pub fn paired_difference(
    iters: u64,
    mut a: impl FnMut(u64) -> f64,
    mut b: impl FnMut(u64) -> f64,
) -> f64 {
    const BLOCK: u64 = 32;
    let mut difference = 0.0;
    let mut done = 0;
    while done < iters {
        let n = BLOCK.min(iters - done);
        if (done / BLOCK) % 2 == 0 {
            let tb = b(n);
            difference += a(n) - tb;
        } else {
            let ta = a(n);
            difference += ta - b(n);
        }
        done += n;
    }
    difference
}
