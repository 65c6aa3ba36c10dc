//! `tiered-sessions cleanup` (being built; see issue 10).

use std::process::ExitCode;

use crate::{CliError, Output};

/// Arguments of `cleanup`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `cleanup`.
pub async fn run(_args: Args, _out: &Output) -> Result<ExitCode, CliError> {
    Err(CliError::Failure("cleanup is not built yet".into()))
}
