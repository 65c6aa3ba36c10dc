//! Fault-injection cases: the tier-ordering guarantees when a tier is down,
//! slow, refuses writes, or fails part-way through an operation.
//!
//! Each case composes the driver's store (see [`Fixture::compose`]) over its
//! own tiers wrapped in [`FaultyCache`] / [`FaultyDurable`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tiered_sessions::{CacheTier, Durability, Record, SessionStore};

use super::browser::{Browser, NONE};
use super::check::is_outage;
use super::sample;
use super::tiers::tiers;
use crate::case_error::{CaseError, During, ensure};
use crate::faults::{Faults, FaultyCache, FaultyDurable};
use crate::web::{TowerApp, WebApp};
use crate::{Capabilities, Fixture};

/// The cache deadline the fault cases give the composed store.
pub const CACHE_TIMEOUT: Duration = Duration::from_secs(1);
/// Time allowed for the durable tier's own answer on top of three cache
/// deadlines, before a fallback counts as "not within the deadline".
pub const DURABLE_ALLOWANCE: Duration = Duration::from_secs(5);

/// The driver's store over faulty wrappers of its own tiers.
struct Rig {
    store: Arc<dyn SessionStore>,
    cache: Arc<dyn CacheTier>,
    durable: Arc<dyn SessionStore>,
    cache_faults: Faults,
    durable_faults: Faults,
}

fn rig(fx: &Fixture, caps: &Capabilities) -> Result<Rig, CaseError> {
    let (cache, durable) = tiers(fx, caps)?;
    let faulty_cache = Arc::new(FaultyCache::new(cache.clone()));
    let faulty_durable = Arc::new(FaultyDurable::new(durable.clone()));
    let cache_faults = faulty_cache.faults().clone();
    let durable_faults = faulty_durable.faults().clone();
    Ok(Rig {
        store: fx.compose_tiers(faulty_cache, faulty_durable, CACHE_TIMEOUT),
        cache: cache.clone(),
        durable: durable.clone(),
        cache_faults,
        durable_faults,
    })
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    Down,
    Hang,
    FailWrites,
    FailAfter(u64),
}

impl Fault {
    fn apply(self, faults: &Faults) {
        match self {
            Fault::Down => faults.set_down(true),
            Fault::Hang => faults.set_latency(Duration::MAX),
            Fault::FailWrites => faults.set_fail_writes(true),
            Fault::FailAfter(n) => faults.fail_after(n),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Down => f.write_str("down"),
            Fault::Hang => f.write_str("hanging"),
            Fault::FailWrites => f.write_str("refusing writes"),
            Fault::FailAfter(n) => write!(f, "failing after {n} calls"),
        }
    }
}

/// With the cache down or hanging, a load falls back to the durable tier
/// within the deadline (three cache deadlines plus the durable tier's time).
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn fault_cache_outage_reads_fall_back_within_deadline(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    let r = rig(fx, caps)?;
    let now = sample::now();
    let k = sample::key()?;
    let v1 = sample::record(1, now, 600, &[("a", b"1")]);
    r.store
        .create(&k, &v1, now)
        .await
        .during("creating version 1")?;
    let v2 = sample::next(&v1, now + 1, "a", b"2");
    r.store
        .save(&k, &v2, 1, Durability::Durable, now + 1)
        .await
        .during("saving version 2")?;
    let deadline = CACHE_TIMEOUT * 3 + DURABLE_ALLOWANCE;
    for fault in [Fault::Down, Fault::Hang] {
        fault.apply(&r.cache_faults);
        let got = tokio::time::timeout(deadline, r.store.load(&k, now + 2)).await;
        r.cache_faults.heal();
        let got = got
            .map_err(|_| {
                CaseError::violation(format!(
                    "a load with the cache {fault} did not fall back to the durable tier within {deadline:?}"
                ))
            })?
            .during(format!("loading with the cache {fault}"))?;
        super::check::same(
            got.as_ref(),
            Some(&v2),
            &format!("a load with the cache {fault}"),
        )?;
    }
    Ok(())
}

/// What a fault sweep did to one key.
#[derive(Default)]
struct Ledger {
    /// Every record the store acknowledged, with whether it was quick.
    acked: Vec<(Record, bool)>,
    /// The operation that failed, if one did.
    failed: Option<Record>,
}

impl Ledger {
    fn last_durable(&self) -> Option<&Record> {
        self.acked
            .iter()
            .rev()
            .find(|(_, quick)| !quick)
            .map(|(r, _)| r)
    }

    fn is_acked_quick(&self, r: &Record) -> bool {
        self.acked.iter().any(|(a, quick)| *quick && a == r)
    }

    fn knows(&self, r: &Record) -> bool {
        self.failed.as_ref() == Some(r) || self.acked.iter().any(|(a, _)| a == r)
    }
}

/// Run create, durable save, quick save, durable save, touch on a fresh key,
/// stopping at the first failure (as a request would), with `fault` on the
/// tier `faults` controls.
async fn run_ops(r: &Rig, faults: &Faults, fault: Fault, now: u64) -> Result<(), CaseError> {
    let k = sample::key()?;
    let mut ledger = Ledger::default();
    fault.apply(faults);
    let v1 = sample::record(1, now, 600, &[("a", b"1")]);
    let v2 = sample::next(&v1, now + 1, "b", b"durable");
    let v3 = sample::next(&v2, now + 2, "c", b"quick");
    let v4 = sample::next(&v3, now + 3, "d", b"durable again");
    let mut v5 = v4.clone();
    v5.expires_at = now + 900;
    v5.last_active = now + 4;
    let steps: [(&Record, Option<Durability>); 5] = [
        (&v1, None),
        (&v2, Some(Durability::Durable)),
        (&v3, Some(Durability::Quick)),
        (&v4, Some(Durability::Durable)),
        (&v5, None),
    ];
    for (i, (record, durability)) in steps.into_iter().enumerate() {
        let at = now + i as u64;
        let out = match (i, durability) {
            (0, _) => r.store.create(&k, record, at).await,
            (_, Some(d)) => r.store.save(&k, record, record.version - 1, d, at).await,
            (_, None) => {
                r.store
                    .touch(&k, record.expires_at, record.last_active, at)
                    .await
            }
        };
        match out {
            Ok(()) => ledger
                .acked
                .push((record.clone(), durability == Some(Durability::Quick))),
            Err(e) => {
                ensure!(
                    is_outage(&e),
                    "with a tier {fault}, step {i} failed with {e:?}, not a typed outage (Unavailable/Timeout)"
                );
                ledger.failed = Some(record.clone());
                break;
            }
        }
    }
    faults.heal();
    check_after(r, &k, &ledger, fault, now + 5)
        .await
        .map_err(|e| e.context(format!("with a tier {fault}")))
}

/// The ordering guarantees after a sweep, with every tier healed.
async fn check_after(
    r: &Rig,
    k: &tiered_sessions::StoreKey,
    ledger: &Ledger,
    fault: Fault,
    now: u64,
) -> Result<(), CaseError> {
    let cached = r
        .cache
        .get(k, now)
        .await
        .during("peeking at the cache tier")?;
    let durable = r
        .durable
        .load(k, now)
        .await
        .during("peeking at the durable tier")?;
    if let Some(c) = &cached {
        let ahead = durable.as_ref().is_none_or(|d| c.version > d.version);
        ensure!(
            !ahead || ledger.is_acked_quick(c),
            "the cache holds version {} that the durable tier does not (it holds {:?}) and that was never acknowledged as a quick save: a cache entry ahead of the durable store",
            c.version,
            durable.as_ref().map(|d| d.version)
        );
    }
    let truth = r.store.load(k, now).await.during("loading after healing")?;
    match (&truth, ledger.last_durable()) {
        (None, Some(d)) => {
            return Err(CaseError::violation(format!(
                "durably acknowledged version {} is lost: the store loads nothing",
                d.version
            )));
        }
        (Some(t), Some(d)) => ensure!(
            t.version >= d.version,
            "the store loads version {} after version {} was durably acknowledged",
            t.version,
            d.version
        ),
        _ => {}
    }
    if let Some(t) = &truth {
        ensure!(
            ledger.knows(t),
            "the store loads version {} that was never written",
            t.version
        );
        if let Some(d) = &durable {
            ensure!(
                t.version >= d.version,
                "the store serves version {} while the durable tier holds {}: a stale cache entry",
                t.version,
                d.version
            );
        }
        // Nothing is stuck: a reload-and-save goes through.
        let next = sample::next(t, now, "after", format!("{fault}").as_bytes());
        r.store
            .save(k, &next, t.version, Durability::Durable, now)
            .await
            .during("saving after healing")?;
        let got = r
            .store
            .load(k, now)
            .await
            .during("loading the post-healing save")?;
        super::check::same(got.as_ref(), Some(&next), "the post-healing save")?;
    }
    Ok(())
}

fn sweep() -> Vec<Fault> {
    let mut faults = vec![Fault::Down, Fault::FailWrites];
    faults.extend((0..=8).map(Fault::FailAfter));
    faults
}

/// With the cache failing (down, refusing writes, or failing after N calls at
/// every point of create/save/quick save/save/touch), every failure is a typed
/// outage, no cache entry gets ahead of the durable tier, the store never
/// serves a version older than the durable tier's, nothing durably
/// acknowledged is lost, and after healing a save goes through.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn fault_cache_failures_leave_no_stale_or_ahead_entry(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    let r = rig(fx, caps)?;
    let now = sample::now();
    for fault in sweep() {
        run_ops(&r, &r.cache_faults, fault, now).await?;
    }
    Ok(())
}

/// With the durable tier failing (down, refusing writes, or failing after N
/// calls), every failure is a typed outage, no cache entry gets ahead of the
/// durable tier, and nothing durably acknowledged is lost.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn fault_durable_failures_are_typed_and_lose_nothing(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    let r = rig(fx, caps)?;
    let now = sample::now();
    for fault in sweep() {
        run_ops(&r, &r.durable_faults, fault, now).await?;
    }
    Ok(())
}

/// Through the session layer, a durable failure answers an opaque 5xx (empty
/// body, no cookie) and the acknowledged session survives it.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn fault_durable_failure_is_an_opaque_5xx(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    fault_durable_failure_is_an_opaque_5xx_on::<TowerApp>(fx, caps).await
}

/// [`fault_durable_failure_is_an_opaque_5xx`] on the web framework `A`.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn fault_durable_failure_is_an_opaque_5xx_on<A: WebApp>(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    // Over the tiers when there are two, else over the whole store.
    let (store, faults): (Arc<dyn SessionStore>, Faults) = match tiers(fx, caps) {
        Ok(_) => {
            let r = rig(fx, caps)?;
            (r.store, r.durable_faults)
        }
        Err(_) => {
            let faulty = Arc::new(FaultyDurable::new(fx.store.clone()));
            let faults = faulty.faults().clone();
            (faulty, faults)
        }
    };
    let clock = sample::clock();
    let manager = sample::manager(sample::config(&clock), store)?;
    let mut browser = Browser::<A>::new(manager).await?;
    browser.ok("/put/a/10").await?;
    let cookie = browser.jar.header();
    // Writes only: the handler's load works, the layer's save fails.
    faults.set_fail_writes(true);
    let reply = browser.get("/put/a/20").await?;
    faults.heal();
    ensure!(
        reply.status == 503 || reply.status == 500,
        "a save with the durable tier down answered {}, not an opaque 5xx",
        reply.status
    );
    ensure!(
        reply.body.is_empty(),
        "the error response has a body: {:?}",
        reply.body
    );
    ensure!(
        reply.set_cookie.is_empty(),
        "the error response set cookies: {:?}",
        reply.set_cookie
    );
    ensure!(
        reply.header("cache-control").any(|v| v == "no-store"),
        "the error response lacks Cache-Control: no-store: {:?}",
        reply.headers
    );
    ensure!(
        browser.jar.header() == cookie,
        "the browser's cookie changed on an error"
    );
    let body = browser.ok("/read/a").await?;
    ensure!(
        body != NONE && (body.len() == 10 || body.len() == 20),
        "after a failed save the session reads {body:?}: the acknowledged value is lost"
    );
    Ok(())
}
