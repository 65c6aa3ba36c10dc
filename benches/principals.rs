//! What binding sessions to a principal costs the cookie-only path, in one
//! run: a read of one key of a cookie-only session (~1 KiB, and one value
//! larger; see `read_paths`), unbound and bound
//! (revocation checks on, the process-local cache warm: the steady state),
//! at the framework-neutral level (`SessionManager::start`, `Session::get`,
//! `Session::finish`). `unbound_same_size` carries an ordinary value as long
//! as the binding, so `bound` minus it is the check alone, and it minus
//! `unbound` what the binding's bytes cost the cookie codec.
//!
//! `cargo bench --bench principals`. Store round trips of binding and
//! listing are counted, not timed, by the Redis driver's `principal_costs`
//! test.
//!
//! Criterion measures one function after another, and on a shared VM the
//! machine drifts between them by more than the ~100 ns this bench is about.
//! So the `cookie_read_paired` groups measure the differences themselves:
//! each iteration is one request of the case and one of `unbound`, run in
//! alternating blocks of 32, each block timed, and the value criterion
//! analyses is the case's time minus `unbound`'s (the conformance crate's
//! `bench::PairedNanos`), so every
//! difference is taken between blocks a few microseconds apart.

#![allow(missing_docs, clippy::unwrap_used)] // A failed unwrap is a failed bench.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use tiered_sessions::{
    ManualClock, RequestCookies, Session, SessionConfig, SessionManager, SessionStore,
};
use tiered_sessions_conformance::bench::{PairedNanos, paired_difference};
use tiered_sessions_conformance::kit::Jar;
use tiered_sessions_memory::MemoryStore;

const NOW: u64 = 1_800_000_000;

async fn fill(session: &Session, prefs: usize) {
    session.insert("user", "alice@example.com").await.unwrap();
    for i in 0..prefs {
        session
            .insert(&format!("pref{i:02}"), &"v".repeat(56))
            .await
            .unwrap();
    }
}

/// A manager and the `Cookie` header of a cookie-only session of `prefs`
/// 57-byte values (14: ~1 KiB).
fn session(
    rt: &tokio::runtime::Runtime,
    prefs: usize,
    bound: bool,
    padded: bool,
) -> (SessionManager, String) {
    let config = SessionConfig::builder([[0x42u8; 32]])
        .clock(Arc::new(ManualClock::new(NOW)))
        .revocation_check_interval(Duration::from_secs(10))
        .build()
        .unwrap();
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    let manager = SessionManager::with_shared_store(config, store);
    let header = rt.block_on(async {
        let s = manager.start(RequestCookies::from_raw(std::iter::empty::<&[u8]>()));
        fill(&s, prefs).await;
        if bound {
            s.bind_principal("alice@example.com").await.unwrap();
        }
        if padded {
            // Encoded like the binding: a 2-byte key and a 30-byte value.
            s.insert("zb", &"p".repeat(29)).await.unwrap();
        }
        let mut jar = Jar::new();
        jar.update_from(&s.finish(200).await.unwrap());
        let header = jar.header().unwrap();
        // One read warms the revocation cache (the steady state).
        let s = manager.start(RequestCookies::from_raw([header.as_bytes()]));
        assert_eq!(s.is_bound().await.unwrap(), bound);
        s.finish(200).await.unwrap();
        header
    });
    (manager, header)
}

fn read_paths(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // Two sizes, because where a cookie's length falls against SHA-256
    // blocks and allocator size classes moves small differences:
    // `cookie_read` is the ~1 KiB session the figures have always used,
    // `cookie_read_larger` has one more value.
    for (group_name, prefs) in [("cookie_read", 14), ("cookie_read_larger", 15)] {
        let mut group = c.benchmark_group(group_name);
        for (name, bound, padded) in [
            ("unbound", false, false),
            ("unbound_same_size", false, true),
            ("bound", true, false),
        ] {
            let (manager, header) = session(&rt, prefs, bound, padded);
            eprintln!(
                "{group_name}/{name}: a Cookie header of {} bytes",
                header.len()
            );
            group.bench_function(name, |b| {
                b.iter(|| read_once(&rt, &manager, &header));
            });
        }
        group.finish();
    }
}

/// One request of the bench: read one key of the session in `header`.
fn read_once(rt: &tokio::runtime::Runtime, manager: &SessionManager, header: &str) {
    rt.block_on(async {
        let s = manager.start(RequestCookies::from_raw([header.as_bytes()]));
        let user: Option<String> = s.get("user").await.unwrap();
        black_box(user);
        black_box(s.finish(200).await.unwrap());
    });
}

/// `n` requests of one session, in ns.
fn timed_reads(
    rt: &tokio::runtime::Runtime,
    (manager, header): &(SessionManager, String),
    n: u64,
) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        read_once(rt, manager, header);
    }
    start.elapsed().as_nanos() as f64
}

fn paired_reads(c: &mut Criterion<PairedNanos>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for (group_name, prefs) in [
        ("cookie_read_paired", 14),
        ("cookie_read_larger_paired", 15),
    ] {
        let unbound = session(&rt, prefs, false, false);
        let mut group = c.benchmark_group(group_name);
        for (name, bound, padded) in [
            ("unbound_same_size_minus_unbound", false, true),
            ("bound_minus_unbound", true, false),
        ] {
            let case = session(&rt, prefs, bound, padded);
            group.bench_function(name, |b| {
                b.iter_custom(|iters| {
                    paired_difference(
                        iters,
                        |n| timed_reads(&rt, &case, n),
                        |n| timed_reads(&rt, &unbound, n),
                    )
                });
            });
        }
        group.finish();
    }
}

criterion_group!(benches, read_paths);
criterion_group! {
    name = paired;
    // Plots assume positive times; these are differences.
    config = Criterion::default().with_measurement(PairedNanos).without_plots();
    targets = paired_reads
}
criterion_main!(benches, paired);
