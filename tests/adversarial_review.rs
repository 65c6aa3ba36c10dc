//! Regression tests for the findings of the adversarial review (issue 16),
//! each named after the attack, through the HTTP layer over the memory driver.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::post;
use base64_simd::URL_SAFE_NO_PAD;
use common::*;
use tiered_sessions::{
    CleanupBatch, CleanupCursor, Durability, Error, ManualClock, Record, Result, Session,
    SessionConfigBuilder, SessionId, SessionLayer, SessionManager, SessionStore, StoreKey,
    TieredStore, UnixTime, async_trait,
};
use tiered_sessions_memory::{MemoryCache, MemoryStore};
use tokio::sync::{Barrier, Semaphore};

fn manager_over(
    store: Arc<dyn SessionStore>,
    f: impl FnOnce(SessionConfigBuilder) -> SessionConfigBuilder,
) -> (SessionManager, ManualClock) {
    let clock = ManualClock::new(T0);
    let config = f(builder(&clock)).build().unwrap();
    (SessionManager::with_shared_store(config, store), clock)
}

/// Finding 1. A session spilled from the cookie into the store, then logged
/// out; an older cookie-only cookie of it writes enough to spill again. Before
/// the fix the record was re-created under the same id and the logged-out
/// cookie read `role=admin` again.
#[tokio::test]
async fn logged_out_session_is_not_resurrected_by_an_older_cookie_only_cookie() {
    for by_admin in [false, true] {
        let store = Arc::new(MemoryStore::new());
        let (manager, _) = manager_over(store.clone(), |b| b.cookie_only_threshold(512));
        let app = app(manager.clone());
        let mut jar = Jar::default();
        jar.send(&app, "POST", "/set/role/admin").await;
        let c1 = jar.clone();
        jar.send(&app, "POST", "/set/role/user").await;
        jar.send(&app, "POST", "/big/2000").await;
        let c2 = jar.clone();
        if by_admin {
            let id = SessionId::parse(&jar.send(&app, "GET", "/id").await.body).unwrap();
            manager.delete_by_id(&id).await.unwrap();
        } else {
            jar.send(&app, "POST", "/terminate").await;
        }
        assert!(store.is_empty());
        assert_eq!(c2.clone().send(&app, "GET", "/get/role").await.body, "none");
        // The older cookie-only cookie is still valid (documented)...
        let mut c1 = c1;
        assert_eq!(c1.send(&app, "GET", "/get/role").await.body, "admin");
        // ...and spilling it must not bring the logged-out record back.
        assert_eq!(
            c1.send(&app, "POST", "/big/2000").await.status,
            StatusCode::OK
        );
        let mut c2 = c2;
        assert_eq!(
            c2.send(&app, "GET", "/get/role").await.body,
            "none",
            "the logged-out cookie reads the older cookie's data (by_admin = {by_admin})"
        );
    }
}

/// Captured `tracing` output, one `String` per line.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}

/// Finding 2. A 64 KiB `Cookie` header of `session=AA; ` (5 460 copies) cost
/// one decode and one WARN line per copy: 704 KB of logs per request.
#[tokio::test]
async fn cookie_header_flood_is_bounded_work_and_one_log_line() {
    let store = Arc::new(MemoryStore::new());
    let (manager, _) = manager_over(store, |b| b);
    let app = app(manager.clone());
    for header in [
        "session=AA; ".repeat(5_460),
        // Random-looking base64 under every chunk name and the name itself.
        (0..500)
            .map(|i| format!("session{}=QUJD{i:04}eHl6; ", [".0", ".1", ""][i % 3]))
            .collect(),
    ] {
        let (logs, _guard) = capture();
        let before = manager.metrics().snapshot().rejected_cookies;
        let r = send_raw(&app, "GET", "/get/user", Some(&header)).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body, "none");
        let lines = logs.lines();
        assert_eq!(
            lines.len(),
            1,
            "{} log lines: {:?}",
            lines.len(),
            lines.first()
        );
        assert!(lines[0].contains("session cookie rejected"), "{}", lines[0]);
        assert!(lines[0].len() < 500, "{}", lines[0]);
        let rejected = manager.metrics().snapshot().rejected_cookies - before;
        assert!(rejected <= 4, "{rejected} candidates decoded");
    }
}

/// Finding 3. A stored record at version `u64::MAX` made the next save panic
/// (debug) or wrap to 0 (release).
#[tokio::test]
async fn stored_version_at_u64_max_is_a_clean_error_not_an_overflow() {
    let store = Arc::new(MemoryStore::new());
    let (manager, _) = manager_over(store.clone(), |b| b.cookie_only_threshold(0));
    let app = app(manager.clone());
    let mut jar = Jar::default();
    jar.send(&app, "POST", "/set/user/alice").await;
    let id = SessionId::parse(&jar.send(&app, "GET", "/id").await.body).unwrap();
    let key = manager.store_key(&id);
    let now = manager.config().clock().now();
    let mut hostile = store.load(&key, now).await.unwrap().unwrap();
    let current = hostile.version;
    hostile.version = u64::MAX;
    store
        .save(&key, &hostile, current, Durability::Durable, now)
        .await
        .unwrap();
    let r = jar.send(&app, "POST", "/set/user/mallory").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.body.is_empty());
    assert!(r.set_cookie.is_empty());
    let kept = store.load(&key, now).await.unwrap().unwrap();
    assert_eq!(kept.version, u64::MAX, "the record was not wrapped to 0");
}

/// A store in which every new id collides: `create` always answers
/// `AlreadyExists`, and every key loads (and saves over) one victim record.
#[derive(Debug)]
struct EveryIdCollides {
    victim: Mutex<Record>,
    creates: Mutex<u32>,
    /// Collide only this many times (`u32::MAX`: always), then create.
    collisions: u32,
    inner: MemoryStore,
}

impl EveryIdCollides {
    fn new(collisions: u32) -> Self {
        let mut victim = Record {
            expires_at: T0 + 3600,
            created_at: T0,
            last_active: T0,
            version: 1,
            ..Record::default()
        };
        victim.data.insert(
            "user".into(),
            tiered_sessions::codec::encode_value("victim").unwrap(),
        );
        EveryIdCollides {
            victim: Mutex::new(victim),
            creates: Mutex::new(0),
            collisions,
            inner: MemoryStore::new(),
        }
    }
}

#[async_trait]
impl SessionStore for EveryIdCollides {
    fn max_record_bytes(&self) -> usize {
        self.inner.max_record_bytes()
    }
    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
        match self.inner.load(key, now).await? {
            Some(r) => Ok(Some(r)),
            None => Ok(Some(self.victim.lock().unwrap().clone())),
        }
    }
    async fn create(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()> {
        let collides = {
            let mut creates = self.creates.lock().unwrap();
            *creates += 1;
            *creates <= self.collisions
        };
        if collides {
            return Err(Error::AlreadyExists);
        }
        self.inner.create(key, record, now).await
    }
    async fn save(
        &self,
        key: &StoreKey,
        record: &Record,
        _: u64,
        _: Durability,
        now: UnixTime,
    ) -> Result<()> {
        if self.inner.load(key, now).await?.is_none() {
            *self.victim.lock().unwrap() = record.clone();
        }
        Ok(())
    }
    async fn delete(&self, key: &StoreKey, now: UnixTime) -> Result<()> {
        self.inner.delete(key, now).await
    }
    async fn delete_unless_newer(&self, key: &StoreKey, v: u64, now: UnixTime) -> Result<()> {
        self.inner.delete_unless_newer(key, v, now).await
    }
    async fn touch(&self, k: &StoreKey, e: UnixTime, l: UnixTime, now: UnixTime) -> Result<()> {
        self.inner.touch(k, e, l, now).await
    }
    async fn delete_expired(
        &self,
        now: UnixTime,
        max: usize,
        cursor: Option<CleanupCursor>,
    ) -> Result<CleanupBatch> {
        self.inner.delete_expired(now, max, cursor).await
    }
}

/// Finding 4. After four id collisions a new session fell into the conflict
/// branch, merged into the record that held the id and got its cookie: a new
/// client read `user=victim`.
#[tokio::test]
async fn id_collision_never_takes_over_another_session() {
    let store = Arc::new(EveryIdCollides::new(u32::MAX));
    let (manager, _) = manager_over(store.clone(), |b| b.cookie_only_threshold(0));
    let app = app(manager);
    let mut jar = Jar::default();
    let r = jar.send(&app, "POST", "/set/cart/1").await;
    assert!(r.status.is_server_error(), "{}", r.status);
    assert!(r.set_cookie.is_empty(), "{:?}", r.set_cookie);
    assert_eq!(jar.send(&app, "GET", "/get/user").await.body, "none");
    let victim = store.victim.lock().unwrap().clone();
    assert_eq!(victim.version, 1, "the victim record was written over");
    assert!(!victim.data.contains_key("cart"));
}

/// A single collision on create: the new session takes a fresh id and holds
/// only its own data; the session holding the id is untouched.
#[tokio::test]
async fn one_id_collision_gets_a_fresh_id() {
    let store = Arc::new(EveryIdCollides::new(1));
    let (manager, _) = manager_over(store.clone(), |b| b.cookie_only_threshold(0));
    let app = app(manager);
    let mut jar = Jar::default();
    let r = jar.send(&app, "POST", "/set/cart/1").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(jar.send(&app, "GET", "/get/cart").await.body, "1");
    assert_eq!(jar.send(&app, "GET", "/get/user").await.body, "none");
    assert_eq!(store.victim.lock().unwrap().version, 1);
    assert_eq!(*store.creates.lock().unwrap(), 2);
}

/// Two requests on one session that both load it, then wait to be let go.
struct Gates {
    loaded: Barrier,
    go_login: Semaphore,
    go_writer: Semaphore,
}

fn racing_app(manager: SessionManager, gates: Arc<Gates>, quick: bool) -> Router {
    let g1 = gates.clone();
    let g2 = gates;
    app(manager.clone()).merge(
        Router::new()
            .route(
                "/race/login",
                post(move |s: Session| {
                    let g = g1.clone();
                    async move {
                        s.get::<String>("user").await?;
                        g.loaded.wait().await;
                        g.go_login.acquire().await.unwrap().forget();
                        s.regenerate_id().await?;
                        s.insert("role", &"admin").await?;
                        Ok::<_, Error>("ok")
                    }
                }),
            )
            .route(
                "/race/write/{value}",
                post(move |s: Session, Path(v): Path<String>| {
                    let g = g2.clone();
                    async move {
                        s.get::<String>("user").await?;
                        g.loaded.wait().await;
                        g.go_writer.acquire().await.unwrap().forget();
                        if quick {
                            s.insert_quick("cart", &v).await?;
                        } else {
                            s.insert("cart", &v).await?;
                        }
                        Ok::<_, Error>("ok")
                    }
                }),
            )
            .layer(SessionLayer::new(manager)),
    )
}

/// Finding 5. `regenerate_id()` racing a write to the same session, with the
/// order of the two responses forced. Before the fix: when the regenerating
/// response arrived last the write was lost; when the write's arrived last
/// it removed the browser's new cookie and the whole session was lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regenerate_racing_a_write_loses_no_update() {
    for (tiered, quick) in [(false, false), (true, false), (true, true)] {
        for login_last in [true, false] {
            for round in 0..10 {
                let what = format!(
                    "tiered {tiered}, quick {quick}, login last {login_last}, round {round}"
                );
                let store: Arc<dyn SessionStore> = if tiered {
                    Arc::new(TieredStore::new(MemoryCache::new(), MemoryStore::new()))
                } else {
                    Arc::new(MemoryStore::new())
                };
                let (manager, _) = manager_over(store, |b| b.cookie_only_threshold(0));
                let gates = Arc::new(Gates {
                    loaded: Barrier::new(2),
                    go_login: Semaphore::new(0),
                    go_writer: Semaphore::new(0),
                });
                let app = racing_app(manager.clone(), gates.clone(), quick);
                let mut jar = Jar::default();
                jar.send(&app, "POST", "/set/user/alice").await;
                let old = SessionId::parse(&jar.send(&app, "GET", "/id").await.body).unwrap();
                let cookie = jar.header();
                let spawn = |uri: &'static str| {
                    let app = app.clone();
                    let cookie = cookie.clone();
                    tokio::spawn(
                        async move { send_raw(&app, "POST", uri, cookie.as_deref()).await },
                    )
                };
                let login = spawn("/race/login");
                let writer = spawn("/race/write/3");
                let (first, second, first_gate, second_gate) = if login_last {
                    (writer, login, &gates.go_writer, &gates.go_login)
                } else {
                    (login, writer, &gates.go_login, &gates.go_writer)
                };
                first_gate.add_permits(1);
                let r1 = first.await.unwrap();
                jar.absorb(&r1.set_cookie);
                second_gate.add_permits(1);
                let r2 = second.await.unwrap();
                jar.absorb(&r2.set_cookie);
                let (login_reply, writer_reply) = if login_last { (&r2, &r1) } else { (&r1, &r2) };
                assert_eq!(login_reply.status, StatusCode::OK, "{what}");
                if writer_reply.status != StatusCode::OK {
                    // The write met a session that moved on: a retryable
                    // failure that leaves the browser's cookies alone.
                    assert_eq!(
                        writer_reply.status,
                        StatusCode::SERVICE_UNAVAILABLE,
                        "{what}"
                    );
                    assert!(writer_reply.set_cookie.is_empty(), "{what}");
                    let retry = jar.send(&app, "POST", "/set/cart/3").await;
                    assert_eq!(retry.status, StatusCode::OK, "{what}");
                }
                assert_eq!(
                    jar.send(&app, "GET", "/get/user").await.body,
                    "alice",
                    "{what}"
                );
                assert_eq!(
                    jar.send(&app, "GET", "/get/role").await.body,
                    "admin",
                    "{what}"
                );
                assert_eq!(
                    jar.send(&app, "GET", "/get/cart").await.body,
                    "3",
                    "{what}: the write was lost"
                );
                assert!(
                    manager.load_by_id(&old).await.unwrap().is_none(),
                    "{what}: the old id lives"
                );
            }
        }
    }
}

/// Finding 6. With encryption on, a signed but unencrypted cookie (issued
/// before encryption was turned on) was accepted and not re-issued, so its
/// data stayed readable in the browser.
#[tokio::test]
async fn plaintext_cookie_is_reissued_encrypted_once_encryption_is_on() {
    let store = Arc::new(MemoryStore::new());
    let (plain, _) = manager_over(store.clone(), |b| b);
    let (sealed, _) = manager_over(store, |b| b.encrypt(true));
    let (plain, sealed) = (app(plain), app(sealed));
    let shows = |value: &str| {
        let raw = URL_SAFE_NO_PAD.decode_to_vec(value.as_bytes()).unwrap();
        raw.windows(11).any(|w| w == b"secret-note")
    };
    let mut jar = Jar::default();
    jar.send(&plain, "POST", "/set/note/secret-note").await;
    assert!(
        shows(&jar.value("session")),
        "the plain cookie shows its data"
    );
    let r = jar.send(&sealed, "GET", "/get/note").await;
    assert_eq!(r.body, "secret-note");
    assert!(
        r.set_cookie.iter().any(|c| c.starts_with("session=")),
        "a read re-issues the plaintext cookie: {:?}",
        r.set_cookie
    );
    assert!(
        !shows(&jar.value("session")),
        "the re-issued cookie is encrypted"
    );
    assert_eq!(
        jar.send(&sealed, "GET", "/get/note").await.body,
        "secret-note"
    );
}

/// Finding 7a. An expiry past the year 9999 was rendered as `Expires` of
/// 1 January 1970, which expires the cookie at once.
#[tokio::test]
async fn expires_past_year_9999_is_clamped_not_1970() {
    let store = Arc::new(MemoryStore::new());
    let (manager, _) = manager_over(store, |b| {
        b.idle_timeout(None)
            .absolute_timeout(Duration::from_secs(u64::MAX / 2))
    });
    let app = app(manager);
    let mut jar = Jar::default();
    let r = jar.send(&app, "POST", "/set/user/alice").await;
    let c = r
        .set_cookie
        .iter()
        .find(|c| c.starts_with("session="))
        .unwrap();
    assert!(c.contains("Expires=Fri, 31 Dec 9999 23:59:59 GMT"), "{c}");
    assert!(!c.contains("1970"), "{c}");
    assert_eq!(jar.send(&app, "GET", "/get/user").await.body, "alice");
}

/// A logout racing a write, through the layer: the late write is refused
/// without touching the browser's cookies, and nothing comes back.
#[tokio::test]
async fn logout_racing_a_write_brings_nothing_back() {
    let store = Arc::new(MemoryStore::new());
    let (manager, _) = manager_over(store.clone(), |b| b.cookie_only_threshold(0));
    let (app, gate, loaded) = with_slow_write(manager.clone());
    let mut jar = Jar::default();
    jar.send(&app, "POST", "/set/user/alice").await;
    let old_jar = jar.clone();
    let cookie = jar.header();
    let slow = {
        let app = app.clone();
        tokio::spawn(async move { send_raw(&app, "POST", "/slow/3", cookie.as_deref()).await })
    };
    loaded.acquire().await.unwrap().forget();
    jar.send(&app, "POST", "/terminate").await;
    jar.send(&app, "POST", "/set/user/bob").await;
    let fresh = jar.clone();
    gate.add_permits(1);
    let late = slow.await.unwrap();
    jar.absorb(&late.set_cookie);
    assert!(late.status.is_server_error(), "{}", late.status);
    assert!(late.set_cookie.is_empty(), "{:?}", late.set_cookie);
    assert_eq!(jar, fresh, "the late write changed the browser's cookies");
    assert_eq!(jar.send(&app, "GET", "/get/user").await.body, "bob");
    assert_eq!(store.len(), 1, "only the new login is stored");
    let mut stale = old_jar;
    assert_eq!(stale.send(&app, "GET", "/get/cart").await.body, "none");
}
