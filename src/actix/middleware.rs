//! [`SessionMiddleware`]: the actix-web `Transform` that gives each request a
//! lazy [`Session`] and saves it once after the handler.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::HttpMessage;
use actix_web::HttpResponse;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::http::header::{
    CACHE_CONTROL, COOKIE, HeaderMap, HeaderName, HeaderValue, SET_COOKIE, VARY,
};
use pin_project_lite::pin_project;

use crate::instrument::RequestSpan;
use crate::manager::SessionManager;
use crate::request_cookies::RequestCookies;
use crate::response_policy::{Outcome, after_handler, on_replaced};
use crate::session::Session;

/// Adds a lazy [`Session`] to each request and saves it after the response
/// (`App::new().wrap(SessionMiddleware::new(manager))`).
///
/// The response policy is the tower [`crate::SessionLayer`]'s, from the same
/// code: `Vary: Cookie` on every response whose handler read or changed the
/// session, `Cache-Control: no-store` when it sets a cookie (or names no
/// `Cache-Control` of its own), and a store failure while saving replaces the
/// response with an empty 500 (503 if retrying may help), counted every time
/// and logged once per kind of failure and window; the body never shows
/// internal detail.
///
/// Each request runs in a `session.request` `tracing` span (level DEBUG),
/// the same as the tower layer's (see the README's "Metrics" section).
#[derive(Clone, Debug)]
pub struct SessionMiddleware {
    manager: SessionManager,
}

impl SessionMiddleware {
    /// A middleware over `manager`.
    pub fn new(manager: SessionManager) -> Self {
        SessionMiddleware { manager }
    }
}

impl<S, B> Transform<S, ServiceRequest> for SessionMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = SessionService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SessionService {
            service,
            manager: self.manager.clone(),
        }))
    }
}

/// The service made by [`SessionMiddleware`].
#[derive(Debug)]
pub struct SessionService<S> {
    service: S,
    manager: SessionManager,
}

impl<S, B> Service<ServiceRequest> for SessionService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = ResponseFuture<S::Future, B>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        // Shared, not copied: an untouched session costs no copy of its cookie.
        let cookies = RequestCookies::from_shared(req.headers().get_all(COOKIE).cloned());
        let session = self.manager.start(cookies);
        req.extensions_mut().insert(session.clone());
        let span = RequestSpan::new();
        let inner = span.span().in_scope(|| self.service.call(req));
        ResponseFuture {
            span,
            state: State::Handling {
                inner,
                session: Some(session),
            },
        }
    }
}

type Finishing<B> =
    Pin<Box<dyn Future<Output = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>>>>;

pin_project! {
    /// The response future of [`SessionService`]: the inner service's
    /// response, then the session save. A request whose handler never touched
    /// its session completes with no further work (no allocation, no lock).
    pub struct ResponseFuture<F, B> {
        span: RequestSpan,
        #[pin]
        state: State<F, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        Handling {
            #[pin]
            inner: F,
            session: Option<Session>,
        },
        Finishing {
            save: Finishing<B>,
        },
    }
}

impl<F, B> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
    B: MessageBody + 'static,
{
    type Output = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut state = this.state;
        let span = &*this.span;
        let _entered = span.span().enter();
        loop {
            let save = match state.as_mut().project() {
                StateProj::Handling { inner, session } => {
                    let res = match inner.poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Ready(Ok(res)) => res,
                    };
                    match session.take().filter(Session::was_touched) {
                        None => {
                            span.untouched();
                            span.finish(res.status().as_u16());
                            return Poll::Ready(Ok(res.map_into_left_body()));
                        }
                        Some(session) => {
                            Box::pin(finish(session, res, span.span().clone())) as Finishing<B>
                        }
                    }
                }
                StateProj::Finishing { save } => {
                    let out = std::task::ready!(save.as_mut().poll(cx));
                    if let Ok(res) = &out {
                        span.finish(res.status().as_u16());
                    }
                    return Poll::Ready(out);
                }
            };
            state.set(State::Finishing { save });
        }
    }
}

async fn finish<B>(
    session: Session,
    mut res: ServiceResponse<B>,
    span: tracing::Span,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let saved = session.finish(res.status().as_u16()).await;
    RequestSpan::record_saved(&span, &saved);
    match after_handler(&session, saved, res.headers_mut()) {
        Outcome::Keep => Ok(res.map_into_left_body()),
        Outcome::Replace(status) => {
            let mut empty = HttpResponse::new(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            );
            on_replaced(empty.headers_mut());
            Ok(res.into_response(empty).map_into_right_body())
        }
    }
}

crate::response_policy::impl_response_headers!(
    HeaderMap,
    HeaderName,
    HeaderValue,
    SET_COOKIE,
    VARY,
    CACHE_CONTROL
);
