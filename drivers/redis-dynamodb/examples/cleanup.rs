//! Delete expired sessions from the DynamoDB table, batch by batch — a cron
//! job. DynamoDB's TTL sweep removes most of them (within days, and not at all
//! on engines without TTL); this removes the rest. Redis is not needed: cached
//! copies expire by themselves.
//!
//! ```text
//! TIERED_SESSIONS_DYNAMODB_TABLE=sessions AWS_REGION=eu-west-1 \
//! cargo run -p tiered-sessions-redis-dynamodb --example cleanup -- --batch 500
//!
//! # every night at 03:15
//! 15 3 * * * cd /srv/app && ./cleanup --batch 500 >> /var/log/session-cleanup.log 2>&1
//! ```
//!
//! Options: `--batch N` (items scanned per batch, default 500) and
//! `--resume CURSOR` (continue an interrupted run from the cursor it printed).
//! Exit status 0 on success, 1 on error (the last cursor is printed so the
//! next run can resume), 2 on bad arguments.

use std::process::ExitCode;

use tiered_sessions::{CleanupCursor, Clock, SessionStore, SystemClock};
use tiered_sessions_redis_dynamodb::DynamoStoreBuilder;

fn usage() -> ExitCode {
    eprintln!("usage: cleanup [--batch N] [--resume CURSOR]");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut batch = 500usize;
    let mut cursor = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--batch", Some(n)) => match n.parse() {
                Ok(n) if n > 0 => batch = n,
                _ => return usage(),
            },
            ("--resume", Some(c)) => cursor = Some(CleanupCursor(c)),
            _ => return usage(),
        }
    }
    let store = match DynamoStoreBuilder::from_env() {
        Ok(builder) => builder.build().await,
        Err(e) => Err(e),
    };
    let store = match store {
        Ok(store) => store,
        Err(e) => {
            eprintln!("cleanup: {e}");
            return ExitCode::from(2);
        }
    };
    // One instant for the whole run: a record that expires meanwhile waits
    // for the next run rather than racing a late save.
    let now = SystemClock.now();
    let mut total = 0u64;
    loop {
        match store.delete_expired(now, batch, cursor.clone()).await {
            Ok(page) => {
                total += page.deleted;
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            Err(e) => {
                eprintln!("cleanup: {e} (source: {:?})", std::error::Error::source(&e));
                if let Some(CleanupCursor(c)) = &cursor {
                    eprintln!("cleanup: resume with --resume {c}");
                }
                println!(
                    "deleted {total} expired sessions from {} before the error",
                    store.table_name()
                );
                return ExitCode::FAILURE;
            }
        }
    }
    println!(
        "deleted {total} expired sessions from {}",
        store.table_name()
    );
    ExitCode::SUCCESS
}
