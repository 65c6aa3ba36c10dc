//! Where SecantusDB is, for the fault tests that start their own; the server
//! helper itself is the conformance kit's.

use std::path::{Path, PathBuf};

pub use tiered_sessions_conformance::kit::{Server, free_port, redis_server};

/// Where `scripts/services` installs SecantusDB, or `TS_SECANTUSD`.
pub fn secantusd() -> Result<PathBuf, String> {
    let path = match std::env::var_os("TS_SECANTUSD") {
        Some(p) => PathBuf::from(p),
        None => {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.services/secantus/bin/secantusd-py")
        }
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "no SecantusDB at {} (run `scripts/services start mongo-rs` or set TS_SECANTUSD)",
            path.display()
        ))
    }
}
