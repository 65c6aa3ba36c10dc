//! The tower [`SessionLayer`]: a [`Session`] in every request's extensions,
//! saved once after the inner service answers.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::header::{CACHE_CONTROL, SET_COOKIE, VARY};
use http::{HeaderValue, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::error::Error;
use crate::manager::SessionManager;
use crate::request_cookies::RequestCookies;
use crate::session::{ResponseCookies, Session};

/// Adds a lazy [`Session`] to each request and saves it after the response.
///
/// A store failure while saving replaces the response with an empty 500 (503 if
/// retrying may help) and emits a `tracing` error event; the body never shows
/// internal detail.
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

/// The status for a store error: 503 when a retry may help, else 500.
pub(crate) fn error_status(error: &Error) -> StatusCode {
    if error.is_retryable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
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
        // The inner service is called right here (it was polled ready), and its
        // future owns what it needs: no clone of the service per request.
        ResponseFuture {
            state: State::Handling {
                inner: self.inner.call(req),
                session: Some(session),
            },
        }
    }
}

type Finishing<B, E> = Pin<Box<dyn Future<Output = Result<Response<B>, E>> + Send>>;

pin_project! {
    /// The response future of [`SessionService`]: the inner service's response,
    /// then the session save. A request whose handler never touched its session
    /// completes with no further work (no allocation, no lock), and a save that
    /// needs no store I/O completes in the same poll.
    pub struct ResponseFuture<F, B, E> {
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
            save: Finishing<B, E>,
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
        let mut state = self.project().state;
        loop {
            let save = match state.as_mut().project() {
                StateProj::Handling { inner, session } => {
                    let mut res = match inner.poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Ready(Ok(res)) => res,
                    };
                    let Some(session) = session.take().filter(Session::was_touched) else {
                        return Poll::Ready(Ok(res));
                    };
                    let status = res.status().as_u16();
                    // A save without store I/O completes here, without boxing
                    // a future; only a save that awaits the store is boxed.
                    if let Some(saved) = session.finish_without_store(status) {
                        apply(saved, &mut res);
                        return Poll::Ready(Ok(res));
                    }
                    Box::pin(async move {
                        let saved = session.finish_with_store(status).await;
                        apply(saved, &mut res);
                        Ok(res)
                    }) as Finishing<B, E>
                }
                StateProj::Finishing { save } => return save.as_mut().poll(cx),
            };
            state.set(State::Finishing { save });
        }
    }
}

/// Put the save's outcome on the response: its cookies (with `Vary` and
/// `Cache-Control`), or an opaque error in place of the handler's answer.
fn apply<B: Default>(saved: crate::error::Result<ResponseCookies>, res: &mut Response<B>) {
    match saved {
        Ok(cookies) if cookies.is_empty() => {}
        Ok(cookies) => {
            let headers = res.headers_mut();
            for c in cookies.set_cookie {
                match HeaderValue::try_from(c) {
                    Ok(v) => {
                        headers.append(SET_COOKIE, v);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "session cookie is not a valid header value");
                        *res = opaque(StatusCode::INTERNAL_SERVER_ERROR);
                        return;
                    }
                }
            }
            headers.append(VARY, HeaderValue::from_static("Cookie"));
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        Err(e) => {
            tracing::error!(error = %e, source = ?std::error::Error::source(&e), "session could not be saved");
            *res = opaque(error_status(&e));
        }
    }
}

fn opaque<B: Default>(status: StatusCode) -> Response<B> {
    let mut res = Response::new(B::default());
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
