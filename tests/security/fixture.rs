//! One driver under attack: the store the layer uses (wrapped to count and
//! fail calls), and a raw look at the backend beneath it, to see exactly what
//! reached it and to plant what another process could have written.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tiered_sessions::codec::{encode_data, encode_record};
use tiered_sessions::{
    CacheTier, ManualClock, Record, SessionConfigBuilder, SessionManager, SessionStore, StoreKey,
    TieredStore,
};
use tiered_sessions_conformance::kit::unique;
use tiered_sessions_memory::{MemoryCache, MemoryStore};
use tiered_sessions_redis::{RedisStore, redis};

use crate::common::{Counting, T0, app, builder};

/// The backend beneath the layer's store.
pub enum Backend {
    /// A memory cache in front of a memory durable tier.
    Memory {
        cache: Arc<MemoryCache>,
        durable: Arc<MemoryStore>,
    },
    /// Redis as the whole store, under a key prefix of this test's own.
    Redis(Arc<RedisStore>),
}

/// A driver under attack.
pub struct Fixture {
    pub backend: Backend,
    /// What the layer calls: the driver, counted (and failable).
    pub store: Arc<Counting<Arc<dyn SessionStore>>>,
    pub clock: ManualClock,
}

impl Fixture {
    pub fn memory() -> Fixture {
        let cache = Arc::new(MemoryCache::new());
        let durable = Arc::new(MemoryStore::new());
        let tiered: Arc<dyn SessionStore> =
            Arc::new(TieredStore::new(cache.clone(), durable.clone()));
        Fixture {
            backend: Backend::Memory { cache, durable },
            store: Counting::new(tiered),
            clock: ManualClock::new(T0),
        }
    }

    pub fn redis() -> Fixture {
        let url = std::env::var("TS_REDIS_URL").unwrap_or_default();
        let store = Arc::new(
            RedisStore::standalone(url)
                .key_prefix(format!("{}:", unique("security")))
                .call_timeout(Duration::from_secs(5))
                .build_store()
                .expect("valid Redis settings"),
        );
        let dyn_store: Arc<dyn SessionStore> = store.clone();
        Fixture {
            backend: Backend::Redis(store),
            store: Counting::new(dyn_store),
            clock: ManualClock::new(T0),
        }
    }

    /// A manager over the counted store, configured by `f` from the common
    /// builder (the test key, the fixture's clock).
    pub fn manager(
        &self,
        f: impl FnOnce(SessionConfigBuilder) -> SessionConfigBuilder,
    ) -> SessionManager {
        let config = f(builder(&self.clock)).build().unwrap();
        SessionManager::with_shared_store(config, self.store.clone())
    }

    /// The common test app over [`Fixture::manager`].
    pub fn app(&self, f: impl FnOnce(SessionConfigBuilder) -> SessionConfigBuilder) -> Router {
        app(self.manager(f))
    }

    /// Every key the backend holds for this fixture, as the backend names it.
    pub async fn raw_keys(&self) -> Vec<String> {
        match &self.backend {
            Backend::Memory { cache, durable } => {
                // Cached records only: a deletion marker holds no session.
                let mut keys: Vec<String> = Vec::new();
                for k in cache.keys() {
                    if cache.get(&k, T0).await.unwrap().is_some() {
                        keys.push(k.as_str().to_owned());
                    }
                }
                keys.extend(durable.keys().iter().map(|k| k.as_str().to_owned()));
                keys
            }
            Backend::Redis(store) => {
                let pattern = format!("{}*", store.key_prefix());
                let mut keys: Vec<String> = Vec::new();
                let mut cursor = 0u64;
                loop {
                    let (next, batch): (u64, Vec<String>) = store
                        .query(
                            redis::cmd("SCAN")
                                .arg(cursor)
                                .arg("MATCH")
                                .arg(&pattern)
                                .arg("COUNT")
                                .arg(1000),
                        )
                        .await
                        .unwrap();
                    keys.extend(batch);
                    if next == 0 {
                        break keys;
                    }
                    cursor = next;
                }
            }
        }
    }

    /// The bytes the backend holds for every key of this fixture.
    pub async fn raw_values(&self) -> Vec<Vec<u8>> {
        match &self.backend {
            Backend::Memory { durable, .. } => {
                let mut out = Vec::new();
                for key in durable.keys() {
                    if let Some(r) = durable.load(&key, T0).await.unwrap() {
                        out.push(encode_record(&r));
                    }
                }
                out
            }
            Backend::Redis(store) => {
                let mut out = Vec::new();
                for key in self.raw_keys().await {
                    let v: Option<Vec<u8>> =
                        store.query(redis::cmd("GET").arg(&key)).await.unwrap();
                    out.extend(v);
                }
                out
            }
        }
    }

    /// Whether the backend holds `key` in any tier.
    pub async fn holds(&self, key: &StoreKey) -> bool {
        match &self.backend {
            Backend::Memory { cache, durable } => {
                cache.get(key, T0).await.unwrap().is_some() || durable.keys().contains(key)
            }
            Backend::Redis(store) => {
                let n: i64 = store
                    .query(redis::cmd("EXISTS").arg(store.redis_key(key)))
                    .await
                    .unwrap();
                n == 1
            }
        }
    }

    /// Replace what the backend holds under `key` with `record` as another
    /// process could have written it, bypassing every check of the layer.
    pub async fn plant_record(&self, key: &StoreKey, record: &Record) {
        match &self.backend {
            Backend::Memory { cache, durable } => {
                cache.flush();
                durable.delete(key, T0).await.unwrap();
                durable.create(key, record, T0).await.unwrap();
            }
            Backend::Redis(_) => {
                // The driver's documented layout: version, expires_at,
                // last_active, created_at (big-endian), then the data.
                let mut bytes = Vec::new();
                for n in [
                    record.version,
                    record.expires_at,
                    record.last_active,
                    record.created_at,
                ] {
                    bytes.extend(n.to_be_bytes());
                }
                bytes.extend(encode_data(&record.data));
                self.plant_bytes(key, &bytes).await;
            }
        }
    }

    /// Overwrite `key` with raw bytes (Redis only: the memory driver holds
    /// typed records, which [`Fixture::plant_record`] covers). Returns whether
    /// it could.
    pub async fn plant_bytes(&self, key: &StoreKey, bytes: &[u8]) -> bool {
        match &self.backend {
            Backend::Memory { .. } => false,
            Backend::Redis(store) => {
                store
                    .query::<()>(
                        redis::cmd("SET")
                            .arg(store.redis_key(key))
                            .arg(bytes)
                            .arg("EX")
                            .arg(600),
                    )
                    .await
                    .unwrap();
                true
            }
        }
    }
}
