//! `tiered-sessions bench` (being built; see issue 10).

use std::process::ExitCode;

use crate::{CliError, Output};

/// Arguments of `bench`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `bench`.
pub async fn run(_args: Args, _out: &Output) -> Result<ExitCode, CliError> {
    Err(CliError::Failure("bench is not built yet".into()))
}
