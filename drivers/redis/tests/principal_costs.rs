//! `RedisStore`'s principal index against real Redis, standalone and
//! cluster: the Redis commands binding a session and listing a principal's
//! sessions cost (one each), and that nothing names the principal in clear.
//!
//! Needs `TS_REDIS_URL` and `TS_REDIS_CLUSTER_URLS` (`scripts/services env`).

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::{Case, env, trials, unique};
use tiered_sessions::{ManualClock, RequestCookies, SessionConfig, SessionManager, SessionStore};
use tiered_sessions_redis::{RedisStore, redis};

type Store = Arc<RedisStore>;

const NOW: u64 = 1_800_000_000;

fn store(builder: tiered_sessions_redis::RedisCacheBuilder) -> Store {
    Arc::new(
        builder
            .key_prefix(format!("test:{}:", unique()))
            .call_timeout(Duration::from_secs(2))
            .build_store()
            .expect("valid settings"),
    )
}

fn standalone() -> Store {
    store(RedisStore::standalone(
        std::env::var("TS_REDIS_URL").unwrap_or_default(),
    ))
}

fn cluster() -> Store {
    let urls = std::env::var("TS_REDIS_CLUSTER_URLS").unwrap_or_default();
    store(RedisStore::cluster(urls.split(',').map(str::to_owned)))
}

fn manager(store: &Store) -> SessionManager {
    let config = SessionConfig::builder([[0x42u8; 32]])
        .clock(Arc::new(ManualClock::new(NOW)))
        .build()
        .unwrap();
    SessionManager::with_shared_store(config, store.clone() as Arc<dyn SessionStore>)
}

/// A cookie-only login: the binding is the request's only Redis command.
async fn login(m: &SessionManager, user: &str) {
    let s = m.start(RequestCookies::from_raw(std::iter::empty::<&[u8]>()));
    s.regenerate_id().await.unwrap();
    s.bind_principal(user).await.unwrap();
    s.insert("user", &user).await.unwrap();
    let cookies = s.finish(200).await.unwrap();
    assert!(!cookies.set_cookie.is_empty());
}

async fn binding_and_listing_are_one_command_each(s: Store) {
    let m = manager(&s);
    // Load the scripts first: a `NOSCRIPT` reply costs one more command once.
    login(&m, "warm-up").await;
    for n in 0..10 {
        let before = s.commands_sent();
        login(&m, "alice@example.com").await;
        assert_eq!(s.commands_sent() - before, 1, "login {n}");
    }
    let before = s.commands_sent();
    let listed = m.list_sessions("alice@example.com", None).await.unwrap();
    assert_eq!(s.commands_sent() - before, 1, "listing 10 sessions");
    assert_eq!(listed.len(), 10);
}

async fn the_principal_is_never_in_clear(s: Store) {
    let m = manager(&s);
    login(&m, "alice@example.com").await;
    let key = s.principal_key(&m.principal_hash("alice@example.com"));
    assert!(!key.contains("alice"));
    let fields: Vec<(Vec<u8>, Vec<u8>)> = s.query(redis::cmd("HGETALL").arg(&key)).await.unwrap();
    assert!(!fields.is_empty());
    for (f, v) in fields {
        let all = [f, v].concat();
        assert!(!String::from_utf8_lossy(&all).contains("alice"));
    }
    let ttl: i64 = s.query(redis::cmd("TTL").arg(&key)).await.unwrap();
    assert!(ttl > 0, "a principal's key has no TTL ({ttl})");
}

const CASES: &[(&str, Case<Store>)] = &[
    ("binding_and_listing_are_one_command_each", |s| {
        Box::pin(binding_and_listing_are_one_command_each(s))
    }),
    ("the_principal_is_never_in_clear", |s| {
        Box::pin(the_principal_is_never_in_clear(s))
    }),
];

fn main() -> std::process::ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let single = env("TS_REDIS_URL").map(|_| standalone as fn() -> Store);
    let clus = env("TS_REDIS_CLUSTER_URLS").map(|_| cluster as fn() -> Store);
    let mut all = trials("standalone", single, CASES);
    all.extend(trials("cluster", clus, CASES));
    libtest_mimic::run(&args, all).exit_code()
}
