//! Batched, resumable deletion of expired items: a `Scan` page filtered on
//! expiry, then `BatchWriteItem` deletes 25 at a time, unprocessed items
//! retried with exponential backoff.
//!
//! DynamoDB's own TTL sweep removes most expired items (within days); this
//! covers engines and tables without TTL, and what the sweep has not reached.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, WriteRequest};
use tiered_sessions::{CleanupBatch, CleanupCursor, Error, Result, UnixTime};

use crate::error::BACKEND;
use crate::item::{EXPIRES, Item, PK, num};
use crate::store::DynamoStore;

/// DynamoDB's limit of requests in one `BatchWriteItem`.
pub(crate) const BATCH_SIZE: usize = 25;
/// Rounds of retrying unprocessed items before the batch fails (retryable).
const UNPROCESSED_ROUNDS: u32 = 8;
const FIRST_BACKOFF: Duration = Duration::from_millis(25);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

pub(crate) async fn delete_expired(
    store: &DynamoStore,
    now: UnixTime,
    max: usize,
    cursor: Option<CleanupCursor>,
) -> Result<CleanupBatch> {
    // `Limit` bounds the items a page evaluates, so a page may find fewer than
    // `max` expired ones; the cursor then says where to go on.
    let limit = i32::try_from(max.max(1)).unwrap_or(i32::MAX);
    let page = store
        .client
        .scan()
        .table_name(&*store.table)
        .filter_expression("#exp <= :now")
        .projection_expression("#pk")
        .expression_attribute_names("#exp", EXPIRES)
        .expression_attribute_names("#pk", PK)
        .expression_attribute_values(":now", num(now))
        .limit(limit)
        .set_exclusive_start_key(
            cursor.map(|c| HashMap::from([(PK.to_owned(), AttributeValue::S(c.0))])),
        )
        .send()
        .await
        .map_err(|e| crate::error::sdk_error(e, store.timeout))?;
    let keys: Vec<Item> = page
        .items
        .unwrap_or_default()
        .into_iter()
        .filter_map(|item| {
            item.get(PK)
                .cloned()
                .map(|pk| HashMap::from([(PK.to_owned(), pk)]))
        })
        .collect();
    let mut deleted = 0;
    for chunk in keys.chunks(BATCH_SIZE) {
        delete_batch(store, chunk).await?;
        deleted += chunk.len() as u64;
    }
    let next = match page.last_evaluated_key.as_ref().and_then(|k| k.get(PK)) {
        Some(AttributeValue::S(pk)) => Some(CleanupCursor(pk.clone())),
        Some(_) => return Err(Error::codec("the scan cursor's `pk` is not a string")),
        None => None,
    };
    Ok(CleanupBatch { deleted, next })
}

async fn delete_batch(store: &DynamoStore, keys: &[Item]) -> Result<()> {
    let mut pending = keys
        .iter()
        .map(|key| {
            DeleteRequest::builder()
                .set_key(Some(key.clone()))
                .build()
                .map(|d| WriteRequest::builder().delete_request(d).build())
                .map_err(|e| Error::backend(BACKEND, e))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut backoff = FIRST_BACKOFF;
    for round in 0..=UNPROCESSED_ROUNDS {
        if round > 0 {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        let out = store
            .client
            .batch_write_item()
            .request_items(&*store.table, pending)
            .send()
            .await
            .map_err(|e| crate::error::sdk_error(e, store.timeout))?;
        pending = out
            .unprocessed_items
            .and_then(|mut m| m.remove(&*store.table))
            .unwrap_or_default();
        if pending.is_empty() {
            return Ok(());
        }
        tracing::debug!(
            left = pending.len(),
            round,
            "DynamoDB left deletes unprocessed; retrying"
        );
    }
    Err(Error::unavailable(
        BACKEND,
        format!(
            "{} deletes still unprocessed after {UNPROCESSED_ROUNDS} retries (throttled); resume from the previous cursor",
            pending.len()
        ),
    ))
}
