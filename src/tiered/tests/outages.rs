//! The cache cut off or refusing: which writes go through, which are
//! refused, and what each instance serves afterwards.
#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use super::*;

/// Two instances share one cache: while it is down, a write or a logout the
/// first cannot invalidate in the cache is refused, so the second never
/// serves the old state once the cache is back. Reads and new sessions go on.
#[tokio::test]
async fn by_default_an_unreachable_cache_refuses_writes_to_stored_sessions_only() {
    let (store, cache, key, v1) = setup();
    let other = TieredStore::new(cache.clone(), store.durable().clone())
        .with_circuit_breaker(CircuitBreaker::off());
    store.create(&key, &v1, 0).await.unwrap();
    cache.down.store(true, Ordering::SeqCst);
    for durability in [Durability::Quick, Durability::Durable] {
        let refused = store.save(&key, &version(2, "b"), 1, durability, 1).await;
        assert!(
            matches!(&refused, Err(e) if e.is_retryable()),
            "{durability:?}: {refused:?}"
        );
    }
    let refused = store.delete(&key, 1).await;
    assert!(
        matches!(&refused, Err(e) if e.is_retryable()),
        "{refused:?}"
    );
    let refused = store.delete_unless_newer(&key, 1, 1).await;
    assert!(
        matches!(&refused, Err(e) if e.is_retryable()),
        "{refused:?}"
    );
    assert_eq!(store.metrics().snapshot().writes_refused_cache_outage, 4);
    // Nothing was written; reads fall back to the durable tier.
    assert_eq!(
        store.durable().load(&key, 1).await.unwrap(),
        Some(v1.clone())
    );
    assert_eq!(store.load(&key, 1).await.unwrap(), Some(v1.clone()));
    assert_eq!(store.keys_awaiting_cache_repair(), 0);
    // A new session is created (its key has no cache entry to go stale).
    let fresh = StoreKeyHasher::new(&[4u8; 32])
        .unwrap()
        .key_for(&SessionId::generate().unwrap());
    store.create(&fresh, &v1, 1).await.unwrap();
    // Back up: both instances agree, and the write goes through.
    cache.down.store(false, Ordering::SeqCst);
    assert_eq!(other.load(&key, 2).await.unwrap(), Some(v1.clone()));
    store.delete(&key, 2).await.unwrap();
    assert_eq!(other.load(&key, 2).await.unwrap(), None);
    assert_eq!(other.load(&fresh, 2).await.unwrap(), Some(v1));
}

#[tokio::test]
async fn writing_durably_an_unreachable_cache_does_not_block_saves_and_is_repaired_after() {
    let (store, cache, key, v1) = setup();
    let store = store.with_cache_outage_writes(CacheOutageWrites::WriteDurably);
    store.create(&key, &v1, 0).await.unwrap();
    cache.down.store(true, Ordering::SeqCst);
    let v2 = version(2, "b");
    store
        .save(&key, &v2, 1, Durability::Durable, 1)
        .await
        .unwrap();
    assert_eq!(store.keys_awaiting_cache_repair(), 1);
    // While down, and once back (still holding v1), this store serves v2.
    assert_eq!(store.load(&key, 2).await.unwrap(), Some(v2.clone()));
    cache.down.store(false, Ordering::SeqCst);
    assert_eq!(cache.held(&key), Some(v1));
    assert_eq!(store.load(&key, 2).await.unwrap(), Some(v2.clone()));
    // The read repaired the entry.
    assert_eq!(cache.held(&key), Some(v2.clone()));
    assert_eq!(store.keys_awaiting_cache_repair(), 0);
    // A quick save on a suspect key goes durable rather than comparing
    // against a stale entry.
    cache.down.store(true, Ordering::SeqCst);
    let v3 = version(3, "c");
    store
        .save(&key, &v3, 2, Durability::Durable, 3)
        .await
        .unwrap();
    cache.down.store(false, Ordering::SeqCst);
    let v4 = version(4, "d");
    store
        .save(&key, &v4, 3, Durability::Quick, 4)
        .await
        .unwrap();
    assert_eq!(
        store.durable().load(&key, 4).await.unwrap(),
        Some(v4.clone())
    );
    assert_eq!(store.load(&key, 4).await.unwrap(), Some(v4));
}

#[tokio::test]
async fn writing_durably_a_logout_with_the_cache_down_deletes_and_is_not_served() {
    let (store, cache, key, v1) = setup();
    let store = store.with_cache_outage_writes(CacheOutageWrites::WriteDurably);
    store.create(&key, &v1, 0).await.unwrap();
    cache.down.store(true, Ordering::SeqCst);
    store.delete(&key, 1).await.unwrap();
    cache.down.store(false, Ordering::SeqCst);
    // The cache still holds v1, but this store knows better and repairs it.
    assert_eq!(store.load(&key, 1).await.unwrap(), None);
    assert_eq!(store.keys_awaiting_cache_repair(), 0);
    assert_eq!(store.load(&key, 1).await.unwrap(), None);
}

#[tokio::test]
async fn a_conflicting_durable_save_keeps_the_newer_quick_save() {
    let (store, cache, key, v1) = setup();
    store.create(&key, &v1, 0).await.unwrap();
    let quick = version(2, "quick");
    store
        .save(&key, &quick, 1, Durability::Quick, 1)
        .await
        .unwrap();
    let stale = store
        .save(&key, &version(2, "stale"), 1, Durability::Durable, 2)
        .await;
    assert!(matches!(stale, Err(Error::Conflict)), "{stale:?}");
    assert_eq!(cache.held(&key), Some(quick.clone()));
    assert_eq!(store.load(&key, 3).await.unwrap(), Some(quick));
}

#[tokio::test]
async fn an_expired_session_is_not_found_even_behind_a_newer_cache_entry() {
    // The cache still holds version 5 past its expiry (a real cache filters
    // expired entries on read but evicts them later).
    let (store, cache, key, _) = setup();
    let mut v5 = version(5, "a");
    v5.expires_at = 100;
    store.create(&key, &v5, 0).await.unwrap();
    assert_eq!(cache.held(&key), Some(v5.clone()));
    for durability in [Durability::Quick, Durability::Durable] {
        let late = store
            .save(&key, &version(2, "late"), 1, durability, 200)
            .await;
        assert!(
            matches!(late, Err(Error::NotFound)),
            "{durability:?}: {late:?}"
        );
    }
    assert_eq!(store.load(&key, 200).await.unwrap(), None);
}

/// One failed cache call is a blip, not an outage: the invalidation before a
/// durable save is tried once more, and the write goes through. Two in a row
/// refuse it.
#[tokio::test]
async fn one_failed_invalidation_is_retried_before_a_write_is_refused() {
    let (store, cache, key, v1) = setup();
    store.create(&key, &v1, 0).await.unwrap();
    cache.fail_next.store(1, Ordering::SeqCst);
    let v2 = version(2, "b");
    store
        .save(&key, &v2, 1, Durability::Durable, 1)
        .await
        .unwrap();
    assert_eq!(store.load(&key, 1).await.unwrap(), Some(v2.clone()));
    cache.fail_next.store(2, Ordering::SeqCst);
    let refused = store
        .save(&key, &version(3, "c"), 2, Durability::Durable, 2)
        .await;
    assert!(
        matches!(&refused, Err(e) if e.is_retryable()),
        "{refused:?}"
    );
    assert_eq!(store.durable().load(&key, 2).await.unwrap(), Some(v2));
}
