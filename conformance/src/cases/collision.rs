//! A new session's id that is already taken in the store: the driver refuses
//! the `create` and the session takes a fresh id, leaving the other alone.

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use tiered_sessions::{
    CleanupBatch, CleanupCursor, Durability, Record, Result, SessionId, SessionStore, StoreKey,
    UnixTime,
};

use super::browser::Browser;
use super::check::same;
use super::sample;
use crate::case_error::{CaseError, During, ensure};
use crate::web::{TowerApp, WebApp};
use crate::{Capabilities, Fixture};

/// The driver's store, except that the first `create` first plants `victim`
/// under the same key (through the driver), as if another session had drawn
/// the same id a moment earlier: the driver itself must then refuse the
/// session's `create`.
#[derive(Debug)]
struct Colliding {
    inner: Arc<dyn SessionStore>,
    victim: Record,
    planted: Mutex<Option<StoreKey>>,
}

#[async_trait]
impl SessionStore for Colliding {
    fn max_record_bytes(&self) -> usize {
        self.inner.max_record_bytes()
    }

    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
        self.inner.load(key, now).await
    }

    async fn create(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()> {
        let first = {
            let mut planted = self.planted.lock().unwrap_or_else(PoisonError::into_inner);
            planted.is_none() && planted.replace(key.clone()).is_none()
        };
        if first {
            self.inner.create(key, &self.victim, now).await?;
        }
        self.inner.create(key, record, now).await
    }

    async fn save(
        &self,
        key: &StoreKey,
        record: &Record,
        expected_version: u64,
        durability: Durability,
        now: UnixTime,
    ) -> Result<()> {
        self.inner
            .save(key, record, expected_version, durability, now)
            .await
    }

    async fn delete(&self, key: &StoreKey, now: UnixTime) -> Result<()> {
        self.inner.delete(key, now).await
    }

    async fn delete_unless_newer(
        &self,
        key: &StoreKey,
        expected_version: u64,
        now: UnixTime,
    ) -> Result<()> {
        self.inner
            .delete_unless_newer(key, expected_version, now)
            .await
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: UnixTime,
        last_active: UnixTime,
        now: UnixTime,
    ) -> Result<()> {
        self.inner.touch(key, expires_at, last_active, now).await
    }

    async fn delete_expired(
        &self,
        now: UnixTime,
        max: usize,
        cursor: Option<CleanupCursor>,
    ) -> Result<CleanupBatch> {
        self.inner.delete_expired(now, max, cursor).await
    }
}

/// A new session whose id is already taken (the driver answers
/// `AlreadyExists` to its `create`) gets a fresh id; the session that held the
/// id is untouched and the new one holds its data.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_id_collision_takes_a_fresh_id(
    fx: &Fixture,
    caps: &Capabilities,
) -> Result<(), CaseError> {
    http_id_collision_takes_a_fresh_id_on::<TowerApp>(fx, caps).await
}

/// [`http_id_collision_takes_a_fresh_id`] on the web framework `A`.
///
/// # Errors
/// A [`CaseError`] naming the broken clause.
pub async fn http_id_collision_takes_a_fresh_id_on<A: WebApp>(
    fx: &Fixture,
    _caps: &Capabilities,
) -> Result<(), CaseError> {
    let fw = A::FRAMEWORK;
    let clock = sample::clock();
    let victim = sample::record(7, sample::now(), 600, &[("owner", b"victim")]);
    let store = Arc::new(Colliding {
        inner: fx.store.clone(),
        victim: victim.clone(),
        planted: Mutex::new(None),
    });
    let manager = sample::manager(sample::config(&clock), store.clone())?;
    let mut b = Browser::<A>::new(manager.clone()).await?;
    b.ok("/set/user/alice").await?;
    let planted = store
        .planted
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .ok_or_else(|| {
            CaseError::violation(format!("{fw}: the new session never called create"))
        })?;
    let text = b.ok("/id").await?;
    let id = SessionId::parse(&text)
        .map_err(|_| CaseError::violation(format!("{fw}: /id answered {text:?}")))?;
    ensure!(
        manager.store_key(&id) != planted,
        "{fw}: the session kept the id that was already taken"
    );
    let got = fx
        .store
        .load(&planted, sample::now())
        .await
        .during("loading the session that held the id")?;
    same(
        got.as_ref(),
        Some(&victim),
        &format!("{fw}: the session that held the id"),
    )?;
    let user = b.ok("/read/user").await?;
    ensure!(
        user == "alice",
        "{fw}: the new session reads user = {user:?}"
    );
    Ok(())
}
