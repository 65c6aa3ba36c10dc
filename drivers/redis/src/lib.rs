#![doc = include_str!("../README.md")]

mod builder;
mod cache;
mod error;
mod pool;
mod scripts;
mod tiered;

pub use crate::builder::{
    DEFAULT_CALL_TIMEOUT, DEFAULT_DELETION_MARKER, DEFAULT_KEY_PREFIX, DEFAULT_MAX_RECORD_BYTES,
    RedisCacheBuilder, env,
};
pub use crate::cache::RedisCache;
pub use crate::tiered::RedisTiered;

/// The `redis` client crate this driver is built on (for [`RedisCache::query`]).
pub use deadpool_redis::redis;
