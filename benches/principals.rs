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
//! `PRINCIPALS_PAIRED=1 cargo bench --bench principals` measures the same
//! requests interleaved instead: rounds of a short block of each case in
//! turn, each block timed, so every difference is taken between blocks a
//! few microseconds apart; it prints the median and quartiles of the
//! per-round differences (`PRINCIPALS_ROUNDS`, default 20 000).

#![allow(missing_docs, clippy::unwrap_used)] // A failed unwrap is a failed bench.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use tiered_sessions::{
    ManualClock, RequestCookies, Session, SessionConfig, SessionManager, SessionStore,
};
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

/// The interleaved measurement (see the module docs).
fn paired() {
    const BLOCK: u32 = 32;
    let rounds: usize = std::env::var("PRINCIPALS_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let quartiles = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
        (at(0.25), at(0.5), at(0.75))
    };
    for (group_name, prefs) in [("cookie_read", 14), ("cookie_read_larger", 15)] {
        let cases = [(false, false), (false, true), (true, false)]
            .map(|(bound, padded)| session(&rt, prefs, bound, padded));
        let mut per_request = [0f64; 3];
        let mut same_size = Vec::with_capacity(rounds);
        let mut bound = Vec::with_capacity(rounds);
        for round in 0..rounds {
            let mut ns = [0f64; 3];
            // Each round starts with another case, so none always runs
            // first after the others.
            for k in 0..3 {
                let i = (round + k) % 3;
                let (manager, header) = &cases[i];
                let start = std::time::Instant::now();
                for _ in 0..BLOCK {
                    read_once(&rt, manager, header);
                }
                ns[i] = start.elapsed().as_nanos() as f64 / f64::from(BLOCK);
            }
            for i in 0..3 {
                per_request[i] += ns[i];
            }
            same_size.push(ns[1] - ns[0]);
            bound.push(ns[2] - ns[0]);
        }
        let mean = per_request.map(|t| t / rounds as f64);
        println!(
            "{group_name}: {rounds} rounds of {BLOCK} requests per case; mean per request: \
             unbound {:.0} ns, unbound_same_size {:.0} ns, bound {:.0} ns",
            mean[0], mean[1], mean[2]
        );
        for (name, diffs) in [("unbound_same_size", same_size), ("bound", bound)] {
            let (q1, median, q3) = quartiles(diffs);
            println!(
                "  {name} - unbound, per round: median {median:+.0} ns (quartiles {q1:+.0} to {q3:+.0} ns)"
            );
        }
    }
}

criterion_group!(benches, read_paths);

fn main() {
    if std::env::var_os("PRINCIPALS_PAIRED").is_some() {
        paired();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
