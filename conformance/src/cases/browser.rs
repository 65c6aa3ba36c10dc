//! A tiny web app behind the tower [`SessionLayer`] and a browser that keeps
//! cookies, for the HTTP-level cases (cookie → store → cookie).

use std::convert::Infallible;
use std::future::poll_fn;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use http::header::{COOKIE, SET_COOKIE};
use http::{Request, Response, StatusCode};
use tiered_sessions::{Session, SessionLayer, SessionManager, SessionService};
use tower_layer::Layer;
use tower_service::Service;

use crate::case_error::CaseError;
pub(crate) use crate::kit::Jar;

/// What the app answers when a key holds nothing or there is no session id.
pub(crate) const NONE: &str = "<none>";

/// Routes: `/noop` (never touches the session), `/read/{key}`,
/// `/put/{key}/{len}` (a string of `len` bytes), `/del/{key}`, `/regenerate`,
/// `/terminate`, `/id` (the session id as text).
#[derive(Clone, Debug)]
pub(crate) struct App;

impl Service<Request<()>> for App {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<()>) -> Self::Future {
        Box::pin(async move { Ok(handle(req).await) })
    }
}

async fn handle(req: Request<()>) -> Response<String> {
    let Some(session) = req.extensions().get::<Session>().cloned() else {
        return reply(StatusCode::INTERNAL_SERVER_ERROR, "no session layer");
    };
    let path = req.uri().path().trim_matches('/');
    let parts: Vec<&str> = path.split('/').collect();
    let result = match parts.as_slice() {
        ["noop"] => Ok("ok".to_owned()),
        ["read", key] => session
            .get::<String>(key)
            .await
            .map(|v| v.unwrap_or_else(|| NONE.to_owned())),
        ["put", key, len] => match len.parse::<usize>() {
            Ok(len) => session
                .insert(key, &"x".repeat(len))
                .await
                .map(|()| "ok".to_owned()),
            Err(_) => return reply(StatusCode::BAD_REQUEST, "bad length"),
        },
        ["del", key] => session.remove(key).await.map(|had| had.to_string()),
        ["regenerate"] => session.regenerate_id().await.map(|()| "ok".to_owned()),
        ["terminate"] => session.terminate().await.map(|()| "ok".to_owned()),
        ["id"] => session
            .id()
            .await
            .map(|id| id.map_or_else(|| NONE.to_owned(), |id| id.to_text())),
        _ => return reply(StatusCode::NOT_FOUND, "no such route"),
    };
    match result {
        Ok(body) => reply(StatusCode::OK, &body),
        Err(_) => reply(StatusCode::INTERNAL_SERVER_ERROR, "handler error"),
    }
}

fn reply(status: StatusCode, body: &str) -> Response<String> {
    let mut res = Response::new(body.to_owned());
    *res.status_mut() = status;
    res
}

/// One response, as the browser saw it.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) set_cookie: Vec<String>,
}

/// A browser in front of the app behind the session layer.
pub(crate) struct Browser {
    svc: SessionService<App>,
    pub(crate) jar: Jar,
}

impl Browser {
    pub(crate) fn new(manager: SessionManager) -> Self {
        Browser {
            svc: SessionLayer::new(manager).layer(App),
            jar: Jar::default(),
        }
    }

    /// `GET path` with the jar's cookies; the jar then takes the response's cookies.
    pub(crate) async fn get(&mut self, path: &str) -> Result<Reply, CaseError> {
        let mut req = Request::builder().uri(path);
        if let Some(cookies) = self.jar.header() {
            req = req.header(COOKIE, cookies);
        }
        let req = req
            .body(())
            .map_err(|e| CaseError::violation(format!("building a request for {path}: {e}")))?;
        let ready = poll_fn(|cx| self.svc.poll_ready(cx)).await;
        let res = match ready {
            Ok(()) => self.svc.call(req).await,
            Err(e) => Err(e),
        };
        let res = match res {
            Ok(res) => res,
            Err(never) => match never {},
        };
        let set_cookie: Vec<String> = res
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        self.jar.update(&set_cookie);
        Ok(Reply {
            status: res.status().as_u16(),
            body: res.into_body(),
            set_cookie,
        })
    }

    /// `GET path`, which must answer 200; returns the body.
    pub(crate) async fn ok(&mut self, path: &str) -> Result<String, CaseError> {
        let r = self.get(path).await?;
        if r.status != 200 {
            return Err(CaseError::violation(format!(
                "GET {path} answered {} ({:?}), expected 200",
                r.status, r.body
            )));
        }
        Ok(r.body)
    }
}
