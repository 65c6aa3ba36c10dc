//! The DynamoDB durable tier against two engines (moto and dynalite): table
//! setup, conditional writes, expiry, the item size limit, batched cleanup and
//! error classes. Every case gets a fresh table.
//!
//! Needs `TS_DYNAMODB_MOTO_ENDPOINT`, `TS_DYNAMODB_DYNALITE_ENDPOINT` and
//! `AWS_*` dummy credentials (`scripts/services env`).

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use std::time::Duration;

use tiered_sessions::codec::encode_record;
use tiered_sessions::{Durability, Error, Record, SessionStore, SessionStoreExt, StoreKey};
use tiered_sessions_conformance::kit::{Case, endpoint as env, trials, unique};
use tiered_sessions_redis_dynamodb::{DynamoStore, MAX_RECORD_BYTES, TtlSetup};

const NOW: u64 = 1_800_000_000;

/// Which engine, and a store on a fresh table (made by the case).
#[derive(Clone, Copy)]
struct Engine {
    endpoint_var: &'static str,
    ttl_supported: bool,
    /// moto counts binary attributes as base64 text: a lower record limit.
    max_record_bytes: usize,
}

const MOTO: Engine = Engine {
    endpoint_var: "TS_DYNAMODB_MOTO_ENDPOINT",
    ttl_supported: true,
    max_record_bytes: 300_000,
};
const DYNALITE: Engine = Engine {
    endpoint_var: "TS_DYNAMODB_DYNALITE_ENDPOINT",
    ttl_supported: false,
    max_record_bytes: MAX_RECORD_BYTES,
};

impl Engine {
    async fn store(self) -> DynamoStore {
        let endpoint = std::env::var(self.endpoint_var).unwrap_or_default();
        DynamoStore::builder(unique("sessions-test").replace('_', "-"))
            .endpoint_url(endpoint)
            .region("us-east-1")
            .max_record_bytes(self.max_record_bytes)
            .ensure_table(true)
            .build()
            .await
            .expect("valid settings, and the table")
    }
}

fn key() -> StoreKey {
    StoreKey::from_stored(format!("{:0>64}", unique("k").replace('_', "")))
}

fn rec(version: u64, expires_at: u64) -> Record {
    let mut r = Record {
        version,
        expires_at,
        created_at: NOW - 10,
        last_active: NOW - 5,
        ..Record::default()
    };
    r.data.insert("user".into(), b"alice".to_vec());
    r
}

async fn ensure_table_is_idempotent_and_sets_ttl(e: Engine) {
    let endpoint = std::env::var(e.endpoint_var).unwrap_or_default();
    let store = DynamoStore::builder(unique("sessions-test").replace('_', "-"))
        .endpoint_url(endpoint)
        .region("us-east-1")
        .check_at_start(false)
        .build()
        .await
        .unwrap();
    let first = store.ensure_table().await.unwrap();
    assert!(first.created);
    let again = store.ensure_table().await.unwrap();
    assert!(!again.created);
    if e.ttl_supported {
        assert_eq!(first.ttl, TtlSetup::Enabled);
        assert_eq!(again.ttl, TtlSetup::AlreadyEnabled);
    } else {
        assert_eq!(
            (first.ttl, again.ttl),
            (TtlSetup::Unsupported, TtlSetup::Unsupported)
        );
    }
    store.delete_table().await.unwrap();
    store.delete_table().await.unwrap();
}

async fn create_load_and_already_exists(e: Engine) {
    let s = e.store().await;
    let k = key();
    assert_eq!(s.load(&k, NOW).await.unwrap(), None);
    let r = rec(1, NOW + 100);
    s.create(&k, &r, NOW).await.unwrap();
    assert_eq!(s.load(&k, NOW).await.unwrap(), Some(r));
    assert!(matches!(
        s.create(&k, &rec(1, NOW + 100), NOW).await,
        Err(Error::AlreadyExists)
    ));
    // Expired: invisible, and a create may replace it.
    assert_eq!(s.load(&k, NOW + 100).await.unwrap(), None);
    s.create(&k, &rec(1, NOW + 500), NOW + 100).await.unwrap();
    assert_eq!(
        s.load(&k, NOW + 100).await.unwrap().map(|r| r.expires_at),
        Some(NOW + 500)
    );
}

async fn save_is_conditional_on_version_and_life(e: Engine) {
    let s = e.store().await;
    let k = key();
    assert!(matches!(
        s.save(&k, &rec(2, NOW + 100), 1, Durability::Durable, NOW)
            .await,
        Err(Error::NotFound)
    ));
    s.create(&k, &rec(1, NOW + 100), NOW).await.unwrap();
    s.save(&k, &rec(2, NOW + 100), 1, Durability::Durable, NOW)
        .await
        .unwrap();
    // Stored 2 is newer than expected 1.
    assert!(matches!(
        s.save(&k, &rec(2, NOW + 100), 1, Durability::Durable, NOW)
            .await,
        Err(Error::Conflict)
    ));
    // Not newer: a durable save after quick saves the durable tier never saw.
    s.save(&k, &rec(6, NOW + 100), 5, Durability::Durable, NOW)
        .await
        .unwrap();
    assert_eq!(s.load(&k, NOW).await.unwrap().map(|r| r.version), Some(6));
    // Expired or deleted: never brought back.
    assert!(matches!(
        s.save(&k, &rec(7, NOW + 900), 6, Durability::Durable, NOW + 100)
            .await,
        Err(Error::NotFound)
    ));
    s.delete(&k, NOW).await.unwrap();
    s.delete(&k, NOW).await.unwrap();
    assert!(matches!(
        s.save(&k, &rec(7, NOW + 900), 6, Durability::Durable, NOW)
            .await,
        Err(Error::NotFound)
    ));
    assert_eq!(s.load(&k, NOW).await.unwrap(), None);
}

/// `v <= :expected` must compare numbers, not digit strings ("10" < "9").
async fn save_compares_versions_as_numbers(e: Engine) {
    let s = e.store().await;
    let k = key();
    s.create(&k, &rec(10, NOW + 100), NOW).await.unwrap();
    assert!(matches!(
        s.save(&k, &rec(10, NOW + 100), 9, Durability::Durable, NOW)
            .await,
        Err(Error::Conflict)
    ));
    s.save(&k, &rec(100, NOW + 100), 99, Durability::Durable, NOW)
        .await
        .unwrap();
    assert!(matches!(
        s.save(&k, &rec(99, NOW + 100), 98, Durability::Durable, NOW)
            .await,
        Err(Error::Conflict)
    ));
    assert_eq!(s.load(&k, NOW).await.unwrap().map(|r| r.version), Some(100));
}

async fn touch_moves_expiry_only_while_live(e: Engine) {
    let s = e.store().await;
    let k = key();
    assert!(matches!(
        s.touch(&k, NOW + 10, NOW, NOW).await,
        Err(Error::NotFound)
    ));
    let r = rec(4, NOW + 100);
    s.create(&k, &r, NOW).await.unwrap();
    s.touch(&k, NOW + 900, NOW + 50, NOW + 50).await.unwrap();
    let got = s.load(&k, NOW + 800).await.unwrap().expect("touched");
    assert_eq!(
        (got.version, got.expires_at, got.last_active, got.data),
        (4, NOW + 900, NOW + 50, r.data)
    );
    assert!(matches!(
        s.touch(&k, NOW + 9000, NOW, NOW + 900).await,
        Err(Error::NotFound)
    ));
    assert_eq!(s.load(&k, NOW + 900).await.unwrap(), None);
}

fn record_of_encoded_len(len: usize) -> Record {
    let mut r = rec(1, NOW + 100);
    r.data.clear();
    r.data.insert("blob".into(), Vec::new());
    let base = encode_record(&r).len();
    // Growing the value by n grows the encoding by n plus its length prefix.
    let mut n = len - base;
    loop {
        r.data.insert("blob".into(), vec![b'x'; n]);
        let got = encode_record(&r).len();
        if got <= len {
            return r;
        }
        n -= got - len;
    }
}

async fn the_item_limit_is_typed_and_fits_the_engine(e: Engine) {
    let s = e.store().await;
    let k = key();
    let limit = s.max_record_bytes();
    assert_eq!(limit, e.max_record_bytes);
    let biggest = record_of_encoded_len(limit);
    assert!(encode_record(&biggest).len() > limit - 8);
    s.create(&k, &biggest, NOW)
        .await
        .expect("the largest allowed record fits an item");
    assert_eq!(s.load(&k, NOW).await.unwrap(), Some(biggest));
    let too_big = record_of_encoded_len(limit + 100);
    let sent = s.requests_sent();
    let err = s.create(&key(), &too_big, NOW).await.unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { limit: l, .. } if l == limit),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    let too_big_v2 = Record {
        version: 2,
        ..too_big
    };
    assert!(matches!(
        s.save(&k, &too_big_v2, 1, Durability::Durable, NOW).await,
        Err(Error::TooLarge { .. })
    ));
    assert_eq!(
        s.requests_sent(),
        sent,
        "nothing is sent for a record that cannot fit"
    );
}

/// moto measures binary attributes as base64: with the full DynamoDB limit
/// it refuses what DynamoDB accepts, and that refusal is typed as well.
async fn an_engine_size_refusal_is_too_large(_: ()) {
    let endpoint = std::env::var(MOTO.endpoint_var).unwrap_or_default();
    let s = DynamoStore::builder(unique("sessions-test").replace('_', "-"))
        .endpoint_url(endpoint)
        .region("us-east-1")
        .ensure_table(true)
        .build()
        .await
        .unwrap();
    let err = s
        .create(&key(), &record_of_encoded_len(MAX_RECORD_BYTES), NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
}

async fn cleanup_deletes_expired_in_resumable_batches(e: Engine) {
    let s = e.store().await;
    let mut live = Vec::new();
    for i in 0..60u64 {
        s.create(&key(), &rec(1, NOW - 1000 + i), NOW - 2000)
            .await
            .unwrap();
    }
    for _ in 0..8 {
        let k = key();
        s.create(&k, &rec(1, NOW + 1000), NOW).await.unwrap();
        live.push(k);
    }
    // One batch, then resume from its cursor on another store handle.
    let first = s.delete_expired(NOW, 10, None).await.unwrap();
    assert!(first.deleted <= 10);
    let cursor = first.next.clone().expect("more to scan");
    let other = s.clone();
    let mut total = first.deleted;
    let mut next = Some(cursor);
    let mut rounds = 0;
    while let Some(c) = next {
        let page = other.delete_expired(NOW, 10, Some(c)).await.unwrap();
        total += page.deleted;
        next = page.next;
        rounds += 1;
        assert!(rounds < 100, "the scan must end");
    }
    assert_eq!(total, 60);
    for k in &live {
        assert!(s.load(k, NOW).await.unwrap().is_some(), "live records stay");
    }
    assert_eq!(s.delete_all_expired(NOW, 100, None).await.unwrap(), 0);
    // Larger than one BatchWriteItem (25) in one page.
    for _ in 0..40 {
        s.create(&key(), &rec(1, NOW - 1), NOW - 10).await.unwrap();
    }
    assert_eq!(s.delete_all_expired(NOW, 1000, None).await.unwrap(), 40);
}

async fn unreachable_engine_is_retryable_after_bounded_attempts(_: ()) {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let s = DynamoStore::builder("nowhere")
        .endpoint_url(format!("http://{addr}"))
        .region("us-east-1")
        .max_attempts(3)
        .operation_timeout(Duration::from_secs(20))
        .check_at_start(false)
        .build()
        .await
        .unwrap();
    let err = s.load(&key(), NOW).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unavailable {
                backend: "dynamodb",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(std::error::Error::source(&err).is_some());
    assert_eq!(s.requests_sent(), 3, "the retry budget is bounded");
    // With the start-up check (the default), the outage shows at start-up.
    let err = DynamoStore::builder("nowhere")
        .endpoint_url(format!("http://{addr}"))
        .region("us-east-1")
        .max_attempts(1)
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
}

/// Issue 15: without `ENSURE_TABLE`, a missing table was found by the first
/// user (an empty 500). The start-up check names it; with the check off, the
/// first request gets a permanent error instead.
async fn missing_table_is_a_start_up_error(e: Engine) {
    let endpoint = std::env::var(e.endpoint_var).unwrap_or_default();
    let name = unique("missing").replace('_', "-");
    let builder = DynamoStore::builder(name.clone())
        .endpoint_url(endpoint)
        .region("us-east-1");
    let err = builder.clone().build().await.unwrap_err();
    let Error::Config { message } = &err else {
        panic!("expected a configuration error, got {err:?}");
    };
    assert!(
        message.contains(&name) && message.contains("does not exist"),
        "{message}"
    );
    assert!(message.contains("ENSURE_TABLE"), "{message}");
    let s = builder.check_at_start(false).build().await.unwrap();
    let err = s.load(&key(), NOW).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Backend {
                backend: "dynamodb",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_retryable());
}

/// The start-up check also refuses a table with another key schema, and
/// passes (reporting TTL) on a table the driver made.
async fn start_up_check_refuses_a_wrong_key_schema(e: Engine) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let good = e.store().await;
    let check = good.check_table().await.unwrap();
    if e.ttl_supported {
        assert_eq!(check.ttl, Some(TtlSetup::AlreadyEnabled));
    }
    let name = unique("wrong-key").replace('_', "-");
    good.client()
        .create_table()
        .table_name(&name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let endpoint = std::env::var(e.endpoint_var).unwrap_or_default();
    let err = DynamoStore::builder(name)
        .endpoint_url(endpoint)
        .region("us-east-1")
        .build()
        .await
        .unwrap_err();
    let Error::Config { message } = &err else {
        panic!("expected a configuration error, got {err:?}");
    };
    assert!(
        message.contains("key schema") && message.contains("`pk`"),
        "{message}"
    );
}

/// Issue 16: a record read back had no size limit. An item whose data is over
/// the store's record limit (written by another process) is a codec error,
/// never decoded.
async fn an_oversized_planted_item_is_refused_on_read(e: Engine) {
    use aws_sdk_dynamodb::primitives::Blob;
    use aws_sdk_dynamodb::types::AttributeValue;
    let s = e.store().await;
    let k = key();
    let n = |v: u64| AttributeValue::N(v.to_string());
    let mut big = Record {
        version: 1,
        expires_at: NOW + 100,
        ..Record::default()
    };
    for i in 0..2_000u32 {
        big.data.insert(format!("k{i:05}"), vec![1; 8]);
    }
    let data = tiered_sessions::codec::encode_data(&big.data);
    let small = DynamoStore::builder(s.table_name())
        .endpoint_url(std::env::var(e.endpoint_var).unwrap_or_default())
        .region("us-east-1")
        .max_record_bytes(data.len() / 2)
        .build()
        .await
        .unwrap();
    s.client()
        .put_item()
        .table_name(s.table_name())
        .item("pk", AttributeValue::S(k.as_str().to_owned()))
        .item("v", n(1))
        .item("exp", n(NOW + 100))
        .item("ca", n(NOW))
        .item("la", n(NOW))
        .item("d", AttributeValue::B(Blob::new(data)))
        .send()
        .await
        .unwrap();
    let loaded = s.load(&k, NOW).await.unwrap().expect("the planted item");
    assert!(loaded.data == big.data, "the full-limit store reads it");
    let err = small.load(&k, NOW).await.unwrap_err();
    assert!(matches!(err, Error::Codec { .. }), "{err:?}");
}

const CASES: &[(&str, Case<Engine>)] = &[
    ("an_oversized_planted_item_is_refused_on_read", |e| {
        Box::pin(an_oversized_planted_item_is_refused_on_read(e))
    }),
    ("ensure_table_is_idempotent_and_sets_ttl", |e| {
        Box::pin(ensure_table_is_idempotent_and_sets_ttl(e))
    }),
    ("create_load_and_already_exists", |e| {
        Box::pin(create_load_and_already_exists(e))
    }),
    ("save_is_conditional_on_version_and_life", |e| {
        Box::pin(save_is_conditional_on_version_and_life(e))
    }),
    ("save_compares_versions_as_numbers", |e| {
        Box::pin(save_compares_versions_as_numbers(e))
    }),
    ("touch_moves_expiry_only_while_live", |e| {
        Box::pin(touch_moves_expiry_only_while_live(e))
    }),
    ("the_item_limit_is_typed_and_fits_the_engine", |e| {
        Box::pin(the_item_limit_is_typed_and_fits_the_engine(e))
    }),
    ("cleanup_deletes_expired_in_resumable_batches", |e| {
        Box::pin(cleanup_deletes_expired_in_resumable_batches(e))
    }),
    ("missing_table_is_a_start_up_error", |e| {
        Box::pin(missing_table_is_a_start_up_error(e))
    }),
    ("start_up_check_refuses_a_wrong_key_schema", |e| {
        Box::pin(start_up_check_refuses_a_wrong_key_schema(e))
    }),
];

const OFFLINE: &[(&str, Case<()>)] = &[(
    "unreachable_engine_is_retryable_after_bounded_attempts",
    |c| Box::pin(unreachable_engine_is_retryable_after_bounded_attempts(c)),
)];

fn main() -> std::process::ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let engine = |e: Engine| -> Result<fn() -> Engine, String> {
        env(e.endpoint_var)?;
        env("AWS_ACCESS_KEY_ID")?;
        Ok(if e.ttl_supported {
            || MOTO
        } else {
            || DYNALITE
        })
    };
    let mut all = trials("moto", engine(MOTO), CASES);
    all.extend(trials("dynalite", engine(DYNALITE), CASES));
    let moto_only: &[(&str, Case<()>)] = &[("an_engine_size_refusal_is_too_large", |c| {
        Box::pin(an_engine_size_refusal_is_too_large(c))
    })];
    all.extend(trials(
        "moto",
        engine(MOTO).map(|_| (|| ()) as fn()),
        moto_only,
    ));
    // Credentials from the environment: without them the SDK's default chain
    // would go looking for instance metadata off this machine.
    let creds = env("AWS_ACCESS_KEY_ID").map(|_| (|| ()) as fn());
    all.extend(trials("no_server", creds, OFFLINE));
    libtest_mimic::run(&args, all).exit_code()
}
