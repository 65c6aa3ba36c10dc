//! [`RedisStore`]: Redis as the whole session store.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use redis::{Cmd, FromRedisValue, Value};
use tiered_sessions::{
    CleanupBatch, CleanupCursor, Durability, Error, PrincipalIndex, Record, Result, SessionStore,
    StoreKey, UnixTime,
};

use crate::builder::RedisCacheBuilder;
use crate::connection::{Connection, ScriptCall};
use crate::error::not_a_store_record;
use crate::layout::{self, ttl};
use crate::store_scripts;
use crate::store_value::{self, be, be_pair};

/// Redis (standalone or Cluster) as the whole session store, with no durable
/// tier behind it — the usual tower-sessions / actix-session deployment.
/// Build it with [`RedisCacheBuilder::build_store`] (or
/// [`RedisStore::standalone`] / [`RedisStore::cluster`]).
///
/// Each session is one STRING under `{prefix}{<store key>}` (the store key is
/// the cluster hash tag): a 32-byte header (version, expiry, last activity,
/// creation, each a big-endian u64) then the session data. Its TTL is the
/// session's remaining lifetime (at least 1 s). A read is one `GET`; a new
/// session one `SET … NX EX`; `save`, `delete_unless_newer` and `touch` are
/// one Lua script each (`EVALSHA`), atomic on the server; `delete` is one
/// `DEL`. So a request that reads a session costs one Redis command, one that
/// changes it two, and a new session one.
///
/// Expiry is decided by the caller's `now`, never by Redis's clock: a record
/// at or past its `expires_at` is never returned nor saved over, even while
/// Redis still holds it. Records above the record limit are refused with
/// [`Error::TooLarge`] before anything is sent, and a stored one above it is a
/// [`Error::Codec`] error, never decoded.
///
/// Durability is Redis's: see the crate README ("Redis as a whole store").
pub struct RedisStore {
    conn: Connection,
    prefix: String,
    max_record_bytes: usize,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("mode", &self.conn.mode())
            .field("prefix", &self.prefix)
            .field("call_timeout", &self.conn.call_timeout())
            .field("max_record_bytes", &self.max_record_bytes)
            .field("pool", &self.conn.pools().status())
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A builder for a store on a standalone Redis at `url`; finish it with
    /// [`RedisCacheBuilder::build_store`].
    pub fn standalone(url: impl Into<String>) -> RedisCacheBuilder {
        RedisCacheBuilder::standalone(url)
    }

    /// A builder for a store on a Redis Cluster reached through `urls`;
    /// finish it with [`RedisCacheBuilder::build_store`].
    pub fn cluster<I, S>(urls: I) -> RedisCacheBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RedisCacheBuilder::cluster(urls)
    }

    pub(crate) fn from_parts(conn: Connection, prefix: String, max_record_bytes: usize) -> Self {
        RedisStore {
            conn,
            prefix,
            max_record_bytes,
        }
    }

    /// Whether this store talks to a Redis Cluster.
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

    /// The Redis key a session is stored under.
    pub fn redis_key(&self, key: &StoreKey) -> String {
        layout::redis_key(&self.prefix, key)
    }

    /// How many Redis commands this store has sent so far (every attempt,
    /// including script loads; not the cluster client's own topology queries).
    pub fn commands_sent(&self) -> u64 {
        self.conn.commands_sent()
    }

    /// Run any command on a pooled connection, under the same deadline, error
    /// mapping and command count as the store's own calls (for health checks,
    /// admin tools and benchmarks).
    ///
    /// # Errors
    /// [`Error::Timeout`], [`Error::Unavailable`] for connection failures and
    /// retryable server states, [`Error::Backend`] for other server errors.
    pub async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        self.conn.cmd(cmd, false).await
    }

    /// Check that Redis answers (`PING`).
    ///
    /// # Errors
    /// As [`RedisStore::query`].
    pub async fn ping(&self) -> Result<()> {
        self.query::<String>(&redis::cmd("PING")).await.map(drop)
    }

    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// A conditional write's reply: 1 done, 0 no live record, 2 newer stored.
    fn outcome(reply: i64, what: &str) -> Result<()> {
        match reply {
            1 => Ok(()),
            0 => Err(Error::NotFound),
            2 => Err(Error::Conflict),
            other => Err(Error::backend(
                "redis",
                format!("unexpected {what} reply {other}"),
            )),
        }
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.redis_key(key));
        let value: Option<Vec<u8>> = self
            .conn
            .cmd(&cmd, true)
            .await
            .map_err(not_a_store_record)?;
        match value {
            Some(value) => store_value::decode(&value, self.max_record_bytes, now),
            None => Ok(None),
        }
    }

    async fn create(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()> {
        let value = store_value::encode(record, self.max_record_bytes)?;
        let redis_key = self.redis_key(key);
        let ttl = ttl(record.expires_at, now);
        // The common case, a key nobody holds, needs no script.
        let mut cmd = redis::cmd("SET");
        cmd.arg(&redis_key).arg(&value).arg("NX").arg("EX").arg(ttl);
        // Not retried (nor the script): a create whose answer was lost would
        // come back as AlreadyExists (its own record).
        match self.conn.cmd::<Value>(&cmd, false).await? {
            Value::Okay => return Ok(()),
            Value::Nil => {}
            other => {
                return Err(Error::backend(
                    "redis",
                    format!("unexpected SET NX reply {other:?}"),
                ));
            }
        }
        // A key is there: replace it only if it is no live record at `now`
        // (the caller's clock may have passed an expiry Redis has not).
        let mut inv = ScriptCall::new(&store_scripts::CREATE, redis_key);
        inv.arg(&be(now)[..]).arg(&value).arg(ttl);
        match self
            .conn
            .script::<i64>(&inv, false)
            .await
            .map_err(not_a_store_record)?
        {
            1 => Ok(()),
            0 => Err(Error::AlreadyExists),
            other => Err(Error::backend(
                "redis",
                format!("unexpected create reply {other}"),
            )),
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
        let value = store_value::encode(record, self.max_record_bytes)?;
        let mut inv = ScriptCall::new(&store_scripts::SAVE, self.redis_key(key));
        inv.arg(&be_pair(now, expected_version)[..])
            .arg(value)
            .arg(ttl(record.expires_at, now));
        // Not retried: a save whose answer was lost would come back as Conflict.
        let reply = self
            .conn
            .script::<i64>(&inv, false)
            .await
            .map_err(not_a_store_record)?;
        Self::outcome(reply, "save")
    }

    async fn delete(&self, key: &StoreKey, _now: UnixTime) -> Result<()> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.redis_key(key));
        self.conn.cmd::<i64>(&cmd, true).await.map(drop)
    }

    async fn delete_unless_newer(
        &self,
        key: &StoreKey,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<()> {
        let mut inv = ScriptCall::new(&store_scripts::DELETE_UNLESS_NEWER, self.redis_key(key));
        inv.arg(&be_pair(now, expected_version)[..]);
        // Not retried: one whose answer was lost would come back as NotFound.
        let reply = self
            .conn
            .script::<i64>(&inv, false)
            .await
            .map_err(not_a_store_record)?;
        Self::outcome(reply, "conditional delete")
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: UnixTime,
        last_active: UnixTime,
        now: UnixTime,
    ) -> Result<()> {
        let mut inv = ScriptCall::new(&store_scripts::TOUCH, self.redis_key(key));
        inv.arg(&be(now)[..])
            .arg(&be_pair(expires_at, last_active)[..])
            .arg(ttl(expires_at, now));
        let reply = self
            .conn
            .script::<i64>(&inv, true)
            .await
            .map_err(not_a_store_record)?;
        Self::outcome(reply, "touch")
    }

    async fn delete_expired(
        &self,
        now: UnixTime,
        max: usize,
        cursor: Option<CleanupCursor>,
    ) -> Result<CleanupBatch> {
        crate::cleanup::delete_expired(self, now, max, cursor).await
    }

    fn principal_index(&self) -> Option<&dyn PrincipalIndex> {
        Some(self)
    }
}
