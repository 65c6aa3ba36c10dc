#![doc = include_str!("../README.md")]
#![doc = concat!("```rust\n", include_str!("../examples/btree_driver.rs"), "```\n")]

#[cfg(feature = "criterion")]
pub mod bench;
mod capabilities;
mod case_error;
pub mod cases;
pub mod faults;
mod fixture;
pub mod kit;
mod runner;
pub mod web;

pub use crate::capabilities::{Capabilities, DEFAULT_MODEL_STEPS};
pub use crate::case_error::CaseError;
pub use crate::cases::{Case, LocalCase, Need};
pub use crate::fixture::{
    Compose, Factory, Fixture, Hook, KeyLister, Skip, env_endpoint, unique_namespace,
};
pub use crate::runner::{
    CaseOutcome, DEFAULT_CASE_TIMEOUT, in_ci, run, run_all, run_case, run_local_case, trials,
    trials_on,
};
/// Re-exported so a driver's test can combine trial lists without a direct dependency.
pub use libtest_mimic;
