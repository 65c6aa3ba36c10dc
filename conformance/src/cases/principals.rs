//! Principal cases: sessions bound to a user, listed and revoked through the
//! store's [`tiered_sessions::PrincipalIndex`], cookie-only sessions
//! included. Each "device" is a cookie jar in front of a session manager;
//! two managers over one store stand for two processes, each with its own
//! cache of revocations.

use std::time::Duration;

use tiered_sessions::{
    Clock, ManualClock, RequestCookies, Session, SessionHandle, SessionInfo, SessionLocation,
    SessionManager,
};

use super::sample;
use crate::case_error::{CaseError, During, ensure};
use crate::kit::Jar;
use crate::{Capabilities, Fixture};

/// The suite's revocation check interval: a revoked cookie-only session
/// must be refused by every process once this much time has passed.
pub(crate) const INTERVAL: u64 = 30;
/// Above this many bytes of data a session spills to the store.
const THRESHOLD: usize = 512;
/// Data that stays in the cookie, and data that spills.
pub(crate) const SMALL: usize = 16;
pub(crate) const LARGE: usize = 2000;
pub(crate) const ALICE: &str = "alice@example.com";

/// A manager over the fixture's store with the suite's settings; `exact`
/// keeps bound sessions in the store.
pub(crate) fn manager(
    fx: &Fixture,
    clock: &ManualClock,
    exact: bool,
) -> Result<SessionManager, CaseError> {
    if fx.store.principal_index().is_none() {
        return Err(CaseError::unsupported(
            "the store keeps no principal index (SessionStore::principal_index is None)",
        ));
    }
    sample::manager(
        sample::config(clock)
            .cookie_only_threshold(THRESHOLD)
            .revocation_check_interval(Duration::from_secs(INTERVAL))
            .store_bound_sessions(exact),
        fx.store.clone(),
    )
}

/// A browser: a cookie jar.
#[derive(Clone, Default)]
pub(crate) struct Device {
    pub(crate) jar: Jar,
}

impl Device {
    /// One request through `m`: `f` runs as the handler, then the session
    /// is saved and the jar takes its cookies.
    pub(crate) async fn visit<T, F, Fut>(
        &mut self,
        m: &SessionManager,
        what: &str,
        f: F,
    ) -> Result<T, CaseError>
    where
        F: FnOnce(Session) -> Fut,
        Fut: Future<Output = tiered_sessions::Result<T>>,
    {
        let header = self.jar.header().unwrap_or_default();
        let session = m.start(RequestCookies::from_raw([header.as_bytes()]));
        let out = f(session.clone()).await.during(what)?;
        let cookies = session.finish(200).await.during(what)?;
        self.jar.update_from(&cookies);
        Ok(out)
    }

    /// Log in as `principal` with `len` bytes of data, described as `name`.
    pub(crate) async fn login(
        &mut self,
        m: &SessionManager,
        principal: &str,
        len: usize,
        name: &str,
    ) -> Result<SessionHandle, CaseError> {
        let (principal, name) = (principal.to_owned(), name.to_owned());
        let handle = self
            .visit(m, "logging in", |s| async move {
                s.regenerate_id().await?;
                s.bind_principal(principal.as_bytes()).await?;
                s.set_description(&name).await?;
                s.insert("pad", &"x".repeat(len)).await?;
                s.principal_handle().await
            })
            .await?;
        handle.ok_or_else(|| CaseError::violation("a session just bound reports no handle"))
    }

    /// Whether the device's session is still logged in (bound).
    pub(crate) async fn logged_in(&mut self, m: &SessionManager) -> Result<bool, CaseError> {
        self.visit(
            m,
            "reading the session",
            |s| async move { s.is_bound().await },
        )
        .await
    }
}

/// The listing of `principal`, sorted by description.
pub(crate) async fn listing(
    m: &SessionManager,
    principal: &str,
    current: Option<&SessionHandle>,
) -> Result<Vec<SessionInfo>, CaseError> {
    let mut l = m
        .list_sessions(principal, current)
        .await
        .during("listing the sessions")?;
    l.sort_by(|a, b| a.description.cmp(&b.description));
    Ok(l)
}

fn names(l: &[SessionInfo]) -> Vec<&str> {
    l.iter().map(|i| i.description.as_str()).collect()
}

/// A listing shows each live session of the principal once: its handle,
/// where it lives, its description and times, and which is current; other
/// principals' sessions and the principal in clear appear nowhere.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn principals_list_shows_each_live_session(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    let clock = sample::clock();
    let m = manager(fx, &clock, false)?;
    let (mut laptop, mut phone, mut bob) =
        (Device::default(), Device::default(), Device::default());
    let lh = laptop.login(&m, ALICE, SMALL, "laptop").await?;
    let ph = phone.login(&m, ALICE, LARGE, "phone").await?;
    bob.login(&m, "bob", SMALL, "bob's").await?;
    let l = listing(&m, ALICE, Some(&lh)).await?;
    ensure!(
        names(&l) == ["laptop", "phone"],
        "alice's listing shows {:?}",
        names(&l)
    );
    let now = clock.now();
    ensure!(
        l[0].handle == lh && l[1].handle == ph,
        "listed handles differ from the sessions' own"
    );
    ensure!(
        l[0].location == SessionLocation::Cookie && l[1].location == SessionLocation::Store,
        "small data listed in {:?}, large in {:?}",
        l[0].location,
        l[1].location
    );
    ensure!(
        l[0].current && !l[1].current,
        "the current flag marks {:?}",
        l.iter().map(|i| i.current).collect::<Vec<_>>()
    );
    ensure!(
        l.iter()
            .all(|i| i.created_at == now && i.last_active == now && i.expires_at > now),
        "listed times are wrong: {l:?}"
    );
    let own = laptop
        .visit(&m, "listing from the session", |s| async move {
            s.list_sessions().await
        })
        .await?;
    ensure!(
        own.len() == 2 && own.iter().any(|i| i.current && i.handle == lh),
        "the session's own listing is {own:?}"
    );
    if let Some(list) = &fx.list_raw_keys {
        let keys = list().await;
        ensure!(
            !keys
                .iter()
                .any(|k| k.contains("alice") || k.contains(ALICE)),
            "a store key holds the principal in clear: {keys:?}"
        );
    }
    Ok(())
}

/// Revoking one session ends it: a stored one at once for every process, a
/// cookie-only one (a copy of its cookie included) at once in the revoking
/// process and within the check interval in any other. The rest live on.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn principals_revoke_one(fx: &Fixture, _caps: &Capabilities) -> Result<(), CaseError> {
    let clock = sample::clock();
    let (admin, other) = (manager(fx, &clock, false)?, manager(fx, &clock, false)?);
    let (mut laptop, mut phone, mut tablet) =
        (Device::default(), Device::default(), Device::default());
    let lh = laptop.login(&other, ALICE, SMALL, "laptop").await?;
    let ph = phone.login(&other, ALICE, LARGE, "phone").await?;
    tablet.login(&other, ALICE, SMALL, "tablet").await?;
    let mut copy = laptop.clone();
    // The other process has just read alice's revocations (at login).
    ensure!(
        copy.logged_in(&other).await?,
        "a fresh login is not logged in"
    );
    ensure!(
        admin
            .revoke_session(ALICE, &ph)
            .await
            .during("revoking the phone")?,
        "the phone's session was not listed"
    );
    ensure!(
        !phone.logged_in(&other).await?,
        "a revoked stored session still works in another process"
    );
    ensure!(
        admin
            .revoke_session(ALICE, &lh)
            .await
            .during("revoking the laptop")?,
        "the laptop's session was not listed"
    );
    ensure!(
        !copy.clone().logged_in(&admin).await?,
        "a revoked cookie-only session still works in the revoking process"
    );
    clock.advance(Duration::from_secs(INTERVAL));
    ensure!(
        !copy.logged_in(&other).await?,
        "a copy of a revoked cookie-only cookie still works after the check interval"
    );
    ensure!(
        tablet.logged_in(&other).await?,
        "revoking two sessions ended a third"
    );
    let l = listing(&admin, ALICE, None).await?;
    ensure!(
        names(&l) == ["tablet"],
        "after revoking two sessions the listing shows {:?}",
        names(&l)
    );
    Ok(())
}

/// "Log out my other devices" ends every other session of the principal
/// (stored ones at once, cookie-only ones within the interval) and keeps the
/// current one, which can go on saving.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn principals_revoke_others(fx: &Fixture, _caps: &Capabilities) -> Result<(), CaseError> {
    let clock = sample::clock();
    let (m, other) = (manager(fx, &clock, false)?, manager(fx, &clock, false)?);
    let (mut laptop, mut phone, mut desk) =
        (Device::default(), Device::default(), Device::default());
    laptop.login(&other, ALICE, SMALL, "laptop").await?;
    phone.login(&other, ALICE, LARGE, "phone").await?;
    desk.login(&m, ALICE, SMALL, "desk").await?;
    ensure!(
        laptop.logged_in(&other).await?,
        "a fresh login is not logged in"
    );
    clock.advance(Duration::from_secs(1));
    let ended = desk
        .visit(&m, "logging out the other devices", |s| async move {
            s.revoke_other_sessions().await
        })
        .await?;
    ensure!(
        ended == 2,
        "log out others reported {ended} sessions, not 2"
    );
    ensure!(
        !phone.logged_in(&other).await?,
        "a stored session outlived log out others"
    );
    clock.advance(Duration::from_secs(INTERVAL));
    ensure!(
        !laptop.logged_in(&other).await?,
        "a cookie-only session outlived log out others past the interval"
    );
    ensure!(
        desk.visit(&other, "writing to the kept session", |s| async move {
            s.insert("after", &1u8).await?;
            s.is_bound().await
        })
        .await?,
        "log out others ended the current session"
    );
    let l = listing(&m, ALICE, None).await?;
    ensure!(
        names(&l) == ["desk"],
        "after log out others the listing shows {:?}",
        names(&l)
    );
    Ok(())
}

/// "Log out everywhere" ends every session of the principal; a login after
/// it starts a session that lives.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn principals_revoke_all(fx: &Fixture, _caps: &Capabilities) -> Result<(), CaseError> {
    let clock = sample::clock();
    let (m, other) = (manager(fx, &clock, false)?, manager(fx, &clock, false)?);
    let (mut laptop, mut phone) = (Device::default(), Device::default());
    laptop.login(&other, ALICE, SMALL, "laptop").await?;
    phone.login(&other, ALICE, LARGE, "phone").await?;
    let mut copy = laptop.clone();
    ensure!(
        copy.logged_in(&other).await?,
        "a fresh login is not logged in"
    );
    let ended = m
        .revoke_all_sessions(ALICE)
        .await
        .during("logging out everywhere")?;
    ensure!(
        ended == 2,
        "log out everywhere reported {ended} sessions, not 2"
    );
    ensure!(
        !phone.logged_in(&other).await?,
        "a stored session outlived log out everywhere"
    );
    clock.advance(Duration::from_secs(INTERVAL));
    ensure!(
        !copy.logged_in(&other).await?,
        "a copied cookie-only cookie outlived log out everywhere past the interval"
    );
    ensure!(
        listing(&m, ALICE, None).await?.is_empty(),
        "sessions are listed after log out everywhere"
    );
    let mut again = Device::default();
    again.login(&other, ALICE, SMALL, "again").await?;
    ensure!(
        again.logged_in(&m).await?,
        "a login after log out everywhere does not live"
    );
    Ok(())
}

/// With bound sessions kept in the store, logout and revocation are
/// immediate everywhere: a copied cookie is refused at once.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn principals_exact_policy_revokes_at_once(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    let clock = sample::clock();
    let (m, other) = (manager(fx, &clock, true)?, manager(fx, &clock, true)?);
    let (mut laptop, mut phone) = (Device::default(), Device::default());
    laptop.login(&other, ALICE, SMALL, "laptop").await?;
    let l = listing(&m, ALICE, None).await?;
    ensure!(
        l.len() == 1 && l[0].location == SessionLocation::Store,
        "a small bound session is not kept in the store under the exact policy: {l:?}"
    );
    let copy = laptop.clone();
    ensure!(
        copy.clone().logged_in(&other).await?,
        "a fresh login is not logged in"
    );
    laptop
        .visit(
            &other,
            "logging out",
            |s| async move { s.terminate().await },
        )
        .await?;
    ensure!(
        !copy.clone().logged_in(&other).await?,
        "a copied cookie outlived its logout under the exact policy"
    );
    phone.login(&other, ALICE, SMALL, "phone").await?;
    ensure!(
        phone.clone().logged_in(&other).await?,
        "a fresh login is not logged in"
    );
    m.revoke_all_sessions(ALICE)
        .await
        .during("logging out everywhere")?;
    ensure!(
        !phone.logged_in(&other).await?,
        "a session outlived log out everywhere under the exact policy"
    );
    Ok(())
}
