//! `tiered-sessions doctor`: check a deployment and say what is wrong, one
//! line per check (ok / warn / FAIL) with a fix for each problem.
//!
//! Read-only: it creates, enables and writes nothing. The backend
//! introspection lives in the drivers (`RedisCache::diagnose`,
//! `RedisStore::diagnose`, `DynamoStore::diagnose`, `MongoStore::diagnose`);
//! this module judges what they found.

mod dynamodb;
mod mongodb;
mod redis;
mod report;

use std::process::ExitCode;

use tiered_sessions::{CacheTier, FromEnv, SessionStore};
use tiered_sessions_redis::{RedisCacheBuilder, RedisTiered};
use tiered_sessions_redis_dynamodb::{DynamoStore, DynamoStoreBuilder};
use tiered_sessions_redis_mongodb::{MongoStore, MongoStoreBuilder};

use self::redis::Role;
use self::report::{Check, Report, Status};
use crate::stores::{self, StoreKind};
use crate::{CliError, Output};

/// Arguments of `doctor`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 nothing failed (warnings allowed unless --strict), 1 a check \
    failed, 2 bad arguments or configuration. See --help for what is checked.",
    after_long_help = "Checks, one line each \
    (ok / warn / FAIL) with a fix for each problem: every service reachable and its round trip; \
    the DynamoDB table, its key schema and TTL; the MongoDB indexes and write concern; Redis \
    persistence and eviction policy (for the part Redis plays); record limits across tiers; \
    clock skew against each server that tells its time.\n\n\
    The services come from the drivers' environment variables (TIERED_SESSIONS_REDIS_URL or \
    TIERED_SESSIONS_REDIS_CLUSTER_URLS, TIERED_SESSIONS_DYNAMODB_TABLE, \
    TIERED_SESSIONS_MONGODB_URI, …). Nothing is created or written.\n\n\
    Exit codes: 0 when nothing failed (warnings allowed, unless --strict), 1 when a check \
    failed, 2 for bad arguments or configuration."
)]
pub struct Args {
    /// The storage configuration to check.
    #[arg(long, env = "TIERED_SESSIONS_STORE", value_enum)]
    store: StoreKind,
    /// Exit 1 on warnings as well as on failures.
    #[arg(long)]
    strict: bool,
    /// Round trips timed per service; the median is reported.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=100))]
    pings: u16,
    /// Clock difference from a server, in milliseconds, above which to warn.
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    max_clock_skew_ms: u64,
}

/// The pieces of a store, built without their start-up checks (which would
/// stop at the first problem; here every problem is reported).
enum Parts {
    Memory(usize),
    Redis(tiered_sessions_redis::RedisStore),
    Tiered(tiered_sessions_redis::RedisCache, Durable),
    Durable(Durable),
}

enum Durable {
    Dynamo(DynamoStore),
    Mongo(MongoStore),
}

impl Durable {
    fn limit(&self) -> usize {
        match self {
            Durable::Dynamo(s) => s.max_record_bytes(),
            Durable::Mongo(s) => s.max_record_bytes(),
        }
    }
}

async fn durable(kind: StoreKind) -> Result<Durable, CliError> {
    Ok(match kind {
        StoreKind::RedisDynamodb | StoreKind::Dynamodb => Durable::Dynamo(
            DynamoStoreBuilder::from_env()?
                .ensure_table(false)
                .check_at_start(false)
                .build()
                .await?,
        ),
        _ => Durable::Mongo(
            MongoStoreBuilder::from_env()?
                .ensure_indexes(false)
                .check_at_start(false)
                .build()
                .await?,
        ),
    })
}

async fn parts(kind: StoreKind) -> Result<Parts, CliError> {
    Ok(match kind {
        StoreKind::Memory => Parts::Memory(stores::open(kind).await?.max_record_bytes()),
        StoreKind::Redis => Parts::Redis(RedisCacheBuilder::from_env()?.build_store()?),
        StoreKind::RedisDynamodb | StoreKind::RedisMongodb => {
            // The same settings the app's `RedisTiered::from_env` reads.
            RedisTiered::from_env()?;
            let cache = RedisCacheBuilder::from_env()?.build()?;
            Parts::Tiered(cache, durable(kind).await?)
        }
        StoreKind::Dynamodb | StoreKind::Mongodb => Parts::Durable(durable(kind).await?),
    })
}

/// Run `doctor`.
pub async fn run(args: Args, out: &Output) -> Result<ExitCode, CliError> {
    let parts = parts(args.store).await?;
    let spinner = crate::output::spinner(&format!("checking the {} store…", args.store.name()));
    let pings = usize::from(args.pings);
    let skew = args.max_clock_skew_ms;
    let mut checks = Vec::new();
    match &parts {
        Parts::Memory(limit) => {
            checks.push(Check::new(
                "memory.store",
                Status::Ok,
                "in-process memory: nothing to reach; sessions live in one process and are lost \
                 when it exits",
            ));
            checks.push(limits(None, *limit, None, None));
        }
        Parts::Redis(store) => {
            let settings = redis::Settings {
                role: Role::Store,
                deadline: store.call_timeout(),
                max_skew_ms: skew,
            };
            checks.extend(redis::checks(store.diagnose(pings).await, &settings));
            checks.push(limits(
                None,
                SessionStore::max_record_bytes(store),
                None,
                None,
            ));
        }
        Parts::Tiered(cache, durable) => {
            let settings = redis::Settings {
                role: Role::Cache,
                deadline: cache.call_timeout(),
                max_skew_ms: skew,
            };
            let (found, durable_checks) =
                tokio::join!(cache.diagnose(pings), durable_checks(durable, pings, skew));
            checks.extend(redis::checks(found, &settings));
            let (durable_checks, server_max) = durable_checks;
            checks.extend(durable_checks);
            let cache_limit = CacheTier::max_record_bytes(cache);
            checks.push(limits(
                Some(cache_limit),
                durable.limit(),
                server_max,
                durable_limit_var(),
            ));
        }
        Parts::Durable(durable) => {
            let (durable_checks, server_max) = durable_checks(durable, pings, skew).await;
            checks.extend(durable_checks);
            checks.push(limits(
                None,
                durable.limit(),
                server_max,
                durable_limit_var(),
            ));
        }
    }
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let report = Report::new(args.store.name(), checks);
    let json = serde_json::to_value(&report)
        .map_err(|e| CliError::Failure(format!("cannot encode the report: {e}")))?;
    out.print(&report.text(), &json);
    let failed = match report.status {
        Status::Fail => true,
        Status::Warn => args.strict,
        Status::Ok => false,
    };
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The durable tier's checks, and the largest document its server takes
/// (MongoDB's `maxBsonObjectSize`) when it says.
async fn durable_checks(durable: &Durable, pings: usize, skew: u64) -> (Vec<Check>, Option<usize>) {
    match durable {
        Durable::Dynamo(store) => {
            let table = store.table_name();
            let checks = match store.diagnose(pings).await {
                Ok(found) => dynamodb::checks(&found, table, skew),
                Err(e) => vec![dynamodb::unreachable(&e, table)],
            };
            (checks, None)
        }
        Durable::Mongo(store) => {
            let name = store.collection().namespace().to_string();
            match store.diagnose(pings).await {
                Ok(found) => (
                    mongodb::checks(&found, &name, skew),
                    found.max_bson_object_size,
                ),
                Err(e) => (vec![mongodb::unreachable(&e, &name)], None),
            }
        }
    }
}

/// The variable that set the durable tier's record limit, if one did.
fn durable_limit_var() -> Option<(&'static str, String)> {
    [
        tiered_sessions_redis_dynamodb::env::MAX_RECORD_BYTES,
        tiered_sessions_redis_mongodb::env::MAX_RECORD_BYTES,
    ]
    .into_iter()
    .find_map(|var| std::env::var(var).ok().map(|v| (var, v.trim().to_owned())))
}

/// The record limits: the cache tier's against the durable tier's (the
/// tiered store takes the smaller; `set_by` is the variable that set the
/// durable one, if any), and MongoDB's against the largest document its
/// server takes.
fn limits(
    cache: Option<usize>,
    durable: usize,
    server_max: Option<usize>,
    set_by: Option<(&'static str, String)>,
) -> Check {
    let show = |n: usize| {
        if n == usize::MAX {
            "no limit".to_owned()
        } else {
            format!("{n} bytes")
        }
    };
    let effective = cache.map_or(durable, |c| c.min(durable));
    let data = serde_json::json!({
        "cache_max_record_bytes": cache,
        "durable_max_record_bytes": (durable != usize::MAX).then_some(durable),
        "effective_max_record_bytes": (effective != usize::MAX).then_some(effective),
        "server_max_document_bytes": server_max,
    });
    let overhead = tiered_sessions_redis_mongodb::MAX_BSON_DOCUMENT_BYTES
        - tiered_sessions_redis_mongodb::MAX_RECORD_BYTES;
    if let Some(server_max) = server_max.filter(|&m| durable.saturating_add(overhead) > m) {
        return Check::new(
            "store.record-limits",
            Status::Fail,
            format!(
                "MongoDB takes documents up to {server_max} bytes, but the store accepts records \
                 up to {durable} bytes (plus {overhead} for the document's other fields): the \
                 largest sessions would be refused by the server"
            ),
        )
        .fix(format!(
            "set {} to at most {}",
            tiered_sessions_redis_mongodb::env::MAX_RECORD_BYTES,
            server_max.saturating_sub(overhead)
        ))
        .data(data);
    }
    match (cache, set_by) {
        (Some(cache), Some((var, value))) if cache < durable => Check::new(
            "store.record-limits",
            Status::Warn,
            format!(
                "{var}={value} is never reached: the Redis cache tier takes records up to {cache} \
                 bytes, and the tiered store refuses anything larger, durable tier included"
            ),
        )
        .fix(format!(
            "set {var} to {cache} (or less), or raise the cache's limit in the app \
             (RedisCacheBuilder::max_record_bytes) to match"
        ))
        .data(data),
        (Some(cache), _) => Check::new(
            "store.record-limits",
            Status::Ok,
            format!(
                "sessions up to {} (the smaller of the cache tier's {} and the durable tier's {})",
                show(effective),
                show(cache),
                show(durable)
            ),
        )
        .data(data),
        (None, _) => Check::new(
            "store.record-limits",
            Status::Ok,
            format!("sessions up to {}", show(durable)),
        )
        .data(data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MONGO_VAR: &str = tiered_sessions_redis_mongodb::env::MAX_RECORD_BYTES;

    #[test]
    fn the_smaller_limit_wins_and_defaults_are_not_blamed() {
        let check = limits(Some(1 << 20), 409_088, None, None);
        assert_eq!(check.status, Status::Ok);
        assert!(check.message.contains("409088 bytes"), "{}", check.message);
        // A durable default above the cache's is nobody's choice: ok.
        assert_eq!(
            limits(Some(1 << 20), 16 << 20, None, None).status,
            Status::Ok
        );
        assert_eq!(
            limits(None, usize::MAX, None, None).message,
            "sessions up to no limit"
        );
    }

    #[test]
    fn a_durable_limit_the_cache_never_lets_through_warns() {
        let set = Some((MONGO_VAR, "4000000".to_owned()));
        let check = limits(Some(1 << 20), 4_000_000, None, set.clone());
        assert_eq!(check.status, Status::Warn);
        assert!(check.message.contains(&format!("{MONGO_VAR}=4000000")));
        assert!(check.fix.is_some_and(|f| f.contains("1048576")));
        // Set, but at or below the cache's: fine.
        assert_eq!(limits(Some(1 << 20), 500_000, None, set).status, Status::Ok);
    }

    #[test]
    fn records_the_mongodb_server_cannot_hold_fail() {
        let server = 16 * 1024 * 1024;
        let ok = limits(
            None,
            tiered_sessions_redis_mongodb::MAX_RECORD_BYTES,
            Some(server),
            None,
        );
        assert_eq!(ok.status, Status::Ok);
        // A server that takes smaller documents than MongoDB's usual 16 MiB.
        let small = limits(
            None,
            tiered_sessions_redis_mongodb::MAX_RECORD_BYTES,
            Some(server / 2),
            None,
        );
        assert_eq!(small.status, Status::Fail, "{}", small.message);
        assert!(small.fix.is_some_and(|f| f.contains(MONGO_VAR)));
    }
}
