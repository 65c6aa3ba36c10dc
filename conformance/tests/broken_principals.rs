//! Each `principals` case fails a driver whose principal index breaks the
//! clause it checks, and only the `principals` cases do; a store with no
//! index shows them ignored with the reason, never passed.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use tiered_sessions::{
    CleanupBatch, CleanupCursor, Durability, IndexEntry, PrincipalHash, PrincipalIndex,
    PrincipalSessions, Record, Result, Revocation, Revocations, SessionHandle, SessionStore,
    StoreKey, UnixTime, async_trait,
};
use tiered_sessions_conformance::{
    Capabilities, CaseOutcome, Factory, Fixture, Skip, cases, run_all,
};
use tiered_sessions_memory::MemoryStore;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flaw {
    /// No principal index at all.
    NoIndex,
    /// Revocations are acknowledged and dropped.
    DropsRevocations,
    /// A login's write does not report the revocations standing after it.
    StaleAfterPut,
    /// The cleanup deletes nothing.
    NeverCleans,
}

#[derive(Debug)]
struct Broken {
    inner: MemoryStore,
    flaw: Flaw,
}

#[async_trait]
impl SessionStore for Broken {
    fn max_record_bytes(&self) -> usize {
        self.inner.max_record_bytes()
    }
    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
        self.inner.load(key, now).await
    }
    async fn create(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()> {
        self.inner.create(key, record, now).await
    }
    async fn save(
        &self,
        key: &StoreKey,
        r: &Record,
        v: u64,
        d: Durability,
        now: UnixTime,
    ) -> Result<()> {
        self.inner.save(key, r, v, d, now).await
    }
    async fn delete(&self, key: &StoreKey, now: UnixTime) -> Result<()> {
        SessionStore::delete(&self.inner, key, now).await
    }
    async fn delete_unless_newer(&self, key: &StoreKey, v: u64, now: UnixTime) -> Result<()> {
        self.inner.delete_unless_newer(key, v, now).await
    }
    async fn touch(&self, key: &StoreKey, e: UnixTime, l: UnixTime, now: UnixTime) -> Result<()> {
        SessionStore::touch(&self.inner, key, e, l, now).await
    }
    async fn delete_expired(
        &self,
        now: UnixTime,
        max: usize,
        c: Option<CleanupCursor>,
    ) -> Result<CleanupBatch> {
        self.inner.delete_expired(now, max, c).await
    }
    fn principal_index(&self) -> Option<&dyn PrincipalIndex> {
        (self.flaw != Flaw::NoIndex).then_some(self as &dyn PrincipalIndex)
    }
}

#[async_trait]
impl PrincipalIndex for Broken {
    async fn put_session(
        &self,
        p: &PrincipalHash,
        e: &IndexEntry,
        now: UnixTime,
    ) -> Result<Revocations> {
        let r = self.inner.put_session(p, e, now).await?;
        Ok(match self.flaw {
            Flaw::StaleAfterPut => Revocations::default(),
            _ => r,
        })
    }
    async fn load_principal(&self, p: &PrincipalHash, now: UnixTime) -> Result<PrincipalSessions> {
        self.inner.load_principal(p, now).await
    }
    async fn revocations(&self, p: &PrincipalHash, now: UnixTime) -> Result<Revocations> {
        self.inner.revocations(p, now).await
    }
    async fn remove_session(
        &self,
        p: &PrincipalHash,
        h: &SessionHandle,
        now: UnixTime,
    ) -> Result<()> {
        self.inner.remove_session(p, h, now).await
    }
    async fn revoke(
        &self,
        p: &PrincipalHash,
        r: &Revocation,
        keep: UnixTime,
        now: UnixTime,
    ) -> Result<()> {
        match self.flaw {
            Flaw::DropsRevocations => Ok(()),
            _ => self.inner.revoke(p, r, keep, now).await,
        }
    }
    async fn delete_expired_index(
        &self,
        now: UnixTime,
        max: usize,
        c: Option<CleanupCursor>,
    ) -> Result<CleanupBatch> {
        match self.flaw {
            Flaw::NeverCleans => Ok(CleanupBatch::default()),
            _ => self.inner.delete_expired_index(now, max, c).await,
        }
    }
}

struct With(Flaw);

#[async_trait]
impl Factory for With {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
    }
    async fn fixture(&self) -> std::result::Result<Fixture, Skip> {
        Ok(Fixture::new(Arc::new(Broken {
            inner: MemoryStore::new(),
            flaw: self.0,
        })))
    }
}

async fn outcomes(flaw: Flaw) -> (BTreeSet<&'static str>, BTreeSet<&'static str>) {
    let (mut failed, mut ignored) = (BTreeSet::new(), BTreeSet::new());
    for (name, outcome) in run_all(&With(flaw)).await {
        match outcome {
            CaseOutcome::Failed(why) => {
                eprintln!("{flaw:?} {name}: {why}");
                failed.insert(name);
            }
            CaseOutcome::Ignored(_) => {
                ignored.insert(name);
            }
            CaseOutcome::Passed => {}
        }
    }
    (failed, ignored)
}

fn principal_cases() -> BTreeSet<&'static str> {
    cases::all()
        .into_iter()
        .filter(|c| c.group == "principals")
        .map(|c| c.name)
        .collect()
}

#[tokio::test]
async fn a_store_without_an_index_shows_the_cases_ignored() {
    let (failed, ignored) = outcomes(Flaw::NoIndex).await;
    assert!(failed.is_empty(), "{failed:?}");
    assert!(principal_cases().is_subset(&ignored), "{ignored:?}");
}

#[tokio::test]
async fn dropped_revocations_fail_every_revocation_case() {
    let (failed, _) = outcomes(Flaw::DropsRevocations).await;
    for name in [
        "principals_revoke_one",
        "principals_revoke_others",
        "principals_revoke_all",
        "principals_logout_refuses_copied_cookie",
        "principals_login_racing_revoke_all_leaves_nothing",
    ] {
        assert!(failed.contains(name), "{name} passed: {failed:?}");
    }
    assert!(failed.is_subset(&principal_cases()), "{failed:?}");
}

#[tokio::test]
async fn a_login_blind_to_revocations_fails_the_race() {
    let (failed, _) = outcomes(Flaw::StaleAfterPut).await;
    assert!(
        failed.contains("principals_login_racing_revoke_all_leaves_nothing"),
        "{failed:?}"
    );
    assert!(failed.is_subset(&principal_cases()), "{failed:?}");
}

#[tokio::test]
async fn an_index_never_cleaned_fails_the_cleanup_case() {
    let (failed, _) = outcomes(Flaw::NeverCleans).await;
    assert_eq!(
        failed,
        BTreeSet::from(["principals_expired_sessions_absent_and_cleaned"])
    );
}
