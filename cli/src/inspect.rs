//! `tiered-sessions inspect` and `revoke` (being built; see issue 10).

use std::process::ExitCode;

use crate::{CliError, Output};

/// Arguments of `inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Arguments of `revoke`.
#[derive(Debug, clap::Args)]
pub struct RevokeArgs {}

/// Run `inspect`.
pub async fn run(_args: Args, _out: &Output) -> Result<ExitCode, CliError> {
    Err(CliError::Failure("inspect is not built yet".into()))
}

/// Run `revoke`.
pub async fn revoke(_args: RevokeArgs, _out: &Output) -> Result<ExitCode, CliError> {
    Err(CliError::Failure("revoke is not built yet".into()))
}
