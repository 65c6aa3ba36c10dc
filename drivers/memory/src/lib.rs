#![doc = include_str!("../README.md")]

mod bounded;
mod cache;
mod principals;
mod store;

pub use crate::cache::{DELETION_MARKER_SECS, FLOOR_SECS, MemoryCache};
pub use crate::store::MemoryStore;

/// The default largest record (encoded bytes) of [`MemoryStore`] and [`MemoryCache`].
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1 << 20;
