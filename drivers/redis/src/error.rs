//! How Redis client and pool failures map onto [`tiered_sessions::Error`].

use std::time::Duration;

use redis::{RedisError, RetryMethod};
use tiered_sessions::Error;

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
    let permanent =
        !e.is_io_error() && !e.is_timeout() && matches!(e.retry_method(), RetryMethod::NoRetry);
    if permanent {
        Error::backend(BACKEND, e)
    } else {
        Error::unavailable(BACKEND, e)
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
