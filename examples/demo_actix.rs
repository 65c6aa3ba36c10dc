//! The demo app on actix-web: `cargo run --example demo-actix`, then open
//! <http://127.0.0.1:3000/>. The same routes and page as `examples/demo.rs`
//! (the axum demo), with `tiered_sessions::actix::SessionMiddleware`.
//!
//! Runs on the embedded default — the memory driver, as a cache tier in front of
//! a memory "durable" tier — so it needs no services. With
//! `TIERED_SESSIONS_REDIS_URL` (or `TIERED_SESSIONS_REDIS_CLUSTER_URLS`) set it
//! keeps sessions in Redis instead, as a whole store, shared by every worker.
//! `PORT` overrides the port; `SESSION_KEY` (64 hex characters) keeps sessions
//! valid across restarts.

use std::sync::Arc;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde::Deserialize;
use tiered_sessions::actix::SessionMiddleware;
use tiered_sessions::{
    FromEnv, Result, Session, SessionConfig, SessionManager, SessionStore, TieredStore,
};
use tiered_sessions_memory::{MemoryCache, MemoryStore};
use tiered_sessions_redis::{RedisCacheBuilder, env as redis_env};

const INDEX: &str = r#"<!doctype html>
<title>tiered-sessions demo</title>
<h1>tiered-sessions demo</h1>
<ul>
<li><a href="/counter">GET /counter</a> — visit count (cookie-only session)</li>
<li><code>POST /login?user=alice</code> — stores the user and regenerates the session id</li>
<li><a href="/whoami">GET /whoami</a> — the logged-in user</li>
<li><code>POST /logout</code> — ends the session everywhere and removes the cookie</li>
<li><code>POST /big?kib=8</code> — stores enough to spill out of the cookie into the store</li>
<li><code>POST /shrink</code> — drops the big value: the session moves back into the cookie</li>
<li><code>POST /seen</code> — a quick (cache-only) write of the last-seen time</li>
<li><a href="/stats">GET /stats</a> — cookie/store path and cache counters</li>
</ul>
"#;

async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(INDEX)
}

async fn counter(session: Session) -> Result<String> {
    let n: u64 = session.get("visits").await?.unwrap_or(0);
    session.insert("visits", &(n + 1)).await?;
    Ok(n.to_string())
}

#[derive(Deserialize)]
struct Login {
    user: String,
}

async fn login(session: Session, q: web::Query<Login>) -> Result<String> {
    // New privileges, new id: a session id planted before login is worthless.
    session.regenerate_id().await?;
    session.insert("user", &q.user).await?;
    Ok(format!("logged in as {}\n", q.user))
}

async fn whoami(session: Session) -> Result<String> {
    Ok(session
        .get::<String>("user")
        .await?
        .map_or_else(|| "anonymous\n".to_owned(), |u| format!("{u}\n")))
}

async fn logout(session: Session) -> Result<&'static str> {
    session.terminate().await?;
    Ok("logged out\n")
}

#[derive(Deserialize)]
struct Big {
    kib: Option<usize>,
}

async fn big(session: Session, q: web::Query<Big>) -> Result<String> {
    let kib = q.kib.unwrap_or(8).min(256);
    session.insert("big", &"x".repeat(kib * 1024)).await?;
    Ok(format!(
        "stored {kib} KiB: this session now lives in the store\n"
    ))
}

async fn shrink(session: Session) -> Result<&'static str> {
    session.remove("big").await?;
    Ok("removed the big value: back in the cookie\n")
}

async fn seen(session: Session) -> Result<String> {
    let now = tiered_sessions::Clock::now(&tiered_sessions::SystemClock);
    session.insert_quick("last_seen", &now).await?;
    Ok(format!("last seen {now} (cache-only write)\n"))
}

async fn stats(manager: web::Data<SessionManager>) -> String {
    format!("{:#?}\n", manager.metrics().snapshot())
}

fn signing_key() -> Vec<u8> {
    if let Ok(hex) = std::env::var("SESSION_KEY") {
        let bytes: Option<Vec<u8>> = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect();
        if let Some(b) = bytes.filter(|b| b.len() >= 32) {
            return b;
        }
        eprintln!("SESSION_KEY must be at least 64 hex characters; using a random key");
    }
    let mut key = vec![0u8; 32];
    for chunk in key.chunks_mut(16) {
        let id = tiered_sessions::SessionId::generate().expect("OS random source");
        chunk.copy_from_slice(&id.as_bytes()[..chunk.len()]);
    }
    key
}

#[actix_web::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let metrics = Arc::new(tiered_sessions::Metrics::default());
    let redis = [redis_env::URL, redis_env::CLUSTER_URLS]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|v| !v.trim().is_empty()));
    let store: Arc<dyn SessionStore> = if redis {
        tracing::info!("sessions in Redis (a whole store), from TIERED_SESSIONS_REDIS_*");
        Arc::new(RedisCacheBuilder::from_env()?.build_store()?)
    } else {
        tracing::info!("sessions in memory (set TIERED_SESSIONS_REDIS_URL for Redis)");
        Arc::new(
            TieredStore::new(MemoryCache::new(), MemoryStore::new()).with_metrics(metrics.clone()),
        )
    };
    let config = SessionConfig::builder([signing_key()])
        // The demo serves plain HTTP on localhost; keep Secure on in production.
        .secure(false)
        .build()?;
    // One manager (and one store) for every worker.
    let manager = SessionManager::with_shared_store(config, store).with_metrics(metrics);
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    tracing::info!("tiered-sessions demo (actix-web) on http://{addr}/");
    HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(manager.clone()))
            .wrap(SessionMiddleware::new(manager.clone()))
            .route("/", web::get().to(index))
            .route("/counter", web::get().to(counter))
            .route("/login", web::post().to(login))
            .route("/whoami", web::get().to(whoami))
            .route("/logout", web::post().to(logout))
            .route("/big", web::post().to(big))
            .route("/shrink", web::post().to(shrink))
            .route("/seen", web::post().to(seen))
            .route("/stats", web::get().to(stats))
    })
    .bind(addr)?
    .run()
    .await?;
    Ok(())
}
