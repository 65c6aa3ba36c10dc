//! The published conformance suite against `RedisStore` (Redis as the whole
//! store) on real services, each case named `<target>::<case>`:
//!
//! - `redis_store`: standalone Redis (`TS_REDIS_URL`)
//! - `redis_store_cluster`: a Redis Cluster (`TS_REDIS_CLUSTER_URLS`)
//! - `redis_store_tls`: standalone Redis over TLS (`TS_REDIS_TLS_URL`,
//!   trusting `TS_TLS_CA_FILE`)
//! - `redis_store_tls_cluster`: a Redis Cluster over TLS, TLS cluster bus
//!   (`TS_REDIS_TLS_CLUSTER_URLS`, trusting `TS_TLS_CA_FILE`)
//!
//! The HTTP-level cases run on axum (`redis_store::http_…`) and on actix-web
//! (`redis_store::actix::http_…`, each on an actix runtime of its own, where
//! the store's connections are made and their tasks run).
//!
//! Every case gets a fresh key prefix. A missing service shows its cases as
//! ignored with the reason (a failure under `CI=true`).

use std::process::ExitCode;
use std::sync::Arc;

use tiered_sessions_conformance::kit::{RedisNodes, test_ca_pem};
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
    TlsStandalone,
    TlsCluster,
}

struct Store(Target);

#[tiered_sessions::async_trait]
impl Factory for Store {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .with_native_ttl(true)
            .with_cluster(matches!(self.0, Target::Cluster | Target::TlsCluster))
    }

    async fn fixture(&self) -> Result<Fixture, Skip> {
        let prefix = format!("{}:", unique_namespace("ts_store"));
        let (builder, nodes) = match self.0 {
            Target::Standalone => {
                let url = env_endpoint("TS_REDIS_URL")?;
                (RedisStore::standalone(url.clone()), RedisNodes::one(url))
            }
            Target::Cluster => {
                let nodes = RedisNodes::parse(&env_endpoint("TS_REDIS_CLUSTER_URLS")?);
                (RedisStore::cluster(nodes.urls.clone()), nodes)
            }
            Target::TlsStandalone | Target::TlsCluster => return tls_fixture(self.0, prefix),
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

/// A fixture over TLS: the store trusts the test CA, and so does the raw-key
/// lister.
#[cfg(feature = "tls")]
fn tls_fixture(target: Target, prefix: String) -> Result<Fixture, Skip> {
    let ca = test_ca_pem().map_err(Skip::new)?;
    let (builder, nodes) = if matches!(target, Target::TlsCluster) {
        let nodes = RedisNodes::parse(&env_endpoint("TS_REDIS_TLS_CLUSTER_URLS")?);
        (RedisStore::cluster(nodes.urls.clone()), nodes)
    } else {
        let url = env_endpoint("TS_REDIS_TLS_URL")?;
        (RedisStore::standalone(url.clone()), RedisNodes::one(url))
    };
    let store = builder
        .tls_root_certs(ca.clone())
        .key_prefix(prefix.clone())
        .max_record_bytes(LIMIT)
        .build_store()
        .map_err(|e| Skip::new(format!("invalid Redis settings: {e}")))?;
    let nodes = nodes.trusting(ca);
    Ok(Fixture::new(Arc::new(store)).with_key_lister(move || {
        let (nodes, prefix) = (nodes.clone(), prefix.clone());
        async move { nodes.keys(&prefix).await }
    }))
}

#[cfg(not(feature = "tls"))]
fn tls_fixture(_: Target, _: String) -> Result<Fixture, Skip> {
    Err(Skip::new("built without the `tls` feature"))
}

fn main() -> ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let mut all = trials("redis_store", Store(Target::Standalone));
    all.extend(trials("redis_store_cluster", Store(Target::Cluster)));
    all.extend(trials("redis_store_tls", Store(Target::TlsStandalone)));
    all.extend(trials("redis_store_tls_cluster", Store(Target::TlsCluster)));
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
