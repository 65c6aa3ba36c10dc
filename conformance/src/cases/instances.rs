//! Two app instances over one cache and one durable store: what one of them
//! acknowledged while it could not reach the cache must be what the other
//! serves once it can.

use std::sync::Arc;

use tiered_sessions::{Durability, Record, SessionStore, StoreKey};

use super::check::{is_outage, same};
use super::outages::CACHE_TIMEOUT;
use super::sample;
use super::tiers::tiers;
use crate::case_error::{CaseError, During, ensure};
use crate::faults::FaultyCache;
use crate::{Capabilities, Fixture};

/// Instance A reaches the cache through a wrapper that is cut off for a
/// while; instance B reaches the same cache directly and has read the
/// session, so the cache holds it. A asks for a durable save, a quick save
/// and a logout with its cache cut off. Each one either fails with a typed
/// outage (nothing written) or succeeds; once A's cache is back, B serves
/// exactly the newest acknowledged state — never the entry A could not drop
/// (a logged-out session still readable, an acknowledged write invisible).
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn fault_cache_outage_leaves_no_other_instance_stale(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    let (cache, durable) = tiers(fx, caps)?;
    let cut = Arc::new(FaultyCache::new(cache.clone()));
    let faults = cut.faults().clone();
    let a = fx.compose_tiers(cut, durable.clone(), CACHE_TIMEOUT);
    let b = fx.compose_tiers(cache.clone(), durable.clone(), CACHE_TIMEOUT);
    let now = sample::now();
    for step in ["durable save", "quick save", "logout"] {
        let k = sample::key()?;
        let v1 = sample::record(1, now, 600, &[("user", b"alice")]);
        a.create(&k, &v1, now).await.during("creating through A")?;
        let seen = b.load(&k, now).await.during("reading through B")?;
        same(seen.as_ref(), Some(&v1), "B's first read")?;
        faults.set_down(true);
        let v2 = sample::next(&v1, now + 1, "cart", b"3 items");
        let asked = match step {
            "durable save" => a.save(&k, &v2, 1, Durability::Durable, now + 1).await,
            "quick save" => a.save(&k, &v2, 1, Durability::Quick, now + 1).await,
            _ => a.delete(&k, now + 1).await,
        };
        faults.heal();
        let want = match &asked {
            Ok(()) if step == "logout" => None,
            Ok(()) => Some(&v2),
            Err(e) => {
                ensure!(
                    is_outage(e),
                    "A's {step} with its cache cut off failed with {e:?}, not a typed outage"
                );
                Some(&v1)
            }
        };
        let acked = if asked.is_ok() {
            "acknowledged"
        } else {
            "refused"
        };
        let after = b
            .load(&k, now + 2)
            .await
            .during("reading through B after")?;
        same(
            after.as_ref(),
            want,
            &format!("B's read after A's {step} was {acked} with its cache cut off"),
        )?;
        settle(&*a, &k, want, now + 3).await?;
    }
    Ok(())
}

/// A, its cache back, agrees with B, and a write through it goes through.
async fn settle(
    a: &dyn SessionStore,
    k: &StoreKey,
    want: Option<&Record>,
    now: u64,
) -> Result<(), CaseError> {
    let got = a.load(k, now).await.during("reading through A after")?;
    same(got.as_ref(), want, "A's read once its cache is back")?;
    if let Some(r) = want {
        let next = sample::next(r, now, "after", b"healed");
        a.save(k, &next, r.version, Durability::Durable, now)
            .await
            .during("saving through A once its cache is back")?;
    }
    Ok(())
}
