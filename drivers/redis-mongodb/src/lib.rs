#![doc = include_str!("../README.md")]

mod builder;
mod document;
mod driver;
mod error;
mod indexes;
mod store;

pub use crate::builder::{
    DEFAULT_COLLECTION, DEFAULT_CONNECT_TIMEOUT, DEFAULT_DATABASE, DEFAULT_OPERATION_TIMEOUT,
    MongoStoreBuilder, env,
};
pub use crate::document::{MAX_BSON_DOCUMENT_BYTES, MAX_RECORD_BYTES};
pub use crate::driver::{RedisMongoBuilder, RedisMongoStore, from_env};
pub use crate::indexes::{IndexOutcome, TTL_INDEX_NAME};
pub use crate::store::{MAX_CLEANUP_BATCH, MongoStore};
/// The MongoDB driver this crate is built on, for [`MongoStore::from_database`].
pub use mongodb;

/// The driver's own environment variables (see also [`env`] and
/// [`tiered_sessions_redis::env`]).
pub mod driver_env {
    pub use crate::driver::env::*;
}

pub use tiered_sessions_redis::{RedisCache, RedisCacheBuilder};
