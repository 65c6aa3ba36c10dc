//! [`Capabilities`]: what a driver declares it can do.

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
    /// How many random operations the model-based case runs (default 64).
    ///
    /// Every step costs a few store calls; lower it for slow backends. The
    /// environment variable `TS_CONFORMANCE_STEPS` overrides it at run time.
    pub model_steps: usize,
}

/// The model-based case's default step count.
pub const DEFAULT_MODEL_STEPS: usize = 64;

impl Capabilities {
    /// A single store with no cache tier, no native TTL, not on a cluster.
    pub fn new() -> Self {
        Capabilities {
            cache_tier: false,
            native_ttl: false,
            cluster: false,
            model_steps: DEFAULT_MODEL_STEPS,
        }
    }
    /// Set `cache_tier`.
    pub fn with_cache_tier(mut self, v: bool) -> Self {
        self.cache_tier = v;
        self
    }
    /// Set `native_ttl`.
    pub fn with_native_ttl(mut self, v: bool) -> Self {
        self.native_ttl = v;
        self
    }
    /// Set `cluster`.
    pub fn with_cluster(mut self, v: bool) -> Self {
        self.cluster = v;
        self
    }
    /// Set `model_steps` (at least 1).
    pub fn with_model_steps(mut self, steps: usize) -> Self {
        self.model_steps = steps.max(1);
        self
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Self::new()
    }
}
