//! [`RedisTiered`]: the Redis cache tier in front of any durable store — the
//! one composition every cloud driver (DynamoDB, MongoDB, yours) uses.

use std::fmt;
use std::time::Duration;

use tiered_sessions::{CacheOutageWrites, EnvVars, FromEnv, Result, SessionStore, TieredStore};

use crate::builder::{RedisCacheBuilder, env};
use crate::cache::RedisCache;

/// Builds a [`TieredStore`] of a [`RedisCache`] in front of any durable
/// [`SessionStore`]:
///
/// ```no_run
/// # async fn run() -> tiered_sessions::Result<()> {
/// use tiered_sessions_memory::MemoryStore; // your durable store here
/// use tiered_sessions::FromEnv;
/// use tiered_sessions_redis::RedisTiered;
///
/// let store = RedisTiered::from_env()?.build(MemoryStore::new())?;
/// # Ok(()) }
/// ```
///
/// The tiered store refuses any record above the smaller of the two tiers'
/// limits, so there is nothing to align by hand. No connection is made here.
#[derive(Clone)]
pub struct RedisTiered {
    redis: RedisCacheBuilder,
    cache_timeout: Option<Duration>,
    outage_writes: CacheOutageWrites,
}

impl fmt::Debug for RedisTiered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisTiered")
            .field("redis", &self.redis)
            .field("cache_timeout", &self.cache_timeout)
            .field("outage_writes", &self.outage_writes)
            .finish()
    }
}

impl RedisTiered {
    /// The Redis cache `redis` will build, with the default cache deadline.
    pub fn new(redis: RedisCacheBuilder) -> Self {
        RedisTiered {
            redis,
            cache_timeout: None,
            outage_writes: CacheOutageWrites::default(),
        }
    }

    /// Map the Redis settings.
    pub fn redis(mut self, f: impl FnOnce(RedisCacheBuilder) -> RedisCacheBuilder) -> Self {
        self.redis = f(self.redis);
        self
    }

    /// The deadline the tiered store gives each cache call before it falls
    /// back to the durable tier (default: the Redis call timeout plus 50 ms).
    pub fn cache_timeout(mut self, timeout: Duration) -> Self {
        self.cache_timeout = Some(timeout);
        self
    }

    /// What a write does while Redis cannot be reached to invalidate its
    /// entry first (default [`CacheOutageWrites::Refuse`]: a retryable error,
    /// nothing written — safe when several app instances share the Redis).
    pub fn cache_outage_writes(mut self, policy: CacheOutageWrites) -> Self {
        self.outage_writes = policy;
        self
    }

    /// The Redis cache in front of `durable`.
    ///
    /// # Errors
    /// [`tiered_sessions::Error::Config`] for invalid Redis settings.
    pub fn build<D: SessionStore>(self, durable: D) -> Result<TieredStore<RedisCache, D>> {
        let cache = self.redis.build()?;
        let timeout = self
            .cache_timeout
            .unwrap_or_else(|| cache.call_timeout() + Duration::from_millis(50));
        Ok(TieredStore::new(cache, durable)
            .with_cache_timeout(timeout)
            .with_cache_outage_writes(self.outage_writes))
    }
}

/// Settings from the environment ([`mod@crate::env`]), the cache deadline
/// included ([`env::CACHE_TIMEOUT_MS`]); `from_env` and `from_lookup` come
/// with [`FromEnv`].
impl FromEnv for RedisTiered {
    fn from_vars<F: Fn(&str) -> Option<String>>(vars: &EnvVars<F>) -> Result<Self> {
        Ok(RedisTiered {
            redis: RedisCacheBuilder::from_vars(vars)?,
            cache_timeout: vars.millis(env::CACHE_TIMEOUT_MS)?,
            outage_writes: CacheOutageWrites::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiered_sessions::Error;
    use tiered_sessions_memory::MemoryStore;

    #[test]
    fn env_sets_the_cache_deadline_or_derives_it() {
        let vars = |timeout: Option<&'static str>| {
            move |name: &str| match name {
                "TIERED_SESSIONS_REDIS_URL" => Some("redis://127.0.0.1:1".to_owned()),
                "TIERED_SESSIONS_REDIS_TIMEOUT_MS" => Some("100".to_owned()),
                env::CACHE_TIMEOUT_MS => timeout.map(str::to_owned),
                _ => None,
            }
        };
        let set = RedisTiered::from_lookup(vars(Some("70")))
            .unwrap()
            .build(MemoryStore::new())
            .unwrap();
        assert_eq!(set.cache_timeout(), Duration::from_millis(70));
        let derived = RedisTiered::from_lookup(vars(None))
            .unwrap()
            .build(MemoryStore::new())
            .unwrap();
        assert_eq!(derived.cache_timeout(), Duration::from_millis(150));
        assert!(matches!(
            RedisTiered::from_lookup(vars(Some("soon"))),
            Err(Error::Config { .. })
        ));
    }
}
