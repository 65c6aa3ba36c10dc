#![doc = include_str!("../README.md")]

mod clock;
pub mod codec;
mod config;
mod cookie;
mod env;
mod error;
pub mod fields;
pub mod inspect;
mod instrument;
#[cfg(feature = "__internals")]
#[doc(hidden)]
pub mod internals;
mod keys;
mod layer;
mod log_throttle;
mod manager;
mod metrics;
mod principal;
mod record;
mod request_cookies;
mod response_policy;
mod rng;
mod session;
mod session_data;
mod session_id;
mod spare;
mod store;
mod tiered;

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "axum")]
mod axum;

#[cfg(feature = "axum")]
pub use crate::axum::MissingSessionLayer;
pub use crate::clock::{Clock, ManualClock, SystemClock, UnixTime};
pub use crate::config::{
    DEFAULT_REVOCATION_CHECK_INTERVAL, SameSite, SessionConfig, SessionConfigBuilder,
};
pub use crate::env::{EnvValue, EnvVars, FromEnv};
pub use crate::error::{BoxError, Error, Result};
pub use crate::layer::{ResponseFuture, SessionLayer, SessionService};
pub use crate::manager::SessionManager;
pub use crate::metrics::{Metrics, MetricsSnapshot};
pub use crate::principal::{
    IndexEntry, MAX_DESCRIPTION_LEN, PrincipalHash, PrincipalIndex, PrincipalSessions, Revocation,
    Revocations, SESSION_HANDLE_LEN, SessionHandle, SessionInfo, SessionLocation,
};
pub use crate::record::{Record, SessionData};
pub use crate::request_cookies::RequestCookies;
pub use crate::session::{ResponseCookies, Session};
pub use crate::session_data::Iter as SessionDataIter;
pub use crate::session_id::{SESSION_ID_LEN, SessionId, StoreKey};
pub use crate::store::{
    CacheOutcome, CacheTier, CleanupBatch, CleanupCursor, CleanupStopped, Durability, SessionStore,
    SessionStoreExt,
};
pub use crate::tiered::{CacheOutageWrites, CircuitBreaker, TieredStore};

/// Re-exported so drivers implement the traits with the same macro version.
pub use async_trait::async_trait;
