//! Versions that must grow, conditional retirement, and requests racing a
//! logout or a `regenerate_id()` on the same session.

use tiered_sessions::{
    Durability, Error, RequestCookies, ResponseCookies, Session, SessionId, SessionManager,
};

use super::browser::{Browser, Jar, NONE};
use super::check::{expect_err, same};
use super::sample;
use crate::case_error::{CaseError, During, ensure};
use crate::web::{TowerApp, WebApp};
use crate::{Capabilities, Fixture};

/// `save` refuses a record whose version does not grow past the expected
/// one (a record at `u64::MAX` can never be saved over), and leaves the
/// stored record as it was.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn save_refuses_a_version_that_does_not_grow(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    let s = &fx.store;
    let now = sample::now();
    let k = sample::key()?;
    let r3 = sample::record(3, now, 600, &[("a", b"1")]);
    s.create(&k, &r3, now).await.during("creating version 3")?;
    for durability in [Durability::Durable, Durability::Quick] {
        let same_version = sample::record(3, now, 600, &[("a", b"2")]);
        expect_err!(
            s.save(&k, &same_version, 3, durability, now).await,
            Error::Codec { .. },
            "{durability:?} save of version 3 expecting 3"
        );
        let wrapped = sample::record(0, now, 600, &[("a", b"3")]);
        expect_err!(
            s.save(&k, &wrapped, u64::MAX, durability, now).await,
            Error::Codec { .. },
            "{durability:?} save of version 0 expecting u64::MAX"
        );
    }
    let got = s
        .load(&k, now)
        .await
        .during("loading after refused saves")?;
    same(got.as_ref(), Some(&r3), "the record after refused saves")
}

/// `delete_unless_newer` deletes a record at most at the expected version,
/// refuses a newer one with `Conflict` (keeping it), and reports a missing or
/// expired record as `NotFound`; a save after it is `NotFound`.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn conditional_delete_keeps_newer_saves(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    let s = &fx.store;
    let now = sample::now();
    let k = sample::key()?;
    let r1 = sample::record(1, now, 600, &[("a", b"1")]);
    s.create(&k, &r1, now).await.during("creating version 1")?;
    let r2 = sample::next(&r1, now, "b", b"2");
    s.save(&k, &r2, 1, Durability::Durable, now)
        .await
        .during("saving version 2")?;
    expect_err!(
        s.delete_unless_newer(&k, 1, now).await,
        Error::Conflict,
        "retiring version 1 when version 2 is stored"
    );
    let got = s
        .load(&k, now)
        .await
        .during("loading after a refused retire")?;
    same(got.as_ref(), Some(&r2), "the record after a refused retire")?;
    s.delete_unless_newer(&k, 2, now)
        .await
        .during("retiring version 2 at version 2")?;
    let got = s.load(&k, now).await.during("loading a retired record")?;
    same(got.as_ref(), None, "a retired record")?;
    expect_err!(
        s.delete_unless_newer(&k, 2, now).await,
        Error::NotFound,
        "retiring a record twice"
    );
    expect_err!(
        s.save(
            &k,
            &sample::next(&r2, now, "c", b"3"),
            2,
            Durability::Durable,
            now
        )
        .await,
        Error::NotFound,
        "a late save after the retire"
    );
    // An expired record is as good as missing.
    let k2 = sample::key()?;
    s.create(&k2, &sample::record(1, now, 60, &[("a", b"1")]), now)
        .await
        .during("creating a record expiring in 60 s")?;
    expect_err!(
        s.delete_unless_newer(&k2, 1, now + 60).await,
        Error::NotFound,
        "retiring an expired record"
    );
    Ok(())
}

/// Two requests on one stored session, driven by hand: `a` and `b` both load
/// it before either finishes.
struct Race {
    manager: SessionManager,
    jar: Jar,
}

impl Race {
    async fn new(fx: &Fixture) -> Result<Self, CaseError> {
        let clock = sample::clock();
        let manager = sample::manager(sample::config(&clock), fx.store.clone())?;
        let first = manager.start(RequestCookies::default());
        first
            .insert("user", &"alice")
            .await
            .during("starting a session")?;
        let mut jar = Jar::default();
        jar.update_from(&first.finish(200).await.during("saving the new session")?);
        ensure!(
            jar.get("session").is_some(),
            "the new session set no cookie"
        );
        Ok(Race { manager, jar })
    }

    /// A request with the jar's cookies, its session already loaded.
    async fn loaded(&self) -> Result<Session, CaseError> {
        let s = self.manager.start(RequestCookies::from_raw(
            self.jar.header().as_deref().map(str::as_bytes),
        ));
        s.get::<String>("user")
            .await
            .during("loading the session")?;
        Ok(s)
    }

    async fn id(&self) -> Result<SessionId, CaseError> {
        self.loaded()
            .await?
            .id()
            .await
            .during("reading the session id")?
            .ok_or_else(|| CaseError::violation("the browser's session has no id"))
    }

    /// What the browser reads under `key` with its current cookies.
    async fn read(&self, key: &str) -> Result<String, CaseError> {
        Ok(self
            .loaded()
            .await?
            .get::<String>(key)
            .await
            .during("reading a key")?
            .unwrap_or_else(|| NONE.to_owned()))
    }

    /// The browser takes a response: its cookies on success, nothing on a 5xx.
    fn arrive(&mut self, out: &Result<ResponseCookies, Error>) {
        if let Ok(cookies) = out {
            self.jar.update_from(cookies);
        }
    }
}

/// The writer's response when the session moved on under it: either the save
/// landed (and its response sets no cookie for the dead id), or it failed
/// with the retryable [`Error::Ended`] and sets nothing.
fn late_writer_ok(out: &Result<ResponseCookies, Error>, what: &str) -> Result<(), CaseError> {
    match out {
        Ok(c) => ensure!(
            c.set_cookie.is_empty(),
            "{what}: a write that reached the new session re-sent a cookie: {:?}",
            c.set_cookie
        ),
        Err(Error::Ended) => {}
        Err(e) => return Err(CaseError::violation(format!("{what}: failed with {e:?}"))),
    }
    Ok(())
}

/// `regenerate_id()` racing a write to the same session: whichever response
/// arrives last, no update is lost and the old id is dead. A write saved
/// before the regenerate is carried to the new id; one that comes after it
/// fails with `Error::Ended` and sets no cookie, so a retry with the
/// browser's new cookie lands on the new id.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_regenerate_racing_a_write_loses_nothing(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    for (writer_first, quick) in [(true, false), (false, false), (true, true), (false, true)] {
        let what = format!(
            "{} write {} the regenerate",
            if quick { "a quick" } else { "a durable" },
            if writer_first {
                "saved before"
            } else {
                "saved after"
            }
        );
        let mut race = Race::new(fx).await?;
        let old = race.id().await?;
        let (login, writer) = (race.loaded().await?, race.loaded().await?);
        login.regenerate_id().await.during("regenerating")?;
        login.insert("role", &"admin").await.during("logging in")?;
        if quick {
            writer.insert_quick("cart", &"3 items").await
        } else {
            writer.insert("cart", &"3 items").await
        }
        .during("writing")?;
        let (first, second) = if writer_first {
            (&writer, &login)
        } else {
            (&login, &writer)
        };
        let out1 = first.finish(200).await;
        let out2 = second.finish(200).await;
        race.arrive(&out1);
        race.arrive(&out2);
        let (login_out, writer_out) = if writer_first {
            (&out2, &out1)
        } else {
            (&out1, &out2)
        };
        ensure!(
            login_out.is_ok(),
            "{what}: the regenerate failed: {login_out:?}"
        );
        if writer_first {
            ensure!(
                writer_out.is_ok(),
                "{what}: the write failed: {writer_out:?}"
            );
        } else {
            late_writer_ok(writer_out, &what)?;
            if writer_out.is_err() {
                // The client retries with the cookie it now holds.
                let retry = race.loaded().await?;
                retry
                    .insert("cart", &"3 items")
                    .await
                    .during("retrying the write")?;
                let out = retry.finish(200).await;
                ensure!(out.is_ok(), "{what}: the retried write failed: {out:?}");
                race.arrive(&out);
            }
        }
        let new = race.id().await?;
        ensure!(new != old, "{what}: the browser still holds the old id");
        for (key, want) in [("user", "alice"), ("role", "admin"), ("cart", "3 items")] {
            let got = race.read(key).await?;
            ensure!(
                got == want,
                "{what}: {key} = {got:?} afterwards, want {want:?}"
            );
        }
        let old_record = race
            .manager
            .load_by_id(&old)
            .await
            .during("loading the old id")?;
        same(old_record.as_ref(), None, &format!("{what}: the old id"))?;
    }
    Ok(())
}

/// A logout racing a write to the same session: the write never brings the
/// session back (no record under the old id, none under a new id made by the
/// writer) and its response does not touch the browser's cookies.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_logout_racing_a_write_resurrects_nothing(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    let mut race = Race::new(fx).await?;
    let old = race.id().await?;
    let old_jar = race.jar.clone();
    let (logout, writer) = (race.loaded().await?, race.loaded().await?);
    logout.terminate().await.during("logging out")?;
    writer.insert("cart", &"3 items").await.during("writing")?;
    let out = logout.finish(200).await.during("saving the logout")?;
    race.arrive(&Ok(out));
    // The browser logs in again before the late write's response arrives.
    let login = race.manager.start(RequestCookies::default());
    login
        .insert("user", &"bob")
        .await
        .during("logging in again")?;
    let out = login.finish(200).await;
    race.arrive(&out);
    let late = writer.finish(200).await;
    let stored_before = race.jar.clone();
    race.arrive(&late);
    late_writer_ok(&late, "a write after the logout")?;
    ensure!(
        late.is_err(),
        "a write to a logged-out session was acknowledged: {late:?}"
    );
    ensure!(
        race.jar.get("session") == stored_before.get("session"),
        "the late write changed the browser's new login cookie"
    );
    ensure!(
        race.read("user").await? == "bob",
        "the new login does not read as bob"
    );
    let old_record = race
        .manager
        .load_by_id(&old)
        .await
        .during("loading the old id")?;
    same(old_record.as_ref(), None, "the logged-out id")?;
    race.jar = old_jar;
    let got = race.read("cart").await?;
    ensure!(got == NONE, "the logged-out cookie reads cart = {got:?}");
    Ok(())
}

/// A logged-out session is not brought back by an older cookie-only cookie
/// of the same session: a session that spills into the store takes a new id,
/// and a cookie-only origin is never merged into a stored record.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_old_cookie_only_cookie_never_resurrects_a_logout(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    http_old_cookie_only_cookie_never_resurrects_a_logout_on::<TowerApp>(fx, caps).await
}

/// [`http_old_cookie_only_cookie_never_resurrects_a_logout`] on the web framework `A`.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_old_cookie_only_cookie_never_resurrects_a_logout_on<A: WebApp>(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    const THRESHOLD: usize = 512;
    for by_admin in [false, true] {
        let clock = sample::clock();
        let manager = sample::manager(
            sample::config(&clock).cookie_only_threshold(THRESHOLD),
            fx.store.clone(),
        )?;
        let mut browser = Browser::<A>::new(manager.clone()).await?;
        browser.ok("/put/role/5").await?;
        let cookie_only = browser.jar.clone();
        browser.ok("/put/role/6").await?;
        browser.ok("/put/big/2000").await?;
        let stored = browser.jar.clone();
        if by_admin {
            let id = SessionId::parse(&browser.ok("/id").await?)
                .map_err(|_| CaseError::violation("/id answered no id"))?;
            manager
                .delete_by_id(&id)
                .await
                .during("deleting the session by id")?;
        } else {
            browser.ok("/terminate").await?;
        }
        browser.jar = stored.clone();
        ensure!(
            browser.ok("/read/role").await? == NONE,
            "the ended session still reads after its end"
        );
        // The older cookie-only cookie is still valid (documented) and spills.
        browser.jar = cookie_only;
        ensure!(
            browser.ok("/read/role").await? == "x".repeat(5),
            "the older cookie-only cookie lost its data"
        );
        browser.ok("/put/big/2000").await?;
        browser.jar = stored;
        let got = browser.ok("/read/role").await?;
        ensure!(
            got == NONE,
            "the ended session's cookie reads role = {got:?} after an older cookie spilled (ended by {})",
            if by_admin {
                "delete_by_id"
            } else {
                "terminate"
            }
        );
    }
    Ok(())
}
