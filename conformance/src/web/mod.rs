//! The web apps the HTTP-level cases drive: one set of routes over the
//! session handle, served by each framework's adapter ([`TowerApp`] for the
//! tower layer and axum, `ActixApp` for actix-web with the `actix`
//! feature). A case written against [`WebApp`] runs on every framework.

#[cfg(feature = "actix")]
mod actix;
mod tower;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

use tiered_sessions::{Session, SessionManager};

use crate::case_error::CaseError;

#[cfg(feature = "actix")]
pub use self::actix::ActixApp;
pub use self::tower::TowerApp;

/// What the app answers when a key holds nothing or there is no session id.
pub const NONE: &str = "<none>";

/// An app with the cases' routes behind one framework's session adapter.
///
/// Routes: `/noop` (never touches the session), `/read/{key}`,
/// `/put/{key}/{len}` (a string of `len` bytes), `/set/{key}/{value}`,
/// `/quickset/{key}/{value}` (a cache-only write), `/del/{key}`,
/// `/regenerate`, `/terminate`, `/id` (the session id as text),
/// `/hold/{gate}` (wait at the [`Gates`] gate until the case releases it),
/// and `/header/{name}/{value}` (the handler appends that response header
/// itself, touching no session).
/// Steps join with `+` into one request (`/regenerate+set/role/admin+hold/a`),
/// run in order; the first failure answers, else the last step. A request
/// without a session in it (no adapter) answers 500.
pub trait WebApp: Sized + 'static {
    /// The framework's name, as trial names show it (`axum`, `actix`).
    const FRAMEWORK: &'static str;

    /// The app over `manager`.
    ///
    /// # Errors
    /// When the framework cannot build the app.
    fn start(
        manager: SessionManager,
        gates: Gates,
    ) -> impl Future<Output = Result<Self, CaseError>>;

    /// One request: `method path`, with `cookie` as its `Cookie` header.
    /// Several may be in flight at once (requests racing on one session).
    ///
    /// # Errors
    /// When the request cannot be built or the framework fails it.
    fn send(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
    ) -> impl Future<Output = Result<Reply, CaseError>>;

    /// Run `fut` to completion on the runtime this framework's apps need (a
    /// fresh one per call).
    ///
    /// # Errors
    /// When the runtime cannot be started.
    fn block_on<F: Future>(fut: F) -> Result<F::Output, String>;
}

/// One response, as the browser saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The body, as text.
    pub body: String,
    /// The `Set-Cookie` values, in order.
    pub set_cookie: Vec<String>,
    /// Every other header as (lower-case name, value), in order.
    pub headers: Vec<(String, String)>,
}

impl Reply {
    /// The values of header `name` (lower case).
    pub fn header(&self, name: &str) -> impl Iterator<Item = &str> {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Named gates a request can wait at (`/hold/{gate}`): the case sees when
/// it got there and decides when it goes on, so two requests on one session
/// can be interleaved as a race would.
#[derive(Clone, Debug, Default)]
pub struct Gates(Arc<Mutex<HashMap<String, Arc<Gate>>>>);

#[derive(Debug, Default)]
struct Gate {
    reached: Notify,
    released: Notify,
}

/// How long a case waits for a request to reach its gate.
const GATE_WAIT: Duration = Duration::from_secs(30);

impl Gates {
    fn gate(&self, name: &str) -> Arc<Gate> {
        let mut gates = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        gates.entry(name.to_owned()).or_default().clone()
    }

    /// Wait until a request reaches gate `name`.
    ///
    /// # Errors
    /// When none gets there within 30 s (the request failed before it).
    pub async fn reached(&self, name: &str) -> Result<(), CaseError> {
        tokio::time::timeout(GATE_WAIT, self.gate(name).reached.notified())
            .await
            .map_err(|_| {
                CaseError::violation(format!(
                    "no request reached gate {name} within {GATE_WAIT:?}"
                ))
            })
    }

    /// Let the request waiting at gate `name` go on.
    pub fn release(&self, name: &str) {
        self.gate(name).released.notify_one();
    }

    async fn hold(&self, name: &str) {
        let gate = self.gate(name);
        gate.reached.notify_one();
        gate.released.notified().await;
    }
}

/// What a route answers: the status, the body and the headers the handler
/// set itself (`/header/{name}/{value}` steps).
pub(crate) struct Routed {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) headers: Vec<(String, String)>,
}

/// The routes, whatever the framework: what `path` answers.
pub(crate) async fn route(session: Option<Session>, path: &str, gates: &Gates) -> Routed {
    let mut headers = Vec::new();
    let Some(session) = session else {
        return Routed {
            status: 500,
            body: "no session layer".to_owned(),
            headers,
        };
    };
    let mut last = (404, "no such route".to_owned());
    for step in path.trim_matches('/').split('+') {
        // A header of the handler's own: it touches no session.
        if let ["header", name, value] = step.split('/').collect::<Vec<_>>().as_slice() {
            headers.push(((*name).to_owned(), (*value).to_owned()));
            last = (200, "ok".to_owned());
            continue;
        }
        last = step_route(&session, step, gates).await;
        if last.0 != 200 {
            break;
        }
    }
    Routed {
        status: last.0,
        body: last.1,
        headers,
    }
}

async fn step_route(session: &Session, path: &str, gates: &Gates) -> (u16, String) {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
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
            Err(_) => return (400, "bad length".to_owned()),
        },
        ["set", key, value] => session.insert(key, value).await.map(|()| "ok".to_owned()),
        ["quickset", key, value] => session
            .insert_quick(key, value)
            .await
            .map(|()| "ok".to_owned()),
        ["hold", gate] => {
            gates.hold(gate).await;
            Ok("ok".to_owned())
        }
        ["del", key] => session.remove(key).await.map(|had| had.to_string()),
        ["regenerate"] => session.regenerate_id().await.map(|()| "ok".to_owned()),
        ["terminate"] => session.terminate().await.map(|()| "ok".to_owned()),
        ["id"] => session
            .id()
            .await
            .map(|id| id.map_or_else(|| NONE.to_owned(), |id| id.to_text())),
        _ => return (404, "no such route".to_owned()),
    };
    match result {
        Ok(body) => (200, body),
        Err(_) => (500, "handler error".to_owned()),
    }
}
