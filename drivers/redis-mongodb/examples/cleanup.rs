//! Delete expired sessions from MongoDB in batches: run it from cron (say every
//! 15 minutes) to remove what the TTL monitor has not reached yet.
//!
//! ```sh
//! export TIERED_SESSIONS_MONGODB_URI='mongodb://127.0.0.1:27017/?replicaSet=rs0'
//! cargo run -p tiered-sessions-redis-mongodb --example cleanup -- 1000
//! ```
//!
//! The argument is the batch size (default 500). An interrupted run loses
//! nothing: batches already done stay done, and the next run starts over.

use std::process::ExitCode;

use tiered_sessions::{Clock, SessionStoreExt, SystemClock};
use tiered_sessions_redis_mongodb::MongoStoreBuilder;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let batch = match std::env::args().nth(1).map(|a| a.parse::<usize>()) {
        None => 500,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: cleanup [BATCH_SIZE > 0]");
            return ExitCode::from(2);
        }
    };
    let store = match MongoStoreBuilder::from_env() {
        Ok(builder) => builder.build().await,
        Err(e) => Err(e),
    };
    let store = match store {
        Ok(store) => store,
        Err(e) => {
            eprintln!("cleanup: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Batch after batch until the scan is complete; one instant for the whole
    // run, so a session that expires meanwhile is left for the next run.
    match store.delete_all_expired(SystemClock.now(), batch).await {
        Ok(total) => {
            println!("deleted {total} expired sessions");
            ExitCode::SUCCESS
        }
        Err(e) => {
            let source = std::error::Error::source(&e).map(ToString::to_string);
            eprintln!("cleanup: {e}: {}", source.unwrap_or_default());
            ExitCode::FAILURE
        }
    }
}
