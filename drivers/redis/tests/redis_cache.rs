//! The Redis cache tier against real Redis, standalone and cluster: the exact
//! semantics of the reference (memory) cache tier, Lua edge cases, TTLs, hash
//! slots, deadlines and error classes.
//!
//! Needs `TS_REDIS_URL` and `TS_REDIS_CLUSTER_URLS` (`scripts/services env`),
//! and `redis-server` on the PATH (or `TS_REDIS_SERVER`) for the case that
//! starts a server of its own.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

mod support;

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use support::{Case, env, private_redis, trials, unique};
use tiered_sessions::{CacheOutcome, CacheTier, Error, Record, StoreKey};
use tiered_sessions_conformance::kit::redis_server;
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
    // Doubles cannot tell these apart; the scripts compare 32-bit halves.
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
    // Numbers compare as numbers, not as text, across the two halves.
    let k = key();
    c.put_if_newer(&k, &rec(9, NOW + 100), NOW).await.unwrap();
    c.put_if_newer(&k, &rec(10, NOW + 100), NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, Some(10));
    let k = key();
    let low = u64::from(u32::MAX);
    c.put_if_newer(&k, &rec(low + 1, NOW + 100), NOW)
        .await
        .unwrap();
    c.put_if_newer(&k, &rec(low, NOW + 100), NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, Some(low + 1));
    assert_eq!(
        c.invalidate(&k, low, NOW).await.unwrap(),
        CacheOutcome::Conflict
    );
    assert_eq!(
        c.invalidate(&k, low + 1, NOW).await.unwrap(),
        CacheOutcome::Done
    );
    c.put_if_newer(&k, &rec(low + 1, NOW + 100), NOW)
        .await
        .unwrap();
    assert_eq!(version(&c, &k, NOW).await, None, "below the floor");
    c.put_if_newer(&k, &rec(low + 2, NOW + 100), NOW)
        .await
        .unwrap();
    assert_eq!(version(&c, &k, NOW).await, Some(low + 2));
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
    // Invalidating and evicting leave the marker in place.
    assert_eq!(c.invalidate(&k, 1, NOW).await.unwrap(), CacheOutcome::Done);
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

/// An entry of this crate's earlier layout (a HASH per session) after an
/// upgrade: every call treats it as absent, none fails, and the next write
/// replaces it.
async fn an_entry_of_the_old_hash_layout_is_a_miss_and_replaced(c: Cache) {
    let plant_hash = |k: StoreKey| {
        let c = c.clone();
        async move {
            let rk = c.redis_key(&k);
            let _: () = c
                .query(
                    redis::cmd("HSET")
                        .arg(&rk)
                        .arg("v")
                        .arg("2")
                        .arg("r")
                        .arg(tiered_sessions::codec::encode_record(&rec(2, NOW + 100)))
                        .arg("e")
                        .arg((NOW + 100).to_string())
                        .arg("l")
                        .arg(NOW.to_string()),
                )
                .await
                .unwrap();
            let _: () = c
                .query(redis::cmd("EXPIRE").arg(&rk).arg(100))
                .await
                .unwrap();
            k
        }
    };
    let kind = |k: StoreKey| {
        let c = c.clone();
        async move {
            c.query::<String>(redis::cmd("TYPE").arg(c.redis_key(&k)))
                .await
                .unwrap()
        }
    };
    let k = plant_hash(key()).await;
    assert_eq!(c.get(&k, NOW).await.unwrap(), None);
    assert_eq!(
        c.compare_and_swap(&k, &rec(3, NOW + 100), 2, NOW)
            .await
            .unwrap(),
        CacheOutcome::Missing
    );
    c.touch(&k, NOW + 900, NOW, NOW).await.unwrap();
    c.evict(&k, NOW).await.unwrap();
    assert_eq!(
        kind(k.clone()).await,
        "hash",
        "nothing to drop, nothing written"
    );
    c.put_if_newer(&k, &rec(1, NOW + 100), NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, Some(1), "replaced by a refill");
    assert_eq!(kind(k).await, "string");
    // Invalidation and deletion replace it too: a floor, a marker.
    let k = plant_hash(key()).await;
    assert_eq!(c.invalidate(&k, 5, NOW).await.unwrap(), CacheOutcome::Done);
    c.put_if_newer(&k, &rec(5, NOW + 100), NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, None, "the floor holds");
    c.put_if_newer(&k, &rec(6, NOW + 100), NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, Some(6));
    let k = plant_hash(key()).await;
    c.delete(&k, NOW).await.unwrap();
    c.put_if_newer(&k, &rec(5, NOW + 100), NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, None, "the marker holds");
    assert_eq!(kind(k).await, "string");
}

/// A cached record as the README lays it out (the `RedisStore` value):
/// version, expires_at, last_active, created_at (big-endian u64s), then the
/// encoded data.
fn record_value(r: &Record) -> Vec<u8> {
    let mut v = Vec::new();
    for n in [r.version, r.expires_at, r.last_active, r.created_at] {
        v.extend_from_slice(&n.to_be_bytes());
    }
    v.extend_from_slice(&tiered_sessions::codec::encode_data(&r.data));
    v
}

/// A deletion marker (`x`) or a version floor (`f`): the tag, then a
/// big-endian u64.
fn tagged(tag: u8, n: u64) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend_from_slice(&n.to_be_bytes());
    v
}

/// Plant a raw value under `k`'s Redis key (as another process could).
async fn plant(c: &Cache, k: &StoreKey, value: &[u8], ttl: Option<u64>) {
    let mut cmd = redis::cmd("SET");
    cmd.arg(c.redis_key(k)).arg(value);
    if let Some(ttl) = ttl {
        cmd.arg("EX").arg(ttl);
    }
    let _: () = c.query(&cmd).await.unwrap();
}

async fn raw(c: &Cache, k: &StoreKey) -> Option<Vec<u8>> {
    c.query(redis::cmd("GET").arg(c.redis_key(k)))
        .await
        .unwrap()
}

/// What a cache key holds is the documented layout: a record as the store
/// keeps it, a marker, a floor; and a record planted in it by another tool
/// is served.
async fn entries_are_the_documented_layout(c: Cache) {
    let k = key();
    let r = rec(3, NOW + 100);
    c.put_if_newer(&k, &r, NOW).await.unwrap();
    assert_eq!(raw(&c, &k).await, Some(record_value(&r)));
    c.touch(&k, NOW + 700, NOW + 50, NOW).await.unwrap();
    let touched = Record {
        expires_at: NOW + 700,
        last_active: NOW + 50,
        ..r.clone()
    };
    assert_eq!(raw(&c, &k).await, Some(record_value(&touched)));
    assert_eq!(c.invalidate(&k, 3, NOW).await.unwrap(), CacheOutcome::Done);
    assert_eq!(raw(&c, &k).await, Some(tagged(b'f', 4)));
    c.put_if_newer(&k, &r, NOW).await.unwrap();
    assert_eq!(
        raw(&c, &k).await,
        Some(tagged(b'f', 4)),
        "refused by the floor"
    );
    c.delete(&k, NOW).await.unwrap();
    assert_eq!(raw(&c, &k).await, Some(tagged(b'x', NOW + 60)));
    let k = key();
    let mut r = rec(u64::MAX - 1, NOW + 100);
    r.data.insert("other".into(), vec![0; 300]);
    plant(&c, &k, &record_value(&r), Some(100)).await;
    assert_eq!(c.get(&k, NOW).await.unwrap(), Some(r));
    c.evict(&k, NOW).await.unwrap();
    assert_eq!(raw(&c, &k).await, Some(tagged(b'f', u64::MAX - 1)));
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
    let far = NOW + 10 * 365 * 24 * 3600;
    for (value, ttl) in [
        (tagged(b'f', 99_999_999), None),
        (tagged(b'f', 99_999_999), Some(24 * 3600)),
        (tagged(b'x', far), None),
    ] {
        let k = key();
        plant(&c, &k, &value, ttl).await;
        c.put_if_newer(&k, &rec(5, NOW + 100), NOW).await.unwrap();
        assert_eq!(version(&c, &k, NOW).await, Some(5), "{value:?} ttl {ttl:?}");
    }
    // The same planted with the TTLs the cache gives them still block.
    for (value, ttl) in [(tagged(b'f', 6), 30), (tagged(b'x', far), 60)] {
        let k = key();
        plant(&c, &k, &value, Some(ttl)).await;
        c.put_if_newer(&k, &rec(5, NOW + 100), NOW).await.unwrap();
        assert_eq!(version(&c, &k, NOW).await, None, "{value:?}");
    }
    // A floor as the cache leaves it still refuses an older refill.
    let k = key();
    c.put_if_newer(&k, &rec(4, NOW + 100), NOW).await.unwrap();
    assert_eq!(c.invalidate(&k, 4, NOW).await.unwrap(), CacheOutcome::Done);
    c.put_if_newer(&k, &rec(4, NOW + 100), NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, None);
    // A garbage floor is not carried into the next one.
    let k = key();
    plant(&c, &k, &tagged(b'f', 99_999_999), None).await;
    assert_eq!(c.invalidate(&k, 4, NOW).await.unwrap(), CacheOutcome::Done);
    c.put_if_newer(&k, &rec(5, NOW + 100), NOW).await.unwrap();
    assert_eq!(version(&c, &k, NOW).await, Some(5));
}

/// Issue 16: an entry the cache could not serve but compared against (in the
/// earlier layout, a `v` field that disagreed with its record) made every
/// quick save conflict, for as long as the entry lived (lasting 503s). Any
/// value that is no record, marker or floor is a miss now; one the scripts
/// would take for a record (16 bytes or more) is dropped when read, so a
/// refill or a quick save repairs it.
async fn a_garbage_entry_is_a_miss_and_repaired(c: Cache) {
    use tiered_sessions::{Durability, SessionStore, TieredStore};
    let mut undecodable = record_value(&rec(7, NOW + 100));
    undecodable.push(0xff);
    let mut short_header = Vec::new();
    short_header.extend_from_slice(&u64::MAX.to_be_bytes());
    short_header.extend_from_slice(&(NOW + 100).to_be_bytes());
    short_header.extend_from_slice(b"junk");
    let garbage = [
        (b"junk".to_vec(), false),
        (tagged(b'q', u64::MAX), false),
        (tagged(b'x', NOW + 100)[..8].to_vec(), false),
        (short_header.clone(), true),
        (undecodable.clone(), true),
    ];
    for (value, dropped) in &garbage {
        let k = key();
        plant(&c, &k, value, Some(100)).await;
        assert_eq!(c.get(&k, NOW).await.unwrap(), None, "{value:?}");
        assert_eq!(!exists(&c, &k).await, *dropped, "{value:?}");
        c.put_if_newer(&k, &rec(3, NOW + 100), NOW).await.unwrap();
        assert_eq!(version(&c, &k, NOW).await, Some(3), "{value:?}");
    }
    // Through a tiered store: a quick save over the broken entry succeeds.
    let durable = Arc::new(tiered_sessions_memory::MemoryStore::new());
    let store = TieredStore::new(c.clone(), durable.clone());
    for value in [short_header, undecodable] {
        let k = key();
        store.create(&k, &rec(3, NOW + 100), NOW).await.unwrap();
        plant(&c, &k, &value, Some(100)).await;
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
        assert_eq!(version(&c, &k, NOW).await, Some(5));
    }
}

/// Issue 16: records read back had no size limit (a planted 3.2 MB record of
/// 200 000 keys was decoded). One over the cache's limit is a miss, not decoded.
async fn an_oversized_cached_record_is_a_miss_not_decoded(c: Cache) {
    let k = key();
    let mut huge = rec(2, NOW + 100);
    for i in 0..200_000u32 {
        huge.data.insert(format!("k{i:06}"), vec![1]);
    }
    assert!(tiered_sessions::codec::record_len(&huge) > c.max_record_bytes());
    plant(&c, &k, &record_value(&huge), Some(100)).await;
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
    (
        "an_entry_of_the_old_hash_layout_is_a_miss_and_replaced",
        |c| Box::pin(an_entry_of_the_old_hash_layout_is_a_miss_and_replaced(c)),
    ),
    ("entries_are_the_documented_layout", |c| {
        Box::pin(entries_are_the_documented_layout(c))
    }),
    ("a_floor_or_marker_that_never_expires_blocks_nothing", |c| {
        Box::pin(a_floor_or_marker_that_never_expires_blocks_nothing(c))
    }),
    ("a_garbage_entry_is_a_miss_and_repaired", |c| {
        Box::pin(a_garbage_entry_is_a_miss_and_repaired(c))
    }),
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

/// Only a key of another type counts as absent to the scripts: a read they
/// are denied (an ACL without `GETRANGE`) fails the call. Taken for an empty
/// key, it would let every refill overwrite newer records, markers and floors.
async fn a_denied_read_in_a_script_is_an_error_not_an_empty_key(_: ()) {
    let acl = [
        "--user",
        "default",
        "on",
        "nopass",
        "~*",
        "&*",
        "+@all",
        "-getrange",
    ];
    let (server, log) = private_redis(&acl).await;
    let c: Cache = Arc::new(
        RedisCache::standalone(format!("redis://127.0.0.1:{}", server.port))
            .call_timeout(Duration::from_secs(2))
            .build()
            .unwrap(),
    );
    let k = key();
    let newer = record_value(&rec(9, NOW + 100));
    plant(&c, &k, &newer, Some(100)).await;
    let denied = |r: Result<(), Error>| {
        let err = r.unwrap_err();
        assert!(matches!(err, Error::Backend { .. }), "{err:?}");
    };
    denied(c.put_if_newer(&k, &rec(3, NOW + 100), NOW).await);
    denied(
        c.compare_and_swap(&k, &rec(3, NOW + 100), 2, NOW)
            .await
            .map(drop),
    );
    denied(c.invalidate(&k, 2, NOW).await.map(drop));
    denied(c.evict(&k, NOW).await);
    denied(c.touch(&k, NOW + 900, NOW, NOW).await);
    assert_eq!(raw(&c, &k).await, Some(newer), "nothing was written");
    assert_eq!(
        version(&c, &k, NOW).await,
        Some(9),
        "a read needs no script"
    );
    drop(server);
    let _ = std::fs::remove_file(log);
}

const PRIVATE_SERVER: &[(&str, Case<()>)] = &[(
    "a_denied_read_in_a_script_is_an_error_not_an_empty_key",
    |c| Box::pin(a_denied_read_in_a_script_is_an_error_not_an_empty_key(c)),
)];

fn main() -> std::process::ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let single = env("TS_REDIS_URL").map(|_| standalone as fn() -> Cache);
    let clus = env("TS_REDIS_CLUSTER_URLS").map(|_| cluster as fn() -> Cache);
    let mut all = trials("standalone", single.clone(), CASES);
    all.extend(trials("standalone", single, STANDALONE_ONLY));
    all.extend(trials("cluster", clus.clone(), CASES));
    all.extend(trials("cluster", clus, CLUSTER_ONLY));
    all.extend(trials("no_server", Ok(|| ()), OFFLINE));
    let private = redis_server().map(|_| (|| ()) as fn());
    all.extend(trials("private_server", private, PRIVATE_SERVER));
    libtest_mimic::run(&args, all).exit_code()
}
