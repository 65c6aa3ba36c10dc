//! [`DynamoStore::ensure_table`]: create the sessions table and enable TTL.

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};
use tiered_sessions::{Error, Result};

use crate::error::{BACKEND, code};
use crate::item::{EXPIRES, PK};
use crate::store::DynamoStore;

/// How long [`DynamoStore::ensure_table`] waits for a new table to become active.
const ACTIVE_WAIT: Duration = Duration::from_secs(60);

/// What [`DynamoStore::ensure_table`] found and did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableSetup {
    /// The table was created by this call.
    pub created: bool,
    /// The state of the TTL attribute (`exp`).
    pub ttl: TtlSetup,
}

/// What [`DynamoStore::check_table`] found: the table is there with the right
/// key schema; the state of TTL on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableCheck {
    /// Native TTL on `exp`: [`TtlSetup::AlreadyEnabled`] when it is on,
    /// [`TtlSetup::Unsupported`] on an engine without TTL, or `None` when it
    /// is off (expired sessions then stay until cleanup deletes them; a
    /// warning is logged).
    pub ttl: Option<TtlSetup>,
}

/// The state of native TTL on the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TtlSetup {
    /// TTL on `exp` was already enabled (or being enabled).
    AlreadyEnabled,
    /// This call enabled TTL on `exp`.
    Enabled,
    /// The engine does not support TTL (an emulator); expired items stay until
    /// cleanup removes them. Reads filter them out either way.
    Unsupported,
}

impl DynamoStore {
    /// Create the table if it does not exist (partition key `pk` of type S,
    /// on-demand billing), wait until it is active, and enable TTL on `exp`.
    /// An engine without TTL support is logged as a warning, not an error.
    /// Safe to run at every start and from several processes at once.
    ///
    /// # Errors
    /// A backend error, or [`Error::Timeout`] if the table does not become
    /// active within a minute.
    pub async fn ensure_table(&self) -> Result<TableSetup> {
        let created = match self.table_status().await? {
            Some(_) => false,
            None => self.create_table().await?,
        };
        self.wait_active().await?;
        let ttl = self.ensure_ttl().await?;
        Ok(TableSetup { created, ttl })
    }

    /// Check, without changing anything, that the table exists, is active,
    /// and has the key schema this driver writes (partition key `pk` of type
    /// S, no sort key); report whether TTL is on `exp`. This is what
    /// [`crate::DynamoStoreBuilder::build`] runs at start-up unless told not
    /// to, so a missing table is found by the deployment, not the first user.
    ///
    /// # Errors
    /// [`Error::Config`] naming what is missing or wrong (the table, its key
    /// schema, TTL on another attribute), [`Error::Unavailable`] or
    /// [`Error::Timeout`] when DynamoDB does not answer.
    pub async fn check_table(&self) -> Result<TableCheck> {
        let described = self
            .client
            .describe_table()
            .table_name(&*self.table)
            .send()
            .await;
        let table = match described {
            Ok(out) => out.table,
            Err(e) if code(&e) == Some("ResourceNotFoundException") => {
                return Err(Error::config(format!(
                    "the DynamoDB table `{}` does not exist: create it (partition key `pk`, type S; \
                     see the driver's README) or let the driver create it \
                     (DynamoStoreBuilder::ensure_table, TIERED_SESSIONS_DYNAMODB_ENSURE_TABLE=true)",
                    self.table
                )));
            }
            Err(e) => return Err(crate::error::sdk_error(e, self.timeout)),
        };
        let Some(table) = table else {
            return Err(Error::backend(
                BACKEND,
                "DescribeTable answered without a table",
            ));
        };
        let keys: Vec<(&str, &KeyType)> = table
            .key_schema()
            .iter()
            .map(|k| (k.attribute_name(), k.key_type()))
            .collect();
        let pk_is_string = table
            .attribute_definitions()
            .iter()
            .any(|a| a.attribute_name() == PK && *a.attribute_type() == ScalarAttributeType::S);
        if keys != [(PK, &KeyType::Hash)] || !pk_is_string {
            return Err(Error::config(format!(
                "the DynamoDB table `{}` has the key schema {keys:?}; this driver needs a partition \
                 key `pk` of type S and no sort key",
                self.table
            )));
        }
        if let Some(status) = table.table_status().filter(|s| **s != TableStatus::Active) {
            tracing::warn!(table = %self.table, ?status, "the DynamoDB sessions table is not active yet");
        }
        let ttl = self.check_ttl().await?;
        Ok(TableCheck { ttl })
    }

    async fn check_ttl(&self) -> Result<Option<TtlSetup>> {
        let described = self
            .client
            .describe_time_to_live()
            .table_name(&*self.table)
            .send()
            .await;
        let desc = match described {
            Ok(out) => out.time_to_live_description,
            Err(e) if unsupported(code(&e)) => return Ok(Some(self.ttl_unsupported())),
            Err(e) => return Err(crate::error::sdk_error(e, self.timeout)),
        };
        let on = desc.as_ref().is_some_and(|d| {
            matches!(
                d.time_to_live_status(),
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            )
        });
        let attribute = desc.as_ref().and_then(|d| d.attribute_name());
        match (on, attribute) {
            (true, Some(EXPIRES)) => Ok(Some(TtlSetup::AlreadyEnabled)),
            (true, other) => Err(Error::config(format!(
                "TTL on the DynamoDB table `{}` is on attribute {other:?}; this driver writes the \
                 expiry to `{EXPIRES}`",
                self.table
            ))),
            (false, _) => {
                tracing::warn!(
                    table = %self.table,
                    "TTL is off on the DynamoDB sessions table: enable it on `exp` (free deletion of \
                     expired sessions), or run the cleanup regularly"
                );
                Ok(None)
            }
        }
    }

    /// Whether the table exists (in any status), without changing anything:
    /// what a deploy step's dry run asks before [`DynamoStore::ensure_table`].
    ///
    /// # Errors
    /// [`Error::Unavailable`] or [`Error::Timeout`] when DynamoDB does not
    /// answer, a backend error otherwise.
    pub async fn table_exists(&self) -> Result<bool> {
        Ok(self.table_status().await?.is_some())
    }

    /// Delete the table (for tests and tear-down scripts).
    ///
    /// # Errors
    /// A backend error; a missing table is not one.
    pub async fn delete_table(&self) -> Result<()> {
        match self
            .client
            .delete_table()
            .table_name(&*self.table)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(()),
            Err(e) => Err(crate::error::sdk_error(e, self.timeout)),
        }
    }

    async fn table_status(&self) -> Result<Option<TableStatus>> {
        match self
            .client
            .describe_table()
            .table_name(&*self.table)
            .send()
            .await
        {
            Ok(out) => Ok(Some(
                out.table
                    .and_then(|t| t.table_status)
                    .unwrap_or(TableStatus::Active),
            )),
            Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(crate::error::sdk_error(e, self.timeout)),
        }
    }

    /// Returns whether this call created it (another process may have won).
    async fn create_table(&self) -> Result<bool> {
        let attr = AttributeDefinition::builder()
            .attribute_name(PK)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| Error::backend(BACKEND, e))?;
        let key = KeySchemaElement::builder()
            .attribute_name(PK)
            .key_type(KeyType::Hash)
            .build()
            .map_err(|e| Error::backend(BACKEND, e))?;
        let out = self
            .client
            .create_table()
            .table_name(&*self.table)
            .attribute_definitions(attr)
            .key_schema(key)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        match out {
            Ok(_) => {
                tracing::info!(table = %self.table, "created the DynamoDB sessions table");
                Ok(true)
            }
            Err(e) if code(&e) == Some("ResourceInUseException") => Ok(false),
            Err(e) => Err(crate::error::sdk_error(e, self.timeout)),
        }
    }

    async fn wait_active(&self) -> Result<()> {
        let start = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(20);
        loop {
            match self.table_status().await? {
                Some(TableStatus::Active) => return Ok(()),
                Some(_) | None if start.elapsed() < ACTIVE_WAIT => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                _ => {
                    return Err(Error::Timeout {
                        backend: BACKEND,
                        after: ACTIVE_WAIT,
                    });
                }
            }
        }
    }

    async fn ensure_ttl(&self) -> Result<TtlSetup> {
        let described = self
            .client
            .describe_time_to_live()
            .table_name(&*self.table)
            .send()
            .await;
        match described {
            Ok(out) => {
                let desc = out.time_to_live_description;
                let on = desc.as_ref().is_some_and(|d| {
                    d.attribute_name() == Some(EXPIRES)
                        && matches!(
                            d.time_to_live_status(),
                            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
                        )
                });
                if on {
                    return Ok(TtlSetup::AlreadyEnabled);
                }
            }
            Err(e) if unsupported(code(&e)) => return Ok(self.ttl_unsupported()),
            Err(e) => return Err(crate::error::sdk_error(e, self.timeout)),
        }
        let spec = TimeToLiveSpecification::builder()
            .attribute_name(EXPIRES)
            .enabled(true)
            .build()
            .map_err(|e| Error::backend(BACKEND, e))?;
        match self
            .client
            .update_time_to_live()
            .table_name(&*self.table)
            .time_to_live_specification(spec)
            .send()
            .await
        {
            Ok(_) => Ok(TtlSetup::Enabled),
            Err(e) if unsupported(code(&e)) => Ok(self.ttl_unsupported()),
            // Another process enabled it between our describe and update.
            Err(e) if code(&e) == Some("ValidationException") => {
                tracing::warn!(table = %self.table, error = %e, "could not enable TTL; assuming it is already enabled");
                Ok(TtlSetup::AlreadyEnabled)
            }
            Err(e) => Err(crate::error::sdk_error(e, self.timeout)),
        }
    }

    fn ttl_unsupported(&self) -> TtlSetup {
        tracing::warn!(
            table = %self.table,
            "this DynamoDB engine does not support TTL; expired sessions stay until cleanup deletes them"
        );
        TtlSetup::Unsupported
    }
}

fn unsupported(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.contains("UnknownOperation") || c == "UnsupportedOperation")
}
