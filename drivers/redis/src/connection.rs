//! [`Connection`]: the one way the cache and the store talk to Redis — a
//! deadline on every call, the error mapping, the command count, and one
//! retry of an idempotent call on a fresh connection.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::{Cmd, FromRedisValue, Script, ToRedisArgs};
use tiered_sessions::{Error, Result};

use crate::error::into_error;
use crate::pool::{Call, CallError, Pools};

/// Shared by [`crate::RedisCache`] and [`crate::RedisStore`].
pub(crate) struct Connection {
    pools: Pools,
    call_timeout: Duration,
    commands: Arc<AtomicU64>,
}

impl Connection {
    pub(crate) fn new(pools: Pools, call_timeout: Duration, commands: Arc<AtomicU64>) -> Self {
        Connection {
            pools,
            call_timeout,
            commands,
        }
    }

    pub(crate) fn is_cluster(&self) -> bool {
        self.pools.is_cluster()
    }

    pub(crate) fn mode(&self) -> &'static str {
        if self.is_cluster() {
            "cluster"
        } else {
            "standalone"
        }
    }

    pub(crate) fn call_timeout(&self) -> Duration {
        self.call_timeout
    }

    pub(crate) fn commands_sent(&self) -> u64 {
        self.commands.load(Ordering::Relaxed)
    }

    pub(crate) fn pools(&self) -> &Pools {
        &self.pools
    }

    /// Run `call` under the deadline. A pooled connection may have died with
    /// the server (restart, failover): an idempotent call gets one more go on
    /// a fresh one, within the same deadline.
    pub(crate) async fn run<T: FromRedisValue>(
        &self,
        call: Call<'_>,
        idempotent: bool,
    ) -> Result<T> {
        self.deadline(async {
            match self.pools.call(&call).await {
                Err(CallError::Redis(e)) if idempotent && crate::pool::connection_failed(&e) => {
                    tracing::debug!(error = %e, "redis connection lost; retrying once on a new one");
                    self.pools
                        .call(&call)
                        .await
                        .map_err(|e| into_error(e, self.call_timeout))
                }
                other => other.map_err(|e| into_error(e, self.call_timeout)),
            }
        })
        .await
    }

    pub(crate) async fn cmd<T: FromRedisValue>(&self, cmd: &Cmd, idempotent: bool) -> Result<T> {
        self.run(Call::Cmd(cmd), idempotent).await
    }

    pub(crate) async fn script<T: FromRedisValue>(
        &self,
        call: &ScriptCall,
        idempotent: bool,
    ) -> Result<T> {
        self.run(Call::Script(call), idempotent).await
    }

    /// Fail with [`Error::Timeout`] once the call deadline has passed.
    pub(crate) async fn deadline<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        match tokio::time::timeout(self.call_timeout, fut).await {
            Ok(out) => out,
            Err(_) => Err(Error::Timeout {
                backend: "redis",
                after: self.call_timeout,
            }),
        }
    }
}

/// One `EVALSHA` of a one-key script, its arguments written straight into
/// the command that is sent (a `ScriptInvocation` would copy them twice).
/// The script is loaded (`SCRIPT LOAD`) when Redis answers `NOSCRIPT`.
pub(crate) struct ScriptCall {
    pub(crate) script: &'static Script,
    pub(crate) cmd: Cmd,
}

impl ScriptCall {
    pub(crate) fn new(script: &'static Script, key: impl ToRedisArgs) -> Self {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(script.get_hash()).arg(1).arg(key);
        ScriptCall { script, cmd }
    }

    pub(crate) fn arg(&mut self, arg: impl ToRedisArgs) -> &mut Self {
        self.cmd.arg(arg);
        self
    }
}
