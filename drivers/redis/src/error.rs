//! How Redis client and pool failures map onto [`tiered_sessions::Error`].

use std::fmt;
use std::time::Duration;

use redis::{RedisError, RetryMethod};
use tiered_sessions::{BoxError, Error};

use crate::pool::CallError;

const BACKEND: &str = "redis";

/// `after` is the call's deadline: the connection's own connect and response
/// timeouts are set to it, so whichever fires, the caller sees the same
/// [`Error::Timeout`].
pub(crate) fn into_error(e: CallError, after: Duration) -> Error {
    let (CallError::Redis(e) | CallError::Connect(e)) = e;
    if e.is_timeout() {
        return Error::Timeout {
            backend: BACKEND,
            after,
        };
    }
    redis_error(e)
}

/// Retryable (connection, timeout, cluster reshaping, loading) or not (a server
/// error such as a script error or a wrong type under our key).
pub(crate) fn redis_error(e: RedisError) -> Error {
    // A refused TLS handshake is a configuration problem: retrying repeats it.
    #[cfg(feature = "tls")]
    if let Some(refused) = crate::tls::rustls_error(&e) {
        return Error::backend(BACKEND, crate::tls::TlsRefused(refused));
    }
    let permanent =
        !e.is_io_error() && !e.is_timeout() && matches!(e.retry_method(), RetryMethod::NoRetry);
    if permanent {
        Error::backend(BACKEND, e)
    } else {
        Error::unavailable(BACKEND, e)
    }
}

/// A `WRONGTYPE` answer on a store key: something that is not a store record
/// (another application's key, a [`crate::RedisCache`] entry of the earlier
/// HASH layout) sits under the store's prefix. Kept as the source's wrapper so
/// the message says why.
#[derive(Debug)]
struct NotAStoreRecord(BoxError);

impl fmt::Display for NotAStoreRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a key under the RedisStore's prefix is not a store record (does another \
             application, or a RedisCache of an earlier release, share the key prefix?)",
        )
    }
}

impl std::error::Error for NotAStoreRecord {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

/// Whether Redis answered `WRONGTYPE`: the key holds another type than the
/// command works on.
pub(crate) fn is_wrong_type(e: &Error) -> bool {
    matches!(e, Error::Backend { source, .. } if wrong_type(source))
}

fn wrong_type(source: &BoxError) -> bool {
    source
        .downcast_ref::<RedisError>()
        .and_then(RedisError::code)
        == Some("WRONGTYPE")
}

/// [`Error::Backend`] naming the likely cause when Redis answered
/// `WRONGTYPE`; any other error as it is.
pub(crate) fn not_a_store_record(e: Error) -> Error {
    match e {
        Error::Backend { backend, source } if wrong_type(&source) => {
            Error::backend(backend, NotAStoreRecord(source))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis::ErrorKind;

    #[test]
    fn connection_errors_are_retryable_server_errors_are_not() {
        let io = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(matches!(
            redis_error(io),
            Error::Unavailable {
                backend: "redis",
                ..
            }
        ));
        let typed = RedisError::from((ErrorKind::UnexpectedReturnType, "wrong type"));
        assert!(matches!(
            redis_error(typed),
            Error::Backend {
                backend: "redis",
                ..
            }
        ));
    }
}
