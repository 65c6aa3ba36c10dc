//! A forced id collision in the real backend.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::http::StatusCode;
use tiered_sessions::{
    CleanupBatch, CleanupCursor, Durability, Record, Result, SessionManager, SessionStore,
    StoreKey, UnixTime, async_trait,
};

use crate::common::{Jar, app};
use crate::fixture::Fixture;
use crate::store_attacks::id_of;

/// Forces an id collision: the next `collisions` creates go to the victim's
/// key in the real backend, which must answer "already exists".
#[derive(Debug)]
struct Collide {
    inner: Arc<dyn SessionStore>,
    victim: StoreKey,
    collisions: AtomicU32,
}

#[async_trait]
impl SessionStore for Collide {
    fn max_record_bytes(&self) -> usize {
        self.inner.max_record_bytes()
    }
    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>> {
        self.inner.load(key, now).await
    }
    async fn create(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<()> {
        let collide = self
            .collisions
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let key = if collide { &self.victim } else { key };
        self.inner.create(key, record, now).await
    }
    async fn save(
        &self,
        key: &StoreKey,
        record: &Record,
        expected: u64,
        durability: Durability,
        now: UnixTime,
    ) -> Result<()> {
        self.inner
            .save(key, record, expected, durability, now)
            .await
    }
    async fn delete(&self, key: &StoreKey, now: UnixTime) -> Result<()> {
        self.inner.delete(key, now).await
    }
    async fn delete_unless_newer(&self, key: &StoreKey, v: u64, now: UnixTime) -> Result<()> {
        self.inner.delete_unless_newer(key, v, now).await
    }
    async fn touch(&self, k: &StoreKey, e: UnixTime, l: UnixTime, now: UnixTime) -> Result<()> {
        self.inner.touch(k, e, l, now).await
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

/// tower-sessions #181 / #188 (a new session whose id already existed
/// overwrote the other session): with a forced collision in the real
/// backend, the new session retries under a fresh id, or fails cleanly; the
/// victim's record is never written.
pub async fn attack_10_id_collision_never_overwrites_another_session(f: Fixture) {
    let manager = f.manager(|b| b.cookie_only_threshold(0));
    let victim_app = app(manager.clone());
    let mut victim = Jar::default();
    victim.send(&victim_app, "POST", "/set/user/victim").await;
    let victim_id = id_of(&mut victim, &victim_app).await;
    let victim_key = manager.store_key(&victim_id);
    let before = manager.load_by_id(&victim_id).await.unwrap().unwrap();
    for collisions in [1, u32::MAX] {
        let store = Arc::new(Collide {
            inner: f.store.clone(),
            victim: victim_key.clone(),
            collisions: AtomicU32::new(collisions),
        });
        let config = manager.config().clone();
        let attacker_app = app(SessionManager::with_shared_store(config, store));
        let mut attacker = Jar::default();
        let r = attacker.send(&attacker_app, "POST", "/set/cart/1").await;
        if collisions == 1 {
            assert_eq!(r.status, StatusCode::OK);
            assert_eq!(
                attacker.send(&attacker_app, "GET", "/get/cart").await.body,
                "1"
            );
            assert_eq!(
                attacker.send(&attacker_app, "GET", "/get/user").await.body,
                "none"
            );
            assert_ne!(id_of(&mut attacker, &attacker_app).await, victim_id);
        } else {
            assert!(r.status.is_server_error(), "{}", r.status);
            assert!(r.body.is_empty() && r.set_cookie.is_empty());
        }
        let after = manager.load_by_id(&victim_id).await.unwrap().unwrap();
        assert!(after == before, "the victim's record was written");
    }
    assert_eq!(
        victim.send(&victim_app, "GET", "/get/user").await.body,
        "victim"
    );
    assert_eq!(
        victim.send(&victim_app, "GET", "/get/cart").await.body,
        "none"
    );
}
