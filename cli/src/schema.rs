//! `tiered-sessions ensure-schema`: create what the durable store needs (the
//! DynamoDB table with TTL on `exp`, or the MongoDB TTL and principal
//! indexes) through the drivers' own setup code. Idempotent; `--dry-run`
//! only looks.

use std::process::ExitCode;

use serde_json::json;
use tiered_sessions::{Error, FromEnv};
use tiered_sessions_redis_dynamodb::{DynamoStore, DynamoStoreBuilder, TtlSetup};
use tiered_sessions_redis_mongodb::{IndexOutcome, MongoStore, MongoStoreBuilder, TTL_INDEX_NAME};

use crate::stores::StoreKind;
use crate::{CliError, Output};

/// Arguments of `ensure-schema`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Only the durable tier has a schema: `dynamodb` and `redis-dynamodb` set up the \
DynamoDB table (TIERED_SESSIONS_DYNAMODB_*), `mongodb` and `redis-mongodb` the \
MongoDB indexes (TIERED_SESSIONS_MONGODB_*). Running it again changes nothing and \
says what is already there.

Exit codes: 0 done (or nothing to do), 1 a store error or an existing object \
that conflicts (a wrong key schema, a TTL index with other options), 2 bad \
arguments or settings.")]
pub struct Args {
    /// The store whose schema to create.
    #[arg(long, env = "TIERED_SESSIONS_STORE", value_enum)]
    store: StoreKind,
    /// Print what would be created, and change nothing.
    #[arg(long)]
    dry_run: bool,
}

/// One object of the schema and what happened to it.
struct Step {
    object: String,
    outcome: &'static str,
}

impl Step {
    fn new(object: impl Into<String>, outcome: &'static str) -> Self {
        Step {
            object: object.into(),
            outcome,
        }
    }

    /// Whether this step changed (or would change) something.
    fn changes(&self) -> bool {
        matches!(
            self.outcome,
            "created" | "enabled" | "would create" | "would enable"
        )
    }
}

/// Run `ensure-schema`.
///
/// # Errors
/// [`CliError::Usage`] for a store without a schema or bad settings,
/// [`CliError::Failure`] for a store error or a conflicting object.
pub async fn run(args: Args, out: &Output) -> Result<ExitCode, CliError> {
    if matches!(args.store, StoreKind::Memory | StoreKind::Redis) {
        return Err(CliError::Usage(format!(
            "the `{}` store has no schema to create (Redis needs none); use dynamodb, \
             redis-dynamodb, mongodb or redis-mongodb",
            args.store.name()
        )));
    }
    // Creating a table waits until it is active: seconds on AWS.
    let bar = crate::output::spinner("setting up the schema");
    let steps = if matches!(args.store, StoreKind::Dynamodb | StoreKind::RedisDynamodb) {
        dynamodb(args.dry_run).await
    } else {
        mongodb(args.dry_run).await
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let steps = steps?;
    let changed = steps.iter().any(Step::changes);
    let mut text = String::new();
    for s in &steps {
        text.push_str(&format!("{}: {}\n", s.object, s.outcome));
    }
    text.push_str(match (args.dry_run, changed) {
        (true, true) => "dry run: nothing was changed",
        (true, false) => "dry run: the schema is already there, nothing to do",
        (false, true) => "the schema is ready",
        (false, false) => "the schema was already there, nothing changed",
    });
    let value = json!({
        "store": args.store,
        "dry_run": args.dry_run,
        "changed": changed && !args.dry_run,
        "steps": steps
            .iter()
            .map(|s| json!({ "object": s.object, "outcome": s.outcome }))
            .collect::<Vec<_>>(),
    });
    out.print(&text, &value);
    Ok(ExitCode::SUCCESS)
}

/// A store error while setting up: a failure (exit 1), even a conflicting
/// object reported as a configuration error by the driver.
fn failure(e: Error) -> CliError {
    CliError::Failure(e.to_string())
}

async fn dynamodb(dry_run: bool) -> Result<Vec<Step>, CliError> {
    let table_name = std::env::var(tiered_sessions_redis_dynamodb::env::TABLE).unwrap_or_default();
    let store: DynamoStore = DynamoStoreBuilder::from_env()?
        .ensure_table(false)
        .check_at_start(false)
        .build()
        .await?;
    let table = format!("DynamoDB table `{table_name}` (partition key `pk`, type S)");
    let ttl = "DynamoDB TTL on `exp`";
    if dry_run {
        if !store.table_exists().await.map_err(failure)? {
            return Ok(vec![
                Step::new(table, "would create"),
                Step::new(ttl, "would enable"),
            ]);
        }
        let check = store.check_table().await.map_err(failure)?;
        return Ok(vec![
            Step::new(table, "already there"),
            Step::new(
                ttl,
                match check.ttl {
                    Some(TtlSetup::Unsupported) => "not supported by this engine",
                    Some(_) => "already there",
                    None => "would enable",
                },
            ),
        ]);
    }
    let setup = store.ensure_table().await.map_err(failure)?;
    // An existing table is taken as it is: check it has the right keys.
    store.check_table().await.map_err(failure)?;
    Ok(vec![
        Step::new(
            table,
            if setup.created {
                "created"
            } else {
                "already there"
            },
        ),
        Step::new(
            ttl,
            match setup.ttl {
                TtlSetup::Enabled => "enabled",
                TtlSetup::Unsupported => "not supported by this engine",
                _ => "already there",
            },
        ),
    ])
}

async fn mongodb(dry_run: bool) -> Result<Vec<Step>, CliError> {
    let store: MongoStore = MongoStoreBuilder::from_env()?
        .ensure_indexes(false)
        .check_at_start(false)
        .build()
        .await?;
    let collection = store.collection().name().to_owned();
    let found = store.find_indexes().await.map_err(failure)?;
    let ttl = format!("MongoDB TTL index on `{collection}.exp`");
    let principal = format!("MongoDB principal index on `{collection}.p`");
    let there = |yes: bool, otherwise: &'static str| if yes { "already there" } else { otherwise };
    if dry_run {
        return Ok(vec![
            Step::new(
                format!("{ttl} (`{TTL_INDEX_NAME}`)"),
                there(found.ttl.is_some(), "would create"),
            ),
            Step::new(principal, there(found.principal, "would create")),
        ]);
    }
    let outcome = store.ensure_indexes().await.map_err(failure)?;
    let ttl = match outcome {
        IndexOutcome::AlreadyPresent { name } => {
            Step::new(format!("{ttl} (`{name}`)"), "already there")
        }
        _ => Step::new(format!("{ttl} (`{TTL_INDEX_NAME}`)"), "created"),
    };
    Ok(vec![
        ttl,
        Step::new(principal, there(found.principal, "created")),
    ])
}
