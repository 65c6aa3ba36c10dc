//! The published conformance suite against the Redis+DynamoDB driver, in five
//! combinations on real services, each case named `<combination>::<case>`:
//!
//! - `redis_moto`: standalone Redis + moto
//! - `redis_dynalite`: standalone Redis + dynalite
//! - `cluster_moto`: a 3-node Redis Cluster + moto
//! - `tls_redis_moto`: standalone Redis over TLS (`TS_REDIS_TLS_URL`) + moto
//! - `tls_cluster_moto`: a Redis Cluster over TLS, TLS cluster bus
//!   (`TS_REDIS_TLS_CLUSTER_URLS`) + moto
//!
//! The TLS combinations trust the test CA of `scripts/services`
//! (`TS_TLS_CA_FILE`), as a deployment trusts its provider's CA.
//!
//! Every case gets a fresh key prefix and a fresh table. A missing service
//! shows its cases as ignored with the reason (a failure under `CI=true`).

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use std::process::ExitCode;
use std::sync::Arc;

use tiered_sessions_conformance::kit::{RedisNodes, test_ca_pem};
use tiered_sessions_conformance::{
    Capabilities, Factory, Fixture, Skip, env_endpoint, libtest_mimic, trials, unique_namespace,
};
use tiered_sessions_redis_dynamodb::{DynamoStore, MAX_RECORD_BYTES, RedisCache};

#[derive(Clone, Copy)]
enum Redis {
    Standalone,
    Cluster,
    TlsStandalone,
    TlsCluster,
}

#[derive(Clone, Copy)]
enum Engine {
    Moto,
    Dynalite,
}

struct RedisDynamo {
    redis: Redis,
    engine: Engine,
}

impl Engine {
    fn endpoint_var(self) -> &'static str {
        match self {
            Engine::Moto => "TS_DYNAMODB_MOTO_ENDPOINT",
            Engine::Dynalite => "TS_DYNAMODB_DYNALITE_ENDPOINT",
        }
    }

    /// moto measures binary attributes as base64 text, so it refuses items
    /// DynamoDB accepts: the fixture declares (and sets) a lower limit.
    fn max_record_bytes(self) -> usize {
        match self {
            Engine::Moto => 300_000,
            Engine::Dynalite => MAX_RECORD_BYTES,
        }
    }
}

fn skip(e: impl std::fmt::Display) -> Skip {
    Skip::new(e.to_string())
}

#[tiered_sessions::async_trait]
impl Factory for RedisDynamo {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .with_cache_tier(true)
            .with_native_ttl(true)
            .with_cluster(matches!(self.redis, Redis::Cluster | Redis::TlsCluster))
    }

    async fn fixture(&self) -> Result<Fixture, Skip> {
        let endpoint = env_endpoint(self.engine.endpoint_var())?;
        // The SDK's credential chain would otherwise look off this machine.
        env_endpoint("AWS_ACCESS_KEY_ID")?;
        let ns = unique_namespace("ts");
        let prefix = format!("{ns}:");
        let nodes = match self.redis {
            Redis::Standalone => RedisNodes::one(env_endpoint("TS_REDIS_URL")?),
            Redis::Cluster => RedisNodes::parse(&env_endpoint("TS_REDIS_CLUSTER_URLS")?),
            Redis::TlsStandalone => RedisNodes::one(env_endpoint("TS_REDIS_TLS_URL")?),
            Redis::TlsCluster => RedisNodes::parse(&env_endpoint("TS_REDIS_TLS_CLUSTER_URLS")?),
        };
        let (mut builder, nodes) = match self.redis {
            Redis::Standalone | Redis::TlsStandalone => {
                (RedisCache::standalone(nodes.urls[0].clone()), nodes)
            }
            Redis::Cluster | Redis::TlsCluster => (RedisCache::cluster(nodes.urls.clone()), nodes),
        };
        let nodes = if matches!(self.redis, Redis::TlsStandalone | Redis::TlsCluster) {
            let ca = test_ca_pem().map_err(skip)?;
            builder = builder.tls_root_certs(ca.clone());
            nodes.trusting(ca)
        } else {
            nodes
        };
        let cache = builder
            .key_prefix(prefix.clone())
            .max_record_bytes(self.engine.max_record_bytes())
            .build()
            .map_err(skip)?;
        let cache = Arc::new(cache);
        let durable = DynamoStore::builder(ns)
            .endpoint_url(endpoint)
            .region("us-east-1")
            .max_record_bytes(self.engine.max_record_bytes())
            .ensure_table(true)
            .build()
            .await
            .map_err(|e| skip(format!("cannot build the store and its table: {e}")))?;
        let durable = Arc::new(durable);
        let (flush_nodes, flush_prefix) = (nodes.clone(), prefix.clone());
        let table = durable.clone();
        Ok(Fixture::tiered(cache, durable)
            .with_flush_cache(move || {
                let (nodes, prefix) = (flush_nodes.clone(), flush_prefix.clone());
                async move { nodes.flush(&prefix).await }
            })
            .with_key_lister(move || {
                let (nodes, prefix, table) = (nodes.clone(), prefix.clone(), table.clone());
                async move {
                    let mut keys = nodes.keys(&prefix).await;
                    keys.extend(table_keys(&table).await);
                    keys
                }
            }))
    }
}

/// Every partition key in the fixture's table.
async fn table_keys(store: &DynamoStore) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let Ok(page) = store
            .client()
            .scan()
            .table_name(store.table_name())
            .set_exclusive_start_key(start)
            .send()
            .await
        else {
            return out;
        };
        for item in page.items() {
            if let Some(Ok(pk)) = item.get("pk").map(|v| v.as_s()) {
                out.push(pk.clone());
            }
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return out;
        }
    }
}

fn main() -> ExitCode {
    // `RUST_LOG=warn` shows the driver's and the session layer's events.
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
    let args = libtest_mimic::Arguments::from_args();
    let mut all = trials(
        "redis_moto",
        RedisDynamo {
            redis: Redis::Standalone,
            engine: Engine::Moto,
        },
    );
    all.extend(trials(
        "redis_dynalite",
        RedisDynamo {
            redis: Redis::Standalone,
            engine: Engine::Dynalite,
        },
    ));
    all.extend(trials(
        "cluster_moto",
        RedisDynamo {
            redis: Redis::Cluster,
            engine: Engine::Moto,
        },
    ));
    all.extend(trials(
        "tls_redis_moto",
        RedisDynamo {
            redis: Redis::TlsStandalone,
            engine: Engine::Moto,
        },
    ));
    all.extend(trials(
        "tls_cluster_moto",
        RedisDynamo {
            redis: Redis::TlsCluster,
            engine: Engine::Moto,
        },
    ));
    libtest_mimic::run(&args, all).exit_code()
}
