//! [`RedisStore::delete_expired`](crate::RedisStore): a resumable `SCAN` of
//! the store's keys on every primary, deleting the records expired at the
//! caller's `now` that Redis's own TTL has not removed yet (its clock may lag
//! the caller's, and a TTL is at least a second).
//!
//! The cursor is the `SCAN` cursor, prefixed on a cluster by the primary it
//! belongs to (`host:port/cursor`); primaries are scanned in address order.
//! A batch that reaches `max` deletions in the middle of a page resumes at
//! that page again (the deleted keys are gone from it), so no expired record
//! is skipped and no batch deletes more than `max`.

use redis::Value;
use tiered_sessions::{CleanupBatch, CleanupCursor, Error, Result, UnixTime};

use crate::connection::{Connection, ScriptCall};
use crate::layout::scan_pattern;
use crate::pool::{Call, NodeAddr};
use crate::store::RedisStore;
use crate::store_scripts;

/// Keys asked of each `SCAN` call (a hint to Redis, not a bound).
const SCAN_COUNT: usize = 256;
/// `SCAN` calls one batch makes at most, so a batch stays short however many
/// unrelated keys share the server.
const PAGES_PER_BATCH: usize = 8;

/// Where a scan stands: which node (an index into the sorted primaries; 0 on
/// standalone) and the `SCAN` cursor on it.
#[derive(Debug, PartialEq, Eq)]
struct Position {
    node: usize,
    cursor: u64,
}

/// What a scan sweeps: session records, or principal-index keys (whose
/// expired entries it prunes, counting each entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sweep {
    Records,
    Principals,
}

pub(crate) async fn delete_expired(
    store: &RedisStore,
    now: UnixTime,
    max: usize,
    cursor: Option<CleanupCursor>,
) -> Result<CleanupBatch> {
    sweep(store, Sweep::Records, now, max, cursor).await
}

pub(crate) async fn sweep(
    store: &RedisStore,
    kind: Sweep,
    now: UnixTime,
    max: usize,
    cursor: Option<CleanupCursor>,
) -> Result<CleanupBatch> {
    let max = max.max(1) as u64;
    let nodes = if store.is_cluster() {
        primaries(store.connection()).await?
    } else {
        Vec::new()
    };
    let node_count = nodes.len().max(1);
    let mut at = match cursor {
        None => Position { node: 0, cursor: 0 },
        Some(c) => parse_cursor(&c.0, &nodes)?,
    };
    let pattern = match kind {
        Sweep::Records => scan_pattern(store.key_prefix()),
        Sweep::Principals => format!(
            "{}{}",
            scan_pattern(store.key_prefix()),
            crate::principals::KEY_SUFFIX
        ),
    };
    let encode = |at: &Position| -> Option<CleanupCursor> {
        (at.node < node_count).then(|| CleanupCursor(encode_cursor(at, &nodes)))
    };
    let mut deleted = 0u64;
    for _ in 0..PAGES_PER_BATCH {
        if at.node >= node_count {
            break;
        }
        let mut scan = redis::cmd("SCAN");
        scan.arg(at.cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT);
        let call = match nodes.get(at.node) {
            Some(node) => Call::OnNode(&scan, node),
            None => Call::Cmd(&scan),
        };
        let (next, keys): (u64, Vec<Vec<u8>>) = store.connection().run(call, true).await?;
        for key in keys {
            if deleted >= max {
                // Stop inside the page: the next batch scans it again.
                return Ok(CleanupBatch {
                    deleted,
                    next: encode(&at),
                });
            }
            let inv = match kind {
                Sweep::Records => {
                    let mut inv = ScriptCall::new(&store_scripts::DELETE_IF_EXPIRED, key);
                    inv.arg(&crate::store_value::be(now)[..]);
                    inv
                }
                Sweep::Principals => crate::principals::prune_call(key, now),
            };
            deleted += store.connection().script::<u64>(&inv, true).await?;
        }
        at = if next == 0 {
            Position {
                node: at.node + 1,
                cursor: 0,
            }
        } else {
            Position {
                node: at.node,
                cursor: next,
            }
        };
        if deleted >= max {
            break;
        }
    }
    Ok(CleanupBatch {
        deleted,
        next: encode(&at),
    })
}

fn encode_cursor(at: &Position, nodes: &[NodeAddr]) -> String {
    match nodes.get(at.node) {
        Some(node) => format!("{}:{}/{}", node.host, node.port, at.cursor),
        None => at.cursor.to_string(),
    }
}

/// The position a cursor names. A cluster cursor whose node is no longer a
/// primary (a failover) resumes at the next primary in address order; the
/// keys it held are left to the next full cleanup or to their TTL.
fn parse_cursor(text: &str, nodes: &[NodeAddr]) -> Result<Position> {
    let malformed = || Error::codec("malformed Redis cleanup cursor");
    let (node_part, cursor) = match text.rsplit_once('/') {
        Some((node, cursor)) => (Some(node), cursor),
        None => (None, text),
    };
    let cursor: u64 = cursor.parse().map_err(|_| malformed())?;
    match (node_part, nodes.is_empty()) {
        (None, true) => Ok(Position { node: 0, cursor }),
        (Some(node), false) => {
            let (host, port) = node.rsplit_once(':').ok_or_else(malformed)?;
            let addr = NodeAddr {
                host: host.to_owned(),
                port: port.parse().map_err(|_| malformed())?,
            };
            Ok(match nodes.binary_search(&addr) {
                Ok(node) => Position { node, cursor },
                Err(next) => Position {
                    node: next,
                    cursor: 0,
                },
            })
        }
        // A cursor from the other mode (standalone vs cluster).
        _ => Err(malformed()),
    }
}

/// Every primary of the cluster, sorted by address (from `CLUSTER SLOTS`).
pub(crate) async fn primaries(conn: &Connection) -> Result<Vec<NodeAddr>> {
    Ok(cluster_nodes(conn)
        .await?
        .into_iter()
        .filter_map(|(node, primary)| primary.then_some(node))
        .collect())
}

/// Every node `CLUSTER SLOTS` lists, sorted by address, each with whether it
/// is a primary. A replica that announces no address is left out (it cannot
/// be reached); a primary that announces none is an error.
pub(crate) async fn cluster_nodes(conn: &Connection) -> Result<Vec<(NodeAddr, bool)>> {
    let slots: Value = conn
        .cmd(&redis::cmd("CLUSTER").arg("SLOTS").clone(), true)
        .await?;
    let bad = || Error::backend("redis", "unexpected CLUSTER SLOTS reply");
    let Value::Array(ranges) = slots else {
        return Err(bad());
    };
    let mut nodes = Vec::new();
    for range in ranges {
        // [start, end, [host, port, id, …] of the primary, then of each replica]
        let Value::Array(range) = range else {
            return Err(bad());
        };
        if range.len() < 3 {
            return Err(bad());
        }
        for (i, node) in range.iter().enumerate().skip(2) {
            let primary = i == 2;
            let Value::Array(node) = node else {
                return Err(bad());
            };
            let host = match node.first() {
                Some(Value::BulkString(b)) => String::from_utf8(b.clone()).map_err(|_| bad())?,
                Some(Value::SimpleString(s)) => s.clone(),
                _ => return Err(bad()),
            };
            let port = match node.get(1) {
                Some(Value::Int(p)) => u16::try_from(*p).map_err(|_| bad())?,
                _ => return Err(bad()),
            };
            if host.is_empty() || host == "?" {
                if primary {
                    return Err(Error::backend(
                        "redis",
                        "a cluster primary announces no address; cannot scan it",
                    ));
                }
                continue;
            }
            nodes.push((NodeAddr { host, port }, primary));
        }
    }
    nodes.sort();
    nodes.dedup();
    if !nodes.iter().any(|(_, primary)| *primary) {
        return Err(Error::unavailable("redis", "the cluster has no primaries"));
    }
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes() -> Vec<NodeAddr> {
        ["127.0.0.1:7100", "127.0.0.1:7101", "127.0.0.1:7102"]
            .iter()
            .map(|a| {
                let (host, port) = a.split_once(':').unwrap_or_default();
                NodeAddr {
                    host: host.to_owned(),
                    port: port.parse().unwrap_or_default(),
                }
            })
            .collect()
    }

    #[test]
    fn cursors_round_trip() {
        let n = nodes();
        let at = Position {
            node: 1,
            cursor: 42,
        };
        let text = encode_cursor(&at, &n);
        assert_eq!(text, "127.0.0.1:7101/42");
        assert_eq!(parse_cursor(&text, &n).ok(), Some(at));
        let single = Position { node: 0, cursor: 7 };
        assert_eq!(
            parse_cursor(&encode_cursor(&single, &[]), &[]).ok(),
            Some(single)
        );
    }

    #[test]
    fn a_vanished_primary_resumes_at_the_next() {
        let n = nodes();
        assert_eq!(
            parse_cursor("127.0.0.1:7100/9", &n[1..]).ok(),
            Some(Position { node: 0, cursor: 0 })
        );
        assert_eq!(
            parse_cursor("127.0.0.1:7101/9", &[n[0].clone(), n[2].clone()]).ok(),
            Some(Position { node: 1, cursor: 0 })
        );
        assert_eq!(
            parse_cursor("127.0.0.2:7000/9", &n).ok(),
            Some(Position { node: 3, cursor: 0 })
        );
    }

    #[test]
    fn malformed_cursors_are_errors() {
        let n = nodes();
        for bad in ["", "x", "127.0.0.1:7100/x", "7", "a/1"] {
            assert!(
                matches!(parse_cursor(bad, &n), Err(Error::Codec { .. })),
                "{bad}"
            );
        }
        assert!(parse_cursor("127.0.0.1:7100/1", &[]).is_err());
    }
}
