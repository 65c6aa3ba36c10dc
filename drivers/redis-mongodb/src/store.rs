//! [`MongoStore`]: the durable tier, a [`SessionStore`] on one MongoDB collection.

use std::fmt;
use std::time::Duration;

use futures_util::TryStreamExt;
use mongodb::bson::{Bson, RawDocumentBuf, doc};
use mongodb::options::{
    CollectionOptions, ReadConcern, ReadPreference, SelectionCriteria, WriteConcern,
};
use mongodb::{Collection, Database};
use tiered_sessions::{
    CleanupBatch, CleanupCursor, Durability, Error, Record, Result, SessionStore, StoreKey,
    UnixTime, async_trait,
};

use crate::builder::MongoStoreBuilder;
use crate::document::{self, EXPIRES, ID, LAST_ACTIVE, MAX_RECORD_BYTES, VERSION, date, int};
use crate::error::{self, BACKEND, DUPLICATE_KEY};
use crate::indexes::{self, IndexOutcome, IndexesFound};

/// Most documents one cleanup batch deletes, whatever `max` asks for; keeps the
/// `$in` list of one `delete_many` far below the 16 MiB command limit.
pub const MAX_CLEANUP_BATCH: usize = 10_000;

/// Session records in one MongoDB collection, one document per session.
///
/// A complete [`SessionStore`] on its own, and the durable tier of
/// [`crate::RedisMongoStore`].
///
/// - **Documents**: `_id` is the [`StoreKey`] (a keyed hash, never the raw id),
///   `v` the version, `exp` the expiry as a BSON date (swept by the TTL index
///   that [`MongoStore::ensure_indexes`] creates), `ca`/`la` creation and last
///   activity in UNIX seconds, `d` the data as one binary.
/// - **Expiry** is checked on every read and is part of every write filter, so
///   a document the TTL monitor has not swept yet (it runs about once a
///   minute) is never returned, saved over or touched.
/// - **Consistency**: writes use write concern `majority` with `j: true` (an
///   acknowledged write survives the loss of the primary, and a crash of every
///   node) and reads go to the primary with
///   read concern `local`. Together these give read-your-writes on a replica
///   set without client sessions: an acknowledged write is on the primary, and
///   any new primary must hold every majority-acknowledged write. (A
///   `majority` read could briefly miss it just after a failover, before the
///   new primary's majority snapshot catches up.)
/// - **Conflicts**: saves replace the document only if its version is not
///   newer than the expected one; creates never overwrite a live document.
/// - **Failures**: network errors, no reachable primary, stepdowns and
///   retryable labels map to the retryable [`Error::Unavailable`], a passed
///   operation deadline to [`Error::Timeout`], the rest to [`Error::Backend`],
///   always with the driver's error as the source.
#[derive(Clone)]
pub struct MongoStore {
    database: Database,
    collection: Collection<RawDocumentBuf>,
    operation_timeout: Duration,
    max_record_bytes: usize,
}

impl fmt::Debug for MongoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MongoStore")
            .field("database", &self.database.name())
            .field("collection", &self.collection.name())
            .field("operation_timeout", &self.operation_timeout)
            .field("max_record_bytes", &self.max_record_bytes)
            .finish()
    }
}

impl MongoStore {
    /// Settings for a store at `uri` (`mongodb://…`, or `mongodb+srv://…` with
    /// the `dns-srv` feature).
    pub fn builder(uri: impl Into<String>) -> MongoStoreBuilder {
        MongoStoreBuilder::new(uri)
    }

    /// A store on `collection` of a database whose client you configured
    /// yourself. The store still sets its own write concern (`majority`,
    /// journaled), read
    /// concern (`local`) and read preference (`primary`) on the collection; set
    /// short server selection and connect timeouts on your client (the
    /// driver's default of 30 s holds requests that long during an outage).
    pub fn from_database(database: &Database, collection: &str) -> Self {
        let store = MongoStore {
            database: database.clone(),
            collection: database.collection(collection),
            operation_timeout: crate::DEFAULT_OPERATION_TIMEOUT,
            max_record_bytes: MAX_RECORD_BYTES,
        };
        store.with_operation_timeout(crate::DEFAULT_OPERATION_TIMEOUT)
    }

    /// The deadline for one whole store call; see
    /// [`MongoStoreBuilder::operation_timeout`].
    pub fn with_operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        let mut write_concern = WriteConcern::majority();
        // Journaled on the majority before it is acknowledged, whatever the
        // server's writeConcernMajorityJournalDefault says: an acknowledged
        // write survives a crash of every node.
        write_concern.journal = Some(true);
        write_concern.w_timeout = Some(timeout);
        let options = CollectionOptions::builder()
            .write_concern(write_concern)
            .read_concern(ReadConcern::local())
            .selection_criteria(SelectionCriteria::ReadPreference(ReadPreference::Primary))
            .build();
        self.collection = self
            .database
            .collection_with_options(self.collection.name(), options);
        self
    }

    /// The largest record accepted; see [`MongoStoreBuilder::max_record_bytes`].
    pub fn with_max_record_bytes(mut self, limit: usize) -> Self {
        self.max_record_bytes = limit.min(MAX_RECORD_BYTES);
        self
    }

    /// The collection, for admin tools and tests.
    pub fn collection(&self) -> &Collection<RawDocumentBuf> {
        &self.collection
    }

    /// Create the TTL index on `exp` (named `exp_ttl`, `expireAfterSeconds: 0`)
    /// and the sparse index on `p` that principal listings use (named
    /// `principal`) unless they exist. Idempotent; call it at startup or from
    /// a deploy step.
    ///
    /// The TTL monitor then deletes expired sessions about once a minute;
    /// [`SessionStore::delete_expired`] covers what it has not reached yet.
    ///
    /// # Errors
    /// [`Error::Config`] if an index on `exp` or named `exp_ttl` exists with
    /// other options (a different TTL, or not a TTL index): the message names
    /// the index to drop. [`Error::Unavailable`]/[`Error::Timeout`] when the
    /// server cannot be reached, [`Error::Backend`] otherwise.
    pub async fn ensure_indexes(&self) -> Result<IndexOutcome> {
        let outcome = self
            .deadline(indexes::ensure_ttl_index(&self.collection))
            .await?;
        self.deadline(self.ensure_principal_index()).await?;
        Ok(outcome)
    }

    /// Check, without changing anything, that the server answers and the TTL
    /// index is there; returns the index's name. This is what
    /// [`MongoStoreBuilder::build`] runs at start-up when it does not create
    /// the index itself (and its start-up check is on).
    ///
    /// # Errors
    /// [`Error::Config`] naming the missing or conflicting index;
    /// [`Error::Unavailable`]/[`Error::Timeout`] when the server cannot be
    /// reached.
    pub async fn check_indexes(&self) -> Result<String> {
        self.deadline(indexes::check_ttl_index(&self.collection))
            .await
    }

    /// Which of the indexes [`MongoStore::ensure_indexes`] creates are
    /// already there, without changing anything (a deploy step's dry run).
    ///
    /// # Errors
    /// [`Error::Config`] for a conflicting index on the expiry field;
    /// [`Error::Unavailable`]/[`Error::Timeout`] when the server cannot be
    /// reached.
    pub async fn find_indexes(&self) -> Result<IndexesFound> {
        self.deadline(indexes::find_indexes(
            &self.collection,
            crate::principals::PRINCIPAL_INDEX,
        ))
        .await
    }

    /// Ask the server to answer (`ping`), within the operation deadline: for
    /// readiness probes and start-up checks.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when no server can be reached,
    /// [`Error::Timeout`] past the deadline, [`Error::Backend`] otherwise.
    pub async fn ping(&self) -> Result<()> {
        self.deadline(async {
            self.database
                .run_command(doc! { "ping": 1 })
                .await
                .map_err(error::map)?;
            Ok(())
        })
        .await
    }

    /// Close the MongoDB client under this store: end its server sessions and
    /// close its connections, after the operations in flight. The client is
    /// shared with every clone of this store (and with the [`Database`] it was
    /// made from), so none of them can be used afterwards. Call it once at
    /// shutdown; a dropped client cleans up too, in a background task.
    pub async fn shutdown(self) {
        self.database.client().clone().shutdown().await;
    }

    /// Run `fut` within the operation deadline.
    pub(crate) async fn deadline<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        match tokio::time::timeout(self.operation_timeout, fut).await {
            Ok(out) => out,
            Err(_) => Err(Error::Timeout {
                backend: BACKEND,
                after: self.operation_timeout,
            }),
        }
    }

    /// Why a conditional write on a live document at most at the expected
    /// version matched nothing: a newer version (`Conflict`) or no live
    /// document (`NotFound`).
    async fn unmatched(&self, key: &StoreKey, now: UnixTime) -> Result<()> {
        if self.is_live(key, now).await? {
            Err(Error::Conflict)
        } else {
            Err(Error::NotFound)
        }
    }

    /// Whether a live document is stored under `key`.
    async fn is_live(&self, key: &StoreKey, now: UnixTime) -> Result<bool> {
        let found = self
            .collection
            .find_one(doc! { ID: key.as_str(), EXPIRES: { "$gt": date(now) } })
            .projection(doc! { ID: 1 })
            .await
            .map_err(error::map)?;
        Ok(found.is_some())
    }
}

#[async_trait]
impl SessionStore for MongoStore {
    /// Default [`MAX_RECORD_BYTES`], what fits a 16 MiB BSON document.
    fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
        self.deadline(async {
            // `_id` equality alone is the query servers answer on their fastest
            // path; expiry is checked here, as the TTL monitor sweeps late.
            let found = self
                .collection
                .find_one(doc! { ID: key.as_str() })
                .await
                .map_err(error::map)?;
            let Some(found) = found else {
                return Ok(None);
            };
            Ok(
                Some(document::from_document(&found, self.max_record_bytes)?)
                    .filter(|r| !r.is_expired(now)),
            )
        })
        .await
    }

    async fn create(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()> {
        let doc = document::to_document(key, record, self.max_record_bytes)?;
        self.deadline(async {
            // One round trip: replace an expired document, or insert if there
            // is none. A live document does not match the filter, so the upsert
            // tries to insert its `_id` again and fails with a duplicate key.
            let out = self
                .collection
                .replace_one(
                    doc! { ID: key.as_str(), EXPIRES: { "$lte": date(now) } },
                    &doc,
                )
                .upsert(true)
                .await;
            match out {
                Ok(_) => Ok(()),
                Err(e) if error::code(&e) == Some(DUPLICATE_KEY) => Err(Error::AlreadyExists),
                Err(e) => Err(error::map(e)),
            }
        })
        .await
    }

    async fn save(
        &self,
        key: &StoreKey,
        record: &Record,
        expected_version: u64,
        _durability: Durability,
        now: UnixTime,
    ) -> Result<()> {
        record.check_follows(expected_version)?;
        let doc = document::to_document(key, record, self.max_record_bytes)?;
        self.deadline(async {
            let replaced = self
                .collection
                .replace_one(
                    doc! {
                        ID: key.as_str(),
                        EXPIRES: { "$gt": date(now) },
                        VERSION: { "$lte": int(expected_version) },
                    },
                    &doc,
                )
                .await
                .map_err(error::map)?;
            if replaced.matched_count > 0 {
                return Ok(());
            }
            self.unmatched(key, now).await
        })
        .await
    }

    async fn delete_unless_newer(
        &self,
        key: &StoreKey,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<()> {
        self.deadline(async {
            let deleted = self
                .collection
                .delete_one(doc! {
                    ID: key.as_str(),
                    EXPIRES: { "$gt": date(now) },
                    VERSION: { "$lte": int(expected_version) },
                })
                .await
                .map_err(error::map)?;
            if deleted.deleted_count > 0 {
                return Ok(());
            }
            self.unmatched(key, now).await
        })
        .await
    }

    async fn delete(&self, key: &StoreKey, _now: UnixTime) -> Result<()> {
        self.deadline(async {
            self.collection
                .delete_one(doc! { ID: key.as_str() })
                .await
                .map_err(error::map)?;
            Ok(())
        })
        .await
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: UnixTime,
        last_active: UnixTime,
        now: UnixTime,
    ) -> Result<()> {
        self.deadline(async {
            let updated = self
                .collection
                .update_one(
                    doc! { ID: key.as_str(), EXPIRES: { "$gt": date(now) } },
                    doc! { "$set": { EXPIRES: date(expires_at), LAST_ACTIVE: int(last_active) } },
                )
                .await
                .map_err(error::map)?;
            if updated.matched_count == 0 {
                return Err(Error::NotFound);
            }
            Ok(())
        })
        .await
    }

    async fn delete_expired(
        &self,
        now: UnixTime,
        max: usize,
        cursor: Option<CleanupCursor>,
    ) -> Result<CleanupBatch> {
        let batch = max.clamp(1, MAX_CLEANUP_BATCH);
        self.deadline(async {
            let mut filter = doc! { EXPIRES: { "$lte": date(now) } };
            if let Some(CleanupCursor(after)) = &cursor {
                filter.insert(ID, doc! { "$gt": after.as_str() });
            }
            let found: Vec<RawDocumentBuf> = self
                .collection
                .find(filter)
                .sort(doc! { ID: 1 })
                .limit(i64::try_from(batch).unwrap_or(i64::MAX))
                .projection(doc! { ID: 1 })
                .await
                .map_err(error::map)?
                .try_collect()
                .await
                .map_err(error::map)?;
            let ids = found
                .iter()
                .map(|d| d.get_str(ID).map(str::to_owned).map_err(Error::codec))
                .collect::<Result<Vec<_>>>()?;
            let Some(last) = ids.last().cloned() else {
                return Ok(CleanupBatch::default());
            };
            let full = ids.len() >= batch;
            let ids: Vec<Bson> = ids.into_iter().map(Bson::String).collect();
            // Re-check expiry: a session touched since the scan stays.
            let deleted = self
                .collection
                .delete_many(doc! { ID: { "$in": ids }, EXPIRES: { "$lte": date(now) } })
                .await
                .map_err(error::map)?
                .deleted_count;
            Ok(CleanupBatch {
                deleted,
                next: full.then_some(CleanupCursor(last)),
            })
        })
        .await
    }

    fn principal_index(&self) -> Option<&dyn tiered_sessions::PrincipalIndex> {
        Some(self)
    }
}
