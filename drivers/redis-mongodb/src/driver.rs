//! The store users pick: [`RedisMongoBuilder`] → [`RedisMongoStore`].

use std::time::Duration;

use tiered_sessions::{Error, Result, TieredStore};
use tiered_sessions_redis::{RedisCache, RedisCacheBuilder};

use crate::builder::{MongoStoreBuilder, parse_number};
use crate::store::MongoStore;

/// A Redis cache in front of a MongoDB collection, as one [`tiered_sessions::SessionStore`].
pub type RedisMongoStore = TieredStore<RedisCache, MongoStore>;

/// Environment variables read by [`RedisMongoBuilder::from_env`] besides
/// [`tiered_sessions_redis::env`] and [`crate::env`].
pub mod env {
    /// Create the TTL index at start-up when `true` (default `true`).
    pub const ENSURE_INDEXES: &str = "TIERED_SESSIONS_MONGODB_ENSURE_INDEXES";
    /// Deadline of one cache call as seen by the tiered store, in milliseconds
    /// (default: the Redis call timeout plus 50 ms).
    pub const CACHE_TIMEOUT_MS: &str = "TIERED_SESSIONS_CACHE_TIMEOUT_MS";
}

/// Builds a [`RedisMongoStore`] from a [`RedisCacheBuilder`] and a
/// [`MongoStoreBuilder`] (or a [`MongoStore`] built already).
#[derive(Clone, Debug)]
pub struct RedisMongoBuilder {
    redis: RedisCacheBuilder,
    mongo: Mongo,
    ensure_indexes: bool,
    cache_timeout: Option<Duration>,
}

#[derive(Clone, Debug)]
enum Mongo {
    Settings(MongoStoreBuilder),
    Store(MongoStore),
}

impl RedisMongoBuilder {
    /// Compose a Redis cache and a MongoDB store.
    pub fn new(redis: RedisCacheBuilder, mongo: MongoStoreBuilder) -> Self {
        RedisMongoBuilder {
            redis,
            mongo: Mongo::Settings(mongo),
            ensure_indexes: true,
            cache_timeout: None,
        }
    }

    /// Compose a Redis cache and a [`MongoStore`] you built yourself, for
    /// instance with [`MongoStore::from_database`] on a client the
    /// application shares (one client per process is what the MongoDB driver
    /// recommends).
    pub fn with_store(redis: RedisCacheBuilder, mongo: MongoStore) -> Self {
        RedisMongoBuilder {
            redis,
            mongo: Mongo::Store(mongo),
            ensure_indexes: true,
            cache_timeout: None,
        }
    }

    /// Everything from the environment: see the README's table.
    ///
    /// # Errors
    /// [`Error::Config`] for a missing Redis URL or MongoDB URI, or a malformed value.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`RedisMongoBuilder::from_env`], reading variables through `lookup`.
    ///
    /// # Errors
    /// As [`RedisMongoBuilder::from_env`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let redis = RedisCacheBuilder::from_lookup(&lookup)?;
        let mongo = MongoStoreBuilder::from_lookup(&lookup)?;
        let mut b = Self::new(redis, mongo);
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        if let Some(v) = get(env::ENSURE_INDEXES) {
            b.ensure_indexes = match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" => false,
                _ => {
                    return Err(Error::config(format!(
                        "{} must be true or false, not {v:?}",
                        env::ENSURE_INDEXES
                    )));
                }
            };
        }
        if let Some(ms) = get(env::CACHE_TIMEOUT_MS) {
            b.cache_timeout = Some(Duration::from_millis(parse_number(
                env::CACHE_TIMEOUT_MS,
                &ms,
            )?));
        }
        Ok(b)
    }

    /// Run [`MongoStore::ensure_indexes`] in [`RedisMongoBuilder::build`]
    /// (default true: it is idempotent and cheap once the index exists; turn
    /// it off when the database user may not create indexes).
    pub fn ensure_indexes(mut self, yes: bool) -> Self {
        self.ensure_indexes = yes;
        self
    }

    /// Deadline the tiered store gives each cache call before it falls back to
    /// MongoDB (default: the Redis call timeout plus 50 ms, so the Redis
    /// driver's own typed timeout fires first).
    pub fn cache_timeout(mut self, timeout: Duration) -> Self {
        self.cache_timeout = Some(timeout);
        self
    }

    /// Map the Redis settings.
    pub fn redis(mut self, f: impl FnOnce(RedisCacheBuilder) -> RedisCacheBuilder) -> Self {
        self.redis = f(self.redis);
        self
    }

    /// Map the MongoDB settings (nothing to map after
    /// [`RedisMongoBuilder::with_store`]).
    pub fn mongodb(mut self, f: impl FnOnce(MongoStoreBuilder) -> MongoStoreBuilder) -> Self {
        if let Mongo::Settings(settings) = self.mongo {
            self.mongo = Mongo::Settings(f(settings));
        }
        self
    }

    /// Build the tiered store, creating the TTL index first if asked.
    ///
    /// # Errors
    /// [`Error::Config`] for invalid settings or a conflicting index on the
    /// expiry field; [`Error::Unavailable`]/[`Error::Timeout`] if MongoDB
    /// cannot be reached for `ensure_indexes`. Redis is not contacted: it
    /// connects on first use.
    pub async fn build(self) -> Result<RedisMongoStore> {
        let cache = self.redis.build()?;
        let durable = match self.mongo {
            Mongo::Settings(settings) => settings.build().await?,
            Mongo::Store(store) => store,
        };
        if self.ensure_indexes {
            durable.ensure_indexes().await?;
        }
        let timeout = self
            .cache_timeout
            .unwrap_or_else(|| cache.call_timeout() + Duration::from_millis(50));
        Ok(TieredStore::new(cache, durable).with_cache_timeout(timeout))
    }
}

/// [`RedisMongoBuilder::from_env`] then [`RedisMongoBuilder::build`].
///
/// # Errors
/// As those two.
pub async fn from_env() -> Result<RedisMongoStore> {
    RedisMongoBuilder::from_env()?.build().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiered_sessions::SessionStore;

    fn vars(extra: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            [
                (tiered_sessions_redis::env::URL, "redis://127.0.0.1:1"),
                (crate::env::URI, "mongodb://127.0.0.1:1"),
            ]
            .iter()
            .chain(extra)
            .find(|(name, _)| *name == k)
            .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn env_reads_the_driver_settings() {
        let b = RedisMongoBuilder::from_lookup(vars(&[
            (env::ENSURE_INDEXES, "False"),
            (env::CACHE_TIMEOUT_MS, "120"),
        ]))
        .expect("valid");
        assert!(!b.ensure_indexes);
        assert_eq!(b.cache_timeout, Some(Duration::from_millis(120)));
        let d = RedisMongoBuilder::from_lookup(vars(&[])).expect("defaults");
        assert!(d.ensure_indexes);
        assert_eq!(d.cache_timeout, None);
    }

    #[test]
    fn env_errors_are_config_errors() {
        assert!(matches!(
            RedisMongoBuilder::from_lookup(vars(&[(env::ENSURE_INDEXES, "maybe")])),
            Err(Error::Config { .. })
        ));
        assert!(matches!(
            RedisMongoBuilder::from_lookup(vars(&[(env::CACHE_TIMEOUT_MS, "fast")])),
            Err(Error::Config { .. })
        ));
        assert!(matches!(
            RedisMongoBuilder::from_lookup(|_| None),
            Err(Error::Config { .. })
        ));
    }

    #[tokio::test]
    async fn mongodb_settings_map_unless_a_store_is_given() {
        let redis = || RedisCacheBuilder::standalone("redis://127.0.0.1:1");
        let mapped = RedisMongoBuilder::new(redis(), MongoStoreBuilder::new("mongodb://h"))
            .mongodb(|m| m.max_record_bytes(1000));
        let store = mapped
            .ensure_indexes(false)
            .build()
            .await
            .expect("built without a server");
        assert_eq!(store.durable().max_record_bytes(), 1000);

        let own = MongoStoreBuilder::new("mongodb://h")
            .max_record_bytes(2000)
            .build()
            .await
            .expect("store");
        let store = RedisMongoBuilder::with_store(redis(), own)
            .mongodb(|m| m.max_record_bytes(1000))
            .ensure_indexes(false)
            .build()
            .await
            .expect("built without a server");
        assert_eq!(store.durable().max_record_bytes(), 2000);
    }

    #[tokio::test]
    async fn build_without_indexes_contacts_no_server() {
        let store = RedisMongoBuilder::from_lookup(vars(&[]))
            .expect("valid")
            .ensure_indexes(false)
            .build()
            .await
            .expect("built without a server");
        assert_eq!(store.durable().max_record_bytes(), crate::MAX_RECORD_BYTES);
    }
}
