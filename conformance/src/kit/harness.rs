//! A small libtest-mimic harness for a driver's own tests against real
//! services: every test shows by name, a missing service shows as *ignored
//! with the reason* — and fails under `CI=true`.

use std::future::Future;
use std::pin::Pin;

use libtest_mimic::{Completion, Failed, Trial};

use crate::runner::in_ci;

/// One test: an async body over a fixture of type `T`.
pub type Case<T> = fn(T) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// The value of the endpoint variable `name`, or why the tests needing it
/// cannot run here.
///
/// # Errors
/// A message naming the variable and how to set it (the repository's
/// `scripts/services`).
pub fn endpoint(name: &str) -> Result<String, String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            format!(
                "{name} is not set (run scripts/services start; eval \"$(scripts/services env)\")"
            )
        })
}

/// The outcome of a test whose service is missing: ignored with the reason,
/// or a failure under `CI=true`.
///
/// # Errors
/// The failure, under `CI=true`.
pub fn missing(reason: String) -> Result<Completion, Failed> {
    if in_ci() {
        Err(Failed::from(format!(
            "CI=true and a service is missing: {reason}"
        )))
    } else {
        Ok(Completion::ignored_with(reason))
    }
}

/// Run one async test body on a runtime of its own (two worker threads; a
/// client's background tasks live on the runtime that created it).
///
/// # Errors
/// When the runtime cannot be built; a panicking body fails the test.
pub fn block_on<F: Future<Output = ()>>(body: F) -> Result<Completion, Failed> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failed::from(format!("tokio runtime: {e}")))?;
    rt.block_on(body);
    Ok(Completion::Completed)
}

/// One trial per case, named `{prefix}::{case}`: each makes its fixture with
/// `make` and runs on a runtime of its own, or — when `make` is `Err(reason)`
/// — is ignored with the reason (a failure under `CI=true`).
pub fn trials<T: Send + 'static>(
    prefix: &str,
    make: Result<fn() -> T, String>,
    cases: &[(&'static str, Case<T>)],
) -> Vec<Trial> {
    cases
        .iter()
        .map(|&(name, case)| {
            let make = make.clone();
            Trial::ignorable_test(format!("{prefix}::{name}"), move || match make {
                Ok(make) => block_on(async move { case(make()).await }),
                Err(reason) => missing(reason),
            })
        })
        .collect()
}
