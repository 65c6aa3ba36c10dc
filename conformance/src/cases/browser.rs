//! A browser that keeps cookies, in front of the cases' app on any framework
//! ([`WebApp`]), for the HTTP-level cases (cookie → store → cookie).

use tiered_sessions::SessionManager;

use crate::case_error::CaseError;
pub(crate) use crate::kit::Jar;
pub(crate) use crate::web::NONE;
use crate::web::{Gates, Reply, WebApp};

/// A browser in front of the app behind a framework's session adapter.
pub(crate) struct Browser<A> {
    app: A,
    pub(crate) jar: Jar,
}

impl<A: WebApp> Browser<A> {
    pub(crate) async fn new(manager: SessionManager) -> Result<Self, CaseError> {
        Ok(Browser {
            app: A::start(manager, Gates::default()).await?,
            jar: Jar::default(),
        })
    }

    /// `GET path` with the jar's cookies; the jar then takes the response's
    /// cookies. Every response that sets a cookie must carry the adapters'
    /// header policy (`Vary: Cookie`, `Cache-Control: no-store`).
    pub(crate) async fn get(&mut self, path: &str) -> Result<Reply, CaseError> {
        let cookie = self.jar.header();
        let reply = self.app.send("GET", path, cookie.as_deref()).await?;
        if !reply.set_cookie.is_empty() {
            let vary = reply.header("vary").any(|v| {
                v.split(',')
                    .any(|v| v.trim().eq_ignore_ascii_case("cookie"))
            });
            let no_store = reply.header("cache-control").any(|v| v == "no-store");
            if !(vary && no_store) {
                return Err(CaseError::violation(format!(
                    "{} GET {path} set a session cookie without Vary: Cookie and Cache-Control: no-store: {:?}",
                    A::FRAMEWORK,
                    reply.headers
                )));
            }
        }
        self.jar.update(&reply.set_cookie);
        Ok(reply)
    }

    /// `GET path`, which must answer 200; returns the body.
    pub(crate) async fn ok(&mut self, path: &str) -> Result<String, CaseError> {
        let r = self.get(path).await?;
        if r.status != 200 {
            return Err(CaseError::violation(format!(
                "{} GET {path} answered {} ({:?}), expected 200",
                A::FRAMEWORK,
                r.status,
                r.body
            )));
        }
        Ok(r.body)
    }
}
