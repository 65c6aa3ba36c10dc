//! What is particular to the MongoDB tier, against a real MongoDB-protocol
//! server in replica-set and standalone mode: indexes, the size limit,
//! documents the TTL monitor has not swept yet, foreign documents, concerns,
//! unreachable servers. The SessionStore contract itself is the conformance
//! suite's job (tests/conformance.rs).

mod support;

use std::time::Duration;

use futures_util::future::BoxFuture;
use tiered_sessions::codec::encode_value;
use tiered_sessions::{
    Clock, Durability, Error, Record, SessionConfig, SessionId, SessionManager, SessionStore,
    SessionStoreExt, StoreKey, SystemClock,
};
use tiered_sessions_conformance::libtest_mimic::{self, Arguments, Trial};
use tiered_sessions_redis_mongodb::mongodb::bson::{DateTime, doc};
use tiered_sessions_redis_mongodb::mongodb::options::{IndexOptions, ReadConcernLevel};
use tiered_sessions_redis_mongodb::mongodb::{Client, IndexModel};
use tiered_sessions_redis_mongodb::{IndexOutcome, MAX_RECORD_BYTES, MongoStore, TTL_INDEX_NAME};

type Case = for<'a> fn(&'a Ctx) -> BoxFuture<'a, ()>;

/// One test's own database on one server, and a client for it (shut down
/// after the test, so no client is dropped while the runtime still runs).
struct Ctx {
    uri: String,
    database: String,
    client: Client,
}

impl Ctx {
    /// A store on the test's `sessions` collection.
    fn store(&self) -> MongoStore {
        MongoStore::from_database(&self.client.database(&self.database), "sessions")
    }
}

fn key() -> StoreKey {
    let config = SessionConfig::builder([[7u8; 32]]).build().expect("config");
    SessionManager::cookie_only(config).store_key(&SessionId::generate().expect("id"))
}

fn now() -> u64 {
    SystemClock.now()
}

fn record(version: u64, expires_at: u64) -> Record {
    let mut r = Record {
        expires_at,
        created_at: now(),
        last_active: now(),
        version,
        ..Record::default()
    };
    r.data
        .insert("user".into(), encode_value("alice").expect("encode"));
    r
}

fn ensure_indexes_creates_then_recognises(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let store = ctx.store();
        store.ping().await.expect("ping");
        assert_eq!(
            store.ensure_indexes().await.expect("create"),
            IndexOutcome::Created
        );
        assert_eq!(
            store.ensure_indexes().await.expect("again"),
            IndexOutcome::AlreadyPresent {
                name: TTL_INDEX_NAME.to_owned()
            }
        );
        let indexes = store.collection().list_index_names().await.expect("list");
        assert!(indexes.iter().any(|n| n == TTL_INDEX_NAME), "{indexes:?}");
    })
}

fn ensure_indexes_reports_a_conflicting_ttl_index(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let store = ctx.store();
        let other = IndexModel::builder()
            .keys(doc! { "exp": 1 })
            .options(
                IndexOptions::builder()
                    .name("exp_1".to_owned())
                    .expire_after(Duration::from_secs(3600))
                    .build(),
            )
            .build();
        store
            .collection()
            .create_index(other)
            .await
            .expect("seed index");
        let err = store.ensure_indexes().await.expect_err("conflict");
        let Error::Config { message } = &err else {
            panic!("expected a config error, got {err:?}");
        };
        assert!(message.contains("exp_1"), "{message}");
        assert!(message.contains("dropIndex"), "{message}");
        // Dropping it, as the message says, fixes it.
        store.collection().drop_index("exp_1").await.expect("drop");
        assert_eq!(
            store.ensure_indexes().await.expect("create"),
            IndexOutcome::Created
        );
    })
}

fn ensure_indexes_reports_a_name_clash(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let store = ctx.store();
        let other = IndexModel::builder()
            .keys(doc! { "la": 1 })
            .options(
                IndexOptions::builder()
                    .name(TTL_INDEX_NAME.to_owned())
                    .build(),
            )
            .build();
        store
            .collection()
            .create_index(other)
            .await
            .expect("seed index");
        let err = store.ensure_indexes().await.expect_err("conflict");
        assert!(
            matches!(&err, Error::Config { message } if message.contains(TTL_INDEX_NAME)),
            "{err:?}"
        );
    })
}

fn records_over_the_limit_are_refused_before_sending(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let store = ctx.store();
        let k = key();
        let mut big = record(1, now() + 600);
        big.data.insert("blob".into(), vec![7u8; 16 * 1024 * 1024]);
        let err = store.create(&k, &big, now()).await.expect_err("too large");
        assert!(
            matches!(err, Error::TooLarge { size, limit } if size > limit && limit == MAX_RECORD_BYTES),
            "{err:?}"
        );
        assert!(store.load(&k, now()).await.expect("load").is_none());

        // A lower configured limit applies to saves too.
        let small = store.with_max_record_bytes(4096);
        small
            .create(&k, &record(1, now() + 600), now())
            .await
            .expect("create");
        let mut grown = record(2, now() + 600);
        grown.data.insert("blob".into(), vec![1u8; 5000]);
        let err = small
            .save(&k, &grown, 1, Durability::Durable, now())
            .await
            .expect_err("too large");
        assert!(
            matches!(err, Error::TooLarge { limit: 4096, .. }),
            "{err:?}"
        );
        assert_eq!(
            small
                .load(&k, now())
                .await
                .expect("load")
                .expect("kept")
                .version,
            1
        );
    })
}

fn a_large_record_within_the_limit_round_trips(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let store = ctx.store();
        let k = key();
        let mut big = record(1, now() + 600);
        big.data.insert("blob".into(), vec![9u8; 4 * 1024 * 1024]);
        store.create(&k, &big, now()).await.expect("create");
        assert_eq!(store.load(&k, now()).await.expect("load"), Some(big));
    })
}

/// A document past its expiry that the TTL monitor has not removed yet.
fn unswept_expired_documents_are_dead(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let store = ctx.store();
        let k = key();
        let t = now();
        store
            .create(&k, &record(3, t + 100), t)
            .await
            .expect("create");
        assert!(matches!(
            store.create(&k, &record(1, t + 100), t + 99).await,
            Err(Error::AlreadyExists)
        ));
        // Seen from after its expiry, it is gone for every operation…
        let later = t + 100;
        assert!(store.load(&k, later).await.expect("load").is_none());
        assert!(matches!(
            store.touch(&k, later + 50, later, later).await,
            Err(Error::NotFound)
        ));
        assert!(matches!(
            store
                .save(&k, &record(4, later + 50), 3, Durability::Durable, later)
                .await,
            Err(Error::NotFound)
        ));
        // …though it is still in the collection, and a create may replace it.
        let raw = store
            .collection()
            .find_one(doc! { "_id": k.as_str() })
            .await
            .expect("find");
        assert!(raw.is_some());
        store
            .create(&k, &record(1, later + 600), later)
            .await
            .expect("replace");
        assert_eq!(
            store
                .load(&k, later)
                .await
                .expect("load")
                .expect("live")
                .version,
            1
        );
    })
}

fn cleanup_deletes_only_expired_in_resumable_batches(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let store = ctx.store();
        let t = now();
        let mut live = Vec::new();
        for i in 0..7u64 {
            let k = key();
            store
                .create(&k, &record(1, t + 10 + i), t)
                .await
                .expect("create");
            if i >= 5 {
                live.push(k);
            }
        }
        let at = t + 14; // five expired (at or before it), two live
        let mut batches = 0;
        let mut total = 0;
        let mut cursor = None;
        loop {
            let page = store.delete_expired(at, 2, cursor).await.expect("batch");
            assert!(page.deleted <= 2);
            total += page.deleted;
            batches += 1;
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(total, 5);
        assert!(batches >= 3);
        let left = store
            .collection()
            .count_documents(doc! {})
            .await
            .expect("count");
        assert_eq!(left, 2);
        for k in &live {
            assert!(store.load(k, at).await.expect("load").is_some());
        }
        assert_eq!(
            store
                .delete_all_expired(at, 100, None)
                .await
                .expect("again"),
            0
        );
    })
}

fn foreign_documents_are_codec_errors(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let store = ctx.store();
        let client = &ctx.client;
        let k = key();
        client
            .database(&ctx.database)
            .collection("sessions")
            .insert_one(doc! {
                "_id": k.as_str(),
                "v": "not a number",
                "exp": DateTime::from_millis(i64::try_from(now() + 600).expect("i64") * 1000),
            })
            .await
            .expect("insert");
        let err = store.load(&k, now()).await.expect_err("codec");
        assert!(matches!(err, Error::Codec { .. }), "{err:?}");
    })
}

fn writes_are_majority_and_reads_see_them_from_another_client(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        // Weaker concerns asked for in the URI do not apply to the sessions.
        let sep = if ctx.uri.contains('?') { '&' } else { '?' };
        let store = MongoStore::builder(format!("{}{sep}w=1&journal=false", ctx.uri))
            .database(&ctx.database)
            .collection("sessions")
            .build()
            .await
            .expect("store");
        let wc = store.collection().write_concern().expect("write concern");
        assert_eq!(
            wc.w,
            Some(tiered_sessions_redis_mongodb::mongodb::options::Acknowledgment::Majority)
        );
        assert_eq!(wc.journal, Some(true));
        let rc = store.collection().read_concern().expect("read concern");
        assert_eq!(rc.level, ReadConcernLevel::Local);

        let k = key();
        let r = record(1, now() + 600);
        store.create(&k, &r, now()).await.expect("create");
        let other = ctx.store();
        assert_eq!(other.load(&k, now()).await.expect("load"), Some(r));
        store.shutdown().await;
    })
}

fn an_unreachable_server_is_a_retryable_error_not_a_hang(_ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        // Port 9 (discard) on loopback: nothing listens there.
        let store = MongoStore::builder("mongodb://127.0.0.1:9/?directConnection=true")
            .connect_timeout(Duration::from_millis(300))
            .ensure_indexes(false)
            .check_at_start(false)
            .build()
            .await
            .expect("build does not connect without ensure_indexes");
        let err = store.ping().await.expect_err("down");
        assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
        let err = store.load(&key(), now()).await.expect_err("down");
        assert!(err.is_retryable(), "{err:?}");
        assert!(
            matches!(
                err,
                Error::Unavailable {
                    backend: "mongodb",
                    ..
                }
            ),
            "{err:?}"
        );
        let err = store
            .create(&key(), &record(1, now() + 60), now())
            .await
            .expect_err("down");
        assert!(err.is_retryable(), "{err:?}");
        store.shutdown().await;
        // With the index made at build (the default), the failure shows at start-up.
        let err = MongoStore::builder("mongodb://127.0.0.1:9/?directConnection=true")
            .connect_timeout(Duration::from_millis(300))
            .build()
            .await
            .expect_err("ensure_indexes needs the server");
        assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    })
}

/// Issue 15: a missing TTL index is found at start-up, by name, when the
/// driver is told not to create it; once it exists the check passes.
fn missing_index_is_a_start_up_error(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let builder = MongoStore::builder(&ctx.uri)
            .database(&ctx.database)
            .collection("checked")
            .ensure_indexes(false);
        let err = builder.clone().build().await.expect_err("no index yet");
        let Error::Config { message } = &err else {
            panic!("expected a configuration error, got {err:?}");
        };
        assert!(
            message.contains("TTL index") && message.contains("ENSURE_INDEXES"),
            "{message}"
        );
        let store = builder
            .clone()
            .check_at_start(false)
            .build()
            .await
            .expect("unchecked");
        store.ensure_indexes().await.expect("create");
        let checked = builder.build().await.expect("the index is there now");
        assert_eq!(
            checked.check_indexes().await.expect("check"),
            TTL_INDEX_NAME
        );
        store.shutdown().await;
        checked.shutdown().await;
    })
}

fn malformed_uris_are_config_errors(_ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        for uri in [
            "localhost:27017",
            "mongodb://",
            "mongodb://h/?w=banana&wtimeoutMS=x",
        ] {
            let err = MongoStore::builder(uri).build().await.expect_err(uri);
            assert!(matches!(err, Error::Config { .. }), "{uri}: {err:?}");
        }
    })
}

/// Issue 16: a record read back had no size limit. A document whose data is
/// over the store's record limit (written by another process) is a codec
/// error, never decoded.
fn an_oversized_planted_document_is_refused_on_read(ctx: &Ctx) -> BoxFuture<'_, ()> {
    use tiered_sessions_redis_mongodb::mongodb::bson::{Binary, spec::BinarySubtype};
    Box::pin(async move {
        let store = ctx.store();
        let k = key();
        let mut big = record(1, now() + 100);
        for i in 0..2_000u32 {
            big.data.insert(format!("k{i:05}"), vec![1; 8]);
        }
        let data = tiered_sessions::codec::encode_data(&big.data);
        let limit = data.len() / 2;
        store
            .collection()
            .clone_with_type::<tiered_sessions_redis_mongodb::mongodb::bson::Document>()
            .insert_one(doc! {
                "_id": k.as_str(),
                "v": 1i64,
                "exp": DateTime::from_millis(((now() + 100) * 1000) as i64),
                "ca": now() as i64,
                "la": now() as i64,
                "d": Binary { subtype: BinarySubtype::Generic, bytes: data },
            })
            .await
            .expect("plant");
        assert!(store.load(&k, now()).await.expect("load").is_some());
        let small = ctx.store().with_max_record_bytes(limit);
        let err = small
            .load(&k, now())
            .await
            .expect_err("an oversized document is refused");
        assert!(matches!(err, Error::Codec { .. }), "{err:?}");
    })
}

const CASES: &[(&str, Case)] = &[
    (
        "missing_index_is_a_start_up_error",
        missing_index_is_a_start_up_error,
    ),
    (
        "an_oversized_planted_document_is_refused_on_read",
        an_oversized_planted_document_is_refused_on_read,
    ),
    (
        "ensure_indexes_creates_then_recognises",
        ensure_indexes_creates_then_recognises,
    ),
    (
        "ensure_indexes_reports_a_conflicting_ttl_index",
        ensure_indexes_reports_a_conflicting_ttl_index,
    ),
    (
        "ensure_indexes_reports_a_name_clash",
        ensure_indexes_reports_a_name_clash,
    ),
    (
        "records_over_the_limit_are_refused_before_sending",
        records_over_the_limit_are_refused_before_sending,
    ),
    (
        "a_large_record_within_the_limit_round_trips",
        a_large_record_within_the_limit_round_trips,
    ),
    (
        "unswept_expired_documents_are_dead",
        unswept_expired_documents_are_dead,
    ),
    (
        "cleanup_deletes_only_expired_in_resumable_batches",
        cleanup_deletes_only_expired_in_resumable_batches,
    ),
    (
        "foreign_documents_are_codec_errors",
        foreign_documents_are_codec_errors,
    ),
    (
        "writes_are_majority_and_reads_see_them_from_another_client",
        writes_are_majority_and_reads_see_them_from_another_client,
    ),
    (
        "an_unreachable_server_is_a_retryable_error_not_a_hang",
        an_unreachable_server_is_a_retryable_error_not_a_hang,
    ),
    (
        "malformed_uris_are_config_errors",
        malformed_uris_are_config_errors,
    ),
];

/// Issue 15: TLS to MongoDB (Atlas requires it). Against SecantusDB serving
/// TLS with the test CA of `scripts/services`: with the CA named in the URI
/// (`tlsCAFile`) the store works end to end; without it the server is not
/// trusted, which is a clear, retryable error at start-up, never a hang.
async fn tls_connects_with_the_ca_and_refuses_without(uri: String) {
    let database = support::unique("ts_tls");
    let store = MongoStore::builder(&uri)
        .database(&database)
        .connect_timeout(Duration::from_secs(3))
        .build()
        .await
        .expect("a TLS connection with the test CA (TTL index made)");
    let k = key();
    let r = record(1, now() + 600);
    store.create(&k, &r, now()).await.expect("create over TLS");
    assert_eq!(store.load(&k, now()).await.expect("load over TLS"), Some(r));
    assert_eq!(store.check_indexes().await.expect("check"), TTL_INDEX_NAME);
    let _ = store.collection().client().database(&database).drop().await;
    store.shutdown().await;
    let untrusted = uri
        .split('&')
        .filter(|part| !part.starts_with("tlsCAFile="))
        .collect::<Vec<_>>()
        .join("&");
    assert!(untrusted.contains("tls=true") && !untrusted.contains("tlsCAFile"));
    let err = MongoStore::builder(&untrusted)
        .database(&database)
        .connect_timeout(Duration::from_secs(1))
        .build()
        .await
        .expect_err("an untrusted certificate");
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
}

/// `mongodb+srv://` (Atlas's usual URI) needs DNS: without the `dns-srv`
/// feature it is a configuration error naming the feature; with it, the URI
/// is resolved at build (no DNS here, so not exercised beyond parsing).
async fn srv_uris_need_the_dns_srv_feature() {
    let err = MongoStore::builder("mongodb+srv://cluster0.example.invalid/?retryWrites=true")
        .build()
        .await
        .expect_err("no DNS here");
    if cfg!(feature = "dns-srv") {
        assert!(
            err.is_retryable() || matches!(err, Error::Config { .. }),
            "{err:?}"
        );
    } else {
        let Error::Config { message } = &err else {
            panic!("expected a configuration error, got {err:?}");
        };
        assert!(message.contains("dns-srv"), "{message}");
    }
}

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    let tls = support::endpoint("TS_MONGO_TLS_URI");
    trials.push(Trial::ignorable_test(
        "mongo_tls::tls_connects_with_the_ca_and_refuses_without",
        move || match tls {
            Err(reason) => support::missing(reason),
            Ok(uri) => support::block_on(tls_connects_with_the_ca_and_refuses_without(uri)),
        },
    ));
    trials.push(Trial::test(
        "no_server::srv_uris_need_the_dns_srv_feature",
        || support::block_on(srv_uris_need_the_dns_srv_feature()).map(drop),
    ));
    for (mode, var) in support::MONGO_MODES {
        let endpoint = support::endpoint(var);
        let run = support::unique("ts_mongo_store");
        for (i, &(name, case)) in CASES.iter().enumerate() {
            let endpoint = endpoint.clone();
            let database = format!("{run}_{i}");
            trials.push(Trial::ignorable_test(
                format!("mongo_{mode}::{name}"),
                move || match endpoint {
                    Err(reason) => support::missing(reason),
                    Ok(uri) => support::block_on(async move {
                        // Only the client: the cases make (or break) indexes.
                        let store = MongoStore::builder(&uri)
                            .database(&database)
                            .ensure_indexes(false)
                            .check_at_start(false)
                            .build()
                            .await
                            .expect("client");
                        let ctx = Ctx {
                            uri,
                            database,
                            client: store.collection().client().clone(),
                        };
                        case(&ctx).await;
                        // Best effort: the next run uses new names anyway.
                        let _ = ctx.client.database(&ctx.database).drop().await;
                        store.shutdown().await;
                    }),
                },
            ));
        }
    }
    libtest_mimic::run(&args, trials).exit_code()
}
