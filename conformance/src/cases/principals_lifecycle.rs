//! Principal cases about time and races: a logout refuses copies of the
//! cookie, expired sessions leave the listing and the index, and a login
//! racing "log out everywhere" leaves nothing alive.

use std::time::Duration;

use futures_util::future::{BoxFuture, join_all};
use tiered_sessions::{Clock, Error, RequestCookies, SessionManager, StoreKey};

use super::principals::{ALICE, Device, INTERVAL, LARGE, SMALL, listing, manager};
use super::sample;
use crate::case_error::{CaseError, During, ensure};
use crate::{Capabilities, Fixture};

/// Logging out a bound cookie-only session refuses copies of its cookie: at
/// once in the process that logged out, within the check interval in any
/// other. The session leaves the listing.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn principals_logout_refuses_copied_cookie(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    let clock = sample::clock();
    let (m, other) = (manager(fx, &clock, false)?, manager(fx, &clock, false)?);
    let mut laptop = Device::default();
    laptop.login(&other, ALICE, SMALL, "laptop").await?;
    let copy = laptop.clone();
    ensure!(
        copy.clone().logged_in(&other).await?,
        "a fresh login is not logged in"
    );
    laptop
        .visit(&m, "logging out", |s| async move { s.terminate().await })
        .await?;
    ensure!(
        laptop.jar.is_empty(),
        "logout left cookies in the browser: {:?}",
        laptop.jar.names()
    );
    ensure!(
        !copy.clone().logged_in(&m).await?,
        "a copied cookie outlived its logout in the process that logged out"
    );
    clock.advance(Duration::from_secs(INTERVAL));
    ensure!(
        !copy.clone().logged_in(&other).await?,
        "a copied cookie outlived its logout past the check interval"
    );
    ensure!(
        listing(&m, ALICE, None).await?.is_empty(),
        "a logged-out session is still listed"
    );
    Ok(())
}

/// Expired sessions never appear in a listing, and the batched cleanup
/// deletes exactly their index entries.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn principals_expired_sessions_absent_and_cleaned(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    let clock = sample::clock();
    let m = manager(fx, &clock, false)?;
    let day = 24 * 3600;
    let (mut a, mut b, mut c) = (Device::default(), Device::default(), Device::default());
    a.login(&m, ALICE, SMALL, "a").await?;
    b.login(&m, ALICE, LARGE, "b").await?;
    clock.advance(Duration::from_secs(day / 2));
    c.login(&m, ALICE, SMALL, "c").await?;
    clock.advance(Duration::from_secs(day / 2));
    let l = listing(&m, ALICE, None).await?;
    ensure!(
        l.iter().map(|i| i.description.as_str()).collect::<Vec<_>>() == ["c"],
        "past the idle timeout of two sessions the listing shows {:?}",
        l.iter().map(|i| &i.description).collect::<Vec<_>>()
    );
    let deleted = m
        .delete_expired_index_entries(1)
        .await
        .during("cleaning the principal index")?;
    ensure!(
        deleted == 2,
        "the cleanup deleted {deleted} index entries, not the 2 expired"
    );
    let again = m
        .delete_expired_index_entries(10)
        .await
        .during("cleaning the principal index again")?;
    ensure!(again == 0, "a second cleanup deleted {again} more entries");
    ensure!(
        listing(&m, ALICE, None).await?.len() == 1,
        "the cleanup removed a live session's entry"
    );
    Ok(())
}

/// One login racing "log out everywhere" in the same second: it is ended
/// too, whichever way the calls interleave; with bound sessions in the
/// store, no record created before the revocation survives it.
async fn race_login(m: &SessionManager, i: usize) -> Result<Option<StoreKey>, CaseError> {
    let s = m.start(RequestCookies::from_raw(std::iter::empty::<&[u8]>()));
    s.bind_principal(ALICE)
        .await
        .during("binding a racing login")?;
    s.insert("n", &i).await.during("writing a racing login")?;
    match s.finish(200).await {
        Ok(_) | Err(Error::Ended) => {}
        Err(e) => return Err(e).during("saving a racing login"),
    }
    let id = s.id().await.during("reading a racing login's id")?;
    Ok(id.map(|id| m.store_key(&id)))
}

/// Logins racing "log out everywhere" (in the same second, so the
/// revocation covers them) leave no live session: no stored record
/// survives, no cookie-only cookie is accepted after the interval, nothing
/// is listed.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn principals_login_racing_revoke_all_leaves_nothing(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    let clock = sample::clock();
    let exact = manager(fx, &clock, true)?;
    let mut before = Device::default();
    before.login(&exact, ALICE, SMALL, "before").await?;
    let mut work: Vec<BoxFuture<'_, Result<Option<StoreKey>, CaseError>>> = Vec::new();
    for i in 0..8 {
        if i == 4 {
            work.push(Box::pin(async {
                exact
                    .revoke_all_sessions(ALICE)
                    .await
                    .during("logging out everywhere")?;
                Ok(None)
            }));
        }
        let m = &exact;
        work.push(Box::pin(race_login(m, i)));
    }
    let mut keys = Vec::new();
    for r in join_all(work).await {
        keys.extend(r?);
    }
    let now = clock.now();
    for key in &keys {
        let left = fx
            .store
            .load(key, now)
            .await
            .during("loading a racing login's record")?;
        ensure!(
            left.is_none(),
            "a login racing log out everywhere left a live record"
        );
    }
    ensure!(
        !before.logged_in(&exact).await?,
        "a session from before outlived log out everywhere"
    );

    // The same race with cookie-only sessions, in another process.
    let (m, other) = (manager(fx, &clock, false)?, manager(fx, &clock, false)?);
    clock.advance(Duration::from_secs(1));
    let mut devices = vec![Device::default(); 6];
    let mut logins: Vec<BoxFuture<'_, Result<(), CaseError>>> = Vec::new();
    for (i, d) in devices.iter_mut().enumerate() {
        let other = &other;
        logins.push(Box::pin(async move {
            // A login the revocation covers may fail with `Ended`: fine.
            match d.login(other, ALICE, SMALL, &format!("d{i}")).await {
                Ok(_) => Ok(()),
                Err(CaseError::Store {
                    source: Error::Ended,
                    ..
                }) => Ok(()),
                Err(e) => Err(e),
            }
        }));
        if i == 2 {
            logins.push(Box::pin(async {
                m.revoke_all_sessions(ALICE)
                    .await
                    .during("logging out everywhere")
                    .map(drop)
            }));
        }
    }
    for r in join_all(logins).await {
        r?;
    }
    clock.advance(Duration::from_secs(INTERVAL));
    for d in &mut devices {
        ensure!(
            !d.logged_in(&other).await?,
            "a cookie-only login racing log out everywhere outlived it past the interval"
        );
    }
    ensure!(
        listing(&m, ALICE, None).await?.is_empty(),
        "sessions are listed after racing logins were revoked"
    );
    Ok(())
}
