//! The demo app: `cargo run --example demo`, then open <http://127.0.0.1:3000/>
//! and click: count visits, log in (a new session id), set and remove keys,
//! spill the session to the store and move it back, log out. The page shows
//! the user, where the session lives (cookie or store), the session cookies'
//! size and count, and the counters; `/stats` answers them as JSON and
//! `/metrics` in the Prometheus text format, with the store-call latencies
//! (through `metrics-exporter-prometheus`, the crate's `metrics` feature).
//!
//! Runs on the embedded default — the memory driver, as a cache tier in front of
//! a memory "durable" tier — so it needs no services. With
//! `TIERED_SESSIONS_REDIS_URL` (or `TIERED_SESSIONS_REDIS_CLUSTER_URLS`) set it
//! keeps sessions in Redis instead, as a whole store. `PORT` overrides the port;
//! `SESSION_KEY` (64 hex characters) keeps sessions valid across restarts;
//! `COOKIE_ONLY_THRESHOLD` moves the spill point. `examples/demo_actix.rs` is
//! the same app on actix-web; both render `examples/common/page.rs`.

#[path = "common/page.rs"]
mod page;
#[path = "common/setup.rs"]
mod setup;

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri, header};
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use setup::Demo;
use tiered_sessions::{Result, Session, SessionLayer};

async fn index(
    State(demo): State<Demo>,
    session: Session,
    headers: HeaderMap,
) -> Result<Html<String>> {
    let name = demo.manager.config().cookie_name().to_owned();
    let cookies = page::cookie_info(
        &name,
        headers.get_all(header::COOKIE).iter().map(|v| v.as_bytes()),
    );
    Ok(Html(page::page(&session, &demo, cookies).await?))
}

async fn counter(session: Session) -> Result<String> {
    page::counter_text(&session).await
}

async fn action(session: Session, uri: Uri, body: Bytes) -> Result<Redirect> {
    let form = page::form(uri.query().unwrap_or(""), &body);
    page::act(&session, uri.path().trim_start_matches('/'), &form).await?;
    Ok(Redirect::to("/"))
}

async fn stats(State(demo): State<Demo>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        page::stats_json(&demo),
    )
}

async fn metrics(State(demo): State<Demo>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, page::METRICS_CONTENT_TYPE)],
        page::metrics_text(&demo),
    )
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    setup::init_tracing();
    let demo = setup::demo()?;
    let mut app = Router::new()
        .route("/", get(index))
        .route("/counter", get(counter).post(action))
        .route("/stats", get(stats))
        .route("/metrics", get(metrics));
    for name in page::ACTIONS.iter().filter(|a| **a != "counter") {
        app = app.route(&format!("/{name}"), post(action));
    }
    let app = app
        .with_state(demo.clone())
        .layer(SessionLayer::new(demo.manager.clone()));
    let addr = SocketAddr::from(([127, 0, 0, 1], setup::port()));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("tiered-sessions demo on http://{addr}/");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
