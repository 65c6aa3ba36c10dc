//! [`Backend`]: a store as users build it (memory, Redis alone, Redis in front
//! of DynamoDB or MongoDB), in a namespace of its own, removed afterwards.

use std::sync::Arc;
use std::time::Duration;

use tiered_sessions::{Metrics, Result, SessionStore, TieredStore};
use tiered_sessions_conformance::kit::{RedisNodes, endpoint, unique};
use tiered_sessions_memory::{MemoryCache, MemoryStore};
use tiered_sessions_redis::{RedisCache, RedisStore, RedisTiered};
use tiered_sessions_redis_dynamodb::{DynamoStore, DynamoStoreBuilder};
use tiered_sessions_redis_mongodb::MongoStore;

/// The endpoint variables of the repository's `scripts/services`.
pub mod vars {
    /// The shared standalone Redis.
    pub const REDIS: &str = "TS_REDIS_URL";
    /// The shared moto (DynamoDB).
    pub const MOTO: &str = "TS_DYNAMODB_MOTO_ENDPOINT";
    /// The shared SecantusDB replica set (MongoDB).
    pub const MONGO: &str = "TS_MONGO_RS_URI";
    /// Dummy AWS credentials the DynamoDB SDK reads (any value works locally).
    pub const AWS_KEY: &str = "AWS_ACCESS_KEY_ID";
}

/// A driver of the load runs, on the shared services.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    /// The embedded default: a memory cache in front of a memory store.
    Memory,
    /// Redis as the whole store (`RedisStore`).
    Redis,
    /// Redis in front of DynamoDB (moto).
    RedisMoto,
    /// Redis in front of MongoDB (SecantusDB).
    RedisMongo,
}

impl Driver {
    /// Every driver, in report order.
    pub const ALL: [Driver; 4] = [
        Driver::Memory,
        Driver::Redis,
        Driver::RedisMoto,
        Driver::RedisMongo,
    ];

    /// Its name in test names and figures.
    pub fn name(self) -> &'static str {
        match self {
            Driver::Memory => "memory",
            Driver::Redis => "redis",
            Driver::RedisMoto => "redis+moto",
            Driver::RedisMongo => "redis+mongodb",
        }
    }

    /// Whether its services are configured.
    ///
    /// # Errors
    /// The first missing variable, with how to set it.
    pub fn needs(self) -> Result<(), String> {
        let need: &[&str] = match self {
            Driver::Memory => &[],
            Driver::Redis => &[vars::REDIS],
            Driver::RedisMoto => &[vars::REDIS, vars::MOTO, vars::AWS_KEY],
            Driver::RedisMongo => &[vars::REDIS, vars::MONGO],
        };
        need.iter().try_for_each(|v| endpoint(v).map(drop))
    }

    /// Its store, in a fresh namespace on the shared services.
    ///
    /// # Panics
    /// When a service does not answer (the run fails with the reason).
    pub async fn build(self) -> Backend {
        let var = |name| endpoint(name).unwrap_or_else(|e| panic!("{e}"));
        let ns = unique("load");
        match self {
            Driver::Memory => Backend::memory(),
            Driver::Redis => Backend::redis(&var(vars::REDIS), &ns, Some(LOADED_DEADLINE)),
            Driver::RedisMoto => {
                let durable = dynamodb(&var(vars::MOTO), &ns, Some(LOADED_DEADLINE))
                    .await
                    .expect("the DynamoDB table is created");
                Backend::redis_over_dynamodb(&var(vars::REDIS), &ns, durable, Some(LOADED_DEADLINE))
            }
            Driver::RedisMongo => {
                let durable = mongodb(&var(vars::MONGO), &ns, Some(LOADED_DEADLINE))
                    .await
                    .expect("the MongoDB collection is set up");
                Backend::redis_over_mongodb(&var(vars::REDIS), &ns, durable, Some(LOADED_DEADLINE))
            }
        }
    }
}

/// The deadline of one call to a tier (Redis as the cache or the whole
/// store, DynamoDB, MongoDB) under the counter load and the storm (the
/// drivers' defaults are 200 ms for Redis, 3 s for DynamoDB and 5 s for
/// MongoDB): with 256 clients on two cores, a request can queue behind
/// hundreds of others at an emulator that serves a few hundred writes a
/// second, and a Redis call waits for the overloaded runtime to poll it. A
/// cache call past its deadline opens the circuit, and writes to stored
/// sessions are then refused (503) — right for an outage, not what the load
/// run measures. Chaos runs keep the defaults.
pub const LOADED_DEADLINE: Duration = Duration::from_secs(10);

/// A new table `table` on the DynamoDB at `endpoint` (moto or dynalite),
/// with the driver's default deadline unless `deadline` is given.
///
/// # Errors
/// When DynamoDB does not answer or refuses the table.
pub async fn dynamodb(
    endpoint: &str,
    table: &str,
    deadline: Option<Duration>,
) -> Result<DynamoStore> {
    let mut builder = DynamoStoreBuilder::new(table)
        .endpoint_url(endpoint)
        .region("us-east-1")
        // moto counts binary attributes as base64 text.
        .max_record_bytes(300_000)
        .ensure_table(true);
    if let Some(deadline) = deadline {
        builder = builder.operation_timeout(deadline);
    }
    builder.build().await
}

/// The sessions collection of a new database `database` on the MongoDB at
/// `uri`, its TTL index created, with the driver's default deadline unless
/// `deadline` is given.
///
/// # Errors
/// When MongoDB does not answer.
pub async fn mongodb(uri: &str, database: &str, deadline: Option<Duration>) -> Result<MongoStore> {
    let mut builder = MongoStore::builder(uri).database(database);
    if let Some(deadline) = deadline {
        builder = builder.operation_timeout(deadline);
    }
    builder.build().await
}

/// What a backend leaves behind, removed by [`Backend::teardown`].
enum Leftover {
    Redis { url: String, prefix: String },
    Table(DynamoStore),
    Database(MongoStore),
}

/// A store, the counters it and the session layer share, and what to remove.
pub struct Backend {
    /// The store, as the session layer sees it.
    pub store: Arc<dyn SessionStore>,
    /// Session-layer and tier counters.
    pub metrics: Arc<Metrics>,
    leftovers: Vec<Leftover>,
}

impl Backend {
    /// A memory cache in front of a memory store.
    pub fn memory() -> Backend {
        let store = TieredStore::new(MemoryCache::new(), MemoryStore::new());
        let metrics = store.metrics().clone();
        Backend {
            store: Arc::new(store),
            metrics,
            leftovers: Vec::new(),
        }
    }

    /// Redis at `url` as the whole store, keys under `{ns}:`, with the
    /// driver's default call deadline unless `deadline` is given.
    ///
    /// # Panics
    /// On a malformed URL.
    pub fn redis(url: &str, ns: &str, deadline: Option<Duration>) -> Backend {
        let prefix = format!("{ns}:");
        let mut builder = RedisStore::standalone(url).key_prefix(&prefix);
        if let Some(deadline) = deadline {
            builder = builder.call_timeout(deadline);
        }
        let store = builder.build_store().expect("the Redis store builds");
        Backend {
            store: Arc::new(store),
            metrics: Arc::new(Metrics::default()),
            leftovers: vec![Leftover::Redis {
                url: url.to_owned(),
                prefix,
            }],
        }
    }

    /// Redis at `redis_url` (keys under `{ns}:`, the driver's default call
    /// deadline unless `deadline` is given) in front of `durable`.
    fn tiered<D: SessionStore + 'static>(
        redis_url: &str,
        ns: &str,
        durable: D,
        leftover: Leftover,
        deadline: Option<Duration>,
    ) -> Backend {
        let prefix = format!("{ns}:");
        let mut cache = RedisCache::standalone(redis_url).key_prefix(&prefix);
        if let Some(deadline) = deadline {
            cache = cache.call_timeout(deadline);
        }
        let store = RedisTiered::new(cache)
            .build(durable)
            .expect("the driver builds");
        let metrics = store.metrics().clone();
        let cache = Leftover::Redis {
            url: redis_url.to_owned(),
            prefix,
        };
        Backend {
            store: Arc::new(store),
            metrics,
            leftovers: vec![cache, leftover],
        }
    }

    /// Redis at `redis_url` in front of the DynamoDB table of `durable`
    /// (`deadline`: see [`Backend::redis`]).
    pub fn redis_over_dynamodb(
        redis_url: &str,
        ns: &str,
        durable: DynamoStore,
        deadline: Option<Duration>,
    ) -> Backend {
        let table = Leftover::Table(durable.clone());
        Self::tiered(redis_url, ns, durable, table, deadline)
    }

    /// Redis at `redis_url` in front of the MongoDB database of `durable`
    /// (`deadline`: see [`Backend::redis`]).
    pub fn redis_over_mongodb(
        redis_url: &str,
        ns: &str,
        durable: MongoStore,
        deadline: Option<Duration>,
    ) -> Backend {
        let database = Leftover::Database(durable.clone());
        Self::tiered(redis_url, ns, durable, database, deadline)
    }

    /// Remove the namespace's keys, table or database (best effort: the next
    /// run uses new names anyway).
    pub async fn teardown(self) {
        for leftover in self.leftovers {
            match leftover {
                Leftover::Redis { url, prefix } => RedisNodes::one(url).flush(&prefix).await,
                Leftover::Table(store) => {
                    let _ = store
                        .client()
                        .delete_table()
                        .table_name(store.table_name())
                        .send()
                        .await;
                }
                Leftover::Database(store) => {
                    let db = store.collection().namespace().db;
                    let _ = store.collection().client().database(&db).drop().await;
                    store.shutdown().await;
                }
            }
        }
    }
}
