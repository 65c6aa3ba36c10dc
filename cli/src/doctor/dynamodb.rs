//! The DynamoDB checks: reachable and how fast, the table and its key
//! schema, TTL, and the server's clock.

use tiered_sessions::Error;
use tiered_sessions_redis_dynamodb::{DynamoDiagnosis, TtlSetup, env};

use super::report::{Check, Status, answered, clock_check, explain, unanswered};

/// How to create the table and turn TTL on.
fn schema_fix(table: &str) -> String {
    format!(
        "run `tiered-sessions ensure-schema --store dynamodb`, or create `{table}` with partition \
         key `pk` (type S) and enable TTL on `exp` (aws dynamodb update-time-to-live \
         --table-name {table} --time-to-live-specification Enabled=true,AttributeName=exp)"
    )
}

/// The check of a DynamoDB that did not answer a read of `table`.
pub fn unreachable(e: &tiered_sessions::Error, table: &str) -> Check {
    unanswered("dynamodb.reachable", "DynamoDB", e, None)
        .target(table)
        .fix(format!(
            "check {} (or the SDK's endpoint settings), AWS_REGION and the credentials (the role \
             needs dynamodb:GetItem, dynamodb:DescribeTable and dynamodb:DescribeTimeToLive)",
            env::ENDPOINT
        ))
}

/// Every DynamoDB check from what `diagnose` found on `table`.
pub fn checks(found: &DynamoDiagnosis, table: &str, max_skew_ms: u64) -> Vec<Check> {
    let mut checks = vec![
        answered(
            "dynamodb.reachable",
            "DynamoDB",
            &found.round_trips,
            "reads",
        )
        .target(table),
    ];
    let table_ok = || {
        Check::new(
            "dynamodb.table",
            Status::Ok,
            "the table exists with partition key `pk` (S) and no sort key",
        )
        .target(table)
    };
    match &found.table {
        Ok(check) => {
            checks.push(table_ok());
            checks.push(ttl(check.ttl, table).target(table));
        }
        // TTL on another attribute: the table itself is right.
        Err(Error::Config { message }) if message.contains("TTL on") => {
            checks.push(table_ok());
            checks.push(
                Check::new("dynamodb.ttl", Status::Fail, message.to_string())
                    .target(table)
                    .fix(
                        "disable TTL on that attribute and enable it on `exp` (one attribute per \
                         table; the change takes up to an hour on AWS)",
                    ),
            );
        }
        Err(e @ Error::Config { .. }) => checks.push(
            Check::new("dynamodb.table", Status::Fail, explain(e))
                .target(table)
                .fix(schema_fix(table)),
        ),
        Err(e) => checks.push(
            Check::new(
                "dynamodb.table",
                Status::Fail,
                format!("the table could not be checked: {}", explain(e)),
            )
            .target(table)
            .fix("check that the credentials allow dynamodb:DescribeTable and dynamodb:DescribeTimeToLive"),
        ),
    }
    checks.push(
        clock_check(
            "dynamodb.clock",
            "DynamoDB",
            found.clock_offset_ms,
            500,
            max_skew_ms,
        )
        .target(table),
    );
    checks
}

fn ttl(ttl: Option<TtlSetup>, table: &str) -> Check {
    let (state, check) = match ttl {
        None => (
            "off",
            Check::new(
                "dynamodb.ttl",
                Status::Warn,
                "TTL is off: expired sessions stay in the table (stored and billed) until \
                 `tiered-sessions cleanup` deletes them; reads ignore them either way",
            )
            .fix(schema_fix(table)),
        ),
        Some(TtlSetup::Unsupported) => (
            "unsupported",
            Check::new(
                "dynamodb.ttl",
                Status::Warn,
                "this DynamoDB engine does not support TTL (an emulator): expired sessions stay \
                 until `tiered-sessions cleanup` deletes them",
            )
            .fix("run `tiered-sessions cleanup` on a schedule; real DynamoDB has TTL"),
        ),
        Some(_) => (
            "enabled",
            Check::new(
                "dynamodb.ttl",
                Status::Ok,
                "TTL is enabled on `exp`: DynamoDB deletes expired sessions for free",
            ),
        ),
    };
    check.data(serde_json::json!({ "attribute": "exp", "state": state }))
}
