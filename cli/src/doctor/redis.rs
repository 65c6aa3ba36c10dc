//! The Redis checks, node by node: reachable and how fast, persistence and
//! eviction policy judged by the part Redis plays, and its clock.

use std::time::Duration;

use serde_json::json;
use tiered_sessions_redis::{NodeReport, NodeState, env};

use super::report::{Check, Status, answered, clock_check, latency_data, median, ms, unanswered};

/// The part Redis plays in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The whole store (`RedisStore`): it must keep every session.
    Store,
    /// The cache tier in front of a durable store: it may lose entries.
    Cache,
}

/// What to check against.
pub struct Settings {
    /// The part Redis plays.
    pub role: Role,
    /// The Redis call deadline.
    pub deadline: Duration,
    /// Clock difference above which to warn.
    pub max_skew_ms: u64,
}

/// Every Redis check from what `diagnose` returned.
pub fn checks(found: tiered_sessions::Result<Vec<NodeReport>>, settings: &Settings) -> Vec<Check> {
    let nodes = match found {
        Ok(nodes) => nodes,
        Err(e) => return vec![unreachable(cluster_label(), &e, settings.role)],
    };
    let mut checks = Vec::new();
    for node in nodes {
        let target = if node.node == "standalone" {
            standalone_label()
        } else {
            node.node
        };
        match node.state {
            Ok(state) => node_checks(&target, node.primary, &state, settings, &mut checks),
            Err(e) => checks.push(unreachable(target, &e, settings.role)),
        }
    }
    checks
}

fn unreachable(target: String, e: &tiered_sessions::Error, role: Role) -> Check {
    let consequence = match role {
        Role::Store => "no session can be read or written",
        Role::Cache => {
            "reads fall back to the durable tier, but saves of stored sessions are refused (503) \
             until the cache answers"
        }
    };
    unanswered("redis.reachable", "Redis", e, Some(consequence))
        .target(target)
        .fix(format!(
            "check {} (or {}), that the server runs and that this host may connect (firewall, TLS, \
         password)",
            env::URL,
            env::CLUSTER_URLS
        ))
}

fn node_checks(
    target: &str,
    primary: bool,
    state: &NodeState,
    settings: &Settings,
    checks: &mut Vec<Check>,
) {
    let rtt = median(&state.round_trips);
    let role = if primary { "primary" } else { "replica" };
    let mut reach = answered(
        "redis.reachable",
        &format!("Redis {} ({role})", state.version),
        &state.round_trips,
        "pings",
    );
    if rtt * 2 > settings.deadline {
        reach = Check::new(
            "redis.reachable",
            Status::Warn,
            format!(
                "Redis answers, but its median round trip {:.2} ms is more than half the call \
                 deadline ({} ms): calls will time out under load",
                ms(rtt),
                settings.deadline.as_millis()
            ),
        )
        .data(latency_data(&state.round_trips))
        .fix(format!(
            "run the app closer to Redis, or raise {} (milliseconds)",
            env::TIMEOUT_MS
        ));
    }
    reach.data["primary"] = primary.into();
    checks.push(reach.target(target));
    if settings.role == Role::Store {
        checks.push(persistence(state).target(target));
    }
    checks.push(eviction(state, settings.role).target(target));
    checks.push(
        clock_check(
            "redis.clock",
            "Redis",
            Some(state.clock_offset_ms),
            0,
            settings.max_skew_ms,
        )
        .target(target),
    );
}

/// Persistence of a node holding the whole store.
fn persistence(state: &NodeState) -> Check {
    let data = json!({
        "aof_enabled": state.aof_enabled,
        "appendfsync": state.appendfsync,
        "rdb_save": state.rdb_save,
    });
    let rdb_on = state
        .rdb_save
        .as_deref()
        .is_some_and(|s| !s.trim().is_empty());
    let check = if state.aof_enabled {
        let fsync = state.appendfsync.as_deref().unwrap_or("unknown");
        let loses = match fsync {
            "always" => "an acknowledged save survives a crash",
            "everysec" => "a crash can lose about the last second of saves",
            _ => "a crash can lose the saves the OS had not written yet",
        };
        Check::new(
            "redis.persistence",
            Status::Ok,
            format!("AOF is on (appendfsync {fsync}): {loses}"),
        )
    } else if rdb_on {
        Check::new(
            "redis.persistence",
            Status::Ok,
            format!(
                "RDB snapshots only (save \"{}\"): a crash loses the sessions changed since the \
                 last snapshot",
                state.rdb_save.as_deref().unwrap_or_default().trim()
            ),
        )
    } else if state.rdb_save.is_none() {
        Check::new(
            "redis.persistence",
            Status::Warn,
            "AOF is off and the snapshot settings cannot be read (CONFIG is refused, as on \
             managed services): unless your provider snapshots or replicates this node, a \
             restart loses every session",
        )
        .fix(
            "check the provider's backup and replication settings, or put Redis in front of a \
             durable store (redis-dynamodb, redis-mongodb)",
        )
    } else {
        Check::new(
            "redis.persistence",
            Status::Warn,
            "no persistence (AOF off, no RDB save points): a restart of Redis loses every \
             session and logs every user out",
        )
        .fix(
            "turn AOF on (appendonly yes, appendfsync everysec) in redis.conf, or put Redis in \
             front of a durable store (redis-dynamodb, redis-mongodb)",
        )
    };
    check.data(data)
}

/// The eviction policy, judged by the part Redis plays.
fn eviction(state: &NodeState, role: Role) -> Check {
    let policy = state.maxmemory_policy.as_str();
    let data = json!({ "maxmemory_policy": policy, "maxmemory": state.maxmemory });
    let limit = if state.maxmemory == 0 {
        "no maxmemory".to_owned()
    } else {
        format!("maxmemory {} bytes", state.maxmemory)
    };
    let check = match (role, policy) {
        (Role::Store, p) if p.starts_with("allkeys-") => Check::new(
            "redis.eviction",
            Status::Warn,
            format!(
                "maxmemory-policy {p} ({limit}): when Redis fills up it silently drops live \
                 sessions, which users see as being logged out"
            ),
        )
        .fix(
            "CONFIG SET maxmemory-policy noeviction (a full Redis then refuses writes loudly) or \
             volatile-ttl, and persist it in redis.conf or the parameter group",
        ),
        (Role::Store, "noeviction") => Check::new(
            "redis.eviction",
            Status::Ok,
            format!("maxmemory-policy noeviction ({limit}): a full Redis refuses new writes and loses nothing"),
        ),
        (Role::Store, p) if p.starts_with("volatile-") => Check::new(
            "redis.eviction",
            Status::Ok,
            format!(
                "maxmemory-policy {p} ({limit}): a full Redis drops sessions (each has a TTL) \
                 rather than refusing writes; watch evicted_keys"
            ),
        ),
        (Role::Cache, "noeviction") if state.maxmemory > 0 => Check::new(
            "redis.eviction",
            Status::Warn,
            format!(
                "maxmemory-policy noeviction with {limit}: once the cache is full, its writes \
                 fail and saves of stored sessions are refused (the cache cannot be invalidated)"
            ),
        )
        .fix("use maxmemory-policy allkeys-lru for a cache tier: the durable tier refills what is evicted"),
        (Role::Cache, p) => Check::new(
            "redis.eviction",
            Status::Ok,
            format!("maxmemory-policy {p} ({limit}): fine for a cache tier, which the durable tier refills"),
        ),
        (Role::Store, p) => Check::new(
            "redis.eviction",
            Status::Warn,
            format!("maxmemory-policy `{p}` is not one this check knows"),
        )
        .fix("use noeviction or volatile-ttl for a Redis-only store"),
    };
    check.data(data)
}

/// `host:port` of the standalone URL, without credentials.
fn standalone_label() -> String {
    let url = std::env::var(env::URL).unwrap_or_default();
    host_port(&url)
}

/// The cluster's seed nodes, without credentials.
fn cluster_label() -> String {
    match std::env::var(env::CLUSTER_URLS) {
        Ok(urls) => urls
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(host_port)
            .collect::<Vec<_>>()
            .join(","),
        Err(_) => standalone_label(),
    }
}

/// The `host:port` of a Redis URL: no scheme, credentials, database or query.
fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.split(['/', '?', '#']).next().unwrap_or_default();
    rest.rsplit_once('@')
        .map_or(rest, |(_, host)| host)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_carry_no_credentials() {
        assert_eq!(
            host_port("redis://:s3cret@cache.example:6380/2"),
            "cache.example:6380"
        );
        assert_eq!(host_port("rediss://user:p@ss@h:1?x=1"), "h:1");
        assert_eq!(host_port("redis://127.0.0.1:6390"), "127.0.0.1:6390");
    }
}
