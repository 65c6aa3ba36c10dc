//! [`DynamoStore`]: the durable [`SessionStore`] over DynamoDB.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure,
};
use tiered_sessions::{
    CleanupBatch, CleanupCursor, Durability, Error, Record, Result, SessionStore, StoreKey,
    UnixTime,
};

use crate::builder::DynamoStoreBuilder;
use crate::capacity::{Access, CapacityMeter, CapacityUsage, Size, item_size};
use crate::cleanup;
use crate::error::sdk_error;
use crate::item::{
    self, ACTIVE, EXPIRES, PK, VERSION, from_item, key_of, live_version, num, to_item,
};

/// A DynamoDB table as a durable session store.
///
/// - reads are strongly consistent and never return an expired item, whether
///   or not DynamoDB's TTL sweep has removed it yet;
/// - `create` is a `PutItem` conditional on no live item; `save` is conditional
///   on a live item whose version is not newer than the expected one, and a
///   failed condition is told apart as [`Error::NotFound`] or [`Error::Conflict`]
///   from the old item DynamoDB returns with the failure;
/// - records above [`crate::MAX_RECORD_BYTES`] fail with [`Error::TooLarge`]
///   before any request;
/// - throttling, 5xx answers and connection failures are retried by the SDK
///   within a bounded budget ([`DynamoStoreBuilder::max_attempts`]), then
///   surface as the retryable [`Error::Unavailable`] (or [`Error::Timeout`]).
///
/// Build with [`DynamoStore::builder`]; create the table with
/// [`DynamoStore::ensure_table`].
#[derive(Clone, Debug)]
pub struct DynamoStore {
    pub(crate) client: Client,
    pub(crate) table: Arc<str>,
    pub(crate) timeout: Duration,
    pub(crate) requests: Arc<AtomicU64>,
    pub(crate) max_record_bytes: usize,
    pub(crate) capacity: Arc<CapacityMeter>,
}

impl DynamoStore {
    /// A builder for a store on `table`.
    pub fn builder(table: impl Into<String>) -> DynamoStoreBuilder {
        DynamoStoreBuilder::new(table)
    }

    /// The table name.
    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// The SDK client (for admin tools).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// How many HTTP requests this store has sent to DynamoDB so far (every
    /// attempt, retries included).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The capacity units the session calls (load, create, save, delete,
    /// touch) of this store and its clones consumed so far, as the server
    /// reported them and as computed from item sizes (see [`CapacityUsage`]).
    pub fn capacity_usage(&self) -> CapacityUsage {
        self.capacity.usage()
    }

    fn fail<E, R>(&self, e: aws_sdk_dynamodb::error::SdkError<E, R>) -> Error
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: fmt::Debug + Send + Sync + 'static,
        aws_sdk_dynamodb::error::SdkError<E, R>: crate::error::HasStatus,
    {
        sdk_error(e, self.timeout)
    }

    /// A write's failure: the engine's own item-size check (stricter than ours
    /// on some emulators) is reported as [`Error::TooLarge`] too.
    fn write_failed<E, R>(
        &self,
        e: aws_sdk_dynamodb::error::SdkError<E, R>,
        record: &Record,
    ) -> Error
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: fmt::Debug + Send + Sync + 'static,
        aws_sdk_dynamodb::error::SdkError<E, R>: crate::error::HasStatus,
    {
        let too_large = e.as_service_error().is_some_and(|se| {
            se.code() == Some("ValidationException")
                && se
                    .message()
                    .is_some_and(|m| m.contains("size has exceeded"))
        });
        if too_large {
            let size = tiered_sessions::codec::record_len(record);
            return Error::TooLarge {
                size,
                limit: item::MAX_ITEM_BYTES,
            };
        }
        self.fail(e)
    }

    /// The outcome of a failed write condition (`#v <= :expected` on a live
    /// item): `Conflict` if a live item is newer, else `NotFound`.
    async fn condition_failed(
        &self,
        key: &StoreKey,
        old: Option<item::Item>,
        now: UnixTime,
    ) -> Result<()> {
        // An engine that does not return the old item with the failure: read it.
        let old = match old {
            Some(item) => Some(item),
            None => self.get_item(key).await?,
        };
        match live_version(old.as_ref(), now)? {
            None => Err(Error::NotFound),
            Some(_) => Err(Error::Conflict),
        }
    }

    async fn get_item(&self, key: &StoreKey) -> Result<Option<item::Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&*self.table)
            .set_key(Some(key_of(key)))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| self.fail(e))?;
        self.capacity
            .read(out.consumed_capacity(), out.item.as_ref());
        Ok(out.item)
    }
}

/// The condition of `save` and `delete_unless_newer`: a live item whose
/// version is not newer than the expected one.
const NOT_NEWER: &str = "attribute_exists(#pk) AND #exp > :now AND #v <= :expected";

fn not_newer_names() -> Option<HashMap<String, String>> {
    names(&[("#pk", PK), ("#exp", EXPIRES), ("#v", VERSION)])
}

fn not_newer_values(now: UnixTime, expected: u64) -> Option<HashMap<String, AttributeValue>> {
    values(vec![(":now", num(now)), (":expected", num(expected))])
}

fn names(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

fn values(pairs: Vec<(&str, AttributeValue)>) -> Option<HashMap<String, AttributeValue>> {
    Some(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

#[async_trait]
impl SessionStore for DynamoStore {
    /// Default [`crate::MAX_RECORD_BYTES`], what fits a 400 KB item.
    fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
        let Some(item) = self.get_item(key).await? else {
            return Ok(None);
        };
        let record = from_item(&item, self.max_record_bytes)?;
        Ok((!record.is_expired(now)).then_some(record))
    }

    async fn create(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()> {
        let item = to_item(key, record, self.max_record_bytes)?;
        let size = Size::Known(item_size(&item));
        let out = self
            .client
            .put_item()
            .table_name(&*self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk) OR #exp <= :now")
            .set_expression_attribute_names(names(&[("#pk", PK), ("#exp", EXPIRES)]))
            .set_expression_attribute_values(values(vec![(":now", num(now))]))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        let reported = out.as_ref().ok().and_then(|o| o.consumed_capacity());
        self.capacity.record(Access::Write, reported, size);
        match out {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Err(Error::AlreadyExists)
            }
            Err(e) => Err(self.write_failed(e, record)),
        }
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
        let item = to_item(key, record, self.max_record_bytes)?;
        let size = Size::Known(item_size(&item));
        let out = self
            .client
            .put_item()
            .table_name(&*self.table)
            .set_item(Some(item))
            .condition_expression(NOT_NEWER)
            .set_expression_attribute_names(not_newer_names())
            .set_expression_attribute_values(not_newer_values(now, expected_version))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        let reported = out.as_ref().ok().and_then(|o| o.consumed_capacity());
        self.capacity.record(Access::Write, reported, size);
        let failed = match out {
            Ok(_) => return Ok(()),
            Err(e) => match e.as_service_error() {
                Some(se) if se.is_conditional_check_failed_exception() => match se {
                    aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => {
                        c.item().cloned()
                    }
                    _ => None,
                },
                _ => return Err(self.write_failed(e, record)),
            },
        };
        self.condition_failed(key, failed, now).await
    }

    async fn delete(&self, key: &StoreKey, _now: UnixTime) -> Result<()> {
        let out = self
            .client
            .delete_item()
            .table_name(&*self.table)
            .set_key(Some(key_of(key)))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| self.fail(e))?;
        self.capacity
            .record(Access::Write, out.consumed_capacity(), Size::Last);
        Ok(())
    }

    async fn delete_unless_newer(
        &self,
        key: &StoreKey,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<()> {
        let out = self
            .client
            .delete_item()
            .table_name(&*self.table)
            .set_key(Some(key_of(key)))
            .condition_expression(NOT_NEWER)
            .set_expression_attribute_names(not_newer_names())
            .set_expression_attribute_values(not_newer_values(now, expected_version))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        let reported = out.as_ref().ok().and_then(|o| o.consumed_capacity());
        self.capacity.record(Access::Write, reported, Size::Last);
        let failed = match out {
            Ok(_) => return Ok(()),
            Err(e) => match e.as_service_error() {
                Some(aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(c)) => {
                    c.item().cloned()
                }
                _ => return Err(self.fail(e)),
            },
        };
        self.condition_failed(key, failed, now).await
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: UnixTime,
        last_active: UnixTime,
        now: UnixTime,
    ) -> Result<()> {
        let out = self
            .client
            .update_item()
            .table_name(&*self.table)
            .set_key(Some(key_of(key)))
            .update_expression("SET #exp = :e, #la = :l")
            .condition_expression("attribute_exists(#pk) AND #exp > :now")
            .set_expression_attribute_names(names(&[
                ("#pk", PK),
                ("#exp", EXPIRES),
                ("#la", ACTIVE),
            ]))
            .set_expression_attribute_values(values(vec![
                (":e", num(expires_at)),
                (":l", num(last_active)),
                (":now", num(now)),
            ]))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        let reported = out.as_ref().ok().and_then(|o| o.consumed_capacity());
        self.capacity.record(Access::Write, reported, Size::Last);
        match out {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Err(Error::NotFound)
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    async fn delete_expired(
        &self,
        now: UnixTime,
        max: usize,
        cursor: Option<CleanupCursor>,
    ) -> Result<CleanupBatch> {
        cleanup::delete_expired(self, now, max, cursor).await
    }

    fn principal_index(&self) -> Option<&dyn tiered_sessions::PrincipalIndex> {
        Some(self)
    }
}
