//! The TTL index on the expiry field, created without surprises.

use std::time::Duration;

use futures_util::TryStreamExt;
use mongodb::bson::{RawDocumentBuf, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};
use tiered_sessions::{Error, Result};

use crate::document::EXPIRES;
use crate::error;

/// The name given to the TTL index.
pub const TTL_INDEX_NAME: &str = "exp_ttl";

/// `NamespaceNotFound`: listing the indexes of a collection not yet created.
const NAMESPACE_NOT_FOUND: i32 = 26;
/// `IndexOptionsConflict` (mongod) and `IndexKeySpecsConflict` (mongod for a
/// name clash; SecantusDB for an options clash too).
const INDEX_CONFLICT: [i32; 2] = [85, 86];

/// What [`crate::MongoStore::ensure_indexes`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IndexOutcome {
    /// The TTL index was created.
    Created,
    /// A matching TTL index was already there (under this name).
    AlreadyPresent {
        /// The existing index's name.
        name: String,
    },
}

/// A description of an index, for messages.
fn describe(index: &IndexModel) -> String {
    let options = index.options.as_ref();
    let ttl = options.and_then(|o| o.expire_after).map_or_else(
        || "no TTL".to_owned(),
        |d| format!("expireAfterSeconds {}", d.as_secs()),
    );
    format!("key {} and {ttl}", index.keys)
}

fn conflict_message(collection: &str, name: &str, found: &str) -> String {
    format!(
        "the session collection `{collection}` has an index `{name}` with {found}, where a TTL \
         index on `{EXPIRES}` with expireAfterSeconds 0 is needed; drop it \
         (db.{collection}.dropIndex(\"{name}\")) and call ensure_indexes again"
    )
}

/// The indexes [`crate::MongoStore::ensure_indexes`] creates, as found on
/// the collection by [`crate::MongoStore::find_indexes`] (what a dry run of
/// a schema setup reports).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexesFound {
    /// The name of the TTL index on the expiry field, if there.
    pub ttl: Option<String>,
    /// Whether the principal index (named `principal`) is there.
    pub principal: bool,
}

/// The collection's indexes (none for a collection not created yet).
pub(crate) async fn list_indexes(
    collection: &Collection<RawDocumentBuf>,
) -> Result<Vec<IndexModel>> {
    match collection.list_indexes().await {
        Ok(cursor) => cursor.try_collect().await.map_err(error::map),
        Err(e) if error::code(&e) == Some(NAMESPACE_NOT_FOUND) => Ok(Vec::new()),
        Err(e) => Err(error::map(e)),
    }
}

fn index_name(index: &IndexModel) -> String {
    index
        .options
        .as_ref()
        .and_then(|o| o.name.clone())
        .unwrap_or_default()
}

/// Which of the store's indexes exist, without changing anything; a
/// conflicting index on the expiry field is a clear [`Error::Config`].
pub(crate) async fn find_indexes(
    collection: &Collection<RawDocumentBuf>,
    principal_index: &str,
) -> Result<IndexesFound> {
    let existing = list_indexes(collection).await?;
    Ok(IndexesFound {
        ttl: ttl_index_in(collection, &existing)?,
        principal: existing.iter().any(|i| index_name(i) == principal_index),
    })
}

/// The TTL index's name if a matching one exists, `None` if none is on the
/// expiry field; a conflicting one is a clear [`Error::Config`].
async fn find_ttl_index(collection: &Collection<RawDocumentBuf>) -> Result<Option<String>> {
    ttl_index_in(collection, &list_indexes(collection).await?)
}

fn ttl_index_in(
    collection: &Collection<RawDocumentBuf>,
    existing: &[IndexModel],
) -> Result<Option<String>> {
    for index in existing {
        let name = index_name(index);
        let on_expiry = index.keys.len() == 1 && index.keys.contains_key(EXPIRES);
        if !on_expiry && name != TTL_INDEX_NAME {
            continue;
        }
        let ttl = index.options.as_ref().and_then(|o| o.expire_after);
        if on_expiry && ttl == Some(Duration::ZERO) {
            return Ok(Some(name));
        }
        return Err(Error::config(conflict_message(
            collection.name(),
            &name,
            &describe(index),
        )));
    }
    Ok(None)
}

/// Check, without changing anything, that the TTL index is there.
///
/// # Errors
/// [`Error::Config`] naming the missing or conflicting index, or a backend
/// error when MongoDB does not answer.
pub(crate) async fn check_ttl_index(collection: &Collection<RawDocumentBuf>) -> Result<String> {
    find_ttl_index(collection).await?.ok_or_else(|| {
        Error::config(format!(
            "the session collection `{}` has no TTL index on `{EXPIRES}`: create it \
             (db.{}.createIndex({{{EXPIRES}: 1}}, {{name: \"{TTL_INDEX_NAME}\", \
             expireAfterSeconds: 0}})) or let the driver create it \
             (MongoStoreBuilder::ensure_indexes, TIERED_SESSIONS_MONGODB_ENSURE_INDEXES=true)",
            collection.name(),
            collection.name()
        ))
    })
}

/// Create the TTL index unless an equivalent one exists; a conflicting one is a
/// clear [`Error::Config`] rather than a server error.
pub(crate) async fn ensure_ttl_index(
    collection: &Collection<RawDocumentBuf>,
) -> Result<IndexOutcome> {
    if let Some(name) = find_ttl_index(collection).await? {
        return Ok(IndexOutcome::AlreadyPresent { name });
    }
    let model = IndexModel::builder()
        .keys(doc! { EXPIRES: 1 })
        .options(
            IndexOptions::builder()
                .name(TTL_INDEX_NAME.to_owned())
                .expire_after(Duration::ZERO)
                .build(),
        )
        .build();
    match collection.create_index(model).await {
        Ok(_) => {
            tracing::info!(
                collection = collection.name(),
                index = TTL_INDEX_NAME,
                "created the sessions TTL index"
            );
            Ok(IndexOutcome::Created)
        }
        // Another process created a different index in between.
        Err(e) if error::code(&e).is_some_and(|c| INDEX_CONFLICT.contains(&c)) => {
            Err(Error::config(conflict_message(
                collection.name(),
                TTL_INDEX_NAME,
                "options other than the ones requested",
            )))
        }
        Err(e) => Err(error::map(e)),
    }
}
