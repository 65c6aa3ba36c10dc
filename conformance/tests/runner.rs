//! The runner never reports a case it could not run as passed: unmet
//! capabilities and missing services are ignored with their reason (a missing
//! service fails under `CI=true`), and a panicking driver fails its case only.

use std::collections::BTreeSet;
use std::sync::Arc;

use tiered_sessions::{
    CleanupBatch, CleanupCursor, Durability, Record, Result, SessionStore, StoreKey, UnixTime,
    async_trait,
};
use tiered_sessions_conformance::libtest_mimic::Arguments;
use tiered_sessions_conformance::{
    Capabilities, CaseOutcome, Factory, Fixture, Skip, cases, in_ci, run_case, trials,
};
use tiered_sessions_memory::{MemoryCache, MemoryStore};

struct Missing;

#[async_trait]
impl Factory for Missing {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
    }
    async fn fixture(&self) -> std::result::Result<Fixture, Skip> {
        Err(Skip::new("TS_NOWHERE_URL is not set"))
    }
}

/// A memory store whose `load` panics.
#[derive(Debug, Default)]
struct PanicsOnLoad(MemoryStore);

#[async_trait]
impl SessionStore for PanicsOnLoad {
    fn max_record_bytes(&self) -> usize {
        self.0.max_record_bytes()
    }
    async fn load(&self, _: &StoreKey, _: UnixTime) -> Result<Option<Record>> {
        panic!("driver bug in load")
    }
    async fn create(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()> {
        self.0.create(key, record, now).await
    }
    async fn save(
        &self,
        key: &StoreKey,
        r: &Record,
        v: u64,
        d: Durability,
        now: UnixTime,
    ) -> Result<()> {
        self.0.save(key, r, v, d, now).await
    }
    async fn delete(&self, key: &StoreKey, now: UnixTime) -> Result<()> {
        SessionStore::delete(&self.0, key, now).await
    }
    async fn delete_unless_newer(&self, key: &StoreKey, v: u64, now: UnixTime) -> Result<()> {
        self.0.delete_unless_newer(key, v, now).await
    }
    async fn touch(&self, key: &StoreKey, e: UnixTime, l: UnixTime, now: UnixTime) -> Result<()> {
        SessionStore::touch(&self.0, key, e, l, now).await
    }
    async fn delete_expired(
        &self,
        now: UnixTime,
        max: usize,
        c: Option<CleanupCursor>,
    ) -> Result<CleanupBatch> {
        self.0.delete_expired(now, max, c).await
    }
}

/// Memory tiers with no hooks at all, as the guide's first snippet once built them.
struct HooklessTiered;

#[async_trait]
impl Factory for HooklessTiered {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new().with_cache_tier(true)
    }
    async fn fixture(&self) -> std::result::Result<Fixture, Skip> {
        Ok(Fixture::tiered(
            Arc::new(MemoryCache::new()),
            Arc::new(MemoryStore::new()),
        ))
    }
}

struct Panicky;

#[async_trait]
impl Factory for Panicky {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
    }
    async fn fixture(&self) -> std::result::Result<Fixture, Skip> {
        Ok(Fixture::new(Arc::new(PanicsOnLoad::default())))
    }
}

struct Memory;

#[async_trait]
impl Factory for Memory {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
    }
    async fn fixture(&self) -> std::result::Result<Fixture, Skip> {
        Ok(Fixture::new(Arc::new(MemoryStore::new())))
    }
}

/// Arguments for a nested run whose report goes to a file, so its summary
/// line does not mix with this test binary's own.
fn quiet() -> Arguments {
    let log =
        std::env::temp_dir().join(format!("ts-conformance-nested-{}.log", std::process::id()));
    Arguments {
        quiet: true,
        test_threads: Some(1),
        logfile: Some(log.to_string_lossy().into_owned()),
        ..Arguments::default()
    }
}

#[test]
fn every_case_is_a_separately_named_trial() {
    let all = trials("mem", Memory);
    let names: BTreeSet<_> = all.iter().map(|t| t.name().to_owned()).collect();
    assert_eq!(names.len(), cases::all().len());
    assert!(names.contains("mem::create_never_overwrites"));
    assert!(names.iter().all(|n| n.starts_with("mem::")));
}

#[test]
fn a_missing_service_is_ignored_with_its_reason_or_fails_under_ci() {
    let caps = Missing.capabilities();
    let runnable = cases::all()
        .iter()
        .filter(|c| c.need.unmet(&caps).is_none())
        .count() as u64;
    let total = cases::all().len() as u64;
    let verdict =
        tiered_sessions_conformance::libtest_mimic::run(&quiet(), trials("nowhere", Missing));
    assert_eq!(verdict.num_passed, 0, "a skipped case was reported passed");
    if in_ci() {
        assert_eq!(verdict.num_failed, runnable);
        assert_eq!(verdict.num_ignored, total - runnable);
    } else {
        assert_eq!(verdict.num_failed, 0);
        assert_eq!(verdict.num_ignored, total);
    }
}

#[tokio::test]
async fn the_skip_reason_and_the_unmet_capability_are_reported() {
    let round_trip = cases::by_name("round_trip").unwrap();
    match run_case(&round_trip, &Missing).await {
        CaseOutcome::Ignored(why) | CaseOutcome::Failed(why) => {
            assert!(why.contains("TS_NOWHERE_URL is not set"), "{why}");
        }
        CaseOutcome::Passed => panic!("a skipped case passed"),
    }
    let quick = cases::by_name("quick_save_reaches_the_cache_only").unwrap();
    assert_eq!(
        run_case(&quick, &Memory).await,
        CaseOutcome::Ignored("the driver has no cache tier".into())
    );
    // A whole-store fixture without the hook a case needs: ignored at run
    // time, with the reason naming the builder method to call.
    let keys = cases::by_name("store_keys_never_contain_the_raw_id").unwrap();
    let out = run_case(&keys, &Memory).await;
    assert!(
        matches!(&out, CaseOutcome::Ignored(why) if why.contains("with_key_lister")),
        "{out:?}"
    );
    // A tiered fixture without it fails under CI=true, like a missing service.
    let out = run_case(&keys, &HooklessTiered).await;
    let named = |why: &str| why.contains("with_key_lister");
    if in_ci() {
        assert!(
            matches!(&out, CaseOutcome::Failed(why) if named(why)),
            "{out:?}"
        );
    } else {
        assert!(
            matches!(&out, CaseOutcome::Ignored(why) if named(why)),
            "{out:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_driver_fails_its_case_and_the_run_goes_on() {
    let round_trip = cases::by_name("round_trip").unwrap();
    let out = run_case(&round_trip, &Panicky).await;
    assert!(
        matches!(&out, CaseOutcome::Failed(why) if why.contains("driver bug in load")),
        "{out:?}"
    );
    let delete = cases::by_name("delete_twice_is_fine").unwrap();
    assert!(run_case(&delete, &Memory).await == CaseOutcome::Passed);
}
