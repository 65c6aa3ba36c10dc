//! The published conformance suite against real services, every case by name:
//!
//! - `redis_mongo_rs::*`, `redis_mongo_standalone::*` and
//!   `redis_cluster_mongo_rs::*`: the store users get from [`RedisTiered`]
//!   (standalone Redis or Redis Cluster in front of MongoDB, TTL index
//!   created), over one MongoDB client per factory shared by its fixtures,
//!   with MongoDB as a one-node replica set and as a standalone server;
//! - `mongo_rs::*` and `mongo_standalone::*`: [`MongoStore`] alone, which is a
//!   complete store too, with a configured 1 MiB record limit.
//!
//! Endpoints come from `TS_REDIS_URL`, `TS_REDIS_CLUSTER_URLS`, `TS_MONGO_RS_URI` and
//! `TS_MONGO_STANDALONE_URI` at run time; each fixture gets its own Redis key
//! prefix and MongoDB collection.

mod support;

use std::process::ExitCode;
use std::sync::Arc;

use tiered_sessions_conformance::kit::RedisNodes;
use tiered_sessions_conformance::libtest_mimic::{self, Arguments};
use tiered_sessions_conformance::{Capabilities, Factory, Fixture, Skip, env_endpoint, trials};
use tiered_sessions_redis_mongodb::mongodb::{Client, Database};
use tiered_sessions_redis_mongodb::{MongoStore, RedisCache, RedisCacheBuilder, RedisTiered};
use tokio::sync::OnceCell;

/// The record size limit the `mongo_*` fixtures configure.
const CONFIGURED_LIMIT: usize = 1 << 20;

/// The database every fixture of one factory in this run uses (one collection
/// per fixture).
fn run_database(mode: &str) -> String {
    support::unique(&format!("ts_conf_{mode}"))
}

/// One MongoDB client per factory, made on first use inside the suite's
/// runtime and shared by every fixture (a client per fixture would open a
/// pool per case, and the driver's clients are meant to be shared).
struct SharedClient {
    var: &'static str,
    client: OnceCell<Client>,
}

impl SharedClient {
    fn new(var: &'static str) -> Self {
        SharedClient {
            var,
            client: OnceCell::new(),
        }
    }

    async fn database(&self, name: &str) -> Result<Database, Skip> {
        let uri = env_endpoint(self.var)?;
        let client = self
            .client
            .get_or_init(|| async {
                // Through the builder, for its short server selection timeout.
                let store = MongoStore::builder(&uri)
                    .build()
                    .await
                    .expect("a MongoDB client");
                store.collection().client().clone()
            })
            .await;
        Ok(client.database(name))
    }
}

/// Which Redis the cache tier runs on.
#[derive(Clone, Copy)]
enum Redis {
    Standalone,
    Cluster,
}

impl Redis {
    /// A cache builder and the node URLs (for the fixture's hooks).
    fn cache(self) -> Result<(RedisCacheBuilder, RedisNodes), Skip> {
        Ok(match self {
            Redis::Standalone => {
                let url = env_endpoint(support::REDIS)?;
                (RedisCache::standalone(url.clone()), RedisNodes::one(url))
            }
            Redis::Cluster => {
                let nodes = RedisNodes::parse(&env_endpoint(support::REDIS_CLUSTER)?);
                (RedisCache::cluster(nodes.urls.clone()), nodes)
            }
        })
    }
}

/// Redis (standalone or Cluster) in front of MongoDB, composed by
/// [`RedisTiered`] as users compose it.
struct RedisMongoFactory {
    redis: Redis,
    mongo: SharedClient,
    database: String,
}

#[tiered_sessions::async_trait]
impl Factory for RedisMongoFactory {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .with_cache_tier(true)
            .with_native_ttl(true)
            .with_cluster(matches!(self.redis, Redis::Cluster))
    }

    async fn fixture(&self) -> Result<Fixture, Skip> {
        let (redis, nodes) = self.redis.cache()?;
        let database = self.mongo.database(&self.database).await?;
        let namespace = support::unique("c");
        let prefix = format!("ts:{namespace}:");
        let redis = redis.key_prefix(&prefix);
        let mongo = MongoStore::from_database(&database, &namespace);
        mongo.ensure_indexes().await.expect("the TTL index");
        let store = RedisTiered::new(redis.clone())
            .build(mongo)
            .expect("building the Redis+MongoDB store");
        // A second handle on each tier, over the same data, for the cases that
        // look at or break one tier.
        let cache = Arc::new(redis.build().expect("a second Redis handle"));
        let durable = Arc::new(store.durable().clone());
        let (flush_nodes, flush_prefix) = (nodes.clone(), prefix.clone());
        let ids = durable.clone();
        Ok(Fixture::new(Arc::new(store))
            .with_tiers(cache, durable)
            .with_flush_cache(move || {
                let (nodes, prefix) = (flush_nodes.clone(), flush_prefix.clone());
                async move { nodes.flush(&prefix).await }
            })
            .with_key_lister(move || {
                let (nodes, prefix, ids) = (nodes.clone(), prefix.clone(), ids.clone());
                async move {
                    let mut keys = nodes.keys(&prefix).await;
                    keys.extend(support::mongo_ids(ids.collection()).await);
                    keys
                }
            }))
    }
}

/// [`MongoStore`] on its own.
struct MongoFactory {
    mongo: SharedClient,
    database: String,
}

#[tiered_sessions::async_trait]
impl Factory for MongoFactory {
    fn capabilities(&self) -> Capabilities {
        // A configured limit below the default, so the suite checks that one
        // too (and sends MongoDB 1 MiB rather than 16 MiB: SecantusDB's
        // in-memory engine keeps the memory of large documents after they
        // are dropped).
        Capabilities::new().with_native_ttl(true)
    }

    async fn fixture(&self) -> Result<Fixture, Skip> {
        let database = self.mongo.database(&self.database).await?;
        let store = MongoStore::from_database(&database, &support::unique("c"))
            .with_max_record_bytes(CONFIGURED_LIMIT);
        store
            .ensure_indexes()
            .await
            .expect("creating the TTL index");
        let store = Arc::new(store);
        let ids = store.clone();
        Ok(Fixture::new(store).with_key_lister(move || {
            let ids = ids.clone();
            async move { support::mongo_ids(ids.collection()).await }
        }))
    }
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let mut all = Vec::new();
    let mut databases = Vec::new();
    for (mode, var) in support::MONGO_MODES {
        let tiered = run_database(mode);
        let alone = run_database(mode);
        databases.push((var, tiered.clone()));
        databases.push((var, alone.clone()));
        all.extend(trials(
            &format!("redis_mongo_{mode}"),
            RedisMongoFactory {
                redis: Redis::Standalone,
                mongo: SharedClient::new(var),
                database: tiered.clone(),
            },
        ));
        if mode == "rs" {
            all.extend(trials(
                "redis_cluster_mongo_rs",
                RedisMongoFactory {
                    redis: Redis::Cluster,
                    mongo: SharedClient::new(var),
                    database: tiered,
                },
            ));
        }
        all.extend(trials(
            &format!("mongo_{mode}"),
            MongoFactory {
                mongo: SharedClient::new(var),
                database: alone,
            },
        ));
    }
    let conclusion = libtest_mimic::run(&args, all);
    // Tidy up this run's databases (best effort; names are never reused).
    let _ = support::block_on(async move {
        for (var, database) in databases {
            if let Ok(uri) = support::endpoint(var) {
                support::drop_database(&uri, &database).await;
            }
        }
    });
    conclusion.exit_code()
}
