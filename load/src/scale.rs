//! [`Scale`]: how big a run is — `short` (the default, what `scripts/test`
//! runs) or `long` (on demand: `TS_LOAD_SCALE=long`).

use std::time::Duration;

use crate::backend::Driver;

/// The variable that picks the scale.
pub const SCALE_VAR: &str = "TS_LOAD_SCALE";

/// The size of every scenario of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    /// `short` or `long`.
    pub name: &'static str,
    /// Concurrent clients of the counter load, each with its own session.
    pub load_clients: usize,
    /// Counter increments per client on memory and Redis.
    pub load_rounds_fast: usize,
    /// Counter increments per client in front of DynamoDB or MongoDB, whose
    /// emulators serve hundreds of writes a second, not tens of thousands.
    pub load_rounds_slow: usize,
    /// Clients sharing one session in the conflict storm.
    pub storm_clients: usize,
    /// Keys each storm client writes.
    pub storm_keys: usize,
    /// Concurrent clients while servers fail.
    pub chaos_clients: usize,
    /// How long servers are made to fail.
    pub chaos_duration: Duration,
}

impl Scale {
    /// The short run of `scripts/test`.
    pub const SHORT: Scale = Scale {
        name: "short",
        load_clients: 256,
        load_rounds_fast: 16,
        load_rounds_slow: 4,
        storm_clients: 64,
        storm_keys: 2,
        chaos_clients: 16,
        chaos_duration: Duration::from_secs(12),
    };

    /// The long run, on demand.
    pub const LONG: Scale = Scale {
        name: "long",
        load_clients: 256,
        load_rounds_fast: 100,
        load_rounds_slow: 20,
        storm_clients: 64,
        storm_keys: 8,
        chaos_clients: 48,
        chaos_duration: Duration::from_secs(120),
    };

    /// The scale [`SCALE_VAR`] names (default short).
    ///
    /// # Panics
    /// On a value other than `short` or `long`.
    pub fn from_env() -> Scale {
        match std::env::var(SCALE_VAR).as_deref().map(str::trim) {
            Err(_) | Ok("" | "short") => Scale::SHORT,
            Ok("long") => Scale::LONG,
            Ok(other) => panic!("{SCALE_VAR}={other:?}: expected `short` or `long`"),
        }
    }

    /// Counter increments per client on `driver`.
    pub fn rounds(&self, driver: Driver) -> usize {
        match driver {
            Driver::Memory | Driver::Redis => self.load_rounds_fast,
            Driver::RedisMoto | Driver::RedisMongo => self.load_rounds_slow,
        }
    }
}
