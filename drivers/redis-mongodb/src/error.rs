//! How MongoDB driver errors become [`tiered_sessions::Error`]s.

use mongodb::error::{
    ErrorKind, RETRYABLE_ERROR, RETRYABLE_WRITE_ERROR, SYSTEM_OVERLOADED_ERROR, WriteFailure,
};
use tiered_sessions::Error;

/// The backend name carried by every error of this driver.
pub(crate) const BACKEND: &str = "mongodb";

/// `DuplicateKey`: an insert or upsert met an existing `_id`.
pub(crate) const DUPLICATE_KEY: i32 = 11000;

/// Server codes that mean "this node cannot serve right now; another try (on
/// this node later, or on a new primary) may succeed". The driver's own
/// retryable-read list plus write-concern and time-limit failures.
const TRANSIENT_CODES: &[i32] = &[
    6,     // HostUnreachable
    7,     // HostNotFound
    50,    // MaxTimeMSExpired
    64,    // WriteConcernFailed (wtimeout)
    89,    // NetworkTimeout
    91,    // ShutdownInProgress
    112,   // WriteConflict
    134,   // ReadConcernMajorityNotAvailableYet
    189,   // PrimarySteppedDown
    262,   // ExceededTimeLimit
    9001,  // SocketException
    10058, // LegacyNotPrimary
    10107, // NotWritablePrimary
    11600, // InterruptedAtShutdown
    11602, // InterruptedDueToReplStateChange
    13435, // NotPrimaryNoSecondaryOk
    13436, // NotPrimaryOrSecondary
];

/// The server's error code, wherever the driver put it.
pub(crate) fn code(e: &mongodb::error::Error) -> Option<i32> {
    match e.kind.as_ref() {
        ErrorKind::Command(c) => Some(c.code),
        ErrorKind::Write(WriteFailure::WriteError(w)) => Some(w.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(w)) => Some(w.code),
        _ => None,
    }
}

/// Whether trying again may help: network trouble, no reachable primary, a
/// node stepping down or shutting down, or a label saying so.
pub(crate) fn is_transient(e: &mongodb::error::Error) -> bool {
    let kind_says = matches!(
        e.kind.as_ref(),
        ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::ServerSelection { .. }
            | ErrorKind::Shutdown
            | ErrorKind::Write(WriteFailure::WriteConcernError(_))
    );
    kind_says
        || code(e).is_some_and(|c| TRANSIENT_CODES.contains(&c))
        || [
            RETRYABLE_WRITE_ERROR,
            RETRYABLE_ERROR,
            SYSTEM_OVERLOADED_ERROR,
        ]
        .iter()
        .any(|label| e.contains_label(label))
}

/// Map a driver error, keeping it as the source: transient failures become the
/// retryable [`Error::Unavailable`], everything else [`Error::Backend`].
pub(crate) fn map(e: mongodb::error::Error) -> Error {
    if is_transient(&e) {
        Error::unavailable(BACKEND, e)
    } else {
        Error::backend(BACKEND, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn network_failures_are_retryable_and_keep_their_source() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = map(mongodb::error::Error::from(io));
        assert!(matches!(
            e,
            Error::Unavailable {
                backend: BACKEND,
                ..
            }
        ));
        assert!(e.is_retryable());
        assert!(e.source().is_some());
    }

    #[test]
    fn custom_errors_are_permanent() {
        let e = map(mongodb::error::Error::custom(Arc::new(5u8)));
        assert!(matches!(
            e,
            Error::Backend {
                backend: BACKEND,
                ..
            }
        ));
        assert!(!e.is_retryable());
    }
}
