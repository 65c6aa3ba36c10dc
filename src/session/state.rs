//! One request's state of its session: where it came from, what the browser
//! holds, the data, and what this request changed.

use crate::clock::UnixTime;
use crate::config::SessionConfig;
use crate::cookie::{CookieBody, CookieContents};
use crate::principal::binding::Binding;
use crate::record::Record;
use crate::session_id::{SessionId, StoreKey, StoreKeyHasher};
use crate::store::Durability;

use super::data::Data;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Origin {
    /// No session yet (none came with the request, it was rejected or unknown,
    /// or this request gave it a new id that is not stored yet).
    New,
    /// A cookie-only session.
    Cookie,
    /// A stored session at this version.
    Stored(u64),
}

/// A stored record this request removes once its own session is in place.
pub(super) struct Doomed {
    pub(super) key: StoreKey,
    /// `Some(v)`: the session lives on under another id or in the cookie, so
    /// the record is retired only if no other request saved past `v` (else
    /// that request's change is carried over first). `None`: logout, deleted
    /// whatever it holds.
    pub(super) version: Option<u64>,
}

/// What the browser's cookie says, as the request carried it.
#[derive(Clone)]
pub(super) struct Issued {
    pub(super) id: SessionId,
    pub(super) stored: bool,
    pub(super) last_active: UnixTime,
}

pub(super) struct Active {
    pub(super) id: Option<SessionId>,
    pub(super) origin: Origin,
    /// The data, with the keys this request changed: on a conflict exactly
    /// these are re-applied.
    pub(super) data: Data,
    pub(super) cleared: Option<Durability>,
    pub(super) created_at: UnixTime,
    pub(super) last_active: UnixTime,
    pub(super) expires_at: UnixTime,
    /// The cookie the request came with, if it was accepted.
    pub(super) issued: Option<Issued>,
    /// A new id must be written even without data changes (regenerate).
    pub(super) force_write: bool,
    pub(super) doomed: Vec<Doomed>,
    pub(super) terminated: bool,
    /// The cookie must be re-issued even if nothing changed (old signing key,
    /// or encryption turned on or off since it was issued).
    pub(super) reissue: bool,
    /// The last id whose store key was derived, with that key: one HMAC per
    /// id, however often a request needs it (load, save, retire).
    key_cache: Option<(SessionId, StoreKey)>,
    /// The principal the session is bound to (also kept in the data, under
    /// the reserved key, so it travels with the session).
    pub(super) binding: Option<Binding>,
    /// The principal index must be told where the session is and when it
    /// expires, after the save: it was bound, moved, or its times changed.
    pub(super) index_due: bool,
    /// Bindings this request ended (logout, a binding to another principal),
    /// with the creation time of their session.
    pub(super) unbound: Vec<(Binding, UnixTime)>,
}

impl Active {
    /// The cookie that carries this session under `id`.
    pub(super) fn contents(&self, id: SessionId, body: CookieBody) -> CookieContents {
        CookieContents {
            id,
            expires_at: self.expires_at,
            created_at: self.created_at,
            last_active: self.last_active,
            body,
        }
    }

    pub(super) fn fresh(now: UnixTime, config: &SessionConfig) -> Self {
        Active {
            id: None,
            origin: Origin::New,
            data: Data::empty(),
            cleared: None,
            created_at: now,
            last_active: now,
            expires_at: config.expiry(now, now),
            issued: None,
            force_write: false,
            doomed: Vec::new(),
            terminated: false,
            reissue: false,
            key_cache: None,
            binding: None,
            index_due: false,
            unbound: Vec::new(),
        }
    }

    /// The store key of `id`, derived once and remembered.
    pub(super) fn store_key(&mut self, hasher: &StoreKeyHasher, id: &SessionId) -> StoreKey {
        if let Some((cached, key)) = &self.key_cache {
            if cached == id {
                return key.clone();
            }
        }
        let key = hasher.key_for(id);
        self.key_cache = Some((id.clone(), key.clone()));
        key
    }

    /// Remember `key` as the store key of `id` (derived while loading).
    pub(super) fn remember_key(&mut self, id: SessionId, key: StoreKey) {
        self.key_cache = Some((id, key));
    }

    pub(super) fn dirty(&self) -> bool {
        self.force_write || self.cleared.is_some() || self.data.has_changes()
    }

    /// Durable if anything in this request asked for it: a quick change never
    /// downgrades a durable one.
    pub(super) fn durability(&self) -> Durability {
        let mut d = self.cleared.unwrap_or(Durability::Quick);
        if self.force_write {
            d = Durability::Durable;
        }
        self.data.changes().fold(d, |acc, c| acc.max(c.durability))
    }

    /// Doom the stored record under `key`, once.
    pub(super) fn doom(&mut self, key: StoreKey, version: Option<u64>) {
        if !self.doomed.iter().any(|d| d.key == key) {
            self.doomed.push(Doomed { key, version });
        }
    }

    /// Whether the browser's cookie already points at the stored record under
    /// the current id, so a save needs no new cookie unless its expiry is due
    /// for a refresh.
    pub(super) fn browser_holds_stored_id(&self) -> bool {
        matches!(
            (&self.issued, &self.id),
            (Some(i), Some(id)) if i.stored && i.id == *id
        )
    }

    /// Rebuild the data from a newer record plus this request's own changes
    /// (and its `clear()`), keeping where this request writes it.
    pub(super) fn merge_onto(&mut self, latest: Record) {
        let base = self.cleared.is_none().then_some(latest.data);
        self.data.rebase(base);
        self.created_at = latest.created_at;
    }

    /// [`Active::merge_onto`] the latest version of the record this request
    /// saves to, and save over that version next.
    pub(super) fn rebase(&mut self, latest: Record) {
        let version = latest.version;
        self.merge_onto(latest);
        self.origin = Origin::Stored(version);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_key_follows_the_id() {
        let config = SessionConfig::builder([[4u8; 32]]).build().unwrap();
        let hasher = &config.store_keys;
        let mut active = Active::fresh(0, &config);
        let (a, b) = (
            SessionId::generate().unwrap(),
            SessionId::generate().unwrap(),
        );
        for id in [&a, &a, &b, &a] {
            assert_eq!(active.store_key(hasher, id), hasher.key_for(id));
        }
    }
}
