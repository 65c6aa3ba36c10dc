//! The kit's harness under the names these test binaries use.

#![allow(dead_code, unused_imports)]

pub use tiered_sessions_conformance::kit::{Case, endpoint as env, trials};

/// A fresh suffix for keys and prefixes.
pub fn unique() -> String {
    tiered_sessions_conformance::kit::unique("r").replace('_', "-")
}

/// A `redis-server` of the test's own on a free port, keeping nothing on disk,
/// started with `extra` arguments too; and its log file, for the caller to
/// remove.
pub async fn private_redis(
    extra: &[&str],
) -> (tiered_sessions_conformance::kit::Server, std::path::PathBuf) {
    use tiered_sessions_conformance::kit::{Server, free_port, redis_server};
    let port = free_port().expect("a free port");
    let log = std::env::temp_dir().join(format!("{}.log", unique()));
    let mut args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let server = Server::start(
        redis_server().expect("redis-server"),
        args,
        port,
        log.clone(),
    )
    .await;
    (server, log)
}
