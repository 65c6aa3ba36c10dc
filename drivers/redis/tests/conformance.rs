//! The published conformance suite against `RedisStore` (Redis as the whole
//! store) on real services, each case named `<target>::<case>`:
//!
//! - `redis_store`: standalone Redis (`TS_REDIS_URL`)
//! - `redis_store_cluster`: a Redis Cluster (`TS_REDIS_CLUSTER_URLS`)
//!
//! The HTTP-level cases run on axum (`redis_store::http_…`) and on actix-web
//! (`redis_store::actix::http_…`, each on an actix runtime of its own, where
//! the store's connections are made and their tasks run).
//!
//! Every case gets a fresh key prefix. A missing service shows its cases as
//! ignored with the reason (a failure under `CI=true`).

use std::process::ExitCode;
use std::sync::Arc;

use tiered_sessions_conformance::kit::RedisNodes;
use tiered_sessions_conformance::web::ActixApp;
use tiered_sessions_conformance::{
    Capabilities, Factory, Fixture, Skip, env_endpoint, libtest_mimic, trials, trials_on,
    unique_namespace,
};
use tiered_sessions_redis::RedisStore;

/// The record limit the fixtures set (below the default, so the size case
/// stays quick).
const LIMIT: usize = 64 * 1024;

#[derive(Clone, Copy)]
enum Target {
    Standalone,
    Cluster,
}

struct Store(Target);

#[tiered_sessions::async_trait]
impl Factory for Store {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .with_native_ttl(true)
            .with_cluster(matches!(self.0, Target::Cluster))
    }

    async fn fixture(&self) -> Result<Fixture, Skip> {
        let prefix = format!("{}:", unique_namespace("ts_store"));
        let (builder, nodes) = match self.0 {
            Target::Standalone => {
                let url = env_endpoint("TS_REDIS_URL")?;
                (RedisStore::standalone(url.clone()), RedisNodes(vec![url]))
            }
            Target::Cluster => {
                let nodes = RedisNodes::parse(&env_endpoint("TS_REDIS_CLUSTER_URLS")?);
                (RedisStore::cluster(nodes.0.clone()), nodes)
            }
        };
        let store = builder
            .key_prefix(prefix.clone())
            .max_record_bytes(LIMIT)
            .build_store()
            .map_err(|e| Skip::new(format!("invalid Redis settings: {e}")))?;
        Ok(Fixture::new(Arc::new(store)).with_key_lister(move || {
            let (nodes, prefix) = (nodes.clone(), prefix.clone());
            async move { nodes.keys(&prefix).await }
        }))
    }
}

fn main() -> ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let mut all = trials("redis_store", Store(Target::Standalone));
    all.extend(trials("redis_store_cluster", Store(Target::Cluster)));
    all.extend(trials_on::<ActixApp>(
        "redis_store",
        Store(Target::Standalone),
    ));
    all.extend(trials_on::<ActixApp>(
        "redis_store_cluster",
        Store(Target::Cluster),
    ));
    libtest_mimic::run(&args, all).exit_code()
}
