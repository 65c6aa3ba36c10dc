#![doc = include_str!("../README.md")]

mod builder;
mod capacity;
mod cleanup;
mod diagnose;
mod error;
mod item;
mod principals;
mod store;
mod table;

pub use crate::builder::{DEFAULT_CONNECT_TIMEOUT, DynamoStoreBuilder, env};
pub use crate::capacity::CapacityUsage;
pub use crate::diagnose::DynamoDiagnosis;
pub use crate::item::{MAX_ITEM_BYTES, MAX_RECORD_BYTES};
pub use crate::store::DynamoStore;
pub use crate::table::{TableCheck, TableSetup, TtlSetup};

use tiered_sessions::{FromEnv, Result, TieredStore};
pub use tiered_sessions_redis::{RedisCache, RedisCacheBuilder, RedisTiered};

/// A Redis cache in front of a DynamoDB table, as one [`tiered_sessions::SessionStore`].
pub type RedisDynamoStore = TieredStore<RedisCache, DynamoStore>;

/// Redis in front of DynamoDB, everything from the environment:
/// [`FromEnv::from_env`] on [`DynamoStoreBuilder`] (creating the table when
/// [`env::ENSURE_TABLE`] says so) behind [`RedisTiered::from_env`].
///
/// # Errors
/// [`tiered_sessions::Error::Config`] for a missing or malformed variable; a
/// backend error from creating the table.
pub async fn from_env() -> Result<RedisDynamoStore> {
    let durable = DynamoStoreBuilder::from_env()?.build().await?;
    RedisTiered::from_env()?.build(durable)
}
