//! "Log out everywhere", black-box through the tower layer: two app
//! instances (two processes, each with its own cache of revocations) over
//! one store, browsers as cookie jars, time on a manual clock.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use tiered_sessions::{
    ManualClock, Result, Session, SessionConfig, SessionId, SessionLayer, SessionManager,
    SessionStore,
};
use tiered_sessions_conformance::kit::Jar;
use tiered_sessions_memory::MemoryStore;
use tower::ServiceExt;

const T0: u64 = 1_800_000_000;
const INTERVAL: u64 = 30;

async fn login(session: Session, Path(user): Path<String>) -> Result<&'static str> {
    session.regenerate_id().await?;
    session.bind_principal(&user).await?;
    session.set_description("a browser").await?;
    session.insert("user", &user).await?;
    Ok("welcome")
}

async fn me(session: Session) -> Result<String> {
    Ok(session
        .get::<String>("user")
        .await?
        .unwrap_or_else(|| "anonymous".into()))
}

async fn sessions(session: Session) -> Result<String> {
    let lines: Vec<String> = session
        .list_sessions()
        .await?
        .iter()
        .map(|s| format!("{} {:?} {}", s.handle, s.location, s.current))
        .collect();
    Ok(lines.join("\n"))
}

async fn id(session: Session) -> Result<String> {
    Ok(session
        .id()
        .await?
        .map(|id| id.to_text())
        .unwrap_or_default())
}

/// An admin ending one session by its id.
async fn admin_delete(
    State(m): State<SessionManager>,
    Path(id): Path<String>,
) -> Result<&'static str> {
    m.delete_by_id(&SessionId::parse(&id)?).await?;
    Ok("deleted")
}

async fn logout(session: Session) -> Result<&'static str> {
    session.terminate().await?;
    Ok("bye")
}

async fn logout_others(session: Session) -> Result<String> {
    Ok(session.revoke_other_sessions().await?.to_string())
}

async fn logout_everywhere(State(m): State<SessionManager>, session: Session) -> Result<String> {
    let user: String = session.get("user").await?.unwrap_or_default();
    let ended = m.revoke_all_sessions(&user).await?;
    session.terminate().await?;
    Ok(ended.to_string())
}

/// One app instance ("process") over `store`.
fn instance(clock: &ManualClock, store: Arc<dyn SessionStore>, exact: bool) -> Router {
    let config = SessionConfig::builder([[0x42u8; 32]])
        .clock(Arc::new(clock.clone()))
        .secure(false)
        .revocation_check_interval(Duration::from_secs(INTERVAL))
        .store_bound_sessions(exact)
        .build()
        .unwrap();
    let manager = SessionManager::with_shared_store(config, store);
    Router::new()
        .route("/login/{user}", post(login))
        .route("/me", get(me))
        .route("/sessions", get(sessions))
        .route("/logout", post(logout))
        .route("/id", get(id))
        .route("/admin/delete/{id}", post(admin_delete))
        .route("/logout-others", post(logout_others))
        .route("/logout-everywhere", post(logout_everywhere))
        .with_state(manager.clone())
        .layer(SessionLayer::new(manager))
}

/// `method path` from `jar`'s browser; the jar takes the response's cookies.
async fn send(app: &Router, jar: &mut Jar, method: &str, path: &str) -> String {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(cookie) = jar.header() {
        req = req.header("cookie", cookie);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{method} {path}");
    let set: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    jar.update(&set);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

struct World {
    clock: ManualClock,
    /// The instance the user's laptop talks to, and the one of the phone.
    laptop_app: Router,
    phone_app: Router,
}

fn world(exact: bool) -> World {
    let clock = ManualClock::new(T0);
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    World {
        laptop_app: instance(&clock, store.clone(), exact),
        phone_app: instance(&clock, store, exact),
        clock,
    }
}

#[tokio::test]
async fn a_copied_cookie_is_refused_after_log_out_everywhere_from_another_device() {
    let w = world(false);
    let (mut laptop, mut phone) = (Jar::new(), Jar::new());
    send(&w.laptop_app, &mut laptop, "POST", "/login/alice").await;
    let mut copy = laptop.clone();
    assert_eq!(send(&w.laptop_app, &mut copy, "GET", "/me").await, "alice");
    send(&w.phone_app, &mut phone, "POST", "/login/alice").await;
    let listed = send(&w.phone_app, &mut phone, "GET", "/sessions").await;
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(listed.lines().all(|l| l.contains("Cookie")), "{listed}");
    w.clock.advance(Duration::from_secs(1));
    let ended = send(&w.phone_app, &mut phone, "POST", "/logout-everywhere").await;
    assert_eq!(ended, "2");
    // The phone's own instance refuses the copy at once…
    assert_eq!(
        send(&w.phone_app, &mut copy.clone(), "GET", "/me").await,
        "anonymous"
    );
    // …the laptop's within the check interval.
    w.clock.advance(Duration::from_secs(INTERVAL));
    assert_eq!(
        send(&w.laptop_app, &mut copy, "GET", "/me").await,
        "anonymous"
    );
    assert_eq!(
        send(&w.laptop_app, &mut laptop, "GET", "/me").await,
        "anonymous"
    );
}

#[tokio::test]
async fn with_bound_sessions_in_the_store_the_copy_is_refused_at_once() {
    let w = world(true);
    let (mut laptop, mut phone) = (Jar::new(), Jar::new());
    send(&w.laptop_app, &mut laptop, "POST", "/login/alice").await;
    let mut copy = laptop.clone();
    assert_eq!(send(&w.laptop_app, &mut copy, "GET", "/me").await, "alice");
    send(&w.phone_app, &mut phone, "POST", "/login/alice").await;
    let listed = send(&w.phone_app, &mut phone, "GET", "/sessions").await;
    assert!(listed.lines().all(|l| l.contains("Store")), "{listed}");
    send(&w.phone_app, &mut phone, "POST", "/logout-everywhere").await;
    assert_eq!(
        send(&w.laptop_app, &mut copy, "GET", "/me").await,
        "anonymous"
    );
}

#[tokio::test]
async fn a_copied_cookie_is_refused_after_logout() {
    let w = world(false);
    let mut laptop = Jar::new();
    send(&w.laptop_app, &mut laptop, "POST", "/login/alice").await;
    let mut copy = laptop.clone();
    assert_eq!(send(&w.phone_app, &mut copy, "GET", "/me").await, "alice");
    send(&w.laptop_app, &mut laptop, "POST", "/logout").await;
    assert!(laptop.is_empty(), "logout left {:?}", laptop.names());
    assert_eq!(
        send(&w.laptop_app, &mut copy.clone(), "GET", "/me").await,
        "anonymous"
    );
    w.clock.advance(Duration::from_secs(INTERVAL));
    assert_eq!(
        send(&w.phone_app, &mut copy, "GET", "/me").await,
        "anonymous"
    );
}

#[tokio::test]
async fn log_out_other_devices_keeps_this_one() {
    let w = world(false);
    let (mut laptop, mut phone) = (Jar::new(), Jar::new());
    send(&w.laptop_app, &mut laptop, "POST", "/login/alice").await;
    send(&w.phone_app, &mut phone, "POST", "/login/alice").await;
    let listed = send(&w.laptop_app, &mut laptop, "GET", "/sessions").await;
    assert_eq!(
        listed.lines().filter(|l| l.ends_with("true")).count(),
        1,
        "{listed}"
    );
    w.clock.advance(Duration::from_secs(1));
    assert_eq!(
        send(&w.laptop_app, &mut laptop, "POST", "/logout-others").await,
        "1"
    );
    w.clock.advance(Duration::from_secs(INTERVAL));
    assert_eq!(
        send(&w.phone_app, &mut phone, "GET", "/me").await,
        "anonymous"
    );
    assert_eq!(send(&w.phone_app, &mut laptop, "GET", "/me").await, "alice");
    let listed = send(&w.laptop_app, &mut laptop, "GET", "/sessions").await;
    assert_eq!(listed.lines().count(), 1, "{listed}");
}

#[tokio::test]
async fn binding_without_a_principal_index_is_an_error_not_a_session() {
    let clock = ManualClock::new(T0);
    let config = SessionConfig::builder([[0x42u8; 32]])
        .clock(Arc::new(clock))
        .secure(false)
        .build()
        .unwrap();
    let app = Router::new()
        .route("/login/{user}", post(login))
        .layer(SessionLayer::new(SessionManager::cookie_only(config)));
    let res = app
        .oneshot(
            Request::builder()
                .method("POST")
                .uri("/login/alice")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(res.status().is_server_error());
    assert!(res.headers().get("set-cookie").is_none());
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert!(!String::from_utf8_lossy(&body).contains("alice"));
}

#[tokio::test]
async fn the_binding_is_no_data_handlers_can_see_or_set() {
    let clock = ManualClock::new(T0);
    let config = SessionConfig::builder([[0x42u8; 32]])
        .clock(Arc::new(clock))
        .build()
        .unwrap();
    let m = SessionManager::new(config, MemoryStore::new());
    let s = m.start(tiered_sessions::RequestCookies::from_raw(
        std::iter::empty::<&[u8]>(),
    ));
    s.bind_principal("alice").await.unwrap();
    assert!(s.is_empty().await.unwrap(), "a binding alone is no data");
    assert!(s.keys().await.unwrap().is_empty());
    assert!(s.insert("\0b", &1u8).await.is_err());
    assert!(s.remove("\0b").await.is_err());
    assert_eq!(s.get::<u8>("\0b").await.unwrap(), None);
    s.insert("user", "alice").await.unwrap();
    s.clear().await.unwrap();
    assert!(s.is_bound().await.unwrap(), "clear() keeps the owner");
    let handle = s.principal_handle().await.unwrap().unwrap();
    s.set_description(&"é".repeat(200)).await.unwrap();
    let cookies = s.finish(200).await.unwrap();
    assert!(!cookies.set_cookie.is_empty(), "a bound session is kept");
    let listed = m.list_sessions("alice", Some(&handle)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].current);
    assert!(listed[0].description.len() <= tiered_sessions::MAX_DESCRIPTION_LEN);
    assert!(m.list_sessions("bob", None).await.unwrap().is_empty());
}

/// An admin's `delete_by_id` of a bound stored session also unlists it, and
/// denies it: its cookie reads no session on either instance.
#[tokio::test]
async fn delete_by_id_unlists_a_bound_session() {
    let w = world(true);
    let (mut laptop, mut phone) = (Jar::new(), Jar::new());
    send(&w.laptop_app, &mut laptop, "POST", "/login/erin").await;
    send(&w.phone_app, &mut phone, "POST", "/login/erin").await;
    let phone_id = send(&w.phone_app, &mut phone, "GET", "/id").await;
    let listed = send(&w.laptop_app, &mut laptop, "GET", "/sessions").await;
    assert_eq!(listed.lines().count(), 2, "{listed}");
    let mut admin = Jar::new();
    let path = format!("/admin/delete/{phone_id}");
    assert_eq!(
        send(&w.laptop_app, &mut admin, "POST", &path).await,
        "deleted"
    );
    let listed = send(&w.laptop_app, &mut laptop, "GET", "/sessions").await;
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert_eq!(
        send(&w.phone_app, &mut phone, "GET", "/me").await,
        "anonymous"
    );
}
