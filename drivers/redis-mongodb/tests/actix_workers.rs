//! Redis+MongoDB under a real actix-web `HttpServer` with two workers: the
//! store is built on the main actix runtime (as in `#[actix_web::main]`) and
//! its Redis and MongoDB connections serve both workers' runtimes, with a
//! `!Send` handler; one browser counts to 20, no visit lost.
//!
//! Needs `TS_REDIS_URL`, `TS_MONGO_RS_URI`
//! (`scripts/services start; eval "$(scripts/services env)"`).

use std::sync::Arc;

use tiered_sessions::SessionStore;
use tiered_sessions_conformance::kit;
use tiered_sessions_redis_mongodb::{MongoStore, RedisCache, RedisTiered};

fn main() -> std::process::ExitCode {
    kit::actix_workers_main(
        "redis_mongodb_across_actix_workers",
        &["TS_REDIS_URL", "TS_MONGO_RS_URI"],
        |urls, ns| async move {
            let [redis_url, durable_url] = <[String; 2]>::try_from(urls).expect("two values");
            let durable = MongoStore::builder(durable_url)
                .database(&ns)
                .build()
                .await
                .expect("the MongoDB tier builds");
            let cache = RedisCache::standalone(redis_url).key_prefix(format!("{ns}:"));
            let store = RedisTiered::new(cache).build(durable);
            Arc::new(store.expect("the driver builds")) as Arc<dyn SessionStore>
        },
    )
}
