//! The runner: every case as a separately named libtest-mimic test, with a
//! fresh fixture per case.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use libtest_mimic::{Arguments, Completion, Trial};

use crate::cases::{self, Case, LocalCase};
use crate::fixture::{Factory, Skip};
use crate::web::WebApp;

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
        Err(e) if e.is_panic() => panicked(e.into_panic().as_ref()),
        Err(e) => CaseOutcome::Failed(format!("the case task ended abnormally: {e}")),
    }
}

fn panicked(payload: &(dyn std::any::Any + Send)) -> CaseOutcome {
    let msg = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("a non-text panic");
    CaseOutcome::Failed(format!("panicked: {msg}"))
}

/// Run one case of [`cases::http_on`] against a fresh fixture from
/// `factory`, on a fresh runtime of the framework `A`'s own
/// ([`WebApp::block_on`]; the fixture is made there too, so a client's
/// background tasks live where the app runs). Outcomes as [`run_case`]'s.
/// Call it outside any runtime.
pub fn run_local_case<A: WebApp, F: Factory + ?Sized>(
    case: &LocalCase,
    factory: &F,
) -> CaseOutcome {
    let caps = factory.capabilities();
    if let Some(reason) = case.need.unmet(&caps) {
        return CaseOutcome::Ignored(reason.to_owned());
    }
    let limit = case_timeout();
    let run = case.run;
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        A::block_on(async {
            let fx = factory.fixture().await.map_err(skipped)?;
            Ok(tokio::time::timeout(limit, run(&fx, &caps)).await)
        })
    }));
    match out {
        Err(payload) => panicked(payload.as_ref()),
        Ok(Err(msg)) => CaseOutcome::Failed(msg),
        Ok(Ok(Err(skip))) => skip,
        Ok(Ok(Ok(Err(_)))) => CaseOutcome::Failed(format!("did not finish within {limit:?}")),
        Ok(Ok(Ok(Ok(Ok(()))))) => CaseOutcome::Passed,
        Ok(Ok(Ok(Ok(Err(crate::CaseError::Unsupported(reason)))))) => CaseOutcome::Ignored(reason),
        Ok(Ok(Ok(Ok(Err(e))))) => CaseOutcome::Failed(e.to_string()),
    }
}

/// Every case that drives an app over HTTP ([`cases::http_on`]) on the web
/// framework `A`, as libtest-mimic trials named `suite::framework::case`
/// (`memory::actix::http_regenerate_kills_the_old_id`), each on a fresh
/// runtime of the framework's own. Add them to [`trials`] to run the HTTP
/// cases on another framework beside axum.
pub fn trials_on<A: WebApp>(suite: &str, factory: impl Factory) -> Vec<Trial> {
    let factory: Arc<dyn Factory> = Arc::new(factory);
    cases::http_on::<A>()
        .into_iter()
        .map(|case| {
            let name = if suite.is_empty() {
                format!("{}::{}", A::FRAMEWORK, case.name)
            } else {
                format!("{suite}::{}::{}", A::FRAMEWORK, case.name)
            };
            let factory = factory.clone();
            Trial::ignorable_test(name, move || {
                match run_local_case::<A, _>(&case, factory.as_ref()) {
                    CaseOutcome::Passed => Ok(Completion::Completed),
                    CaseOutcome::Ignored(reason) => Ok(Completion::ignored_with(reason)),
                    CaseOutcome::Failed(msg) => Err(msg.into()),
                }
            })
            .with_kind(case.group)
        })
        .collect()
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
