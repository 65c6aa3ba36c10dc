//! The names under which a driver that keeps a record's parts as separate
//! fields (a DynamoDB item, a MongoDB document, a SQL row) stores them: one
//! layout for every such driver, so tools can read any of them the same way.

/// The version (a number).
pub const VERSION: &str = "v";
/// `expires_at`, UNIX seconds (or a date type; the field a native TTL sweeps on).
pub const EXPIRES_AT: &str = "exp";
/// `created_at`, UNIX seconds.
pub const CREATED_AT: &str = "ca";
/// `last_active`, UNIX seconds.
pub const LAST_ACTIVE: &str = "la";
/// The data, as [`crate::codec::encode_data`] writes it (bytes).
pub const DATA: &str = "d";
