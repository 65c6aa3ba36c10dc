//! [`RedisCache`]: the [`CacheTier`] over Redis.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use redis::{Cmd, FromRedisValue, Script};
use tiered_sessions::{CacheOutcome, CacheTier, Error, Record, Result, StoreKey, UnixTime};

use crate::builder::RedisCacheBuilder;
use crate::connection::{Connection, ScriptCall};
use crate::error::is_wrong_type;
use crate::layout::{self, ttl};
use crate::scripts;
use crate::store_value::{self, be, be_pair};

/// A Redis cache tier: standalone Redis or Redis Cluster.
///
/// Each session is one STRING under `{prefix}{<store key>}` (the store key is
/// the cluster hash tag), expiring with the session: the record as a
/// [`crate::RedisStore`] keeps it (a 32-byte header then the data), or a short
/// deletion marker or version floor. Reads are one `GET`; a delete one `SET`;
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

    /// A write of `record`: ARGV = now and `n` (16 bytes), the value, ttl.
    fn write(
        &self,
        script: &'static Script,
        key: &StoreKey,
        record: &Record,
        n: u64,
        now: UnixTime,
    ) -> Result<ScriptCall> {
        let value = store_value::encode(record, self.max_record_bytes)?;
        let mut inv = ScriptCall::new(script, self.redis_key(key));
        inv.arg(&be_pair(now, n)[..])
            .arg(value)
            .arg(ttl(record.expires_at, now));
        Ok(inv)
    }

    /// A value the scripts take for a record but that cannot be served (over
    /// the size limit, shorter than a record's header, data that does not
    /// decode): a miss, and the entry is dropped so the next write replaces
    /// it — unless it was rewritten or touched since.
    async fn drop_unusable(
        &self,
        key: &StoreKey,
        value: &[u8],
        why: &Error,
    ) -> Result<Option<Record>> {
        tracing::warn!(%key, error = %why, "unusable session cache entry dropped");
        let mut inv = ScriptCall::new(&scripts::DROP_UNUSABLE, self.redis_key(key));
        inv.arg(&value[..value.len().min(store_value::HEADER)]);
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
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.redis_key(key));
        let value: Option<Vec<u8>> = match self.conn.cmd(&cmd, true).await {
            Ok(value) => value,
            // Another type (a HASH of this crate's earlier layout): a miss,
            // which the next write replaces.
            Err(e) if is_wrong_type(&e) => None,
            Err(e) => return Err(e),
        };
        // Nothing, a deletion marker, a version floor, or a string too short
        // for the scripts to take for a record: a miss.
        let Some(value) = value.filter(|v| v.len() >= scripts::READ_BY_SCRIPTS) else {
            return Ok(None);
        };
        match store_value::decode(&value, self.max_record_bytes, now) {
            Ok(record) => Ok(record),
            Err(e) => self.drop_unusable(key, &value, &e).await,
        }
    }

    async fn put_if_newer(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()> {
        if record.is_expired(now) {
            return Ok(());
        }
        let inv = self.write(&scripts::PUT_IF_NEWER, key, record, record.version, now)?;
        self.script::<i64>(&inv, true).await.map(drop)
    }

    async fn compare_and_swap(
        &self,
        key: &StoreKey,
        record: &Record,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<CacheOutcome> {
        let inv = self.write(
            &scripts::COMPARE_AND_SWAP,
            key,
            record,
            expected_version,
            now,
        )?;
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
        let floor = expected_version.saturating_add(1);
        let mut inv = ScriptCall::new(&scripts::INVALIDATE, self.redis_key(key));
        inv.arg(&be_pair(expected_version, floor)[..]);
        match self.script::<i64>(&inv, true).await? {
            0 => Ok(CacheOutcome::Conflict),
            _ => Ok(CacheOutcome::Done),
        }
    }

    async fn evict(&self, key: &StoreKey, _now: UnixTime) -> Result<()> {
        let inv = ScriptCall::new(&scripts::EVICT, self.redis_key(key));
        self.script::<i64>(&inv, true).await.map(drop)
    }

    async fn delete(&self, key: &StoreKey, now: UnixTime) -> Result<()> {
        let marker = scripts::marker(now.saturating_add(self.marker_secs));
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.redis_key(key))
            .arg(&marker[..])
            .arg("EX")
            .arg(self.marker_secs);
        self.conn.cmd::<()>(&cmd, true).await
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: UnixTime,
        last_active: UnixTime,
        now: UnixTime,
    ) -> Result<()> {
        let mut inv = ScriptCall::new(&scripts::TOUCH, self.redis_key(key));
        inv.arg(&be(now)[..])
            .arg(&be_pair(expires_at, last_active)[..])
            .arg(ttl(expires_at, now));
        self.script::<i64>(&inv, true).await.map(drop)
    }
}
