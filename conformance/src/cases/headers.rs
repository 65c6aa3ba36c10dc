//! The response headers every adapter sets: `Vary: Cookie` on whatever
//! depended on the session, `Cache-Control` that keeps a session out of shared
//! caches, and the handler's own headers left standing.

use super::browser::{Browser, lists};
use super::sample;
use crate::case_error::{CaseError, ensure};
use crate::web::{Reply, TowerApp, WebApp};
use crate::{Capabilities, Fixture};

/// A response that read or changed the session carries `Vary: Cookie` (after
/// the handler's own `Vary` values, never twice, not next to `*`) and
/// `Cache-Control: no-store` unless the handler chose a `Cache-Control`; a
/// response that sets a session cookie always gets `no-store`, replacing the
/// handler's choice; an untouched session adds nothing. The handler's own
/// `Set-Cookie` survives next to the session's.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_session_responses_vary_on_the_cookie(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    http_session_responses_vary_on_the_cookie_on::<TowerApp>(fx, caps).await
}

/// [`http_session_responses_vary_on_the_cookie`] on the web framework `A`.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_session_responses_vary_on_the_cookie_on<A: WebApp>(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    let clock = sample::clock();
    let manager = sample::manager(sample::config(&clock), fx.store.clone())?;
    let mut b = Browser::<A>::new(manager).await?;
    let fw = A::FRAMEWORK;
    // `get` checks the policy for handlers that set no headers of their own.
    b.get("/noop").await?;
    b.get("/header/vary/Accept-Encoding").await?;
    b.ok("/set/user/alice").await?;
    let read = b.get("/read/user").await?;
    ensure!(
        read.set_cookie.is_empty(),
        "{fw}: a read set cookies: {:?}",
        read.set_cookie
    );
    let r = ok(b.raw("/header/vary/Accept-Encoding+read/user").await?, fw)?;
    ensure!(
        lists(&r, "vary", "accept-encoding") && lists(&r, "vary", "cookie"),
        "{fw}: the handler's Vary: Accept-Encoding and the session's Cookie are not both there: {:?}",
        r.headers
    );
    let r = ok(b.raw("/header/vary/Cookie+read/user").await?, fw)?;
    let cookies = r
        .header("vary")
        .flat_map(|v| v.split(','))
        .filter(|v| v.trim().eq_ignore_ascii_case("cookie"))
        .count();
    ensure!(
        cookies == 1,
        "{fw}: Vary names Cookie {cookies} times: {:?}",
        r.headers
    );
    let r = ok(b.raw("/header/vary/*+read/user").await?, fw)?;
    ensure!(
        r.header("vary").collect::<Vec<_>>() == ["*"],
        "{fw}: Vary: * was extended: {:?}",
        r.headers
    );
    let r = ok(
        b.raw("/header/cache-control/private,max-age=60+read/user")
            .await?,
        fw,
    )?;
    ensure!(
        r.header("cache-control").collect::<Vec<_>>() == ["private,max-age=60"]
            && lists(&r, "vary", "cookie"),
        "{fw}: a read replaced the handler's Cache-Control or lacks Vary: {:?}",
        r.headers
    );
    // A response that sets the session cookie: no cache may keep it, whatever
    // the handler said; the handler's own cookie is kept.
    let r = ok(
        b.raw("/header/cache-control/public,max-age=600+header/set-cookie/theme=dark+regenerate")
            .await?,
        fw,
    )?;
    ensure!(
        r.header("cache-control").collect::<Vec<_>>() == ["no-store"],
        "{fw}: a response setting the session cookie may be cached: {:?}",
        r.headers
    );
    ensure!(
        r.set_cookie.iter().any(|c| c == "theme=dark")
            && r.set_cookie.iter().any(|c| c.starts_with("session=")),
        "{fw}: the handler's and the session's cookies are not both set: {:?}",
        r.set_cookie
    );
    ensure!(
        b.ok("/read/user").await? == "alice",
        "{fw}: the session was lost"
    );
    Ok(())
}

fn ok(reply: Reply, fw: &str) -> Result<Reply, CaseError> {
    ensure!(
        reply.status == 200,
        "{fw}: answered {} ({:?})",
        reply.status,
        reply.body
    );
    Ok(reply)
}
