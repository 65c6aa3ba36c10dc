//! The Redis cache tier against real Redis, standalone and cluster: the exact
//! semantics of the reference (memory) cache tier, Lua edge cases, TTLs, hash
//! slots, deadlines and error classes.
//!
//! Needs `TS_REDIS_URL` and `TS_REDIS_CLUSTER_URLS` (`scripts/services env`).

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

mod support;

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use support::{Case, env, trials, unique};
use tiered_sessions::{CacheOutcome, CacheTier, Error, Record, StoreKey};
use tiered_sessions_redis::{RedisCache, redis};

type Cache = Arc<RedisCache>;

const NOW: u64 = 1_800_000_000;

fn key() -> StoreKey {
    StoreKey::from_stored(format!("{:0>64}", unique().replace('-', "")))
}

fn rec(version: u64, expires_at: u64) -> Record {
    let mut r = Record {
        version,
        expires_at,
        created_at: NOW - 10,
        last_active: NOW - 5,
        ..Record::default()
    };
    r.data.insert("v".into(), version.to_le_bytes().to_vec());
    r
}

fn standalone() -> Cache {
    let url = std::env::var("TS_REDIS_URL").unwrap_or_default();
    Arc::new(
        RedisCache::standalone(url)
            .key_prefix(format!("test:{}:", unique()))
            .call_timeout(Duration::from_secs(2))
            .build()
            .expect("valid settings"),
    )
}

fn cluster() -> Cache {
    let urls = std::env::var("TS_REDIS_CLUSTER_URLS").unwrap_or_default();
    Arc::new(
        RedisCache::cluster(urls.split(','))
            .key_prefix(format!("test:{}:", unique()))
            .call_timeout(Duration::from_secs(2))
            .build()
            .expect("valid settings"),
    )
}

async fn version(c: &Cache, k: &StoreKey, now: u64) -> Option<u64> {
    c.get(k, now).await.expect("get").map(|r| r.version)
}

async fn round_trip_and_expiry(c: Cache) {
    let k = key();
    assert_eq!(c.get(&k, NOW).await.unwrap(), None);
    let r = rec(3, NOW + 100);
    c.put_if_newer(&k, &r, NOW).await.unwrap();
    assert_eq!(c.get(&k, NOW).await.unwrap(), Some(r));
    // Expired by the caller's clock even though Redis still holds it.
    assert_eq!(version(&c, &k, NOW + 99).await, Some(3));
    assert_eq!(version(&c, &k, NOW + 100).await, None);
}

async fn ttl_is_the_remaining_lifetime(c: Cache) {
    let k = key();
    c.put_if_newer(&k, &rec(1, NOW + 500), NOW).await.unwrap();
    let ttl: i64 = c
        .query(redis::cmd("TTL").arg(c.redis_key(&k)))
        .await
        .unwrap();
    assert!((495..=500).contains(&ttl), "ttl {ttl}");
    c.touch(&k, NOW + 9000, NOW + 1, NOW).await.unwrap();
    let ttl: i64 = c
        .query(redis::cmd("TTL").arg(c.redis_key(&k)))
        .await
        .unwrap();
    assert!((8995..=9000).contains(&ttl), "ttl after touch {ttl}");
}

async fn put_if_newer_keeps_same_or_newer(c: Cache) {
    let k = key();
    c.put_if_newer(&k, &rec(5, NOW + 100), NOW).await.unwrap();
    let mut same = rec(5, NOW + 100);
    same.data.insert("other".into(), vec![1]);
    c.put_if_newer(&k, &same, NOW).await.unwrap();
    assert!(
        !c.get(&k, NOW)
            .await
            .unwrap()
            .unwrap()
            .data
            .contains_key("other")
    );
    c.put_if_newer(&k, &rec(4, NOW + 100), NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, Some(5));
    c.put_if_newer(&k, &rec(6, NOW + 100), NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, Some(6));
    // An expired record is not cached; an expired cached one is replaced.
    let k2 = key();
    c.put_if_newer(&k2, &rec(9, NOW), NOW).await.unwrap();
    assert_eq!(version(&c, &k2, NOW - 1).await, None);
    c.put_if_newer(&k2, &rec(9, NOW + 10), NOW).await.unwrap();
    c.put_if_newer(&k2, &rec(2, NOW + 100), NOW + 20)
        .await
        .unwrap();
    assert_eq!(version(&c, &k2, NOW + 20).await, Some(2));
}

async fn versions_compare_exactly_beyond_2_pow_53(c: Cache) {
    // Doubles cannot tell these apart; the scripts compare digits.
    let big = 1u64 << 53;
    let k = key();
    c.put_if_newer(&k, &rec(big + 1, NOW + 100), NOW)
        .await
        .unwrap();
    c.put_if_newer(&k, &rec(big, NOW + 100), NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, Some(big + 1));
    c.put_if_newer(&k, &rec(big + 2, NOW + 100), NOW)
        .await
        .unwrap();
    assert_eq!(version(&c, &k, NOW).await, Some(big + 2));
    assert_eq!(
        c.compare_and_swap(&k, &rec(big + 3, NOW + 100), big + 1, NOW)
            .await
            .unwrap(),
        CacheOutcome::Conflict
    );
    assert!(matches!(
        c.invalidate(&k, big + 1, NOW).await,
        Ok(CacheOutcome::Conflict)
    ));
    assert_eq!(
        c.invalidate(&k, big + 2, NOW).await.unwrap(),
        CacheOutcome::Done
    );
    assert_eq!(version(&c, &k, NOW).await, None);
    let k = key();
    c.put_if_newer(&k, &rec(u64::MAX - 1, NOW + 100), NOW)
        .await
        .unwrap();
    c.put_if_newer(&k, &rec(u64::MAX, NOW + 100), NOW)
        .await
        .unwrap();
    assert_eq!(version(&c, &k, NOW).await, Some(u64::MAX));
    // Shorter numbers are smaller, whatever their digits.
    let k = key();
    c.put_if_newer(&k, &rec(9, NOW + 100), NOW).await.unwrap();
    c.put_if_newer(&k, &rec(10, NOW + 100), NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, Some(10));
}

async fn compare_and_swap_outcomes(c: Cache) {
    let k = key();
    assert_eq!(
        c.compare_and_swap(&k, &rec(2, NOW + 100), 1, NOW)
            .await
            .unwrap(),
        CacheOutcome::Missing
    );
    assert_eq!(
        version(&c, &k, NOW).await,
        None,
        "a missing swap writes nothing"
    );
    c.put_if_newer(&k, &rec(1, NOW + 100), NOW).await.unwrap();
    assert_eq!(
        c.compare_and_swap(&k, &rec(3, NOW + 100), 2, NOW)
            .await
            .unwrap(),
        CacheOutcome::Conflict
    );
    assert_eq!(
        c.compare_and_swap(&k, &rec(2, NOW + 200), 1, NOW)
            .await
            .unwrap(),
        CacheOutcome::Done
    );
    assert_eq!(version(&c, &k, NOW + 150).await, Some(2));
    // Expired counts as missing.
    assert_eq!(
        c.compare_and_swap(&k, &rec(3, NOW + 900), 2, NOW + 200)
            .await
            .unwrap(),
        CacheOutcome::Missing
    );
}

async fn deletion_marker_blocks_refill_then_lapses(c: Cache) {
    let k = key();
    c.put_if_newer(&k, &rec(1, NOW + 1000), NOW).await.unwrap();
    c.delete(&k, NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, None);
    c.put_if_newer(&k, &rec(7, NOW + 1000), NOW + 1)
        .await
        .unwrap();
    assert_eq!(
        version(&c, &k, NOW + 1).await,
        None,
        "marker blocks a refill"
    );
    assert_eq!(
        c.compare_and_swap(&k, &rec(2, NOW + 1000), 1, NOW + 1)
            .await
            .unwrap(),
        CacheOutcome::Missing
    );
    c.touch(&k, NOW + 5000, NOW + 2, NOW + 2).await.unwrap();
    assert_eq!(
        version(&c, &k, NOW + 2).await,
        None,
        "touch does not revive"
    );
    // invalidate leaves the marker in place.
    c.evict(&k, NOW).await.unwrap();
    c.put_if_newer(&k, &rec(7, NOW + 1000), NOW + 3)
        .await
        .unwrap();
    assert_eq!(version(&c, &k, NOW + 3).await, None);
    // Past its 60 s (by the caller's clock) the marker no longer blocks.
    c.put_if_newer(&k, &rec(7, NOW + 1000), NOW + 60)
        .await
        .unwrap();
    assert_eq!(version(&c, &k, NOW + 60).await, Some(7));
    let ttl: i64 = c
        .query(redis::cmd("TTL").arg(c.redis_key(&key())))
        .await
        .unwrap();
    assert_eq!(ttl, -2, "an unknown key has no TTL");
}

async fn deletion_marker_expires_in_redis(c: Cache) {
    let k = key();
    c.delete(&k, NOW).await.unwrap();
    let ttl: i64 = c
        .query(redis::cmd("TTL").arg(c.redis_key(&k)))
        .await
        .unwrap();
    assert!((55..=60).contains(&ttl), "marker ttl {ttl}");
}

async fn invalidate_semantics(c: Cache) {
    let k = key();
    assert_eq!(c.invalidate(&k, 3, NOW).await.unwrap(), CacheOutcome::Done);
    c.put_if_newer(&k, &rec(4, NOW + 100), NOW).await.unwrap();
    assert!(matches!(
        c.invalidate(&k, 3, NOW).await,
        Ok(CacheOutcome::Conflict)
    ));
    assert_eq!(
        version(&c, &k, NOW).await,
        Some(4),
        "a newer quick save stays"
    );
    assert_eq!(c.invalidate(&k, 4, NOW).await.unwrap(), CacheOutcome::Done);
    assert_eq!(version(&c, &k, NOW).await, None);
    c.put_if_newer(&k, &rec(4, NOW + 100), NOW).await.unwrap();
    c.evict(&k, NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, None);
}

/// A reader that read the durable tier before a save must not put its older
/// copy back after the saver invalidated the cache: the cache would then be
/// behind what the saver's client was told (and a key-level rebase of that
/// client's next request would lose its update).
async fn a_refill_older_than_a_pending_save_is_refused(c: Cache) {
    let k = key();
    c.put_if_newer(&k, &rec(5, NOW + 100), NOW).await.unwrap();
    assert_eq!(c.invalidate(&k, 5, NOW).await.unwrap(), CacheOutcome::Done); // a durable save of v6 begins
    c.put_if_newer(&k, &rec(5, NOW + 100), NOW).await.unwrap(); // a late reader's refill
    assert_eq!(version(&c, &k, NOW).await, None);
    assert_eq!(
        c.compare_and_swap(&k, &rec(6, NOW + 100), 5, NOW)
            .await
            .unwrap(),
        CacheOutcome::Missing
    );
    // A failed save's "drop whatever is cached" keeps the floor.
    c.evict(&k, NOW).await.unwrap();
    c.put_if_newer(&k, &rec(5, NOW + 100), NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, None);
    let ttl: i64 = c
        .query(redis::cmd("TTL").arg(c.redis_key(&k)))
        .await
        .unwrap();
    assert!((1..=30).contains(&ttl), "a floor is short-lived: {ttl}");
    // The save's own refill (or anything newer) goes in.
    c.put_if_newer(&k, &rec(6, NOW + 100), NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, Some(6));
    // Dropping a cached record leaves a floor at its version: it was durable.
    c.evict(&k, NOW).await.unwrap();
    c.put_if_newer(&k, &rec(5, NOW + 100), NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, None);
    c.put_if_newer(&k, &rec(6, NOW + 100), NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, Some(6));
    // Floors only rise.
    let k = key();
    assert_eq!(c.invalidate(&k, 7, NOW).await.unwrap(), CacheOutcome::Done);
    assert_eq!(c.invalidate(&k, 3, NOW).await.unwrap(), CacheOutcome::Done);
    c.put_if_newer(&k, &rec(7, NOW + 100), NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, None);
    c.put_if_newer(&k, &rec(8, NOW + 100), NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, Some(8));
}

async fn touch_updates_times_not_version_and_ignores_missing(c: Cache) {
    let k = key();
    c.touch(&k, NOW + 100, NOW, NOW).await.unwrap();
    let exists: i64 = c
        .query(redis::cmd("EXISTS").arg(c.redis_key(&k)))
        .await
        .unwrap();
    assert_eq!(exists, 0, "touch creates nothing");
    let r = rec(8, NOW + 100);
    c.put_if_newer(&k, &r, NOW).await.unwrap();
    c.touch(&k, NOW + 700, NOW + 50, NOW + 50).await.unwrap();
    let got = c
        .get(&k, NOW + 600)
        .await
        .unwrap()
        .expect("still live after touch");
    assert_eq!(
        (
            got.version,
            got.expires_at,
            got.last_active,
            got.created_at,
            &got.data
        ),
        (8, NOW + 700, NOW + 50, r.created_at, &r.data)
    );
    // A swap after a touch rewrites all fields.
    let mut next = rec(9, NOW + 300);
    next.last_active = NOW + 60;
    assert_eq!(
        c.compare_and_swap(&k, &next, 8, NOW + 60).await.unwrap(),
        CacheOutcome::Done
    );
    assert_eq!(c.get(&k, NOW + 60).await.unwrap(), Some(next));
    // An expired entry is not touched back to life.
    c.touch(&k, NOW + 5000, NOW + 400, NOW + 400).await.unwrap();
    assert_eq!(version(&c, &k, NOW + 400).await, None);
}

async fn too_large_is_typed(c: Cache) {
    let k = key();
    let mut r = rec(1, NOW + 100);
    r.data
        .insert("big".into(), vec![0; c.max_record_bytes() + 1]);
    assert!(matches!(
        c.put_if_newer(&k, &r, NOW).await,
        Err(Error::TooLarge { .. })
    ));
    assert!(matches!(
        c.compare_and_swap(&k, &r, 0, NOW).await,
        Err(Error::TooLarge { .. })
    ));
}

/// Redis's script cache is server-wide: the case that flushes it and the case
/// that counts the commands of a loaded script must not overlap.
static SCRIPT_CACHE: LazyLock<tokio::sync::Mutex<()>> =
    LazyLock::new(|| tokio::sync::Mutex::new(()));

async fn a_read_is_one_command(c: Cache) {
    let _script_cache = SCRIPT_CACHE.lock().await;
    let k = key();
    c.put_if_newer(&k, &rec(1, NOW + 100), NOW).await.unwrap();
    c.get(&k, NOW).await.unwrap();
    let before = c.commands_sent();
    for _ in 0..10 {
        assert_eq!(version(&c, &k, NOW).await, Some(1));
    }
    assert_eq!(c.commands_sent() - before, 10);
    // The first use of a script on a server may load it (NOSCRIPT, SCRIPT LOAD).
    c.compare_and_swap(&k, &rec(2, NOW + 100), 1, NOW)
        .await
        .unwrap();
    let before = c.commands_sent();
    let out = c
        .compare_and_swap(&k, &rec(3, NOW + 100), 2, NOW)
        .await
        .unwrap();
    assert_eq!(out, CacheOutcome::Done);
    assert_eq!(
        c.commands_sent() - before,
        1,
        "a loaded script is one EVALSHA"
    );
}

async fn wrong_type_under_the_key_is_a_permanent_error(c: Cache) {
    let k = key();
    let _: () = c
        .query(
            redis::cmd("SET")
                .arg(c.redis_key(&k))
                .arg("not a hash")
                .arg("EX")
                .arg(60),
        )
        .await
        .unwrap();
    let err = c.get(&k, NOW).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Backend {
                backend: "redis",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    // Corrupt record bytes are a codec error, not a panic.
    let k = key();
    let _: () = c
        .query(
            redis::cmd("HSET")
                .arg(c.redis_key(&k))
                .arg("r")
                .arg(&[9u8, 9, 9][..])
                .arg("e")
                .arg("x"),
        )
        .await
        .unwrap();
    assert!(matches!(c.get(&k, NOW).await, Err(Error::Codec { .. })));
    let _: () = c
        .query(redis::cmd("DEL").arg(c.redis_key(&k)))
        .await
        .unwrap();
}

/// Plant raw fields under `k`'s Redis key (as another process could).
async fn plant(c: &Cache, k: &StoreKey, fields: &[(&str, Vec<u8>)], ttl: Option<u64>) {
    let rk = c.redis_key(k);
    let _: () = c.query(redis::cmd("DEL").arg(&rk)).await.unwrap();
    let mut cmd = redis::cmd("HSET");
    cmd.arg(&rk);
    for (f, v) in fields {
        cmd.arg(*f).arg(v.as_slice());
    }
    let _: () = c.query(&cmd).await.unwrap();
    if let Some(ttl) = ttl {
        let _: () = c
            .query(redis::cmd("EXPIRE").arg(&rk).arg(ttl))
            .await
            .unwrap();
    }
}

async fn exists(c: &Cache, k: &StoreKey) -> bool {
    c.query::<i64>(redis::cmd("EXISTS").arg(c.redis_key(k)))
        .await
        .unwrap()
        == 1
}

/// Issue 16: a garbage version floor (or deletion marker) without a TTL, or
/// with one longer than a floor ever gets, blocked refills of the key for
/// ever. Floors and markers count only while they expire.
async fn a_floor_or_marker_that_never_expires_blocks_nothing(c: Cache) {
    let far = (NOW + 10 * 365 * 24 * 3600).to_string().into_bytes();
    for (fields, ttl) in [
        (vec![("f", b"99999999".to_vec())], None),
        (vec![("f", b"99999999".to_vec())], Some(24 * 3600)),
        (vec![("x", far.clone())], None),
    ] {
        let k = key();
        plant(&c, &k, &fields, ttl).await;
        c.put_if_newer(&k, &rec(5, NOW + 100), NOW).await.unwrap();
        assert_eq!(
            version(&c, &k, NOW).await,
            Some(5),
            "{fields:?} ttl {ttl:?}"
        );
    }
    // A floor as the cache leaves it still refuses an older refill.
    let k = key();
    c.put_if_newer(&k, &rec(4, NOW + 100), NOW).await.unwrap();
    assert_eq!(c.invalidate(&k, 4, NOW).await.unwrap(), CacheOutcome::Done);
    c.put_if_newer(&k, &rec(4, NOW + 100), NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, None);
    // A garbage floor is not carried into the next one.
    let k = key();
    plant(&c, &k, &[("f", b"99999999".to_vec())], None).await;
    assert_eq!(c.invalidate(&k, 4, NOW).await.unwrap(), CacheOutcome::Done);
    c.put_if_newer(&k, &rec(5, NOW + 100), NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, Some(5));
}

/// Issue 16: a `v` field that disagrees with the record's own version made
/// every quick save conflict, for as long as the entry lived (lasting 503s).
/// It is a miss now, and the entry is dropped so a refill repairs it.
async fn a_version_field_that_disagrees_is_a_miss_and_repaired(c: Cache) {
    use tiered_sessions::{Durability, SessionStore, TieredStore};
    let k = key();
    let r3 = rec(3, NOW + 100);
    c.put_if_newer(&k, &r3, NOW).await.unwrap();
    let _: () = c
        .query(redis::cmd("HSET").arg(c.redis_key(&k)).arg("v").arg("7"))
        .await
        .unwrap();
    assert_eq!(c.get(&k, NOW).await.unwrap(), None);
    assert!(!exists(&c, &k).await, "the unusable entry is dropped");
    c.put_if_newer(&k, &r3, NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, Some(3));
    // Through a tiered store: a quick save over the broken entry succeeds.
    let durable = Arc::new(tiered_sessions_memory::MemoryStore::new());
    let store = TieredStore::new(c.clone(), durable.clone());
    let k = key();
    store.create(&k, &rec(3, NOW + 100), NOW).await.unwrap();
    let _: () = c
        .query(redis::cmd("HSET").arg(c.redis_key(&k)).arg("v").arg("7"))
        .await
        .unwrap();
    store
        .save(&k, &rec(4, NOW + 100), 3, Durability::Quick, NOW)
        .await
        .expect("a save over a broken cache entry goes through");
    assert_eq!(
        store.load(&k, NOW).await.unwrap().map(|r| r.version),
        Some(4)
    );
    store
        .save(&k, &rec(5, NOW + 100), 4, Durability::Quick, NOW)
        .await
        .unwrap();
}

/// Issue 16: records read back had no size limit (a planted 3.2 MB record of
/// 200 000 keys was decoded). One over the cache's limit is a miss, not decoded.
async fn an_oversized_cached_record_is_a_miss_not_decoded(c: Cache) {
    let k = key();
    let mut huge = rec(2, NOW + 100);
    for i in 0..200_000u32 {
        huge.data.insert(format!("k{i:06}"), vec![1]);
    }
    let bytes = tiered_sessions::codec::encode_record(&huge);
    assert!(bytes.len() > c.max_record_bytes());
    plant(
        &c,
        &k,
        &[
            ("v", b"2".to_vec()),
            ("r", bytes),
            ("e", (NOW + 100).to_string().into_bytes()),
            ("l", NOW.to_string().into_bytes()),
        ],
        Some(100),
    )
    .await;
    assert_eq!(c.get(&k, NOW).await.unwrap(), None);
    assert!(!exists(&c, &k).await, "the oversized entry is dropped");
}

async fn keys_carry_the_store_key_as_hash_tag(c: Cache) {
    let k = key();
    let rk = c.redis_key(&k);
    assert!(rk.starts_with(c.key_prefix()));
    assert!(rk.ends_with(&format!("{{{}}}", k.as_str())));
    let a: i64 = c
        .query(redis::cmd("CLUSTER").arg("KEYSLOT").arg(&rk))
        .await
        .unwrap();
    let b: i64 = c
        .query(redis::cmd("CLUSTER").arg("KEYSLOT").arg(k.as_str()))
        .await
        .unwrap();
    assert_eq!(a, b, "the slot is the store key's, not the prefix's");
    // Sessions spread over slots (and so over the cluster's nodes).
    let mut slots = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let k = key();
        c.put_if_newer(&k, &rec(1, NOW + 100), NOW).await.unwrap();
        assert_eq!(version(&c, &k, NOW).await, Some(1));
        let slot: i64 = c
            .query(redis::cmd("CLUSTER").arg("KEYSLOT").arg(c.redis_key(&k)))
            .await
            .unwrap();
        slots.insert(slot);
    }
    assert!(slots.len() > 10, "{slots:?}");
}

async fn scripts_reload_after_a_script_flush(c: Cache) {
    let _script_cache = SCRIPT_CACHE.lock().await;
    let k = key();
    c.put_if_newer(&k, &rec(1, NOW + 100), NOW).await.unwrap();
    let _: () = c.query(redis::cmd("SCRIPT").arg("FLUSH")).await.unwrap();
    assert_eq!(
        c.compare_and_swap(&k, &rec(2, NOW + 100), 1, NOW)
            .await
            .unwrap(),
        CacheOutcome::Done
    );
}

const CASES: &[(&str, Case<Cache>)] = &[
    ("round_trip_and_expiry", |c| {
        Box::pin(round_trip_and_expiry(c))
    }),
    ("ttl_is_the_remaining_lifetime", |c| {
        Box::pin(ttl_is_the_remaining_lifetime(c))
    }),
    ("put_if_newer_keeps_same_or_newer", |c| {
        Box::pin(put_if_newer_keeps_same_or_newer(c))
    }),
    ("versions_compare_exactly_beyond_2_pow_53", |c| {
        Box::pin(versions_compare_exactly_beyond_2_pow_53(c))
    }),
    ("compare_and_swap_outcomes", |c| {
        Box::pin(compare_and_swap_outcomes(c))
    }),
    ("deletion_marker_blocks_refill_then_lapses", |c| {
        Box::pin(deletion_marker_blocks_refill_then_lapses(c))
    }),
    ("deletion_marker_expires_in_redis", |c| {
        Box::pin(deletion_marker_expires_in_redis(c))
    }),
    ("invalidate_semantics", |c| {
        Box::pin(invalidate_semantics(c))
    }),
    ("a_refill_older_than_a_pending_save_is_refused", |c| {
        Box::pin(a_refill_older_than_a_pending_save_is_refused(c))
    }),
    ("touch_updates_times_not_version_and_ignores_missing", |c| {
        Box::pin(touch_updates_times_not_version_and_ignores_missing(c))
    }),
    ("too_large_is_typed", |c| Box::pin(too_large_is_typed(c))),
    ("a_read_is_one_command", |c| {
        Box::pin(a_read_is_one_command(c))
    }),
    ("wrong_type_under_the_key_is_a_permanent_error", |c| {
        Box::pin(wrong_type_under_the_key_is_a_permanent_error(c))
    }),
    ("a_floor_or_marker_that_never_expires_blocks_nothing", |c| {
        Box::pin(a_floor_or_marker_that_never_expires_blocks_nothing(c))
    }),
    (
        "a_version_field_that_disagrees_is_a_miss_and_repaired",
        |c| Box::pin(a_version_field_that_disagrees_is_a_miss_and_repaired(c)),
    ),
    ("an_oversized_cached_record_is_a_miss_not_decoded", |c| {
        Box::pin(an_oversized_cached_record_is_a_miss_not_decoded(c))
    }),
];

const CLUSTER_ONLY: &[(&str, Case<Cache>)] = &[("keys_carry_the_store_key_as_hash_tag", |c| {
    Box::pin(keys_carry_the_store_key_as_hash_tag(c))
})];

const STANDALONE_ONLY: &[(&str, Case<Cache>)] = &[("scripts_reload_after_a_script_flush", |c| {
    Box::pin(scripts_reload_after_a_script_flush(c))
})];

/// A server that accepts connections and never answers: a hung Redis.
async fn hung_redis_times_out(_: ()) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            open.push(sock);
        }
    });
    let timeout = Duration::from_millis(150);
    let c = RedisCache::standalone(format!("redis://{addr}"))
        .call_timeout(timeout)
        .build()
        .unwrap();
    for _ in 0..3 {
        let err = c.get(&key(), NOW).await.unwrap_err();
        assert!(
            matches!(err, Error::Timeout { backend: "redis", after } if after == timeout),
            "{err:?}"
        );
        assert!(err.is_retryable());
    }
    hold.abort();
}

async fn refused_connection_is_unavailable(_: ()) {
    // Bind then drop, so the port is (almost certainly) closed.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let c = RedisCache::standalone(format!("redis://{addr}"))
        .call_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let err = c
        .put_if_newer(&key(), &rec(1, NOW + 10), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unavailable {
                backend: "redis",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        std::error::Error::source(&err).is_some(),
        "the source is kept"
    );
}

const OFFLINE: &[(&str, Case<()>)] = &[
    ("hung_redis_times_out", |c| {
        Box::pin(hung_redis_times_out(c))
    }),
    ("refused_connection_is_unavailable", |c| {
        Box::pin(refused_connection_is_unavailable(c))
    }),
];

fn main() -> std::process::ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let single = env("TS_REDIS_URL").map(|_| standalone as fn() -> Cache);
    let clus = env("TS_REDIS_CLUSTER_URLS").map(|_| cluster as fn() -> Cache);
    let mut all = trials("standalone", single.clone(), CASES);
    all.extend(trials("standalone", single, STANDALONE_ONLY));
    all.extend(trials("cluster", clus.clone(), CASES));
    all.extend(trials("cluster", clus, CLUSTER_ONLY));
    all.extend(trials("no_server", Ok(|| ()), OFFLINE));
    libtest_mimic::run(&args, all).exit_code()
}
