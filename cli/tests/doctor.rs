//! `tiered-sessions doctor` against the real local services (`scripts/services
//! start; eval "$(scripts/services env)"`): a good setup is all ok, and each
//! deliberately broken one — a DynamoDB table without TTL, a MongoDB
//! collection missing an index, Redis down, `allkeys-lru` on a Redis-only
//! store, inconsistent record limits — is named in the text and in `--json`.
//! Every table, collection and extra Redis server is the test's own.
//!
//! A missing service shows as an ignored test with the reason, and fails
//! under `CI=true`.

use std::future::Future;
use std::pin::Pin;
use std::process::{Command, ExitCode};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use serde_json::Value;
use tiered_sessions_conformance::kit::{self, Server, free_port, redis_server, unique};
use tiered_sessions_conformance::libtest_mimic::{self, Arguments, Trial};
use tiered_sessions_redis::{RedisCacheBuilder, redis};
use tiered_sessions_redis_dynamodb::DynamoStore;
use tiered_sessions_redis_mongodb::MongoStore;

const REDIS: &str = "TS_REDIS_URL";
const CLUSTER: &str = "TS_REDIS_CLUSTER_URLS";
const REDIS_TLS: &str = "TS_REDIS_TLS_URL";
const MOTO: &str = "TS_DYNAMODB_MOTO_ENDPOINT";
const MONGO: &str = "TS_MONGO_RS_URI";
const AWS: &str = "AWS_ACCESS_KEY_ID";

/// The endpoint variables read by the test (checked before it runs).
#[derive(Clone, Copy)]
struct Env;

impl Env {
    fn get(self, name: &str) -> String {
        kit::endpoint(name).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The AWS settings every DynamoDB run needs, pointing at moto.
    fn aws(self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", self.get(AWS)),
            (
                "AWS_SECRET_ACCESS_KEY",
                std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|_| "test".to_owned()),
            ),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("TIERED_SESSIONS_DYNAMODB_ENDPOINT", self.get(MOTO)),
        ]
    }
}

/// One run of the binary.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("--json printed no JSON ({e}): {}", self.stdout))
    }

    /// The checks named `name` in a `--json` run.
    fn checks(&self, name: &str) -> Vec<Value> {
        let json = self.json();
        let checks = json["checks"].as_array().expect("a checks array");
        checks
            .iter()
            .filter(|c| c["check"] == name)
            .cloned()
            .collect()
    }

    /// The one check named `name`, after checking that its status is
    /// `status` and that its message says each of `words`.
    fn named(&self, name: &str, status: &str, words: &[&str]) -> Value {
        let found = self.checks(name);
        assert_eq!(found.len(), 1, "one {name} check in {}", self.stdout);
        let check = found[0].clone();
        assert_eq!(check["status"], status, "{check}");
        let message = check["message"].as_str().unwrap_or_default();
        for word in words {
            assert!(
                message.contains(word),
                "{name} does not say `{word}`: {message}"
            );
        }
        check
    }

    /// The one check named `name`, with its status.
    fn status(&self, name: &str) -> String {
        let found = self.checks(name);
        assert_eq!(found.len(), 1, "one {name} check in {}", self.stdout);
        found[0]["status"].as_str().unwrap_or_default().to_owned()
    }
}

/// `tiered-sessions doctor ARGS…` with only `env` set (nothing inherited).
fn doctor(env: &[(&str, String)], args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_tiered-sessions"))
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .arg("doctor")
        .args(args)
        .output()
        .expect("the binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run as text, as `--json` and as `--strict --json`: the text names every
/// check of the JSON with its status label, and `--strict` exits 1 on any
/// warning or failure. Returns the text and the JSON runs.
fn doctor_all(env: &[(&str, String)], store: &str) -> (Run, Run) {
    let text = doctor(env, &["--store", store]);
    let json = doctor(env, &["--store", store, "--json"]);
    assert_eq!(text.code, json.code, "{}\n{}", text.stdout, json.stdout);
    let report = json.json();
    for check in report["checks"].as_array().expect("checks") {
        let label = match check["status"].as_str() {
            Some("ok") => "ok",
            Some("warn") => "warn",
            _ => "FAIL",
        };
        let name = check["check"].as_str().unwrap_or_default();
        assert!(
            text.stdout
                .lines()
                .any(|l| l.starts_with(label) && l.contains(name)),
            "`{label} {name}` is not in the text output:\n{}",
            text.stdout
        );
    }
    let strict = doctor(env, &["--store", store, "--json", "--strict"]);
    let expected = if report["status"] == "ok" { 0 } else { 1 };
    assert_eq!(strict.code, expected, "--strict: {}", strict.stdout);
    (text, json)
}

/// Every check of a `--json` run is ok, except those in `allowed`.
fn all_ok_but(run: &Run, allowed: &[&str]) {
    for check in run.json()["checks"].as_array().expect("checks") {
        let name = check["check"].as_str().unwrap_or_default();
        if check["status"] != "ok" {
            assert!(allowed.contains(&name), "{name} is not ok: {check}");
        }
    }
}

/// A table on moto made by the driver (key schema and TTL as they should be).
async fn good_table(env: Env) -> DynamoStore {
    DynamoStore::builder(unique("doctor"))
        .endpoint_url(env.get(MOTO))
        .region("us-east-1")
        .ensure_table(true)
        .build()
        .await
        .expect("a table on moto")
}

/// A collection of its own, with the driver's indexes.
async fn good_collection(env: Env) -> (MongoStore, String) {
    let db = unique("doctor");
    let store = MongoStore::builder(env.get(MONGO))
        .database(&db)
        .collection("sessions")
        .build()
        .await
        .expect("a collection with its indexes");
    (store, db)
}

/// The variables of a Redis (at `redis_url`) in front of `store`'s table.
fn redis_dynamodb_env(
    env: Env,
    redis_url: String,
    store: &DynamoStore,
) -> Vec<(&'static str, String)> {
    let mut vars = env.aws();
    vars.push(("TIERED_SESSIONS_REDIS_URL", redis_url));
    vars.push((
        "TIERED_SESSIONS_DYNAMODB_TABLE",
        store.table_name().to_owned(),
    ));
    vars
}

fn mongo_env(env: Env, db: &str) -> Vec<(&'static str, String)> {
    vec![
        ("TIERED_SESSIONS_MONGODB_URI", env.get(MONGO)),
        ("TIERED_SESSIONS_MONGODB_DATABASE", db.to_owned()),
        ("TIERED_SESSIONS_MONGODB_COLLECTION", "sessions".to_owned()),
    ]
}

async fn drop_database(store: &MongoStore, db: &str) {
    let _ = store.collection().client().database(db).drop().await;
}

/// A redis-server of the test's own, on a free port, in a data directory
/// of its own: both gone when it is dropped.
struct OwnRedis {
    server: Server,
    dir: std::path::PathBuf,
    url: String,
}

impl OwnRedis {
    /// No persistence, 64 MB of memory, `allkeys-lru`.
    async fn allkeys_lru() -> Self {
        OwnRedis::start(&[
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxmemory",
            "64mb",
            "--maxmemory-policy",
            "allkeys-lru",
        ])
        .await
    }

    /// `CONFIG SET name value` (on the test's own server only).
    async fn config_set(&self, name: &str, value: &str) {
        let _: String = self
            .query(redis::cmd("CONFIG").arg("SET").arg(name).arg(value))
            .await;
    }

    /// Any command, on this server alone.
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> T {
        RedisCacheBuilder::standalone(&self.url)
            .call_timeout(std::time::Duration::from_secs(5))
            .build_store()
            .expect("a client")
            .query(cmd)
            .await
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
    }

    /// A cluster of two of the test's own: `primary` holding every slot and
    /// `replica` replicating it (each started with `cluster-enabled`).
    async fn make_cluster(primary: &OwnRedis, replica: &OwnRedis) {
        let _: String = primary
            .query(redis::cmd("CLUSTER").arg("ADDSLOTSRANGE").arg(0).arg(16383))
            .await;
        let id: String = primary
            .query(&redis::cmd("CLUSTER").arg("MYID").clone())
            .await;
        let port = primary
            .url
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        let _: String = replica
            .query(
                redis::cmd("CLUSTER")
                    .arg("MEET")
                    .arg("127.0.0.1")
                    .arg(&port),
            )
            .await;
        let nodes = redis::cmd("CLUSTER").arg("NODES").clone();
        let slots = redis::cmd("CLUSTER").arg("SLOTS").clone();
        for _ in 0..200 {
            let known: String = replica.query(&nodes).await;
            if known.contains(&id) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let _: String = replica
            .query(redis::cmd("CLUSTER").arg("REPLICATE").arg(&id))
            .await;
        for _ in 0..200 {
            let listed: redis::Value = primary.query(&slots).await;
            // One range: [start, end, primary, replica].
            if matches!(&listed, redis::Value::Array(r) if matches!(r.first(), Some(redis::Value::Array(n)) if n.len() == 4))
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the replica never showed in CLUSTER SLOTS");
    }

    async fn start(args: &[&str]) -> Self {
        let program = redis_server().expect("redis-server");
        let port = free_port().expect("a free port");
        let dir = std::env::temp_dir().join(unique("doctor_redis"));
        std::fs::create_dir_all(&dir).expect("a data dir");
        let mut all = vec![
            "--port".to_owned(),
            port.to_string(),
            "--bind".to_owned(),
            "127.0.0.1".to_owned(),
            "--dir".to_owned(),
            dir.display().to_string(),
        ];
        all.extend(args.iter().map(|s| (*s).to_owned()));
        let server = Server::start(program, all, port, dir.join("redis.log")).await;
        OwnRedis {
            server,
            dir,
            url: format!("redis://127.0.0.1:{port}"),
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.server.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

type Case = kit::Case<Env>;

/// A group of tests: name prefix, endpoint variables, other needs, cases.
type Group = (
    &'static str,
    &'static [&'static str],
    Needs,
    &'static [(&'static str, Case)],
);

fn usage(_: Env) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async {
        let none = doctor(&[], &[]);
        assert_eq!(none.code, 2, "no --store: {}", none.stderr);
        assert!(none.stderr.contains("--store"), "{}", none.stderr);
        let bad = doctor(&[], &["--store", "sqlite"]);
        assert_eq!(bad.code, 2);
        assert!(bad.stderr.contains("possible values"), "{}", bad.stderr);
        let pings = doctor(&[], &["--store", "memory", "--pings", "0"]);
        assert_eq!(pings.code, 2, "{}", pings.stderr);
        let unknown = doctor(&[], &["--store", "memory", "--frobnicate"]);
        assert_eq!(unknown.code, 2);
        // A configuration error: no table named.
        let no_table = doctor(&[], &["--store", "dynamodb", "--json"]);
        assert_eq!(no_table.code, 2, "{}", no_table.stderr);
        assert!(no_table.stderr.contains("TIERED_SESSIONS_DYNAMODB_TABLE"));
        assert_eq!(no_table.json()["kind"], "usage");
        let no_redis = doctor(&[], &["--store", "redis"]);
        assert_eq!(no_redis.code, 2);
        assert!(
            no_redis.stderr.contains("TIERED_SESSIONS_REDIS_URL"),
            "{}",
            no_redis.stderr
        );
        let bad_number = doctor(
            &[
                (
                    "TIERED_SESSIONS_MONGODB_URI",
                    "mongodb://127.0.0.1:1".to_owned(),
                ),
                ("TIERED_SESSIONS_MONGODB_TIMEOUT_MS", "soon".to_owned()),
            ],
            &["--store", "mongodb"],
        );
        assert_eq!(bad_number.code, 2, "{}", bad_number.stderr);
        let help = doctor(&[], &["--help"]);
        assert_eq!(help.code, 0);
        assert!(help.stdout.contains("--strict") && help.stdout.contains("Exit codes"));
    })
}

fn memory_is_ok(_: Env) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async {
        // The store from TIERED_SESSIONS_STORE, as from --store.
        let env = [("TIERED_SESSIONS_STORE", "memory".to_owned())];
        let run = doctor(&env, &["--json", "--strict"]);
        assert_eq!(run.code, 0, "{}", run.stdout);
        assert_eq!(run.json()["store"], "memory");
        all_ok_but(&run, &[]);
    })
}

fn redis_down_fails(_: Env) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        let port = free_port().expect("a free port");
        let vars = [(
            "TIERED_SESSIONS_REDIS_URL",
            format!("redis://:secret@127.0.0.1:{port}"),
        )];
        let (text, json) = doctor_all(&vars, "redis");
        assert_eq!(json.code, 1, "{}", text.stdout);
        let reach = json.named("redis.reachable", "fail", &["Redis does not answer"]);
        assert_eq!(reach["target"], format!("127.0.0.1:{port}"));
        assert!(text.stdout.contains("fix: "), "{}", text.stdout);
        assert!(
            !text.stdout.contains("secret"),
            "the password is shown: {}",
            text.stdout
        );
        // The other Redis checks need an answer: not run.
        assert!(json.checks("redis.eviction").is_empty());
    })
}

fn redis_down_in_front_of_dynamodb(env: Env) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        let store = good_table(env).await;
        let port = free_port().expect("a free port");
        let vars = redis_dynamodb_env(env, format!("redis://127.0.0.1:{port}"), &store);
        let (text, json) = doctor_all(&vars, "redis-dynamodb");
        assert_eq!(json.code, 1, "{}", text.stdout);
        assert_eq!(json.status("redis.reachable"), "fail");
        assert!(
            text.stdout.contains("saves of stored sessions are refused"),
            "{}",
            text.stdout
        );
        // The durable tier is fine, and said so.
        assert_eq!(json.status("dynamodb.table"), "ok");
        assert_eq!(json.status("dynamodb.ttl"), "ok");
        store.delete_table().await.expect("drop the table");
    })
}

fn good_redis_dynamodb(env: Env) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        let store = good_table(env).await;
        let vars = redis_dynamodb_env(env, env.get(REDIS), &store);
        let (text, json) = doctor_all(&vars, "redis-dynamodb");
        assert_eq!(json.code, 0, "{}", text.stdout);
        all_ok_but(&json, &[]);
        for name in [
            "redis.reachable",
            "redis.eviction",
            "redis.clock",
            "dynamodb.reachable",
            "dynamodb.table",
            "dynamodb.ttl",
            "dynamodb.clock",
            "store.record-limits",
        ] {
            assert_eq!(json.status(name), "ok", "{name}");
        }
        // A cache tier needs no persistence: not judged.
        assert!(json.checks("redis.persistence").is_empty());
        let reach = &json.checks("dynamodb.reachable")[0];
        let median = reach["data"]["median_ms"].as_f64().expect("a median");
        assert!(median > 0.0 && median < 3000.0, "{reach}");
        assert_eq!(
            reach["data"]["round_trips_ms"].as_array().map(Vec::len),
            Some(5)
        );
        let limits = &json.checks("store.record-limits")[0]["data"];
        assert_eq!(limits["effective_max_record_bytes"], 409_088);
        assert!(text.stdout.ends_with("0 failed\n"), "{}", text.stdout);
        store.delete_table().await.expect("drop the table");
    })
}

fn dynamodb_ttl_off_and_missing_table(env: Env) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        let table = unique("doctor_nottl");
        let store = DynamoStore::builder(&table)
            .endpoint_url(env.get(MOTO))
            .region("us-east-1")
            .check_at_start(false)
            .build()
            .await
            .expect("a client");
        let mut vars = env.aws();
        vars.push(("TIERED_SESSIONS_DYNAMODB_TABLE", table.clone()));
        // No table yet.
        let (text, json) = doctor_all(&vars, "dynamodb");
        assert_eq!(json.code, 1, "{}", text.stdout);
        let missing = json.named("dynamodb.table", "fail", &["does not exist"]);
        assert!(
            missing["fix"]
                .as_str()
                .is_some_and(|f| f.contains("ensure-schema"))
        );
        // The table, made by hand without TTL.
        let key = |t| {
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(t)
                .build()
                .expect("key")
        };
        store
            .client()
            .create_table()
            .table_name(&table)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("attribute"),
            )
            .key_schema(key(KeyType::Hash))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .expect("create the table");
        let (text, json) = doctor_all(&vars, "dynamodb");
        assert_eq!(json.code, 0, "a warning only: {}", text.stdout);
        assert_eq!(json.status("dynamodb.table"), "ok");
        let ttl = json.named("dynamodb.ttl", "warn", &["TTL is off"]);
        assert_eq!(ttl["data"]["state"], "off");
        store.delete_table().await.expect("drop the table");
    })
}

fn mongodb_missing_indexes(env: Env) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        let (store, db) = good_collection(env).await;
        let vars = mongo_env(env, &db);
        let (text, json) = doctor_all(&vars, "mongodb");
        assert_eq!(json.code, 0, "{}", text.stdout);
        // The local server is a one-member replica set: the write concern
        // check warns about exactly that.
        let members = json.checks("mongodb.write-concern")[0]["data"]["members"].as_u64();
        let allowed: &[&str] = if members < Some(3) {
            &["mongodb.write-concern"]
        } else {
            &[]
        };
        all_ok_but(&json, allowed);
        assert_eq!(json.status("mongodb.ttl-index"), "ok");
        assert_eq!(json.status("mongodb.principal-index"), "ok");
        let wc = &json.checks("mongodb.write-concern")[0]["message"];
        assert!(
            wc.as_str()
                .is_some_and(|m| m.contains("w: majority, j: true")),
            "{wc}"
        );
        // Without the principal index: a warning; without the TTL index too:
        // a failure. Each named.
        for (index, code, check, status, says) in [
            (
                "principal",
                0,
                "mongodb.principal-index",
                "warn",
                "scans the whole collection",
            ),
            ("exp_ttl", 1, "mongodb.ttl-index", "fail", "no TTL index"),
        ] {
            store
                .collection()
                .drop_index(index)
                .await
                .expect("drop the index");
            let (text, json) = doctor_all(&vars, "mongodb");
            assert_eq!(json.code, code, "{}", text.stdout);
            json.named(check, status, &[says]);
        }
        drop_database(&store, &db).await;
    })
}

fn inconsistent_record_limits(env: Env) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        let (store, db) = good_collection(env).await;
        let mut vars = mongo_env(env, &db);
        vars.push(("TIERED_SESSIONS_REDIS_URL", env.get(REDIS)));
        let (_, json) = doctor_all(&vars, "redis-mongodb");
        assert_eq!(json.status("store.record-limits"), "ok");
        // The durable tier told to take 4 MB behind a cache that takes 1 MiB.
        vars.push((
            "TIERED_SESSIONS_MONGODB_MAX_RECORD_BYTES",
            "4000000".to_owned(),
        ));
        let (text, json) = doctor_all(&vars, "redis-mongodb");
        let limits = json.named(
            "store.record-limits",
            "warn",
            &[
                "TIERED_SESSIONS_MONGODB_MAX_RECORD_BYTES=4000000",
                "1048576",
            ],
        );
        assert_eq!(limits["data"]["effective_max_record_bytes"], 1_048_576);
        assert!(text.stdout.contains("warn  store.record-limits"));
        drop_database(&store, &db).await;
    })
}

fn allkeys_lru_on_a_redis_store(_: Env) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async {
        let redis = OwnRedis::allkeys_lru().await;
        let url = redis.url.clone();
        let vars = [("TIERED_SESSIONS_REDIS_URL", url.clone())];
        let (text, json) = doctor_all(&vars, "redis");
        assert_eq!(json.code, 0, "warnings only: {}", text.stdout);
        let eviction = json.named("redis.eviction", "warn", &["allkeys-lru", "silently drops"]);
        assert_eq!(eviction["data"]["maxmemory_policy"], "allkeys-lru");
        json.named("redis.persistence", "warn", &["no persistence"]);
        // Put right: AOF on, noeviction. A good Redis-only store.
        redis.config_set("appendonly", "yes").await;
        redis.config_set("maxmemory-policy", "noeviction").await;
        let (text, json) = doctor_all(&vars, "redis");
        assert_eq!(json.code, 0, "{}", text.stdout);
        all_ok_but(&json, &[]);
        drop(redis);
    })
}

fn allkeys_lru_is_fine_for_a_cache(env: Env) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        let redis = OwnRedis::allkeys_lru().await;
        let url = redis.url.clone();
        let store = good_table(env).await;
        let vars = redis_dynamodb_env(env, url.clone(), &store);
        let (text, json) = doctor_all(&vars, "redis-dynamodb");
        assert_eq!(json.code, 0, "{}", text.stdout);
        assert_eq!(json.status("redis.eviction"), "ok");
        // noeviction with a memory limit: a full cache would refuse saves.
        redis.config_set("maxmemory-policy", "noeviction").await;
        let (_, json) = doctor_all(&vars, "redis-dynamodb");
        assert_eq!(json.status("redis.eviction"), "warn");
        store.delete_table().await.expect("drop the table");
        drop(redis);
    })
}

fn replicas_are_checked_too(_: Env) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async {
        let cluster = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
        ];
        let mut primary_args = cluster.to_vec();
        primary_args.extend(["--save", "", "--appendonly", "no"]);
        // CLUSTER SLOTS lists a replica once it has synced and its offset
        // moved: sync at once (not after 5 s) and ping it every second.
        primary_args.extend(["--repl-diskless-sync-delay", "0"]);
        primary_args.extend(["--repl-ping-replica-period", "1"]);
        primary_args.extend(["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"]);
        let primary = OwnRedis::start(&primary_args).await;
        let mut replica_args = cluster.to_vec();
        replica_args.extend(["--appendonly", "yes"]);
        let replica = OwnRedis::start(&replica_args).await;
        OwnRedis::make_cluster(&primary, &replica).await;
        let vars = [("TIERED_SESSIONS_REDIS_CLUSTER_URLS", primary.url.clone())];
        let (text, json) = doctor_all(&vars, "redis");
        assert_eq!(json.code, 0, "warnings only: {}", text.stdout);
        let on = |check: &str, server: &OwnRedis| -> Value {
            let target = server.url.trim_start_matches("redis://");
            json.checks(check)
                .into_iter()
                .find(|c| c["target"] == target)
                .unwrap_or_else(|| panic!("no {check} for {target}: {}", text.stdout))
        };
        assert_eq!(on("redis.reachable", &primary)["data"]["primary"], true);
        assert_eq!(on("redis.reachable", &replica)["data"]["primary"], false);
        assert!(text.stdout.contains("(replica) answers"), "{}", text.stdout);
        // Each node judged on its own settings.
        assert_eq!(on("redis.persistence", &primary)["status"], "warn");
        assert_eq!(on("redis.persistence", &replica)["status"], "ok");
        assert_eq!(on("redis.eviction", &primary)["status"], "warn");
        assert_eq!(on("redis.eviction", &replica)["status"], "ok");
        drop((primary, replica));
    })
}

fn tls_without_the_ca_is_named(env: Env) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        // The server's certificate is from the test CA, which is not given.
        let vars = [("TIERED_SESSIONS_REDIS_URL", env.get(REDIS_TLS))];
        let (text, json) = doctor_all(&vars, "redis");
        assert_eq!(json.code, 1, "{}", text.stdout);
        json.named("redis.reachable", "fail", &["refuses the check", "TLS"]);
    })
}

fn every_cluster_node_is_checked(env: Env) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        let urls = env.get(CLUSTER);
        let vars = [("TIERED_SESSIONS_REDIS_CLUSTER_URLS", urls.clone())];
        let (text, json) = doctor_all(&vars, "redis");
        assert_eq!(json.code, 0, "{}", text.stdout);
        let mut checked: Vec<String> = json
            .checks("redis.reachable")
            .iter()
            .map(|c| c["target"].as_str().unwrap_or_default().to_owned())
            .collect();
        checked.sort();
        let mut seeds: Vec<String> = urls
            .split(',')
            .map(|u| u.trim().trim_start_matches("redis://").to_owned())
            .collect();
        seeds.sort();
        assert_eq!(checked, seeds, "{}", text.stdout);
        for name in ["redis.persistence", "redis.eviction", "redis.clock"] {
            assert_eq!(json.checks(name).len(), seeds.len(), "{name} per node");
        }
    })
}

/// What a group of tests needs besides the endpoint variables.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Needs {
    Nothing,
    /// A `redis-server` binary, to start one of the test's own.
    RedisServer,
}

/// The trials of `cases`, run when every variable of `vars` is set (and a
/// `redis-server` is there if `needs` says so).
fn group(prefix: &str, vars: &[&str], needs: Needs, cases: &[(&'static str, Case)]) -> Vec<Trial> {
    let unmet = vars
        .iter()
        .find_map(|n| kit::endpoint(n).err())
        .or_else(|| {
            (needs == Needs::RedisServer)
                .then(|| redis_server().err())
                .flatten()
        });
    let make: Result<fn() -> Env, String> = match unmet {
        Some(reason) => Err(reason),
        None => Ok(|| Env),
    };
    kit::trials(prefix, make, cases)
}

fn main() -> ExitCode {
    use Needs::{Nothing, RedisServer};
    let args = Arguments::from_args();
    let groups: [Group; 7] = [
        (
            "doctor::usage",
            &[],
            Nothing,
            &[
                ("bad_arguments_exit_2", usage),
                ("memory_is_ok", memory_is_ok),
                ("redis_down_fails", redis_down_fails),
            ],
        ),
        (
            "doctor::own_redis",
            &[],
            RedisServer,
            &[
                ("allkeys_lru_on_a_store_warns", allkeys_lru_on_a_redis_store),
                ("cluster_replicas_are_checked", replicas_are_checked_too),
            ],
        ),
        (
            "doctor::cluster",
            &[CLUSTER],
            Nothing,
            &[("every_node_is_checked", every_cluster_node_is_checked)],
        ),
        (
            "doctor::tls",
            &[REDIS_TLS],
            Nothing,
            &[("without_the_ca_is_named", tls_without_the_ca_is_named)],
        ),
        (
            "doctor::dynamodb",
            &[REDIS, MOTO, AWS],
            Nothing,
            &[
                ("good_redis_dynamodb_is_ok", good_redis_dynamodb),
                (
                    "ttl_off_and_missing_table",
                    dynamodb_ttl_off_and_missing_table,
                ),
                ("redis_down_in_front", redis_down_in_front_of_dynamodb),
            ],
        ),
        (
            "doctor::dynamodb_own_redis",
            &[MOTO, AWS],
            RedisServer,
            &[(
                "allkeys_lru_fine_for_a_cache",
                allkeys_lru_is_fine_for_a_cache,
            )],
        ),
        (
            "doctor::mongodb",
            &[REDIS, MONGO],
            Nothing,
            &[
                ("missing_indexes", mongodb_missing_indexes),
                ("inconsistent_record_limits", inconsistent_record_limits),
            ],
        ),
    ];
    let trials = groups
        .into_iter()
        .flat_map(|(prefix, vars, needs, cases)| group(prefix, vars, needs, cases))
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}
