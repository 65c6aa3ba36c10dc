//! [`RedisCache`]: the [`CacheTier`] over Redis.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use redis::{Cmd, FromRedisValue, Script};
use tiered_sessions::codec::{decode_record, encode_record};
use tiered_sessions::{CacheOutcome, CacheTier, Error, Record, Result, StoreKey, UnixTime};

use crate::builder::RedisCacheBuilder;
use crate::connection::{Connection, ScriptCall};
use crate::layout::{self, parse_u64, ttl};
use crate::scripts::{self, FLOOR_SECS};

/// A Redis cache tier: standalone Redis or Redis Cluster.
///
/// Each session is one hash under `{prefix}{<store key>}` (the store key is the
/// cluster hash tag), expiring with the session. Reads are one `HMGET`;
/// conditional writes are one Lua script each (`EVALSHA`, loaded on first use).
/// Every call has a deadline ([`RedisCacheBuilder::call_timeout`]); connection
/// failures are [`Error::Unavailable`], deadlines [`Error::Timeout`].
///
/// Cheap to share: wrap it in an `Arc` or give it to a [`tiered_sessions::TieredStore`].
pub struct RedisCache {
    conn: Connection,
    prefix: String,
    max_record_bytes: usize,
    marker_secs: u64,
}

impl fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCache")
            .field("mode", &self.conn.mode())
            .field("prefix", &self.prefix)
            .field("call_timeout", &self.conn.call_timeout())
            .field("pool", &self.conn.pools().status())
            .finish_non_exhaustive()
    }
}

impl RedisCache {
    /// A builder for a standalone Redis at `url`.
    pub fn standalone(url: impl Into<String>) -> RedisCacheBuilder {
        RedisCacheBuilder::standalone(url)
    }

    /// A builder for a Redis Cluster reached through `urls`.
    pub fn cluster<I, S>(urls: I) -> RedisCacheBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RedisCacheBuilder::cluster(urls)
    }

    pub(crate) fn from_parts(
        conn: Connection,
        prefix: String,
        max_record_bytes: usize,
        marker_secs: u64,
    ) -> Self {
        RedisCache {
            conn,
            prefix,
            max_record_bytes,
            marker_secs,
        }
    }

    /// Whether this cache talks to a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        self.conn.is_cluster()
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    /// The deadline of one call.
    pub fn call_timeout(&self) -> Duration {
        self.conn.call_timeout()
    }

    /// The Redis key a session is cached under.
    pub fn redis_key(&self, key: &StoreKey) -> String {
        layout::redis_key(&self.prefix, key)
    }

    /// How many Redis commands this cache has sent so far (every attempt,
    /// including script loads; not the cluster client's own topology queries).
    pub fn commands_sent(&self) -> u64 {
        self.conn.commands_sent()
    }

    /// Run any command on a pooled connection, under the same deadline, error
    /// mapping and command count as the cache's own calls (for health checks,
    /// admin tools and benchmarks).
    ///
    /// # Errors
    /// [`Error::Timeout`], [`Error::Unavailable`] for connection failures and
    /// retryable server states, [`Error::Backend`] for other server errors.
    pub async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        self.conn.cmd(cmd, false).await
    }

    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Check that Redis answers (`PING`).
    ///
    /// # Errors
    /// As [`RedisCache::query`].
    pub async fn ping(&self) -> Result<()> {
        self.query::<String>(&redis::cmd("PING")).await.map(drop)
    }

    async fn script<T: FromRedisValue>(&self, call: &ScriptCall, idempotent: bool) -> Result<T> {
        self.conn.script(call, idempotent).await
    }

    fn check_size(&self, bytes: &[u8]) -> Result<()> {
        if bytes.len() > self.max_record_bytes {
            return Err(Error::TooLarge {
                size: bytes.len(),
                limit: self.max_record_bytes,
            });
        }
        Ok(())
    }

    /// A write of `record`: ARGV = now, version, bytes, expires_at, last_active, ttl.
    fn write_invocation(
        &self,
        script: &'static Script,
        key: &StoreKey,
        record: &Record,
        bytes: Vec<u8>,
        now: UnixTime,
    ) -> ScriptCall {
        let mut inv = ScriptCall::new(script, self.redis_key(key));
        inv.arg(now)
            .arg(record.version)
            .arg(bytes)
            .arg(record.expires_at)
            .arg(record.last_active)
            .arg(ttl(record.expires_at, now));
        inv
    }
}

/// The fields `HMGET key r e l x v` returns.
type Fields = (
    Option<Vec<u8>>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

impl RedisCache {
    /// Drop the cached record unless it is newer than `unless_above`, leaving
    /// a floor at `floor` (empty: at the dropped record's version).
    async fn drop_record(
        &self,
        key: &StoreKey,
        unless_above: u64,
        floor: &str,
    ) -> Result<CacheOutcome> {
        let mut inv = ScriptCall::new(&scripts::INVALIDATE, self.redis_key(key));
        inv.arg(unless_above).arg(floor).arg(FLOOR_SECS);
        match self.script::<i64>(&inv, true).await? {
            0 => Ok(CacheOutcome::Conflict),
            _ => Ok(CacheOutcome::Done),
        }
    }

    /// An entry that cannot be served (over the size limit, or a `v` field
    /// other than its record's version, which would make every compare fail):
    /// a miss, and the entry is dropped so the next read refills it.
    async fn drop_unusable(
        &self,
        key: &StoreKey,
        v: Option<String>,
        why: &'static str,
    ) -> Result<Option<Record>> {
        tracing::warn!(%key, why, "unusable session cache entry dropped");
        let mut inv = ScriptCall::new(&scripts::DROP_UNUSABLE, self.redis_key(key));
        inv.arg(v.unwrap_or_default());
        self.script::<i64>(&inv, true).await?;
        Ok(None)
    }
}

#[async_trait]
impl CacheTier for RedisCache {
    fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    async fn get(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(self.redis_key(key)).arg(&["r", "e", "l", "x", "v"]);
        let (bytes, expires_at, last_active, marker, v): Fields = self.conn.cmd(&cmd, true).await?;
        let (Some(bytes), None) = (bytes, marker) else {
            return Ok(None);
        };
        if bytes.len() > self.max_record_bytes {
            return self
                .drop_unusable(key, v, "over the record size limit")
                .await;
        }
        let mut record = decode_record(&bytes)?;
        if v.as_deref() != Some(record.version.to_string().as_str()) {
            return self
                .drop_unusable(key, v, "version field disagrees with the record")
                .await;
        }
        // `touch` updates these two fields without rewriting the record.
        if let Some(e) = expires_at {
            record.expires_at = parse_u64("e", &e)?;
        }
        if let Some(l) = last_active {
            record.last_active = parse_u64("l", &l)?;
        }
        Ok((!record.is_expired(now)).then_some(record))
    }

    async fn put_if_newer(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()> {
        if record.is_expired(now) {
            return Ok(());
        }
        let bytes = encode_record(record);
        self.check_size(&bytes)?;
        let inv = self.write_invocation(&scripts::PUT_IF_NEWER, key, record, bytes, now);
        self.script::<i64>(&inv, true).await.map(drop)
    }

    async fn compare_and_swap(
        &self,
        key: &StoreKey,
        record: &Record,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<CacheOutcome> {
        let bytes = encode_record(record);
        self.check_size(&bytes)?;
        let mut inv = self.write_invocation(&scripts::COMPARE_AND_SWAP, key, record, bytes, now);
        inv.arg(expected_version);
        // Not retried: a swap whose answer was lost would come back as Conflict.
        match self.script::<i64>(&inv, false).await? {
            1 => Ok(CacheOutcome::Done),
            2 => Ok(CacheOutcome::Conflict),
            0 => Ok(CacheOutcome::Missing),
            other => Err(Error::backend(
                "redis",
                format!("unexpected compare-and-swap reply {other}"),
            )),
        }
    }

    async fn invalidate(
        &self,
        key: &StoreKey,
        expected_version: u64,
        _now: UnixTime,
    ) -> Result<CacheOutcome> {
        // Before a durable save of `expected + 1`: refuse older refills until then.
        let floor = expected_version.saturating_add(1).to_string();
        self.drop_record(key, expected_version, &floor).await
    }

    async fn evict(&self, key: &StoreKey, _now: UnixTime) -> Result<()> {
        // No version condition, and the floor is the dropped record's own.
        self.drop_record(key, u64::MAX, "").await.map(drop)
    }

    async fn delete(&self, key: &StoreKey, now: UnixTime) -> Result<()> {
        let mut inv = ScriptCall::new(&scripts::DELETE, self.redis_key(key));
        inv.arg(now.saturating_add(self.marker_secs))
            .arg(self.marker_secs);
        self.script::<i64>(&inv, true).await.map(drop)
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: UnixTime,
        last_active: UnixTime,
        now: UnixTime,
    ) -> Result<()> {
        let mut inv = ScriptCall::new(&scripts::TOUCH, self.redis_key(key));
        inv.arg(now)
            .arg(expires_at)
            .arg(last_active)
            .arg(ttl(expires_at, now));
        self.script::<i64>(&inv, true).await.map(drop)
    }
}
