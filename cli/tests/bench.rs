//! `tiered-sessions bench` run as a user runs it: the built binary, a short
//! matrix against the real local services (Redis, moto, SecantusDB), its
//! JSON checked for sane figures; the HTML page; bad arguments.
//!
//! Needs `TS_REDIS_URL`, `TS_DYNAMODB_MOTO_ENDPOINT` (with AWS dummy
//! credentials) and `TS_MONGO_RS_URI` (`eval "$(scripts/services env)"`);
//! without them the matrix test is ignored with the reason, or fails under
//! `CI=true`.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use std::process::{Command, Output};

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use serde_json::Value;
use tiered_sessions_conformance::kit::{endpoint, free_port, missing, unique};

const BIN: &str = env!("CARGO_BIN_EXE_tiered-sessions");

/// The driver variables a test sets itself: none leaks in from the caller.
const DRIVER_VARS: [&str; 6] = [
    "TIERED_SESSIONS_REDIS_URL",
    "TIERED_SESSIONS_REDIS_CLUSTER_URLS",
    "TIERED_SESSIONS_DYNAMODB_TABLE",
    "TIERED_SESSIONS_DYNAMODB_ENDPOINT",
    "TIERED_SESSIONS_MONGODB_URI",
    "TIERED_SESSIONS_MONGODB_DATABASE",
];

fn bench(args: &[&str], env: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("bench").args(args);
    for var in DRIVER_VARS {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

fn f(v: &Value, path: &[&str]) -> f64 {
    let mut v = v;
    for p in path {
        v = &v[*p];
    }
    v.as_f64()
        .unwrap_or_else(|| panic!("{path:?} is not a number in {v}"))
}

/// The services of the matrix: (Redis, moto, MongoDB), or why not.
fn services() -> Result<(String, String, String), String> {
    Ok((
        endpoint("TS_REDIS_URL")?,
        endpoint("TS_DYNAMODB_MOTO_ENDPOINT")?,
        endpoint("TS_MONGO_RS_URI")?,
    ))
}

const PRICE_RRU: f64 = 0.25;
const PRICE_WRU: f64 = 1.5;
const REQUESTS: f64 = 200.0;

fn short_matrix() -> Result<Completion, Failed> {
    let (redis, moto, mongo) = match services() {
        Ok(s) => s,
        Err(reason) => return missing(reason),
    };
    let ns = unique("bench");
    let env = [
        ("TIERED_SESSIONS_REDIS_URL", redis),
        ("TIERED_SESSIONS_REDIS_KEY_PREFIX", format!("{ns}:")),
        ("TIERED_SESSIONS_DYNAMODB_ENDPOINT", moto),
        ("TIERED_SESSIONS_DYNAMODB_TABLE", ns.clone()),
        ("TIERED_SESSIONS_DYNAMODB_ENSURE_TABLE", "true".into()),
        ("TIERED_SESSIONS_MONGODB_URI", mongo),
        ("TIERED_SESSIONS_MONGODB_DATABASE", ns.clone()),
    ];
    let out = bench(
        &[
            "--json",
            "--stores",
            "cookie-only,memory,redis,redis-dynamodb,redis-mongodb",
            "--sizes",
            "256,4k",
            "--concurrency",
            "1,8",
            "--mix",
            "write=20+quick=10+new=5",
            "--requests",
            "200",
            "--price-rru",
            &PRICE_RRU.to_string(),
            "--price-wru",
            &PRICE_WRU.to_string(),
        ],
        &env,
    );
    let report = json(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}\n{report}",
        text(&out.stderr)
    );
    let results = report["results"].as_array().expect("results");
    assert_eq!(results.len(), 5 * 2 * 2, "every configuration reported");
    let mut wru_per_write = std::collections::BTreeMap::new();
    for r in results {
        let name = r["name"].as_str().expect("a name");
        let store = r["store"].as_str().expect("a store");
        assert_eq!(r["status"], "ok", "{name}: {r}");
        assert_eq!(f(r, &["errors"]), 0.0, "{name}: no errors");
        assert_eq!(f(r, &["requests"]), REQUESTS, "{name}: --requests honoured");
        assert!(f(r, &["throughput_rps"]) > 0.0, "{name}: throughput");
        let [p50, p95, p99, max] =
            ["p50_ms", "p95_ms", "p99_ms", "max_ms"].map(|p| f(r, &["latency", p]));
        assert!(
            0.0 < p50 && p50 <= p95 && p95 <= p99 && p99 <= max,
            "{name}: percentiles in order: {}",
            r["latency"]
        );
        assert!(f(r, &["cookie_bytes_mean"]) > 0.0, "{name}: cookies sent");
        let store_ops =
            f(r, &["ops_per_request", "store_reads"]) + f(r, &["ops_per_request", "store_writes"]);
        if store == "cookie-only" {
            assert_eq!(
                store_ops, 0.0,
                "{name}: cookie-only does no store operation"
            );
            if r["size"] == 4096 {
                assert!(
                    f(r, &["cookie_bytes_max"]) > 4096.0,
                    "{name}: 4 KiB in the cookie"
                );
            }
        } else {
            assert!(
                store_ops >= 1.0,
                "{name}: every request loads or writes: {r}"
            );
            assert!(
                f(r, &["cookie_bytes_max"]) < 300.0,
                "{name}: the cookie holds an id"
            );
        }
        if store == "redis-dynamodb" || store == "redis-mongodb" || store == "memory" {
            assert!(
                f(r, &["ops_per_request", "cache_reads"]) > 0.5,
                "{name}: reads hit the cache tier: {r}"
            );
            assert!(
                f(r, &["ops_per_request", "durable_writes"]) > 0.0,
                "{name}: durable writes reach the durable tier: {r}"
            );
        }
        match &r["dynamodb"] {
            Value::Null => assert_ne!(store, "redis-dynamodb", "{name}: capacity figures"),
            c => {
                assert_eq!(store, "redis-dynamodb", "{name}");
                let (rru, wru) = (
                    f(c, &["read_units_per_request"]),
                    f(c, &["write_units_per_request"]),
                );
                assert!(rru >= 0.0 && wru > 0.0, "{name}: units {c}");
                let cost = f(c, &["cost_per_million_requests"]);
                let expected = rru * PRICE_RRU + wru * PRICE_WRU;
                assert!(
                    (cost - expected).abs() < 1e-9 * expected.max(1.0),
                    "{name}: cost {cost} = {rru} × {PRICE_RRU} + {wru} × {PRICE_WRU}"
                );
                assert!(matches!(
                    c["source"].as_str(),
                    Some("reported" | "computed")
                ));
                let writes = f(r, &["ops_per_request", "durable_writes"]) * REQUESTS;
                let computed = f(c, &["computed", "write_units"]);
                wru_per_write.insert(r["size"].as_u64().unwrap(), computed / writes);
            }
        }
    }
    // A 4 KiB session is billed four or five 1 KB units per write (an item
    // holds a little more than the data), a 256-byte one a single unit.
    let (small, large) = (wru_per_write[&256], wru_per_write[&4096]);
    assert!((0.9..=1.1).contains(&small), "256 B: {small} WRU per write");
    assert!((4.0..=5.5).contains(&large), "4 KiB: {large} WRU per write");
    Ok(Completion::Completed)
}

fn html_report() -> Result<Completion, Failed> {
    let dir = std::env::temp_dir().join(unique("bench_html"));
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("report.html");
    let out = bench(
        &[
            "--stores",
            "cookie-only,memory",
            "--sizes",
            "1k",
            "--concurrency",
            "2",
            "--requests",
            "50",
            "--html",
            page.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.contains("cookie-only 1k read c2") && table.contains("memory 1k read c2"));
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(
        html.matches("<svg").count(),
        2,
        "latency and throughput charts"
    );
    assert!(html.contains("No configuration with a DynamoDB tier ran"));
    for fetch in ["<script", "<link", "src=", "@import", "url("] {
        assert!(
            !html.contains(fetch),
            "the page fetches nothing: found {fetch}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
    Ok(Completion::Completed)
}

fn default_stores_follow_the_environment() -> Result<Completion, Failed> {
    // No driver variable: cookie-only and memory only.
    let out = bench(
        &[
            "--json",
            "--sizes",
            "256",
            "--concurrency",
            "1",
            "--mix",
            "read",
            "--requests",
            "10",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report = json(&out);
    let stores: Vec<&str> = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["store"].as_str().expect("a store"))
        .collect();
    assert_eq!(stores, ["cookie-only", "memory"], "{report}");
    Ok(Completion::Completed)
}

fn bad_arguments_exit_2() -> Result<Completion, Failed> {
    for args in [
        &["--sizes", "0"][..],
        &["--sizes", "9999k"],
        &["--mix", "write=80+new=30"],
        &["--mix", "delete=5"],
        &["--concurrency", "0"],
        &["--stores", "postgres"],
        &["--duration", "1s", "--requests", "5"],
        &["--duration", "soon"],
        &["--price-rru", "-1"],
        &["--capacity-source", "guess"],
        &["--html", "/nonexistent-folder/report.html"],
        &["--html", "/tmp"],
        // A store whose environment is missing: a configuration error.
        &["--stores", "dynamodb", "--requests", "1"],
    ] {
        let out = bench(args, &[]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            !err.trim().is_empty() && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }
    Ok(Completion::Completed)
}

fn unreachable_store_fails_with_1() -> Result<Completion, Failed> {
    let port = free_port().unwrap();
    let out = bench(
        &[
            "--json",
            "--stores",
            "redis",
            "--sizes",
            "256",
            "--concurrency",
            "1",
            "--requests",
            "5",
        ],
        &[
            (
                "TIERED_SESSIONS_REDIS_URL",
                format!("redis://127.0.0.1:{port}"),
            ),
            ("TIERED_SESSIONS_REDIS_TIMEOUT_MS", "300".into()),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("panicked"));
    let report = json(&out);
    let r = &report["results"][0];
    assert_eq!(r["status"], "errors", "{report}");
    assert!(
        r["reason"].as_str().is_some_and(|m| !m.is_empty()),
        "{report}"
    );
    Ok(Completion::Completed)
}

fn main() {
    let args = Arguments::from_args();
    let trials = vec![
        Trial::ignorable_test("bench::short_matrix_against_the_services", short_matrix),
        Trial::ignorable_test("bench::html_report_is_self_contained", html_report),
        Trial::ignorable_test(
            "bench::default_stores_follow_the_environment",
            default_stores_follow_the_environment,
        ),
        Trial::ignorable_test("bench::bad_arguments_exit_2", bad_arguments_exit_2),
        Trial::ignorable_test(
            "bench::unreachable_store_fails_with_1",
            unreachable_store_fails_with_1,
        ),
    ];
    libtest_mimic::run(&args, trials).exit();
}
