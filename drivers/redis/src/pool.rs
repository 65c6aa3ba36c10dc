//! Shared, multiplexed connections for standalone Redis and Redis Cluster.
//!
//! Concurrent requests share connections instead of checking one out each:
//! a redis-rs `MultiplexedConnection` (or cluster connection) pipelines every
//! command sent through its clones, so 64 requests in flight cost a handful of
//! socket writes and reads rather than 64 of each. Requests are spread round
//! robin over `size` connections (default 1, which measures best here: see the
//! README's "Connections" section).
//!
//! A connection is made on first use (one at a time per slot, however many
//! requests wait for it), checked by nothing per request (no `PING`), and
//! dropped when a call on it fails at the connection level or runs past its
//! deadline, so the next call connects afresh: that is how a restarted or
//! replaced server is picked up.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{
    AsyncConnectionConfig, Client, Cmd, ErrorKind, FromRedisValue, Pipeline, RedisError,
    RedisFuture, ServerErrorKind, Value,
};

use crate::connection::ScriptCall;

/// A connection that counts the commands sent through it.
#[derive(Clone)]
pub(crate) struct Counted<C> {
    conn: C,
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

/// How to open a connection of one kind.
pub(crate) enum Connector {
    Single {
        client: Client,
        config: AsyncConnectionConfig,
    },
    Cluster {
        client: ClusterClient,
        /// Over TLS: a plain client of the first node, to find out why the
        /// cluster could not connect (the cluster client keeps only the text
        /// of a refused handshake, not the rustls error).
        tls_probe: Option<Box<(Client, AsyncConnectionConfig)>>,
    },
}

#[derive(Clone)]
enum Conn {
    Single(Counted<MultiplexedConnection>),
    Cluster(Counted<ClusterConnection>),
}

/// One shared connection and its generation (so a failure on an old one
/// never drops its replacement).
struct Slot {
    current: Mutex<Option<(u64, Conn)>>,
    /// Held while connecting: one connection attempt at a time per slot.
    connecting: tokio::sync::Mutex<()>,
}

/// Every connection of one Redis (standalone or cluster).
pub(crate) struct Pools {
    connector: Connector,
    slots: Vec<Slot>,
    next: AtomicUsize,
    generation: AtomicU64,
    commands: Arc<AtomicU64>,
}

/// One request to Redis: a plain command or a script.
pub(crate) enum Call<'a> {
    Cmd(&'a Cmd),
    Script(&'a ScriptCall),
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
    /// No connection could be made.
    Connect(RedisError),
    /// Redis (or the connection to it) answered with an error.
    Redis(RedisError),
}

/// Drops the connection of generation `gen` unless disarmed: armed for the
/// length of a call, so a call cancelled by its deadline drops it too.
struct DropOnFailure<'a> {
    pools: &'a Pools,
    slot: &'a Slot,
    generation: u64,
    armed: bool,
}

impl Drop for DropOnFailure<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.pools.invalidate(self.slot, self.generation);
        }
    }
}

impl Pools {
    pub(crate) fn new(connector: Connector, size: usize, commands: Arc<AtomicU64>) -> Self {
        Pools {
            connector,
            slots: (0..size.max(1))
                .map(|_| Slot {
                    current: Mutex::new(None),
                    connecting: tokio::sync::Mutex::new(()),
                })
                .collect(),
            next: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
            commands,
        }
    }

    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self.connector, Connector::Cluster { .. })
    }

    /// How many connections are open now, and how many may be.
    pub(crate) fn status(&self) -> (usize, usize) {
        let open = self
            .slots
            .iter()
            .filter(|s| lock(&s.current).is_some())
            .count();
        (open, self.slots.len())
    }

    pub(crate) async fn call<T: FromRedisValue>(&self, call: &Call<'_>) -> Result<T, CallError> {
        let slot = self.pick();
        let (generation, conn) = self.connection(slot).await?;
        let mut guard = DropOnFailure {
            pools: self,
            slot,
            generation,
            armed: true,
        };
        let out = match conn {
            Conn::Single(mut c) => run(&mut c, call).await,
            Conn::Cluster(mut c) => match call {
                Call::OnNode(cmd, node) => run_on_node(&mut c, cmd, node).await,
                _ => run(&mut c, call).await,
            },
        };
        guard.armed = matches!(&out, Err(e) if connection_failed(e) || e.is_timeout());
        out.map_err(CallError::Redis)
    }

    fn pick(&self) -> &Slot {
        let i = if self.slots.len() == 1 {
            0
        } else {
            self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len()
        };
        &self.slots[i]
    }

    async fn connection(&self, slot: &Slot) -> Result<(u64, Conn), CallError> {
        if let Some(c) = lock(&slot.current).clone() {
            return Ok(c);
        }
        let _connecting = slot.connecting.lock().await;
        if let Some(c) = lock(&slot.current).clone() {
            return Ok(c);
        }
        let commands = self.commands.clone();
        let conn = match &self.connector {
            Connector::Single { client, config } => Conn::Single(Counted {
                conn: client
                    .get_multiplexed_async_connection_with_config(config)
                    .await
                    .map_err(CallError::Connect)?,
                commands,
            }),
            Connector::Cluster { client, tls_probe } => Conn::Cluster(Counted {
                conn: match client.get_async_connection().await {
                    Ok(conn) => conn,
                    Err(e) => return Err(CallError::Connect(diagnose(tls_probe, e).await)),
                },
                commands,
            }),
        };
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        *lock(&slot.current) = Some((generation, conn.clone()));
        Ok((generation, conn))
    }

    fn invalidate(&self, slot: &Slot, generation: u64) {
        let mut current = lock(&slot.current);
        if matches!(&*current, Some((g, _)) if *g == generation) {
            *current = None;
        }
    }
}

/// Why a cluster connection failed: the probe's TLS error when a TLS
/// handshake is what failed, else `e` as it is.
async fn diagnose(
    probe: &Option<Box<(Client, AsyncConnectionConfig)>>,
    e: RedisError,
) -> RedisError {
    let Some(probe) = probe else {
        return e;
    };
    let (client, config) = &**probe;
    match client
        .get_multiplexed_async_connection_with_config(config)
        .await
    {
        Err(refused) if is_tls_refusal(&refused) => refused,
        _ => e,
    }
}

#[cfg(feature = "tls")]
fn is_tls_refusal(e: &RedisError) -> bool {
    crate::tls::rustls_error(e).is_some()
}

#[cfg(not(feature = "tls"))]
fn is_tls_refusal(_: &RedisError) -> bool {
    false
}

/// The slot's lock holds no invariant a panic could break (one assignment).
fn lock(m: &Mutex<Option<(u64, Conn)>>) -> std::sync::MutexGuard<'_, Option<(u64, Conn)>> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn run<C, T>(conn: &mut Counted<C>, call: &Call<'_>) -> Result<T, RedisError>
where
    C: ConnectionLike + Send,
    T: FromRedisValue,
{
    match call {
        Call::Cmd(cmd) | Call::OnNode(cmd, _) => cmd.query_async(conn).await,
        Call::Script(script) => match script.cmd.query_async(conn).await {
            Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                script.script.load_async(conn).await?;
                script.cmd.query_async(conn).await
            }
            other => other,
        },
    }
}

async fn run_on_node<T: FromRedisValue>(
    conn: &mut Counted<ClusterConnection>,
    cmd: &Cmd,
    node: &NodeAddr,
) -> Result<T, RedisError> {
    conn.commands.fetch_add(1, Ordering::Relaxed);
    let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
        host: node.host.clone(),
        port: node.port,
    });
    let value = conn.conn.route_command(cmd.clone(), routing).await?;
    Ok(redis::from_redis_value(value)?)
}

/// Whether the error means the connection itself is no longer usable.
pub(crate) fn connection_failed(e: &RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_unrecoverable_error()
}
