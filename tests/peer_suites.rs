//! Behaviours the trusted session libraries test (Django, Rack/Rails,
//! express-session, tower-sessions, actix-session) and this suite did not
//! (issue 14), each through the HTTP layer over the memory driver; the
//! reference in each test's comment names where the peer tests it.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use base64_simd::URL_SAFE_NO_PAD;
use common::*;
use tiered_sessions::{
    Durability, ManualClock, SameSite, Session, SessionConfig, SessionConfigBuilder, SessionId,
    SessionLayer, SessionManager, SessionStore,
};
use tiered_sessions_memory::MemoryStore;

/// [`common::setup`] plus routes that end the session, then write.
fn setup(f: impl FnOnce(SessionConfigBuilder) -> SessionConfigBuilder) -> Env {
    let mut env = common::setup(f);
    let extra = Router::new()
        .route(
            "/terminate-then-set",
            post(|s: Session| async move {
                s.terminate().await?;
                s.insert("after", &"yes").await?;
                Ok::<_, tiered_sessions::Error>("ok")
            }),
        )
        .route(
            "/regenerate-then-set",
            post(|s: Session| async move {
                s.regenerate_id().await?;
                s.insert("after", &"yes").await?;
                Ok::<_, tiered_sessions::Error>("ok")
            }),
        )
        .layer(SessionLayer::new(env.manager.clone()));
    env.app = env.app.merge(extra);
    env
}

fn cookie<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply
        .set_cookie
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(String::as_str)
}

/// Removal cookies carry the configured `Path` and `Domain`, or the browser
/// keeps the cookie (Django `…delete_on_end_with_custom_domain_and_path`,
/// tower-sessions `flush_with_domain`): on logout and for stale chunks.
#[tokio::test]
async fn removal_cookies_carry_the_configured_path_and_domain() {
    let env = setup(|b| {
        b.path("/app")
            .domain("example.com")
            .cookie_only_threshold(8500)
            .max_cookie_len(3000)
    });
    let mut jar = Jar::default();
    jar.send(&env.app, "POST", "/big/7000").await;
    assert!(jar.len() > 1, "chunked");
    let r = jar.send(&env.app, "POST", "/big/10").await;
    let stale: Vec<_> = r
        .set_cookie
        .iter()
        .filter(|c| c.contains("Max-Age=0"))
        .collect();
    assert!(!stale.is_empty(), "{:?}", r.set_cookie);
    for c in stale {
        assert!(
            c.contains("Path=/app") && c.contains("Domain=example.com"),
            "{c}"
        );
    }
    let r = jar.send(&env.app, "POST", "/terminate").await;
    let removal = cookie(&r, "session").unwrap();
    assert!(removal.contains("Max-Age=0"), "{removal}");
    assert!(
        removal.contains("Path=/app") && removal.contains("Domain=example.com"),
        "{removal}"
    );
}

/// Terminate, or regenerate, then write in the same request: a new id that
/// holds only the new keys (after terminate) and the old record gone (Rails
/// `test_setting_session_value_after_session_reset`, actix
/// `insert_session_after_renew`).
#[tokio::test]
async fn terminate_or_regenerate_then_write_in_the_same_request() {
    for (path, keeps_user) in [
        ("/terminate-then-set", false),
        ("/regenerate-then-set", true),
    ] {
        let env = setup(|b| b.cookie_only_threshold(0));
        let mut jar = Jar::default();
        jar.send(&env.app, "POST", "/set/user/alice").await;
        let old = SessionId::parse(&jar.send(&env.app, "GET", "/id").await.body).unwrap();
        let r = jar.send(&env.app, "POST", path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        let new = SessionId::parse(&jar.send(&env.app, "GET", "/id").await.body).unwrap();
        assert_ne!(new, old, "{path}: a new id");
        assert_eq!(jar.send(&env.app, "GET", "/get/after").await.body, "yes");
        let user = jar.send(&env.app, "GET", "/get/user").await.body;
        assert_eq!(user == "alice", keeps_user, "{path}: user = {user}");
        assert!(
            env.manager.load_by_id(&old).await.unwrap().is_none(),
            "{path}"
        );
        assert_eq!(env.store.inner.len(), 1, "{path}: only the new record");
    }
}

/// One `warn` per rejected cookie, one `error` per store failure, and never
/// a cookie value, a session id or session data in any event.
#[tokio::test]
async fn log_events_name_the_problem_and_never_the_secrets() {
    let logs = Logs::default();
    let _guard = tracing::subscriber::set_default(logs.subscriber(tracing::Level::TRACE));
    let env = setup(|b| b.cookie_only_threshold(0));
    let mut jar = Jar::default();
    jar.send(&env.app, "POST", "/set/secret/hunter2-value")
        .await;
    let value = jar.value("session");
    let id = jar.send(&env.app, "GET", "/id").await.body;
    // A tampered cookie: one warn.
    let mut tampered = jar.clone();
    tampered.set("session", &format!("{}AAAA", &value[..value.len() - 4]));
    tampered.send(&env.app, "GET", "/get/secret").await;
    // A store failure: one error (the layer's), an opaque 503.
    env.store.fail.store(true, Ordering::SeqCst);
    let r = jar.send(&env.app, "GET", "/get/secret").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    env.store.fail.store(false, Ordering::SeqCst);
    let text = logs.text();
    let warns = text.lines().filter(|l| l.contains(" WARN ")).count();
    let errors = text.lines().filter(|l| l.contains("ERROR")).count();
    assert_eq!(warns, 1, "one warn for one rejected cookie:\n{text}");
    assert_eq!(errors, 1, "one error for one store failure:\n{text}");
    for secret in [&value[..], &value[10..40], &id[..], "hunter2-value"] {
        assert!(
            !text.contains(secret),
            "{secret:?} reached the logs:\n{text}"
        );
    }
}

fn shows(value: &str, needle: &[u8]) -> bool {
    URL_SAFE_NO_PAD
        .decode_to_vec(value.as_bytes())
        .is_ok_and(|raw| raw.windows(needle.len()).any(|w| w == needle))
}

/// With `encrypt(true)`, the cookie-only, chunking and key-rotation paths work
/// the same, and the plaintext never appears in a `Set-Cookie` (tower-sessions
/// `private_test`, actix-session's private cookie run).
#[tokio::test]
async fn encryption_end_to_end_never_shows_the_plaintext() {
    let env = setup(|b| {
        b.encrypt(true)
            .cookie_only_threshold(8500)
            .max_cookie_len(3000)
    });
    let mut jar = Jar::default();
    let r = jar
        .send(&env.app, "POST", "/set/note/plain-text-marker")
        .await;
    for c in &r.set_cookie {
        let value = c.split(';').next().unwrap().split_once('=').unwrap().1;
        assert!(!shows(value, b"plain-text-marker"), "{c}");
    }
    assert_eq!(
        jar.send(&env.app, "GET", "/get/note").await.body,
        "plain-text-marker"
    );
    // Chunked: 7 000 bytes of data over several encrypted cookies.
    let r = jar.send(&env.app, "POST", "/big/7000").await;
    assert!(r.set_cookie.len() > 1, "chunked");
    let joined: String = ["session.0", "session.1", "session.2", "session.3"]
        .iter()
        .filter_map(|n| jar.get(n))
        .collect();
    assert!(!shows(&joined, b"plain-text-marker") && !shows(&joined, &[b'x'; 64]));
    assert_eq!(
        jar.send(&env.app, "GET", "/get/note").await.body,
        "plain-text-marker"
    );
    // Rotation: a cookie sealed under the old key is read and re-sealed.
    let rotated = app(SessionManager::with_shared_store(
        SessionConfig::builder([[0x22u8; 32], KEY])
            .encrypt(true)
            .clock(Arc::new(env.clock.clone()))
            .build()
            .unwrap(),
        env.store.clone(),
    ));
    let mut small = Jar::default();
    small
        .send(&env.app, "POST", "/set/note/plain-text-marker")
        .await;
    let before = small.value("session");
    let r = small.send(&rotated, "GET", "/get/note").await;
    assert_eq!(r.body, "plain-text-marker");
    assert_ne!(
        small.value("session"),
        before,
        "re-issued under the new key"
    );
    assert!(!shows(&small.value("session"), b"plain-text-marker"));
}

/// Stored sessions survive two signing-key rotations when the store-key
/// secret is set explicitly (the README says to set it before rotating).
#[tokio::test]
async fn stored_sessions_survive_signing_key_rotations() {
    let clock = ManualClock::new(T0);
    let store = Arc::new(MemoryStore::new());
    let app_with = |keys: Vec<[u8; 32]>| {
        app(SessionManager::with_shared_store(
            SessionConfig::builder(keys)
                .store_key_secret([0x77u8; 32])
                .cookie_only_threshold(0)
                .clock(Arc::new(clock.clone()))
                .build()
                .unwrap(),
            store.clone(),
        ))
    };
    let (a, b, c) = ([1u8; 32], [2u8; 32], [3u8; 32]);
    let mut jar = Jar::default();
    jar.send(&app_with(vec![a]), "POST", "/set/user/alice")
        .await;
    assert_eq!(
        jar.send(&app_with(vec![b, a]), "GET", "/get/user")
            .await
            .body,
        "alice"
    );
    assert_eq!(
        jar.send(&app_with(vec![c, b]), "GET", "/get/user")
            .await
            .body,
        "alice"
    );
    assert_eq!(
        jar.send(&app_with(vec![c]), "GET", "/get/user").await.body,
        "alice"
    );
    assert_eq!(store.len(), 1, "the same stored session all along");
}

/// A read past the touch interval whose expiry refresh fails: an opaque 5xx,
/// and the session intact afterwards (express-session "should pass session
/// touch error").
#[tokio::test]
async fn a_failed_touch_is_an_opaque_error_and_the_session_stays() {
    let env = setup(|b| {
        b.cookie_only_threshold(0)
            .idle_timeout(Some(Duration::from_secs(600)))
            .touch_interval(Duration::from_secs(60))
    });
    let mut jar = Jar::default();
    jar.send(&env.app, "POST", "/set/user/alice").await;
    env.clock.advance(Duration::from_secs(120));
    env.store.fail_writes.store(true, Ordering::SeqCst);
    let r = jar.send(&env.app, "GET", "/get/user").await;
    assert!(r.status.is_server_error(), "{}", r.status);
    assert!(r.body.is_empty() && r.set_cookie.is_empty());
    env.store.fail_writes.store(false, Ordering::SeqCst);
    assert_eq!(jar.send(&env.app, "GET", "/get/user").await.body, "alice");
}

/// `SameSite=None` is emitted when configured (with `Secure`).
#[tokio::test]
async fn same_site_none_is_emitted() {
    let env = setup(|b| b.same_site(SameSite::None).secure(true));
    let r = Jar::default().send(&env.app, "POST", "/set/a/b").await;
    let c = cookie(&r, "session").unwrap();
    assert!(c.contains("SameSite=None") && c.contains("Secure"), "{c}");
}

/// Logging out a visitor who has no session sets no cookie at all.
#[tokio::test]
async fn terminating_a_fresh_visitor_sets_no_cookie() {
    let env = setup(|b| b);
    let r = Jar::default().send(&env.app, "POST", "/terminate").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.set_cookie.is_empty(), "{:?}", r.set_cookie);
}

/// A stored record that cannot be decoded (another process wrote garbage
/// under the key) is a clean, opaque 500 — no panic, no detail in the body.
#[tokio::test]
async fn a_corrupt_stored_record_is_a_clean_error() {
    let env = setup(|b| b.cookie_only_threshold(0));
    let mut jar = Jar::default();
    jar.send(&env.app, "POST", "/set/user/alice").await;
    let id = SessionId::parse(&jar.send(&env.app, "GET", "/id").await.body).unwrap();
    let key = env.manager.store_key(&id);
    let mut corrupt = env.store.inner.load(&key, T0).await.unwrap().unwrap();
    corrupt.data.insert("user".into(), vec![0xff, 0xff, 0xff]);
    corrupt.version += 1;
    env.store
        .inner
        .save(&key, &corrupt, corrupt.version - 1, Durability::Durable, T0)
        .await
        .unwrap();
    let r = jar.send(&env.app, "GET", "/get/user").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.body.is_empty(), "{}", r.body);
}

/// The extractor on a route without the layer: the documented rejection, an
/// empty 500 (and an error event naming the missing layer).
#[tokio::test]
async fn the_extractor_without_the_layer_is_the_documented_rejection() {
    let logs = Logs::default();
    let _guard = tracing::subscriber::set_default(logs.subscriber(tracing::Level::INFO));
    let bare: Router = Router::new().route(
        "/x",
        get(|s: Session| async move { s.get::<String>("k").await.map(|v| v.unwrap_or_default()) }),
    );
    let r = send_raw(&bare, "GET", "/x", None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.body.is_empty(), "{}", r.body);
    assert!(logs.text().contains("SessionLayer"), "{}", logs.text());
}
