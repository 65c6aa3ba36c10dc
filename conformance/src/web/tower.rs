//! [`TowerApp`]: the routes as a tower service behind the [`SessionLayer`]
//! (what an axum `Router` with the layer does).

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use http::header::{COOKIE, HeaderName, HeaderValue, SET_COOKIE};
use http::{Request, Response, StatusCode};
use tiered_sessions::{Session, SessionLayer, SessionManager, SessionService};
use tower_layer::Layer;
use tower_service::Service;

use super::{Gates, Reply, WebApp, route};
use crate::case_error::CaseError;

/// The routes behind the tower [`SessionLayer`].
pub struct TowerApp {
    svc: SessionService<Routes>,
}

#[derive(Clone, Debug)]
struct Routes(Gates);

impl Service<Request<()>> for Routes {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<()>) -> Self::Future {
        let gates = self.0.clone();
        Box::pin(async move {
            let session = req.extensions().get::<Session>().cloned();
            let routed = route(session, req.uri().path(), &gates).await;
            let mut res = Response::new(routed.body);
            *res.status_mut() =
                StatusCode::from_u16(routed.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            for (name, value) in routed.headers {
                if let (Ok(name), Ok(value)) =
                    (HeaderName::try_from(name), HeaderValue::try_from(value))
                {
                    res.headers_mut().append(name, value);
                }
            }
            Ok(res)
        })
    }
}

impl WebApp for TowerApp {
    const FRAMEWORK: &'static str = "axum";

    async fn start(manager: SessionManager, gates: Gates) -> Result<Self, CaseError> {
        Ok(TowerApp {
            svc: SessionLayer::new(manager).layer(Routes(gates)),
        })
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
    ) -> Result<Reply, CaseError> {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(cookie) = cookie {
            req = req.header(COOKIE, cookie);
        }
        let req = req
            .body(())
            .map_err(|e| CaseError::violation(format!("building a request for {path}: {e}")))?;
        // A clone of its own, so requests can be in flight side by side.
        let mut svc = self.svc.clone();
        let res = match poll_fn(|cx| svc.poll_ready(cx)).await {
            Ok(()) => svc.call(req).await,
            Err(e) => Err(e),
        };
        let res = match res {
            Ok(res) => res,
            Err(never) => match never {},
        };
        let mut set_cookie = Vec::new();
        let mut headers = Vec::new();
        for (name, value) in res.headers() {
            let Ok(value) = value.to_str() else { continue };
            if name == SET_COOKIE {
                set_cookie.push(value.to_owned());
            } else {
                headers.push((name.as_str().to_owned(), value.to_owned()));
            }
        }
        Ok(Reply {
            status: res.status().as_u16(),
            body: res.into_body(),
            set_cookie,
            headers,
        })
    }

    fn block_on<F: Future>(fut: F) -> Result<F::Output, String> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("could not start a Tokio runtime: {e}"))?;
        Ok(rt.block_on(fut))
    }
}
