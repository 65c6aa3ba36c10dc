//! Which store a command works on, built from the same environment variables
//! as the drivers' `from_env()` (see each driver's README).

use std::sync::Arc;

use tiered_sessions::{FromEnv, Metrics, SessionStore, TieredStore};
use tiered_sessions_memory::{MemoryCache, MemoryStore};
use tiered_sessions_redis::{RedisCacheBuilder, RedisTiered};
use tiered_sessions_redis_dynamodb::{DynamoStore, DynamoStoreBuilder};
use tiered_sessions_redis_mongodb::MongoStoreBuilder;

use crate::CliError;

/// A storage configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreKind {
    /// In-process memory (a memory cache in front of a memory durable tier).
    Memory,
    /// Redis as the whole store (`TIERED_SESSIONS_REDIS_*`).
    Redis,
    /// Redis in front of DynamoDB (`TIERED_SESSIONS_REDIS_*`, `TIERED_SESSIONS_DYNAMODB_*`).
    RedisDynamodb,
    /// Redis in front of MongoDB (`TIERED_SESSIONS_REDIS_*`, `TIERED_SESSIONS_MONGODB_*`).
    RedisMongodb,
    /// DynamoDB alone, no cache.
    Dynamodb,
    /// MongoDB alone, no cache.
    Mongodb,
}

impl StoreKind {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            StoreKind::Memory => "memory",
            StoreKind::Redis => "redis",
            StoreKind::RedisDynamodb => "redis-dynamodb",
            StoreKind::RedisMongodb => "redis-mongodb",
            StoreKind::Dynamodb => "dynamodb",
            StoreKind::Mongodb => "mongodb",
        }
    }
}

/// Build the store `kind` from the environment.
///
/// # Errors
/// [`CliError::Usage`] for missing or malformed settings, [`CliError::Failure`]
/// when a service cannot be reached or its start-up check fails.
pub async fn open(kind: StoreKind) -> Result<Arc<dyn SessionStore>, CliError> {
    Ok(open_with_metrics(kind, Arc::default()).await?.store)
}

/// A store opened by [`open_with_metrics`].
pub struct Opened {
    /// The store.
    pub store: Arc<dyn SessionStore>,
    /// The DynamoDB tier, when there is one (for its consumed capacity).
    pub dynamo: Option<DynamoStore>,
}

/// Like [`open`], a two-tier store counting into `metrics`, and the DynamoDB
/// tier kept at hand.
///
/// # Errors
/// As [`open`].
pub async fn open_with_metrics(kind: StoreKind, metrics: Arc<Metrics>) -> Result<Opened, CliError> {
    let dynamo = || async { Ok::<_, CliError>(DynamoStoreBuilder::from_env()?.build().await?) };
    Ok(match kind {
        StoreKind::Memory => Opened {
            store: Arc::new(
                TieredStore::new(MemoryCache::new(), MemoryStore::new()).with_metrics(metrics),
            ),
            dynamo: None,
        },
        StoreKind::Redis => Opened {
            store: Arc::new(RedisCacheBuilder::from_env()?.build_store()?),
            dynamo: None,
        },
        StoreKind::RedisDynamodb => {
            let durable = dynamo().await?;
            Opened {
                store: Arc::new(
                    RedisTiered::from_env()?
                        .build(durable.clone())?
                        .with_metrics(metrics),
                ),
                dynamo: Some(durable),
            }
        }
        StoreKind::RedisMongodb => {
            let durable = MongoStoreBuilder::from_env()?.build().await?;
            Opened {
                store: Arc::new(
                    RedisTiered::from_env()?
                        .build(durable)?
                        .with_metrics(metrics),
                ),
                dynamo: None,
            }
        }
        StoreKind::Dynamodb => {
            let durable = dynamo().await?;
            Opened {
                store: Arc::new(durable.clone()),
                dynamo: Some(durable),
            }
        }
        StoreKind::Mongodb => Opened {
            store: Arc::new(MongoStoreBuilder::from_env()?.build().await?),
            dynamo: None,
        },
    })
}
