//! Shared test fixtures: an app over the layer, a cookie jar, counting and
//! failing store wrappers.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use tiered_sessions::{
    CleanupBatch, CleanupCursor, Durability, Error, ManualClock, Record, Result, Session,
    SessionConfig, SessionConfigBuilder, SessionLayer, SessionManager, SessionStore, StoreKey,
    UnixTime, async_trait,
};
use tiered_sessions_conformance::kit;
use tiered_sessions_memory::MemoryStore;
use tokio::sync::Semaphore;
use tower::ServiceExt;

pub const KEY: [u8; 32] = [0x11; 32];
pub const T0: UnixTime = 1_800_000_000;

pub fn builder(clock: &ManualClock) -> SessionConfigBuilder {
    SessionConfig::builder([KEY]).clock(Arc::new(clock.clone()))
}

async fn get_key(session: Session, Path(key): Path<String>) -> Result<String> {
    Ok(session
        .get::<String>(&key)
        .await?
        .unwrap_or_else(|| "none".into()))
}

async fn set_key(
    session: Session,
    Path((key, value)): Path<(String, String)>,
) -> Result<&'static str> {
    session.insert(&key, &value).await?;
    Ok("ok")
}

async fn quick_key(
    session: Session,
    Path((key, value)): Path<(String, String)>,
) -> Result<&'static str> {
    session.insert_quick(&key, &value).await?;
    Ok("ok")
}

async fn big(session: Session, Path(n): Path<usize>) -> Result<&'static str> {
    session.insert("big", &"x".repeat(n)).await?;
    Ok("ok")
}

async fn incr(session: Session, Path(key): Path<String>) -> Result<String> {
    let n = session.get::<u64>(&key).await?.unwrap_or(0) + 1;
    session.insert(&key, &n).await?;
    Ok(n.to_string())
}

async fn count(session: Session, Path(key): Path<String>) -> Result<String> {
    Ok(session.get::<u64>(&key).await?.unwrap_or(0).to_string())
}

pub fn app(manager: SessionManager) -> Router {
    Router::new()
        .route("/get/{key}", get(get_key))
        .route("/set/{key}/{value}", post(set_key))
        .route("/quick/{key}/{value}", post(quick_key))
        .route("/big/{n}", post(big))
        .route("/incr/{key}", post(incr))
        .route("/count/{key}", get(count))
        .route(
            "/remove/{key}",
            post(|s: Session, Path(k): Path<String>| async move {
                s.remove(&k).await.map(|had| had.to_string())
            }),
        )
        .route(
            "/clear",
            post(|s: Session| async move { s.clear().await.map(|()| "ok") }),
        )
        .route(
            "/regenerate",
            post(|s: Session| async move { s.regenerate_id().await.map(|()| "ok") }),
        )
        .route(
            "/terminate",
            post(|s: Session| async move { s.terminate().await.map(|()| "ok") }),
        )
        .route(
            "/id",
            get(|s: Session| async move {
                s.id()
                    .await
                    .map(|id| id.map_or("none".into(), |i| i.to_text()))
            }),
        )
        .route("/noop", get(|| async { "noop" }))
        .route(
            "/fail",
            post(|s: Session| async move {
                s.insert("failed", &"yes").await?;
                Ok::<_, Error>((StatusCode::INTERNAL_SERVER_ERROR, "boom"))
            }),
        )
        .layer(SessionLayer::new(manager))
}

/// The app plus `POST /slow/{value}`: it reads the session, adds a permit to
/// `loaded`, waits for one from `gate`, then writes `cart = value` — a
/// request held open across another one (a logout, a login).
pub fn with_slow_write(manager: SessionManager) -> (Router, Arc<Semaphore>, Arc<Semaphore>) {
    let gate = Arc::new(Semaphore::new(0));
    let loaded = Arc::new(Semaphore::new(0));
    let (g, l) = (gate.clone(), loaded.clone());
    let router = app(manager.clone()).merge(
        Router::new()
            .route(
                "/slow/{value}",
                post(move |s: Session, Path(v): Path<String>| {
                    let (g, l) = (g.clone(), l.clone());
                    async move {
                        s.get::<String>("user").await?;
                        l.add_permits(1);
                        g.acquire().await.unwrap().forget();
                        s.insert("cart", &v).await?;
                        Ok::<_, Error>("ok")
                    }
                }),
            )
            .layer(SessionLayer::new(manager)),
    );
    (router, gate, loaded)
}

/// A browser: the kit's cookie jar, and the transport to an axum app.
#[derive(Default, Clone, Debug, PartialEq, Eq)]
pub struct Jar(pub kit::Jar);

pub struct Reply {
    pub status: StatusCode,
    pub body: String,
    pub set_cookie: Vec<String>,
    pub headers: axum::http::HeaderMap,
}

impl std::ops::Deref for Jar {
    type Target = kit::Jar;
    fn deref(&self) -> &kit::Jar {
        &self.0
    }
}

impl std::ops::DerefMut for Jar {
    fn deref_mut(&mut self) -> &mut kit::Jar {
        &mut self.0
    }
}

impl Jar {
    pub fn absorb(&mut self, set_cookie: &[String]) {
        self.0.update(set_cookie);
    }

    /// The value of cookie `name` (panics when it is not there).
    pub fn value(&self, name: &str) -> String {
        self.0
            .get(name)
            .expect("the cookie is in the jar")
            .to_owned()
    }

    pub async fn send(&mut self, app: &Router, method: &str, uri: &str) -> Reply {
        let reply = send_raw(app, method, uri, self.header().as_deref()).await;
        self.absorb(&reply.set_cookie);
        reply
    }
}

pub async fn send_raw(app: &Router, method: &str, uri: &str, cookie: Option<&str>) -> Reply {
    send_cookie_headers(app, method, uri, cookie.as_slice()).await
}

/// A request with one `Cookie` header per item of `cookies`.
pub async fn send_cookie_headers(
    app: &Router,
    method: &str,
    uri: &str,
    cookies: &[impl AsRef<str>],
) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    for c in cookies {
        req = req.header("cookie", c.as_ref());
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let set_cookie = headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body =
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    Reply {
        status,
        body,
        set_cookie,
        headers,
    }
}

/// An app over the layer and a counting memory store, on a manual clock.
pub struct Env {
    pub app: Router,
    pub store: Arc<Counting<MemoryStore>>,
    pub clock: ManualClock,
    pub manager: SessionManager,
}

/// [`Env`] with the configuration `f` makes of [`builder`].
pub fn setup(f: impl FnOnce(SessionConfigBuilder) -> SessionConfigBuilder) -> Env {
    let clock = ManualClock::new(T0);
    let config = f(builder(&clock)).build().unwrap();
    let store = Counting::new(MemoryStore::new());
    let manager = SessionManager::with_shared_store(config, store.clone());
    Env {
        app: app(manager.clone()),
        store,
        clock,
        manager,
    }
}

/// Log output captured in memory.
#[derive(Clone, Default)]
pub struct Logs(pub Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// A subscriber writing every event up to `level` here.
    pub fn subscriber(&self, level: tracing::Level) -> impl tracing::Subscriber + Send + Sync {
        let writer = self.clone();
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(level)
            .finish()
    }

    /// Run `f` with this thread's events up to `level` captured.
    pub fn capture<T>(level: tracing::Level, f: impl FnOnce() -> T) -> (T, String) {
        let logs = Logs::default();
        let out = tracing::subscriber::with_default(logs.subscriber(level), f);
        (out, logs.text())
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Capture every thread's `tracing` events up to `level`, for the rest of
/// the test binary (a global subscriber: a per-thread one misses events when
/// tests run in parallel, as tracing caches each call site's interest
/// process-wide). Later calls return the same capture.
pub fn capture_all_logs(level: tracing::Level) -> Logs {
    capture_all(level, tracing_subscriber::fmt::format::FmtSpan::NONE)
}

/// [`capture_all_logs`], plus a line for each span as it closes (with every
/// field it recorded), to see the spans themselves.
pub fn capture_all_spans(level: tracing::Level) -> Logs {
    capture_all(level, tracing_subscriber::fmt::format::FmtSpan::CLOSE)
}

fn capture_all(level: tracing::Level, spans: tracing_subscriber::fmt::format::FmtSpan) -> Logs {
    static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(level)
            .with_span_events(spans)
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in this test binary");
        logs
    })
    .clone()
}

/// Counts every call into the wrapped store, and can be told to fail.
#[derive(Debug)]
pub struct Counting<S> {
    pub inner: S,
    pub reads: AtomicUsize,
    pub writes: AtomicUsize,
    pub fail: AtomicBool,
    /// Fail writes only (reads still work).
    pub fail_writes: AtomicBool,
    /// Yield to the scheduler inside every call, so concurrent requests interleave.
    pub yield_each_call: AtomicBool,
    /// Force id collisions: send this many `create` calls to the given key
    /// (a session that already exists) instead of their own.
    pub collide_into: std::sync::Mutex<Option<(StoreKey, u32)>>,
}

impl<S> Counting<S> {
    pub fn new(inner: S) -> Arc<Self> {
        Arc::new(Counting {
            inner,
            reads: AtomicUsize::new(0),
            writes: AtomicUsize::new(0),
            fail: AtomicBool::new(false),
            fail_writes: AtomicBool::new(false),
            yield_each_call: AtomicBool::new(false),
            collide_into: std::sync::Mutex::new(None),
        })
    }

    pub fn calls(&self) -> (usize, usize) {
        (
            self.reads.load(Ordering::SeqCst),
            self.writes.load(Ordering::SeqCst),
        )
    }

    async fn check(&self, counter: &AtomicUsize) -> Result<()> {
        counter.fetch_add(1, Ordering::SeqCst);
        if self.yield_each_call.load(Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
        let write = std::ptr::eq(counter, &self.writes);
        if self.fail.load(Ordering::SeqCst) || (write && self.fail_writes.load(Ordering::SeqCst)) {
            return Err(Error::unavailable(
                "test-store",
                std::io::Error::other("secret internal detail 10.0.0.7:6379"),
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl<S: SessionStore> SessionStore for Counting<S> {
    fn max_record_bytes(&self) -> usize {
        self.inner.max_record_bytes()
    }
    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
        self.check(&self.reads).await?;
        self.inner.load(key, now).await
    }
    async fn create(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()> {
        self.check(&self.writes).await?;
        let collide = match &mut *self.collide_into.lock().unwrap() {
            Some((victim, n)) if *n > 0 => {
                *n -= 1;
                Some(victim.clone())
            }
            _ => None,
        };
        self.inner
            .create(collide.as_ref().unwrap_or(key), record, now)
            .await
    }
    async fn save(
        &self,
        key: &StoreKey,
        record: &Record,
        expected: u64,
        durability: Durability,
        now: UnixTime,
    ) -> Result<()> {
        self.check(&self.writes).await?;
        self.inner
            .save(key, record, expected, durability, now)
            .await
    }
    async fn delete(&self, key: &StoreKey, now: UnixTime) -> Result<()> {
        self.check(&self.writes).await?;
        self.inner.delete(key, now).await
    }
    async fn delete_unless_newer(&self, key: &StoreKey, v: u64, now: UnixTime) -> Result<()> {
        self.check(&self.writes).await?;
        self.inner.delete_unless_newer(key, v, now).await
    }
    async fn touch(&self, key: &StoreKey, e: UnixTime, l: UnixTime, now: UnixTime) -> Result<()> {
        self.check(&self.writes).await?;
        self.inner.touch(key, e, l, now).await
    }
    async fn delete_expired(
        &self,
        now: UnixTime,
        max: usize,
        cursor: Option<CleanupCursor>,
    ) -> Result<CleanupBatch> {
        self.check(&self.writes).await?;
        self.inner.delete_expired(now, max, cursor).await
    }
}
