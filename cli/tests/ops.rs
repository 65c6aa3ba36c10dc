//! `ensure-schema`, `cleanup`, `inspect` and `revoke`, run as the binary
//! against the real local services (moto and dynalite for DynamoDB,
//! SecantusDB for MongoDB, Redis), each test on a table, collection or key
//! prefix of its own. Cookies are made by the library itself.
//!
//! Needs `scripts/services env`; a missing service skips its tests (a
//! failure under `CI=true`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // A failed unwrap is a failed test.

use std::collections::HashMap;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tiered_sessions::{
    Clock, FromEnv, ManualClock, Record, RequestCookies, SessionConfig, SessionId, SessionManager,
    SessionStore, SessionStoreExt, StoreKey, SystemClock,
};
use tiered_sessions_conformance::kit::{Case, Jar, endpoint, trials, unique};
use tiered_sessions_redis::RedisCacheBuilder;
use tiered_sessions_redis_dynamodb::{DynamoStore, DynamoStoreBuilder};
use tiered_sessions_redis_mongodb::MongoStoreBuilder;

const BIN: &str = env!("CARGO_BIN_EXE_tiered-sessions");
const KEY_A: [u8; 32] = [0xa1; 32];
const KEY_B: [u8; 32] = [0xb2; 32];

fn hex(key: &[u8]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

/// The environment of one run of the binary: only what the test sets
/// (inherited `TIERED_SESSIONS_*` settings are dropped).
#[derive(Clone, Default)]
struct Env(HashMap<String, String>);

impl Env {
    fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.0.insert(name.to_owned(), value.into());
        self
    }

    fn keys(self, keys: &[[u8; 32]]) -> Self {
        let list: Vec<String> = keys.iter().map(|k| hex(k)).collect();
        self.with("TIERED_SESSIONS_SIGNING_KEYS", list.join(","))
    }

    fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        |k| self.0.get(k).cloned()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        for (k, _) in std::env::vars() {
            if k.starts_with("TIERED_SESSIONS_") || k == "SESSION_KEY" {
                c.env_remove(k);
            }
        }
        c.envs(&self.0).args(args);
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        Run(self.command(args).output().expect("run the binary"))
    }
}

struct Run(Output);

impl Run {
    fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }

    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }

    /// The JSON document on stdout, after checking the exit code.
    fn json(&self, code: i32) -> Value {
        assert_eq!(
            self.code(),
            code,
            "stdout: {}\nstderr: {}",
            self.stdout(),
            self.stderr()
        );
        serde_json::from_str(self.stdout().trim())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout()))
    }
}

fn now() -> u64 {
    SystemClock.now()
}

fn store_key(n: usize) -> StoreKey {
    StoreKey::from_stored(format!("{n:064x}"))
}

/// `expired` expired and `live` live records, as the app would have left them.
async fn fill(store: &dyn SessionStore, expired: usize, live: usize) {
    let now = now();
    for n in 0..expired + live {
        let expires_at = if n < expired { now - 100 } else { now + 3600 };
        let record = Record {
            version: 1,
            created_at: now - 300,
            last_active: now - 200,
            expires_at,
            ..Record::default()
        };
        store
            .create(&store_key(n), &record, now - 200)
            .await
            .expect("create a record");
    }
}

/// Exactly the `live` records are left: nothing expired now, `live` by an
/// hour and a half from now.
async fn assert_left(store: &dyn SessionStore, live: u64) {
    let now = now();
    assert_eq!(store.delete_all_expired(now, 100, None).await.unwrap(), 0);
    assert_eq!(
        store
            .delete_all_expired(now + 5400, 100, None)
            .await
            .unwrap(),
        live
    );
}

// ---------- DynamoDB (moto, dynalite) ----------

fn dynamo_env(endpoint_var: &str) -> Env {
    Env::default()
        .with(
            "TIERED_SESSIONS_DYNAMODB_ENDPOINT",
            endpoint(endpoint_var).unwrap(),
        )
        .with(
            "TIERED_SESSIONS_DYNAMODB_TABLE",
            unique("ops-test").replace('_', "-"),
        )
        .with("AWS_REGION", "us-east-1")
}

/// The test's own handle on the table of `env` (created if `create`).
async fn dynamo_store(env: &Env, create: bool) -> DynamoStore {
    DynamoStoreBuilder::from_lookup(env.lookup())
        .unwrap()
        .ensure_table(create)
        .check_at_start(false)
        .build()
        .await
        .unwrap()
}

async fn ensure_schema_dynamodb_is_idempotent_and_dry_run_changes_nothing() {
    let env = dynamo_env("TS_DYNAMODB_MOTO_ENDPOINT");
    let store = dynamo_store(&env, false).await;
    let dry = env.run(&[
        "--json",
        "ensure-schema",
        "--store",
        "dynamodb",
        "--dry-run",
    ]);
    let dry = dry.json(0);
    assert_eq!(dry["steps"][0]["outcome"], "would create", "{dry}");
    assert_eq!(dry["changed"], false);
    assert!(
        !store.table_exists().await.unwrap(),
        "a dry run created the table"
    );

    let first = env
        .run(&["--json", "ensure-schema", "--store", "dynamodb"])
        .json(0);
    assert_eq!(first["changed"], true, "{first}");
    assert_eq!(first["steps"][0]["outcome"], "created");
    assert_eq!(first["steps"][1]["outcome"], "enabled");
    let again = env.run(&["ensure-schema", "--store", "dynamodb"]);
    assert_eq!(again.code(), 0, "{}", again.stderr());
    assert!(
        again.stdout().contains("already there"),
        "{}",
        again.stdout()
    );
    assert!(
        again.stdout().contains("nothing changed"),
        "{}",
        again.stdout()
    );
    let dry = env
        .run(&[
            "--json",
            "ensure-schema",
            "--store",
            "redis-dynamodb",
            "--dry-run",
        ])
        .json(0);
    assert_eq!(dry["steps"][1]["outcome"], "already there", "{dry}");
    assert!(store.check_table().await.is_ok());
    store.delete_table().await.unwrap();
}

/// dynalite has no TTL: said, and not an error, on every run.
async fn ensure_schema_dynamodb_without_ttl_is_not_an_error() {
    let env = dynamo_env("TS_DYNAMODB_DYNALITE_ENDPOINT");
    for outcome in ["created", "already there"] {
        let out = env
            .run(&["--json", "ensure-schema", "--store", "dynamodb"])
            .json(0);
        assert_eq!(out["steps"][0]["outcome"], outcome, "{out}");
        assert_eq!(out["steps"][1]["outcome"], "not supported by this engine");
    }
    dynamo_store(&env, false)
        .await
        .delete_table()
        .await
        .unwrap();
}

async fn cleanup_dynamodb_resumes_and_deletes_exactly_the_expired() {
    let env = dynamo_env("TS_DYNAMODB_DYNALITE_ENDPOINT");
    let store = dynamo_store(&env, true).await;
    fill(&store, 7, 5).await;
    let first = env
        .run(&[
            "--json",
            "cleanup",
            "--store",
            "dynamodb",
            "--batch",
            "3",
            "--max-batches",
            "1",
        ])
        .json(0);
    assert_eq!(first["stopped"], "max-batches", "{first}");
    assert_eq!(first["batches"], 1);
    let cursor = first["resume"].as_str().expect("a cursor").to_owned();
    let deleted_first = first["deleted_sessions"].as_u64().unwrap();
    assert!(deleted_first <= 3, "{first}");
    let rest = env
        .run(&[
            "--json", "cleanup", "--store", "dynamodb", "--batch", "3", "--resume", &cursor,
        ])
        .json(0);
    assert_eq!(rest["complete"], true, "{rest}");
    assert_eq!(rest["resume"], Value::Null);
    assert_eq!(
        deleted_first + rest["deleted_sessions"].as_u64().unwrap(),
        7
    );
    assert_left(&store, 5).await;
    store.delete_table().await.unwrap();
}

// ---------- MongoDB (SecantusDB) ----------

fn mongo_env() -> Env {
    Env::default()
        .with(
            "TIERED_SESSIONS_MONGODB_URI",
            endpoint("TS_MONGO_RS_URI").unwrap(),
        )
        .with("TIERED_SESSIONS_MONGODB_COLLECTION", unique("ops_test"))
}

async fn ensure_schema_mongodb_is_idempotent_and_dry_run_changes_nothing() {
    let env = mongo_env();
    let store = MongoStoreBuilder::from_lookup(env.lookup())
        .unwrap()
        .ensure_indexes(false)
        .check_at_start(false)
        .build()
        .await
        .unwrap();
    let dry = env
        .run(&["--json", "ensure-schema", "--store", "mongodb", "--dry-run"])
        .json(0);
    assert_eq!(dry["steps"][0]["outcome"], "would create", "{dry}");
    assert_eq!(dry["steps"][1]["outcome"], "would create", "{dry}");
    let found = store.find_indexes().await.unwrap();
    assert!(
        found.ttl.is_none() && !found.principal,
        "a dry run made {found:?}"
    );

    let first = env
        .run(&["--json", "ensure-schema", "--store", "mongodb"])
        .json(0);
    assert_eq!(first["steps"][0]["outcome"], "created", "{first}");
    assert_eq!(first["steps"][1]["outcome"], "created", "{first}");
    let found = store.find_indexes().await.unwrap();
    assert!(found.ttl.is_some() && found.principal, "{found:?}");
    let again = env
        .run(&["--json", "ensure-schema", "--store", "redis-mongodb"])
        .json(0);
    assert_eq!(again["changed"], false, "{again}");
    assert_eq!(again["steps"][0]["outcome"], "already there");
    assert_eq!(again["steps"][1]["outcome"], "already there");
    store.collection().drop().await.unwrap();
}

/// The binary's MongoDB settings for cleanup: no TTL index, so only the
/// cleanup deletes (the TTL monitor would race it).
fn mongo_cleanup_env() -> Env {
    mongo_env()
        .with("TIERED_SESSIONS_MONGODB_ENSURE_INDEXES", "false")
        .with("TIERED_SESSIONS_MONGODB_CHECK_AT_START", "false")
}

async fn mongo_store(env: &Env) -> tiered_sessions_redis_mongodb::MongoStore {
    MongoStoreBuilder::from_lookup(env.lookup())
        .unwrap()
        .build()
        .await
        .unwrap()
}

async fn cleanup_mongodb_resumes_after_max_batches() {
    let env = mongo_cleanup_env();
    let store = mongo_store(&env).await;
    fill(&store, 6, 4).await;
    let mut total = 0;
    let mut resume: Option<String> = None;
    let mut runs = 0;
    loop {
        let mut args = vec!["--json", "cleanup", "--store", "mongodb", "--batch", "2"];
        args.extend(["--max-batches", "2"]);
        if let Some(c) = &resume {
            args.extend(["--resume", c]);
        }
        let out = env.run(&args).json(0);
        total += out["deleted_sessions"].as_u64().unwrap();
        runs += 1;
        match out["resume"].as_str() {
            Some(c) => resume = Some(c.to_owned()),
            None => break,
        }
        assert!(runs < 20, "the cleanup never completes: {out}");
    }
    assert!(
        runs >= 2,
        "one run did it all: the interruption was not tested"
    );
    assert_eq!(total, 6);
    assert_left(&store, 4).await;
    store.collection().drop().await.unwrap();
}

async fn cleanup_stops_on_sigterm_with_a_cursor() {
    let env = mongo_cleanup_env();
    let store = mongo_store(&env).await;
    fill(&store, 8, 4).await;
    // One record per batch, two batches a second: some six seconds of work.
    let child = env
        .command(&[
            "--json", "cleanup", "--store", "mongodb", "--batch", "1", "--rate", "2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = Run(child.wait_with_output().unwrap());
    let stopped = out.json(1);
    assert_eq!(stopped["stopped"], "interrupted", "{stopped}");
    assert!(out.stderr().contains("--resume"), "{}", out.stderr());
    let first = stopped["deleted_sessions"].as_u64().unwrap();
    assert!(first < 8, "{stopped}");
    let cursor = stopped["resume"].as_str().unwrap().to_owned();
    let rest = env
        .run(&[
            "--json", "cleanup", "--store", "mongodb", "--resume", &cursor,
        ])
        .json(0);
    assert_eq!(
        first + rest["deleted_sessions"].as_u64().unwrap(),
        8,
        "{rest}"
    );
    assert_left(&store, 4).await;
    store.collection().drop().await.unwrap();
}

// ---------- Redis: stored sessions, principals ----------

fn redis_env() -> Env {
    Env::default()
        .with(
            "TIERED_SESSIONS_REDIS_URL",
            endpoint("TS_REDIS_URL").unwrap(),
        )
        .with(
            "TIERED_SESSIONS_REDIS_KEY_PREFIX",
            format!("{}:", unique("ops")),
        )
        .keys(&[KEY_A])
}

/// The app: sessions in the store of `env`, signed with key A.
fn redis_app(env: &Env) -> SessionManager {
    let store = RedisCacheBuilder::from_lookup(env.lookup())
        .unwrap()
        .build_store()
        .unwrap();
    let config = SessionConfig::builder([KEY_A])
        .cookie_only_threshold(0)
        .build()
        .unwrap();
    SessionManager::new(config, store)
}

/// One request: `user = name`, bound to `principal` if given; the jar's
/// cookies after it.
async fn login(app: &SessionManager, name: &str, principal: Option<&str>) -> Jar {
    let session = app.start(RequestCookies::default());
    session.insert("user", name).await.unwrap();
    if let Some(p) = principal {
        session.bind_principal(p).await.unwrap();
    }
    let mut jar = Jar::new();
    jar.update_from(&session.finish(200).await.unwrap());
    jar
}

async fn inspect_stored_session_then_revoke_it() {
    let env = redis_env();
    let app = redis_app(&env);
    let jar = login(&app, "alice", None).await;
    let value = jar.get("session").unwrap().to_owned();

    let without_store = env.run(&["--json", "inspect", &value]).json(0);
    assert_eq!(without_store["location"], "store", "{without_store}");
    assert_eq!(without_store["record"]["looked_up"], false);
    let found = env
        .run(&[
            "--json",
            "inspect",
            &value,
            "--store",
            "redis",
            "--show-values",
        ])
        .json(0);
    assert_eq!(found["record"]["found"], true, "{found}");
    assert_eq!(found["data"]["keys"], serde_json::json!(["user"]));
    assert_eq!(found["data"]["values"]["user"]["text"], "alice");
    let id = found["session_id"].as_str().unwrap().to_owned();

    let revoked = env
        .run(&["--json", "revoke", &id, "--store", "redis"])
        .json(0);
    assert_eq!(revoked["deleted"], true, "{revoked}");
    let parsed = SessionId::parse(&id).unwrap();
    assert!(app.load_by_id(&parsed).await.unwrap().is_none());
    let gone = env
        .run(&["--json", "inspect", &value, "--store", "redis"])
        .json(1);
    assert_eq!(gone["valid"], false, "{gone}");
    assert_eq!(gone["record"]["found"], false);
    assert_eq!(gone["reason"], "not-in-store");
    let again = env
        .run(&["--json", "revoke", &id, "--store", "redis"])
        .json(1);
    assert_eq!(again["deleted"], false);
}

async fn principal_sessions_are_listed_and_revoked() {
    let env = redis_env();
    let app = redis_app(&env);
    let phone = login(&app, "bob", Some("bob@example.com")).await;
    login(&app, "bob", Some("bob@example.com")).await;
    let listed = env
        .run(&[
            "--json",
            "inspect",
            "--principal",
            "bob@example.com",
            "--store",
            "redis",
        ])
        .json(0);
    let sessions = listed["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{listed}");
    // The binding shows on the cookie's record too.
    let value = phone.get("session").unwrap().to_owned();
    let one = env
        .run(&["--json", "inspect", &value, "--store", "redis"])
        .json(0);
    let handle = one["data"]["bound"]["handle"].as_str().unwrap().to_owned();
    assert!(sessions.iter().any(|s| s["handle"] == handle.as_str()));

    let by_handle = env
        .run(&[
            "--json",
            "revoke",
            "--principal",
            "bob@example.com",
            "--handle",
            &handle,
            "--store",
            "redis",
        ])
        .json(0);
    assert_eq!(by_handle["revoked"], 1, "{by_handle}");
    let all = env
        .run(&[
            "--json",
            "revoke",
            "--principal",
            "bob@example.com",
            "--all",
            "--store",
            "redis",
        ])
        .json(0);
    assert_eq!(all["revoked"], 1, "{all}");
    assert!(
        app.list_sessions("bob@example.com", None)
            .await
            .unwrap()
            .is_empty()
    );
    let none = env
        .run(&["--json", "inspect", &value, "--store", "redis"])
        .json(1);
    assert_eq!(none["valid"], false, "{none}");
}

// ---------- No service: cookies and arguments ----------

/// A cookie-only session made by the library under `config`.
async fn cookie_for(config: SessionConfig) -> Jar {
    let app = SessionManager::cookie_only(config);
    login(&app, "carol", None).await
}

async fn inspect_tells_valid_tampered_expired_wrong_name_and_rotated() {
    let env = Env::default().keys(&[KEY_A]);
    let jar = cookie_for(SessionConfig::builder([KEY_A]).build().unwrap()).await;
    let value = jar.get("session").unwrap().to_owned();

    let valid = env.run(&["--json", "inspect", &value]).json(0);
    assert_eq!(valid["valid"], true, "{valid}");
    assert_eq!(valid["reason"], Value::Null);
    assert_eq!(valid["location"], "cookie-only");
    assert_eq!(valid["key"]["index"], 1);
    assert_eq!(valid["data"]["keys"], serde_json::json!(["user"]));
    assert!(
        valid["data"].get("values").is_none(),
        "values without --show-values"
    );
    let text = env.run(&["inspect", &value]);
    assert_eq!(text.code(), 0);
    assert!(
        text.stdout().starts_with("valid session"),
        "{}",
        text.stdout()
    );
    assert!(
        !text.stdout().contains("carol"),
        "a value shown: {}",
        text.stdout()
    );
    assert!(!text.stdout().contains(&hex(&KEY_A)), "key material shown");
    let header = env
        .run(&[
            "--json",
            "inspect",
            "--header",
            &format!("Cookie: a=1; session={value}"),
        ])
        .json(0);
    assert_eq!(header["valid"], true, "{header}");

    // Tampered: one character of the signed part changed.
    let mut bytes = value.clone().into_bytes();
    let at = bytes.len() / 2;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    let bad = env.run(&["--json", "inspect", &tampered]).json(1);
    assert_eq!(bad["reason"], "bad-signature", "{bad}");
    let garbage = env.run(&["--json", "inspect", "%%%not-a-cookie"]).json(1);
    assert_eq!(garbage["reason"], "malformed", "{garbage}");

    // Rotated: key B is now first, A still verifies (as key 2 of 2).
    let rotated = Env::default()
        .keys(&[KEY_B, KEY_A])
        .run(&["--json", "inspect", &value])
        .json(0);
    assert_eq!(rotated["key"]["index"], 2, "{rotated}");
    assert_eq!(rotated["key"]["current"], false);
    let dropped = Env::default()
        .keys(&[KEY_B])
        .run(&["--json", "inspect", &value])
        .json(1);
    assert_eq!(dropped["reason"], "bad-signature", "{dropped}");

    // Expired: made ten days ago (the idle timeout is a day).
    let clock = ManualClock::new(now() - 10 * 86_400);
    let old = cookie_for(
        SessionConfig::builder([KEY_A])
            .clock(Arc::new(clock))
            .build()
            .unwrap(),
    )
    .await;
    let expired = env
        .run(&["--json", "inspect", old.get("session").unwrap()])
        .json(1);
    assert_eq!(expired["expired"], true, "{expired}");
    assert_eq!(expired["expiry_cause"], "idle");
    assert_eq!(expired["reason"], "expired");
    let clock = ManualClock::new(now() - 7200);
    let absolute = cookie_for(
        SessionConfig::builder([KEY_A])
            .clock(Arc::new(clock))
            .idle_timeout(None)
            .absolute_timeout(Duration::from_secs(3600))
            .build()
            .unwrap(),
    )
    .await;
    let abs = env
        .run(&[
            "--json",
            "inspect",
            absolute.get("session").unwrap(),
            "--idle-timeout",
            "0",
            "--absolute-timeout",
            "3600",
        ])
        .json(1);
    assert_eq!(abs["expiry_cause"], "absolute", "{abs}");

    // Wrong name: the app calls its cookie `sid`.
    let sid = cookie_for(
        SessionConfig::builder([KEY_A])
            .cookie_name("sid")
            .build()
            .unwrap(),
    )
    .await;
    let sid_value = sid.get("sid").unwrap().to_owned();
    let header = format!("Cookie: a=1; sid={sid_value}");
    let wrong = env.run(&["--json", "inspect", "--header", &header]).json(1);
    assert_eq!(wrong["reason"], "wrong-name", "{wrong}");
    assert_eq!(wrong["suggested_cookie_name"], "sid");
    let bare = env.run(&["--json", "inspect", &sid_value]).json(1);
    assert_eq!(bare["reason"], "bad-signature", "{bare}");
    let right = env
        .run(&[
            "--json",
            "inspect",
            "--header",
            &header,
            "--cookie-name",
            "sid",
        ])
        .json(0);
    assert_eq!(right["valid"], true, "{right}");
}

async fn inspect_reads_chunked_cookies() {
    let env = Env::default().keys(&[KEY_A]);
    let config = SessionConfig::builder([KEY_A])
        .max_cookie_len(800)
        .build()
        .unwrap();
    let app = SessionManager::cookie_only(config);
    let session = app.start(RequestCookies::default());
    session.insert("blob", &"x".repeat(1500)).await.unwrap();
    let mut jar = Jar::new();
    jar.update_from(&session.finish(200).await.unwrap());
    assert!(
        jar.get("session.1").is_some(),
        "not chunked: {:?}",
        jar.names()
    );
    let header = jar.header().unwrap();
    let out = env
        .run(&[
            "--json",
            "inspect",
            "--header",
            &header,
            "--max-cookie-len",
            "800",
        ])
        .json(0);
    assert_eq!(out["chunked"], true, "{out}");
    assert_eq!(out["location"], "cookie-only");
}

async fn bad_arguments_exit_2_with_a_message() {
    let keyed = Env::default().keys(&[KEY_A]);
    let cases: &[(&Env, &[&str], &str)] = &[
        (&keyed, &[], "Usage"),
        (&keyed, &["cleanup"], "--store"),
        (&keyed, &["cleanup", "--store", "nosuch"], "nosuch"),
        (
            &keyed,
            &["cleanup", "--store", "memory", "--batch", "0"],
            "--batch",
        ),
        (
            &keyed,
            &["cleanup", "--store", "memory", "--rate", "0"],
            "--rate",
        ),
        (
            &keyed,
            &["cleanup", "--store", "memory", "--resume", ""],
            "--resume",
        ),
        (&keyed, &["ensure-schema", "--store", "memory"], "no schema"),
        (&keyed, &["inspect"], "COOKIE_VALUE"),
        (&keyed, &["inspect", "--principal", "x"], "--store"),
        (&keyed, &["revoke", "--store", "memory"], "SESSION_ID"),
        (
            &keyed,
            &["revoke", "not-an-id", "--store", "memory"],
            "SESSION_ID",
        ),
        (
            &keyed,
            &["revoke", "--principal", "x", "--store", "memory"],
            "--all",
        ),
        (
            &keyed,
            &["revoke", "--principal", "x", "--all", "--store", "memory"],
            "memory",
        ),
        (&keyed, &["inspect", "abc", "--store", "memory"], "memory"),
        (
            &Env::default(),
            &["inspect", "abc"],
            "TIERED_SESSIONS_SIGNING_KEYS",
        ),
        (
            &Env::default().with("TIERED_SESSIONS_SIGNING_KEYS", "abcd"),
            &["inspect", "abc"],
            "at least 64",
        ),
        (
            &Env::default().with("TIERED_SESSIONS_DYNAMODB_ENDPOINT", "http://127.0.0.1:9"),
            &["cleanup", "--store", "dynamodb"],
            "TIERED_SESSIONS_DYNAMODB_TABLE",
        ),
    ];
    for (env, args, needle) in cases {
        let out = env.run(args);
        assert_eq!(out.code(), 2, "{args:?}: {}{}", out.stdout(), out.stderr());
        assert!(
            out.stderr().contains(needle),
            "{args:?}: no {needle:?} in {}",
            out.stderr()
        );
    }
    // A store that does not answer: exit 1, and the cursor it was given back.
    let down = Env::default()
        .with(
            "TIERED_SESSIONS_MONGODB_URI",
            "mongodb://127.0.0.1:9/?directConnection=true",
        )
        .with("TIERED_SESSIONS_MONGODB_CONNECT_TIMEOUT_MS", "300")
        .with("TIERED_SESSIONS_MONGODB_TIMEOUT_MS", "300");
    let failed = down
        .run(&[
            "--json",
            "cleanup",
            "--store",
            "mongodb",
            "--resume",
            "records:abc",
        ])
        .json(1);
    assert_eq!(failed["stopped"], "error", "{failed}");
    assert_eq!(failed["resume"], "records:abc");
    assert!(failed["error"].is_string());
    let json = keyed
        .run(&["--json", "ensure-schema", "--store", "redis"])
        .json(2);
    assert_eq!(json["kind"], "usage");
    // The memory store has nothing to clean, and says so in JSON.
    let memory = keyed
        .run(&["--json", "cleanup", "--store", "memory"])
        .json(0);
    assert_eq!(memory["complete"], true, "{memory}");
    for sub in ["ensure-schema", "cleanup", "inspect", "revoke"] {
        let help = keyed.run(&[sub, "--help"]);
        assert_eq!(help.code(), 0);
        assert!(
            help.stdout().contains("Exit codes"),
            "{sub}: {}",
            help.stdout()
        );
    }
}

fn needs(vars: &[&str]) -> Result<fn(), String> {
    for v in vars {
        endpoint(v)?;
    }
    Ok(|| ())
}

macro_rules! cases {
    ($($f:ident),* $(,)?) => {
        &[$((stringify!($f), (|()| Box::pin($f())) as Case<()>)),*]
    };
}

fn main() -> std::process::ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let mut all = trials(
        "moto",
        needs(&["TS_DYNAMODB_MOTO_ENDPOINT", "AWS_ACCESS_KEY_ID"]),
        cases![ensure_schema_dynamodb_is_idempotent_and_dry_run_changes_nothing],
    );
    all.extend(trials(
        "dynalite",
        needs(&["TS_DYNAMODB_DYNALITE_ENDPOINT", "AWS_ACCESS_KEY_ID"]),
        cases![
            ensure_schema_dynamodb_without_ttl_is_not_an_error,
            cleanup_dynamodb_resumes_and_deletes_exactly_the_expired,
        ],
    ));
    all.extend(trials(
        "mongodb",
        needs(&["TS_MONGO_RS_URI"]),
        cases![
            ensure_schema_mongodb_is_idempotent_and_dry_run_changes_nothing,
            cleanup_mongodb_resumes_after_max_batches,
            cleanup_stops_on_sigterm_with_a_cursor,
        ],
    ));
    all.extend(trials(
        "redis",
        needs(&["TS_REDIS_URL"]),
        cases![
            inspect_stored_session_then_revoke_it,
            principal_sessions_are_listed_and_revoked,
        ],
    ));
    all.extend(trials(
        "offline",
        Ok(|| ()),
        cases![
            inspect_tells_valid_tampered_expired_wrong_name_and_rotated,
            inspect_reads_chunked_cookies,
            bad_arguments_exit_2_with_a_message,
        ],
    ));
    libtest_mimic::run(&args, all).exit_code()
}
