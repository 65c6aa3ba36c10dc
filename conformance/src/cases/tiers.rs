//! Cache-tier cases: quick saves, cache loss and deletes across tiers.

use std::sync::Arc;

use tiered_sessions::{CacheOutcome, CacheTier, Durability, Error, SessionStore};

use super::check::{expect_err, same};
use super::outages::CACHE_TIMEOUT;
use super::sample;
use crate::case_error::{CaseError, During, ensure};
use crate::faults::FaultyDurable;
use crate::{Capabilities, Fixture, Hook};

type Tiers<'a> = (&'a Arc<dyn CacheTier>, &'a Arc<dyn SessionStore>);

/// The two tiers, or why a tier case cannot run.
pub(crate) fn tiers<'a>(fx: &'a Fixture, caps: &Capabilities) -> Result<Tiers<'a>, CaseError> {
    if !caps.cache_tier {
        return Err(CaseError::unsupported("the driver has no cache tier"));
    }
    match &fx.tiers {
        Some((cache, durable)) => Ok((cache, durable)),
        None => Err(CaseError::unsupported(
            "the fixture does not expose its tiers: call Fixture::tiered or Fixture::with_tiers",
        )),
    }
}

/// The cache-flush hook, or why a cache-loss case cannot run.
pub(crate) fn flush_hook<'a>(fx: &'a Fixture, caps: &Capabilities) -> Result<&'a Hook, CaseError> {
    if !caps.cache_tier {
        return Err(CaseError::unsupported("the driver has no cache tier"));
    }
    fx.flush_cache
        .as_ref()
        .ok_or_else(|| CaseError::missing_hook(fx, "with_flush_cache", "cache flush (flush_cache)"))
}

/// A quick save reaches the cache only; the durable save after it persists
/// the latest state, quick changes included.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn quick_save_reaches_the_cache_only(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    let (_, durable) = tiers(fx, caps)?;
    let s = &fx.store;
    let now = sample::now();
    let k = sample::key()?;
    let v1 = sample::record(1, now, 600, &[("a", b"1")]);
    s.create(&k, &v1, now).await.during("creating version 1")?;
    let v2 = sample::next(&v1, now + 1, "quick", b"2");
    s.save(&k, &v2, 1, Durability::Quick, now + 1)
        .await
        .during("quick-saving version 2")?;
    let got = s
        .load(&k, now + 1)
        .await
        .during("loading after the quick save")?;
    same(got.as_ref(), Some(&v2), "the store after a quick save")?;
    let got = durable
        .load(&k, now + 1)
        .await
        .during("loading the durable tier")?;
    same(
        got.as_ref(),
        Some(&v1),
        "the durable tier after a quick save (it must not reach it)",
    )?;

    let v3 = sample::next(&v2, now + 2, "durable", b"3");
    s.save(&k, &v3, 2, Durability::Durable, now + 2)
        .await
        .during("durably saving version 3")?;
    let got = durable
        .load(&k, now + 2)
        .await
        .during("loading the durable tier")?;
    same(
        got.as_ref(),
        Some(&v3),
        "the durable tier after the durable save that followed a quick one",
    )?;
    if let Some(flush) = &fx.flush_cache {
        flush().await;
        let got = s
            .load(&k, now + 3)
            .await
            .during("loading after a cache flush")?;
        same(got.as_ref(), Some(&v3), "the store after a flush")?;
    }
    Ok(())
}

/// A quick save finding no cache entry (flushed) is written durably instead,
/// never dropped.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn quick_save_without_a_cache_entry_is_durable(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    let (_, durable) = tiers(fx, caps)?;
    let flush = flush_hook(fx, caps)?;
    let s = &fx.store;
    let now = sample::now();
    let k = sample::key()?;
    let v1 = sample::record(1, now, 600, &[("a", b"1")]);
    s.create(&k, &v1, now).await.during("creating version 1")?;
    flush().await;
    let v2 = sample::next(&v1, now + 1, "quick", b"2");
    s.save(&k, &v2, 1, Durability::Quick, now + 1)
        .await
        .during("quick-saving with the cache entry gone")?;
    let got = durable
        .load(&k, now + 1)
        .await
        .during("loading the durable tier")?;
    same(
        got.as_ref(),
        Some(&v2),
        "the durable tier after a quick save that found no cache entry",
    )?;
    flush().await;
    let got = s
        .load(&k, now + 2)
        .await
        .during("loading after another flush")?;
    same(got.as_ref(), Some(&v2), "the store after another flush")
}

/// A durable save that conflicts with a newer quick save fails with
/// `Conflict` and leaves the quick save in place (no lost update).
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn quick_save_survives_a_conflicting_durable_save(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    if !caps.cache_tier {
        return Err(CaseError::unsupported("the driver has no cache tier"));
    }
    let s = &fx.store;
    let now = sample::now();
    let k = sample::key()?;
    let v1 = sample::record(1, now, 600, &[("a", b"1")]);
    s.create(&k, &v1, now).await.during("creating version 1")?;
    let quick = sample::next(&v1, now + 1, "b", b"quick");
    s.save(&k, &quick, 1, Durability::Quick, now + 1)
        .await
        .during("quick-saving version 2")?;
    let stale = sample::next(&v1, now + 2, "c", b"stale durable");
    expect_err!(
        s.save(&k, &stale, 1, Durability::Durable, now + 2).await,
        Error::Conflict,
        "a durable save expecting version 1 over a quick-saved version 2"
    );
    let got = s
        .load(&k, now + 2)
        .await
        .during("reloading after the conflict")?;
    same(
        got.as_ref(),
        Some(&quick),
        "the reload after a conflict with a quick save",
    )?;
    let v3 = sample::next(&quick, now + 3, "c", b"re-applied");
    s.save(&k, &v3, 2, Durability::Durable, now + 3)
        .await
        .during("re-applying onto version 2")?;
    let got = s.load(&k, now + 3).await.during("loading version 3")?;
    same(
        got.as_ref(),
        Some(&v3),
        "the store after the re-applied save",
    )
}

/// After cache loss the durable data still loads, and the load refills the cache.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn cache_loss_falls_back_to_durable_and_refills(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    let (cache, _) = tiers(fx, caps)?;
    let flush = flush_hook(fx, caps)?;
    let s = &fx.store;
    let now = sample::now();
    let k = sample::key()?;
    let v1 = sample::record(1, now, 600, &[("a", b"1")]);
    s.create(&k, &v1, now).await.during("creating version 1")?;
    let v2 = sample::next(&v1, now + 1, "a", b"2");
    s.save(&k, &v2, 1, Durability::Durable, now + 1)
        .await
        .during("durably saving version 2")?;
    flush().await;
    let got = cache
        .get(&k, now + 1)
        .await
        .during("reading the flushed cache")?;
    same(
        got.as_ref(),
        None,
        "the cache tier right after a flush (the hook must empty it)",
    )?;
    let got = s
        .load(&k, now + 2)
        .await
        .during("loading after cache loss")?;
    same(got.as_ref(), Some(&v2), "the store after cache loss")?;
    let got = cache
        .get(&k, now + 2)
        .await
        .during("reading the cache after the load")?;
    same(
        got.as_ref(),
        Some(&v2),
        "the cache tier after a load that missed it (refill)",
    )
}

/// A delete removes the record from every tier, including a quick-saved
/// version that only the cache held.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn delete_removes_every_tier(fx: &Fixture, caps: &Capabilities) -> Result<(), CaseError> {
    let (cache, durable) = tiers(fx, caps)?;
    let s = &fx.store;
    let now = sample::now();
    let k = sample::key()?;
    let v1 = sample::record(1, now, 600, &[("a", b"1")]);
    s.create(&k, &v1, now).await.during("creating version 1")?;
    let v2 = sample::next(&v1, now + 1, "a", b"quick");
    s.save(&k, &v2, 1, Durability::Quick, now + 1)
        .await
        .during("quick-saving version 2")?;
    s.delete(&k, now + 1).await.during("deleting")?;
    let got = cache
        .get(&k, now + 2)
        .await
        .during("reading the cache tier")?;
    same(got.as_ref(), None, "the cache tier after delete")?;
    let got = durable
        .load(&k, now + 2)
        .await
        .during("loading the durable tier")?;
    same(got.as_ref(), None, "the durable tier after delete")?;
    let got = s.load(&k, now + 2).await.during("loading the store")?;
    same(got.as_ref(), None, "the store after delete")?;
    // A refill racing with the delete must not bring it back.
    cache
        .put_if_newer(&k, &v1, now + 3)
        .await
        .during("a late refill of the deleted key")?;
    let got = s
        .load(&k, now + 3)
        .await
        .during("loading after a late refill")?;
    same(
        got.as_ref(),
        None,
        "the store after a late refill of a deleted key (deletion marker)",
    )
}

/// The `CacheTier` clauses one by one, on the cache tier alone: `put_if_newer`
/// never replaces the same or a newer version, `compare_and_swap` swaps on the
/// exact version only, `invalidate` keeps (and reports) a newer entry and
/// otherwise leaves a floor that refuses older refills, `evict` floors at the
/// evicted version, nothing expired is returned, `touch` moves the expiry, and
/// `delete` leaves a marker that blocks a racing refill.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn cache_tier_clauses(fx: &Fixture, caps: &Capabilities) -> Result<(), CaseError> {
    let (cache, _) = tiers(fx, caps)?;
    let now = sample::now();
    let k = sample::key()?;
    let got = cache.get(&k, now).await.during("reading an unknown key")?;
    same(got.as_ref(), None, "the cache tier for an unknown key")?;

    let v1 = sample::record(1, now, 600, &[("a", b"1")]);
    let v2 = sample::next(&v1, now, "a", b"2");
    cache
        .put_if_newer(&k, &v2, now)
        .await
        .during("putting version 2")?;
    cache
        .put_if_newer(&k, &v1, now)
        .await
        .during("putting the older version 1")?;
    let mut twin = v2.clone();
    twin.data.insert("twin".into(), b"same version".to_vec());
    cache
        .put_if_newer(&k, &twin, now)
        .await
        .during("putting another version 2")?;
    let got = cache.get(&k, now).await.during("reading after the puts")?;
    same(
        got.as_ref(),
        Some(&v2),
        "put_if_newer with the same or an older version",
    )?;

    let v3 = sample::next(&v2, now + 1, "a", b"3");
    let cas = cache.compare_and_swap(&k, &v3, 1, now + 1).await;
    ensure!(
        matches!(cas, Ok(CacheOutcome::Conflict)),
        "compare_and_swap expecting version 1 over version 2 returned {cas:?}, expected Conflict"
    );
    let cas = cache.compare_and_swap(&k, &v3, 2, now + 1).await;
    ensure!(
        matches!(cas, Ok(CacheOutcome::Done)),
        "compare_and_swap expecting the cached version returned {cas:?}, expected Swapped"
    );
    let got = cache
        .get(&k, now + 1)
        .await
        .during("reading after the swap")?;
    same(got.as_ref(), Some(&v3), "the cache tier after a swap")?;
    let absent = sample::key()?;
    let cas = cache.compare_and_swap(&absent, &v3, 2, now + 1).await;
    ensure!(
        matches!(cas, Ok(CacheOutcome::Missing)),
        "compare_and_swap on an empty key returned {cas:?}, expected Missing"
    );
    let got = cache
        .get(&absent, now + 1)
        .await
        .during("reading the empty key")?;
    same(got.as_ref(), None, "a key after a swap that found nothing")?;

    let out = cache.invalidate(&k, 2, now + 1).await;
    ensure!(
        matches!(out, Ok(CacheOutcome::Conflict)),
        "invalidate expecting version 2 over a cached version 3 returned {out:?}, expected Conflict"
    );
    let got = cache
        .get(&k, now + 1)
        .await
        .during("reading after the refused invalidation")?;
    same(
        got.as_ref(),
        Some(&v3),
        "a newer entry after a refused invalidation",
    )?;
    cache
        .touch(&k, now + 900, now + 2, now + 2)
        .await
        .during("touching the entry")?;
    let mut touched = v3.clone();
    touched.expires_at = now + 900;
    touched.last_active = now + 2;
    let got = cache
        .get(&k, now + 700)
        .await
        .during("reading past the old expiry")?;
    same(got.as_ref(), Some(&touched), "the cache tier after touch")?;
    let got = cache
        .get(&k, now + 900)
        .await
        .during("reading at the new expiry")?;
    same(got.as_ref(), None, "the cache tier at the expiry instant")?;
    let out = cache
        .invalidate(&k, 3, now + 2)
        .await
        .during("invalidating version 3")?;
    ensure!(
        out == CacheOutcome::Done,
        "invalidate expecting the cached version returned {out:?}, expected Done"
    );
    let got = cache
        .get(&k, now + 2)
        .await
        .during("reading after invalidation")?;
    same(got.as_ref(), None, "the cache tier after invalidation")?;
    // The version floor: a reader that read version 3 from the durable tier
    // before the save of 4 must not refill the cache behind it.
    cache
        .put_if_newer(&k, &v3, now + 2)
        .await
        .during("a stale refill below the floor")?;
    let got = cache
        .get(&k, now + 2)
        .await
        .during("reading after the stale refill")?;
    same(
        got.as_ref(),
        None,
        "the cache tier after a refill older than the invalidation's floor",
    )?;
    let v4 = sample::next(&v3, now + 2, "a", b"4");
    cache
        .put_if_newer(&k, &v4, now + 2)
        .await
        .during("the save's own refill")?;
    let got = cache
        .get(&k, now + 2)
        .await
        .during("reading the save's refill")?;
    same(
        got.as_ref(),
        Some(&v4),
        "the cache tier after the save's refill",
    )?;
    cache
        .touch(&absent, now + 900, now + 2, now + 2)
        .await
        .during("touching an empty key")?;
    // Eviction drops the record and floors at its version.
    cache
        .evict(&k, now + 2)
        .await
        .during("evicting version 4")?;
    let got = cache
        .get(&k, now + 2)
        .await
        .during("reading after eviction")?;
    same(got.as_ref(), None, "the cache tier after evict")?;
    cache
        .put_if_newer(&k, &v3, now + 2)
        .await
        .during("a refill older than the evicted version")?;
    let got = cache
        .get(&k, now + 2)
        .await
        .during("reading after the older refill")?;
    same(
        got.as_ref(),
        None,
        "the cache tier after a refill older than the evicted version",
    )?;
    cache
        .put_if_newer(&k, &v4, now + 2)
        .await
        .during("refilling the evicted version")?;
    let got = cache.get(&k, now + 2).await.during("reading the refill")?;
    same(
        got.as_ref(),
        Some(&v4),
        "the cache tier after a refill at the evicted version",
    )?;

    cache.delete(&k, now + 3).await.during("deleting")?;
    cache
        .put_if_newer(&k, &v4, now + 4)
        .await
        .during("a refill racing with the delete")?;
    let got = cache
        .get(&k, now + 4)
        .await
        .during("reading after the racing refill")?;
    same(
        got.as_ref(),
        None,
        "a deleted key after a racing refill (the deletion marker must block it)",
    )
}

/// A tiered store accepts no record above the smaller of its two tiers'
/// limits: over a durable tier that accepts less than the cache, a quick save
/// (which only reaches the cache) is refused with `Error::TooLarge` too, so
/// the cache never acknowledges what the next durable save would refuse.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn every_save_is_refused_above_the_smaller_tier_limit(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    const LIMIT: usize = 2_000;
    let (cache, durable) = tiers(fx, caps)?;
    let limited = Arc::new(FaultyDurable::new(durable.clone()).with_max_record_bytes(LIMIT));
    let store = fx.compose_tiers(cache.clone(), limited, CACHE_TIMEOUT);
    ensure!(
        store.max_record_bytes() <= LIMIT,
        "the store declares a limit of {} over a durable tier of {LIMIT}",
        store.max_record_bytes()
    );
    let now = sample::now();
    let k = sample::key()?;
    let v1 = sample::record(1, now, 600, &[("a", b"1")]);
    store
        .create(&k, &v1, now)
        .await
        .during("creating version 1")?;
    let big = vec![b'x'; LIMIT];
    let v2 = sample::next(&v1, now, "big", &big);
    for durability in [Durability::Quick, Durability::Durable] {
        expect_err!(
            store.save(&k, &v2, 1, durability, now).await,
            Error::TooLarge { .. },
            "{durability:?} save above the durable tier's limit"
        );
        let got = store
            .load(&k, now)
            .await
            .during("loading after the refused save")?;
        same(got.as_ref(), Some(&v1), "the store after a refused save")?;
    }
    let cached = cache.get(&k, now).await.during("reading the cache tier")?;
    ensure!(
        cached.as_ref().is_none_or(|r| r.version == 1),
        "the cache tier holds version {:?} after refused saves",
        cached.map(|r| r.version)
    );
    expect_err!(
        store.create(&sample::key()?, &v2, now).await,
        Error::TooLarge { .. },
        "create above the durable tier's limit"
    );
    Ok(())
}

/// A read the cache answers makes no durable read: after a create (which
/// fills the cache), loads of the same session never reach the durable tier.
/// (Django's `test_exists_searches_cache_first`.)
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn a_cache_hit_makes_no_durable_read(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    let (cache, durable) = tiers(fx, caps)?;
    let counted = Arc::new(FaultyDurable::new(durable.clone()));
    let calls = counted.faults().clone();
    let store = fx.compose_tiers(cache.clone(), counted, CACHE_TIMEOUT);
    let now = sample::now();
    let k = sample::key()?;
    let v1 = sample::record(1, now, 600, &[("a", b"1")]);
    store
        .create(&k, &v1, now)
        .await
        .during("creating a record")?;
    calls.reset_counts();
    for i in 0..5 {
        let got = store
            .load(&k, now + 1)
            .await
            .during("loading a cached record")?;
        same(got.as_ref(), Some(&v1), "a cached record")?;
        let reads = calls.counts().reads;
        ensure!(
            reads == 0,
            "load {i} of a record the cache holds read the durable tier {reads} times"
        );
    }
    Ok(())
}
