//! [`sample_record`] and [`sample_key`]: values for drivers' own encoding
//! tests.

use tiered_sessions::{Record, StoreKey};

/// A record whose times, version and data are all distinct and non-zero
/// (a field written to the wrong place shows), holding `user = "alice"` and
/// an empty value under `empty`.
pub fn sample_record() -> Record {
    let mut record = Record {
        version: 7,
        created_at: 1_800_000_000,
        last_active: 1_800_000_100,
        expires_at: 1_900_000_000,
        ..Record::default()
    };
    record.data.insert("user".into(), b"alice".to_vec());
    record.data.insert("empty".into(), Vec::new());
    record
}

/// A store key of the length and alphabet the session layer derives.
pub fn sample_key() -> StoreKey {
    StoreKey::from_stored("ab".repeat(32))
}
