//! The tower [`SessionLayer`]: a [`Session`] in every request's extensions,
//! saved once after the inner service answers.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::header::{CACHE_CONTROL, SET_COOKIE, VARY};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::instrument::RequestSpan;
use crate::manager::SessionManager;
use crate::request_cookies::RequestCookies;
use crate::response_policy::{Outcome, after_handler, on_replaced};
use crate::session::{ResponseCookies, Session};

/// Adds a lazy [`Session`] to each request and saves it after the response.
///
/// A response whose handler read or changed the session gets `Vary: Cookie`
/// and, when it sets a cookie or names no `Cache-Control` of its own,
/// `Cache-Control: no-store`. A store failure while saving replaces the
/// response with an empty 500 (503 if retrying may help); every failure is
/// counted in [`crate::MetricsSnapshot::save_failures`] and logged as a
/// `tracing` error event, the first of each kind at once and the rest
/// summarized every few seconds. Neither body nor event shows a cookie, an id
/// or session data.
///
/// Each request runs in a `session.request` `tracing` span (level DEBUG)
/// with the fields `outcome` (`untouched`, `ok` or the save's error kind),
/// `status` and `duration_ms`; the store calls it makes are its children
/// (see the README's "Metrics" section).
#[derive(Clone, Debug)]
pub struct SessionLayer {
    manager: SessionManager,
}

impl SessionLayer {
    /// A layer over `manager`.
    pub fn new(manager: SessionManager) -> Self {
        SessionLayer { manager }
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            manager: self.manager.clone(),
        }
    }
}

/// The service made by [`SessionLayer`].
#[derive(Clone, Debug)]
pub struct SessionService<S> {
    inner: S,
    manager: SessionManager,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SessionService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let session = self
            .manager
            .start(RequestCookies::from_headers(req.headers()));
        req.extensions_mut().insert(session.clone());
        let span = RequestSpan::new();
        // The inner service is called right here (it was polled ready), and its
        // future owns what it needs: no clone of the service per request.
        let inner = span.span().in_scope(|| self.inner.call(req));
        ResponseFuture {
            span,
            state: State::Handling {
                inner,
                session: Some(session),
            },
        }
    }
}

/// A save that awaits the store, boxed (its type cannot be named): it owns a
/// handle to the session and gives it back with the outcome, so the box
/// holds the save alone and the response waits unboxed beside it.
type Finishing = Pin<Box<dyn Future<Output = (Session, SaveOutcome)> + Send>>;

type SaveOutcome = crate::error::Result<ResponseCookies>;

pin_project! {
    /// The response future of [`SessionService`]: the inner service's response,
    /// then the session save. A request whose handler never touched its session
    /// completes with no further work (no allocation, no lock), and a save that
    /// needs no store I/O completes in the same poll.
    pub struct ResponseFuture<F, B, E> {
        span: RequestSpan,
        #[pin]
        state: State<F, B, E>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B, E> {
        Handling {
            #[pin]
            inner: F,
            session: Option<Session>,
        },
        Finishing {
            save: Finishing,
            res: Option<Response<B>>,
            error: std::marker::PhantomData<fn() -> E>,
        },
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Default + Send + 'static,
    E: Send + 'static,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut state = this.state;
        let span = &*this.span;
        let _entered = span.span().enter();
        loop {
            let next = match state.as_mut().project() {
                StateProj::Handling { inner, session } => {
                    let res = match inner.poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Ready(Ok(res)) => res,
                    };
                    let Some(session) = session.take().filter(Session::was_touched) else {
                        span.untouched();
                        span.finish(res.status().as_u16());
                        return Poll::Ready(Ok(res));
                    };
                    let status = res.status().as_u16();
                    // A save without store I/O completes here, without boxing
                    // a future; only a save that awaits the store is boxed.
                    if let Some(saved) = session.finish_without_store(status) {
                        return Poll::Ready(Ok(respond(span, &session, saved, res)));
                    }
                    State::Finishing {
                        save: Box::pin(save_with_store(session, status)),
                        res: Some(res),
                        error: std::marker::PhantomData,
                    }
                }
                StateProj::Finishing { save, res, .. } => {
                    let (session, saved) = std::task::ready!(save.as_mut().poll(cx));
                    let res = res
                        .take()
                        .expect("`ResponseFuture` polled after completion");
                    return Poll::Ready(Ok(respond(span, &session, saved, res)));
                }
            };
            state.set(next);
        }
    }
}

/// The save that [`Finishing`] boxes.
pub(crate) async fn save_with_store(session: Session, status: u16) -> (Session, SaveOutcome) {
    let saved = session.finish_with_store(status).await;
    (session, saved)
}

/// The response once the save is done: its outcome recorded and applied.
fn respond<B: Default>(
    span: &RequestSpan,
    session: &Session,
    saved: SaveOutcome,
    mut res: Response<B>,
) -> Response<B> {
    span.saved(&saved);
    apply(session, saved, &mut res);
    span.finish(res.status().as_u16());
    res
}

/// Put the save's outcome on the response, by the shared policy: its
/// cookies, `Vary` and `Cache-Control`, or an opaque error in place of the
/// handler's answer.
fn apply<B: Default>(
    session: &Session,
    saved: crate::error::Result<ResponseCookies>,
    res: &mut Response<B>,
) {
    if let Outcome::Replace(status) = after_handler(session, saved, res.headers_mut()) {
        *res = Response::new(B::default());
        *res.status_mut() =
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        on_replaced(res.headers_mut());
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
