//! The kit's harness under the names these test binaries use.

#![allow(dead_code, unused_imports)]

pub use tiered_sessions_conformance::kit::{Case, endpoint as env, trials};

/// A fresh suffix for keys and prefixes.
pub fn unique() -> String {
    tiered_sessions_conformance::kit::unique("r").replace('_', "-")
}

/// A `redis-server` of the test's own (see the kit's `Server::redis`), with
/// `extra` arguments; and its log file, for the caller to remove.
pub async fn private_redis(
    extra: &[&str],
) -> (tiered_sessions_conformance::kit::Server, std::path::PathBuf) {
    let log = std::env::temp_dir().join(format!("{}.log", unique()));
    let server = tiered_sessions_conformance::kit::Server::redis(extra, log.clone()).await;
    (server, log)
}
