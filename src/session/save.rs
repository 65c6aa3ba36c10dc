//! The once-per-request save: write the session where it belongs, re-apply
//! this request's changes when another request saved first, and retire the
//! records it replaced without losing what others wrote to them.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::UnixTime;
use crate::cookie::{CookieBody, CookieContents};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::record::Record;
use crate::session_id::SessionId;
use crate::store::SessionStore;

use super::refresh::Refresh;
use super::set_cookie::{ResponseCookies, removals, set_cookies};
use super::state::{Active, Origin};
use super::{Session, State};
use crate::codec::EncodedData;

/// How many fresh ids a new session tries when `create` reports that the id
/// is taken. With 256-bit ids a single collision already means a broken
/// random source or a hostile store; a collision is never merged into the
/// record that holds the id.
const MAX_ID_ATTEMPTS: usize = 4;

pub(super) enum Written {
    Cookie(CookieContents),
    Remove,
    Nothing,
}

impl Session {
    /// [`Session::finish`] without awaiting anything, when the save needs no
    /// store I/O (a cookie session, a read within the touch interval, a new
    /// session that stays in the cookie): no future to box, no lock to wait
    /// for. `None`, with nothing changed, when the store is needed (or the
    /// state is locked elsewhere): then use the async path.
    pub(crate) fn finish_without_store(&self, status: u16) -> Option<Result<ResponseCookies>> {
        let mut state = self.inner.state.try_lock().ok()?;
        let State::Ready(active) = &mut *state else {
            return Some(Ok(ResponseCookies::default()));
        };
        let config = &self.inner.ctx.config;
        if status >= 500 && !config.save_on_server_error {
            return Some(Ok(ResponseCookies::default()));
        }
        let stored = self.inner.ctx.store.is_some();
        if stored && !active.doomed.is_empty() {
            return None;
        }
        if !active.unbound.is_empty()
            || (active.binding.is_some() && self.index_work_due(active, config.clock.now()))
        {
            return None;
        }
        let stored_origin = matches!(active.origin, Origin::Stored(_));
        if active.id.is_none() && active.data.is_empty() {
            let written = Self::nothing_left(active);
            return Some(self.render(written, config.clock.now()));
        }
        let written = if active.dirty() {
            if stored && stored_origin {
                return None;
            }
            let encoded = self.cookie_fit(active)?;
            let now = config.clock.now();
            self.write_cookie(active, now, encoded).map(|w| (w, now))
        } else {
            let now = config.clock.now();
            if stored && stored_origin && self.refresh_due(active, now) {
                return None;
            }
            match self.refresh(active, now) {
                Refresh::Done(written) => Ok((written, now)),
                Refresh::Touch(_) => return None,
            }
        };
        Some(written.and_then(|(written, now)| self.render(written, now)))
    }

    pub(super) async fn finish_touched(&self, status: u16) -> Result<ResponseCookies> {
        let mut state = self.inner.state.lock().await;
        let State::Ready(active) = &mut *state else {
            return Ok(ResponseCookies::default());
        };
        let ctx = &self.inner.ctx;
        let config = &ctx.config;
        if status >= 500 && !config.save_on_server_error {
            return Ok(ResponseCookies::default());
        }
        let now = config.clock.now();
        let written = if active.id.is_none() && active.data.is_empty() {
            Self::nothing_left(active)
        } else if active.dirty() {
            self.write(active, now).await?
        } else {
            match self.refresh(active, now) {
                Refresh::Done(written) => written,
                Refresh::Touch(id) => self.touch(active, id, now).await?,
            }
        };
        // What is left is a logout's: deleted whatever the records hold.
        if let Some(store) = ctx.store.as_ref() {
            for doomed in active.doomed.drain(..) {
                store.delete(&doomed.key, now).await?;
            }
        }
        if Self::index_sync_due(active) {
            // Boxed: only bound sessions get here, and its state would
            // otherwise make every save's future larger.
            Box::pin(self.sync_index(active, now)).await?;
        }
        self.render(written, now)
    }

    /// No session is left: remove the cookie if this request ended one.
    fn nothing_left(active: &Active) -> Written {
        if active.terminated || !active.doomed.is_empty() {
            Written::Remove
        } else {
            Written::Nothing
        }
    }

    fn render(&self, written: Written, now: UnixTime) -> Result<ResponseCookies> {
        let config = &self.inner.ctx.config;
        let presence = || self.inner.cookies.presence(config);
        let set_cookie = match written {
            Written::Nothing => Vec::new(),
            Written::Remove => removals(config, presence(), true),
            Written::Cookie(contents) => set_cookies(config, &contents, presence(), now)?,
        };
        Ok(ResponseCookies { set_cookie })
    }

    /// The encoded data when it is kept in the cookie alone (it fits under
    /// the threshold, or there is no store), else `None`. Encoded once: a
    /// session that does not fit goes to the store, next to which one
    /// wasted encoding is noise.
    fn cookie_fit(&self, active: &Active) -> Option<EncodedData> {
        let ctx = &self.inner.ctx;
        let threshold = ctx.config.cookie_only_threshold;
        if ctx.store.is_some()
            && (threshold == 0 || (ctx.config.store_bound_sessions && active.binding.is_some()))
        {
            return None;
        }
        let encoded = active.data.to_encoded();
        (ctx.store.is_none() || encoded.len() <= threshold).then_some(encoded)
    }

    /// Write the session, then retire the records it replaced (an old id
    /// after `regenerate_id`, the server copy after a move into the cookie).
    /// A record another request saved to meanwhile is not retired blindly:
    /// its newer data is merged under this request's changes and written
    /// again, so the other request's change reaches the new place.
    async fn write(&self, active: &mut Active, now: UnixTime) -> Result<Written> {
        let max = self.inner.ctx.config.max_conflict_retries as usize;
        let mut carried = 0;
        loop {
            let written = self.write_once(active, now).await?;
            match self.retire(active, now).await {
                Ok(None) => return Ok(written),
                Ok(Some(latest)) if carried < max => {
                    carried += 1;
                    Metrics::inc(&self.inner.ctx.metrics.conflicts);
                    active.merge_onto(latest);
                    active.force_write = true;
                }
                Ok(Some(_)) => return Err(Error::Conflict),
                Err(e) => {
                    self.abandon(active, now).await;
                    return Err(e);
                }
            }
        }
    }

    async fn write_once(&self, active: &mut Active, now: UnixTime) -> Result<Written> {
        if let Some(encoded) = self.cookie_fit(active) {
            return self.write_cookie(active, now, encoded);
        }
        let store = self
            .inner
            .ctx
            .store
            .as_ref()
            .ok_or_else(|| Error::backend("session", "no store to write to"))?;
        if active.id.is_none() {
            active.id = Some(SessionId::generate()?);
            active.origin = Origin::New;
        }
        if active.origin == Origin::Cookie {
            // A cookie-only session entering the store takes a new id: older
            // copies of its cookie stay valid until they expire, and must never
            // name a stored record (one that a logout may already have ended).
            active.id = Some(SessionId::generate()?);
            active.origin = Origin::New;
            active.index_due |= active.binding.is_some();
        }
        self.stamp(active, now);
        self.store_once(store, active, now).await?;
        if active.browser_holds_stored_id() && !active.reissue && !self.cookie_due(active, now) {
            // The browser's cookie already names this record and its expiry
            // is recent: re-sending it would only widen the window in which a
            // late response replaces a newer cookie (after a regenerate).
            return Ok(Written::Nothing);
        }
        let id = current_id(active)?;
        Ok(Written::Cookie(active.contents(id, CookieBody::Stored)))
    }

    /// The session is active now: its expiry counts from here. A bound
    /// session's times move only when its index entry is rewritten too (at
    /// most once per `touch_interval`, like a read-only refresh), so the
    /// listing always shows its true expiry.
    pub(super) fn stamp(&self, active: &mut Active, now: UnixTime) {
        if active.binding.is_some() {
            if !self.index_work_due(active, now) {
                return;
            }
            active.index_due = true;
        }
        active.last_active = now;
        active.expires_at = self.inner.ctx.config.expiry(active.created_at, now);
    }

    /// Whether a bound session's save must rewrite its index entry: it was
    /// bound, moved or described, or its expiry is due for a refresh.
    fn index_work_due(&self, active: &Active, now: UnixTime) -> bool {
        active.index_due
            || now.saturating_sub(active.last_active)
                >= self.inner.ctx.config.touch_interval.as_secs()
    }

    /// Write the session into the cookie (it fits, or there is no store).
    /// A server copy it leaves is retired by the caller.
    ///
    /// # Errors
    /// [`Error::TooLarge`] when even the cookies cannot hold it; the random
    /// source failing for a new id.
    fn write_cookie(
        &self,
        active: &mut Active,
        now: UnixTime,
        encoded: EncodedData,
    ) -> Result<Written> {
        let config = &self.inner.ctx.config;
        let size = encoded.len();
        if crate::cookie::encoded_len(size, config.encrypt) > config.max_value_len() {
            return Err(Error::TooLarge {
                size,
                limit: config.cookie_only_threshold,
            });
        }
        if active.id.is_none() {
            active.id = Some(SessionId::generate()?);
            active.origin = Origin::New;
        }
        self.stamp(active, now);
        let id = current_id(active)?;
        if let Origin::Stored(version) = active.origin {
            // Moving back into the cookie: the server copy goes.
            let key = active.store_key(&config.store_keys, &id);
            active.doom(key, Some(version));
            active.index_due |= active.binding.is_some();
        }
        active.origin = Origin::Cookie;
        Ok(Written::Cookie(
            active.contents(id, CookieBody::Data(encoded)),
        ))
    }

    /// One save (or create) under the current id, re-applying this request's
    /// changes onto newer versions up to `max_conflict_retries` times.
    async fn store_once(
        &self,
        store: &Arc<dyn SessionStore>,
        active: &mut Active,
        now: UnixTime,
    ) -> Result<()> {
        let ctx = &self.inner.ctx;
        let config = &ctx.config;
        let durability = active.durability();
        let mut collisions = 0;
        let mut conflicts = 0;
        loop {
            let id = current_id(active)?;
            let key = active.store_key(&config.store_keys, &id);
            match active.origin {
                Origin::Stored(version) => {
                    let next = Record::next_version(version)?;
                    let record = record(active, next);
                    let saved = store.save(&key, &record, version, durability, now).await;
                    active.data.restore(record.data);
                    match saved {
                        Ok(()) => {
                            active.origin = Origin::Stored(next);
                            return Ok(());
                        }
                        Err(Error::Conflict) if conflicts < config.max_conflict_retries => {
                            // Someone else saved first: re-apply this request's
                            // changes onto their version and try again.
                            conflicts += 1;
                            Metrics::inc(&ctx.metrics.conflicts);
                            // Boxed: its timer would enlarge every save's future.
                            Box::pin(backoff(conflicts)).await;
                            match store.load(&key, now).await? {
                                Some(latest) => active.rebase(latest),
                                None => return Err(ended()),
                            }
                        }
                        // Deleted (logout, regenerate) or expired meanwhile: a
                        // late save never brings it back.
                        Err(Error::NotFound) => return Err(ended()),
                        Err(e) => return Err(e),
                    }
                }
                Origin::New | Origin::Cookie => {
                    let record = record(active, 1);
                    let created = store.create(&key, &record, now).await;
                    active.data.restore(record.data);
                    match created {
                        Ok(()) => {
                            active.origin = Origin::Stored(1);
                            return Ok(());
                        }
                        Err(Error::AlreadyExists) => {
                            collisions += 1;
                            if collisions >= MAX_ID_ATTEMPTS {
                                tracing::error!(
                                    attempts = collisions,
                                    "every new session id was already taken in the store; not saving"
                                );
                                return Err(Error::AlreadyExists);
                            }
                            tracing::warn!(
                                "a new session id was already taken in the store; trying another"
                            );
                            active.id = Some(SessionId::generate()?);
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }

    /// Retire the records this request's session replaced. Returns the latest
    /// version of one that another request saved past the version this request
    /// read (its change must be carried over first).
    ///
    /// # Errors
    /// [`Error::Ended`] when a replaced record is gone: another request ended
    /// that session (a logout), so this request must not carry it on.
    async fn retire(&self, active: &mut Active, now: UnixTime) -> Result<Option<Record>> {
        let Some(store) = self.inner.ctx.store.as_ref() else {
            return Ok(None);
        };
        let mut i = 0;
        while i < active.doomed.len() {
            let Some(version) = active.doomed[i].version else {
                i += 1;
                continue;
            };
            let key = active.doomed[i].key.clone();
            match store.delete_unless_newer(&key, version, now).await {
                Ok(()) => {
                    active.doomed.remove(i);
                }
                Err(Error::Conflict) => match store.load(&key, now).await? {
                    Some(latest) => {
                        active.doomed[i].version = Some(latest.version);
                        return Ok(Some(latest));
                    }
                    None => return Err(ended()),
                },
                Err(Error::NotFound) => return Err(ended()),
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// After a failed retire, best-effort removal of the record this request
    /// created under a new id: nobody will ever be sent its cookie.
    async fn abandon(&self, active: &mut Active, now: UnixTime) {
        let (Some(store), Some(id), Origin::Stored(_)) = (
            self.inner.ctx.store.as_ref(),
            active.id.clone(),
            active.origin,
        ) else {
            return;
        };
        if active.browser_holds_stored_id() {
            return;
        }
        let key = active.store_key(&self.inner.ctx.config.store_keys, &id);
        if let Err(e) = store.delete(&key, now).await {
            tracing::warn!(error = %e, "could not remove an abandoned session record; it expires with its TTL");
        }
    }
}

fn ended() -> Error {
    tracing::warn!("session was ended by another request; not saving this request's changes");
    Error::Ended
}

fn current_id(active: &Active) -> Result<SessionId> {
    active
        .id
        .clone()
        .ok_or_else(|| Error::backend("session", "no session id to write under"))
}

/// The record to save; its data is moved out of `active`, so hand it back
/// with `Data::restore` after the store call.
fn record(active: &mut Active, version: u64) -> Record {
    Record {
        data: active.data.take_data(),
        expires_at: active.expires_at,
        created_at: active.created_at,
        last_active: active.last_active,
        version,
    }
}

/// Random, growing pause between conflict retries, so writers that keep
/// colliding spread out instead of colliding again in lockstep.
async fn backoff(attempt: u32) {
    let mut r = [0u8; 2];
    if crate::rng::fill(&mut r).is_err() {
        return;
    }
    let cap_ms = (1u64 << attempt.min(6)).min(50);
    let jitter_us = u64::from(u16::from_le_bytes(r)) % (cap_ms * 1000);
    tokio::time::sleep(Duration::from_micros(jitter_us)).await;
}
