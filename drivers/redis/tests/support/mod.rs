//! A small libtest-mimic harness for tests against real services: every case
//! shows by name; a missing service shows the case as ignored with the reason,
//! and fails it under `CI=true`. Shared by the Redis and Redis+DynamoDB test
//! binaries; not every binary uses every helper.

#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;

use libtest_mimic::{Completion, Failed, Trial};

pub type Case<T> = fn(T) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// `Ok(fixture maker)` or `Err(reason it cannot run here)`.
pub fn trials<T: Send + 'static>(
    prefix: &str,
    make: Result<fn() -> T, String>,
    cases: &[(&'static str, Case<T>)],
) -> Vec<Trial> {
    let ci = std::env::var("CI").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"));
    cases
        .iter()
        .map(|&(name, case)| {
            let make = make.clone();
            Trial::ignorable_test(format!("{prefix}::{name}"), move || match make {
                Ok(make) => {
                    let rt = tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(2)
                        .enable_all()
                        .build()
                        .map_err(|e| Failed::from(e.to_string()))?;
                    rt.block_on(async move { case(make()).await });
                    Ok(Completion::Completed)
                }
                Err(reason) if ci => Err(Failed::from(format!("CI=true but {reason}"))),
                Err(reason) => Ok(Completion::ignored_with(reason)),
            })
        })
        .collect()
}

pub fn env(name: &str) -> Result<String, String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            format!(
                "{name} is not set (run scripts/services start; eval \"$(scripts/services env)\")"
            )
        })
}

/// A random suffix for per-run namespaces.
pub fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{}-{}-{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}
