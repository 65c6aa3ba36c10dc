//! Redis over TLS (`rediss://`), against the TLS servers of `scripts/services`
//! (`TS_REDIS_TLS_URL`, `TS_REDIS_TLS_CLUSTER_URLS`, their certificate signed
//! by the test CA in `TS_TLS_CA_FILE`): the cache tier in front of a durable
//! store, the environment variable for the CA, a server whose certificate is
//! not trusted (refused with a typed, permanent error, not a hang or a
//! retryable outage), a plain `redis://` URL pointed at a TLS port, and mutual
//! TLS on a private server that requires a client certificate.
//!
//! The whole conformance suite over TLS is in `tests/conformance.rs`
//! (`redis_store_tls`, `redis_store_tls_cluster`).

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use support::{Case, env, trials, unique};
use tiered_sessions::{CacheTier, Durability, Error, FromEnv, Record, SessionStore, StoreKey};
use tiered_sessions_conformance::kit::{Server, free_port, redis_server, test_ca_pem};
use tiered_sessions_memory::MemoryStore;
use tiered_sessions_redis::{RedisCacheBuilder, RedisStore, RedisTiered, env as vars};

const NOW: u64 = 1_800_000_000;

fn key() -> StoreKey {
    StoreKey::from_stored(format!("{:0>64}", unique().replace('-', "")))
}

fn rec(version: u64) -> Record {
    let mut r = Record {
        version,
        expires_at: NOW + 600,
        created_at: NOW - 10,
        last_active: NOW,
        ..Record::default()
    };
    r.data.insert("v".into(), version.to_le_bytes().to_vec());
    r
}

/// Where the TLS servers are, and the CA that signed them.
#[derive(Clone)]
struct Tls {
    builder: RedisCacheBuilder,
    /// The same target with no CA given.
    untrusting: RedisCacheBuilder,
}

fn standalone() -> Tls {
    let url = std::env::var("TS_REDIS_TLS_URL").unwrap_or_default();
    target(RedisCacheBuilder::standalone(url))
}

fn cluster() -> Tls {
    let urls = std::env::var("TS_REDIS_TLS_CLUSTER_URLS").unwrap_or_default();
    target(RedisCacheBuilder::cluster(urls.split(',').map(str::trim)))
}

fn target(b: RedisCacheBuilder) -> Tls {
    let ca = test_ca_pem().unwrap();
    let b = b
        .key_prefix(format!("tls:{}:", unique()))
        .call_timeout(Duration::from_secs(3));
    Tls {
        builder: b.clone().tls_root_certs(ca),
        untrusting: b,
    }
}

/// `RedisTiered` over TLS in front of an in-process durable store: every
/// operation works, and the record is really in Redis (a second cache over
/// its own TLS connection sees it).
async fn tiered_round_trip(t: Tls) {
    let store = RedisTiered::new(t.builder.clone())
        .build(MemoryStore::new())
        .unwrap();
    let other = t.builder.clone().build().unwrap();
    let k = key();
    store.create(&k, &rec(1), NOW).await.unwrap();
    assert_eq!(store.load(&k, NOW).await.unwrap(), Some(rec(1)));
    store
        .save(&k, &rec(2), 1, Durability::Durable, NOW)
        .await
        .unwrap();
    assert_eq!(store.load(&k, NOW).await.unwrap(), Some(rec(2)));
    assert_eq!(other.get(&k, NOW).await.unwrap(), Some(rec(2)));
    store
        .save(&k, &rec(3), 2, Durability::Quick, NOW)
        .await
        .unwrap();
    assert_eq!(other.get(&k, NOW).await.unwrap(), Some(rec(3)));
    store.delete(&k, NOW).await.unwrap();
    assert_eq!(store.load(&k, NOW).await.unwrap(), None);
    assert_eq!(other.get(&k, NOW).await.unwrap(), None);
}

/// The CA comes from `TIERED_SESSIONS_REDIS_TLS_CA_FILE` too.
async fn the_ca_file_variable_is_read(_: Tls) {
    let url = std::env::var("TS_REDIS_TLS_URL").unwrap();
    let ca = std::env::var("TS_TLS_CA_FILE").unwrap();
    let store = RedisCacheBuilder::from_lookup(|name| match name {
        vars::URL => Some(url.clone()),
        vars::TLS_CA_FILE => Some(ca.clone()),
        vars::KEY_PREFIX => Some(format!("tls:{}:", unique())),
        _ => None,
    })
    .unwrap()
    .build_store()
    .unwrap();
    let k = key();
    store.create(&k, &rec(1), NOW).await.unwrap();
    assert_eq!(store.load(&k, NOW).await.unwrap(), Some(rec(1)));
}

/// The rustls error somewhere in `err`'s source chain.
fn rustls_cause(err: &Error) -> Option<rustls::Error> {
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return Some(r.clone());
        }
        source = e.source();
    }
    None
}

/// With no CA given, the test CA is not among the trusted roots: every call
/// fails at once with a permanent `Error::Backend` whose source is rustls's
/// verdict on the certificate — not a timeout, not a retryable outage.
async fn an_untrusted_server_is_refused_with_a_typed_error(t: Tls) {
    let store = t.untrusting.clone().build_store().unwrap();
    let cache = t.untrusting.clone().build().unwrap();
    for err in [
        store.load(&key(), NOW).await.unwrap_err(),
        store.create(&key(), &rec(1), NOW).await.unwrap_err(),
        cache.get(&key(), NOW).await.unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                Error::Backend {
                    backend: "redis",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(!err.is_retryable(), "{err:?}");
        assert_eq!(
            rustls_cause(&err),
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            )),
            "{err:?}"
        );
        let message = std::error::Error::source(&err).unwrap().to_string();
        assert!(message.contains("TLS_CA_FILE"), "{message}");
    }
    // The same settings with the CA work.
    let trusting = t.builder.clone().build_store().unwrap();
    assert_eq!(trusting.load(&key(), NOW).await.unwrap(), None);
}

/// A plain `redis://` URL pointed at a TLS-only port: an error within the
/// deadline, never a hang.
async fn a_plain_url_to_a_tls_port_fails(_: ()) {
    let url = std::env::var("TS_REDIS_TLS_URL").unwrap();
    let plain = url.replacen("rediss://", "redis://", 1);
    let timeout = Duration::from_millis(500);
    let store = RedisStore::standalone(plain)
        .call_timeout(timeout)
        .build_store()
        .unwrap();
    let err = store.load(&key(), NOW).await.unwrap_err();
    assert!(
        matches!(err, Error::Unavailable { .. } | Error::Timeout { .. }),
        "{err:?}"
    );
}

/// The TLS material of `scripts/services`: the CA, and the server
/// certificate (which also allows client use) with its key.
fn services_tls_dir() -> Result<PathBuf, String> {
    let ca = PathBuf::from(env("TS_TLS_CA_FILE")?);
    let dir = ca.parent().ok_or("TS_TLS_CA_FILE has no directory")?;
    for f in ["server.crt", "server.key"] {
        if !dir.join(f).is_file() {
            return Err(format!("no {f} next to TS_TLS_CA_FILE"));
        }
    }
    Ok(dir.to_owned())
}

/// A private TLS server that requires a client certificate signed by the
/// test CA: with one (`tls_client_auth_files`) every call works; without,
/// the handshake is refused with a permanent error, not a hang.
async fn mutual_tls_presents_the_client_certificate(_: ()) {
    let dir = services_tls_dir().unwrap();
    let port = free_port().unwrap();
    let log = std::env::temp_dir().join(format!("{}.log", unique()));
    let path = |f: &str| dir.join(f).display().to_string();
    let args = vec![
        "--port".to_owned(),
        "0".to_owned(),
        "--tls-port".to_owned(),
        port.to_string(),
        "--bind".to_owned(),
        "127.0.0.1".to_owned(),
        "--tls-cert-file".to_owned(),
        path("server.crt"),
        "--tls-key-file".to_owned(),
        path("server.key"),
        "--tls-ca-cert-file".to_owned(),
        path("ca.crt"),
        "--tls-auth-clients".to_owned(),
        "yes".to_owned(),
        "--save".to_owned(),
        String::new(),
        "--appendonly".to_owned(),
        "no".to_owned(),
    ];
    let server = Server::start(redis_server().unwrap(), args, port, log.clone()).await;
    let url = format!("rediss://127.0.0.1:{port}");
    let base = RedisStore::standalone(url)
        .tls_ca_file(dir.join("ca.crt"))
        .call_timeout(Duration::from_secs(3));
    let with_cert = base
        .clone()
        .tls_client_auth_files(dir.join("server.crt"), dir.join("server.key"))
        .build_store()
        .unwrap();
    let k = key();
    with_cert.create(&k, &rec(1), NOW).await.unwrap();
    assert_eq!(with_cert.load(&k, NOW).await.unwrap(), Some(rec(1)));
    let without = base.build_store().unwrap();
    let err = without.load(&k, NOW).await.unwrap_err();
    // The server's alert (certificate required, under TLS 1.3), as a
    // permanent error.
    assert!(matches!(err, Error::Backend { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert!(
        matches!(rustls_cause(&err), Some(rustls::Error::AlertReceived(_))),
        "{err:?}"
    );
    drop(server);
    let _ = std::fs::remove_file(log);
}

const CASES: &[(&str, Case<Tls>)] = &[
    ("tiered_round_trip", |t| Box::pin(tiered_round_trip(t))),
    ("an_untrusted_server_is_refused_with_a_typed_error", |t| {
        Box::pin(an_untrusted_server_is_refused_with_a_typed_error(t))
    }),
];

const STANDALONE_ONLY: &[(&str, Case<Tls>)] = &[("the_ca_file_variable_is_read", |t| {
    Box::pin(the_ca_file_variable_is_read(t))
})];

const PLAIN_TO_TLS: &[(&str, Case<()>)] = &[("a_plain_url_to_a_tls_port_fails", |c| {
    Box::pin(a_plain_url_to_a_tls_port_fails(c))
})];

const PRIVATE_SERVER: &[(&str, Case<()>)] =
    &[("mutual_tls_presents_the_client_certificate", |c| {
        Box::pin(mutual_tls_presents_the_client_certificate(c))
    })];

fn main() -> std::process::ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let ready = |var: &str| env(var).and_then(|_| test_ca_pem().map(drop));
    let single = ready("TS_REDIS_TLS_URL").map(|()| standalone as fn() -> Tls);
    let clus = ready("TS_REDIS_TLS_CLUSTER_URLS").map(|()| cluster as fn() -> Tls);
    let mut all = trials("tls_standalone", single.clone(), CASES);
    all.extend(trials("tls_standalone", single, STANDALONE_ONLY));
    all.extend(trials("tls_cluster", clus, CASES));
    let plain = env("TS_REDIS_TLS_URL").map(|_| (|| ()) as fn());
    all.extend(trials("tls_standalone", plain, PLAIN_TO_TLS));
    let private = redis_server()
        .and_then(|_| services_tls_dir())
        .map(|_| (|| ()) as fn());
    all.extend(trials("private_tls_server", private, PRIVATE_SERVER));
    libtest_mimic::run(&args, all).exit_code()
}
