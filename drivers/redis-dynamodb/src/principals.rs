//! [`DynamoStore`]'s principal index: a second item type in the sessions'
//! table, one item per principal, rather than a global secondary index.
//!
//! Why: a GSI is read eventually consistently only, so a "log out
//! everywhere" listing right after a login could miss it; one item per
//! principal is read strongly consistently in one `GetItem`, and a login's
//! `UpdateItem` returns the principal's revocations as they stand after it,
//! atomically. It also needs no index to provision or pay for. The limit is
//! DynamoDB's 400 KB item: some three thousand live sessions per principal.
//!
//! | attribute | type | holds |
//! | --- | --- | --- |
//! | `pk` | S | `p#` and the principal hash (store keys are bare hex, so the two never meet) |
//! | `s_<handle>` | B | a session's entry (`IndexEntry::to_bytes`) |
//! | `d_<handle>` | N | a revoked session, until when the deny entry counts |
//! | `nb`, `nk` | N | sessions bound at or before `nb` are revoked, until `nk` |
//! | `ex` | S | the handle `nb` spares |
//! | `ver` | N | grows with every write (cleanup deletes only what it read) |
//!
//! The item has no `exp`: the table's TTL and the record cleanup never see
//! it. [`PrincipalIndex::delete_expired_index`] prunes lapsed entries and
//! deletes items with nothing left in force.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use tiered_sessions::{
    CleanupBatch, CleanupCursor, Error, IndexEntry, PrincipalHash, PrincipalIndex,
    PrincipalSessions, Result, Revocation, Revocations, SessionHandle, UnixTime,
};

use crate::item::{Item, PK, num};
use crate::store::DynamoStore;

const PREFIX: &str = "p#";
const VER: &str = "ver";

fn key(principal: &PrincipalHash) -> Item {
    HashMap::from([(
        PK.to_owned(),
        AttributeValue::S(format!("{PREFIX}{}", principal.as_str())),
    )])
}

fn n(item: &Item, name: &str) -> Result<u64> {
    match item.get(name) {
        None => Ok(0),
        Some(AttributeValue::N(t)) => t
            .parse()
            .map_err(|_| Error::codec(format!("principal attribute `{name}` is not a number"))),
        Some(_) => Err(Error::codec(format!(
            "principal attribute `{name}` is not a number"
        ))),
    }
}

/// The entries and revocations of a principal item, as in force at `now`.
fn parse(item: &Item, now: UnixTime) -> Result<PrincipalSessions> {
    let mut out = PrincipalSessions::default();
    if n(item, "nk")? > now {
        out.revocations.not_before = n(item, "nb")?;
        if let Some(AttributeValue::S(hex)) = item.get("ex") {
            out.revocations.except = Some(SessionHandle::parse(hex)?);
        }
    }
    for (name, value) in item {
        if let Some(hex) = name.strip_prefix("s_") {
            let AttributeValue::B(bytes) = value else {
                return Err(Error::codec("malformed principal entry"));
            };
            let entry = IndexEntry::from_bytes(SessionHandle::parse(hex)?, bytes.as_ref())?;
            if !entry.is_expired(now) {
                out.sessions.push(entry);
            }
        } else if let Some(hex) = name.strip_prefix("d_") {
            let until = n(item, name)?;
            if until > now {
                out.revocations
                    .denied
                    .push((SessionHandle::parse(hex)?, until));
            }
        }
    }
    Ok(out)
}

/// Whether a conditional write was applied (`false`: its condition failed).
fn conditional<E, R>(
    sent: std::result::Result<(), SdkError<E, R>>,
    timeout: std::time::Duration,
) -> Result<bool>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
    SdkError<E, R>: crate::error::HasStatus,
{
    match sent {
        Ok(()) => Ok(true),
        Err(SdkError::ServiceError(se))
            if se.err().code() == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(e) => Err(crate::error::sdk_error(e, timeout)),
    }
}

impl DynamoStore {
    async fn principal_item(&self, principal: &PrincipalHash) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&*self.table)
            .set_key(Some(key(principal)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| crate::error::sdk_error(e, self.timeout))?;
        Ok(out.item)
    }

    /// Prune one principal item read by the cleanup scan: remove its lapsed
    /// attributes, or the whole item when nothing in it is in force, only if
    /// nobody wrote it since. Returns the session entries removed.
    async fn prune(&self, item: &Item, now: UnixTime) -> Result<u64> {
        let Some(pk) = item.get(PK).cloned() else {
            return Ok(0);
        };
        let mut lapsed = Vec::new();
        let mut entries = 0;
        for (name, value) in item {
            if name.starts_with("s_") {
                let gone = match value {
                    AttributeValue::B(b) if b.as_ref().len() >= 8 => {
                        let mut t = [0u8; 8];
                        t.copy_from_slice(&b.as_ref()[..8]);
                        u64::from_be_bytes(t) <= now
                    }
                    _ => true,
                };
                if gone {
                    lapsed.push(name.clone());
                    entries += 1;
                }
            } else if name.starts_with("d_") && n(item, name).unwrap_or(0) <= now {
                lapsed.push(name.clone());
            }
        }
        let live = item
            .keys()
            .filter(|k| k.starts_with("s_") || k.starts_with("d_"))
            .count()
            - lapsed.len();
        let ver = item
            .get(VER)
            .cloned()
            .unwrap_or(AttributeValue::N("0".into()));
        let condition = "attribute_not_exists(#ver) OR #ver = :ver";
        let applied = if live == 0 && n(item, "nk")? <= now {
            let sent = self
                .client
                .delete_item()
                .table_name(&*self.table)
                .key(PK, pk)
                .condition_expression(condition)
                .expression_attribute_names("#ver", VER)
                .expression_attribute_values(":ver", ver)
                .send()
                .await
                .map(drop);
            conditional(sent, self.timeout)?
        } else if !lapsed.is_empty() {
            let mut update = self
                .client
                .update_item()
                .table_name(&*self.table)
                .key(PK, pk)
                .condition_expression(condition)
                .expression_attribute_names("#ver", VER)
                .expression_attribute_values(":ver", ver);
            let mut remove = Vec::new();
            for (i, name) in lapsed.iter().enumerate() {
                remove.push(format!("#a{i}"));
                update = update.expression_attribute_names(format!("#a{i}"), name);
            }
            let sent = update
                .update_expression(format!("REMOVE {}", remove.join(", ")))
                .send()
                .await
                .map(drop);
            conditional(sent, self.timeout)?
        } else {
            return Ok(0);
        };
        // Written meanwhile: the next cleanup looks again.
        Ok(if applied { entries } else { 0 })
    }
}

#[async_trait]
impl PrincipalIndex for DynamoStore {
    async fn put_session(
        &self,
        principal: &PrincipalHash,
        entry: &IndexEntry,
        now: UnixTime,
    ) -> Result<Revocations> {
        let out = self
            .client
            .update_item()
            .table_name(&*self.table)
            .set_key(Some(key(principal)))
            .update_expression("SET #e = :e ADD #ver :one")
            .expression_attribute_names("#e", format!("s_{}", entry.handle.to_text()))
            .expression_attribute_names("#ver", VER)
            .expression_attribute_values(":e", AttributeValue::B(Blob::new(entry.to_bytes())))
            .expression_attribute_values(":one", num(1))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| crate::error::sdk_error(e, self.timeout))?;
        Ok(parse(&out.attributes.unwrap_or_default(), now)?.revocations)
    }

    async fn load_principal(
        &self,
        principal: &PrincipalHash,
        now: UnixTime,
    ) -> Result<PrincipalSessions> {
        match self.principal_item(principal).await? {
            Some(item) => parse(&item, now),
            None => Ok(PrincipalSessions::default()),
        }
    }

    async fn revocations(&self, principal: &PrincipalHash, now: UnixTime) -> Result<Revocations> {
        Ok(self.load_principal(principal, now).await?.revocations)
    }

    async fn remove_session(
        &self,
        principal: &PrincipalHash,
        handle: &SessionHandle,
        _now: UnixTime,
    ) -> Result<()> {
        self.client
            .update_item()
            .table_name(&*self.table)
            .set_key(Some(key(principal)))
            .update_expression("REMOVE #e ADD #ver :one")
            .expression_attribute_names("#e", format!("s_{}", handle.to_text()))
            .expression_attribute_names("#ver", VER)
            .expression_attribute_values(":one", num(1))
            .send()
            .await
            .map(drop)
            .map_err(|e| crate::error::sdk_error(e, self.timeout))
    }

    async fn revoke(
        &self,
        principal: &PrincipalHash,
        revocation: &Revocation,
        keep_until: UnixTime,
        _now: UnixTime,
    ) -> Result<()> {
        let update = self
            .client
            .update_item()
            .table_name(&*self.table)
            .set_key(Some(key(principal)))
            .expression_attribute_names("#ver", VER)
            .expression_attribute_values(":one", num(1));
        let sent = match revocation {
            Revocation::AllBefore { at, except } => {
                let set = match except {
                    Some(_) => "SET #nb = :at, #nk = :keep, #ex = :ex ADD #ver :one",
                    None => "SET #nb = :at, #nk = :keep REMOVE #ex ADD #ver :one",
                };
                let mut update = update
                    .update_expression(set)
                    .condition_expression("attribute_not_exists(#nb) OR #nb <= :at")
                    .expression_attribute_names("#nb", "nb")
                    .expression_attribute_names("#nk", "nk")
                    .expression_attribute_names("#ex", "ex")
                    .expression_attribute_values(":at", num(*at))
                    .expression_attribute_values(":keep", num(keep_until));
                if let Some(h) = except {
                    update =
                        update.expression_attribute_values(":ex", AttributeValue::S(h.to_text()));
                }
                update.send().await.map(drop)
            }
            Revocation::One { handle } => update
                .update_expression("SET #d = :keep ADD #ver :one")
                .expression_attribute_names("#d", format!("d_{}", handle.to_text()))
                .expression_attribute_values(":keep", num(keep_until))
                .send()
                .await
                .map(drop),
        };
        // Refused: a newer "revoked before" already stands and covers this one.
        conditional(sent, self.timeout).map(drop)
    }

    async fn delete_expired_index(
        &self,
        now: UnixTime,
        max: usize,
        cursor: Option<CleanupCursor>,
    ) -> Result<CleanupBatch> {
        let limit = i32::try_from(max.max(1)).unwrap_or(i32::MAX);
        let page = self
            .client
            .scan()
            .table_name(&*self.table)
            .filter_expression("begins_with(#pk, :p)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":p", AttributeValue::S(PREFIX.to_owned()))
            .consistent_read(true)
            .limit(limit)
            .set_exclusive_start_key(
                cursor.map(|c| HashMap::from([(PK.to_owned(), AttributeValue::S(c.0))])),
            )
            .send()
            .await
            .map_err(|e| crate::error::sdk_error(e, self.timeout))?;
        let mut deleted = 0;
        for item in page.items.unwrap_or_default() {
            deleted += self.prune(&item, now).await?;
        }
        let next = match page.last_evaluated_key.as_ref().and_then(|k| k.get(PK)) {
            Some(AttributeValue::S(pk)) => Some(CleanupCursor(pk.clone())),
            Some(_) => return Err(Error::codec("the scan cursor's `pk` is not a string")),
            None => None,
        };
        Ok(CleanupBatch { deleted, next })
    }
}
