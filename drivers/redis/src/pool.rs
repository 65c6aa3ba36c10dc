//! Connection pools for standalone Redis and Redis Cluster.
//!
//! The pool is deadpool's, with our own manager: deadpool-redis's stock
//! manager sends `PING` (and `UNWATCH`) on every checkout, which would double
//! the round trips of a request that needs one command. Ours checks nothing on
//! checkout and drops a connection instead when a call on it failed at the
//! connection level or was abandoned (cancelled by the deadline).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use deadpool_redis::redis::aio::{ConnectionLike, MultiplexedConnection};
use deadpool_redis::redis::cluster::ClusterClient;
use deadpool_redis::redis::cluster_async::ClusterConnection;
use deadpool_redis::redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use deadpool_redis::redis::{
    self, AsyncConnectionConfig, Client, Cmd, FromRedisValue, Pipeline, RedisError, RedisFuture,
    ScriptInvocation, Value,
};

/// A pooled connection that counts the commands sent through it and remembers
/// whether it may be reused.
pub(crate) struct Counted<C> {
    conn: C,
    /// Set before each call and cleared when the call ends cleanly, so a call
    /// cancelled half-way (by the deadline) leaves the connection marked too.
    pub(crate) suspect: bool,
    commands: Arc<AtomicU64>,
}

impl<C: ConnectionLike + Send> ConnectionLike for Counted<C> {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        self.commands.fetch_add(1, Ordering::Relaxed);
        self.conn.req_packed_command(cmd)
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        self.commands
            .fetch_add(pipeline.len() as u64, Ordering::Relaxed);
        self.conn.req_packed_commands(pipeline, offset, count)
    }

    fn get_db(&self) -> i64 {
        self.conn.get_db()
    }
}

fn recycle_checked<C>(conn: &Counted<C>) -> RecycleResult<RedisError> {
    if conn.suspect {
        Err(RecycleError::message(
            "a call on this connection failed or was cancelled",
        ))
    } else {
        Ok(())
    }
}

pub(crate) struct SingleManager {
    pub(crate) client: Client,
    pub(crate) config: AsyncConnectionConfig,
    pub(crate) commands: Arc<AtomicU64>,
}

impl managed::Manager for SingleManager {
    type Type = Counted<MultiplexedConnection>;
    type Error = RedisError;

    async fn create(&self) -> Result<Self::Type, RedisError> {
        let conn = self
            .client
            .get_multiplexed_async_connection_with_config(&self.config)
            .await?;
        Ok(Counted {
            conn,
            suspect: false,
            commands: self.commands.clone(),
        })
    }

    async fn recycle(&self, conn: &mut Self::Type, _: &Metrics) -> RecycleResult<RedisError> {
        recycle_checked(conn)
    }
}

pub(crate) struct ClusterManager {
    pub(crate) client: ClusterClient,
    pub(crate) commands: Arc<AtomicU64>,
}

impl managed::Manager for ClusterManager {
    type Type = Counted<ClusterConnection>;
    type Error = RedisError;

    async fn create(&self) -> Result<Self::Type, RedisError> {
        let conn = self.client.get_async_connection().await?;
        Ok(Counted {
            conn,
            suspect: false,
            commands: self.commands.clone(),
        })
    }

    async fn recycle(&self, conn: &mut Self::Type, _: &Metrics) -> RecycleResult<RedisError> {
        recycle_checked(conn)
    }
}

/// One request to Redis: a plain command or a script.
pub(crate) enum Call<'a> {
    Cmd(&'a Cmd),
    Script(&'a ScriptInvocation<'static>),
    /// A keyless command for one cluster node (`SCAN` of that node); on
    /// standalone Redis, a plain command.
    OnNode(&'a Cmd, &'a NodeAddr),
}

/// A cluster node's address, as `CLUSTER SLOTS` announces it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct NodeAddr {
    pub(crate) host: String,
    pub(crate) port: u16,
}

/// Why a call failed before or while it reached Redis.
#[derive(Debug)]
pub(crate) enum CallError {
    /// No connection could be had from the pool.
    Pool(managed::PoolError<RedisError>),
    /// Redis (or the connection to it) answered with an error.
    Redis(RedisError),
}

pub(crate) enum Pools {
    Single(managed::Pool<SingleManager>),
    Cluster(managed::Pool<ClusterManager>),
}

impl Pools {
    pub(crate) async fn call<T: FromRedisValue>(&self, call: &Call<'_>) -> Result<T, CallError> {
        let out = match self {
            Pools::Single(pool) => {
                let mut conn = pool.get().await.map_err(CallError::Pool)?;
                run(&mut conn, call).await
            }
            Pools::Cluster(pool) => {
                let mut conn = pool.get().await.map_err(CallError::Pool)?;
                match call {
                    Call::OnNode(cmd, node) => run_on_node(&mut conn, cmd, node).await,
                    _ => run(&mut conn, call).await,
                }
            }
        };
        if let Err(CallError::Redis(e)) = &out
            && connection_failed(e)
        {
            // The idle connections most likely died the same way (a
            // restarted server): drop them rather than fail on each.
            self.drop_idle();
        }
        out
    }

    fn drop_idle(&self) {
        match self {
            Pools::Single(pool) => drop(pool.retain(|_, _| false)),
            Pools::Cluster(pool) => drop(pool.retain(|_, _| false)),
        }
    }

    pub(crate) fn status(&self) -> managed::Status {
        match self {
            Pools::Single(pool) => pool.status(),
            Pools::Cluster(pool) => pool.status(),
        }
    }
}

async fn run<C, T>(conn: &mut Counted<C>, call: &Call<'_>) -> Result<T, CallError>
where
    C: ConnectionLike + Send,
    T: FromRedisValue,
{
    conn.suspect = true;
    let out = match call {
        Call::Cmd(cmd) | Call::OnNode(cmd, _) => cmd.query_async(conn).await,
        Call::Script(script) => script.invoke_async(conn).await,
    };
    conn.suspect = match &out {
        Ok(_) => false,
        Err(e) => connection_failed(e),
    };
    out.map_err(CallError::Redis)
}

async fn run_on_node<T: FromRedisValue>(
    conn: &mut Counted<ClusterConnection>,
    cmd: &Cmd,
    node: &NodeAddr,
) -> Result<T, CallError> {
    conn.suspect = true;
    conn.commands.fetch_add(1, Ordering::Relaxed);
    let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
        host: node.host.clone(),
        port: node.port,
    });
    let out = conn.conn.route_command(cmd.clone(), routing).await;
    conn.suspect = match &out {
        Ok(_) => false,
        Err(e) => connection_failed(e),
    };
    let value = out.map_err(CallError::Redis)?;
    redis::from_redis_value(value).map_err(|e| CallError::Redis(e.into()))
}

/// Whether the error means the connection itself is no longer usable.
pub(crate) fn connection_failed(e: &RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_unrecoverable_error()
}
