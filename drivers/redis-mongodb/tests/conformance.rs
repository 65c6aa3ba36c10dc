//! The published conformance suite against real services, every case by name:
//!
//! - `redis_mongo_rs::*` and `redis_mongo_standalone::*`: the store users get
//!   from [`RedisMongoBuilder`] (Redis in front of MongoDB, TTL index created),
//!   over one MongoDB client per mode shared by the fixtures,
//!   with MongoDB as a one-node replica set and as a standalone server;
//! - `mongo_rs::*` and `mongo_standalone::*`: [`MongoStore`] alone, which is a
//!   complete store too, with a configured 1 MiB record limit.
//!
//! Endpoints come from `TS_REDIS_URL`, `TS_MONGO_RS_URI` and
//! `TS_MONGO_STANDALONE_URI` at run time; each fixture gets its own Redis key
//! prefix and MongoDB collection.

mod support;

use std::process::ExitCode;
use std::sync::Arc;

use tiered_sessions_conformance::libtest_mimic::{self, Arguments};
use tiered_sessions_conformance::{Capabilities, Factory, Fixture, Skip, env_endpoint, trials};
use tiered_sessions_redis_mongodb::mongodb::{Client, Database};
use tiered_sessions_redis_mongodb::{MongoStore, RedisCache, RedisMongoBuilder};
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

/// Redis in front of MongoDB, composed by the driver's builder.
struct RedisMongoFactory {
    mongo: SharedClient,
    database: String,
}

#[tiered_sessions::async_trait]
impl Factory for RedisMongoFactory {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .with_cache_tier(true)
            .with_native_ttl(true)
    }

    async fn fixture(&self) -> Result<Fixture, Skip> {
        let redis_url = env_endpoint(support::REDIS)?;
        let database = self.mongo.database(&self.database).await?;
        let namespace = support::unique("c");
        let prefix = format!("ts:{namespace}:");
        let redis = RedisCache::standalone(&redis_url).key_prefix(&prefix);
        let store = RedisMongoBuilder::with_store(
            redis.clone(),
            MongoStore::from_database(&database, &namespace),
        )
        .build()
        .await
        .expect("building the Redis+MongoDB store (with its TTL index)");
        // A second handle on each tier, over the same data, for the cases that
        // look at or break one tier.
        let cache = Arc::new(redis.build().expect("a second Redis handle"));
        let durable = Arc::new(store.durable().clone());
        let (flush, list) = (cache.clone(), cache.clone());
        let (flush_prefix, list_prefix) = (prefix.clone(), prefix);
        let ids = durable.clone();
        Ok(Fixture::new(Arc::new(store))
            .with_tiers(cache, durable)
            .with_flush_cache(move || {
                let (cache, prefix) = (flush.clone(), flush_prefix.clone());
                async move { support::redis_flush(&cache, &prefix).await }
            })
            .with_key_lister(move || {
                let (cache, prefix, ids) = (list.clone(), list_prefix.clone(), ids.clone());
                async move {
                    let mut keys = support::redis_keys(&cache, &prefix).await;
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
                mongo: SharedClient::new(var),
                database: tiered,
            },
        ));
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
