//! `tiered-sessions doctor` (being built; see issue 10).

use std::process::ExitCode;

use crate::{CliError, Output};

/// Arguments of `doctor`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `doctor`.
pub async fn run(_args: Args, _out: &Output) -> Result<ExitCode, CliError> {
    Err(CliError::Failure("doctor is not built yet".into()))
}
