//! `RedisStore` (Redis as the whole store) against real Redis, standalone and
//! cluster: what the conformance suite cannot see from outside — Redis
//! commands per operation and per request, TTLs, expiry by the caller's clock
//! while Redis still holds the key, hostile stored values, exact version
//! comparison, cleanup across every primary, hash slots, deadlines and error
//! classes.
//!
//! Needs `TS_REDIS_URL` and `TS_REDIS_CLUSTER_URLS` (`scripts/services env`).

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

mod support;
#[path = "support/app.rs"]
mod web;

use std::sync::Arc;
use std::time::Duration;

use support::{Case, env, private_redis, trials, unique};
use tiered_sessions::CacheTier;
use tiered_sessions::{
    Durability, Error, Record, SessionStore, SessionStoreExt, StoreKey,
    codec::{encode_data, encode_record},
};
use tiered_sessions_conformance::kit::redis_server;
use tiered_sessions_redis::{RedisCache, RedisStore, redis};

type Store = Arc<RedisStore>;

const NOW: u64 = 1_800_000_000;
const LIMIT: usize = 16 * 1024;

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

fn standalone() -> Store {
    let url = std::env::var("TS_REDIS_URL").unwrap_or_default();
    Arc::new(
        RedisStore::standalone(url)
            .key_prefix(format!("test:{}:", unique()))
            .call_timeout(Duration::from_secs(2))
            .max_record_bytes(LIMIT)
            .build_store()
            .expect("valid settings"),
    )
}

fn cluster() -> Store {
    let urls = std::env::var("TS_REDIS_CLUSTER_URLS").unwrap_or_default();
    Arc::new(
        RedisStore::cluster(urls.split(','))
            .key_prefix(format!("test:{}:", unique()))
            .call_timeout(Duration::from_secs(2))
            .max_record_bytes(LIMIT)
            .build_store()
            .expect("valid settings"),
    )
}

async fn exists(s: &Store, k: &StoreKey) -> bool {
    s.query::<i64>(redis::cmd("EXISTS").arg(s.redis_key(k)))
        .await
        .unwrap()
        == 1
}

async fn ttl(s: &Store, k: &StoreKey) -> i64 {
    s.query(redis::cmd("TTL").arg(s.redis_key(k)))
        .await
        .unwrap()
}

/// Write `value` under `k` by hand (a hostile or corrupted value).
async fn plant(s: &Store, k: &StoreKey, value: &[u8]) {
    s.query::<()>(
        redis::cmd("SET")
            .arg(s.redis_key(k))
            .arg(value)
            .arg("EX")
            .arg(600),
    )
    .await
    .unwrap();
}

/// A stored value as the README lays it out: version, expires_at,
/// last_active, created_at (big-endian u64s), then the encoded data.
fn value_of(version: u64, expires_at: u64, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for n in [version, expires_at, NOW, NOW - 10] {
        v.extend_from_slice(&n.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

async fn raw(s: &Store, k: &StoreKey) -> Vec<u8> {
    s.query(redis::cmd("GET").arg(s.redis_key(k)))
        .await
        .unwrap()
}

async fn expiry_is_the_callers_clock_not_redis(s: Store) {
    let k = key();
    let r = rec(1, NOW + 100);
    s.create(&k, &r, NOW).await.unwrap();
    assert_eq!(s.load(&k, NOW).await.unwrap(), Some(r.clone()));
    assert!(s.load(&k, NOW + 99).await.unwrap().is_some());
    // Redis still holds the key (its TTL is ~100 s), yet it is never served,
    // saved over, touched or conditionally deleted at or past expires_at.
    assert_eq!(s.load(&k, NOW + 100).await.unwrap(), None);
    assert!(exists(&s, &k).await);
    assert!(matches!(
        s.save(&k, &rec(2, NOW + 500), 1, Durability::Durable, NOW + 100)
            .await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        s.touch(&k, NOW + 500, NOW + 100, NOW + 100).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        s.delete_unless_newer(&k, 1, NOW + 100).await,
        Err(Error::NotFound)
    ));
    // …and a create may replace it.
    s.create(&k, &rec(7, NOW + 300), NOW + 100).await.unwrap();
    assert_eq!(
        s.load(&k, NOW + 100).await.unwrap().map(|r| r.version),
        Some(7)
    );
}

async fn ttl_is_the_remaining_lifetime(s: Store) {
    let k = key();
    s.create(&k, &rec(1, NOW + 500), NOW).await.unwrap();
    assert!((495..=500).contains(&ttl(&s, &k).await));
    s.save(&k, &rec(2, NOW + 2000), 1, Durability::Quick, NOW)
        .await
        .unwrap();
    assert!((1995..=2000).contains(&ttl(&s, &k).await));
    s.touch(&k, NOW + 9000, NOW + 1, NOW).await.unwrap();
    assert!((8995..=9000).contains(&ttl(&s, &k).await));
    let got = s.load(&k, NOW).await.unwrap().unwrap();
    assert_eq!(
        (got.version, got.expires_at, got.last_active),
        (2, NOW + 9000, NOW + 1)
    );
    // A record already at its end still gets a TTL Redis accepts (1 s).
    let k2 = key();
    s.create(&k2, &rec(1, NOW), NOW).await.unwrap();
    assert!((0..=1).contains(&ttl(&s, &k2).await));
}

async fn versions_compare_exactly_beyond_2_pow_53(s: Store) {
    // Doubles cannot tell these apart; the scripts compare 32-bit halves.
    let big = 1u64 << 53;
    let k = key();
    s.create(&k, &rec(big + 1, NOW + 100), NOW).await.unwrap();
    assert!(matches!(
        s.save(&k, &rec(big + 2, NOW + 100), big, Durability::Durable, NOW)
            .await,
        Err(Error::Conflict)
    ));
    assert!(matches!(
        s.delete_unless_newer(&k, big, NOW).await,
        Err(Error::Conflict)
    ));
    s.save(
        &k,
        &rec(big + 2, NOW + 100),
        big + 1,
        Durability::Durable,
        NOW,
    )
    .await
    .unwrap();
    s.save(
        &k,
        &rec(u64::MAX, NOW + 100),
        u64::MAX - 1,
        Durability::Durable,
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        s.load(&k, NOW).await.unwrap().map(|r| r.version),
        Some(u64::MAX)
    );
    s.delete_unless_newer(&k, u64::MAX, NOW).await.unwrap();
    assert!(!exists(&s, &k).await);
    // Expiry too: a clock one second before an expiry far past 2^53 (and one
    // with the high half set) finds the record live, one at it does not.
    for end in [big + 1, u64::MAX - 1] {
        let k = key();
        s.create(&k, &rec(1, end), end - 1).await.unwrap();
        s.touch(&k, end, end - 1, end - 1).await.unwrap();
        assert!(s.load(&k, end - 1).await.unwrap().is_some());
        assert!(matches!(
            s.touch(&k, end, end, end).await,
            Err(Error::NotFound)
        ));
        s.create(&k, &rec(2, end + 1), end).await.unwrap();
    }
}

/// Warm up so script loads and connection set-up are not counted.
async fn warm(s: &Store) {
    let k = key();
    s.create(&k, &rec(1, NOW + 100), NOW).await.unwrap();
    s.save(&k, &rec(2, NOW + 100), 1, Durability::Durable, NOW)
        .await
        .unwrap();
    s.touch(&k, NOW + 200, NOW, NOW).await.unwrap();
    s.create(&k, &rec(3, NOW + 300), NOW + 200).await.unwrap();
    s.delete_unless_newer(&k, 3, NOW + 200).await.unwrap();
}

async fn each_operation_is_one_command(s: Store) {
    warm(&s).await;
    let k = key();
    let count = |before: u64| s.commands_sent() - before;
    let before = s.commands_sent();
    s.create(&k, &rec(1, NOW + 100), NOW).await.unwrap();
    assert_eq!(count(before), 1, "create");
    let before = s.commands_sent();
    let loaded = s.load(&k, NOW).await.unwrap().unwrap();
    assert_eq!(count(before), 1, "load");
    let before = s.commands_sent();
    s.save(
        &k,
        &rec(2, NOW + 100),
        loaded.version,
        Durability::Durable,
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(count(before), 1, "save");
    let before = s.commands_sent();
    s.touch(&k, NOW + 200, NOW, NOW).await.unwrap();
    assert_eq!(count(before), 1, "touch");
    let before = s.commands_sent();
    s.delete_unless_newer(&k, 2, NOW).await.unwrap();
    assert_eq!(count(before), 1, "delete_unless_newer");
    let before = s.commands_sent();
    s.delete(&k, NOW).await.unwrap();
    assert_eq!(count(before), 1, "delete");
    // Only a create over a key Redis still holds needs the script as well.
    s.create(&k, &rec(1, NOW + 100), NOW).await.unwrap();
    let before = s.commands_sent();
    s.create(&k, &rec(1, NOW + 300), NOW + 100).await.unwrap();
    assert_eq!(count(before), 2, "create over an expired record");
    let before = s.commands_sent();
    assert!(matches!(
        s.create(&k, &rec(1, NOW + 300), NOW + 100).await,
        Err(Error::AlreadyExists)
    ));
    assert_eq!(count(before), 2, "create over a live record");
}

/// Through the session layer: a read is 1 command, a write (load + save) 2,
/// a new session 1.
async fn a_request_costs_read_1_write_2_new_1(s: Store) {
    let app = web::app(s.clone());
    let cookie = web::session(&app).await;
    web::call(&app, "/write", Some(&cookie)).await;
    web::call(&app, "/new", None).await;
    for (path, cookie, expected) in [
        ("/read", Some(cookie.as_str()), 1),
        ("/read", Some(cookie.as_str()), 1),
        ("/write", Some(cookie.as_str()), 2),
        ("/write", Some(cookie.as_str()), 2),
        ("/new", None, 1),
        ("/new", None, 1),
    ] {
        let before = s.commands_sent();
        web::call(&app, path, cookie).await;
        assert_eq!(s.commands_sent() - before, expected, "{path}");
    }
}

async fn an_oversized_stored_record_is_an_error_not_decoded(s: Store) {
    let k = key();
    let mut r = rec(1, NOW + 100);
    r.data.insert("blob".into(), vec![7; LIMIT]);
    assert!(encode_record(&r).len() > LIMIT);
    assert!(matches!(
        s.create(&k, &r, NOW).await,
        Err(Error::TooLarge { limit: LIMIT, .. })
    ));
    assert!(!exists(&s, &k).await, "nothing sent");
    // Planted behind the store's back: refused on read.
    plant(&s, &k, &value_of(1, NOW + 100, &encode_data(&r.data))).await;
    let err = s.load(&k, NOW).await.unwrap_err();
    assert!(matches!(err, Error::Codec { .. }), "{err:?}");
}

/// The value as stored is the documented layout, `touch` rewrites only the
/// expiry and last activity, and a value planted in that layout by another
/// tool loads.
async fn the_value_is_the_documented_header_then_the_data(s: Store) {
    let k = key();
    let r = rec(3, NOW + 100);
    s.create(&k, &r, NOW).await.unwrap();
    let data = encode_data(&r.data);
    let mut expected = Vec::new();
    for n in [3, NOW + 100, NOW - 5, NOW - 10] {
        expected.extend_from_slice(&u64::to_be_bytes(n));
    }
    expected.extend_from_slice(&data);
    assert_eq!(raw(&s, &k).await, expected);
    s.touch(&k, NOW + 900, NOW + 1, NOW).await.unwrap();
    expected[8..16].copy_from_slice(&(NOW + 900).to_be_bytes());
    expected[16..24].copy_from_slice(&(NOW + 1).to_be_bytes());
    assert_eq!(raw(&s, &k).await, expected);
    let k2 = key();
    plant(&s, &k2, &value_of(9, NOW + 50, &data)).await;
    let got = s.load(&k2, NOW).await.unwrap().unwrap();
    assert_eq!(
        (got.version, got.expires_at, got.last_active, got.created_at),
        (9, NOW + 50, NOW, NOW - 10)
    );
    assert_eq!(got.data, r.data);
}

async fn a_malformed_stored_value_is_an_error(s: Store) {
    let k = key();
    let data = encode_data(&rec(5, NOW + 100).data);
    let good = value_of(5, NOW + 100, &data);
    // Shorter than the header, data that does not decode, trailing bytes.
    for bad in [
        good[..31].to_vec(),
        value_of(5, NOW + 100, b"not session data"),
        [good.as_slice(), &[0]].concat(),
    ] {
        plant(&s, &k, &bad).await;
        let err = s.load(&k, NOW).await.unwrap_err();
        assert!(matches!(err, Error::Codec { .. }), "{err:?}");
    }
    plant(&s, &k, &good).await;
    assert_eq!(s.load(&k, NOW).await.unwrap().map(|r| r.version), Some(5));
}

/// Something of another type under a store key (another application's hash,
/// or a `RedisCache` entry of the earlier HASH layout, under a shared prefix):
/// every operation fails with a permanent error naming the likely cause, and
/// nothing overwrites or deletes it but `delete`.
async fn wrong_type_under_the_key_is_a_permanent_error(s: Store) {
    let k = key();
    s.query::<i64>(redis::cmd("HSET").arg(s.redis_key(&k)).arg("v").arg("1"))
        .await
        .unwrap();
    let err = s.load(&k, NOW).await.unwrap_err();
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
    let why = std::error::Error::source(&err).unwrap().to_string();
    assert!(why.contains("share the key prefix"), "{why}");
    for err in [
        s.create(&k, &rec(1, NOW + 10), NOW).await.unwrap_err(),
        s.save(&k, &rec(2, NOW + 10), 1, Durability::Durable, NOW)
            .await
            .unwrap_err(),
        s.touch(&k, NOW + 10, NOW, NOW).await.unwrap_err(),
        s.delete_unless_newer(&k, 1, NOW).await.unwrap_err(),
    ] {
        assert!(matches!(err, Error::Backend { .. }), "{err:?}");
    }
    // Cleanup leaves what is not a session record alone.
    assert_eq!(s.delete_all_expired(u64::MAX, 10, None).await.unwrap(), 0);
    let kind: String = s
        .query(redis::cmd("TYPE").arg(s.redis_key(&k)))
        .await
        .unwrap();
    assert_eq!(kind, "hash");
    // A short string is no record either: cleanup leaves it, create replaces it.
    plant(&s, &k, b"x").await;
    assert_eq!(s.delete_all_expired(u64::MAX, 10, None).await.unwrap(), 0);
    assert!(exists(&s, &k).await);
    s.create(&k, &rec(1, NOW + 10), NOW).await.unwrap();
    assert_eq!(s.load(&k, NOW).await.unwrap().map(|r| r.version), Some(1));
    s.delete(&k, NOW).await.unwrap();
}

/// Keys spread over every primary of a cluster: cleanup finds them all, in
/// batches of at most `max`, and resumes from its cursor.
async fn cleanup_reaches_every_node_in_bounded_batches(s: Store) {
    const EXPIRED: usize = 24;
    let mut expired = Vec::new();
    let mut live = Vec::new();
    // On a cluster, go on until the expired keys span all three primaries.
    let mut primaries = std::collections::BTreeSet::new();
    while expired.len() < EXPIRED || (s.is_cluster() && primaries.len() < 3) {
        let (k, l) = (key(), key());
        s.create(&k, &rec(1, NOW + 10), NOW).await.unwrap();
        s.create(&l, &rec(1, NOW + 10_000), NOW).await.unwrap();
        if s.is_cluster() {
            let slot: i64 = s
                .query(redis::cmd("CLUSTER").arg("KEYSLOT").arg(s.redis_key(&k)))
                .await
                .unwrap();
            // The test cluster's three primaries split the slots evenly.
            primaries.insert(match slot {
                0..=5460 => 0,
                5461..=10922 => 1,
                _ => 2,
            });
        }
        expired.push(k);
        live.push(l);
    }
    let (mut total, mut cursor, mut batches) = (0, None, 0);
    loop {
        batches += 1;
        assert!(batches < 200, "cleanup never finished");
        let batch = s.delete_expired(NOW + 20, 5, cursor).await.unwrap();
        assert!(batch.deleted <= 5, "a batch of 5 deleted {}", batch.deleted);
        total += batch.deleted;
        if let Some(c) = &batch.next
            && s.is_cluster()
        {
            assert!(c.0.contains('/'), "a cluster cursor names its node: {c:?}");
        }
        cursor = batch.next;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(total, expired.len() as u64);
    for k in &expired {
        assert!(!exists(&s, k).await, "an expired record is left");
    }
    for k in &live {
        assert!(s.load(k, NOW + 20).await.unwrap().is_some());
    }
}

async fn keys_carry_the_store_key_as_hash_tag(s: Store) {
    let k = key();
    s.create(&k, &rec(1, NOW + 100), NOW).await.unwrap();
    let full: i64 = s
        .query(redis::cmd("CLUSTER").arg("KEYSLOT").arg(s.redis_key(&k)))
        .await
        .unwrap();
    let tag: i64 = s
        .query(redis::cmd("CLUSTER").arg("KEYSLOT").arg(k.as_str()))
        .await
        .unwrap();
    assert_eq!(full, tag);
    assert!(s.redis_key(&k).ends_with(&format!("{{{}}}", k.as_str())));
}

async fn scripts_reload_after_a_script_flush(s: Store) {
    let k = key();
    s.create(&k, &rec(1, NOW + 100), NOW).await.unwrap();
    s.query::<String>(&redis::cmd("SCRIPT").arg("FLUSH").clone())
        .await
        .unwrap();
    s.save(&k, &rec(2, NOW + 100), 1, Durability::Durable, NOW)
        .await
        .unwrap();
    assert_eq!(s.load(&k, NOW).await.unwrap().map(|r| r.version), Some(2));
}

const CASES: &[(&str, Case<Store>)] = &[
    ("expiry_is_the_callers_clock_not_redis", |s| {
        Box::pin(expiry_is_the_callers_clock_not_redis(s))
    }),
    ("ttl_is_the_remaining_lifetime", |s| {
        Box::pin(ttl_is_the_remaining_lifetime(s))
    }),
    ("versions_compare_exactly_beyond_2_pow_53", |s| {
        Box::pin(versions_compare_exactly_beyond_2_pow_53(s))
    }),
    ("each_operation_is_one_command", |s| {
        Box::pin(each_operation_is_one_command(s))
    }),
    ("a_request_costs_read_1_write_2_new_1", |s| {
        Box::pin(a_request_costs_read_1_write_2_new_1(s))
    }),
    ("an_oversized_stored_record_is_an_error_not_decoded", |s| {
        Box::pin(an_oversized_stored_record_is_an_error_not_decoded(s))
    }),
    ("a_malformed_stored_value_is_an_error", |s| {
        Box::pin(a_malformed_stored_value_is_an_error(s))
    }),
    ("the_value_is_the_documented_header_then_the_data", |s| {
        Box::pin(the_value_is_the_documented_header_then_the_data(s))
    }),
    ("wrong_type_under_the_key_is_a_permanent_error", |s| {
        Box::pin(wrong_type_under_the_key_is_a_permanent_error(s))
    }),
    ("cleanup_reaches_every_node_in_bounded_batches", |s| {
        Box::pin(cleanup_reaches_every_node_in_bounded_batches(s))
    }),
];

const CLUSTER_ONLY: &[(&str, Case<Store>)] = &[("keys_carry_the_store_key_as_hash_tag", |s| {
    Box::pin(keys_carry_the_store_key_as_hash_tag(s))
})];

const STANDALONE_ONLY: &[(&str, Case<Store>)] = &[("scripts_reload_after_a_script_flush", |s| {
    Box::pin(scripts_reload_after_a_script_flush(s))
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
    let s = RedisStore::standalone(format!("redis://{addr}"))
        .call_timeout(timeout)
        .build_store()
        .unwrap();
    for _ in 0..3 {
        let err = s.load(&key(), NOW).await.unwrap_err();
        assert!(
            matches!(err, Error::Timeout { backend: "redis", after } if after == timeout),
            "{err:?}"
        );
        assert!(err.is_retryable());
    }
    let err = s.create(&key(), &rec(1, NOW + 10), NOW).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    hold.abort();
}

async fn refused_connection_is_unavailable(_: ()) {
    // Bind then drop, so the port is (almost certainly) closed.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let s = RedisStore::standalone(format!("redis://{addr}"))
        .call_timeout(Duration::from_secs(2))
        .build_store()
        .unwrap();
    let err = s.create(&key(), &rec(1, NOW + 10), NOW).await.unwrap_err();
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

/// A restarted server (all connections cut, no data kept) is picked up
/// again: the first read after it is retried once on a new connection, and
/// everything after works — for the store and the cache alike.
async fn both_recover_after_a_server_restart(_: ()) {
    let (mut server, log) = private_redis(&[]).await;
    let url = format!("redis://127.0.0.1:{}", server.port);
    let store = RedisStore::standalone(url.clone())
        .call_timeout(Duration::from_secs(2))
        .build_store()
        .unwrap();
    let cache = RedisCache::standalone(url)
        .call_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let (k, c) = (key(), key());
    store.create(&k, &rec(1, NOW + 100), NOW).await.unwrap();
    cache
        .put_if_newer(&c, &rec(1, NOW + 100), NOW)
        .await
        .unwrap();
    assert!(store.load(&k, NOW).await.unwrap().is_some());
    assert!(cache.get(&c, NOW).await.unwrap().is_some());
    for _ in 0..2 {
        server.kill();
        server.restart().await;
        // Nothing persisted: the session is gone, and the reads say so.
        assert_eq!(store.load(&k, NOW).await.unwrap(), None);
        assert_eq!(cache.get(&c, NOW).await.unwrap(), None);
        store.create(&k, &rec(1, NOW + 100), NOW).await.unwrap();
        cache
            .put_if_newer(&c, &rec(1, NOW + 100), NOW)
            .await
            .unwrap();
        assert!(store.load(&k, NOW).await.unwrap().is_some());
        assert!(cache.get(&c, NOW).await.unwrap().is_some());
    }
    // A server that is down: typed, retryable errors, then recovery.
    server.kill();
    let err = store.load(&k, NOW).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    let err = cache.get(&c, NOW).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    server.restart().await;
    assert_eq!(store.load(&k, NOW).await.unwrap(), None);
    assert_eq!(cache.get(&c, NOW).await.unwrap(), None);
    drop(server);
    let _ = std::fs::remove_file(log);
}

const PRIVATE_SERVER: &[(&str, Case<()>)] = &[("both_recover_after_a_server_restart", |c| {
    Box::pin(both_recover_after_a_server_restart(c))
})];

fn main() -> std::process::ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let single = env("TS_REDIS_URL").map(|_| standalone as fn() -> Store);
    let clus = env("TS_REDIS_CLUSTER_URLS").map(|_| cluster as fn() -> Store);
    let mut all = trials("standalone", single.clone(), CASES);
    all.extend(trials("standalone", single, STANDALONE_ONLY));
    all.extend(trials("cluster", clus.clone(), CASES));
    all.extend(trials("cluster", clus, CLUSTER_ONLY));
    all.extend(trials("no_server", Ok(|| ()), OFFLINE));
    let private = redis_server().map(|_| (|| ()) as fn());
    all.extend(trials("private_server", private, PRIVATE_SERVER));
    libtest_mimic::run(&args, all).exit_code()
}
