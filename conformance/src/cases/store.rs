//! Store-level cases: each checks one clause of the [`SessionStore`] contract.

use std::sync::Arc;
use std::time::Duration;

use tiered_sessions::codec::encode_record;
use tiered_sessions::{
    Durability, Error, Record, RequestCookies, SessionId, SessionStore, SessionStoreExt, StoreKey,
};

use super::browser::Jar;
use super::check::{expect_err, expect_gone, same};
use super::sample;
use crate::case_error::{CaseError, During, ensure};
use crate::faults::FaultyDurable;
use crate::{Capabilities, Fixture};

/// Create, load, save and delete round-trip every field of a record.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn round_trip(fx: &Fixture, _caps: &Capabilities) -> Result<(), CaseError> {
    let s = &fx.store;
    let now = sample::now();
    let k = sample::key()?;
    let r1 = sample::record(1, now, 600, &[("user", b"alice"), ("n", &[0, 1, 255])]);
    s.create(&k, &r1, now).await.during("creating a record")?;
    let got = s
        .load(&k, now + 1)
        .await
        .during("loading a created record")?;
    same(got.as_ref(), Some(&r1), "load after create")?;

    let r2 = sample::next(&r1, now + 1, "n", b"2");
    s.save(&k, &r2, 1, Durability::Durable, now + 1)
        .await
        .during("saving version 2")?;
    let got = s.load(&k, now + 2).await.during("loading version 2")?;
    same(got.as_ref(), Some(&r2), "load after save")?;

    let mut r3 = sample::next(&r2, now + 2, "empty", b"");
    r3.data.remove("user");
    s.save(&k, &r3, 2, Durability::Durable, now + 2)
        .await
        .during("saving version 3 with a key removed")?;
    let got = s.load(&k, now + 3).await.during("loading version 3")?;
    same(
        got.as_ref(),
        Some(&r3),
        "load after a save that removed a key",
    )?;

    s.delete(&k, now + 3).await.during("deleting the record")?;
    let got = s
        .load(&k, now + 3)
        .await
        .during("loading a deleted record")?;
    same(got.as_ref(), None, "load after delete")
}

/// An unknown key loads as `None`; saving or touching it is `NotFound`.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn unknown_key_loads_none(fx: &Fixture, _caps: &Capabilities) -> Result<(), CaseError> {
    let s = &fx.store;
    let now = sample::now();
    let k = sample::key()?;
    let got = s.load(&k, now).await.during("loading an unknown key")?;
    same(got.as_ref(), None, "load of an unknown key")?;
    let late = sample::record(2, now, 600, &[("a", b"1")]);
    expect_gone(s.as_ref(), &k, &late, now, "an unknown key").await
}

/// Deleting twice, or deleting what never existed, succeeds.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn delete_twice_is_fine(fx: &Fixture, _caps: &Capabilities) -> Result<(), CaseError> {
    let s = &fx.store;
    let now = sample::now();
    let k = sample::key()?;
    s.create(&k, &sample::record(1, now, 600, &[("a", b"1")]), now)
        .await
        .during("creating a record")?;
    s.delete(&k, now).await.during("the first delete")?;
    s.delete(&k, now)
        .await
        .during("the second delete of the same key")?;
    s.delete(&sample::key()?, now)
        .await
        .during("deleting a key that never existed")?;
    let got = s.load(&k, now).await.during("loading after the deletes")?;
    same(got.as_ref(), None, "load after two deletes")
}

/// `create` on a key that holds a live record fails with `AlreadyExists` and
/// leaves the record as it was (a forced id collision).
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn create_never_overwrites(fx: &Fixture, _caps: &Capabilities) -> Result<(), CaseError> {
    let s = &fx.store;
    let now = sample::now();
    let k = sample::key()?;
    let first = sample::record(1, now, 600, &[("owner", b"first")]);
    s.create(&k, &first, now)
        .await
        .during("creating the first record")?;
    let second = sample::record(1, now + 1, 900, &[("owner", b"second")]);
    expect_err!(
        s.create(&k, &second, now + 1).await,
        Error::AlreadyExists,
        "create over a live record"
    );
    let got = s
        .load(&k, now + 1)
        .await
        .during("loading after the collision")?;
    same(
        got.as_ref(),
        Some(&first),
        "the first record after a colliding create",
    )?;

    // Also when the first record has moved on to a later version.
    let v2 = sample::next(&first, now + 2, "owner", b"first, saved");
    s.save(&k, &v2, 1, Durability::Durable, now + 2)
        .await
        .during("saving the first record")?;
    expect_err!(
        s.create(&k, &second, now + 3).await,
        Error::AlreadyExists,
        "create over a live record at version 2"
    );
    let got = s
        .load(&k, now + 3)
        .await
        .during("loading after the second collision")?;
    same(
        got.as_ref(),
        Some(&v2),
        "the saved record after a colliding create",
    )
}

/// A record is never returned at or after its `expires_at`, even though the
/// backend still holds it (native TTL counts in real time, the suite's `now`
/// runs ahead); a save or touch of it is `NotFound`.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn expired_records_are_never_returned(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    // Long enough that native TTL (real time) never fires during the case.
    const TTL: u64 = 600;
    let s = &fx.store;
    let now = sample::now();
    let k = sample::key()?;
    let r = sample::record(1, now, TTL, &[("a", b"1")]);
    s.create(&k, &r, now)
        .await
        .during(format!("creating a record that expires in {TTL} s"))?;
    let got = s
        .load(&k, now + TTL - 1)
        .await
        .during("loading one second before expiry")?;
    same(got.as_ref(), Some(&r), "load one second before expiry")?;
    if let Some((cache, durable)) = &fx.tiers {
        let got = cache
            .get(&k, now + TTL)
            .await
            .during("reading the cache tier at expiry")?;
        same(got.as_ref(), None, "cache tier at the expiry instant")?;
        let got = durable
            .load(&k, now + TTL)
            .await
            .during("loading the durable tier at expiry")?;
        same(got.as_ref(), None, "durable tier at the expiry instant")?;
    }
    let got = s
        .load(&k, now + TTL)
        .await
        .during("loading at the expiry instant")?;
    same(
        got.as_ref(),
        None,
        "load at the expiry instant (expiry is exclusive)",
    )?;
    let got = s
        .load(&k, now + TTL + 3600)
        .await
        .during("loading an hour after expiry")?;
    same(got.as_ref(), None, "load an hour after expiry")?;
    let v2 = sample::next(&r, now + TTL + 1, "a", b"2");
    expect_gone(s.as_ref(), &k, &v2, now + TTL + 1, "an expired record").await
}

/// `touch` moves a live record's expiry and last activity without changing
/// its data or version.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn touch_extends_expiry(fx: &Fixture, _caps: &Capabilities) -> Result<(), CaseError> {
    let s = &fx.store;
    let now = sample::now();
    let k = sample::key()?;
    let r = sample::record(1, now, 100, &[("a", b"1")]);
    s.create(&k, &r, now)
        .await
        .during("creating a record that expires in 100 s")?;
    s.touch(&k, now + 1000, now + 50, now + 50)
        .await
        .during("touching the record")?;
    let mut want = r.clone();
    want.expires_at = now + 1000;
    want.last_active = now + 50;
    let got = s
        .load(&k, now + 500)
        .await
        .during("loading past the old expiry")?;
    same(
        got.as_ref(),
        Some(&want),
        "load after touch, past the old expiry",
    )?;
    if let Some((cache, durable)) = &fx.tiers {
        let got = durable
            .load(&k, now + 500)
            .await
            .during("loading the durable tier")?;
        same(got.as_ref(), Some(&want), "durable tier after touch")?;
        // The cache may have dropped the entry, but must not hold the old expiry.
        if let Some(cached) = cache
            .get(&k, now + 500)
            .await
            .during("reading the cache tier")?
        {
            same(Some(&cached), Some(&want), "cache tier after touch")?;
        }
    }
    let got = s
        .load(&k, now + 1000)
        .await
        .during("loading at the new expiry")?;
    same(got.as_ref(), None, "load at the new expiry instant")?;

    let short = sample::key()?;
    s.create(&short, &sample::record(1, now, 600, &[]), now)
        .await
        .during("creating a record that expires in 600 s")?;
    expect_err!(
        s.touch(&short, now + 1000, now + 620, now + 620).await,
        Error::NotFound,
        "touch of an expired record"
    );
    let got = s
        .load(&short, now + 620)
        .await
        .during("loading the expired record")?;
    same(
        got.as_ref(),
        None,
        "a touch must not revive an expired record",
    )
}

/// A save whose expected version is older than the stored one fails with
/// `Conflict` (both durabilities) and changes nothing.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn stale_version_conflicts(fx: &Fixture, _caps: &Capabilities) -> Result<(), CaseError> {
    let s = &fx.store;
    let now = sample::now();
    let k = sample::key()?;
    let v1 = sample::record(1, now, 600, &[("a", b"1")]);
    s.create(&k, &v1, now).await.during("creating version 1")?;
    let v2 = sample::next(&v1, now + 1, "a", b"2");
    s.save(&k, &v2, 1, Durability::Durable, now + 1)
        .await
        .during("saving version 2")?;
    let lost = sample::next(&v1, now + 2, "b", b"stale writer");
    for durability in [Durability::Durable, Durability::Quick] {
        expect_err!(
            s.save(&k, &lost, 1, durability, now + 2).await,
            Error::Conflict,
            "{durability:?} save expecting version 1 over version 2"
        );
        let got = s
            .load(&k, now + 2)
            .await
            .during("loading after the conflict")?;
        same(
            got.as_ref(),
            Some(&v2),
            "the record after a conflicting save",
        )?;
    }
    let v3 = sample::next(&v2, now + 3, "b", b"fresh writer");
    s.save(&k, &v3, 2, Durability::Durable, now + 3)
        .await
        .during("saving version 3 after reloading")?;
    let got = s.load(&k, now + 3).await.during("loading version 3")?;
    same(got.as_ref(), Some(&v3), "the record after the retried save")
}

/// The save condition is "stored version not newer than expected" (`<=`), so
/// a durable tier that missed quick saves accepts the durable save after them.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn save_condition_is_not_newer_than_expected(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    let s = &fx.store;
    let now = sample::now();
    let k = sample::key()?;
    let v1 = sample::record(1, now, 600, &[("a", b"1")]);
    s.create(&k, &v1, now).await.during("creating version 1")?;
    let mut v5 = sample::next(&v1, now + 1, "a", b"5");
    v5.version = 5;
    s.save(&k, &v5, 4, Durability::Durable, now + 1)
        .await
        .during("saving version 5 expecting 4 over a stored version 1")?;
    let got = s.load(&k, now + 1).await.during("loading version 5")?;
    same(
        got.as_ref(),
        Some(&v5),
        "the record after a save expecting a newer version",
    )
}

/// A deleted or expired session is never brought back by a late save (either
/// durability) or touch: they fail with `NotFound`.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn late_save_never_resurrects(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    let s = &fx.store;
    let now = sample::now();
    let k = sample::key()?;
    let v1 = sample::record(1, now, 600, &[("user", b"alice")]);
    s.create(&k, &v1, now)
        .await
        .during("creating the session")?;
    let loaded = s.load(&k, now).await.during("loading the session")?;
    same(loaded.as_ref(), Some(&v1), "load before logout")?;
    s.delete(&k, now)
        .await
        .during("deleting the session (logout)")?;
    let late = sample::next(&v1, now + 1, "cart", b"late");
    expect_gone(s.as_ref(), &k, &late, now + 1, "a deleted session").await?;
    if let Some((cache, durable)) = &fx.tiers {
        let got = cache
            .get(&k, now + 2)
            .await
            .during("reading the cache tier")?;
        same(got.as_ref(), None, "cache tier after late writes")?;
        let got = durable
            .load(&k, now + 2)
            .await
            .during("loading the durable tier")?;
        same(got.as_ref(), None, "durable tier after late writes")?;
    }
    Ok(())
}

/// Concurrent requests that change different keys of one session all survive
/// through the session layer's re-apply path: N tasks each increment their own
/// key M times, one request per increment, and every total is exact.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn concurrent_saves_of_different_keys_all_survive(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    const TASKS: usize = 4;
    const INCREMENTS: u64 = 8;
    let clock = sample::clock();
    // The wrapper yields on every call, so the tasks interleave on any backend.
    let store: Arc<dyn SessionStore> = Arc::new(FaultyDurable::new(fx.store.clone()));
    let manager = sample::manager(
        sample::config(&clock).max_conflict_retries(TASKS as u32 * INCREMENTS as u32 * 4),
        store,
    )?;
    let first = manager.start(RequestCookies::default());
    for i in 0..TASKS {
        first
            .insert(&format!("k{i}"), &0u64)
            .await
            .during("starting the session")?;
    }
    let mut jar = Jar::default();
    jar.update_from(&first.finish(200).await.during("saving the new session")?);
    let Some(cookie) = jar.header() else {
        return Err(CaseError::violation("the new session set no cookie"));
    };

    let mut tasks = Vec::new();
    for i in 0..TASKS {
        let manager = manager.clone();
        let cookie = cookie.clone();
        let browser = jar.clone();
        tasks.push(tokio::spawn(async move {
            let key = format!("k{i}");
            for _ in 0..INCREMENTS {
                let session = manager.start(RequestCookies::from_raw([cookie.as_bytes()]));
                let n: u64 = session
                    .get(&key)
                    .await
                    .during("reading the counter")?
                    .ok_or_else(|| CaseError::violation(format!("{key} vanished mid-run")))?;
                session
                    .insert(&key, &(n + 1))
                    .await
                    .during("incrementing")?;
                let out = session.finish(200).await.during("saving an increment")?;
                // The browser keeps a cookie for the session (the same one
                // when the save needs no new one).
                let mut jar = browser.clone();
                jar.update_from(&out);
                ensure!(
                    jar.get("session").is_some(),
                    "an increment of {key} removed the session cookie: {:?}",
                    out.set_cookie
                );
            }
            Ok::<(), CaseError>(())
        }));
    }
    for task in tasks {
        task.await
            .map_err(|e| CaseError::violation(format!("an increment task failed: {e}")))??;
    }
    let check = manager.start(RequestCookies::from_raw([cookie.as_bytes()]));
    for i in 0..TASKS {
        let n: Option<u64> = check
            .get(&format!("k{i}"))
            .await
            .during("reading a total")?;
        ensure!(
            n == Some(INCREMENTS),
            "k{i} = {n:?} after {INCREMENTS} acknowledged increments: an update was lost"
        );
    }
    Ok(())
}

/// Idle and absolute timeouts together: activity keeps a session alive past
/// the idle timeout (through throttled touches), never past the absolute one,
/// and an idle session dies; the store enforces both.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn idle_and_absolute_timeouts(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    // Long enough that native TTL (real time) never fires during the case.
    const IDLE: u64 = 600;
    const ABSOLUTE: u64 = 10 * IDLE;
    const STEP: u64 = IDLE * 6 / 10;
    let clock = sample::clock();
    let t0 = sample::now();
    clock.set(t0);
    let config = sample::config(&clock)
        .idle_timeout(Some(Duration::from_secs(IDLE)))
        .absolute_timeout(Duration::from_secs(ABSOLUTE))
        .touch_interval(Duration::from_secs(IDLE / 10));
    let manager = sample::manager(config, fx.store.clone())?;

    let mut active = Jar::default();
    let mut idle = Jar::default();
    let mut keys = Vec::new();
    for jar in [&mut active, &mut idle] {
        let s = manager.start(RequestCookies::default());
        s.insert("user", "alice")
            .await
            .during("starting a session")?;
        let out = s.finish(200).await.during("saving a new session")?;
        let id = s.id().await.during("reading the new id")?;
        let id = id.ok_or_else(|| CaseError::violation("a saved session has no id"))?;
        keys.push(manager.store_key(&id));
        jar.update_from(&out);
    }
    let (active_key, idle_key) = (&keys[0], &keys[1]);

    // The active session is read every 60 s, past the 100 s idle timeout.
    for t in (t0 + STEP..t0 + ABSOLUTE).step_by(STEP as usize) {
        if t == t0 + 2 * STEP {
            // Meanwhile the untouched session is alive at 99 s and dead at 100 s.
            let alive = fx
                .store
                .load(idle_key, t0 + IDLE - 1)
                .await
                .during("loading the idle session")?;
            ensure!(
                alive.is_some(),
                "a session is gone from the store before its idle timeout"
            );
            let gone = fx
                .store
                .load(idle_key, t0 + IDLE)
                .await
                .during("loading the idle session")?;
            same(
                gone.as_ref(),
                None,
                "the store at the idle timeout of an untouched session",
            )?;
            clock.set(t0 + IDLE);
            let s = manager.start(RequestCookies::from_raw(
                idle.header().as_deref().map(str::as_bytes),
            ));
            let user: Option<String> = s.get("user").await.during("reading the idle session")?;
            ensure!(
                user.is_none(),
                "a session idle for {IDLE} s (the idle timeout) was still served"
            );
        }
        clock.set(t);
        let s = manager.start(RequestCookies::from_raw(
            active.header().as_deref().map(str::as_bytes),
        ));
        let user: Option<String> = s.get("user").await.during("reading an active session")?;
        ensure!(
            user.as_deref() == Some("alice"),
            "an active session died {} s after creation, before the absolute timeout",
            t - t0
        );
        active.update_from(&s.finish(200).await.during("refreshing an active session")?);
    }

    clock.set(t0 + ABSOLUTE);
    let live = fx
        .store
        .load(active_key, t0 + ABSOLUTE - 1)
        .await
        .during("loading the active session")?;
    ensure!(
        live.is_some(),
        "the active session is gone from the store before its absolute timeout"
    );
    let gone = fx
        .store
        .load(active_key, t0 + ABSOLUTE)
        .await
        .during("loading the active session")?;
    same(
        gone.as_ref(),
        None,
        "the store at the absolute timeout of an active session",
    )?;
    let s = manager.start(RequestCookies::from_raw(
        active.header().as_deref().map(str::as_bytes),
    ));
    let user: Option<String> = s.get("user").await.during("reading the active session")?;
    ensure!(
        user.is_none(),
        "an active session was served past its absolute timeout"
    );
    Ok(())
}

/// Batched cleanup deletes exactly the expired records, at most `max` per
/// batch, resumes from its cursor, and leaves live records alone.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn cleanup_deletes_exactly_the_expired_in_batches(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    const EXPIRED: usize = 7;
    const LIVE: usize = 5;
    const BATCH: usize = 3;
    let s = &fx.store;
    let now = sample::now();
    let mut expired = Vec::new();
    let mut live = Vec::new();
    for i in 0..EXPIRED + LIVE {
        let k = sample::key()?;
        let expire = (i % 2 == 0 || live.len() == LIVE) && expired.len() < EXPIRED;
        let ttl = if expire { 600 } else { 10_000 };
        s.create(&k, &sample::record(1, now, ttl, &[("i", &[i as u8])]), now)
            .await
            .during("creating a record")?;
        if expire {
            expired.push(k);
        } else {
            live.push(k);
        }
    }
    let at = now + 620;
    let mut total = 0u64;
    let mut batches = 0;
    let mut cursor = None;
    loop {
        batches += 1;
        ensure!(
            batches <= 4 * (EXPIRED + LIVE),
            "cleanup did not finish after {batches} batches"
        );
        let batch = s
            .delete_expired(at, BATCH, cursor)
            .await
            .during("running a cleanup batch")?;
        ensure!(
            batch.deleted <= BATCH as u64,
            "a cleanup batch of at most {BATCH} deleted {}",
            batch.deleted
        );
        total += batch.deleted;
        match batch.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    ensure!(
        total == EXPIRED as u64,
        "cleanup deleted {total} records, expected exactly the {EXPIRED} expired ones"
    );
    let again = s
        .delete_all_expired(at, BATCH, None)
        .await
        .during("running cleanup again")?;
    ensure!(
        again == 0,
        "a second full cleanup deleted {again} more records"
    );
    // Physically gone: read at a time before their expiry.
    let reader: &dyn SessionStore = match &fx.tiers {
        Some((_, durable)) => durable.as_ref(),
        None => s.as_ref(),
    };
    for k in &expired {
        let got = reader
            .load(k, now)
            .await
            .during("loading a cleaned-up record")?;
        ensure!(
            got.is_none(),
            "a record cleanup reported deleted is still stored"
        );
    }
    for k in &live {
        let got = s
            .load(k, at)
            .await
            .during("loading a live record after cleanup")?;
        ensure!(got.is_some(), "cleanup deleted a live record");
    }
    Ok(())
}

/// A record at the limit the store declares (`max_record_bytes`, measured by
/// `tiered_sessions::codec::record_len`) round-trips; one byte more fails with
/// `Error::TooLarge` and changes nothing.
///
/// # Errors
/// A [`CaseError`] naming the broken clause, or `Unsupported` for a store that
/// declares no limit (`usize::MAX`).
pub async fn size_limit_is_enforced_with_a_typed_error(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    let s = &fx.store;
    let limit = s.max_record_bytes();
    if limit == usize::MAX {
        return Err(CaseError::unsupported(
            "the store declares no record limit (max_record_bytes is usize::MAX)",
        ));
    }
    let now = sample::now();
    let at_limit = record_of_size(limit, now)?;
    let k = sample::key()?;
    s.create(&k, &at_limit, now)
        .await
        .during("creating a record at the size limit")?;
    let got = s
        .load(&k, now)
        .await
        .during("loading a record at the size limit")?;
    same(got.as_ref(), Some(&at_limit), "a record at the size limit")?;

    let mut over = record_of_size(limit + 1, now)?;
    let other = sample::key()?;
    expect_err!(
        s.create(&other, &over, now).await,
        Error::TooLarge { .. },
        "create of a record one byte over the limit"
    );
    let got = s
        .load(&other, now)
        .await
        .during("loading the refused record")?;
    same(got.as_ref(), None, "a record refused as too large")?;
    over.version = 2;
    for durability in [Durability::Durable, Durability::Quick] {
        expect_err!(
            s.save(&k, &over, 1, durability, now).await,
            Error::TooLarge { .. },
            "{durability:?} save of a record one byte over the limit"
        );
        let got = s
            .load(&k, now)
            .await
            .during("loading after the refused save")?;
        same(
            got.as_ref(),
            Some(&at_limit),
            "the record after a refused save",
        )?;
    }
    Ok(())
}

/// A record whose `encode_record` size is exactly `size` bytes.
fn record_of_size(size: usize, now: u64) -> Result<Record, CaseError> {
    let build = |len: usize, pad: usize| {
        let key = format!("blob{}", "_".repeat(pad));
        let mut r = sample::record(1, now, 600, &[]);
        r.data.insert(key, vec![0xab; len]);
        r
    };
    let base = encode_record(&build(0, 0)).len();
    ensure!(
        size > base + 4,
        "the size limit {size} is too small to test (an empty record is {base} bytes)"
    );
    // The length prefix grows at 128, 16384, …: step down until it fits,
    // then pad the key name by the byte or two left.
    let mut len = size - base;
    while len > 0 && encode_record(&build(len, 0)).len() > size {
        len -= 1;
    }
    let pad = size - encode_record(&build(len, 0)).len();
    let r = build(len, pad);
    ensure!(
        encode_record(&r).len() == size,
        "could not build a record of exactly {size} bytes"
    );
    Ok(r)
}

/// Store keys are keyed hashes: no raw key the backend holds contains a
/// session id (in any encoding), while each holds its session's `StoreKey`.
///
/// # Errors
/// A [`CaseError`] naming the broken clause, or `Unsupported` without a key lister.
pub async fn store_keys_never_contain_the_raw_id(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    let Some(list) = &fx.list_raw_keys else {
        return Err(CaseError::missing_hook(
            fx,
            "with_key_lister",
            "key lister (list_raw_keys)",
        ));
    };
    let clock = sample::clock();
    let manager = sample::manager(sample::config(&clock), fx.store.clone())?;
    let mut ids: Vec<SessionId> = Vec::new();
    for i in 0..3u8 {
        let s = manager.start(RequestCookies::default());
        s.insert("n", &i).await.during("starting a session")?;
        s.finish(200).await.during("saving a session")?;
        let id = s.id().await.during("reading the id")?;
        ids.push(id.ok_or_else(|| CaseError::violation("a saved session has no id"))?);
    }
    let raw = list().await;
    for id in &ids {
        let key: StoreKey = manager.store_key(id);
        ensure!(
            raw.iter().any(|r| r.contains(key.as_str())),
            "no raw key holds the store key {key} of a saved session (the lister sees {} keys)",
            raw.len()
        );
        let text = id.to_text();
        let hex: String = id.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let upper = hex.to_uppercase();
        for r in &raw {
            ensure!(
                !r.contains(&text) && !r.contains(&hex) && !r.contains(&upper),
                "the raw key {r:?} contains a session id"
            );
        }
    }
    Ok(())
}
