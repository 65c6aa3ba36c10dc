//! What every framework adapter does to a response after
//! [`crate::Session::finish`]: the statuses and headers, in one place, as plain
//! strings so adapters on any version of the `http` crate can apply them.

use crate::error::Error;

/// One header an adapter sets on a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeaderRule {
    /// Lower-case header name.
    pub(crate) name: &'static str,
    pub(crate) value: &'static str,
    /// Append to what the handler set (`true`) or replace it (`false`).
    pub(crate) append: bool,
}

/// Added to every response that sets a session cookie: a shared cache must
/// neither store it nor serve it to another browser.
pub(crate) const WITH_SESSION_COOKIE: [HeaderRule; 2] = [
    HeaderRule {
        name: "vary",
        value: "Cookie",
        append: true,
    },
    HeaderRule {
        name: "cache-control",
        value: "no-store",
        append: false,
    },
];

/// The headers of the empty response that replaces the handler's when the
/// session cannot be saved.
pub(crate) const ON_SAVE_ERROR: [HeaderRule; 1] = [HeaderRule {
    name: "cache-control",
    value: "no-store",
    append: false,
}];

/// The status for a session error: 503 when a retry may help, else 500.
pub(crate) fn error_status(error: &Error) -> u16 {
    if error.is_retryable() { 503 } else { 500 }
}

/// The status for a session cookie that is not a valid header value.
pub(crate) const BAD_COOKIE_STATUS: u16 = 500;
