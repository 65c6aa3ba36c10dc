//! The circuit breaker: a hung or failing cache skipped, probed in the
//! background, and its failures logged a few times, not once per call.
#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use super::*;

#[tokio::test(start_paused = true)]
async fn a_hung_cache_is_skipped_after_a_few_calls_then_probed_and_repaired() {
    let (_, cache, key, v1) = setup();
    let store = TieredStore::new(cache.clone(), Arc::new(Durable::default()))
        .with_cache_timeout(Duration::from_millis(50))
        .with_circuit_breaker(CircuitBreaker {
            failures: 3,
            cool_down: Duration::from_secs(1),
        });
    store.create(&key, &v1, 0).await.unwrap();
    cache.hung.store(true, Ordering::SeqCst);
    let before = cache.calls.load(Ordering::SeqCst);
    for _ in 0..20 {
        assert_eq!(store.load(&key, 1).await.unwrap(), Some(v1.clone()));
    }
    // Three calls waited out the deadline; the other seventeen never asked.
    assert_eq!(cache.calls.load(Ordering::SeqCst) - before, 3);
    assert!(store.cache_circuit_open());
    assert_eq!(store.metrics().snapshot().cache_calls_skipped, 17);
    assert_eq!(store.metrics().snapshot().cache_circuit_opens, 1);
    // A save while open is refused at once (no deadline waited out).
    let v2 = version(2, "b");
    let calls = cache.calls.load(Ordering::SeqCst);
    let refused = store.save(&key, &v2, 1, Durability::Quick, 2).await;
    assert!(
        matches!(&refused, Err(e) if e.is_retryable()),
        "{refused:?}"
    );
    assert_eq!(cache.calls.load(Ordering::SeqCst), calls);
    assert_eq!(
        store.durable().load(&key, 2).await.unwrap(),
        Some(v1.clone())
    );
    // The cache comes back; after the cool-down one call starts a background
    // probe (the request itself does not wait) that closes the circuit.
    cache.hung.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(store.load(&key, 3).await.unwrap(), Some(v1.clone()));
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(!store.cache_circuit_open());
    store
        .save(&key, &v2, 1, Durability::Quick, 4)
        .await
        .unwrap();
    assert_eq!(cache.held(&key), Some(v2.clone()));
    assert_eq!(store.load(&key, 4).await.unwrap(), Some(v2));
}

/// The same hang with [`CacheOutageWrites::WriteDurably`]: the save is
/// written durably while the circuit is open and the stale entry repaired.
#[tokio::test(start_paused = true)]
async fn writing_durably_a_hung_cache_is_skipped_and_repaired() {
    let (_, cache, key, v1) = setup();
    let store = TieredStore::new(cache.clone(), Arc::new(Durable::default()))
        .with_cache_timeout(Duration::from_millis(50))
        .with_circuit_breaker(CircuitBreaker {
            failures: 3,
            cool_down: Duration::from_secs(1),
        })
        .with_cache_outage_writes(CacheOutageWrites::WriteDurably);
    store.create(&key, &v1, 0).await.unwrap();
    cache.hung.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        assert_eq!(store.load(&key, 1).await.unwrap(), Some(v1.clone()));
    }
    assert!(store.cache_circuit_open());
    let v2 = version(2, "b");
    store
        .save(&key, &v2, 1, Durability::Quick, 2)
        .await
        .unwrap();
    assert_eq!(
        store.durable().load(&key, 2).await.unwrap(),
        Some(v2.clone())
    );
    assert_eq!(store.keys_awaiting_cache_repair(), 1);
    cache.hung.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(store.load(&key, 3).await.unwrap(), Some(v2.clone()));
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(!store.cache_circuit_open());
    // The next read repairs the stale entry (the cache still held v1).
    assert_eq!(cache.held(&key), Some(v1));
    assert_eq!(store.load(&key, 4).await.unwrap(), Some(v2.clone()));
    assert_eq!(cache.held(&key), Some(v2));
    assert_eq!(store.keys_awaiting_cache_repair(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_failing_probe_keeps_the_circuit_open() {
    let (_, cache, key, v1) = setup();
    let store = TieredStore::new(cache.clone(), Arc::new(Durable::default())).with_circuit_breaker(
        CircuitBreaker {
            failures: 2,
            cool_down: Duration::from_secs(1),
        },
    );
    store.create(&key, &v1, 0).await.unwrap();
    cache.down.store(true, Ordering::SeqCst);
    for _ in 0..2 {
        store.load(&key, 1).await.unwrap();
    }
    assert!(store.cache_circuit_open());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = cache.calls.load(Ordering::SeqCst);
    store.load(&key, 2).await.unwrap();
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        cache.calls.load(Ordering::SeqCst) - before,
        1,
        "only the probe asked"
    );
    assert!(store.cache_circuit_open());
}

/// Captured log lines.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Issue 15: during an outage the store logged one line per failed call
/// (1 632 WARN lines for a 1.5 s Redis restart under 32 clients). Identical
/// failures are now logged once and summarized per window; the metrics still
/// count every one.
#[tokio::test]
async fn an_outage_is_a_few_log_lines_not_one_per_call() {
    let logs = Logs::default();
    let writer = logs.clone();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish(),
    );
    let (_, cache, key, v1) = setup();
    // Breaker off: every call reaches the failing cache and fails.
    let store = TieredStore::new(cache.clone(), Arc::new(Durable::default()))
        .with_circuit_breaker(CircuitBreaker::off());
    store.create(&key, &v1, 0).await.unwrap();
    cache.down.store(true, Ordering::SeqCst);
    for current in 1..=500 {
        store.load(&key, 1).await.unwrap();
        let next = version(2, &format!("k{current}"));
        let refused = store.save(&key, &next, 1, Durability::Durable, 1).await;
        assert!(refused.is_err(), "{refused:?}");
    }
    let errors = store.metrics().snapshot().cache_errors;
    assert!(errors >= 1000, "every failed call is counted: {errors}");
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let lines = text.lines().count();
    assert!(
        lines <= 10,
        "{lines} log lines for {errors} failed calls:\n{text}"
    );
}
