//! Attacks that involve the store: fixation, login and logout, id
//! collisions, what reaches the store and the logs, floods of anonymous
//! visitors, hostile stored bytes and concurrent writers.

use std::sync::atomic::Ordering;

use axum::Router;
use axum::http::StatusCode;
use tiered_sessions::codec::encode_value;
use tiered_sessions::internals::{CookieToEncode, encode_cookie};
use tiered_sessions::{Clock, Record, SessionId};

use crate::common::{Jar, Reply, app, capture_all_logs, send_raw, with_slow_write};
use crate::fixture::Fixture;

async fn id_of(jar: &mut Jar, app: &Router) -> SessionId {
    SessionId::parse(&jar.send(app, "GET", "/id").await.body).expect("a session id")
}

/// An empty 5xx, or a clean 200 — never a panic, never detail in the body.
fn clean(r: &Reply, what: &str) {
    assert!(
        r.status == StatusCode::OK || (r.status.is_server_error() && r.body.is_empty()),
        "{what}: {} {:?}",
        r.status,
        r.body
    );
}

/// CWE-384 (session fixation): a validly signed cookie naming an id the
/// store does not hold is never adopted; the first write gets a fresh id.
pub async fn attack_07_fixation_unknown_id_is_never_adopted(f: Fixture) {
    let manager = f.manager(|b| b.cookie_only_threshold(0));
    let app = app(manager.clone());
    let planted = SessionId::generate().unwrap();
    let now = Clock::now(&f.clock);
    let cookie = CookieToEncode::new(planted.clone(), now + 3600, now, now, None);
    let mut jar = Jar::default();
    jar.set(
        "session",
        &encode_cookie(manager.config(), &cookie).unwrap(),
    );
    assert_eq!(jar.send(&app, "GET", "/get/user").await.body, "none");
    assert_eq!(
        jar.send(&app, "POST", "/set/user/victim").await.status,
        StatusCode::OK
    );
    let given = id_of(&mut jar, &app).await;
    assert_ne!(given, planted, "the planted id was adopted");
    assert!(manager.load_by_id(&planted).await.unwrap().is_none());
    assert!(!f.holds(&manager.store_key(&planted)).await);
    // The bare id, unsigned, is no cookie at all.
    let r = send_raw(
        &app,
        "GET",
        "/get/user",
        Some(&format!("session={}", given.to_text())),
    )
    .await;
    assert_eq!(r.body, "none");
}

/// OWASP session management: a new id at every privilege change. After
/// `regenerate_id()` the old id is gone from the cache and the durable tier,
/// and its cookie reads nothing.
pub async fn attack_08_login_regenerate_leaves_the_old_id_dead_in_every_tier(f: Fixture) {
    let manager = f.manager(|b| b.cookie_only_threshold(0));
    let app = app(manager.clone());
    let mut jar = Jar::default();
    jar.send(&app, "POST", "/set/cart/3").await;
    let old = id_of(&mut jar, &app).await;
    let old_key = manager.store_key(&old);
    // Read it once more so the cache tier holds it too.
    assert_eq!(jar.send(&app, "GET", "/get/cart").await.body, "3");
    assert!(f.holds(&old_key).await);
    let before_login = jar.clone();
    assert_eq!(
        jar.send(&app, "POST", "/regenerate").await.status,
        StatusCode::OK
    );
    jar.send(&app, "POST", "/set/user/alice").await;
    let new = id_of(&mut jar, &app).await;
    assert_ne!(new, old);
    assert_eq!(jar.send(&app, "GET", "/get/cart").await.body, "3");
    assert!(!f.holds(&old_key).await, "the old id survives in a tier");
    assert!(manager.load_by_id(&old).await.unwrap().is_none());
    let mut stale = before_login;
    assert_eq!(stale.send(&app, "GET", "/get/user").await.body, "none");
    assert_eq!(stale.send(&app, "GET", "/get/cart").await.body, "none");
}

/// connect-redis #328 (a request that loaded the session before a logout
/// saved it back afterwards, resurrecting it): the late save is refused, sets
/// no cookie, and the old id stays dead everywhere.
pub async fn attack_09_logout_is_final_and_a_late_save_does_not_resurrect(f: Fixture) {
    let manager = f.manager(|b| b.cookie_only_threshold(0));
    let (app, gate, loaded) = with_slow_write(manager.clone());
    let mut jar = Jar::default();
    jar.send(&app, "POST", "/set/user/alice").await;
    let old = id_of(&mut jar, &app).await;
    let old_jar = jar.clone();
    let cookie = jar.header();
    let slow = send_raw(&app, "POST", "/slow/3", cookie.as_deref());
    let logout = async {
        loaded.acquire().await.unwrap().forget();
        let r = jar.send(&app, "POST", "/terminate").await;
        gate.add_permits(1);
        r
    };
    let (late, logout) = tokio::join!(slow, logout);
    assert_eq!(logout.status, StatusCode::OK);
    assert!(jar.is_empty(), "logout leaves cookies: {:?}", jar.names());
    assert!(late.status.is_server_error(), "{}", late.status);
    assert!(late.set_cookie.is_empty(), "{:?}", late.set_cookie);
    assert!(!f.holds(&manager.store_key(&old)).await, "resurrected");
    assert!(f.raw_keys().await.is_empty(), "{:?}", f.raw_keys().await);
    let mut stale = old_jar;
    assert_eq!(stale.send(&app, "GET", "/get/user").await.body, "none");
    assert_eq!(stale.send(&app, "GET", "/get/cart").await.body, "none");
}

/// tower-sessions #181 / #188 (a new session whose id already existed
/// overwrote the other session): with a collision forced in the real backend
/// (the next creates go to the victim's key, which must answer "already
/// exists"), the new session retries under a fresh id, or fails cleanly; the
/// victim's record is never written.
pub async fn attack_10_id_collision_never_overwrites_another_session(f: Fixture) {
    let manager = f.manager(|b| b.cookie_only_threshold(0));
    let app = app(manager.clone());
    let mut victim = Jar::default();
    victim.send(&app, "POST", "/set/user/victim").await;
    let victim_id = id_of(&mut victim, &app).await;
    let victim_key = manager.store_key(&victim_id);
    let before = manager.load_by_id(&victim_id).await.unwrap().unwrap();
    for collisions in [1, u32::MAX] {
        *f.store.collide_into.lock().unwrap() = Some((victim_key.clone(), collisions));
        let mut attacker = Jar::default();
        let r = attacker.send(&app, "POST", "/set/cart/1").await;
        *f.store.collide_into.lock().unwrap() = None;
        if collisions == 1 {
            assert_eq!(r.status, StatusCode::OK);
            assert_eq!(attacker.send(&app, "GET", "/get/cart").await.body, "1");
            assert_eq!(attacker.send(&app, "GET", "/get/user").await.body, "none");
            assert_ne!(id_of(&mut attacker, &app).await, victim_id);
        } else {
            assert!(r.status.is_server_error(), "{}", r.status);
            assert!(r.body.is_empty() && r.set_cookie.is_empty());
        }
        let after = manager.load_by_id(&victim_id).await.unwrap().unwrap();
        assert!(after == before, "the victim's record was written");
    }
    assert_eq!(victim.send(&app, "GET", "/get/user").await.body, "victim");
    assert_eq!(victim.send(&app, "GET", "/get/cart").await.body, "none");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// CWE-532 (sensitive information in log files) and CWE-312: stores and log
/// lines see only the keyed hash of an id, never the id (as text, hex or raw
/// bytes) or the cookie, whatever happens: login, spill, regenerate, bogus
/// cookies, a store failure, logout.
pub async fn attack_11_raw_ids_never_reach_the_store_or_the_logs(f: Fixture) {
    let logs = capture_all_logs(tracing::Level::TRACE);

    let manager = f.manager(|b| b.cookie_only_threshold(64));
    let app = app(manager.clone());
    let mut jar = Jar::default();
    let mut ids = Vec::new();
    let mut cookies = Vec::new();
    jar.send(&app, "POST", "/set/user/alice").await;
    ids.push(id_of(&mut jar, &app).await);
    jar.send(&app, "POST", "/big/2000").await;
    ids.push(id_of(&mut jar, &app).await);
    cookies.push(jar.value("session"));
    let stored_key = manager.store_key(ids.last().unwrap());
    assert!(
        f.raw_keys()
            .await
            .iter()
            .any(|k| k.contains(stored_key.as_str())),
        "the spilled session is not where the test looks"
    );
    jar.send(&app, "POST", "/regenerate").await;
    ids.push(id_of(&mut jar, &app).await);
    cookies.push(jar.value("session"));
    let tampered = format!("session={}A", cookies[0]);
    send_raw(&app, "GET", "/get/user", Some(&tampered)).await;
    f.store.fail.store(true, Ordering::SeqCst);
    let failed = jar.send(&app, "POST", "/set/cart/1").await;
    f.store.fail.store(false, Ordering::SeqCst);
    assert!(failed.status.is_server_error());

    let keys = f.raw_keys().await.join("\n");
    let values = f.raw_values().await;
    let lines = logs.text();
    assert!(
        lines.contains("session cookie rejected"),
        "logs not captured"
    );
    for id in &ids {
        for needle in [id.to_text(), hex(id.as_bytes())] {
            assert!(!keys.contains(&needle), "a raw id in the store's keys");
            assert!(!lines.contains(&needle), "a raw id in the logs");
        }
        assert!(
            !values
                .iter()
                .any(|v| v.windows(32).any(|w| w == id.as_bytes())),
            "a raw id in a stored value"
        );
    }
    for cookie in &cookies {
        assert!(!lines.contains(&cookie[..40]), "a cookie in the logs");
    }
    jar.send(&app, "POST", "/terminate").await;
    assert!(f.raw_keys().await.is_empty());
}

/// Django CVE-2015-3982 / CVE-2015-5143 (anonymous requests created stored
/// sessions, filling the store): 10 000 cookie-less requests, and requests
/// with bogus cookies, to pages that read the session store nothing and set
/// no cookie.
pub async fn attack_12_anonymous_flood_creates_no_stored_sessions(f: Fixture) {
    let app = f.app(|b| b.cookie_only_threshold(0));
    let calls = f.store.calls();
    for i in 0..10_000 {
        let path = ["/get/user", "/id", "/count/visits", "/noop"][i % 4];
        let r = send_raw(&app, "GET", path, None).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.set_cookie.is_empty(), "{path} set a cookie");
    }
    for i in 0..1_000 {
        let bogus = format!("session=QUJD{i:06}; session.0=x{i}; other={i}");
        let r = send_raw(&app, "GET", "/get/user", Some(&bogus)).await;
        assert!(r.set_cookie.is_empty());
    }
    assert_eq!(
        f.store.calls(),
        calls,
        "anonymous requests reached the store"
    );
    assert!(f.raw_keys().await.is_empty());
}

/// CWE-502 (deserialization of untrusted data): a record another process
/// wrote (hostile values, impossible times, a version at the top, and for
/// Redis arbitrary bytes and the wrong type) gives a clean 200 with no
/// session or an empty 5xx, never a panic.
pub async fn attack_15_hostile_stored_bytes_are_a_clean_error(f: Fixture) {
    let manager = f.manager(|b| b.cookie_only_threshold(0));
    let app = app(manager.clone());
    let now = Clock::now(&f.clock);
    let mut jar = Jar::default();
    jar.send(&app, "POST", "/set/user/alice").await;
    let key = manager.store_key(&id_of(&mut jar, &app).await);
    let record = |f: &dyn Fn(&mut Record)| {
        let mut r = Record {
            version: 7,
            expires_at: now + 3600,
            created_at: now - 10,
            last_active: now - 5,
            ..Record::default()
        };
        r.data
            .insert("user".into(), encode_value("mallory").unwrap());
        f(&mut r);
        r
    };
    let hostile = [
        record(&|r| {
            r.data.insert("user".into(), vec![0xff; 9]);
        }),
        record(&|r| {
            r.data.insert("visits".into(), vec![0x80; 12]);
        }),
        record(&|r| r.version = u64::MAX),
        record(&|r| r.last_active = u64::MAX),
        record(&|r| r.created_at = now + 1_000_000),
        record(&|r| r.expires_at = now - 1),
        record(&|r| {
            for i in 0..10_000 {
                r.data.insert(format!("k{i}"), vec![0; 4]);
            }
        }),
    ];
    let requests = [
        ("GET", "/get/user"),
        ("GET", "/count/visits"),
        ("POST", "/incr/visits"),
        ("POST", "/set/user/x"),
    ];
    for r in &hostile {
        for (method, path) in requests {
            f.plant_record(&key, r).await;
            let reply = jar.clone().send(&app, method, path).await;
            clean(&reply, path);
        }
    }
    let mut header = Vec::new();
    for n in [7u64, now + 3600, now, now - 10] {
        header.extend(n.to_be_bytes());
    }
    let with = |tail: &[u8]| [header.as_slice(), tail].concat();
    let raw: Vec<Vec<u8>> = vec![
        vec![],
        vec![0],
        header[..31].to_vec(),
        with(&[0xff; 10]),
        with(&[1, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
        with(&[1, 4, b'u', b's', b'e', b'r', 0x80, 0x80, 0x80, 0x80, 0x10]),
        with(&[2, 1, b'a', 0, 1, b'a', 0]),
        b"not a record at all".to_vec(),
    ];
    for bytes in raw {
        for (method, path) in requests {
            if !f.plant_bytes(&key, &bytes).await {
                return;
            }
            let reply = jar.clone().send(&app, method, path).await;
            clean(&reply, &format!("{path} over {bytes:02x?}"));
        }
    }
}

/// CWE-613: a copy of a stored session's cookie taken before logout reads
/// nothing afterwards, and writing with it starts a new, empty session.
pub async fn attack_20_terminated_stored_session_cannot_be_replayed(f: Fixture) {
    let manager = f.manager(|b| b.cookie_only_threshold(0));
    let app = app(manager.clone());
    let mut jar = Jar::default();
    jar.send(&app, "POST", "/set/user/alice").await;
    let old = id_of(&mut jar, &app).await;
    let mut copy = jar.clone();
    jar.send(&app, "POST", "/terminate").await;
    assert_eq!(copy.send(&app, "GET", "/get/user").await.body, "none");
    assert_eq!(
        copy.send(&app, "POST", "/set/cart/1").await.status,
        StatusCode::OK
    );
    assert_ne!(id_of(&mut copy, &app).await, old);
    assert_eq!(copy.send(&app, "GET", "/get/user").await.body, "none");
    assert!(manager.load_by_id(&old).await.unwrap().is_none());
}
