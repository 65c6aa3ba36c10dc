//! axum integration: [`Session`] as an extractor, [`Error`] as a response.

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use crate::error::Error;
use crate::response_policy::{error_status, report_handler_error};
use crate::session::Session;

/// The extractor was used on a route without a [`crate::SessionLayer`].
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("no SessionLayer on this route")]
pub struct MissingSessionLayer;

impl IntoResponse for MissingSessionLayer {
    fn into_response(self) -> Response {
        tracing::error!("Session extractor used without a SessionLayer");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = MissingSessionLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or(MissingSessionLayer)
    }
}

/// An opaque 500 (503 when retrying may help); the detail goes to `tracing` only.
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        report_handler_error(&self);
        StatusCode::from_u16(error_status(&self))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response()
    }
}
