//! [`Fixture`], [`Factory`] and [`Skip`]: how a driver hands the suite a fresh
//! store for each case.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tiered_sessions::{CacheTier, SessionStore, TieredStore};

use crate::capabilities::Capabilities;

/// An async callback with no result, such as "flush the cache".
pub type Hook = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;
/// An async callback listing the raw keys the backend(s) hold for this fixture.
pub type KeyLister = Arc<dyn Fn() -> BoxFuture<'static, Vec<String>> + Send + Sync>;
/// Builds the driver's store over two tiers and a deadline for cache calls;
/// fault-injection cases pass it tiers wrapped in failing wrappers.
pub type Compose = Arc<
    dyn Fn(Arc<dyn CacheTier>, Arc<dyn SessionStore>, Duration) -> Arc<dyn SessionStore>
        + Send
        + Sync,
>;

/// One fresh store for one case, in its own namespace (key prefix, table, database).
///
/// Build it with [`Fixture::new`] or [`Fixture::tiered`] and the `with_*`
/// methods; the fields are public for drivers that fill them directly.
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
    /// How the driver composes a store from [`Fixture::tiers`]. `None` means
    /// [`TieredStore::new`] with the given cache deadline, which is right for
    /// every driver whose store *is* a `TieredStore`.
    pub compose: Option<Compose>,
}

impl Fixture {
    /// A whole store with no separate tiers and no hooks.
    pub fn new(store: Arc<dyn SessionStore>) -> Self {
        Fixture {
            store,
            tiers: None,
            flush_cache: None,
            list_raw_keys: None,
            compose: None,
        }
    }

    /// A [`TieredStore`] over `cache` and `durable`, with both tiers exposed
    /// for the tier and fault-injection cases. Add [`Fixture::with_flush_cache`]
    /// so the cache-loss cases run too.
    pub fn tiered<C, D>(cache: Arc<C>, durable: Arc<D>) -> Self
    where
        C: CacheTier + 'static,
        D: SessionStore + 'static,
    {
        let store = Arc::new(TieredStore::new(cache.clone(), durable.clone()));
        Fixture::new(store).with_tiers(cache, durable)
    }

    /// Expose the two tiers.
    pub fn with_tiers(mut self, cache: Arc<dyn CacheTier>, durable: Arc<dyn SessionStore>) -> Self {
        self.tiers = Some((cache, durable));
        self
    }

    /// Set the cache-flush hook from an async closure.
    pub fn with_flush_cache<F, Fut>(mut self, flush: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.flush_cache = Some(Arc::new(move || Box::pin(flush())));
        self
    }

    /// Set the raw-key lister from an async closure.
    pub fn with_key_lister<F, Fut>(mut self, list: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<String>> + Send + 'static,
    {
        self.list_raw_keys = Some(Arc::new(move || Box::pin(list())));
        self
    }

    /// Set how the driver composes its store from two tiers.
    pub fn with_compose<F>(mut self, compose: F) -> Self
    where
        F: Fn(Arc<dyn CacheTier>, Arc<dyn SessionStore>, Duration) -> Arc<dyn SessionStore>
            + Send
            + Sync
            + 'static,
    {
        self.compose = Some(Arc::new(compose));
        self
    }

    /// The driver's store over `cache` and `durable` (see [`Fixture::compose`]).
    pub fn compose_tiers(
        &self,
        cache: Arc<dyn CacheTier>,
        durable: Arc<dyn SessionStore>,
        cache_timeout: Duration,
    ) -> Arc<dyn SessionStore> {
        match &self.compose {
            Some(compose) => compose(cache, durable, cache_timeout),
            None => Arc::new(TieredStore::new(cache, durable).with_cache_timeout(cache_timeout)),
        }
    }
}

impl fmt::Debug for Fixture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fixture")
            .field("store", &self.store)
            .field("tiers", &self.tiers)
            .field("flush_cache", &self.flush_cache.is_some())
            .field("list_raw_keys", &self.list_raw_keys.is_some())
            .field("compose", &self.compose.is_some())
            .finish()
    }
}

/// Why a factory cannot give a fixture here (for example "TS_REDIS_URL is not set").
///
/// Reported as *ignored* with the reason, or as a failure when `CI=true`.
#[derive(Clone, Debug)]
pub struct Skip(pub String);

impl Skip {
    /// A skip with this reason.
    pub fn new(reason: impl Into<String>) -> Self {
        Skip(reason.into())
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Skip {}

/// Makes a fresh fixture per case. Implemented by each driver's test.
#[async_trait::async_trait]
pub trait Factory: Send + Sync + 'static {
    /// What the driver supports.
    fn capabilities(&self) -> Capabilities;
    /// A fresh, empty store in its own namespace, or why there is none.
    async fn fixture(&self) -> Result<Fixture, Skip>;
}

/// Read a service endpoint from the environment *at run time* (never with
/// `option_env!`), or skip with a reason naming the variable.
///
/// # Errors
/// [`Skip`] when the variable is unset, empty or not Unicode.
pub fn env_endpoint(var: &str) -> Result<String, Skip> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(Skip(format!(
            "{var} is not set; start the service and export it"
        ))),
    }
}

/// A namespace no other case or run uses: `prefix`, the process id, the time
/// and a counter, in `[a-z0-9_]`. Use it as a key prefix, table or database name.
pub fn unique_namespace(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{prefix}_{}_{:x}_{n}", std::process::id(), nanos)
}
