//! Delete expired sessions from MongoDB in batches: run it from cron (say every
//! 15 minutes) to remove what the TTL monitor has not reached yet. Redis is
//! not needed: cached copies expire by themselves.
//!
//! ```sh
//! export TIERED_SESSIONS_MONGODB_URI='mongodb://127.0.0.1:27017/?replicaSet=rs0'
//! cargo run -p tiered-sessions-redis-mongodb --example cleanup_mongodb -- --batch 1000
//! ```
//!
//! Flags and exit codes: see [`tiered_sessions::CleanupOptions`] (`--batch N`,
//! `--resume CURSOR`; 0 done, 1 store error with the cursor to resume from,
//! 2 bad arguments or configuration).

use std::process::ExitCode;

use tiered_sessions::{CLEANUP_USAGE, CleanupOptions, Clock, FromEnv, SystemClock};
use tiered_sessions_redis_mongodb::MongoStoreBuilder;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let options = match CleanupOptions::from_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("cleanup: {e}\n{CLEANUP_USAGE}");
            return ExitCode::from(2);
        }
    };
    let store = match MongoStoreBuilder::from_env() {
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
