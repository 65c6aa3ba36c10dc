//! The one public error type.

use std::borrow::Cow;
use std::time::Duration;

/// A boxed error from a backend or codec, kept as the `source` of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a store, a tier or the session layer.
///
/// Variants carry meaning a caller can match on; [`Error::is_retryable`] tells
/// whether trying again (after a reload, for [`Error::Conflict`]) may help.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The record changed (its version moved on) since it was loaded.
    #[error("version conflict: the session record changed since it was loaded")]
    Conflict,
    /// A save or touch found no live record: the session was deleted or expired.
    /// A late save never brings such a session back.
    #[error("session record not found")]
    NotFound,
    /// `create` found a live record under the same key.
    #[error("a session record with this key already exists")]
    AlreadyExists,
    /// Another request ended this request's session (logout, `regenerate_id`,
    /// a move back into the cookie) while this one was changing it. Nothing
    /// was saved and no cookie is set: retrying with the browser's current
    /// cookie applies the change to the session it holds now.
    #[error("the session was ended by a concurrent request")]
    Ended,
    /// The backend could not be reached or refused service; retrying may help.
    #[error("{backend} is unavailable")]
    Unavailable {
        /// Which backend (for example `"redis"`, `"dynamodb"`).
        backend: &'static str,
        /// What the backend client reported.
        #[source]
        source: BoxError,
    },
    /// The backend did not answer in time; retrying may help.
    #[error("{backend} did not answer within {after:?}")]
    Timeout {
        /// Which backend.
        backend: &'static str,
        /// The deadline that passed.
        after: Duration,
    },
    /// Session data or a stored record could not be encoded or decoded.
    #[error("could not encode or decode session data")]
    Codec {
        /// The serializer's error.
        #[source]
        source: BoxError,
    },
    /// A record is larger than the backend (or the configuration) allows.
    #[error("session record of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The encoded size.
        size: usize,
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The configuration is invalid; raised when it is built, never per request.
    #[error("invalid configuration: {message}")]
    Config {
        /// What is wrong and how to fix it.
        message: Cow<'static, str>,
    },
    /// The store lacks an optional capability the call needs (for example
    /// binding sessions to a principal over a store with no principal index).
    #[error("the store does not support {what}")]
    Unsupported {
        /// The capability.
        what: &'static str,
    },
    /// The backend failed in a way that retrying will not fix.
    #[error("{backend} failed")]
    Backend {
        /// Which backend.
        backend: &'static str,
        /// What the backend client reported.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// Whether the same operation may succeed if tried again.
    ///
    /// `Conflict` is retryable after reloading the record; `Ended` with the
    /// browser's current cookie; `Unavailable` and `Timeout` as they are.
    /// Everything else is permanent.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Conflict | Error::Ended | Error::Unavailable { .. } | Error::Timeout { .. }
        )
    }

    /// A [`Error::Codec`] from any error.
    pub fn codec(source: impl Into<BoxError>) -> Self {
        Error::Codec {
            source: source.into(),
        }
    }

    /// A [`Error::Config`] with a message.
    pub fn config(message: impl Into<Cow<'static, str>>) -> Self {
        Error::Config {
            message: message.into(),
        }
    }

    /// A retryable [`Error::Unavailable`] for `backend`.
    pub fn unavailable(backend: &'static str, source: impl Into<BoxError>) -> Self {
        Error::Unavailable {
            backend,
            source: source.into(),
        }
    }

    /// A permanent [`Error::Backend`] for `backend`.
    pub fn backend(backend: &'static str, source: impl Into<BoxError>) -> Self {
        Error::Backend {
            backend,
            source: source.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_classification() {
        assert!(Error::Conflict.is_retryable());
        assert!(Error::Ended.is_retryable());
        assert!(Error::unavailable("redis", "down").is_retryable());
        assert!(
            Error::Timeout {
                backend: "redis",
                after: Duration::from_millis(5)
            }
            .is_retryable()
        );
        assert!(!Error::NotFound.is_retryable());
        assert!(!Error::AlreadyExists.is_retryable());
        assert!(!Error::codec("bad").is_retryable());
        assert!(!Error::TooLarge { size: 2, limit: 1 }.is_retryable());
        assert!(!Error::config("x").is_retryable());
        assert!(!Error::backend("dynamodb", "validation").is_retryable());
    }

    #[test]
    fn sources_are_kept() {
        use std::error::Error as _;
        let e = Error::unavailable("redis", std::io::Error::other("connection refused"));
        let src = e.source().map(|s| s.to_string());
        assert_eq!(src.as_deref(), Some("connection refused"));
    }
}
