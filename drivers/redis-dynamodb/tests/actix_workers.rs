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
use tiered_sessions_conformance::libtest_mimic::{self, Arguments, Completion, Failed, Trial};
use tiered_sessions_redis_dynamodb::{DynamoStore, RedisCache, RedisTiered};

fn redis_moto_across_actix_workers() -> Result<Completion, Failed> {
    let (redis, moto) = match (
        kit::endpoint("TS_REDIS_URL"),
        kit::endpoint("TS_DYNAMODB_MOTO_ENDPOINT"),
    ) {
        (Ok(redis), Ok(moto)) => (redis, moto),
        (Err(reason), _) | (_, Err(reason)) => return kit::missing(reason),
    };
    let ns = kit::unique("actix_workers");
    kit::count_across_actix_workers(move || async move {
        let durable = DynamoStore::builder(&ns)
            .endpoint_url(moto)
            .region("us-east-1")
            .ensure_table(true)
            .build()
            .await
            .expect("the DynamoDB tier builds");
        let cache = RedisCache::standalone(redis).key_prefix(format!("{ns}:"));
        let store = RedisTiered::new(cache)
            .build(durable)
            .expect("the driver builds");
        Arc::new(store) as Arc<dyn SessionStore>
    });
    Ok(Completion::Completed)
}

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let trials = vec![Trial::ignorable_test(
        "redis_moto_across_actix_workers",
        redis_moto_across_actix_workers,
    )];
    libtest_mimic::run(&args, trials).exit_code()
}
