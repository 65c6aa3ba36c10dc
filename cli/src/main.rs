//! `tiered-sessions`: benchmark session storage configurations on your own
//! services, check a deployment, create the schema, clean up expired
//! sessions and inspect a session cookie. See the crate README.
//!
//! Exit codes: 0 success, 1 failure (a problem found, a store error), 2 usage
//! (bad arguments or configuration).

mod bench;
mod cleanup;
mod doctor;
mod inspect;
mod output;
mod schema;
mod stores;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use output::{CliError, Output};

/// Benchmark, check and operate tiered-sessions storage.
#[derive(Debug, Parser)]
#[command(name = "tiered-sessions", version, about, long_about = None)]
struct Cli {
    /// Print machine-readable JSON on stdout instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a matrix of storage configurations and compare them.
    Bench(bench::Args),
    /// Check a deployment and say what is wrong.
    Doctor(doctor::Args),
    /// Create the DynamoDB table and TTL, or the MongoDB indexes.
    EnsureSchema(schema::Args),
    /// Delete expired sessions from the durable store, batch by batch.
    Cleanup(cleanup::Args),
    /// Verify a session cookie and show what it holds.
    Inspect(inspect::Args),
    /// Delete a stored session.
    Revoke(inspect::RevokeArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let out = Output::new(cli.json);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return out.fail(&CliError::Failure(format!("cannot start the runtime: {e}"))),
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Bench(args) => bench::run(args, &out).await,
            Command::Doctor(args) => doctor::run(args, &out).await,
            Command::EnsureSchema(args) => schema::run(args, &out).await,
            Command::Cleanup(args) => cleanup::run(args, &out).await,
            Command::Inspect(args) => inspect::run(args, &out).await,
            Command::Revoke(args) => inspect::revoke(args, &out).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => out.fail(&e),
    }
}
