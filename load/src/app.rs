//! The demo-like app the clients drive: a counter, named keys, a listing of
//! the whole session and a logout, behind the session layer.
//!
//! Every write first gives an empty session a [`PROFILE_BYTES`] profile, as a
//! logged-in app would: the encoded session is then above the default
//! `cookie_only_threshold` (2048), so it lives in the store and the cookie
//! carries only its signed id.

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use tiered_sessions::{Metrics, Result, Session, SessionConfig, SessionManager, SessionStore};

/// The signing key of the app (a test key: the harness signs nothing real).
pub const SIGNING_KEY: [u8; 32] = *b"tiered-sessions-load-harness-key";

/// The size of the profile every session carries: above the default cookie
/// threshold, so no session of the app is cookie-only.
pub const PROFILE_BYTES: usize = 3 * 1024;

/// The session key of the counter.
const COUNTER: &str = "n";
/// The session key of the profile.
const PROFILE: &str = "profile";
/// The prefix of named keys in the session.
const NAMED: &str = "kv.";

/// The app's configuration: the library's defaults (threshold 2048 included),
/// except `Secure`, since the harness speaks plain HTTP on loopback.
///
/// # Panics
/// Never with these constant settings (a panic means the builder changed).
pub fn config() -> SessionConfig {
    SessionConfig::builder([SIGNING_KEY])
        .secure(false)
        .build()
        .expect("the harness configuration is valid")
}

/// A session manager over `store`, counting into `metrics`.
pub fn manager(store: Arc<dyn SessionStore>, metrics: Arc<Metrics>) -> SessionManager {
    SessionManager::with_shared_store(config(), store).with_metrics(metrics)
}

/// The routes, behind a session layer over `manager`:
///
/// | route | what it does |
/// | --- | --- |
/// | `POST /incr` | adds one to the client's counter, answers the new value |
/// | `PUT /kv/{name}` | stores the body under `name` (a durable write) |
/// | `GET /kv/{name}` | the value under `name`, or 404 |
/// | `GET /all` | `n=<counter>` and `<name>=<value>` lines, sorted (empty without a session) |
/// | `POST /logout` | ends the session everywhere and removes the cookie |
pub fn router(manager: SessionManager) -> Router {
    Router::new()
        .route("/incr", post(incr))
        .route("/kv/{name}", put(set).get(read))
        .route("/all", get(all))
        .route("/logout", post(logout))
        .layer(tiered_sessions::SessionLayer::new(manager))
}

async fn with_profile(session: &Session) -> Result<()> {
    if session.is_empty().await? {
        session.insert(PROFILE, &"p".repeat(PROFILE_BYTES)).await?;
    }
    Ok(())
}

async fn incr(session: Session) -> Result<String> {
    with_profile(&session).await?;
    let n = session.get::<u64>(COUNTER).await?.unwrap_or(0) + 1;
    session.insert(COUNTER, &n).await?;
    Ok(n.to_string())
}

async fn set(session: Session, Path(name): Path<String>, value: String) -> Result<&'static str> {
    with_profile(&session).await?;
    session.insert(&format!("{NAMED}{name}"), &value).await?;
    Ok("ok")
}

async fn read(session: Session, Path(name): Path<String>) -> Result<(StatusCode, String)> {
    Ok(
        match session.get::<String>(&format!("{NAMED}{name}")).await? {
            Some(value) => (StatusCode::OK, value),
            None => (StatusCode::NOT_FOUND, String::new()),
        },
    )
}

async fn all(session: Session) -> Result<String> {
    let mut out = String::new();
    for key in session.keys().await? {
        if key == COUNTER {
            let n = session.get::<u64>(COUNTER).await?.unwrap_or(0);
            out.push_str(&format!("{COUNTER}={n}\n"));
        } else if let Some(name) = key.strip_prefix(NAMED) {
            let value = session.get::<String>(&key).await?.unwrap_or_default();
            out.push_str(&format!("{name}={value}\n"));
        }
    }
    Ok(out)
}

async fn logout(session: Session) -> Result<&'static str> {
    session.terminate().await?;
    Ok("bye")
}

/// A `GET /all` answer, parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Listing {
    /// The counter (`0` when the session has none).
    pub counter: u64,
    /// The named keys and their values.
    pub named: std::collections::BTreeMap<String, String>,
}

impl Listing {
    /// Parse a `GET /all` body; `None` for a line the app never writes.
    pub fn parse(body: &str) -> Option<Listing> {
        let mut listing = Listing::default();
        for line in body.lines() {
            let (k, v) = line.split_once('=')?;
            if k == COUNTER {
                listing.counter = v.parse().ok()?;
            } else {
                listing.named.insert(k.to_owned(), v.to_owned());
            }
        }
        Some(listing)
    }

    /// Whether the listing shows no session data at all.
    pub fn is_empty(&self) -> bool {
        self.counter == 0 && self.named.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_parse_and_refuse_foreign_lines() {
        let l = Listing::parse("a=1\nn=3\nz=x=y\n").expect("parses");
        assert_eq!(l.counter, 3);
        assert_eq!(l.named.get("z").map(String::as_str), Some("x=y"));
        assert!(Listing::parse("").expect("empty").is_empty());
        assert_eq!(Listing::parse("garbage"), None);
        assert_eq!(Listing::parse("n=x"), None);
    }
}
