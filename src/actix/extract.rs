//! [`Session`] as an actix-web extractor, and [`Error`] as a response.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};

use crate::error::Error;
use crate::response_policy::{error_status, report_handler_error};
use crate::session::Session;

/// The extractor was used on a route without a [`super::SessionMiddleware`]:
/// an empty 500, and a `tracing` error event naming the missing middleware.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("no SessionMiddleware on this route")]
pub struct MissingSessionMiddleware;

impl ResponseError for MissingSessionMiddleware {
    fn status_code(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    fn error_response(&self) -> HttpResponse {
        tracing::error!(
            "Session extractor used without a SessionMiddleware: wrap the app or scope in tiered_sessions::actix::SessionMiddleware"
        );
        HttpResponse::new(self.status_code())
    }
}

impl FromRequest for Session {
    type Error = MissingSessionMiddleware;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Session>()
                .cloned()
                .ok_or(MissingSessionMiddleware),
        )
    }
}

/// An empty 500 (503 when retrying may help); the detail goes to `tracing` only.
impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(error_status(self)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        report_handler_error(self);
        HttpResponse::new(self.status_code())
    }
}
