//! Versions that must grow, conditional retirement, and requests racing a
//! logout or a `regenerate_id()` on the same session.

use std::future::Future;

use tiered_sessions::{Durability, Error, SessionId, SessionManager};
use tokio::sync::Notify;

use super::browser::{Browser, Jar, NONE};
use super::check::{expect_err, same};
use super::sample;
use crate::case_error::{CaseError, During, ensure};
use crate::web::{Gates, Reply, TowerApp, WebApp};
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

/// Two requests on one stored session, raced over HTTP: both load the
/// session and make their change, then wait at a gate; the case lets them
/// finish (and the adapter save them) in a chosen order.
struct Race<A> {
    app: A,
    gates: Gates,
    manager: SessionManager,
    jar: Jar,
}

impl<A: WebApp> Race<A> {
    /// An app over the fixture's store and a browser holding a stored
    /// session with `user = alice`.
    async fn new(fx: &Fixture) -> Result<Self, CaseError> {
        let clock = sample::clock();
        let manager = sample::manager(sample::config(&clock), fx.store.clone())?;
        let gates = Gates::default();
        let app = A::start(manager.clone(), gates.clone()).await?;
        let mut race = Race {
            app,
            gates,
            manager,
            jar: Jar::default(),
        };
        race.ok("/set/user/alice").await?;
        ensure!(
            race.jar.get("session").is_some(),
            "the new session set no cookie"
        );
        Ok(race)
    }

    /// `GET path` with the jar's cookies, which must answer 200; the jar
    /// takes the response's cookies.
    async fn ok(&mut self, path: &str) -> Result<String, CaseError> {
        let reply = self
            .app
            .send("GET", path, self.jar.header().as_deref())
            .await?;
        ensure!(
            reply.status == 200,
            "{} GET {path} answered {} ({:?})",
            A::FRAMEWORK,
            reply.status,
            reply.body
        );
        self.jar.update(&reply.set_cookie);
        Ok(reply.body)
    }

    async fn id(&mut self) -> Result<SessionId, CaseError> {
        let text = self.ok("/id").await?;
        SessionId::parse(&text)
            .map_err(|_| CaseError::violation(format!("/id answered {text:?}, not a session id")))
    }

    /// `first` and `second` (gate name, path) in flight together with the
    /// jar's cookies; once both wait at their gates, `first` finishes, then
    /// `between` runs, then `second` finishes. The jar is not updated.
    async fn race(
        &self,
        first: (&str, &str),
        second: (&str, &str),
        between: impl Future<Output = Result<Option<Reply>, CaseError>>,
    ) -> Result<(Reply, Option<Reply>, Reply), CaseError> {
        let cookie = self.jar.header();
        let first_done = Notify::new();
        let a = async {
            let reply = self.app.send("GET", first.1, cookie.as_deref()).await;
            first_done.notify_one();
            reply
        };
        let b = self.app.send("GET", second.1, cookie.as_deref());
        let control = async {
            let steps = async {
                self.gates.reached(first.0).await?;
                self.gates.reached(second.0).await?;
                self.gates.release(first.0);
                first_done.notified().await;
                let between = between.await?;
                self.gates.release(second.0);
                Ok(between)
            };
            let out = steps.await;
            if out.is_err() {
                self.gates.release(first.0);
                self.gates.release(second.0);
            }
            out
        };
        let (a, b, between) = tokio::join!(a, b, control);
        Ok((a?, between?, b?))
    }
}

/// The writer's response when the session moved on under it: either the
/// save landed (and its response sets no cookie for the dead id), or it
/// failed with an empty 503 (`Error::Ended`) that sets nothing.
fn late_writer_ok(reply: &Reply, what: &str) -> Result<(), CaseError> {
    ensure!(
        reply.set_cookie.is_empty(),
        "{what}: the late write's response set cookies: {:?}",
        reply.set_cookie
    );
    ensure!(
        reply.status == 200 || (reply.status == 503 && reply.body.is_empty()),
        "{what}: the late write answered {} ({:?}), not 200 or an empty 503",
        reply.status,
        reply.body
    );
    Ok(())
}

/// `regenerate_id()` racing a write to the same session: whichever response
/// arrives last, no update is lost and the old id is dead. A write saved
/// before the regenerate is carried to the new id; one that comes after it
/// fails with `Error::Ended` (an empty 503) and sets no cookie, so a retry
/// with the browser's new cookie lands on the new id.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_regenerate_racing_a_write_loses_nothing(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    http_regenerate_racing_a_write_loses_nothing_on::<TowerApp>(fx, caps).await
}

/// [`http_regenerate_racing_a_write_loses_nothing`] on the web framework `A`.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_regenerate_racing_a_write_loses_nothing_on<A: WebApp>(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    for (writer_first, quick) in [(true, false), (false, false), (true, true), (false, true)] {
        let what = format!(
            "{}: {} write {} the regenerate",
            A::FRAMEWORK,
            if quick { "a quick" } else { "a durable" },
            if writer_first {
                "saved before"
            } else {
                "saved after"
            }
        );
        let mut race = Race::<A>::new(fx).await?;
        let old = race.id().await?;
        let login = ("login", "/read/user+regenerate+set/role/admin+hold/login");
        let writer = (
            "writer",
            if quick {
                "/read/user+quickset/cart/3items+hold/writer"
            } else {
                "/read/user+set/cart/3items+hold/writer"
            },
        );
        let (first, second) = if writer_first {
            (writer, login)
        } else {
            (login, writer)
        };
        let (out1, _, out2) = race
            .race(first, second, async { Ok(None) })
            .await
            .map_err(|e| e.context(what.clone()))?;
        race.jar.update(&out1.set_cookie);
        race.jar.update(&out2.set_cookie);
        let (login_out, writer_out) = if writer_first {
            (&out2, &out1)
        } else {
            (&out1, &out2)
        };
        ensure!(
            login_out.status == 200,
            "{what}: the regenerate answered {} ({:?})",
            login_out.status,
            login_out.body
        );
        if writer_first {
            ensure!(
                writer_out.status == 200,
                "{what}: the write answered {} ({:?})",
                writer_out.status,
                writer_out.body
            );
        } else {
            late_writer_ok(writer_out, &what)?;
            if writer_out.status != 200 {
                // The client retries with the cookie it now holds.
                race.ok("/set/cart/3items")
                    .await
                    .map_err(|e| e.context(format!("{what}: retrying the write")))?;
            }
        }
        let new = race.id().await?;
        ensure!(new != old, "{what}: the browser still holds the old id");
        for (key, want) in [("user", "alice"), ("role", "admin"), ("cart", "3items")] {
            let got = race.ok(&format!("/read/{key}")).await?;
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
/// writer), it fails with an empty 503 (`Error::Ended`), and its response
/// does not touch the browser's cookies — not even the new login's cookie
/// the browser got meanwhile.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_logout_racing_a_write_resurrects_nothing(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    http_logout_racing_a_write_resurrects_nothing_on::<TowerApp>(fx, caps).await
}

/// [`http_logout_racing_a_write_resurrects_nothing`] on the web framework `A`.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_logout_racing_a_write_resurrects_nothing_on<A: WebApp>(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    let mut race = Race::<A>::new(fx).await?;
    let old = race.id().await?;
    let old_jar = race.jar.clone();
    // The browser logs in again (no cookie: it has just been removed) before
    // the late write's response arrives.
    let login_again = async {
        let reply = race.app.send("GET", "/set/user/bob", None).await?;
        Ok(Some(reply))
    };
    let (logout, login, late) = race
        .race(
            ("logout", "/read/user+terminate+hold/logout"),
            ("writer", "/read/user+set/cart/3items+hold/writer"),
            login_again,
        )
        .await?;
    let login = login.ok_or_else(|| CaseError::violation("no login reply"))?;
    ensure!(
        logout.status == 200,
        "the logout answered {}",
        logout.status
    );
    ensure!(
        login.status == 200,
        "the new login answered {}",
        login.status
    );
    race.jar.update(&logout.set_cookie);
    race.jar.update(&login.set_cookie);
    let stored_before = race.jar.clone();
    race.jar.update(&late.set_cookie);
    late_writer_ok(&late, "a write after the logout")?;
    ensure!(
        late.status == 503,
        "a write to a logged-out session was acknowledged: {} {:?}",
        late.status,
        late.body
    );
    ensure!(
        race.jar.get("session") == stored_before.get("session"),
        "the late write changed the browser's new login cookie"
    );
    ensure!(
        race.ok("/read/user").await? == "bob",
        "the new login does not read as bob"
    );
    let old_record = race
        .manager
        .load_by_id(&old)
        .await
        .during("loading the old id")?;
    same(old_record.as_ref(), None, "the logged-out id")?;
    race.jar = old_jar;
    let got = race.ok("/read/cart").await?;
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
