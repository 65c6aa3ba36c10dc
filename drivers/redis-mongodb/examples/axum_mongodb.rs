//! A web app with sessions in Redis in front of MongoDB.
//!
//! ```sh
//! export TIERED_SESSIONS_REDIS_URL=redis://127.0.0.1:6379
//! export TIERED_SESSIONS_MONGODB_URI='mongodb://127.0.0.1:27017/?replicaSet=rs0'
//! export SESSION_SIGNING_KEY=$(openssl rand -hex 32)   # keep it across restarts
//! cargo run -p tiered-sessions-redis-mongodb --example axum_mongodb
//! curl -c jar -b jar -X POST 'http://127.0.0.1:3000/login?user=alice'
//! curl -c jar -b jar http://127.0.0.1:3000/whoami
//! ```
//!
//! `PORT` overrides the port. Every variable the driver reads is in the README.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use serde::Deserialize;
use tiered_sessions::{Result, Session, SessionConfig, SessionLayer, SessionManager};

#[derive(Deserialize)]
struct Login {
    user: String,
}

async fn login(session: Session, Query(q): Query<Login>) -> Result<String> {
    // New privileges, new id: an id planted before login is worthless.
    session.regenerate_id().await?;
    session.insert("user", &q.user).await?;
    Ok(format!("logged in as {}\n", q.user))
}

async fn whoami(session: Session) -> Result<String> {
    let user: Option<String> = session.get("user").await?;
    Ok(user.map_or_else(|| "anonymous\n".to_owned(), |u| format!("{u}\n")))
}

async fn visits(session: Session) -> Result<String> {
    let n: u64 = session.get("visits").await?.unwrap_or(0);
    // A cache-only write: a lost count is no loss, a MongoDB write per page is.
    session.insert_quick("visits", &(n + 1)).await?;
    Ok(format!("{}\n", n + 1))
}

async fn logout(session: Session) -> Result<&'static str> {
    // Deleted in Redis and MongoDB; the browser gets a removal cookie.
    session.terminate().await?;
    Ok("logged out\n")
}

async fn stats(State(manager): State<SessionManager>) -> String {
    format!("{:#?}\n", manager.metrics().snapshot())
}

fn signing_key() -> std::result::Result<Vec<u8>, Box<dyn std::error::Error>> {
    let hex = std::env::var("SESSION_SIGNING_KEY")
        .map_err(|_| "set SESSION_SIGNING_KEY to 64 hex characters (openssl rand -hex 32)")?;
    let key = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .filter(|k| k.len() >= 32)
        .ok_or("SESSION_SIGNING_KEY must be at least 64 hex characters")?;
    Ok(key)
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    // Redis URL, MongoDB URI, database, collection, deadlines: all from the
    // environment. Creates the TTL index unless told not to.
    let store = tiered_sessions_redis_mongodb::from_env().await?;

    let config = SessionConfig::builder([signing_key()?])
        // Every session in the store, so that this example shows the driver;
        // the default keeps sessions under 2 KiB in the cookie alone.
        .cookie_only_threshold(0)
        // Plain HTTP on localhost; keep Secure on in production.
        .secure(false)
        .build()?;
    // One set of counters for the layer and both tiers (see /stats).
    let metrics = store.metrics().clone();
    let manager = SessionManager::new(config, store).with_metrics(metrics);

    let app = Router::new()
        .route("/login", post(login))
        .route("/whoami", get(whoami))
        .route("/visits", get(visits))
        .route("/logout", post(logout))
        .route("/stats", get(stats))
        .with_state(manager.clone())
        .layer(SessionLayer::new(manager));

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("listening on http://{addr}/");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
