//! The test kit every driver's own tests use, beside the conformance cases: a
//! browser-like cookie [`Jar`], a libtest-mimic [`harness`] for tests against
//! real services (named tests, missing services ignored with the reason or
//! failed under `CI=true`), and a [`Server`] process of the test's own to
//! pause, kill and restart, and a [`sample_record`] for encoding tests.

#[cfg(feature = "actix")]
mod actix_workers;
pub mod harness;
mod jar;
#[cfg(feature = "redis")]
mod redis_nodes;
mod sample;
mod server;

#[cfg(feature = "actix")]
pub use self::actix_workers::{actix_workers_main, count_across_actix_workers, not_send_counter};
pub use self::harness::{Case, block_on, endpoint, missing, trials};
pub use self::jar::Jar;
#[cfg(feature = "redis")]
pub use self::redis_nodes::{RedisNodes, test_ca_pem};
pub use self::sample::{sample_key, sample_record};
pub use self::server::{Server, free_port, redis_server};
pub use crate::fixture::unique_namespace as unique;
pub use crate::runner::in_ci;
