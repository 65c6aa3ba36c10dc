//! The published conformance suite (skeleton: the API drivers code against).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use tiered_sessions::{CacheTier, SessionStore};

/// What a driver can do; cases it cannot support are reported *ignored* with the reason.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Capabilities {
    /// The store is a cache tier in front of a durable tier (quick saves, cache loss).
    pub cache_tier: bool,
    /// The backend expires records by itself (Redis TTL, DynamoDB/MongoDB TTL).
    pub native_ttl: bool,
    /// Runs on a cluster (Redis Cluster).
    pub cluster: bool,
    /// The driver's documented record size limit (encoded bytes), if any.
    pub max_record_bytes: Option<usize>,
}

impl Capabilities {
    /// A single store with no cache tier and no size limit.
    pub fn new() -> Self {
        Capabilities { cache_tier: false, native_ttl: false, cluster: false, max_record_bytes: None }
    }
    /// Set `cache_tier`.
    pub fn with_cache_tier(mut self, v: bool) -> Self { self.cache_tier = v; self }
    /// Set `native_ttl`.
    pub fn with_native_ttl(mut self, v: bool) -> Self { self.native_ttl = v; self }
    /// Set `cluster`.
    pub fn with_cluster(mut self, v: bool) -> Self { self.cluster = v; self }
    /// Set `max_record_bytes`.
    pub fn with_max_record_bytes(mut self, v: usize) -> Self { self.max_record_bytes = Some(v); self }
}

impl Default for Capabilities {
    fn default() -> Self { Self::new() }
}

/// An async callback with no result, such as "flush the cache".
pub type Hook = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;
/// An async callback listing the raw keys the backend(s) hold for this fixture.
pub type KeyLister = Arc<dyn Fn() -> BoxFuture<'static, Vec<String>> + Send + Sync>;

/// One fresh store for one case, in its own namespace (key prefix, table, database).
#[derive(Clone)]
pub struct Fixture {
    /// The store under test.
    pub store: Arc<dyn SessionStore>,
    /// The two tiers, separately, when the store is a cache in front of a durable
    /// tier; fault-injection cases compose them with failing wrappers.
    pub tiers: Option<(Arc<dyn CacheTier>, Arc<dyn SessionStore>)>,
    /// Empty the cache tier (simulated cache loss), when there is one.
    pub flush_cache: Option<Hook>,
    /// Every raw key the backend(s) hold for this fixture (to check that no raw id leaks).
    pub list_raw_keys: Option<KeyLister>,
}

/// Why a factory cannot give a fixture here (for example "TS_REDIS_URL is not set").
#[derive(Clone, Debug)]
pub struct Skip(pub String);

/// Makes a fresh fixture per case. Implemented by each driver's test.
#[async_trait::async_trait]
pub trait Factory: Send + Sync + 'static {
    /// What the driver supports.
    fn capabilities(&self) -> Capabilities;
    /// A fresh, empty store in its own namespace, or why there is none.
    async fn fixture(&self) -> Result<Fixture, Skip>;
}
