//! HTTP-level behaviour through the tower layer, over the memory driver.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use common::*;
use tiered_sessions::{
    ManualClock, SameSite, SessionConfig, SessionId, SessionManager, SessionStore, TieredStore,
};
use tiered_sessions_memory::{MemoryCache, MemoryStore};

fn session_cookie(reply: &Reply) -> &str {
    reply
        .set_cookie
        .iter()
        .find(|c| c.starts_with("session="))
        .expect("a session cookie")
}

#[tokio::test]
async fn cookie_attributes_are_secure_and_complete() {
    let env = setup(|b| b.domain("example.com").path("/app"));
    let mut jar = Jar::default();
    let r = jar.send(&env.app, "POST", "/set/user/alice").await;
    assert_eq!(r.status, StatusCode::OK);
    let c = session_cookie(&r);
    for attr in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/app",
        "Domain=example.com",
        "Max-Age=86400",
    ] {
        assert!(c.contains(attr), "{attr} missing in {c}");
    }
    // Expires in IMF-fixdate, GMT: T0 + 24h = Sat, 16 Jan 2027 08:00:00 GMT.
    assert!(c.contains("Expires=Sat, 16 Jan 2027 08:00:00 GMT"), "{c}");
    assert_eq!(r.headers.get("vary").unwrap(), "Cookie");
    assert_eq!(r.headers.get("cache-control").unwrap(), "no-store");
    let strict = setup(|b| b.same_site(SameSite::Strict).secure(false).http_only(false));
    let r = Jar::default().send(&strict.app, "POST", "/set/a/b").await;
    let c = session_cookie(&r);
    assert!(c.contains("SameSite=Strict") && !c.contains("Secure") && !c.contains("HttpOnly"));
}

#[tokio::test]
async fn small_session_lives_in_the_cookie_only() {
    let env = setup(|b| b);
    let mut jar = Jar::default();
    jar.send(&env.app, "POST", "/set/user/alice").await;
    assert_eq!(env.store.calls(), (0, 0));
    assert!(env.store.inner.is_empty());
    assert_eq!(jar.send(&env.app, "GET", "/get/user").await.body, "alice");
    assert_eq!(env.store.calls(), (0, 0));
    assert_eq!(env.manager.metrics().snapshot().cookie_loads, 1);
}

#[tokio::test]
async fn large_session_spills_to_the_store_and_moves_back() {
    let env = setup(|b| b.cookie_only_threshold(512));
    let mut jar = Jar::default();
    jar.send(&env.app, "POST", "/set/user/alice").await;
    assert!(env.store.inner.is_empty());
    let r = jar.send(&env.app, "POST", "/big/2000").await;
    // The cookie now only points at the store.
    assert!(session_cookie(&r).len() < 300, "{}", session_cookie(&r));
    assert_eq!(env.store.inner.len(), 1);
    assert_eq!(jar.send(&env.app, "GET", "/get/user").await.body, "alice");
    // Shrink: data moves back into the cookie and the server copy is deleted.
    jar.send(&env.app, "POST", "/remove/big").await;
    assert!(env.store.inner.is_empty(), "server copy must be deleted");
    let (reads, _) = env.store.calls();
    assert_eq!(jar.send(&env.app, "GET", "/get/user").await.body, "alice");
    assert_eq!(
        env.store.calls().0,
        reads,
        "cookie-only read needs no store"
    );
}

#[tokio::test]
async fn threshold_zero_puts_every_session_in_the_store() {
    let env = setup(|b| b.cookie_only_threshold(0));
    let mut jar = Jar::default();
    jar.send(&env.app, "POST", "/set/user/alice").await;
    assert_eq!(env.store.inner.len(), 1);
    assert_eq!(jar.send(&env.app, "GET", "/get/user").await.body, "alice");
}

#[tokio::test]
async fn big_cookie_sessions_are_chunked_and_stale_chunks_expired() {
    let env = setup(|b| {
        b.cookie_only_threshold(8500)
            .max_cookie_len(3000)
            .max_cookies(4)
    });
    let mut jar = Jar::default();
    let r = jar.send(&env.app, "POST", "/big/7000").await;
    let names: Vec<_> = r
        .set_cookie
        .iter()
        .map(|c| c.split('=').next().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["session.0", "session.1", "session.2", "session.3"]);
    assert!(r.set_cookie.iter().all(|c| c.len() < 3200));
    assert!(env.store.inner.is_empty());
    assert_eq!(jar.send(&env.app, "GET", "/count/none").await.body, "0");
    jar.send(&env.app, "POST", "/set/user/alice").await;
    assert_eq!(jar.send(&env.app, "GET", "/get/user").await.body, "alice");
    // Shrinking to two chunks expires chunks 2 and 3.
    let r = jar.send(&env.app, "POST", "/big/3000").await;
    assert!(
        r.set_cookie
            .iter()
            .any(|c| c.starts_with("session.2=;") && c.contains("Max-Age=0"))
    );
    assert!(
        r.set_cookie
            .iter()
            .any(|c| c.starts_with("session.3=;") && c.contains("Max-Age=0"))
    );
    assert_eq!(jar.len(), 2);
    // Back to one cookie: all chunks are expired.
    let r = jar.send(&env.app, "POST", "/remove/big").await;
    assert!(r.set_cookie[0].starts_with("session="));
    assert_eq!(jar.names(), ["session"]);
    assert_eq!(jar.send(&env.app, "GET", "/get/user").await.body, "alice");
    // A missing middle chunk is a bogus cookie, not a panic.
    let mut broken = Jar::default();
    broken.send(&env.app, "POST", "/big/7000").await;
    broken.remove("session.1");
    assert_eq!(
        broken.send(&env.app, "GET", "/get/big").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn read_only_and_untouched_requests_write_nothing() {
    let env = setup(|b| b.cookie_only_threshold(0));
    let mut jar = Jar::default();
    jar.send(&env.app, "POST", "/set/user/alice").await;
    let before = env.store.calls();
    let r = jar.send(&env.app, "GET", "/get/user").await;
    assert!(r.set_cookie.is_empty());
    // The response depended on the session: a shared cache must key it by cookie.
    assert_eq!(r.headers.get("vary").unwrap(), "Cookie");
    assert_eq!(r.headers.get("cache-control").unwrap(), "no-store");
    assert_eq!(
        env.store.calls(),
        (before.0 + 1, before.1),
        "one read, no write"
    );
    let r = jar.send(&env.app, "GET", "/noop").await;
    assert!(r.set_cookie.is_empty());
    assert!(r.headers.get("vary").is_none() && r.headers.get("cache-control").is_none());
    assert_eq!(
        env.store.calls(),
        (before.0 + 1, before.1),
        "untouched: no store I/O"
    );
    // A new visitor who only reads creates nothing.
    let r = Jar::default().send(&env.app, "GET", "/get/user").await;
    assert!(r.set_cookie.is_empty());
    assert_eq!(env.store.inner.len(), 1);
}

#[tokio::test]
async fn tampered_and_foreign_cookies_are_no_session() {
    let env = setup(|b| b.cookie_only_threshold(0));
    let mut jar = Jar::default();
    jar.send(&env.app, "POST", "/set/user/alice").await;
    let good = jar.value("session");
    let other_key = SessionConfig::builder([[0x22u8; 32]]).build().unwrap();
    let mut foreign = Jar::default();
    let foreign_env = {
        let store = Counting::new(MemoryStore::new());
        app(SessionManager::with_shared_store(other_key, store))
    };
    foreign
        .send(&foreign_env, "POST", "/set/user/mallory")
        .await;
    let mut flipped = good.clone().into_bytes();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let cases = [
        "session=".to_owned(),
        format!("session={}", &good[..good.len() / 2]),
        format!(
            "session={}",
            good.replace(|c: char| c.is_ascii_alphanumeric(), "%")
        ),
        format!("session={}", String::from_utf8(flipped).unwrap()),
        format!("session={}", foreign.value("session")),
        format!("session={good}AAAA"),
        format!("session={good}garbage!"),
        format!("other={good}"),
        format!("session={}", "A".repeat(20_000)),
        "session=é€ü".to_owned(),
    ];
    let writes = env.store.calls().1;
    for cookie in &cases {
        let r = send_raw(&env.app, "GET", "/get/user", Some(cookie)).await;
        assert_eq!(r.status, StatusCode::OK, "{cookie}");
        assert_eq!(r.body, "none", "{cookie}");
        assert!(r.set_cookie.is_empty(), "{cookie}");
    }
    assert_eq!(env.store.calls().1, writes, "bogus cookies cause no writes");
    assert!(env.manager.metrics().snapshot().rejected_cookies >= 9);
}

#[tokio::test]
async fn a_valid_cookie_moved_under_another_name_is_rejected() {
    // Two apps share key and store but use different cookie names (say, a user
    // and an admin area): the signature binds the value to its name.
    let clock = ManualClock::new(T0);
    let store = Arc::new(MemoryStore::new());
    let user = app(SessionManager::with_shared_store(
        builder(&clock).cookie_only_threshold(0).build().unwrap(),
        store.clone(),
    ));
    let admin = app(SessionManager::with_shared_store(
        builder(&clock)
            .cookie_only_threshold(0)
            .cookie_name("admin")
            .build()
            .unwrap(),
        store.clone(),
    ));
    let mut jar = Jar::default();
    jar.send(&user, "POST", "/set/role/user").await;
    let value = jar.value("session");
    let r = send_raw(&admin, "GET", "/get/role", Some(&format!("admin={value}"))).await;
    assert_eq!(r.body, "none");
    assert!(r.set_cookie.is_empty());
}

#[tokio::test]
async fn expired_cookie_is_rejected_without_store_io() {
    let env = setup(|b| b.cookie_only_threshold(0));
    let mut jar = Jar::default();
    jar.send(&env.app, "POST", "/set/user/alice").await;
    env.clock.advance(Duration::from_secs(24 * 3600));
    let reads = env.store.calls().0;
    assert_eq!(jar.send(&env.app, "GET", "/get/user").await.body, "none");
    assert_eq!(env.store.calls().0, reads);
}

#[tokio::test]
async fn unknown_id_is_never_adopted() {
    // A validly signed cookie naming an id the store does not have (an attacker
    // who planted a cookie, or a session deleted server-side).
    let env = setup(|b| b.cookie_only_threshold(0));
    let mut jar = Jar::default();
    jar.send(&env.app, "POST", "/set/user/alice").await;
    let planted_id = jar.send(&env.app, "GET", "/id").await.body;
    env.store.inner.clear();
    let r = jar.send(&env.app, "POST", "/set/user/bob").await;
    assert_eq!(r.status, StatusCode::OK);
    let new_id = jar.send(&env.app, "GET", "/id").await.body;
    assert_ne!(new_id, planted_id);
    assert_ne!(new_id, "none");
    let old = SessionId::parse(&planted_id).unwrap();
    assert!(env.manager.load_by_id(&old).await.unwrap().is_none());
}

#[tokio::test]
async fn regenerate_keeps_data_and_kills_the_old_id_everywhere() {
    for threshold in [0, 2048] {
        let env = setup(|b| b.cookie_only_threshold(threshold));
        let mut jar = Jar::default();
        jar.send(&env.app, "POST", "/set/user/alice").await;
        let old_jar = jar.clone();
        let old_id = jar.send(&env.app, "GET", "/id").await.body;
        jar.send(&env.app, "POST", "/regenerate").await;
        let new_id = jar.send(&env.app, "GET", "/id").await.body;
        assert_ne!(old_id, new_id);
        assert_eq!(jar.send(&env.app, "GET", "/get/user").await.body, "alice");
        let old = SessionId::parse(&old_id).unwrap();
        assert!(env.manager.load_by_id(&old).await.unwrap().is_none());
        if threshold == 0 {
            let mut stale = old_jar;
            assert_eq!(stale.send(&env.app, "GET", "/get/user").await.body, "none");
            assert_eq!(env.store.inner.len(), 1);
        }
    }
}

#[tokio::test]
async fn terminate_deletes_the_record_and_removes_the_cookie() {
    let env = setup(|b| b.cookie_only_threshold(0));
    let mut jar = Jar::default();
    jar.send(&env.app, "POST", "/set/user/alice").await;
    let old_jar = jar.clone();
    let r = jar.send(&env.app, "POST", "/terminate").await;
    let c = session_cookie(&r);
    assert!(c.starts_with("session=;") && c.contains("Max-Age=0"), "{c}");
    assert!(c.contains("Expires=Thu, 01 Jan 1970 00:00:00 GMT"), "{c}");
    assert!(jar.is_empty());
    assert!(env.store.inner.is_empty());
    let mut stale = old_jar;
    assert_eq!(stale.send(&env.app, "GET", "/get/user").await.body, "none");
}

#[tokio::test]
async fn clear_empties_data_and_keeps_the_id() {
    let env = setup(|b| b.cookie_only_threshold(0));
    let mut jar = Jar::default();
    jar.send(&env.app, "POST", "/set/a/1").await;
    jar.send(&env.app, "POST", "/set/b/2").await;
    let id = jar.send(&env.app, "GET", "/id").await.body;
    jar.send(&env.app, "POST", "/clear").await;
    assert_eq!(jar.send(&env.app, "GET", "/id").await.body, id);
    assert_eq!(jar.send(&env.app, "GET", "/get/a").await.body, "none");
}

#[tokio::test]
async fn key_rotation_reissues_old_cookies_under_the_new_key() {
    let clock = ManualClock::new(T0);
    let store = Arc::new(MemoryStore::new());
    let old_cfg = SessionConfig::builder([[1u8; 32]])
        .store_key_secret([9u8; 32])
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let new_cfg = SessionConfig::builder([[2u8; 32], [1u8; 32]])
        .store_key_secret([9u8; 32])
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let only_new = SessionConfig::builder([[2u8; 32]])
        .store_key_secret([9u8; 32])
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let old_app = app(SessionManager::with_shared_store(old_cfg, store.clone()));
    let new_app = app(SessionManager::with_shared_store(new_cfg, store.clone()));
    let new_only_app = app(SessionManager::with_shared_store(only_new, store.clone()));
    let mut jar = Jar::default();
    jar.send(&old_app, "POST", "/set/user/alice").await;
    let old_value = jar.value("session");
    let r = jar.send(&new_app, "GET", "/get/user").await;
    assert_eq!(r.body, "alice");
    assert_eq!(r.set_cookie.len(), 1, "re-issued under the current key");
    assert_ne!(jar.value("session"), old_value);
    // The re-issued cookie verifies with the new key alone.
    assert_eq!(
        jar.send(&new_only_app, "GET", "/get/user").await.body,
        "alice"
    );
    // And a read with a current-key cookie re-issues nothing.
    assert!(
        jar.send(&new_app, "GET", "/get/user")
            .await
            .set_cookie
            .is_empty()
    );
}

#[tokio::test]
async fn idle_timeout_with_throttled_touch() {
    let env = setup(|b| {
        b.cookie_only_threshold(0)
            .idle_timeout(Some(Duration::from_secs(600)))
            .touch_interval(Duration::from_secs(60))
    });
    let mut jar = Jar::default();
    jar.send(&env.app, "POST", "/set/user/alice").await;
    // Within the touch interval a read writes nothing.
    env.clock.advance(Duration::from_secs(30));
    let writes = env.store.calls().1;
    assert!(
        jar.send(&env.app, "GET", "/get/user")
            .await
            .set_cookie
            .is_empty()
    );
    assert_eq!(env.store.calls().1, writes);
    // Past it, one read refreshes the expiry: one touch, a new cookie.
    env.clock.advance(Duration::from_secs(500));
    let r = jar.send(&env.app, "GET", "/get/user").await;
    assert_eq!(r.body, "alice");
    assert!(session_cookie(&r).contains("Max-Age=600"));
    assert_eq!(env.store.calls().1, writes + 1);
    // Active every 9 minutes: alive well past the first idle deadline.
    for _ in 0..5 {
        env.clock.advance(Duration::from_secs(540));
        assert_eq!(jar.send(&env.app, "GET", "/get/user").await.body, "alice");
    }
    // Idle for longer than 10 minutes: gone.
    env.clock.advance(Duration::from_secs(601));
    assert_eq!(jar.send(&env.app, "GET", "/get/user").await.body, "none");
}

#[tokio::test]
async fn absolute_timeout_ends_even_an_active_session() {
    for threshold in [0, 2048] {
        let env = setup(|b| {
            b.cookie_only_threshold(threshold)
                .idle_timeout(Some(Duration::from_secs(600)))
                .touch_interval(Duration::from_secs(60))
                .absolute_timeout(Duration::from_secs(1800))
        });
        let mut jar = Jar::default();
        jar.send(&env.app, "POST", "/set/user/alice").await;
        for _ in 0..5 {
            env.clock.advance(Duration::from_secs(300));
            assert_eq!(jar.send(&env.app, "GET", "/get/user").await.body, "alice");
        }
        // 1500 s in; the cookie cannot outlive creation + 1800.
        env.clock.advance(Duration::from_secs(301));
        assert_eq!(
            jar.send(&env.app, "GET", "/get/user").await.body,
            "none",
            "threshold {threshold}"
        );
    }
}

#[tokio::test]
async fn no_save_on_server_error_unless_configured() {
    let env = setup(|b| b);
    let mut jar = Jar::default();
    let r = jar.send(&env.app, "POST", "/fail").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.set_cookie.is_empty());
    let env = setup(|b| b.save_on_server_error(true));
    let r = jar.send(&env.app, "POST", "/fail").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(jar.send(&env.app, "GET", "/get/failed").await.body, "yes");
}

#[tokio::test]
async fn store_failure_is_an_opaque_5xx() {
    let env = setup(|b| b.cookie_only_threshold(0));
    let mut jar = Jar::default();
    jar.send(&env.app, "POST", "/set/user/alice").await;
    env.store
        .fail
        .store(true, std::sync::atomic::Ordering::SeqCst);
    // Failing load (inside the handler) and failing save (after it).
    for (method, uri) in [("GET", "/get/user"), ("POST", "/set/user/bob")] {
        let r = jar.send(&env.app, method, uri).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        assert!(r.body.is_empty(), "no internals in {:?}", r.body);
        assert!(r.set_cookie.is_empty());
    }
    let mut fresh = Jar::default();
    let r = fresh.send(&env.app, "POST", "/big/5000").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.body.is_empty());
    env.store
        .fail
        .store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(jar.send(&env.app, "GET", "/get/user").await.body, "alice");
}

#[tokio::test]
async fn concurrent_requests_changing_different_keys_both_survive() {
    let env = setup(|b| b.cookie_only_threshold(0));
    env.store
        .yield_each_call
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let mut jar = Jar::default();
    jar.send(&env.app, "POST", "/set/start/yes").await;
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let app = env.app.clone();
            let mut jar = jar.clone();
            tokio::spawn(async move {
                for _ in 0..10 {
                    let r = jar.send(&app, "POST", &format!("/incr/k{t}")).await;
                    assert_eq!(r.status, StatusCode::OK);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    for t in 0..8 {
        assert_eq!(
            jar.send(&env.app, "GET", &format!("/count/k{t}"))
                .await
                .body,
            "10"
        );
    }
    assert_eq!(jar.send(&env.app, "GET", "/get/start").await.body, "yes");
    // The re-apply path really ran: requests met newer versions and merged.
    assert!(env.manager.metrics().snapshot().conflicts > 0);
}

#[tokio::test]
async fn quick_writes_reach_the_cache_only_until_a_durable_write() {
    let clock = ManualClock::new(T0);
    let cache = Arc::new(MemoryCache::new());
    let durable = Arc::new(MemoryStore::new());
    let tiered = TieredStore::new(cache.clone(), durable.clone());
    let config = builder(&clock).cookie_only_threshold(0).build().unwrap();
    let app = app(SessionManager::new(config, tiered));
    let mut jar = Jar::default();
    jar.send(&app, "POST", "/set/user/alice").await;
    let key = durable.keys()[0].clone();
    jar.send(&app, "POST", "/quick/seen/1").await;
    let d = durable.load(&key, T0).await.unwrap().unwrap();
    assert!(
        !d.data.contains_key("seen"),
        "quick write must not reach the durable tier"
    );
    assert_eq!(jar.send(&app, "GET", "/get/seen").await.body, "1");
    // Durable + quick in one request: the quick key is not downgraded... and
    // a later durable write persists the latest state including the quick key.
    jar.send(&app, "POST", "/set/user/bob").await;
    let d = durable.load(&key, T0).await.unwrap().unwrap();
    assert!(d.data.contains_key("seen") && d.data.contains_key("user"));
    cache.flush();
    assert_eq!(jar.send(&app, "GET", "/get/seen").await.body, "1");
    assert_eq!(jar.send(&app, "GET", "/get/user").await.body, "bob");
}

#[tokio::test]
async fn cookie_only_mode_without_a_store_refuses_oversized_sessions() {
    let clock = ManualClock::new(T0);
    let config = builder(&clock).build().unwrap();
    let app = app(SessionManager::cookie_only(config));
    let mut jar = Jar::default();
    assert_eq!(
        jar.send(&app, "POST", "/set/user/alice").await.status,
        StatusCode::OK
    );
    let r = jar.send(&app, "POST", "/big/100000").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.body.is_empty());
    assert_eq!(jar.send(&app, "GET", "/get/user").await.body, "alice");
}

#[tokio::test]
async fn reading_a_value_as_the_wrong_type_is_an_opaque_error() {
    let env = setup(|b| b);
    let mut jar = Jar::default();
    jar.send(&env.app, "POST", "/set/n/not-a-number").await;
    let r = jar.send(&env.app, "GET", "/count/n").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.body.is_empty());
    // The session itself is intact.
    assert_eq!(
        jar.send(&env.app, "GET", "/get/n").await.body,
        "not-a-number"
    );
}

#[tokio::test]
async fn admin_access_by_id() {
    let env = setup(|b| b.cookie_only_threshold(0));
    let mut jar = Jar::default();
    jar.send(&env.app, "POST", "/set/user/alice").await;
    let id = SessionId::parse(&jar.send(&env.app, "GET", "/id").await.body).unwrap();
    let record = env.manager.load_by_id(&id).await.unwrap().unwrap();
    assert!(record.data.contains_key("user"));
    env.manager.delete_by_id(&id).await.unwrap();
    assert_eq!(jar.send(&env.app, "GET", "/get/user").await.body, "none");
    // Raw ids never reach the store: keys are keyed hashes.
    let text = id.to_text();
    jar.send(&env.app, "POST", "/set/user/carol").await;
    assert!(
        env.store
            .inner
            .keys()
            .iter()
            .all(|k| !k.as_str().contains(&text))
    );
}

#[tokio::test]
async fn expired_records_are_cleaned_up_in_batches() {
    let env = setup(|b| {
        b.cookie_only_threshold(0)
            .idle_timeout(None)
            .absolute_timeout(Duration::from_secs(100))
    });
    for _ in 0..7 {
        Jar::default().send(&env.app, "POST", "/set/a/b").await;
    }
    env.clock.advance(Duration::from_secs(50));
    let mut keep = Jar::default();
    keep.send(&env.app, "POST", "/set/a/b").await;
    env.clock.advance(Duration::from_secs(60));
    assert_eq!(env.manager.delete_expired(3, None).await.unwrap(), 7);
    assert_eq!(env.store.inner.len(), 1);
    assert_eq!(keep.send(&env.app, "GET", "/get/a").await.body, "b");
}

/// Framework-neutral adapters learn from `accessed()` whether the response
/// depended on the session (and so needs `Vary: Cookie`), even when `finish`
/// sets no cookie.
#[tokio::test]
async fn accessed_tells_a_custom_adapter_when_to_vary() {
    let env = setup(|b| b);
    let untouched = env
        .manager
        .start(tiered_sessions::RequestCookies::from_raw([&b""[..]]));
    assert!(!untouched.accessed());
    assert!(untouched.finish(200).await.unwrap().is_empty());
    let read = env
        .manager
        .start(tiered_sessions::RequestCookies::from_raw([&b""[..]]));
    assert_eq!(read.get::<String>("user").await.unwrap(), None);
    assert!(read.accessed());
    assert!(
        read.finish(200).await.unwrap().is_empty(),
        "nothing to save"
    );
}
