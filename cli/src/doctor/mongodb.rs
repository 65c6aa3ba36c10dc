//! The MongoDB checks: reachable and how fast, the indexes, the write
//! concern against the topology, and the server's clock.

use tiered_sessions_redis_mongodb::{MongoDiagnosis, TTL_INDEX_NAME, env};

use super::report::{Check, Status, answered, clock_check, explain, unanswered};

const INDEX_FIX: &str = "run `tiered-sessions ensure-schema --store mongodb` (or start the app \
                         with TIERED_SESSIONS_MONGODB_ENSURE_INDEXES=true, the default)";

/// The check of a MongoDB that did not answer, for `collection`.
pub fn unreachable(e: &tiered_sessions::Error, collection: &str) -> Check {
    unanswered("mongodb.reachable", "MongoDB", e, None)
        .target(collection)
        .fix(format!(
            "check {} (hosts, replicaSet, credentials, TLS) and that this host may connect",
            env::URI
        ))
}

/// Every MongoDB check from what `diagnose` found on `collection`.
pub fn checks(found: &MongoDiagnosis, collection: &str, max_skew_ms: u64) -> Vec<Check> {
    let mut checks = vec![
        answered("mongodb.reachable", "MongoDB", &found.round_trips, "pings").target(collection),
    ];
    checks.push(
        match &found.ttl_index {
            Ok(name) => Check::new(
                "mongodb.ttl-index",
                Status::Ok,
                format!("TTL index `{name}` on `exp` (expireAfterSeconds 0)"),
            ),
            Err(e @ tiered_sessions::Error::Config { .. }) => {
                Check::new("mongodb.ttl-index", Status::Fail, explain(e)).fix(INDEX_FIX)
            }
            Err(e) => Check::new(
                "mongodb.ttl-index",
                Status::Fail,
                format!("the indexes could not be listed: {}", explain(e)),
            )
            .fix("check that the database user may run listIndexes on the collection"),
        }
        .target(collection)
        .data(serde_json::json!({ "expected": TTL_INDEX_NAME })),
    );
    checks.push(
        match &found.principal_index {
            Ok(true) => Check::new(
                "mongodb.principal-index",
                Status::Ok,
                "index `principal` on `p` (listing and revoking a user's sessions)",
            ),
            Ok(false) => Check::new(
                "mongodb.principal-index",
                Status::Warn,
                "no index `principal` on `p`: listing or revoking a user's sessions scans the \
                 whole collection",
            )
            .fix(INDEX_FIX),
            Err(e) => Check::new(
                "mongodb.principal-index",
                Status::Warn,
                format!("the indexes could not be listed: {}", explain(e)),
            ),
        }
        .target(collection),
    );
    checks.push(write_concern(found).target(collection));
    checks.push(
        clock_check(
            "mongodb.clock",
            "MongoDB",
            found.clock_offset_ms,
            0,
            max_skew_ms,
        )
        .target(collection),
    );
    checks
}

/// The write concern the store sets, against what the deployment can give.
fn write_concern(found: &MongoDiagnosis) -> Check {
    let wc = found.write_concern.as_ref();
    let described = match wc {
        Some(wc) => format!(
            "w: {}, j: {}, wtimeout: {}",
            wc.w.as_ref()
                .map_or("default".to_owned(), |w| format!("{w:?}").to_lowercase()),
            wc.journal.map_or("default".to_owned(), |j| j.to_string()),
            wc.w_timeout
                .map_or("none".to_owned(), |t| format!("{} ms", t.as_millis()))
        ),
        None => "the server's default".to_owned(),
    };
    let data = serde_json::json!({
        "write_concern": described,
        "replica_set": found.replica_set,
        "members": found.members,
        "arbiters": found.arbiters,
        "writable_primary": found.writable_primary,
    });
    let check = if !found.writable_primary {
        Check::new(
            "mongodb.write-concern",
            Status::Fail,
            format!("writes ({described}) cannot be made: the server answering is not a writable primary"),
        )
        .fix(format!(
            "point {} at the replica set (replicaSet=… and its members), not at one secondary",
            env::URI
        ))
    } else {
        match (&found.replica_set, found.members, found.arbiters) {
            (None, _, _) => Check::new(
                "mongodb.write-concern",
                Status::Warn,
                format!(
                    "writes use {described}, but this is a standalone server: `majority` is \
                     this one node, so losing its disk loses every session"
                ),
            )
            .fix("run a replica set of three data-bearing members"),
            (Some(set), n, _) if n < 3 => Check::new(
                "mongodb.write-concern",
                Status::Warn,
                format!(
                    "writes use {described} on replica set `{set}` with {n} data-bearing \
                     member{}: {}",
                    if n == 1 { "" } else { "s" },
                    if n == 1 {
                        "no copy survives the loss of that node"
                    } else {
                        "one member down and `majority` saves time out"
                    }
                ),
            )
            .fix("run three data-bearing members (no arbiters)"),
            (Some(set), n, a) if a > 0 => Check::new(
                "mongodb.write-concern",
                Status::Warn,
                format!(
                    "writes use {described} on replica set `{set}` ({n} data-bearing members, {a} \
                     arbiter{}): arbiters hold no data, so losing data members can stall \
                     `majority` saves",
                    if a == 1 { "" } else { "s" }
                ),
            )
            .fix("replace arbiters with data-bearing members"),
            (Some(set), n, _) => Check::new(
                "mongodb.write-concern",
                Status::Ok,
                format!(
                    "writes use {described} on replica set `{set}` ({n} data-bearing members): \
                     an acknowledged save survives a failover"
                ),
            ),
        }
    };
    check.data(data)
}
