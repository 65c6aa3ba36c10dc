//! The runner: every case as a separately named libtest-mimic test, with a
//! fresh fixture per case.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use libtest_mimic::{Arguments, Completion, Trial};

use crate::cases::{self, Case};
use crate::fixture::{Factory, Skip};

/// How one case ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaseOutcome {
    /// The clause holds.
    Passed,
    /// The case does not apply to this driver, or its service is not there
    /// (outside CI); the reason says which.
    Ignored(String),
    /// The clause is broken (or the case panicked, timed out, or was skipped
    /// under `CI=true`).
    Failed(String),
}

impl CaseOutcome {
    /// Whether the case failed.
    pub fn is_failed(&self) -> bool {
        matches!(self, CaseOutcome::Failed(_))
    }
}

/// Each case's time limit unless `TS_CONFORMANCE_CASE_TIMEOUT_SECS` says otherwise.
pub const DEFAULT_CASE_TIMEOUT: Duration = Duration::from_secs(300);

fn case_timeout() -> Duration {
    std::env::var("TS_CONFORMANCE_CASE_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .map_or(DEFAULT_CASE_TIMEOUT, Duration::from_secs)
}

/// Whether this is a CI run (`CI=true`), where a skipped service is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn skipped(skip: Skip) -> CaseOutcome {
    if in_ci() {
        CaseOutcome::Failed(format!(
            "skipped under CI=true, where every case must run: {skip}"
        ))
    } else {
        CaseOutcome::Ignored(format!("skipped: {skip}"))
    }
}

/// Run one case against a fresh fixture from `factory`: ignored if the
/// capabilities rule it out, failed on a broken clause, a panic or the time
/// limit. Call it inside a Tokio runtime.
pub async fn run_case<F: Factory + ?Sized>(case: &Case, factory: &F) -> CaseOutcome {
    let caps = factory.capabilities();
    if let Some(reason) = case.need.unmet(&caps) {
        return CaseOutcome::Ignored(reason.to_owned());
    }
    let fx = match factory.fixture().await {
        Ok(fx) => fx,
        Err(skip) => return skipped(skip),
    };
    let run = case.run;
    let limit = case_timeout();
    // A task of its own, so a panicking driver fails this case only.
    let task = tokio::spawn(async move { tokio::time::timeout(limit, run(&fx, &caps)).await });
    match task.await {
        Ok(Ok(Ok(()))) => CaseOutcome::Passed,
        Ok(Ok(Err(crate::CaseError::Unsupported(reason)))) => CaseOutcome::Ignored(reason),
        Ok(Ok(Err(e))) => CaseOutcome::Failed(e.to_string()),
        Ok(Err(_)) => CaseOutcome::Failed(format!("did not finish within {limit:?}")),
        Err(e) if e.is_panic() => {
            let payload = e.into_panic();
            let msg = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("a non-text panic");
            CaseOutcome::Failed(format!("panicked: {msg}"))
        }
        Err(e) => CaseOutcome::Failed(format!("the case task ended abnormally: {e}")),
    }
}

/// Run every case, one after another, and return each outcome by name. For
/// tests that want the whole verdict as data; [`run`] is the usual entry.
pub async fn run_all<F: Factory + ?Sized>(factory: &F) -> Vec<(&'static str, CaseOutcome)> {
    let mut out = Vec::new();
    for case in cases::all() {
        let outcome = run_case(&case, factory).await;
        out.push((case.name, outcome));
    }
    out
}

/// Every case as a libtest-mimic trial named `suite::case` (just `case` when
/// `suite` is empty), sharing one Tokio runtime. Concatenate the trials of
/// several factories to run drivers or combinations side by side in one
/// test binary.
pub fn trials(suite: &str, factory: impl Factory) -> Vec<Trial> {
    let factory: Arc<dyn Factory> = Arc::new(factory);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(rt) => Arc::new(rt),
        Err(e) => {
            let msg = format!("could not start a Tokio runtime: {e}");
            return vec![Trial::test(format!("{suite}::runtime"), move || {
                Err(msg.into())
            })];
        }
    };
    cases::all()
        .into_iter()
        .map(|case| {
            let name = if suite.is_empty() {
                case.name.to_owned()
            } else {
                format!("{suite}::{}", case.name)
            };
            let (runtime, factory) = (runtime.clone(), factory.clone());
            Trial::ignorable_test(name, move || {
                match runtime.block_on(run_case(&case, factory.as_ref())) {
                    CaseOutcome::Passed => Ok(Completion::Completed),
                    CaseOutcome::Ignored(reason) => Ok(Completion::ignored_with(reason)),
                    CaseOutcome::Failed(msg) => Err(msg.into()),
                }
            })
            .with_kind(case.group)
        })
        .collect()
}

/// The whole suite as a test binary's `main` (with `harness = false`): parses
/// the usual test arguments (`cargo test -- filter`, `--list`, …), runs every
/// case as its own test and returns the exit code.
pub fn run(suite: &str, factory: impl Factory) -> ExitCode {
    let args = Arguments::from_args();
    libtest_mimic::run(&args, trials(suite, factory)).exit_code()
}
