//! Output (human text or `--json`) and the error type behind the exit codes.

use std::process::ExitCode;

/// Why a command failed, which decides its exit code.
#[derive(Debug)]
pub enum CliError {
    /// Bad arguments or configuration: exit code 2.
    Usage(String),
    /// The command ran and failed (a store error, a problem found): exit code 1.
    Failure(String),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Failure(_) => 1,
        }
    }

    fn message(&self) -> &str {
        match self {
            CliError::Usage(m) | CliError::Failure(m) => m,
        }
    }
}

impl From<tiered_sessions::Error> for CliError {
    fn from(e: tiered_sessions::Error) -> Self {
        match e {
            tiered_sessions::Error::Config { .. } => CliError::Usage(e.to_string()),
            _ => CliError::Failure(e.to_string()),
        }
    }
}

/// Where results go: human text, or one JSON document on stdout.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    /// Text output unless `json`.
    pub fn new(json: bool) -> Self {
        Output { json }
    }

    /// Whether `--json` was given.
    pub fn json(&self) -> bool {
        self.json
    }

    /// Print a result: `value` as JSON with `--json`, else `text`.
    pub fn print(&self, text: &str, value: &serde_json::Value) {
        if self.json {
            println!("{value}");
        } else {
            println!("{text}");
        }
    }

    /// Report `error` (on stderr, and as `{"error": …}` on stdout with
    /// `--json`) and return its exit code.
    pub fn fail(&self, error: &CliError) -> ExitCode {
        eprintln!("tiered-sessions: {}", error.message());
        if self.json {
            let kind = match error {
                CliError::Usage(_) => "usage",
                CliError::Failure(_) => "failure",
            };
            println!(
                "{}",
                serde_json::json!({ "error": error.message(), "kind": kind })
            );
        }
        ExitCode::from(error.exit_code())
    }
}

/// A spinner with `message` on stderr while something slow runs, drawn only
/// when stderr is a terminal (`None` otherwise: scripts and logs get no
/// control characters).
pub fn spinner(message: &str) -> Option<indicatif::ProgressBar> {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner().with_message(message.to_owned());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}
