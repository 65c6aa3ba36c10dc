//! Read-only checks of the Redis behind a [`RedisCache`] or a [`RedisStore`],
//! node by node: round trip, persistence, eviction policy and clock. For
//! `tiered-sessions doctor` and health tooling; nothing is written.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redis::{Cmd, FromRedisValue};
use tiered_sessions::{Error, Result};

use crate::cache::RedisCache;
use crate::connection::Connection;
use crate::pool::{Call, NodeAddr};
use crate::store::RedisStore;

/// One Redis node as [`RedisCache::diagnose`] or [`RedisStore::diagnose`] found it.
#[derive(Debug)]
#[non_exhaustive]
pub struct NodeReport {
    /// `host:port` of a cluster node (as `CLUSTER SLOTS` announces it), or
    /// `standalone`.
    pub node: String,
    /// Whether `CLUSTER SLOTS` lists it as a primary (always true for a
    /// standalone server; its `INFO` role is in [`NodeState::role`]).
    pub primary: bool,
    /// What the node answered, or why it could not be asked.
    pub state: Result<NodeState>,
}

/// The settings and clock of one Redis node.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeState {
    /// The round trip of each `PING` (a first one, which may open the
    /// connection, is sent and not counted).
    pub round_trips: Vec<Duration>,
    /// `redis_version` from `INFO` (Valkey reports a Redis-compatible one).
    pub version: String,
    /// `role` from `INFO`: `master` or `slave`.
    pub role: String,
    /// Whether the append-only file is on (`aof_enabled` from `INFO`).
    pub aof_enabled: bool,
    /// `appendfsync` (`CONFIG GET`); `None` where `CONFIG` is refused
    /// (managed services such as ElastiCache).
    pub appendfsync: Option<String>,
    /// The RDB save points (`CONFIG GET save`; empty when snapshots are
    /// off); `None` where `CONFIG` is refused.
    pub rdb_save: Option<String>,
    /// `maxmemory_policy` from `INFO`.
    pub maxmemory_policy: String,
    /// `maxmemory` from `INFO`, in bytes (0: no limit).
    pub maxmemory: u64,
    /// The node's clock (`TIME`) minus this machine's at the middle of that
    /// round trip, in milliseconds.
    pub clock_offset_ms: i64,
}

impl RedisCache {
    /// Check every node this cache uses (each primary and replica of a
    /// cluster, or the standalone server): `pings` timed `PING`s, then `INFO`, `CONFIG GET`
    /// of `save` and `appendfsync` (tolerating a server that refuses
    /// `CONFIG`) and `TIME`. Read-only.
    ///
    /// # Errors
    /// As [`RedisCache::query`], when a cluster's node list (`CLUSTER SLOTS`)
    /// cannot be had; a node that fails is reported in its [`NodeReport`].
    pub async fn diagnose(&self, pings: usize) -> Result<Vec<NodeReport>> {
        diagnose(self.connection(), pings).await
    }
}

impl RedisStore {
    /// Check every node this store uses; see [`RedisCache::diagnose`].
    ///
    /// # Errors
    /// As [`RedisCache::diagnose`].
    pub async fn diagnose(&self, pings: usize) -> Result<Vec<NodeReport>> {
        diagnose(self.connection(), pings).await
    }
}

async fn diagnose(conn: &Connection, pings: usize) -> Result<Vec<NodeReport>> {
    if !conn.is_cluster() {
        return Ok(vec![NodeReport {
            node: "standalone".to_owned(),
            primary: true,
            state: node_state(conn, None, pings).await,
        }]);
    }
    let mut reports = Vec::new();
    for (node, primary) in crate::cleanup::cluster_nodes(conn).await? {
        reports.push(NodeReport {
            node: format!("{}:{}", node.host, node.port),
            primary,
            state: node_state(conn, Some(&node), pings).await,
        });
    }
    Ok(reports)
}

async fn ask<T: FromRedisValue>(
    conn: &Connection,
    node: Option<&NodeAddr>,
    cmd: &Cmd,
) -> Result<T> {
    let call = match node {
        Some(node) => Call::OnNode(cmd, node),
        None => Call::Cmd(cmd),
    };
    conn.run(call, true).await
}

async fn node_state(conn: &Connection, node: Option<&NodeAddr>, pings: usize) -> Result<NodeState> {
    let ping = redis::cmd("PING");
    let mut round_trips = Vec::with_capacity(pings);
    for i in 0..=pings {
        let start = Instant::now();
        ask::<String>(conn, node, &ping).await?;
        if i > 0 {
            round_trips.push(start.elapsed());
        }
    }
    let info: String = ask(conn, node, &redis::cmd("INFO")).await?;
    let config = |name: &str| {
        let mut cmd = redis::cmd("CONFIG");
        cmd.arg("GET").arg(name);
        cmd
    };
    let config_value = |reply: Result<HashMap<String, String>>, name: &str| {
        reply.ok().map(|mut m| m.remove(name).unwrap_or_default())
    };
    let rdb_save = config_value(ask(conn, node, &config("save")).await, "save");
    let appendfsync = config_value(ask(conn, node, &config("appendfsync")).await, "appendfsync");
    let before = SystemTime::now();
    let start = Instant::now();
    let (secs, micros): (String, String) = ask(conn, node, &redis::cmd("TIME")).await?;
    let rtt = start.elapsed();
    let server_micros = parse_time(&secs, &micros)?;
    let field = |key: &str| info_field(&info, key).unwrap_or_default().to_owned();
    Ok(NodeState {
        round_trips,
        version: field("redis_version"),
        role: field("role"),
        aof_enabled: field("aof_enabled") == "1",
        appendfsync,
        rdb_save,
        maxmemory_policy: field("maxmemory_policy"),
        maxmemory: field("maxmemory").parse().unwrap_or(0),
        clock_offset_ms: clock_offset_ms(server_micros, before, rtt),
    })
}

/// The value of `key` in an `INFO` reply (`key:value` lines).
fn info_field<'a>(info: &'a str, key: &str) -> Option<&'a str> {
    info.lines()
        .filter_map(|line| line.trim_end().split_once(':'))
        .find_map(|(k, v)| (k == key).then_some(v))
}

/// A `TIME` reply as microseconds since the epoch.
fn parse_time(secs: &str, micros: &str) -> Result<i128> {
    let bad = || Error::backend("redis", "unexpected TIME reply");
    let secs: i128 = secs.parse().map_err(|_| bad())?;
    let micros: i128 = micros.parse().map_err(|_| bad())?;
    Ok(secs * 1_000_000 + micros)
}

/// `server_micros` minus the local clock at the middle of a round trip that
/// started at `sent` and took `rtt`, in milliseconds.
fn clock_offset_ms(server_micros: i128, sent: SystemTime, rtt: Duration) -> i64 {
    let middle = (sent + rtt / 2)
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from((server_micros - middle.as_micros() as i128) / 1000).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_fields_are_found_by_exact_key() {
        let info = "# Server\r\nredis_version:7.0.15\r\nrole:master\r\n# Persistence\r\n\
                    aof_enabled:1\r\naof_enabled_extra:0\r\nmaxmemory_policy:allkeys-lru\r\n";
        assert_eq!(info_field(info, "redis_version"), Some("7.0.15"));
        assert_eq!(info_field(info, "aof_enabled"), Some("1"));
        assert_eq!(info_field(info, "maxmemory_policy"), Some("allkeys-lru"));
        assert_eq!(info_field(info, "maxmemory"), None);
        assert_eq!(info_field(info, "# Server"), None);
    }

    #[test]
    fn clock_offset_is_measured_from_the_middle_of_the_round_trip() {
        let sent = UNIX_EPOCH + Duration::from_secs(1_000);
        let rtt = Duration::from_millis(10);
        // The server read its clock 5 ms after `sent`: no offset.
        let server = parse_time("1000", "5000").unwrap_or_default();
        assert_eq!(clock_offset_ms(server, sent, rtt), 0);
        // Three seconds ahead, and behind.
        let ahead = parse_time("1003", "5000").unwrap_or_default();
        assert_eq!(clock_offset_ms(ahead, sent, rtt), 3000);
        let behind = parse_time("997", "5000").unwrap_or_default();
        assert_eq!(clock_offset_ms(behind, sent, rtt), -3000);
        assert!(parse_time("x", "1").is_err());
    }
}
