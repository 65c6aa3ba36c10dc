//! Delete expired sessions from the DynamoDB table, batch by batch — a cron
//! job. DynamoDB's TTL sweep removes most of them (within days, and not at all
//! on engines without TTL); this removes the rest. Redis is not needed: cached
//! copies expire by themselves.
//!
//! ```text
//! TIERED_SESSIONS_DYNAMODB_TABLE=sessions AWS_REGION=eu-west-1 \
//! cargo run -p tiered-sessions-redis-dynamodb --example cleanup_dynamodb -- --batch 500
//!
//! # every night at 03:15
//! 15 3 * * * cd /srv/app && ./cleanup --batch 500 >> /var/log/session-cleanup.log 2>&1
//! ```
//!
//! Flags and exit codes: see [`tiered_sessions::CleanupOptions`] (`--batch N`,
//! `--resume CURSOR`; 0 done, 1 store error with the cursor to resume from,
//! 2 bad arguments or configuration).

use std::process::ExitCode;

use tiered_sessions::{CLEANUP_USAGE, CleanupOptions, Clock, FromEnv, SystemClock};
use tiered_sessions_redis_dynamodb::DynamoStoreBuilder;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let options = match CleanupOptions::from_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("cleanup: {e}\n{CLEANUP_USAGE}");
            return ExitCode::from(2);
        }
    };
    let store = match DynamoStoreBuilder::from_env() {
        Ok(builder) => builder.build().await,
        Err(e) => Err(e),
    };
    match store {
        Ok(store) => options.run(&store, SystemClock.now()).await,
        Err(e) => {
            eprintln!("cleanup: {e}");
            ExitCode::from(2)
        }
    }
}
