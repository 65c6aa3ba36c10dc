//! [`ActixApp`]: the routes as an actix-web app behind
//! [`SessionMiddleware`], driven in-process with `actix_web::test`.

use std::future::Future;
use std::rc::Rc;

use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{COOKIE, SET_COOKIE};
use actix_web::{App, HttpRequest, HttpResponse, test, web};
use futures_util::future::LocalBoxFuture;
use tiered_sessions::actix::SessionMiddleware;
use tiered_sessions::{Session, SessionManager};

use super::{Gates, Reply, WebApp, route};
use crate::case_error::CaseError;

type Response = ServiceResponse<EitherBody<BoxBody>>;
type Call =
    dyn Fn(test::TestRequest) -> LocalBoxFuture<'static, Result<Response, actix_web::Error>>;

/// The routes behind the actix-web [`SessionMiddleware`], as one
/// `test::init_service` app. Handlers take the `Session` extractor; the app
/// and its futures are `!Send`, as on an actix worker.
pub struct ActixApp {
    call: Box<Call>,
}

async fn handler(req: HttpRequest, session: Option<Session>, gates: Gates) -> HttpResponse {
    let routed = route(session, req.path(), &gates).await;
    let status = actix_web::http::StatusCode::from_u16(routed.status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = HttpResponse::build(status);
    for (name, value) in routed.headers {
        res.append_header((name, value));
    }
    res.body(routed.body)
}

impl WebApp for ActixApp {
    const FRAMEWORK: &'static str = "actix";

    async fn start(manager: SessionManager, gates: Gates) -> Result<Self, CaseError> {
        let app = App::new()
            .wrap(SessionMiddleware::new(manager))
            .default_service(web::to(
                move |req: HttpRequest, session: Option<Session>| {
                    handler(req, session, gates.clone())
                },
            ));
        let svc = Rc::new(test::init_service(app).await);
        Ok(ActixApp {
            call: Box::new(move |req| {
                let svc = svc.clone();
                Box::pin(async move { svc.call(req.to_request()).await })
            }),
        })
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
    ) -> Result<Reply, CaseError> {
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|e| CaseError::violation(format!("method {method:?}: {e}")))?;
        let mut req = test::TestRequest::default().method(method).uri(path);
        if let Some(cookie) = cookie {
            req = req.insert_header((COOKIE, cookie));
        }
        let res = (self.call)(req).await.map_err(|e| {
            CaseError::violation(format!("{path}: actix-web failed the request: {e}"))
        })?;
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
        let status = res.status().as_u16();
        let body = test::try_read_body(res)
            .await
            .map_err(|e| CaseError::violation(format!("{path}: reading the body: {e}")))?;
        Ok(Reply {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
            set_cookie,
            headers,
        })
    }

    fn block_on<F: Future>(fut: F) -> Result<F::Output, String> {
        Ok(actix_web::rt::System::new().block_on(fut))
    }
}
