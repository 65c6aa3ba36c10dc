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

/// The driver's own environment variables (see also [`mod@env`] and
/// [`tiered_sessions_redis::env`]).
pub mod driver_env {
    pub use crate::driver::env::*;
}

pub use tiered_sessions_redis::{RedisCache, RedisCacheBuilder};

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
            crate::driver_env::ENSURE_INDEXES,
            crate::driver_env::CACHE_TIMEOUT_MS,
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
