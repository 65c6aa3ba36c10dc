//! HTTP-level cases: the tower session layer over the driver's store
//! (cookie → store → cookie), with a counting wrapper to see every store call.

use std::sync::Arc;
use std::time::Duration;

use tiered_sessions::{Clock, SessionId, SessionManager, SessionStore, StoreKey};

use super::browser::{Browser, NONE};
use super::check::same;
use super::sample;
use crate::case_error::{CaseError, During, ensure};
use crate::faults::{Faults, FaultyDurable};
use crate::web::{TowerApp, WebApp};
use crate::{Capabilities, Fixture};

const COOKIE: &str = "session";
/// Above this many bytes of data a session spills to the store.
const THRESHOLD: usize = 256;
const SMALL: usize = 20;
const LARGE: usize = 2000;

/// A browser over the store with counted calls, and the pieces around it.
struct Rig<A> {
    browser: Browser<A>,
    manager: SessionManager,
    calls: Faults,
    store: Arc<dyn SessionStore>,
    clock: tiered_sessions::ManualClock,
}

async fn rig<A: WebApp>(fx: &Fixture) -> Result<Rig<A>, CaseError> {
    let clock = sample::clock();
    let counted = Arc::new(FaultyDurable::new(fx.store.clone()));
    let calls = counted.faults().clone();
    let manager = sample::manager(
        sample::config(&clock).cookie_only_threshold(THRESHOLD),
        counted,
    )?;
    Ok(Rig {
        browser: Browser::new(manager.clone()).await?,
        manager,
        calls,
        store: fx.store.clone(),
        clock,
    })
}

impl<A: WebApp> Rig<A> {
    /// The store key of the browser's current session.
    async fn key(&mut self) -> Result<StoreKey, CaseError> {
        let text = self.browser.ok("/id").await?;
        let id = SessionId::parse(&text).map_err(|_| {
            CaseError::violation(format!("/id answered {text:?}, not a session id"))
        })?;
        Ok(self.manager.store_key(&id))
    }

    fn cookie(&self) -> Result<String, CaseError> {
        self.browser
            .jar
            .get(COOKIE)
            .map(str::to_owned)
            .ok_or_else(|| CaseError::violation("the browser holds no session cookie"))
    }
}

/// Small data lives in the cookie alone: writing and reading it never calls
/// the store.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_cookie_only_session_makes_no_store_calls(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    http_cookie_only_session_makes_no_store_calls_on::<TowerApp>(fx, caps).await
}

/// [`http_cookie_only_session_makes_no_store_calls`] on the web framework `A`.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_cookie_only_session_makes_no_store_calls_on<A: WebApp>(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    let mut r = rig::<A>(fx).await?;
    r.browser.ok(&format!("/put/a/{SMALL}")).await?;
    let cookie = r.cookie()?;
    ensure!(
        cookie.len() > SMALL,
        "a cookie-only session's cookie is too short to hold its data"
    );
    let body = r.browser.ok("/read/a").await?;
    ensure!(
        body.len() == SMALL,
        "a cookie-only value read back as {body:?}"
    );
    let calls = r.calls.counts();
    ensure!(
        calls.total() == 0,
        "a cookie-only session made store calls: {calls:?}"
    );
    Ok(())
}

/// Large data spills to the store (the cookie carries only the id) and reads
/// back; when it shrinks, it moves back into the cookie and the server copy is
/// deleted.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_spilled_session_round_trips_and_moves_back(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    http_spilled_session_round_trips_and_moves_back_on::<TowerApp>(fx, caps).await
}

/// [`http_spilled_session_round_trips_and_moves_back`] on the web framework `A`.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_spilled_session_round_trips_and_moves_back_on<A: WebApp>(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    let mut r = rig::<A>(fx).await?;
    r.browser.ok(&format!("/put/big/{LARGE}")).await?;
    let cookie = r.cookie()?;
    ensure!(
        cookie.len() < LARGE,
        "a spilled session's cookie ({} bytes) carries its data",
        cookie.len()
    );
    let writes = r.calls.counts().writes;
    ensure!(
        writes >= 1,
        "a spilled session was not written to the store"
    );
    let key = r.key().await?;
    let stored = r
        .store
        .load(&key, r.clock.now())
        .await
        .during("loading the spilled session")?;
    let stored =
        stored.ok_or_else(|| CaseError::violation("the spilled session is not in the store"))?;
    ensure!(
        stored.data.contains_key("big"),
        "the stored record lacks the spilled key"
    );
    let body = r.browser.ok("/read/big").await?;
    ensure!(
        body.len() == LARGE,
        "the spilled value read back as {} bytes",
        body.len()
    );

    r.browser.ok(&format!("/put/small/{SMALL}")).await?;
    r.browser.ok("/del/big").await?;
    let body = r.browser.ok("/read/small").await?;
    ensure!(body.len() == SMALL, "the small value read back as {body:?}");
    let gone = r
        .store
        .load(&key, r.clock.now())
        .await
        .during("loading the old record")?;
    same(
        gone.as_ref(),
        None,
        "the server copy of a session that moved back into the cookie",
    )?;
    let before = r.calls.counts();
    r.browser.ok("/read/small").await?;
    let after = r.calls.counts();
    ensure!(
        after == before,
        "reading a session that moved back into the cookie called the store"
    );
    Ok(())
}

/// `regenerate_id` gives a new id with the data kept; the old id is dead in
/// the store and its cookie finds no session.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_regenerate_kills_the_old_id(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    http_regenerate_kills_the_old_id_on::<TowerApp>(fx, caps).await
}

/// [`http_regenerate_kills_the_old_id`] on the web framework `A`.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_regenerate_kills_the_old_id_on<A: WebApp>(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    let mut r = rig::<A>(fx).await?;
    r.browser.ok(&format!("/put/big/{LARGE}")).await?;
    let old_key = r.key().await?;
    let old_cookie = r.cookie()?;
    r.browser.ok("/regenerate").await?;
    let new_key = r.key().await?;
    ensure!(new_key != old_key, "regenerate_id kept the same store key");
    let body = r.browser.ok("/read/big").await?;
    ensure!(
        body.len() == LARGE,
        "the data did not survive regenerate_id"
    );
    let now = r.clock.now();
    let old = r
        .store
        .load(&old_key, now)
        .await
        .during("loading the old id")?;
    same(
        old.as_ref(),
        None,
        "the store under the old id after regenerate_id",
    )?;
    let new = r
        .store
        .load(&new_key, now)
        .await
        .during("loading the new id")?;
    ensure!(
        new.is_some(),
        "nothing is stored under the new id after regenerate_id"
    );
    r.browser.jar.set(COOKIE, &old_cookie);
    let body = r.browser.ok("/read/big").await?;
    ensure!(
        body == NONE,
        "the old cookie still finds the session after regenerate_id"
    );
    Ok(())
}

/// `terminate` deletes the record everywhere and removes the cookie; a replayed
/// cookie finds nothing.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_terminate_deletes_everywhere(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    http_terminate_deletes_everywhere_on::<TowerApp>(fx, caps).await
}

/// [`http_terminate_deletes_everywhere`] on the web framework `A`.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_terminate_deletes_everywhere_on<A: WebApp>(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    let mut r = rig::<A>(fx).await?;
    r.browser.ok(&format!("/put/big/{LARGE}")).await?;
    let key = r.key().await?;
    let cookie = r.cookie()?;
    let reply = r.browser.get("/terminate").await?;
    ensure!(reply.status == 200, "terminate answered {}", reply.status);
    ensure!(
        r.browser.jar.get(COOKIE).is_none(),
        "terminate did not remove the cookie: {:?}",
        reply.set_cookie
    );
    let gone = r
        .store
        .load(&key, r.clock.now())
        .await
        .during("loading after terminate")?;
    same(gone.as_ref(), None, "the store after terminate")?;
    if let Some((cache, durable)) = &fx.tiers {
        let now = r.clock.now();
        let got = cache
            .get(&key, now)
            .await
            .during("reading the cache tier")?;
        same(got.as_ref(), None, "the cache tier after terminate")?;
        let got = durable
            .load(&key, now)
            .await
            .during("loading the durable tier")?;
        same(got.as_ref(), None, "the durable tier after terminate")?;
    }
    r.browser.jar.set(COOKIE, &cookie);
    let body = r.browser.ok("/read/big").await?;
    ensure!(body == NONE, "a replayed cookie finds a terminated session");
    Ok(())
}

/// Tampered, foreign and expired cookies mean "no session": a 200, no store
/// call, never adopted as an id, and the real session is untouched.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_tampered_cookies_are_no_session(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    http_tampered_cookies_are_no_session_on::<TowerApp>(fx, caps).await
}

/// [`http_tampered_cookies_are_no_session`] on the web framework `A`.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_tampered_cookies_are_no_session_on<A: WebApp>(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    let mut r = rig::<A>(fx).await?;
    r.browser.ok(&format!("/put/big/{LARGE}")).await?;
    let key = r.key().await?;
    let good = r.cookie()?;
    let now = r.clock.now();

    let mut bogus = vec![
        ("empty", String::new()),
        ("truncated", good[..good.len() / 2].to_owned()),
        ("garbage appended", format!("{good}AAAA")),
        ("not base64", "!!!not*base64!!!".to_owned()),
        ("one character flipped", flip(&good, good.len() / 2)),
        ("signature flipped", flip(&good, good.len() - 2)),
    ];
    // A valid cookie under another signing key, and one issued for another name.
    let foreign = sample::manager(
        tiered_sessions::SessionConfig::builder([[0x99u8; 32]])
            .cookie_only_threshold(0)
            .secure(false)
            .clock(Arc::new(r.clock.clone())),
        r.store.clone(),
    )?;
    bogus.push(("signed with another key", issue(&foreign, "session").await?));
    let renamed = sample::manager(
        sample::config(&r.clock).cookie_name("other_session"),
        r.store.clone(),
    )?;
    bogus.push((
        "issued for another cookie name",
        issue(&renamed, "other_session").await?,
    ));

    for (what, value) in &bogus {
        r.calls.reset_counts();
        r.browser.jar.set(COOKIE, value);
        let reply = r.browser.get("/read/big").await?;
        ensure!(
            reply.status == 200,
            "a cookie {what} answered {}",
            reply.status
        );
        ensure!(reply.body == NONE, "a cookie {what} found a session");
        let calls = r.calls.counts();
        ensure!(
            calls.total() == 0,
            "a cookie {what} reached the store: {calls:?}"
        );
        // Writing with it starts a new session under a new id.
        r.browser.jar.set(COOKIE, value);
        r.browser.ok(&format!("/put/big/{LARGE}")).await?;
        let fresh = r.key().await?;
        ensure!(
            fresh != key,
            "a cookie {what} was adopted as the session id"
        );
    }
    r.browser.jar.set(COOKIE, &good);
    let body = r.browser.ok("/read/big").await?;
    ensure!(
        body.len() == LARGE,
        "the real session was damaged by bogus cookies"
    );

    // Past the absolute timeout the cookie is refused before any store call.
    r.clock.set(now + 8 * 24 * 3600);
    r.calls.reset_counts();
    r.browser.jar.set(COOKIE, &good);
    let reply = r.browser.get("/read/big").await?;
    ensure!(
        reply.status == 200 && reply.body == NONE,
        "an expired cookie found a session"
    );
    let calls = r.calls.counts();
    ensure!(
        calls.total() == 0,
        "an expired cookie reached the store: {calls:?}"
    );
    Ok(())
}

/// A cookie value with the character at `at` changed.
fn flip(value: &str, at: usize) -> String {
    value
        .char_indices()
        .map(|(i, c)| match (i == at, c) {
            (true, 'A') => 'B',
            (true, _) => 'A',
            (false, c) => c,
        })
        .collect()
}

/// A valid stored-session cookie value from `manager`'s cookie `name`.
async fn issue(manager: &SessionManager, name: &str) -> Result<String, CaseError> {
    let s = manager.start(tiered_sessions::RequestCookies::default());
    s.insert("big", &"y".repeat(LARGE))
        .await
        .during("starting a foreign session")?;
    let out = s.finish(200).await.during("saving a foreign session")?;
    let mut jar = super::browser::Jar::default();
    jar.update_from(&out);
    jar.get(name)
        .map(str::to_owned)
        .ok_or_else(|| CaseError::violation("a foreign manager set no cookie"))
}

/// Read-only requests write nothing (no save, no touch before the throttle
/// interval) and set no cookie; a request that never touches its session
/// makes no store call at all.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_read_only_requests_make_no_writes(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    http_read_only_requests_make_no_writes_on::<TowerApp>(fx, caps).await
}

/// [`http_read_only_requests_make_no_writes`] on the web framework `A`.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_read_only_requests_make_no_writes_on<A: WebApp>(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    let mut r = rig::<A>(fx).await?;
    r.browser.ok(&format!("/put/big/{LARGE}")).await?;
    r.calls.reset_counts();
    for _ in 0..3 {
        r.clock.advance(Duration::from_secs(1));
        let reply = r.browser.get("/read/big").await?;
        ensure!(
            reply.status == 200 && reply.body.len() == LARGE,
            "a read-only request failed"
        );
        ensure!(
            reply.set_cookie.is_empty(),
            "a read-only request set cookies: {:?}",
            reply.set_cookie
        );
    }
    let calls = r.calls.counts();
    ensure!(
        calls.writes == 0,
        "read-only requests wrote to the store: {calls:?}"
    );
    ensure!(
        calls.reads >= 1,
        "read-only requests never loaded the stored session: {calls:?}"
    );
    r.calls.reset_counts();
    let reply = r.browser.get("/noop").await?;
    ensure!(
        reply.set_cookie.is_empty(),
        "an untouched session set cookies: {:?}",
        reply.set_cookie
    );
    let calls = r.calls.counts();
    ensure!(
        calls.total() == 0,
        "a request that never touched its session called the store: {calls:?}"
    );
    Ok(())
}
