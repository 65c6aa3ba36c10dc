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
    /// cookies. Every response must follow the adapters' header policy:
    /// see [`header_policy`].
    pub(crate) async fn get(&mut self, path: &str) -> Result<Reply, CaseError> {
        let cookie = self.jar.header();
        let reply = self.app.send("GET", path, cookie.as_deref()).await?;
        header_policy(&reply, path).map_err(|e| e.context(A::FRAMEWORK))?;
        self.jar.update(&reply.set_cookie);
        Ok(reply)
    }

    /// `GET path` with the jar's cookies, for routes whose handler sets
    /// headers of its own (no policy check); the jar takes the cookies.
    pub(crate) async fn raw(&mut self, path: &str) -> Result<Reply, CaseError> {
        let cookie = self.jar.header();
        let reply = self.app.send("GET", path, cookie.as_deref()).await?;
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

/// Whether a request to `path` on the cases' app touches its session (any
/// step but `/noop` and `/header/..`).
pub(crate) fn touches_session(path: &str) -> bool {
    path.trim_matches('/')
        .split('+')
        .any(|step| step != "noop" && !step.starts_with("header/"))
}

/// Whether the header value list `value` names `token`.
pub(crate) fn lists(reply: &Reply, name: &str, token: &str) -> bool {
    reply.header(name).any(|v| {
        v.split(',')
            .any(|item| item.trim().eq_ignore_ascii_case(token))
    })
}

/// The adapters' header policy, for a route whose handler set no `Vary` or
/// `Cache-Control` of its own: a 200 that read or changed the session has
/// `Vary: Cookie` and `Cache-Control: no-store`; one that never touched it
/// has neither and sets no cookie; any response that sets a session cookie
/// has both.
pub(crate) fn header_policy(reply: &Reply, path: &str) -> Result<(), CaseError> {
    let vary = lists(reply, "vary", "cookie");
    let no_store = reply.header("cache-control").any(|v| v == "no-store");
    let both = vary && no_store;
    if !reply.set_cookie.is_empty() && !both {
        return Err(CaseError::violation(format!(
            "GET {path} set a session cookie without Vary: Cookie and Cache-Control: no-store: {:?}",
            reply.headers
        )));
    }
    if reply.status == 200 && touches_session(path) && !both {
        return Err(CaseError::violation(format!(
            "GET {path} read the session but lacks Vary: Cookie and Cache-Control: no-store: {:?}",
            reply.headers
        )));
    }
    if !touches_session(path)
        && (vary || reply.header("cache-control").next().is_some() || !reply.set_cookie.is_empty())
    {
        return Err(CaseError::violation(format!(
            "GET {path} never touched the session but got session headers: {:?} {:?}",
            reply.headers, reply.set_cookie
        )));
    }
    Ok(())
}
