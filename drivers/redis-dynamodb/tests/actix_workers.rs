//! Redis+DynamoDB under a real actix-web `HttpServer` with two workers: the
//! store is built on the main actix runtime (as in `#[actix_web::main]`) and
//! its Redis and DynamoDB connections serve both workers' runtimes, with a
//! `!Send` handler; one browser counts to 20, no visit lost.
//!
//! Needs `TS_REDIS_URL`, `TS_DYNAMODB_MOTO_ENDPOINT` and AWS dummy credentials
//! (`scripts/services start; eval "$(scripts/services env)"`).

use std::sync::Arc;

use tiered_sessions::SessionStore;
use tiered_sessions_conformance::kit;
use tiered_sessions_redis_dynamodb::{DynamoStore, RedisCache, RedisTiered};

fn main() -> std::process::ExitCode {
    kit::actix_workers_main(
        "redis_moto_across_actix_workers",
        &["TS_REDIS_URL", "TS_DYNAMODB_MOTO_ENDPOINT"],
        |urls, ns| async move {
            let [redis_url, durable_url] = <[String; 2]>::try_from(urls).expect("two values");
            let durable = DynamoStore::builder(&ns)
                .endpoint_url(durable_url)
                .region("us-east-1")
                .ensure_table(true)
                .build()
                .await
                .expect("the DynamoDB tier builds");
            let cache = RedisCache::standalone(redis_url).key_prefix(format!("{ns}:"));
            let store = RedisTiered::new(cache).build(durable);
            Arc::new(store.expect("the driver builds")) as Arc<dyn SessionStore>
        },
    )
}
