//! Concurrent writers on one stored session.

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::post;
use tiered_sessions::{Error, Session, SessionLayer, SessionManager};
use tokio::sync::Barrier;

use crate::common::{Jar, app, send_raw};
use crate::fixture::Fixture;

/// Two requests racing on one stored session.
fn racing(manager: SessionManager, barrier: Arc<Barrier>) -> Router {
    app(manager.clone()).merge(
        Router::new()
            .route(
                "/race/{key}/{value}",
                post(move |s: Session, Path((k, v)): Path<(String, String)>| {
                    let barrier = barrier.clone();
                    async move {
                        s.get::<String>("user").await?;
                        barrier.wait().await;
                        s.insert(&k, &v).await?;
                        Ok::<_, Error>("ok")
                    }
                }),
            )
            .layer(SessionLayer::new(manager)),
    )
}

/// CWE-362 (race condition), the lost update of connect-redis and
/// tower-sessions: two requests that loaded one stored session and then
/// change different keys both survive; on the same key one wins, no 5xx.
pub async fn attack_18_concurrent_writes_to_one_session_lose_nothing(f: Fixture) {
    let manager = f.manager(|b| b.cookie_only_threshold(0));
    let app = racing(manager.clone(), Arc::new(Barrier::new(2)));
    let mut jar = Jar::default();
    jar.send(&app, "POST", "/set/user/alice").await;
    let cookie = jar.header();
    let (a, b) = tokio::join!(
        send_raw(&app, "POST", "/race/a/1", cookie.as_deref()),
        send_raw(&app, "POST", "/race/b/2", cookie.as_deref()),
    );
    assert_eq!((a.status, b.status), (StatusCode::OK, StatusCode::OK));
    jar.absorb(&a.set_cookie);
    jar.absorb(&b.set_cookie);
    assert_eq!(jar.send(&app, "GET", "/get/a").await.body, "1");
    assert_eq!(jar.send(&app, "GET", "/get/b").await.body, "2");
    assert!(
        manager.metrics().snapshot().conflicts >= 1,
        "no race happened"
    );
    let (x, y) = tokio::join!(
        send_raw(&app, "POST", "/race/k/x", cookie.as_deref()),
        send_raw(&app, "POST", "/race/k/y", cookie.as_deref()),
    );
    assert_eq!((x.status, y.status), (StatusCode::OK, StatusCode::OK));
    let k = jar.send(&app, "GET", "/get/k").await.body;
    assert!(k == "x" || k == "y", "{k}");
    assert_eq!(jar.send(&app, "GET", "/get/user").await.body, "alice");
}
