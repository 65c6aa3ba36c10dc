//! What every framework adapter does to a response after the handler: the
//! statuses, the `Vary`/`Cache-Control` policy and the failure events, in one
//! place. Adapters only say how to read and write their own header map
//! ([`ResponseHeaders`]), so one implementation serves every `http` version.
//!
//! The policy (stated in the README's behaviour list):
//! - a response whose handler read or changed the session gets `Vary: Cookie`,
//!   after the handler's own `Vary` values (nothing is added when they already
//!   name `Cookie` or `*`); an untouched session adds nothing;
//! - a response that sets a session cookie gets `Cache-Control: no-store`,
//!   replacing the handler's value: a cached `Set-Cookie` would hand one
//!   visitor's session to the next;
//! - a response that read the session but sets no cookie keeps the handler's
//!   `Cache-Control`, and gets `no-store` when the handler set none;
//! - a failed save replaces the response with an empty 500 (503 when a retry
//!   may help) carrying `Cache-Control: no-store`.

#[cfg(any(feature = "axum", feature = "actix"))]
use std::sync::LazyLock;
use std::time::Duration;

use crate::error::Error;
#[cfg(any(feature = "axum", feature = "actix"))]
use crate::log_throttle::LogThrottle;
use crate::log_throttle::throttled;
use crate::metrics::Metrics;
use crate::session::{ResponseCookies, Session};

/// A window of the failure logs: the first failure of a kind is logged at
/// once, the rest are summarized once per window.
pub(crate) const LOG_WINDOW: Duration = Duration::from_secs(10);

/// A header the policy reads or writes (each adapter maps it to its
/// framework's constant, so no name is parsed per request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Header {
    Vary,
    CacheControl,
}

/// The header map of a response, as the policy needs it.
pub(crate) trait ResponseHeaders {
    /// Whether a value of `header` lists one of `tokens` (comma-separated,
    /// ASCII case-insensitive).
    fn lists_any(&self, header: Header, tokens: &[&str]) -> bool;
    /// Whether the handler set `header` at all.
    fn has(&self, header: Header) -> bool;
    /// Add a value after the existing ones.
    fn append(&mut self, header: Header, value: &'static str);
    /// Replace every value of `header` with `value`.
    fn replace(&mut self, header: Header, value: &'static str);
    /// Add a `Set-Cookie` value; `false` when it is not a valid header value.
    fn append_set_cookie(&mut self, value: String) -> bool;
}

/// Whether the adapter keeps the handler's response or replaces it with an
/// empty one of this status (then calling [`on_replaced`] on its headers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Keep,
    Replace(u16),
}

/// Apply the save of a session the handler touched to the handler's
/// response headers.
pub(crate) fn after_handler(
    session: &Session,
    saved: crate::error::Result<ResponseCookies>,
    headers: &mut impl ResponseHeaders,
) -> Outcome {
    let cookies = match saved {
        Ok(cookies) => cookies,
        Err(e) => {
            report_save_failure(session, &e);
            return Outcome::Replace(error_status(&e));
        }
    };
    let sets_cookie = !cookies.is_empty();
    for value in cookies.set_cookie {
        if !headers.append_set_cookie(value) {
            // Only a broken configuration gets here; the value is not logged.
            tracing::error!("session cookie is not a valid header value");
            return Outcome::Replace(BAD_COOKIE_STATUS);
        }
    }
    if !headers.lists_any(Header::Vary, &["cookie", "*"]) {
        headers.append(Header::Vary, "Cookie");
    }
    if sets_cookie || !headers.has(Header::CacheControl) {
        headers.replace(Header::CacheControl, "no-store");
    }
    Outcome::Keep
}

/// The headers of the empty response that replaces the handler's.
pub(crate) fn on_replaced(headers: &mut impl ResponseHeaders) {
    headers.replace(Header::CacheControl, "no-store");
}

/// Count a failed save every time; log it once per kind and window.
fn report_save_failure(session: &Session, e: &Error) {
    let ctx = session.context();
    Metrics::inc(&ctx.metrics.save_failures);
    let kind = failure_kind(e);
    throttled!(
        ctx.failure_logs,
        kind,
        error,
        kind,
        error = %e,
        source = ?std::error::Error::source(e),
        "session could not be saved"
    );
}

/// The failure logs of errors a handler returned (`IntoResponse` for axum,
/// `ResponseError` for actix-web): they reach no session, so they share one
/// process-wide throttle.
#[cfg(any(feature = "axum", feature = "actix"))]
static HANDLER_ERROR_LOGS: LazyLock<LogThrottle> = LazyLock::new(|| LogThrottle::new(LOG_WINDOW));

/// Log a session error a handler returned, once per kind and window.
#[cfg(any(feature = "axum", feature = "actix"))]
pub(crate) fn report_handler_error(e: &Error) {
    let kind = failure_kind(e);
    throttled!(
        HANDLER_ERROR_LOGS,
        kind,
        error,
        kind,
        error = %e,
        source = ?std::error::Error::source(e),
        "session error"
    );
}

/// The kind a failure is logged (and throttled) under.
pub(crate) fn failure_kind(e: &Error) -> &'static str {
    match e {
        Error::Conflict => "conflict",
        Error::NotFound => "not_found",
        Error::AlreadyExists => "already_exists",
        Error::Ended => "ended",
        Error::Unavailable { .. } => "unavailable",
        Error::Timeout { .. } => "timeout",
        Error::Codec { .. } => "codec",
        Error::TooLarge { .. } => "too_large",
        Error::Config { .. } => "config",
        Error::Unsupported { .. } => "unsupported",
        Error::Backend { .. } => "backend",
    }
}

/// The status for a session error: 503 when a retry may help, else 500.
pub(crate) fn error_status(error: &Error) -> u16 {
    if error.is_retryable() { 503 } else { 500 }
}

/// The status for a session cookie that is not a valid header value.
pub(crate) const BAD_COOKIE_STATUS: u16 = 500;

/// Whether a comma-separated header value lists `token`.
pub(crate) fn value_lists(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|item| item.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// `ResponseHeaders` for a framework's header map: the tower layer's
/// (`http` 1) and actix-web's have the same shape under different types.
macro_rules! impl_response_headers {
    ($map:ty, $name:ty, $value:ty, $set_cookie:expr, $vary:expr, $cache_control:expr) => {
        fn policy_header(header: $crate::response_policy::Header) -> $name {
            match header {
                $crate::response_policy::Header::Vary => $vary,
                $crate::response_policy::Header::CacheControl => $cache_control,
            }
        }

        impl $crate::response_policy::ResponseHeaders for $map {
            fn lists_any(&self, header: $crate::response_policy::Header, tokens: &[&str]) -> bool {
                self.get_all(policy_header(header)).into_iter().any(|v| {
                    tokens
                        .iter()
                        .any(|t| $crate::response_policy::value_lists(v.as_bytes(), t))
                })
            }

            fn has(&self, header: $crate::response_policy::Header) -> bool {
                self.contains_key(policy_header(header))
            }

            fn append(&mut self, header: $crate::response_policy::Header, value: &'static str) {
                <$map>::append(self, policy_header(header), <$value>::from_static(value));
            }

            fn replace(&mut self, header: $crate::response_policy::Header, value: &'static str) {
                self.insert(policy_header(header), <$value>::from_static(value));
            }

            fn append_set_cookie(&mut self, value: String) -> bool {
                match <$value>::try_from(value) {
                    Ok(v) => {
                        <$map>::append(self, $set_cookie, v);
                        true
                    }
                    Err(_) => false,
                }
            }
        }
    };
}
pub(crate) use impl_response_headers;

#[cfg(test)]
mod tests {
    use super::value_lists;

    #[test]
    fn lists_tokens_case_insensitively() {
        assert!(value_lists(b"Accept-Encoding, cookie", "cookie"));
        assert!(value_lists(b"*", "*"));
        assert!(!value_lists(b"Cookies, X-Cookie", "cookie"));
        assert!(!value_lists(b"", "cookie"));
    }
}
