//! How AWS SDK failures map onto [`tiered_sessions::Error`].

use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use tiered_sessions::Error;

pub(crate) const BACKEND: &str = "dynamodb";

/// Error codes after which the same request may succeed later.
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "LimitExceededException",
    "TransactionConflictException",
];

/// Whether a service error code (or HTTP status) means "try again later".
pub(crate) fn is_retryable_code(code: Option<&str>, status: u16) -> bool {
    status >= 500 || status == 429 || code.is_some_and(|c| RETRYABLE_CODES.contains(&c))
}

/// Map an SDK error that the caller did not handle itself. Throttling,
/// unavailability, dispatch (connection) failures and 5xx answers are
/// [`Error::Unavailable`] (the SDK has already spent its retry budget on them),
/// a deadline is [`Error::Timeout`], the rest [`Error::Backend`].
pub(crate) fn sdk_error<E, R>(e: SdkError<E, R>, timeout: Duration) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
    SdkError<E, R>: HasStatus,
{
    match &e {
        SdkError::TimeoutError(_) => Error::Timeout {
            backend: BACKEND,
            after: timeout,
        },
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => Error::unavailable(BACKEND, e),
        SdkError::ServiceError(se) => {
            if is_retryable_code(se.err().code(), e.status()) {
                Error::unavailable(BACKEND, e)
            } else {
                Error::backend(BACKEND, e)
            }
        }
        _ => Error::backend(BACKEND, e),
    }
}

/// The HTTP status of a service error's response (0 when there is none).
pub(crate) trait HasStatus {
    fn status(&self) -> u16;
}

impl<E> HasStatus for SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse> {
    fn status(&self) -> u16 {
        self.raw_response().map_or(0, |r| r.status().as_u16())
    }
}

/// The error code of a service error, if it is one.
pub(crate) fn code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<&str> {
    match e {
        SdkError::ServiceError(se) => se.err().code(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::config::http::HttpResponse;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_sdk_dynamodb::types::error::ProvisionedThroughputExceededException;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    const T: Duration = Duration::from_secs(3);

    fn answer(status: u16, e: GetItemError) -> SdkError<GetItemError, HttpResponse> {
        let status = StatusCode::try_from(status).unwrap();
        SdkError::service_error(e, HttpResponse::new(status, SdkBody::empty()))
    }

    fn coded(code: &str) -> GetItemError {
        GetItemError::generic(ErrorMetadata::builder().code(code).build())
    }

    #[test]
    fn sdk_errors_map_to_typed_retryable_or_permanent_errors() {
        let throttled = GetItemError::ProvisionedThroughputExceededException(
            ProvisionedThroughputExceededException::builder()
                .message("slow down")
                .meta(
                    ErrorMetadata::builder()
                        .code("ProvisionedThroughputExceededException")
                        .build(),
                )
                .build(),
        );
        let cases = [
            (answer(400, throttled), "unavailable"),
            (answer(400, coded("ThrottlingException")), "unavailable"),
            (answer(500, coded("InternalServerError")), "unavailable"),
            (answer(503, coded("Whatever")), "unavailable"),
            (answer(400, coded("ValidationException")), "backend"),
            (answer(400, coded("ResourceNotFoundException")), "backend"),
            (SdkError::timeout_error("slow"), "timeout"),
            (
                SdkError::dispatch_failure(ConnectorError::io("connection refused".into())),
                "unavailable",
            ),
        ];
        for (e, want) in cases {
            let shown = format!("{e:?}");
            let got = match sdk_error(e, T) {
                Error::Unavailable {
                    backend: BACKEND, ..
                } => "unavailable",
                Error::Backend {
                    backend: BACKEND, ..
                } => "backend",
                Error::Timeout {
                    backend: BACKEND,
                    after,
                } if after == T => "timeout",
                other => panic!("{other:?}"),
            };
            assert_eq!(got, want, "{shown}");
        }
        // The source is kept, not flattened into a string.
        let e = sdk_error(answer(400, coded("ThrottlingException")), T);
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn throttling_and_5xx_are_retryable_validation_is_not() {
        assert!(is_retryable_code(Some("ThrottlingException"), 400));
        assert!(is_retryable_code(
            Some("ProvisionedThroughputExceededException"),
            400
        ));
        assert!(is_retryable_code(None, 503));
        assert!(is_retryable_code(Some("Whatever"), 500));
        assert!(!is_retryable_code(Some("ValidationException"), 400));
        assert!(!is_retryable_code(Some("ResourceNotFoundException"), 400));
    }
}
