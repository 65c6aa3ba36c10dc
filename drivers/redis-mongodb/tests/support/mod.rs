//! What the real-service test targets share: reading endpoints at run time,
//! skipping (or failing under `CI=true`) when one is missing, fresh namespaces.

#![allow(dead_code)] // Each test target uses a different part.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use libtest_mimic::{Completion, Failed};

/// Whether this is a CI run, where a missing service is a failure.
pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The value of an endpoint variable, or why the tests cannot run.
pub fn endpoint(var: &str) -> Result<String, String> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(format!(
            "{var} is not set (run `scripts/services start` and `eval \"$(scripts/services env)\"`)"
        )),
    }
}

/// The outcome for a test whose service is missing: ignored with the reason,
/// or a failure under `CI=true`.
pub fn missing(reason: String) -> Result<Completion, Failed> {
    if is_ci() {
        Err(Failed::from(format!(
            "CI=true and a service is missing: {reason}"
        )))
    } else {
        Ok(Completion::ignored_with(reason))
    }
}

/// Run one async test body on a runtime of its own (the MongoDB client's
/// background tasks live on the runtime that created it).
pub fn block_on<F: Future<Output = ()>>(fut: F) -> Result<Completion, Failed> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failed::from(format!("tokio runtime: {e}")))?;
    rt.block_on(fut);
    Ok(Completion::Completed)
}

/// A name no other fixture, test or run uses (MongoDB database and collection
/// names, Redis key prefixes).
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() % 1_000_000_000_000);
    format!(
        "{prefix}_{}_{nanos}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
