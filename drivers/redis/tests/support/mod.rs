//! The kit's harness under the names these test binaries use.

#![allow(dead_code, unused_imports)]

pub use tiered_sessions_conformance::kit::{Case, endpoint as env, trials};

/// A fresh suffix for keys and prefixes.
pub fn unique() -> String {
    tiered_sessions_conformance::kit::unique("r").replace('_', "-")
}
