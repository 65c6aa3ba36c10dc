#![doc = include_str!("../README.md")]

mod builder;
mod cleanup;
mod driver;
mod error;
mod item;
mod store;
mod table;

pub use crate::builder::{DynamoStoreBuilder, env};
pub use crate::driver::{RedisDynamoBuilder, RedisDynamoStore, from_env};
pub use crate::item::{MAX_ITEM_BYTES, MAX_RECORD_BYTES};
pub use crate::store::DynamoStore;
pub use crate::table::{TableSetup, TtlSetup};

/// The driver's own environment variables (see also [`mod@env`] and
/// [`mod@tiered_sessions_redis::env`]).
pub mod driver_env {
    pub use crate::driver::env::*;
}

pub use tiered_sessions_redis::{RedisCache, RedisCacheBuilder};
