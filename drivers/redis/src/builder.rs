//! [`RedisCacheBuilder`]: where the cache connects and how it behaves.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use redis::cluster::ClusterClientBuilder;
use redis::{AsyncConnectionConfig, Client};
use tiered_sessions::{EnvVars, Error, FromEnv, Result};

use crate::cache::RedisCache;
use crate::connection::Connection;
use crate::pool::{Connector, Pools};
use crate::store::RedisStore;
use crate::tls::{Source, TlsOptions, TlsSettings, tls_client, uses_tls, with_cluster_tls};

/// The default deadline of one cache call.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_millis(200);
/// The default key prefix of a [`RedisCache`].
pub const DEFAULT_KEY_PREFIX: &str = "session:";
/// The default key prefix of a [`RedisStore`]: not the cache's, so a store
/// and a cache on one Redis never read each other's keys.
pub const DEFAULT_STORE_KEY_PREFIX: &str = "session-store:";
/// The default largest record the cache accepts (encoded bytes).
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1 << 20;
/// How many shared connections requests are spread over by default.
pub const DEFAULT_CONNECTIONS: usize = 1;
/// How long a deletion marker blocks refills of a deleted session.
pub const DEFAULT_DELETION_MARKER: Duration = Duration::from_secs(60);

/// Environment variables read by [`RedisCacheBuilder::from_env`] (the cache
/// and the store alike) and [`crate::RedisTiered::from_env`].
pub mod env {
    /// A standalone Redis URL, e.g. `redis://127.0.0.1:6379/0`, or
    /// `rediss://…` for TLS.
    pub const URL: &str = "TIERED_SESSIONS_REDIS_URL";
    /// Comma-separated Redis Cluster node URLs (all `redis://` or all
    /// `rediss://`); when set, cluster mode is used and [`URL`] is ignored.
    pub const CLUSTER_URLS: &str = "TIERED_SESSIONS_REDIS_CLUSTER_URLS";
    /// Key prefix (default `session:` for a cache, `session-store:` for a
    /// store); must not contain `{` or `}`. A cache and a store must not
    /// share one.
    pub const KEY_PREFIX: &str = "TIERED_SESSIONS_REDIS_KEY_PREFIX";
    /// A PEM file of the CA certificates to trust for `rediss://` instead of
    /// the default roots (a private CA, a self-signed server).
    pub const TLS_CA_FILE: &str = "TIERED_SESSIONS_REDIS_TLS_CA_FILE";
    /// A PEM file of the client certificate chain for mutual TLS (with
    /// [`TLS_CLIENT_KEY_FILE`]).
    pub const TLS_CLIENT_CERT_FILE: &str = "TIERED_SESSIONS_REDIS_TLS_CLIENT_CERT_FILE";
    /// A PEM file of the client's private key for mutual TLS (with
    /// [`TLS_CLIENT_CERT_FILE`]).
    pub const TLS_CLIENT_KEY_FILE: &str = "TIERED_SESSIONS_REDIS_TLS_CLIENT_KEY_FILE";
    /// Deadline of one cache call in milliseconds (default 200).
    pub const TIMEOUT_MS: &str = "TIERED_SESSIONS_REDIS_TIMEOUT_MS";
    /// How many shared, multiplexed connections requests are spread over
    /// (default 1).
    pub const POOL_SIZE: &str = "TIERED_SESSIONS_REDIS_POOL_SIZE";
    /// Deadline of one cache call as seen by the tiered store, in
    /// milliseconds (default: the Redis call timeout plus 50 ms, so the Redis
    /// driver's own typed timeout fires first). Read by
    /// `RedisTiered::from_env` (from [`FromEnv`](tiered_sessions::FromEnv)).
    pub const CACHE_TIMEOUT_MS: &str = "TIERED_SESSIONS_CACHE_TIMEOUT_MS";
}

#[derive(Clone)]
enum Target {
    Single(String),
    Cluster(Vec<String>),
}

/// Builds a [`RedisCache`] ([`RedisCacheBuilder::build`]) or a [`RedisStore`]
/// ([`RedisCacheBuilder::build_store`]): one standalone URL or a cluster's
/// node URLs, a key prefix, a per-call deadline, a pool size, a record limit
/// and, for `rediss://`, the TLS trust settings.
///
/// `Debug` hides the URLs, which may carry a password, and TLS material.
#[derive(Clone)]
pub struct RedisCacheBuilder {
    target: Target,
    /// `None`: the default of what is built (cache or store).
    key_prefix: Option<String>,
    tls: TlsOptions,
    call_timeout: Duration,
    pool_size: Option<usize>,
    max_record_bytes: usize,
    deletion_marker: Duration,
}

impl fmt::Debug for RedisCacheBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match &self.target {
            Target::Single(_) => "standalone",
            Target::Cluster(_) => "cluster",
        };
        f.debug_struct("RedisCacheBuilder")
            .field("mode", &mode)
            .field("key_prefix", &self.key_prefix)
            .field("tls", &self.tls)
            .field("call_timeout", &self.call_timeout)
            .field("pool_size", &self.pool_size)
            .field("max_record_bytes", &self.max_record_bytes)
            .finish_non_exhaustive()
    }
}

impl RedisCacheBuilder {
    fn with_target(target: Target) -> Self {
        RedisCacheBuilder {
            target,
            key_prefix: None,
            tls: TlsOptions::default(),
            call_timeout: DEFAULT_CALL_TIMEOUT,
            pool_size: None,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            deletion_marker: DEFAULT_DELETION_MARKER,
        }
    }

    /// A standalone Redis at `url`: `redis://[user:password@]host:port[/db]`,
    /// or `rediss://…` for TLS (see [`RedisCacheBuilder::tls_ca_file`]).
    pub fn standalone(url: impl Into<String>) -> Self {
        Self::with_target(Target::Single(url.into()))
    }

    /// A Redis Cluster reached through any of `urls` (the rest of the topology
    /// is discovered). All `redis://` or all `rediss://`: with TLS, every
    /// node is reached over TLS and verified against the address it announces.
    pub fn cluster<I, S>(urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with_target(Target::Cluster(urls.into_iter().map(Into::into).collect()))
    }

    /// Prefix of every key (default [`DEFAULT_KEY_PREFIX`], `session:`, for a
    /// cache and [`DEFAULT_STORE_KEY_PREFIX`], `session-store:`, for a store).
    /// Use one per application or environment sharing a Redis, and never the
    /// same one for a cache and a store; it must not contain `{` or `}` (the
    /// store key is the cluster hash tag).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = Some(prefix.into());
        self
    }

    /// Trust the CA certificates in the PEM file at `path` for `rediss://`,
    /// instead of the default roots (the Mozilla root program, compiled in):
    /// for a private CA or a self-signed server. Read when the cache or store
    /// is built. The server's certificate must still chain to it and name
    /// the host connected to.
    pub fn tls_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls.ca = Some(Source::File(path.into()));
        self
    }

    /// Like [`RedisCacheBuilder::tls_ca_file`], with the PEM in memory.
    pub fn tls_root_certs(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls.ca = Some(Source::Pem(pem.into()));
        self
    }

    /// Present a client certificate (mutual TLS, for a server that requires
    /// one): the certificate chain and its private key, both PEM.
    pub fn tls_client_auth(
        mut self,
        cert_chain: impl Into<Vec<u8>>,
        key: impl Into<Vec<u8>>,
    ) -> Self {
        self.tls.client_auth = Some((Source::Pem(cert_chain.into()), Source::Pem(key.into())));
        self
    }

    /// Like [`RedisCacheBuilder::tls_client_auth`], from two PEM files read
    /// when the cache or store is built.
    pub fn tls_client_auth_files(
        mut self,
        cert_chain: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> Self {
        self.tls.client_auth = Some((Source::File(cert_chain.into()), Source::File(key.into())));
        self
    }

    /// Deadline of one call, including connecting when needed (default
    /// 200 ms). Past it the call fails with [`Error::Timeout`].
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// How many shared connections requests are spread over, round robin
    /// (default [`DEFAULT_CONNECTIONS`], 1). Each is multiplexed: concurrent
    /// calls pipeline over it rather than waiting for one another, so more
    /// connections only help when one socket's reads and writes saturate a
    /// CPU of their own.
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = Some(size);
        self
    }

    /// Largest encoded record accepted (default 1 MiB); larger writes fail with
    /// [`Error::TooLarge`] before anything is sent (the tiered store then
    /// serves them from the durable tier). A [`RedisStore`] also refuses to
    /// decode a stored record above it.
    pub fn max_record_bytes(mut self, limit: usize) -> Self {
        self.max_record_bytes = limit;
        self
    }

    /// The record limit set so far (see [`RedisCacheBuilder::max_record_bytes`]).
    pub fn record_limit(&self) -> usize {
        self.max_record_bytes
    }

    /// How long a deletion marker blocks refills (default 60 s; at least 1 s).
    pub fn deletion_marker(mut self, lifetime: Duration) -> Self {
        self.deletion_marker = lifetime;
        self
    }

    /// Validate and build the cache tier. No connection is made yet: the
    /// pool connects on first use, so a Redis that is down at start-up only
    /// costs cache misses.
    ///
    /// # Errors
    /// [`Error::Config`] for an unparsable URL, an empty cluster list, a key
    /// prefix holding `{` or `}`, a zero timeout or pool size; for TLS, a
    /// `#insecure` URL, cluster URLs mixing `redis://` and `rediss://`, TLS
    /// settings with a `redis://` URL, or a CA or client file that cannot be
    /// read or holds no PEM certificate (or key).
    pub fn build(self) -> Result<RedisCache> {
        let conn = self.connection()?;
        Ok(RedisCache::from_parts(
            conn,
            self.key_prefix
                .unwrap_or_else(|| DEFAULT_KEY_PREFIX.to_owned()),
            self.max_record_bytes,
            self.deletion_marker.as_secs().max(1),
        ))
    }

    /// Validate and build a [`RedisStore`]: Redis as the whole session store
    /// (no durable tier behind it; see the crate README on durability). The
    /// deletion marker setting does not apply. No connection is made yet.
    ///
    /// # Errors
    /// As [`RedisCacheBuilder::build`].
    pub fn build_store(self) -> Result<RedisStore> {
        let conn = self.connection()?;
        Ok(RedisStore::from_parts(
            conn,
            self.key_prefix
                .unwrap_or_else(|| DEFAULT_STORE_KEY_PREFIX.to_owned()),
            self.max_record_bytes,
        ))
    }

    fn connection(&self) -> Result<Connection> {
        /// Commands queued for a standalone connection's writer.
        const PIPELINE_BUFFER: usize = 1024;
        if self
            .key_prefix
            .as_deref()
            .is_some_and(|p| p.contains(['{', '}']))
        {
            return Err(Error::config(
                "the Redis key prefix must not contain `{` or `}` (the store key is the hash tag)",
            ));
        }
        if self.call_timeout.is_zero() {
            return Err(Error::config("the Redis call timeout must be above zero"));
        }
        let pool_size = self.pool_size.unwrap_or(DEFAULT_CONNECTIONS);
        if pool_size == 0 {
            return Err(Error::config("the Redis pool size must be at least 1"));
        }
        let connector = match &self.target {
            Target::Single(url) => {
                let tls = self.tls_settings(uses_tls(url)?)?;
                let client = match tls {
                    Some(tls) => tls_client(url, tls)?,
                    None => Client::open(url.as_str())
                        .map_err(|e| Error::config(format!("invalid Redis URL: {e}")))?,
                };
                // No response timeout of the connection's own: every call has
                // the deadline already, and a second timer per command costs.
                // The queue holds more than the requests usually in flight,
                // so a burst is written at once instead of waiting for room.
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(self.call_timeout))
                    .set_response_timeout(None)
                    .set_pipeline_buffer_size(PIPELINE_BUFFER);
                Connector::Single { client, config }
            }
            Target::Cluster(urls) => {
                let Some(first) = urls.first() else {
                    return Err(Error::config("a Redis Cluster needs at least one node URL"));
                };
                let tls = uses_tls(first)?;
                for url in &urls[1..] {
                    if uses_tls(url)? != tls {
                        return Err(Error::config(
                            "the Redis Cluster URLs mix redis:// and rediss://",
                        ));
                    }
                }
                let mut builder = ClusterClientBuilder::new(urls.iter().map(String::as_str))
                    .connection_timeout(self.call_timeout)
                    .response_timeout(self.call_timeout);
                let mut tls_probe = None;
                if let Some(tls) = self.tls_settings(tls)? {
                    let config = AsyncConnectionConfig::new()
                        .set_connection_timeout(Some(self.call_timeout));
                    tls_probe = Some(Box::new((tls_client(first, tls.clone())?, config)));
                    builder = with_cluster_tls(builder, tls);
                }
                let client = builder
                    .build()
                    .map_err(|e| Error::config(format!("invalid Redis Cluster URLs: {e}")))?;
                Connector::Cluster { client, tls_probe }
            }
        };
        let commands = Arc::new(AtomicU64::new(0));
        let pools = Pools::new(connector, pool_size, commands.clone());
        Ok(Connection::new(pools, self.call_timeout, commands))
    }
}

/// Settings from the environment (see [`mod@env`]): cluster mode when
/// [`env::CLUSTER_URLS`] is set, else standalone at [`env::URL`];
/// `from_env` and `from_lookup` come with [`FromEnv`]. A missing URL is an
/// [`Error::Config`] naming both variables.
impl FromEnv for RedisCacheBuilder {
    fn from_vars<F: Fn(&str) -> Option<String>>(vars: &EnvVars<F>) -> Result<Self> {
        let mut builder = if let Some(urls) = vars.list(env::CLUSTER_URLS) {
            Self::cluster(urls)
        } else if let Some(url) = vars.get(env::URL) {
            Self::standalone(url)
        } else {
            return Err(Error::config(format!(
                "set {} (standalone Redis) or {} (Redis Cluster)",
                env::URL,
                env::CLUSTER_URLS
            )));
        };
        if let Some(prefix) = vars.get(env::KEY_PREFIX) {
            builder = builder.key_prefix(prefix);
        }
        if let Some(timeout) = vars.millis(env::TIMEOUT_MS)? {
            builder = builder.call_timeout(timeout);
        }
        if let Some(n) = vars.number(env::POOL_SIZE)? {
            builder = builder.pool_size(n);
        }
        if let Some(ca) = vars.get(env::TLS_CA_FILE) {
            builder = builder.tls_ca_file(ca);
        }
        match (
            vars.get(env::TLS_CLIENT_CERT_FILE),
            vars.get(env::TLS_CLIENT_KEY_FILE),
        ) {
            (Some(cert), Some(key)) => builder = builder.tls_client_auth_files(cert, key),
            (None, None) => {}
            _ => {
                return Err(Error::config(format!(
                    "set both {} and {} for mutual TLS, or neither",
                    env::TLS_CLIENT_CERT_FILE,
                    env::TLS_CLIENT_KEY_FILE
                )));
            }
        }
        Ok(builder)
    }
}

impl RedisCacheBuilder {
    /// The TLS material for a target that does (`tls`) or does not use TLS:
    /// settings given for a plain `redis://` target are an error rather than
    /// silently unused.
    fn tls_settings(&self, tls: bool) -> Result<Option<TlsSettings>> {
        match (tls, self.tls.is_set()) {
            (false, false) => Ok(None),
            (false, true) => Err(Error::config(
                "Redis TLS settings (CA or client certificate) are set but the URL is \
                 redis://, not rediss://",
            )),
            (true, _) => {
                #[cfg(feature = "tls")]
                crate::tls::ensure_crypto_provider();
                self.tls.load().map(Some)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn env_selects_cluster_over_standalone_and_reads_settings() {
        let b = RedisCacheBuilder::from_lookup(lookup(&[
            (env::URL, "redis://a:1"),
            (env::CLUSTER_URLS, "redis://b:1, redis://c:2,"),
            (env::KEY_PREFIX, "app1:"),
            (env::TIMEOUT_MS, "50"),
            (env::POOL_SIZE, "3"),
        ]))
        .unwrap();
        match &b.target {
            Target::Cluster(urls) => assert_eq!(urls, &["redis://b:1", "redis://c:2"]),
            Target::Single(_) => panic!("expected cluster mode"),
        }
        assert_eq!(b.key_prefix.as_deref(), Some("app1:"));
        assert_eq!(b.call_timeout, Duration::from_millis(50));
        assert_eq!(b.pool_size, Some(3));
    }

    #[test]
    fn env_errors_are_config_errors() {
        let none = RedisCacheBuilder::from_lookup(lookup(&[]));
        assert!(matches!(none, Err(Error::Config { .. })));
        let bad = RedisCacheBuilder::from_lookup(lookup(&[
            (env::URL, "redis://a:1"),
            (env::TIMEOUT_MS, "soon"),
        ]));
        assert!(matches!(bad, Err(Error::Config { .. })));
    }

    #[test]
    fn build_rejects_bad_settings() {
        let bad = |b: RedisCacheBuilder| matches!(b.build(), Err(Error::Config { .. }));
        assert!(bad(RedisCacheBuilder::standalone("not a url")));
        assert!(bad(
            RedisCacheBuilder::standalone("redis://127.0.0.1:1").key_prefix("a{b}")
        ));
        assert!(bad(
            RedisCacheBuilder::standalone("redis://127.0.0.1:1").call_timeout(Duration::ZERO)
        ));
        assert!(bad(
            RedisCacheBuilder::standalone("redis://127.0.0.1:1").pool_size(0)
        ));
        assert!(bad(RedisCacheBuilder::cluster(Vec::<String>::new())));
    }

    #[test]
    fn a_cache_and_a_store_get_different_default_prefixes() {
        let b = RedisCacheBuilder::standalone("redis://127.0.0.1:1");
        assert_eq!(b.clone().build().unwrap().key_prefix(), DEFAULT_KEY_PREFIX);
        assert_eq!(
            b.clone().build_store().unwrap().key_prefix(),
            DEFAULT_STORE_KEY_PREFIX
        );
        assert!(!DEFAULT_STORE_KEY_PREFIX.starts_with(DEFAULT_KEY_PREFIX));
        let b = b.key_prefix("app:");
        assert_eq!(b.clone().build().unwrap().key_prefix(), "app:");
        assert_eq!(b.build_store().unwrap().key_prefix(), "app:");
    }

    /// A self-signed certificate whose key was never kept: PEM that parses.
    #[cfg(feature = "tls")]
    const PEM: &[u8] = include_bytes!("../testdata/unit-test-ca.pem");

    #[test]
    #[cfg(feature = "tls")]
    fn tls_settings_are_checked_at_build() {
        let bad = |b: RedisCacheBuilder| match b.build_store() {
            Err(Error::Config { message }) => message.into_owned(),
            other => panic!("expected a config error, got {other:?}"),
        };
        let tls = || RedisCacheBuilder::standalone("rediss://127.0.0.1:1");
        assert!(tls().build_store().is_ok(), "default roots");
        assert!(tls().tls_root_certs(PEM).build_store().is_ok());
        assert!(
            bad(RedisCacheBuilder::standalone("redis://127.0.0.1:1").tls_root_certs(PEM))
                .contains("rediss://")
        );
        assert!(bad(tls().tls_ca_file("/nonexistent/ca.pem")).contains("/nonexistent/ca.pem"));
        assert!(bad(tls().tls_root_certs(b"not pem".to_vec())).contains("no PEM certificate"));
        let not_der = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(bad(tls().tls_root_certs(not_der.to_vec())).contains("TLS settings"));
        assert!(bad(tls().tls_client_auth(PEM, b"not a key".to_vec())).contains("client key"));
        assert!(
            bad(RedisCacheBuilder::standalone(
                "rediss://127.0.0.1:1/#insecure"
            ))
            .contains("#insecure")
        );
        assert!(
            bad(RedisCacheBuilder::cluster([
                "rediss://127.0.0.1:1",
                "redis://127.0.0.1:2"
            ]))
            .contains("mix")
        );
        assert!(
            RedisCacheBuilder::cluster(["rediss://127.0.0.1:1", "rediss://127.0.0.1:2"])
                .tls_root_certs(PEM)
                .build_store()
                .is_ok()
        );
    }

    #[test]
    fn env_reads_the_tls_files_and_wants_both_client_files() {
        let b = RedisCacheBuilder::from_lookup(lookup(&[
            (env::URL, "rediss://a:1"),
            (env::TLS_CA_FILE, "/etc/ca.pem"),
            (env::TLS_CLIENT_CERT_FILE, "/etc/c.pem"),
            (env::TLS_CLIENT_KEY_FILE, "/etc/k.pem"),
        ]))
        .unwrap();
        assert!(matches!(&b.tls.ca, Some(Source::File(p)) if p.as_os_str() == "/etc/ca.pem"));
        assert!(b.tls.client_auth.is_some());
        let half = RedisCacheBuilder::from_lookup(lookup(&[
            (env::URL, "rediss://a:1"),
            (env::TLS_CLIENT_CERT_FILE, "/etc/c.pem"),
        ]));
        assert!(matches!(half, Err(Error::Config { .. })));
    }

    #[test]
    #[cfg(not(feature = "tls"))]
    fn without_the_tls_feature_rediss_is_a_config_error_naming_it() {
        let err = RedisCacheBuilder::standalone("rediss://127.0.0.1:1").build_store();
        assert!(matches!(err, Err(Error::Config { message }) if message.contains("`tls` feature")));
    }

    #[test]
    fn debug_hides_tls_material() {
        let b = RedisCacheBuilder::standalone("rediss://127.0.0.1:1")
            .tls_root_certs(b"-----BEGIN CERTIFICATE-----\nSECRETCA\n".to_vec())
            .tls_client_auth(b"CERTBYTES".to_vec(), b"KEYBYTES".to_vec());
        let text = format!("{b:?}");
        for secret in ["SECRETCA", "CERTBYTES", "KEYBYTES"] {
            assert!(!text.contains(secret), "{text}");
        }
    }

    #[test]
    fn debug_hides_urls() {
        let b = RedisCacheBuilder::standalone("redis://user:hunter2@127.0.0.1:1");
        assert!(!format!("{b:?}").contains("hunter2"));
    }
}
