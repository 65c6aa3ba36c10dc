#![doc = include_str!("../README.md")]

mod document;
mod error;
mod indexes;
mod store;

pub use crate::document::{MAX_BSON_DOCUMENT_BYTES, MAX_RECORD_BYTES};
pub use crate::indexes::{IndexOutcome, TTL_INDEX_NAME};
pub use crate::store::{
    DEFAULT_COLLECTION, DEFAULT_CONNECT_TIMEOUT, DEFAULT_DATABASE, DEFAULT_OPERATION_TIMEOUT,
    MAX_CLEANUP_BATCH, MongoStore, MongoStoreBuilder,
};
/// The MongoDB driver this crate is built on, for [`MongoStore::from_database`].
pub use mongodb;
