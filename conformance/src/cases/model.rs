//! The model-based case: random operation sequences against the driver and a
//! small in-memory model of the contract, compared after every step.

use std::fmt;

use tiered_sessions::{Durability, Error, Record, SessionStore, SessionStoreExt, StoreKey};

use super::check::same;
use super::sample;
use crate::case_error::{CaseError, During, ensure};
use crate::{Capabilities, Fixture, Hook};

/// The seed used unless `TS_CONFORMANCE_SEED` says otherwise.
pub const DEFAULT_SEED: u64 = 0x5eed_1234_abcd_0001;

/// One run of the model-based case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelRun {
    /// Seeds the operation generator; a failure message names it.
    pub seed: u64,
    /// How many operations to run.
    pub steps: usize,
}

impl ModelRun {
    /// The seed from `TS_CONFORMANCE_SEED` (else [`DEFAULT_SEED`]) and the
    /// steps from `TS_CONFORMANCE_STEPS` (else `caps.model_steps`).
    pub fn from_env(caps: &Capabilities) -> Self {
        let env = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        ModelRun {
            seed: env("TS_CONFORMANCE_SEED").unwrap_or(DEFAULT_SEED),
            steps: env("TS_CONFORMANCE_STEPS")
                .and_then(|s| usize::try_from(s).ok())
                .unwrap_or(caps.model_steps)
                .max(1),
        }
    }
}

/// Random create, load, quick and durable saves (some with a stale version),
/// touch, regenerate, delete, colliding create, clock moves, cache flushes and
/// cleanup, checked against a model after every step. Reproduce a failure
/// with the seed it names (`TS_CONFORMANCE_SEED`).
///
/// # Errors
/// A [`CaseError`] naming the seed, the step and the recent operations.
pub async fn model_based_random_operations(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    model_based_with(fx, caps, ModelRun::from_env(caps)).await
}

/// [`model_based_random_operations`] with an explicit seed and step count.
///
/// # Errors
/// A [`CaseError`] naming the seed, the step and the recent operations.
pub async fn model_based_with(
    fx: &Fixture,
    caps: &Capabilities,
    run: ModelRun,
) -> Result<(), CaseError> {
    let flush = if caps.cache_tier {
        fx.flush_cache.clone()
    } else {
        None
    };
    let mut m = Model {
        store: fx.store.as_ref(),
        flush,
        cache_tier: caps.cache_tier,
        now: sample::now(),
        slots: Vec::new(),
        rng: Rng(run.seed),
        step: 0,
    };
    let mut history: Vec<String> = Vec::new();
    for step in 0..run.steps {
        m.step = step;
        let op = m.pick();
        history.push(format!("{step}: {op}"));
        if let Err(e) = m.apply(op).await {
            let recent = history[history.len().saturating_sub(12)..].join("; ");
            return Err(e.context(format!(
                "model-based run with seed {} (recent operations: {recent}), at step {step}",
                run.seed
            )));
        }
    }
    Ok(())
}

/// splitmix64: small, fast and good enough to pick operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Create,
    CreateCollision(usize),
    Load(usize),
    SaveDurable(usize),
    SaveQuick(usize),
    SaveStale(usize),
    Touch(usize),
    Regenerate(usize),
    Delete(usize),
    Advance(u64),
    FlushCache,
    Cleanup,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Advance(s) => write!(f, "advance clock {s} s"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// What the model knows about one live session.
struct Live {
    /// What a load returns while the cache is intact.
    latest: Record,
    /// What the durable tier may hold: a load after cache loss returns one of
    /// these (quick saves since the last durable one may or may not have gone
    /// durable, depending on whether the cache held the entry).
    durable: Vec<Record>,
    /// The cache was flushed since the last load or durable write.
    flushed: bool,
}

struct Slot {
    key: StoreKey,
    live: Option<Live>,
}

struct Model<'a> {
    store: &'a dyn SessionStore,
    flush: Option<Hook>,
    cache_tier: bool,
    now: u64,
    slots: Vec<Slot>,
    rng: Rng,
    step: usize,
}

impl Model<'_> {
    fn live_slots(&self) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|&i| self.slots[i].live.is_some())
            .collect()
    }

    fn pick(&mut self) -> Op {
        let live = self.live_slots();
        if self.slots.is_empty() || (live.is_empty() && self.rng.below(2) == 0) {
            return Op::Create;
        }
        let any = self.rng.below(self.slots.len() as u64) as usize;
        let some_live = if live.is_empty() {
            None
        } else {
            Some(live[self.rng.below(live.len() as u64) as usize])
        };
        loop {
            let op = match self.rng.below(24) {
                0..=2 if live.len() < 5 => Op::Create,
                3..=6 => Op::Load(any),
                7..=9 => Op::SaveDurable(some_live.unwrap_or(any)),
                10..=12 => Op::SaveQuick(some_live.unwrap_or(any)),
                13..=14 => Op::SaveStale(some_live.unwrap_or(any)),
                15 => Op::Touch(any),
                16 => Op::Regenerate(any),
                17 => Op::Delete(any),
                18 => Op::CreateCollision(some_live.unwrap_or(any)),
                19 => Op::Advance(self.rng.range(1, 120)),
                // Now and then past every expiry, so sessions do die.
                20 => Op::Advance(self.rng.range(200, 700)),
                21 if self.flush.is_some() => Op::FlushCache,
                22 => Op::Cleanup,
                _ => continue,
            };
            return op;
        }
    }

    fn value(&self) -> Vec<u8> {
        format!("step {}", self.step).into_bytes()
    }

    async fn apply(&mut self, op: Op) -> Result<(), CaseError> {
        match op {
            Op::Create => {
                let key = sample::key()?;
                let ttl = self.rng.range(120, 600);
                let r = sample::record(1, self.now, ttl, &[("v", &self.value())]);
                self.store
                    .create(&key, &r, self.now)
                    .await
                    .during("creating")?;
                self.slots.push(Slot {
                    key,
                    live: Some(Live {
                        latest: r.clone(),
                        durable: vec![r],
                        flushed: false,
                    }),
                });
                self.check(self.slots.len() - 1).await
            }
            Op::Load(i) => self.check(i).await,
            Op::SaveDurable(i) | Op::SaveQuick(i) => {
                let quick = matches!(op, Op::SaveQuick(_));
                self.save(i, quick).await?;
                self.check(i).await
            }
            Op::SaveStale(i) => {
                self.save_stale(i).await?;
                self.check(i).await
            }
            Op::Touch(i) => {
                self.touch(i).await?;
                self.check(i).await
            }
            Op::Regenerate(i) => self.regenerate(i).await,
            Op::Delete(i) => {
                let key = self.slots[i].key.clone();
                self.store.delete(&key, self.now).await.during("deleting")?;
                self.slots[i].live = None;
                self.check(i).await
            }
            Op::CreateCollision(i) => {
                let key = self.slots[i].key.clone();
                if self.slots[i].live.is_none() {
                    return Ok(());
                }
                let other = sample::record(1, self.now, 500, &[("collider", &self.value())]);
                match self.store.create(&key, &other, self.now).await {
                    Err(Error::AlreadyExists) => {}
                    other => {
                        return Err(CaseError::violation(format!(
                            "create over a live record returned {other:?}, expected AlreadyExists"
                        )));
                    }
                }
                self.check(i).await
            }
            Op::Advance(secs) => {
                self.now += secs;
                let now = self.now;
                for slot in &mut self.slots {
                    if slot
                        .live
                        .as_ref()
                        .is_some_and(|l| l.latest.expires_at <= now)
                    {
                        slot.live = None;
                    }
                }
                self.check_all().await
            }
            Op::FlushCache => {
                if let Some(flush) = &self.flush {
                    flush().await;
                    for live in self.slots.iter_mut().filter_map(|s| s.live.as_mut()) {
                        live.flushed = true;
                    }
                }
                Ok(())
            }
            Op::Cleanup => {
                let deleted = self
                    .store
                    .delete_all_expired(self.now, 2, None)
                    .await
                    .during("cleaning up")?;
                let created = self.slots.len() as u64;
                ensure!(
                    deleted <= created,
                    "cleanup deleted {deleted} records of the {created} created"
                );
                self.check_all().await
            }
        }
    }

    /// Load slot `i` and compare with the model (resolving a post-flush state).
    async fn check(&mut self, i: usize) -> Result<(), CaseError> {
        let got = self
            .store
            .load(&self.slots[i].key, self.now)
            .await
            .during("loading")?;
        match &mut self.slots[i].live {
            None => same(got.as_ref(), None, "a dead (deleted or expired) session"),
            Some(live) if !live.flushed => same(got.as_ref(), Some(&live.latest), "a live session"),
            Some(live) => {
                let Some(r) = got else {
                    return Err(CaseError::violation(
                        "a live session loads nothing after cache loss: the durable tier lost it",
                    ));
                };
                ensure!(
                    live.durable.contains(&r),
                    "after cache loss a session loads {r:?}, not a record the durable tier may hold ({:?}): a write that was refused or never acknowledged is visible",
                    live.durable
                );
                live.latest = r.clone();
                live.durable = vec![r];
                live.flushed = false;
                Ok(())
            }
        }
    }

    async fn check_all(&mut self) -> Result<(), CaseError> {
        for i in 0..self.slots.len() {
            self.check(i).await?;
        }
        Ok(())
    }

    async fn save(&mut self, i: usize, quick: bool) -> Result<(), CaseError> {
        let durability = if quick {
            Durability::Quick
        } else {
            Durability::Durable
        };
        let value = self.value();
        let (now, cache_tier) = (self.now, self.cache_tier);
        let slot = &mut self.slots[i];
        let Some(live) = &mut slot.live else {
            let r = sample::record(2, now, 100, &[("late", &value)]);
            return match self.store.save(&slot.key, &r, 1, durability, now).await {
                Err(Error::NotFound) => Ok(()),
                other => Err(CaseError::violation(format!(
                    "a {durability:?} save of a dead session returned {other:?}, expected NotFound"
                ))),
            };
        };
        let next = sample::next(&live.latest, now, "v", &value);
        self.store
            .save(&slot.key, &next, live.latest.version, durability, now)
            .await
            .during(format!("{durability:?} saving"))?;
        if !quick || !cache_tier || live.flushed {
            // Durable, or quick with no cache entry to swap: written durably.
            live.durable = vec![next.clone()];
        } else {
            live.durable.push(next.clone());
        }
        live.latest = next;
        live.flushed = false;
        Ok(())
    }

    async fn save_stale(&mut self, i: usize) -> Result<(), CaseError> {
        let (now, value) = (self.now, self.value());
        let slot = &mut self.slots[i];
        let Some(live) = &mut slot.live else {
            let r = sample::record(2, now, 100, &[("stale", &value)]);
            return match self
                .store
                .save(&slot.key, &r, 1, Durability::Durable, now)
                .await
            {
                Err(Error::NotFound) => Ok(()),
                other => Err(CaseError::violation(format!(
                    "a save of a dead session returned {other:?}, expected NotFound"
                ))),
            };
        };
        let expected = live.latest.version - 1;
        let mut stale = sample::next(&live.latest, now, "stale", &value);
        stale.version = expected + 1;
        // Intact cache: it holds the latest, so a conflict. After cache loss it
        // depends on which version the durable tier holds.
        let may_conflict = !live.flushed || live.durable.iter().any(|d| d.version > expected);
        let may_succeed = live.flushed && live.durable.iter().any(|d| d.version <= expected);
        match self
            .store
            .save(&slot.key, &stale, expected, Durability::Durable, now)
            .await
        {
            Err(Error::Conflict) if may_conflict => {
                if live.flushed {
                    live.durable.retain(|d| d.version > expected);
                }
                Ok(())
            }
            Ok(()) if may_succeed => {
                live.latest = stale.clone();
                live.durable = vec![stale];
                live.flushed = false;
                Ok(())
            }
            other => Err(CaseError::violation(format!(
                "a save expecting version {expected} over version {} returned {other:?}",
                live.latest.version
            ))),
        }
    }

    async fn touch(&mut self, i: usize) -> Result<(), CaseError> {
        let now = self.now;
        let expires_at = now + self.rng.range(120, 600);
        let slot = &mut self.slots[i];
        let out = self.store.touch(&slot.key, expires_at, now, now).await;
        let Some(live) = &mut slot.live else {
            return match out {
                Err(Error::NotFound) => Ok(()),
                other => Err(CaseError::violation(format!(
                    "a touch of a dead session returned {other:?}, expected NotFound"
                ))),
            };
        };
        out.during("touching")?;
        for r in std::iter::once(&mut live.latest).chain(live.durable.iter_mut()) {
            r.expires_at = expires_at;
            r.last_active = now;
        }
        Ok(())
    }

    async fn regenerate(&mut self, i: usize) -> Result<(), CaseError> {
        if self.slots[i].live.is_none() {
            return Ok(());
        }
        self.check(i).await?;
        let Some(live) = &self.slots[i].live else {
            return Ok(());
        };
        let mut fresh = live.latest.clone();
        fresh.version = 1;
        fresh.last_active = self.now;
        let key = sample::key()?;
        self.store
            .create(&key, &fresh, self.now)
            .await
            .during("creating the new id")?;
        let old = self.slots[i].key.clone();
        self.store
            .delete(&old, self.now)
            .await
            .during("deleting the old id")?;
        self.slots[i].live = None;
        self.slots.push(Slot {
            key,
            live: Some(Live {
                latest: fresh.clone(),
                durable: vec![fresh],
                flushed: false,
            }),
        });
        self.check(i).await?;
        self.check(self.slots.len() - 1).await
    }
}
