//! [`MemoryStore`]'s principal index: per principal, its bound sessions'
//! entries and its revocations, in one map beside the records.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use tiered_sessions::{
    CleanupBatch, CleanupCursor, Error, IndexEntry, PrincipalHash, PrincipalIndex,
    PrincipalSessions, Result, Revocation, Revocations, SessionHandle, UnixTime,
};

use crate::store::MemoryStore;

/// One principal's index entries and revocations.
#[derive(Debug, Default)]
struct Principal {
    sessions: HashMap<SessionHandle, IndexEntry>,
    revocations: Revocations,
    /// When the revocations may go (the latest `keep_until` given).
    keep_until: UnixTime,
}

impl Principal {
    /// Drop what lapsed at `now`; returns how many session entries went.
    fn prune(&mut self, now: UnixTime) -> u64 {
        let before = self.sessions.len();
        self.sessions.retain(|_, e| !e.is_expired(now));
        self.revocations.denied.retain(|(_, until)| *until > now);
        if self.keep_until <= now {
            self.revocations = Revocations::default();
        }
        (before - self.sessions.len()) as u64
    }

    fn is_empty(&self) -> bool {
        self.sessions.is_empty()
            && self.revocations.not_before == 0
            && self.revocations.denied.is_empty()
    }

    fn live_revocations(&self, now: UnixTime) -> Revocations {
        if self.keep_until <= now {
            return Revocations::default();
        }
        let mut r = self.revocations.clone();
        r.denied.retain(|(_, until)| *until > now);
        r
    }
}

/// The principals of one store, ordered by hash so cleanup can resume.
#[derive(Default)]
pub(crate) struct Principals {
    map: BTreeMap<String, Principal>,
}

// Entries hold descriptions and store keys: `Debug` shows only how many.
impl std::fmt::Debug for Principals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principals")
            .field("count", &self.map.len())
            .finish()
    }
}

impl Principals {
    /// The entry of `principal`, making room for a new one if the store's
    /// capacity is reached (principals with nothing live left go first).
    fn entry(
        &mut self,
        principal: &PrincipalHash,
        capacity: usize,
        now: UnixTime,
    ) -> Result<&mut Principal> {
        let key = principal.as_str();
        if !self.map.contains_key(key) && self.map.len() >= capacity {
            self.map.retain(|_, p| {
                p.prune(now);
                !p.is_empty()
            });
            if self.map.len() >= capacity {
                return Err(Error::backend(
                    "memory",
                    "the principal index is full (as many principals as the store's capacity)",
                ));
            }
        }
        Ok(self.map.entry(key.to_owned()).or_default())
    }
}

impl MemoryStore {
    fn principals(&self) -> MutexGuard<'_, Principals> {
        // Every update is a few inserts and removes that leave the map
        // consistent, so a panic elsewhere does not poison its meaning.
        self.principals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl PrincipalIndex for MemoryStore {
    async fn put_session(
        &self,
        principal: &PrincipalHash,
        entry: &IndexEntry,
        now: UnixTime,
    ) -> Result<Revocations> {
        let mut all = self.principals();
        let p = all.entry(principal, self.capacity(), now)?;
        p.prune(now);
        if !entry.is_expired(now) {
            p.sessions.insert(entry.handle, entry.clone());
        }
        Ok(p.live_revocations(now))
    }

    async fn load_principal(
        &self,
        principal: &PrincipalHash,
        now: UnixTime,
    ) -> Result<PrincipalSessions> {
        let all = self.principals();
        let Some(p) = all.map.get(principal.as_str()) else {
            return Ok(PrincipalSessions::default());
        };
        Ok(PrincipalSessions {
            sessions: p
                .sessions
                .values()
                .filter(|e| !e.is_expired(now))
                .cloned()
                .collect(),
            revocations: p.live_revocations(now),
        })
    }

    async fn revocations(&self, principal: &PrincipalHash, now: UnixTime) -> Result<Revocations> {
        let all = self.principals();
        Ok(all
            .map
            .get(principal.as_str())
            .map(|p| p.live_revocations(now))
            .unwrap_or_default())
    }

    async fn remove_session(
        &self,
        principal: &PrincipalHash,
        handle: &SessionHandle,
        _now: UnixTime,
    ) -> Result<()> {
        if let Some(p) = self.principals().map.get_mut(principal.as_str()) {
            p.sessions.remove(handle);
        }
        Ok(())
    }

    async fn revoke(
        &self,
        principal: &PrincipalHash,
        revocation: &Revocation,
        keep_until: UnixTime,
        now: UnixTime,
    ) -> Result<()> {
        let mut all = self.principals();
        let p = all.entry(principal, self.capacity(), now)?;
        p.prune(now);
        match revocation {
            Revocation::AllBefore { at, except } => {
                if *at >= p.revocations.not_before {
                    p.revocations.not_before = *at;
                    p.revocations.except = *except;
                }
            }
            Revocation::One { handle } => {
                p.revocations.denied.retain(|(h, _)| h != handle);
                p.revocations.denied.push((*handle, keep_until));
            }
        }
        p.keep_until = p.keep_until.max(keep_until);
        Ok(())
    }

    async fn delete_expired_index(
        &self,
        now: UnixTime,
        max: usize,
        cursor: Option<CleanupCursor>,
    ) -> Result<CleanupBatch> {
        let max = max.max(1) as u64;
        let mut all = self.principals();
        let after = cursor.map(|c| c.0);
        let keys: Vec<String> = match &after {
            Some(a) => all
                .map
                .range::<String, _>((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded))
                .map(|(k, _)| k.clone())
                .collect(),
            None => all.map.keys().cloned().collect(),
        };
        let mut deleted = 0;
        for (i, key) in keys.iter().enumerate() {
            if let Some(p) = all.map.get_mut(key) {
                deleted += p.prune(now);
                if p.is_empty() {
                    all.map.remove(key);
                }
            }
            if deleted >= max && i + 1 < keys.len() {
                return Ok(CleanupBatch {
                    deleted,
                    next: Some(CleanupCursor(key.clone())),
                });
            }
        }
        Ok(CleanupBatch {
            deleted,
            next: None,
        })
    }
}

/// The mutex the store keeps its principals in.
pub(crate) type PrincipalsLock = Mutex<Principals>;
