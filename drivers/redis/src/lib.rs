#![doc = include_str!("../README.md")]

mod builder;
mod cache;
mod cleanup;
mod connection;
mod diagnose;
mod error;
mod layout;
mod pool;
mod principal_scripts;
mod principals;
mod scripts;
mod store;
mod store_scripts;
mod store_value;
mod tiered;
mod tls;

pub use crate::builder::{
    DEFAULT_CALL_TIMEOUT, DEFAULT_CONNECTIONS, DEFAULT_DELETION_MARKER, DEFAULT_KEY_PREFIX,
    DEFAULT_MAX_RECORD_BYTES, DEFAULT_STORE_KEY_PREFIX, RedisCacheBuilder, env,
};
pub use crate::cache::RedisCache;
pub use crate::diagnose::{NodeReport, NodeState};
pub use crate::store::RedisStore;
pub use crate::tiered::RedisTiered;

/// The `redis` client crate this driver is built on (for [`RedisCache::query`]
/// and [`RedisStore::query`]).
pub use redis;
