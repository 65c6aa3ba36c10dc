#![doc = include_str!("../README.md")]

mod builder;
mod diagnose;
mod document;
mod error;
mod indexes;
mod principals;
mod store;

pub use crate::builder::{
    DEFAULT_COLLECTION, DEFAULT_CONNECT_TIMEOUT, DEFAULT_DATABASE, DEFAULT_OPERATION_TIMEOUT,
    MongoStoreBuilder, env,
};
pub use crate::diagnose::MongoDiagnosis;
pub use crate::document::{MAX_BSON_DOCUMENT_BYTES, MAX_RECORD_BYTES};
pub use crate::indexes::{IndexOutcome, IndexesFound, TTL_INDEX_NAME};
pub use crate::store::{MAX_CLEANUP_BATCH, MongoStore};
/// The MongoDB driver this crate is built on, for [`MongoStore::from_database`].
pub use mongodb;

use tiered_sessions::{FromEnv, Result, TieredStore};
pub use tiered_sessions_redis::{RedisCache, RedisCacheBuilder, RedisTiered};

/// A Redis cache in front of a MongoDB collection, as one [`tiered_sessions::SessionStore`].
pub type RedisMongoStore = TieredStore<RedisCache, MongoStore>;

/// Redis in front of MongoDB, everything from the environment:
/// [`FromEnv::from_env`] on [`MongoStoreBuilder`] (creating the TTL index unless
/// [`env::ENSURE_INDEXES`] is false) behind [`RedisTiered::from_env`].
///
/// # Errors
/// [`tiered_sessions::Error::Config`] for a missing or malformed variable or a
/// conflicting index; a backend error when MongoDB cannot be reached to create
/// the index.
pub async fn from_env() -> Result<RedisMongoStore> {
    let durable = MongoStoreBuilder::from_env()?.build().await?;
    RedisTiered::from_env()?.build(durable)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_readme_documents_every_environment_variable() {
        let readme = include_str!("../README.md");
        let vars = [
            crate::env::URI,
            crate::env::DATABASE,
            crate::env::COLLECTION,
            crate::env::CONNECT_TIMEOUT_MS,
            crate::env::TIMEOUT_MS,
            crate::env::MAX_RECORD_BYTES,
            crate::env::ENSURE_INDEXES,
            tiered_sessions_redis::env::CACHE_TIMEOUT_MS,
            tiered_sessions_redis::env::URL,
            tiered_sessions_redis::env::CLUSTER_URLS,
            tiered_sessions_redis::env::KEY_PREFIX,
            tiered_sessions_redis::env::TIMEOUT_MS,
            tiered_sessions_redis::env::POOL_SIZE,
        ];
        for var in vars {
            assert!(
                readme.contains(&format!("| `{var}` |")),
                "{var} is not in the README's table"
            );
        }
        assert!(readme.contains(&crate::MAX_RECORD_BYTES.to_string()));
    }
}
