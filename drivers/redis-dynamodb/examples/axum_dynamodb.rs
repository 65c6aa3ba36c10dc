//! A small axum app with sessions in Redis in front of DynamoDB.
//!
//! With the test services running (`scripts/services start redis moto`):
//!
//! ```text
//! TIERED_SESSIONS_REDIS_URL=redis://127.0.0.1:6390 \
//! TIERED_SESSIONS_DYNAMODB_TABLE=sessions \
//! TIERED_SESSIONS_DYNAMODB_ENDPOINT=http://127.0.0.1:5005 \
//! TIERED_SESSIONS_DYNAMODB_ENSURE_TABLE=true \
//! AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
//! cargo run -p tiered-sessions-redis-dynamodb --example axum_dynamodb
//!
//! curl -c jar -b jar -X POST 'http://127.0.0.1:3000/login?user=alice'
//! curl -c jar -b jar http://127.0.0.1:3000/
//! curl -c jar -b jar -X POST http://127.0.0.1:3000/logout
//! ```
//!
//! `SESSION_SIGNING_KEY` (at least 32 bytes) signs the cookies; without it a
//! random key is used, so sessions end when the process does. `PORT` picks
//! the port (default 3000).

use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::routing::{get, post};
use serde::Deserialize;
use tiered_sessions::{Error, Session, SessionConfig, SessionId, SessionLayer, SessionManager};

#[derive(Deserialize)]
struct Login {
    user: String,
}

async fn home(session: Session) -> Result<String, Error> {
    let user: Option<String> = session.get("user").await?;
    let visits = session.get::<u64>("visits").await?.unwrap_or(0) + 1;
    // A page-view counter does not need to survive a cache loss: a quick write.
    session.insert_quick("visits", &visits).await?;
    Ok(match user {
        Some(user) => format!("hello {user}, visit {visits}\n"),
        None => format!("hello stranger, visit {visits}; POST /login?user=you\n"),
    })
}

async fn login(session: Session, Query(login): Query<Login>) -> Result<String, Error> {
    // A new id after a privilege change; the old one dies in every tier.
    session.regenerate_id().await?;
    session.insert("user", &login.user).await?;
    Ok(format!("logged in as {}\n", login.user))
}

async fn logout(session: Session) -> Result<&'static str, Error> {
    session.terminate().await?;
    Ok("logged out\n")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    // Redis + DynamoDB from the environment (see the README's table).
    let store = tiered_sessions_redis_dynamodb::from_env().await?;

    let signing_key = match std::env::var("SESSION_SIGNING_KEY") {
        Ok(key) => key.into_bytes(),
        Err(_) => {
            tracing::warn!("SESSION_SIGNING_KEY is not set: using a random key");
            SessionId::generate()?.as_bytes().to_vec()
        }
    };
    let config = SessionConfig::builder([signing_key])
        // Plain HTTP on localhost; keep the default (true) behind TLS.
        .secure(false)
        // Every session in the store, so this demo shows Redis and DynamoDB at
        // work; the default keeps sessions under 2 KiB in the cookie alone.
        .cookie_only_threshold(0)
        .idle_timeout(Some(Duration::from_secs(30 * 60)))
        .build()?;
    let manager = SessionManager::new(config, store);

    let app = Router::new()
        .route("/", get(home))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .layer(SessionLayer::new(manager));

    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
