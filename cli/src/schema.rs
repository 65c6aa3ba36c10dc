//! `tiered-sessions schema` (being built; see issue 10).

use std::process::ExitCode;

use crate::{CliError, Output};

/// Arguments of `schema`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Run `schema`.
pub async fn run(_args: Args, _out: &Output) -> Result<ExitCode, CliError> {
    Err(CliError::Failure("schema is not built yet".into()))
}
