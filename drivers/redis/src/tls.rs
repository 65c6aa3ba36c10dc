//! TLS to Redis (`rediss://`): rustls with the *ring* crypto provider, the
//! one TLS stack of the workspace (the AWS SDK uses the same), never OpenSSL
//! or aws-lc.
//!
//! What is verified: the server's certificate chain against the trusted
//! roots, and that it names the host of the URL (or of the address a cluster
//! node announces). The trusted roots are the Mozilla root program compiled
//! in (`webpki-roots`, so a scratch or distroless image needs no CA bundle)
//! unless a CA is given ([`TlsSettings::ca_pem`]), which then replaces them.
//! There is no way to turn verification off.

use std::fmt;
use std::path::{Path, PathBuf};

use redis::cluster::ClusterClientBuilder;
use redis::{Client, ConnectionAddr, IntoConnectionInfo};
use tiered_sessions::{Error, Result};

/// TLS settings of a builder, as given (files are read at build).
#[derive(Clone, Default)]
pub(crate) struct TlsOptions {
    pub(crate) ca: Option<Source>,
    pub(crate) client_auth: Option<(Source, Source)>,
}

/// PEM given in memory or as a file to read when the store is built.
#[derive(Clone)]
pub(crate) enum Source {
    File(PathBuf),
    Pem(Vec<u8>),
}

impl fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // File paths are not secret; key material and certificates are not shown.
        let show = |s: &Option<Source>| match s {
            Some(Source::File(p)) => format!("file {}", p.display()),
            Some(Source::Pem(_)) => "PEM in memory".to_owned(),
            None => "default".to_owned(),
        };
        f.debug_struct("TlsOptions")
            .field("ca", &show(&self.ca))
            .field("client_auth", &self.client_auth.is_some())
            .finish()
    }
}

impl TlsOptions {
    pub(crate) fn is_set(&self) -> bool {
        self.ca.is_some() || self.client_auth.is_some()
    }
}

/// The TLS material read and checked at build.
#[derive(Clone)]
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
pub(crate) struct TlsSettings {
    /// Trusted roots (PEM) replacing the default ones.
    pub(crate) ca_pem: Option<Vec<u8>>,
    /// Client certificate chain and private key (PEM), for mutual TLS.
    pub(crate) client_auth: Option<(Vec<u8>, Vec<u8>)>,
}

impl Source {
    fn read(&self, what: &str) -> Result<Vec<u8>> {
        match self {
            Source::Pem(pem) => Ok(pem.clone()),
            Source::File(path) => read_file(path, what),
        }
    }
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Error::config(format!(
            "cannot read the Redis TLS {what} file {}: {e}",
            path.display()
        ))
    })
}

impl TlsOptions {
    /// Read the files and check the PEM: at least one certificate in the CA
    /// and in the client chain, a private key for the client.
    pub(crate) fn load(&self) -> Result<TlsSettings> {
        let ca_pem = match &self.ca {
            Some(ca) => {
                let pem = ca.read("CA")?;
                check::certificates(&pem, "CA")?;
                Some(pem)
            }
            None => None,
        };
        let client_auth = match &self.client_auth {
            Some((cert, key)) => {
                let (cert, key) = (cert.read("client certificate")?, key.read("client key")?);
                check::certificates(&cert, "client certificate")?;
                check::private_key(&key)?;
                Some((cert, key))
            }
            None => None,
        };
        Ok(TlsSettings {
            ca_pem,
            client_auth,
        })
    }
}

#[cfg(feature = "tls")]
mod check {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tiered_sessions::{Error, Result};

    pub(super) fn certificates(pem: &[u8], what: &str) -> Result<()> {
        let mut count = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            cert.map_err(|e| Error::config(format!("the Redis TLS {what} is not valid PEM: {e}")))?;
            count += 1;
        }
        if count == 0 {
            return Err(Error::config(format!(
                "the Redis TLS {what} holds no PEM certificate"
            )));
        }
        Ok(())
    }

    pub(super) fn private_key(pem: &[u8]) -> Result<()> {
        PrivateKeyDer::from_pem_slice(pem).map(drop).map_err(|e| {
            Error::config(format!(
                "the Redis TLS client key is not a PEM private key: {e}"
            ))
        })
    }
}

#[cfg(not(feature = "tls"))]
mod check {
    use tiered_sessions::Result;

    pub(super) fn certificates(_: &[u8], _: &str) -> Result<()> {
        Err(super::not_built())
    }

    pub(super) fn private_key(_: &[u8]) -> Result<()> {
        Err(super::not_built())
    }
}

/// Whether `url` asks for TLS (`rediss://`, `valkeys://`). A `#insecure` URL
/// (no hostname check) is refused: trust a private CA with
/// `tls_ca_file` instead.
pub(crate) fn uses_tls(url: &str) -> Result<bool> {
    let scheme = url.trim_start().split("://").next().unwrap_or_default();
    let tls = scheme.eq_ignore_ascii_case("rediss") || scheme.eq_ignore_ascii_case("valkeys");
    if tls && cfg!(not(feature = "tls")) {
        return Err(not_built());
    }
    let info = url
        .into_connection_info()
        .map_err(|e| Error::config(format!("invalid Redis URL: {e}")))?;
    match info.addr() {
        ConnectionAddr::TcpTls { insecure: true, .. } => Err(Error::config(
            "rediss://…#insecure (no hostname verification) is not supported; trust the \
             server's CA with tls_ca_file or TIERED_SESSIONS_REDIS_TLS_CA_FILE",
        )),
        ConnectionAddr::TcpTls { .. } => Ok(true),
        _ => Ok(false),
    }
}

#[cfg(feature = "tls")]
fn certificates(tls: TlsSettings) -> redis::TlsCertificates {
    redis::TlsCertificates {
        client_tls: tls
            .client_auth
            .map(|(client_cert, client_key)| redis::ClientTlsConfig {
                client_cert,
                client_key,
            }),
        root_cert: tls.ca_pem,
    }
}

#[cfg(feature = "tls")]
pub(crate) fn tls_client(url: &str, tls: TlsSettings) -> Result<Client> {
    Client::build_with_tls(url, certificates(tls))
        .map_err(|e| Error::config(format!("invalid Redis TLS settings: {e}")))
}

#[cfg(not(feature = "tls"))]
pub(crate) fn tls_client(_: &str, _: TlsSettings) -> Result<Client> {
    Err(not_built())
}

#[cfg(feature = "tls")]
pub(crate) fn with_cluster_tls(
    builder: ClusterClientBuilder,
    tls: TlsSettings,
) -> ClusterClientBuilder {
    if tls.ca_pem.is_none() && tls.client_auth.is_none() {
        // The default roots; the rediss:// URLs already ask for TLS.
        return builder;
    }
    builder.certs(certificates(tls))
}

#[cfg(not(feature = "tls"))]
pub(crate) fn with_cluster_tls(
    builder: ClusterClientBuilder,
    _: TlsSettings,
) -> ClusterClientBuilder {
    builder
}

/// The error for TLS settings or a `rediss://` URL in a build without TLS.
pub(crate) fn not_built() -> Error {
    Error::config(
        "rediss:// and the TLS settings need the `tls` feature of tiered-sessions-redis \
         (on by default)",
    )
}

/// Make sure rustls has a process-wide crypto provider before redis-rs asks
/// for one: ring, unless the application installed one of its own first.
/// (redis-rs builds its TLS configuration from the process default; with
/// both ring and aws-lc-rs compiled into an application, rustls would not
/// choose on its own and the first connection would fail.)
#[cfg(feature = "tls")]
pub(crate) fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may win the race; either way a provider is set.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// A TLS handshake the server's certificate (or ours) did not pass: a
/// configuration problem, not an outage, so it is reported as a permanent
/// error whose source is the rustls error.
#[cfg(feature = "tls")]
#[derive(Debug)]
pub(crate) struct TlsRefused(pub(crate) rustls::Error);

#[cfg(feature = "tls")]
impl fmt::Display for TlsRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the TLS handshake with Redis failed ({}); a server certificate from a private CA \
             needs that CA (tls_ca_file, or TIERED_SESSIONS_REDIS_TLS_CA_FILE)",
            self.0
        )
    }
}

#[cfg(feature = "tls")]
impl std::error::Error for TlsRefused {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// The rustls error behind a failed connection, if that is what it was.
///
/// redis-rs keeps an I/O error as an `Arc<dyn Error>` source, and tokio-rustls
/// wraps a handshake failure in an `io::Error`; if either changes, this finds
/// nothing and the failure stays a retryable connection error.
#[cfg(feature = "tls")]
pub(crate) fn rustls_error(e: &redis::RedisError) -> Option<rustls::Error> {
    use std::error::Error as _;
    use std::sync::Arc;
    let source = e.source()?;
    let inner = source.downcast_ref::<Arc<dyn std::error::Error + Send + Sync>>()?;
    let io = inner.downcast_ref::<std::io::Error>()?;
    io.get_ref()?.downcast_ref::<rustls::Error>().cloned()
}
