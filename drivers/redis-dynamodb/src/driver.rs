//! The store users pick: [`RedisDynamoBuilder`] → [`RedisDynamoStore`].

use std::time::Duration;

use tiered_sessions::{Error, Result, TieredStore};
use tiered_sessions_redis::{RedisCache, RedisCacheBuilder};

use crate::builder::DynamoStoreBuilder;
use crate::store::DynamoStore;

/// A Redis cache in front of a DynamoDB table, as one [`tiered_sessions::SessionStore`].
pub type RedisDynamoStore = TieredStore<RedisCache, DynamoStore>;

/// Environment variables read by [`RedisDynamoBuilder::from_env`] besides
/// [`mod@tiered_sessions_redis::env`] and [`mod@crate::env`].
pub mod env {
    /// Create the table (and enable TTL) at start-up when `true` (default `false`).
    pub const ENSURE_TABLE: &str = "TIERED_SESSIONS_DYNAMODB_ENSURE_TABLE";
    /// Deadline of one cache call as seen by the tiered store, in milliseconds
    /// (default: the Redis call timeout plus 50 ms).
    pub const CACHE_TIMEOUT_MS: &str = "TIERED_SESSIONS_CACHE_TIMEOUT_MS";
}

/// Builds a [`RedisDynamoStore`] from a Redis and a DynamoDB configuration.
#[derive(Clone, Debug)]
pub struct RedisDynamoBuilder {
    redis: RedisCacheBuilder,
    dynamo: DynamoStoreBuilder,
    ensure_table: bool,
    cache_timeout: Option<Duration>,
}

impl RedisDynamoBuilder {
    /// Compose a Redis cache and a DynamoDB store.
    pub fn new(redis: RedisCacheBuilder, dynamo: DynamoStoreBuilder) -> Self {
        RedisDynamoBuilder {
            redis,
            dynamo,
            ensure_table: false,
            cache_timeout: None,
        }
    }

    /// Everything from the environment: see the README's table.
    ///
    /// # Errors
    /// [`Error::Config`] for a missing Redis URL or table name, or a malformed value.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`RedisDynamoBuilder::from_env`], reading variables through `lookup`.
    ///
    /// # Errors
    /// As [`RedisDynamoBuilder::from_env`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let redis = RedisCacheBuilder::from_lookup(&lookup)?;
        let dynamo = DynamoStoreBuilder::from_lookup(&lookup)?;
        let mut b = Self::new(redis, dynamo);
        if let Some(v) = lookup(env::ENSURE_TABLE) {
            b.ensure_table = match v.trim() {
                "1" | "true" | "yes" => true,
                "" | "0" | "false" | "no" => false,
                other => {
                    return Err(Error::config(format!(
                        "{} must be true or false, not {other:?}",
                        env::ENSURE_TABLE
                    )));
                }
            };
        }
        if let Some(v) = lookup(env::CACHE_TIMEOUT_MS).filter(|v| !v.trim().is_empty()) {
            let ms: u64 = v.trim().parse().map_err(|_| {
                Error::config(format!("{} must be a whole number", env::CACHE_TIMEOUT_MS))
            })?;
            b.cache_timeout = Some(Duration::from_millis(ms));
        }
        Ok(b)
    }

    /// Run [`DynamoStore::ensure_table`] in [`RedisDynamoBuilder::build`]
    /// (default false: tables are usually made by infrastructure code).
    pub fn ensure_table(mut self, yes: bool) -> Self {
        self.ensure_table = yes;
        self
    }

    /// Deadline the tiered store gives each cache call before it falls back to
    /// DynamoDB (default: the Redis call timeout plus 50 ms, so the Redis
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

    /// Map the DynamoDB settings.
    pub fn dynamodb(mut self, f: impl FnOnce(DynamoStoreBuilder) -> DynamoStoreBuilder) -> Self {
        self.dynamo = f(self.dynamo);
        self
    }

    /// Build the tiered store (and the table, if asked). The cache's record
    /// limit is lowered to DynamoDB's, so a quick save never accepts what a
    /// durable save would refuse.
    ///
    /// # Errors
    /// [`Error::Config`] for invalid settings; a backend error from
    /// `ensure_table`. Redis is not contacted: it connects on first use.
    pub async fn build(self) -> Result<RedisDynamoStore> {
        let durable = self.dynamo.build().await?;
        let cache = self.redis.build()?;
        if self.ensure_table {
            durable.ensure_table().await?;
        }
        let timeout = self
            .cache_timeout
            .unwrap_or_else(|| cache.call_timeout() + Duration::from_millis(50));
        Ok(TieredStore::new(cache, durable).with_cache_timeout(timeout))
    }
}

/// [`RedisDynamoBuilder::from_env`] then [`RedisDynamoBuilder::build`].
///
/// # Errors
/// As those two.
pub async fn from_env() -> Result<RedisDynamoStore> {
    RedisDynamoBuilder::from_env()?.build().await
}
