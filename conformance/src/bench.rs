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

/// How many iterations [`paired_difference`] runs of one side before
/// switching: `TS_PAIRED_BLOCK` when it is a positive number, else 32.
/// Larger blocks switch less often (less of the cost of a switch, such as
/// cold caches, lands in the figure) and follow the machine's drift less
/// closely.
pub fn paired_block() -> u64 {
    std::env::var("TS_PAIRED_BLOCK")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(32)
}

/// `iters` runs of `a` minus `iters` runs of `b`, in ns, for `iter_custom`
/// with [`PairedNanos`]. Each closure runs the given number of iterations and
/// returns their elapsed ns; they alternate in blocks of [`paired_block`]
/// iterations, and which goes first alternates too, so neither always
/// follows the other.
pub fn paired_difference(iters: u64, a: impl FnMut(u64) -> f64, b: impl FnMut(u64) -> f64) -> f64 {
    paired_in_blocks(iters, paired_block(), a, b)
}

fn paired_in_blocks(
    iters: u64,
    block: u64,
    mut a: impl FnMut(u64) -> f64,
    mut b: impl FnMut(u64) -> f64,
) -> f64 {
    let mut difference = 0.0;
    let mut done = 0;
    while done < iters {
        let n = block.min(iters - done);
        if (done / block) % 2 == 0 {
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

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::paired_in_blocks;

    #[test]
    fn both_sides_run_every_iteration_in_alternating_blocks() {
        for (iters, block) in [(100, 32), (100, 512), (64, 32), (1, 32), (0, 32)] {
            let runs = RefCell::new(Vec::new());
            let difference = paired_in_blocks(
                iters,
                block,
                |n| {
                    runs.borrow_mut().push(('a', n));
                    n as f64 * 10.0
                },
                |n| {
                    runs.borrow_mut().push(('b', n));
                    n as f64 * 3.0
                },
            );
            assert_eq!(
                difference,
                iters as f64 * 7.0,
                "{iters} in blocks of {block}"
            );
            let runs = runs.into_inner();
            for side in ['a', 'b'] {
                let total: u64 = runs.iter().filter(|r| r.0 == side).map(|r| r.1).sum();
                assert_eq!(total, iters, "side {side}, {iters} in blocks of {block}");
            }
            assert!(runs.iter().all(|r| r.1 <= block));
            // B goes first in even blocks, A in odd ones.
            for (i, pair) in runs.chunks(2).enumerate() {
                let first = if i % 2 == 0 { 'b' } else { 'a' };
                assert_eq!(
                    pair[0].0, first,
                    "block {i} of {iters} in blocks of {block}"
                );
            }
        }
    }
}
