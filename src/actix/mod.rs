//! actix-web 4 integration (feature `actix`): [`SessionMiddleware`] puts a lazy
//! [`Session`](crate::Session) in every request, [`Session`](crate::Session) is
//! an extractor, and [`Error`](crate::Error) is a `ResponseError` (an empty 500,
//! or 503 when retrying may help, with the detail in a `tracing` event).
//!
//! The behaviour is the tower [`SessionLayer`](crate::SessionLayer)'s: the
//! session is saved once after the handler, only when something changed, never
//! on a 5xx response unless `save_on_server_error`, and the response headers
//! follow the same policy (one implementation for both): `Vary: Cookie` on every
//! response whose handler read or changed the session, `Cache-Control: no-store`
//! on one that sets the cookie or names no `Cache-Control` of its own. Handlers may be
//! `!Send`; the session itself is `Send`, so stores whose clients run
//! background tasks (Redis) work on actix's per-worker runtimes.
//!
//! ```rust
//! use actix_web::{App, web};
//! use tiered_sessions::actix::SessionMiddleware;
//! use tiered_sessions::{Result, Session, SessionConfig, SessionManager};
//! use tiered_sessions_memory::MemoryStore;
//!
//! async fn counter(session: Session) -> Result<String> {
//!     let n: u64 = session.get("visits").await?.unwrap_or(0);
//!     session.insert("visits", &(n + 1)).await?;
//!     Ok(n.to_string())
//! }
//!
//! # fn main() -> tiered_sessions::Result<()> {
//! let config = SessionConfig::builder([[0x42u8; 32]]).build()?;
//! let manager = SessionManager::new(config, MemoryStore::new());
//! let app = App::new()
//!     .route("/counter", web::get().to(counter))
//!     .wrap(SessionMiddleware::new(manager));
//! # let _ = app;
//! # Ok(())
//! # }
//! ```

mod extract;
mod middleware;

pub use self::extract::MissingSessionMiddleware;
pub use self::middleware::{ResponseFuture, SessionMiddleware, SessionService};
