//! The published conformance suite against the memory driver, both as a whole
//! store and as both tiers of a `TieredStore` (cache + durable); the
//! HTTP-level cases run on axum (`memory::http_…`) and on actix-web
//! (`memory::actix::http_…`).

use std::process::ExitCode;
use std::sync::Arc;

use tiered_sessions_conformance::libtest_mimic::{Arguments, run};
use tiered_sessions_conformance::web::ActixApp;
use tiered_sessions_conformance::{Capabilities, Factory, Fixture, Skip, trials, trials_on};
use tiered_sessions_memory::{MemoryCache, MemoryStore};

/// The size limit the fixtures configure (smaller than the default, so the
/// size case stays quick).
const LIMIT: usize = 64 * 1024;

/// `MemoryStore` as a whole store (no durable tier).
struct Whole;

#[tiered_sessions::async_trait]
impl Factory for Whole {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
    }

    async fn fixture(&self) -> Result<Fixture, Skip> {
        let store = Arc::new(MemoryStore::new().with_max_record_bytes(LIMIT));
        let keys = store.clone();
        Ok(Fixture::new(store).with_key_lister(move || {
            let keys = keys.keys();
            async move { keys.iter().map(|k| k.as_str().to_owned()).collect() }
        }))
    }
}

/// `TieredStore<MemoryCache, MemoryStore>`: a memory cache in front of a
/// memory "durable" tier.
struct Tiered;

#[tiered_sessions::async_trait]
impl Factory for Tiered {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new().with_cache_tier(true)
    }

    async fn fixture(&self) -> Result<Fixture, Skip> {
        let cache = Arc::new(MemoryCache::new().with_max_record_bytes(LIMIT));
        let durable = Arc::new(MemoryStore::new().with_max_record_bytes(LIMIT));
        let (flushed, listed_cache, listed_durable) =
            (cache.clone(), cache.clone(), durable.clone());
        Ok(Fixture::tiered(cache, durable)
            .with_flush_cache(move || {
                flushed.flush();
                async {}
            })
            .with_key_lister(move || {
                let mut keys = listed_cache.keys();
                keys.extend(listed_durable.keys());
                async move { keys.iter().map(|k| k.as_str().to_owned()).collect() }
            }))
    }
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let mut all = trials("memory", Whole);
    all.extend(trials("memory+memory", Tiered));
    all.extend(trials_on::<ActixApp>("memory", Whole));
    all.extend(trials_on::<ActixApp>("memory+memory", Tiered));
    run(&args, all).exit_code()
}
