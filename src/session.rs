//! [`Session`]: the handle handlers use, and the once-per-request save.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use tracing::Instrument;

use crate::clock::UnixTime;
use crate::codec::{self, EncodedData};
use crate::config::{SameSite, SessionConfig, cookie_value_len};
use crate::cookie::{self as wire, CookieBody, CookieContents};
use crate::error::{Error, Result};
use crate::manager::SessionManager;
use crate::metrics::Metrics;
use crate::record::{Record, SessionData};
use crate::request_cookies::{Presence, RequestCookies};
use crate::session_id::{SessionId, StoreKey};
use crate::store::{Durability, SessionStore};

/// A request's session: lazily loaded, written at most once after the handler.
///
/// Clones share one state. Nothing is decoded or read from the store until a
/// method is called; a request whose handler never calls one costs nothing.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    manager: SessionManager,
    cookies: RequestCookies,
    /// Set by the first method call; lets `finish` skip even the lock when the
    /// handler never touched the session.
    touched: AtomicBool,
    state: Mutex<State>,
}

enum State {
    Unloaded,
    Ready(Box<Active>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// No session came with the request (or it was rejected / unknown).
    New,
    /// A cookie-only session.
    Cookie,
    /// A stored session at this version.
    Stored(u64),
}

#[derive(Clone, Copy)]
struct Change {
    durability: Durability,
    removed: bool,
}

/// The session's data. A cookie session stays encoded as the cookie carried
/// it, with this request's changes in an overlay: a read decodes one value and
/// a write re-encodes by merging, never building a map of every entry.
struct Data {
    base: Option<EncodedData>,
    /// Changed keys; `None` marks a removal. With no `base`, the whole data.
    overlay: BTreeMap<String, Option<Vec<u8>>>,
}

impl Data {
    fn decoded(map: SessionData) -> Self {
        Data {
            base: None,
            overlay: map.into_iter().map(|(k, v)| (k, Some(v))).collect(),
        }
    }

    fn encoded(base: EncodedData) -> Self {
        Data {
            base: Some(base),
            overlay: BTreeMap::new(),
        }
    }

    fn get(&self, key: &str) -> Option<&[u8]> {
        match self.overlay.get(key) {
            Some(v) => v.as_deref(),
            None => self.base.as_ref().and_then(|b| b.get(key)),
        }
    }

    fn insert(&mut self, key: &str, value: Vec<u8>) {
        self.overlay.insert(key.to_owned(), Some(value));
    }

    fn remove(&mut self, key: &str) -> bool {
        let had = self.get(key).is_some();
        if self.base.is_some() {
            self.overlay.insert(key.to_owned(), None);
        } else {
            self.overlay.remove(key);
        }
        had
    }

    fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .base
            .iter()
            .flat_map(|b| b.keys())
            .filter(|k| !self.overlay.contains_key(*k))
            .map(str::to_owned)
            .collect();
        keys.extend(
            self.overlay
                .iter()
                .filter(|(_, v)| v.is_some())
                .map(|(k, _)| k.clone()),
        );
        keys.sort_unstable();
        keys
    }

    fn is_empty(&self) -> bool {
        self.overlay.values().all(Option::is_none)
            && self
                .base
                .as_ref()
                .is_none_or(|b| b.keys().all(|k| self.overlay.contains_key(k)))
    }

    fn to_encoded(&self) -> EncodedData {
        match &self.base {
            Some(base) if self.overlay.is_empty() => base.clone(),
            Some(base) => base.merged(&self.overlay),
            None => EncodedData::encode_entries(
                self.overlay
                    .iter()
                    .filter_map(|(k, v)| Some((k.as_str(), v.as_deref()?))),
            ),
        }
    }

    fn to_map(&self) -> SessionData {
        let mut map = self
            .base
            .as_ref()
            .map(EncodedData::decode)
            .unwrap_or_default();
        for (k, v) in &self.overlay {
            match v {
                Some(v) => map.insert(k.clone(), v.clone()),
                None => map.remove(k),
            };
        }
        map
    }
}

struct Active {
    id: Option<SessionId>,
    origin: Origin,
    data: Data,
    /// Keys this request changed; on a conflict exactly these are re-applied.
    changes: BTreeMap<String, Change>,
    cleared: Option<Durability>,
    created_at: UnixTime,
    last_active: UnixTime,
    expires_at: UnixTime,
    /// A new id must be written even without data changes (regenerate).
    force_write: bool,
    /// Store records to delete once the response's session is in place.
    doomed: Vec<StoreKey>,
    terminated: bool,
    reissue: bool,
}

impl Active {
    fn fresh(now: UnixTime, config: &SessionConfig) -> Self {
        Active {
            id: None,
            origin: Origin::New,
            data: Data::decoded(SessionData::new()),
            changes: BTreeMap::new(),
            cleared: None,
            created_at: now,
            last_active: now,
            expires_at: config.expiry(now, now),
            force_write: false,
            doomed: Vec::new(),
            terminated: false,
            reissue: false,
        }
    }

    fn dirty(&self) -> bool {
        self.force_write || self.cleared.is_some() || !self.changes.is_empty()
    }

    /// Durable if anything in this request asked for it: a quick change never
    /// downgrades a durable one.
    fn durability(&self) -> Durability {
        let mut d = self.cleared.unwrap_or(Durability::Quick);
        if self.force_write {
            d = Durability::Durable;
        }
        self.changes
            .values()
            .fold(d, |acc, c| acc.max(c.durability))
    }

    fn mark(&mut self, key: &str, durability: Durability, removed: bool) {
        let entry = self.changes.entry(key.to_owned()).or_insert(Change {
            durability,
            removed,
        });
        entry.durability = entry.durability.max(durability);
        entry.removed = removed;
    }

    /// Rebuild the data from a newer stored record plus this request's own changes.
    fn rebase(&mut self, latest: Record) {
        let mut data = if self.cleared.is_some() {
            SessionData::new()
        } else {
            latest.data
        };
        for (key, change) in &self.changes {
            if change.removed {
                data.remove(key);
            } else if let Some(v) = self.data.get(key) {
                data.insert(key.clone(), v.to_vec());
            }
        }
        self.data = Data::decoded(data);
        self.created_at = latest.created_at;
        self.origin = Origin::Stored(latest.version);
    }
}

/// What [`Session::finish`] asks the framework to add to the response.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ResponseCookies {
    /// `Set-Cookie` header values, in order.
    pub set_cookie: Vec<String>,
}

impl ResponseCookies {
    /// Whether the response must carry session cookies (and then also
    /// `Vary: Cookie` and `Cache-Control: no-store`).
    pub fn is_empty(&self) -> bool {
        self.set_cookie.is_empty()
    }
}

enum Written {
    Cookie(CookieContents),
    Remove,
    Nothing,
}

impl Session {
    pub(crate) fn new(manager: SessionManager, cookies: RequestCookies) -> Self {
        Session {
            inner: Arc::new(Inner {
                manager,
                cookies,
                touched: AtomicBool::new(false),
                state: Mutex::new(State::Unloaded),
            }),
        }
    }

    /// Whether a handler called any method (and so a save may be due).
    pub(crate) fn was_touched(&self) -> bool {
        self.inner.touched.load(Ordering::Acquire)
    }

    fn config(&self) -> &SessionConfig {
        &self.inner.manager.inner.config
    }

    fn metrics(&self) -> &Metrics {
        &self.inner.manager.inner.metrics
    }

    fn store(&self) -> Option<&Arc<dyn SessionStore>> {
        self.inner.manager.inner.store.as_ref()
    }

    async fn active<'a>(&self, state: &'a mut State) -> Result<&'a mut Active> {
        self.inner.touched.store(true, Ordering::Release);
        if let State::Unloaded = state {
            let active = self
                .load()
                .instrument(tracing::debug_span!("session.load"))
                .await?;
            *state = State::Ready(Box::new(active));
        }
        match state {
            State::Ready(active) => Ok(active),
            State::Unloaded => Err(Error::backend("session", "session state not loaded")),
        }
    }

    async fn load(&self) -> Result<Active> {
        let config = self.config();
        let now = config.clock.now();
        let candidates = self.inner.cookies.candidates(config);
        let mut decoded = None;
        for value in &candidates {
            match wire::decode(
                &config.keys,
                &config.cookie_name,
                value,
                now,
                config.max_value_len(),
            ) {
                Ok(d) => {
                    decoded = Some(d);
                    break;
                }
                Err(reason) => {
                    Metrics::inc(&self.metrics().rejected_cookies);
                    tracing::warn!(cookie = %config.cookie_name, %reason, "session cookie rejected");
                }
            }
        }
        let Some(decoded) = decoded else {
            return Ok(Active::fresh(now, config));
        };
        let c = decoded.contents;
        // Timeouts are re-checked against the current settings, which may be
        // stricter than when the cookie was issued.
        let expires_at = c.expires_at.min(config.expiry(c.created_at, c.last_active));
        if expires_at <= now {
            tracing::warn!(cookie = %config.cookie_name, "session cookie past its timeout");
            return Ok(Active::fresh(now, config));
        }
        let mut active = Active {
            id: Some(c.id),
            origin: Origin::Cookie,
            data: Data::decoded(SessionData::new()),
            changes: BTreeMap::new(),
            cleared: None,
            created_at: c.created_at,
            last_active: c.last_active,
            expires_at,
            force_write: false,
            doomed: Vec::new(),
            terminated: false,
            reissue: decoded.signed_with_old_key,
        };
        match c.body {
            CookieBody::Data(data) => {
                Metrics::inc(&self.metrics().cookie_loads);
                active.data = Data::encoded(data);
            }
            CookieBody::Stored => {
                let Some(store) = self.store() else {
                    return Ok(Active::fresh(now, config));
                };
                Metrics::inc(&self.metrics().store_loads);
                let key = config
                    .store_keys
                    .key_for(active.id.as_ref().ok_or(Error::NotFound)?);
                match store.load(&key, now).await? {
                    Some(record) => {
                        let expires_at = record
                            .expires_at
                            .min(config.expiry(record.created_at, record.last_active));
                        if expires_at <= now {
                            return Ok(Active::fresh(now, config));
                        }
                        active.origin = Origin::Stored(record.version);
                        active.data = Data::decoded(record.data);
                        active.created_at = record.created_at;
                        active.last_active = record.last_active;
                        active.expires_at = expires_at;
                    }
                    // Unknown, expired or deleted: never adopt the id.
                    None => {
                        tracing::warn!(cookie = %config.cookie_name, "session cookie names no live stored session");
                        return Ok(Active::fresh(now, config));
                    }
                }
            }
        }
        Ok(active)
    }

    /// The value under `key`, or `None`.
    ///
    /// # Errors
    /// A store error while loading, or [`Error::Codec`] if the stored value is
    /// not a `T`.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        let mut state = self.inner.state.lock().await;
        let active = self.active(&mut state).await?;
        active
            .data
            .get(key)
            .map(|bytes| codec::decode_value(bytes))
            .transpose()
    }

    async fn put<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
        durability: Durability,
    ) -> Result<()> {
        let bytes = codec::encode_value(value)?;
        let mut state = self.inner.state.lock().await;
        let active = self.active(&mut state).await?;
        active.data.insert(key, bytes);
        active.mark(key, durability, false);
        Ok(())
    }

    /// Set `key` to `value`, saved durably after the handler.
    ///
    /// # Errors
    /// A store error while loading, or [`Error::Codec`] if `value` cannot be encoded.
    pub async fn insert<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<()> {
        self.put(key, value, Durability::Durable).await
    }

    /// Set `key` to `value` in the cache tier only (gae-sessions' `set_quick`):
    /// cheaper, lost if the cache loses it. Never downgrades a durable change
    /// made in the same request. Starts a session if there is none.
    ///
    /// # Errors
    /// As [`Session::insert`].
    pub async fn insert_quick<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<()> {
        self.put(key, value, Durability::Quick).await
    }

    async fn take(&self, key: &str, durability: Durability) -> Result<bool> {
        let mut state = self.inner.state.lock().await;
        let active = self.active(&mut state).await?;
        let had = active.data.remove(key);
        if had || active.changes.contains_key(key) {
            active.mark(key, durability, true);
        }
        Ok(had)
    }

    /// Remove `key`; returns whether it was there.
    ///
    /// # Errors
    /// A store error while loading.
    pub async fn remove(&self, key: &str) -> Result<bool> {
        self.take(key, Durability::Durable).await
    }

    /// Remove `key` in the cache tier only (gae-sessions' `pop_quick`).
    ///
    /// # Errors
    /// A store error while loading.
    pub async fn remove_quick(&self, key: &str) -> Result<bool> {
        self.take(key, Durability::Quick).await
    }

    /// Remove every key; the session and its id stay.
    ///
    /// # Errors
    /// A store error while loading.
    pub async fn clear(&self) -> Result<()> {
        let mut state = self.inner.state.lock().await;
        let active = self.active(&mut state).await?;
        active.data = Data::decoded(SessionData::new());
        active.changes.clear();
        active.cleared = Some(Durability::Durable);
        Ok(())
    }

    /// Give the session a new id, keeping its data; the old id stops working in
    /// every tier when the response is saved. Call it after login or any
    /// privilege change. Without a session it does nothing (a new session gets
    /// a fresh id anyway).
    ///
    /// # Errors
    /// A store error while loading, or the OS random source failing.
    pub async fn regenerate_id(&self) -> Result<()> {
        let mut state = self.inner.state.lock().await;
        let config = self.config();
        let active = self.active(&mut state).await?;
        let Some(old) = active.id.take() else {
            return Ok(());
        };
        if let Origin::Stored(_) = active.origin {
            active.doomed.push(config.store_keys.key_for(&old));
        }
        active.id = Some(SessionId::generate()?);
        active.origin = Origin::New;
        active.force_write = true;
        Ok(())
    }

    /// End the session (logout): its record is deleted from every tier and the
    /// response removes the cookie. Data inserted afterwards starts a new session.
    ///
    /// # Errors
    /// A store error while loading.
    pub async fn terminate(&self) -> Result<()> {
        let mut state = self.inner.state.lock().await;
        let config = self.config();
        let now = config.clock.now();
        let active = self.active(&mut state).await?;
        let mut doomed = std::mem::take(&mut active.doomed);
        if let (Some(id), Origin::Stored(_)) = (&active.id, active.origin) {
            doomed.push(config.store_keys.key_for(id));
        }
        *active = Active::fresh(now, config);
        active.doomed = doomed;
        active.terminated = true;
        Ok(())
    }

    /// The session id, or `None` while there is no session (a new session gets
    /// its id when it is first saved).
    ///
    /// # Errors
    /// A store error while loading.
    pub async fn id(&self) -> Result<Option<SessionId>> {
        let mut state = self.inner.state.lock().await;
        Ok(self.active(&mut state).await?.id.clone())
    }

    /// When the session expires (UNIX seconds), or `None` while there is none.
    ///
    /// # Errors
    /// A store error while loading.
    pub async fn expires_at(&self) -> Result<Option<UnixTime>> {
        let mut state = self.inner.state.lock().await;
        let a = self.active(&mut state).await?;
        Ok(a.id.as_ref().map(|_| a.expires_at))
    }

    /// When the session began (UNIX seconds), or `None` while there is none.
    ///
    /// # Errors
    /// A store error while loading.
    pub async fn created_at(&self) -> Result<Option<UnixTime>> {
        let mut state = self.inner.state.lock().await;
        let a = self.active(&mut state).await?;
        Ok(a.id.as_ref().map(|_| a.created_at))
    }

    /// The keys present.
    ///
    /// # Errors
    /// A store error while loading.
    pub async fn keys(&self) -> Result<Vec<String>> {
        let mut state = self.inner.state.lock().await;
        Ok(self.active(&mut state).await?.data.keys())
    }

    /// Whether the session holds no data.
    ///
    /// # Errors
    /// A store error while loading.
    pub async fn is_empty(&self) -> Result<bool> {
        let mut state = self.inner.state.lock().await;
        Ok(self.active(&mut state).await?.data.is_empty())
    }

    /// Save after the handler: once, only if something changed (or the expiry
    /// needs a throttled refresh, or an old key signed the cookie), and not on a
    /// 5xx `status` unless configured. Returns the cookies to set.
    ///
    /// Framework adapters call this; handlers never need to.
    ///
    /// # Errors
    /// A store error. The adapter should answer with an opaque 5xx: the
    /// handler's changes were not acknowledged.
    pub async fn finish(&self, status: u16) -> Result<ResponseCookies> {
        if !self.inner.touched.load(Ordering::Acquire) {
            return Ok(ResponseCookies::default());
        }
        self.finish_touched(status)
            .instrument(tracing::debug_span!("session.save", status))
            .await
    }

    async fn finish_touched(&self, status: u16) -> Result<ResponseCookies> {
        let mut state = self.inner.state.lock().await;
        let State::Ready(active) = &mut *state else {
            return Ok(ResponseCookies::default());
        };
        let config = self.config();
        if status >= 500 && !config.save_on_server_error {
            return Ok(ResponseCookies::default());
        }
        let now = config.clock.now();
        let written = if active.id.is_none() && active.data.is_empty() {
            if active.terminated || !active.doomed.is_empty() {
                Written::Remove
            } else {
                Written::Nothing
            }
        } else if active.dirty() {
            self.write(active, now).await?
        } else {
            self.refresh(active, now).await?
        };
        if let Some(store) = self.store() {
            for key in active.doomed.drain(..) {
                store.delete(&key, now).await?;
            }
        }
        let presence = || self.inner.cookies.presence(config);
        let set_cookie = match written {
            Written::Nothing => Vec::new(),
            Written::Remove => removals(config, presence(), true),
            Written::Cookie(contents) => set_cookies(config, &contents, presence(), now)?,
        };
        Ok(ResponseCookies { set_cookie })
    }

    async fn write(&self, active: &mut Active, now: UnixTime) -> Result<Written> {
        let config = self.config();
        let id = match &active.id {
            Some(id) => id.clone(),
            None => {
                let id = SessionId::generate()?;
                active.id = Some(id.clone());
                active.origin = Origin::New;
                id
            }
        };
        active.last_active = now;
        active.expires_at = config.expiry(active.created_at, now);
        let encoded = active.data.to_encoded();
        let size = encoded.len();
        let fits_cookie = config.cookie_only_threshold > 0 && size <= config.cookie_only_threshold;
        let Some(store) = self.store().filter(|_| !fits_cookie) else {
            if cookie_value_len(size, config.encrypt) > config.max_value_len() {
                return Err(Error::TooLarge {
                    size,
                    limit: config.cookie_only_threshold,
                });
            }
            // Moving back into the cookie: the server copy goes.
            if let Origin::Stored(_) = active.origin {
                active.doomed.push(config.store_keys.key_for(&id));
            }
            active.origin = Origin::Cookie;
            return Ok(Written::Cookie(self.contents(
                active,
                &id,
                CookieBody::Data(encoded),
            )));
        };
        let mut key = config.store_keys.key_for(&id);
        let durability = active.durability();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (result, expected) = match active.origin {
                Origin::Stored(version) => {
                    let record = self.record(active, version + 1);
                    (
                        store.save(&key, &record, version, durability, now).await,
                        Some(version),
                    )
                }
                Origin::New | Origin::Cookie => {
                    let record = self.record(active, 1);
                    (store.create(&key, &record, now).await, None)
                }
            };
            match result {
                Ok(()) => {
                    active.origin = Origin::Stored(expected.map_or(1, |v| v + 1));
                    break;
                }
                Err(Error::AlreadyExists) if active.origin == Origin::New && attempts < 4 => {
                    // A 256-bit id collided: take another one.
                    let fresh = SessionId::generate()?;
                    key = config.store_keys.key_for(&fresh);
                    active.id = Some(fresh);
                }
                Err(Error::Conflict | Error::AlreadyExists)
                    if attempts <= config.max_conflict_retries as usize =>
                {
                    // Someone else saved first: re-apply this request's changes
                    // onto their version and try again.
                    Metrics::inc(&self.metrics().conflicts);
                    backoff(attempts).await;
                    match store.load(&key, now).await? {
                        Some(latest) => active.rebase(latest),
                        None => return Ok(self.gone()),
                    }
                }
                Err(Error::NotFound) => return Ok(self.gone()),
                Err(e) => return Err(e),
            }
        }
        let id = active.id.clone().ok_or(Error::NotFound)?;
        Ok(Written::Cookie(self.contents(
            active,
            &id,
            CookieBody::Stored,
        )))
    }

    /// A concurrent logout deleted the record: never resurrect it.
    fn gone(&self) -> Written {
        tracing::warn!("session was deleted by another request; not saving it");
        Written::Remove
    }

    async fn refresh(&self, active: &mut Active, now: UnixTime) -> Result<Written> {
        let config = self.config();
        let Some(id) = active.id.clone() else {
            return Ok(Written::Nothing);
        };
        let touch_due = config.idle_timeout.is_some()
            && now.saturating_sub(active.last_active) >= config.touch_interval.as_secs();
        if !touch_due && !active.reissue {
            return Ok(Written::Nothing);
        }
        if touch_due {
            active.last_active = now;
            active.expires_at = config.expiry(active.created_at, now);
        }
        let body = match active.origin {
            Origin::Stored(_) => {
                if touch_due {
                    let store = self.store().ok_or(Error::NotFound)?;
                    let key = config.store_keys.key_for(&id);
                    match store.touch(&key, active.expires_at, now, now).await {
                        Ok(()) => {}
                        Err(Error::NotFound) => return Ok(self.gone()),
                        Err(e) => return Err(e),
                    }
                }
                CookieBody::Stored
            }
            _ => CookieBody::Data(active.data.to_encoded()),
        };
        Ok(Written::Cookie(self.contents(active, &id, body)))
    }

    fn record(&self, active: &Active, version: u64) -> Record {
        Record {
            data: active.data.to_map(),
            expires_at: active.expires_at,
            created_at: active.created_at,
            last_active: active.last_active,
            version,
        }
    }

    fn contents(&self, active: &Active, id: &SessionId, body: CookieBody) -> CookieContents {
        CookieContents {
            id: id.clone(),
            expires_at: active.expires_at,
            created_at: active.created_at,
            last_active: active.last_active,
            body,
        }
    }
}

/// Random, growing pause between conflict retries, so writers that keep
/// colliding spread out instead of colliding again in lockstep.
async fn backoff(attempt: usize) {
    let mut r = [0u8; 2];
    if getrandom::fill(&mut r).is_err() {
        return;
    }
    let cap_ms = (1u64 << attempt.min(6)).min(50);
    let jitter_us = u64::from(u16::from_le_bytes(r)) % (cap_ms * 1000);
    tokio::time::sleep(std::time::Duration::from_micros(jitter_us)).await;
}

fn base_cookie(config: &SessionConfig, name: String, value: String) -> ::cookie::Cookie<'static> {
    let mut c = ::cookie::Cookie::new(name, value);
    c.set_path(config.path.clone());
    if let Some(d) = &config.domain {
        c.set_domain(d.clone());
    }
    c.set_secure(config.secure);
    c.set_http_only(config.http_only);
    c.set_same_site(match config.same_site {
        SameSite::Strict => ::cookie::SameSite::Strict,
        SameSite::Lax => ::cookie::SameSite::Lax,
        SameSite::None => ::cookie::SameSite::None,
    });
    c
}

fn timed_cookie(
    config: &SessionConfig,
    name: &str,
    value: &str,
    expires_at: UnixTime,
    now: UnixTime,
) -> String {
    use ::cookie::time::{Duration, OffsetDateTime};
    let mut c = base_cookie(config, name.to_owned(), value.to_owned());
    let max_age = i64::try_from(expires_at.saturating_sub(now)).unwrap_or(i64::MAX);
    c.set_max_age(Duration::seconds(max_age));
    let at = i64::try_from(expires_at)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    c.set_expires(at);
    c.to_string()
}

fn removal(config: &SessionConfig, name: &str) -> String {
    use ::cookie::time::{Duration, OffsetDateTime};
    let mut c = base_cookie(config, name.to_owned(), String::new());
    c.set_max_age(Duration::ZERO);
    c.set_expires(OffsetDateTime::UNIX_EPOCH);
    c.to_string()
}

fn removals(config: &SessionConfig, presence: Presence, single: bool) -> Vec<String> {
    let mut out = Vec::new();
    if single && presence.single {
        out.push(removal(config, &config.cookie_name));
    }
    for (i, name) in config.chunk_names.iter().enumerate() {
        if presence.chunks & (1 << i) != 0 {
            out.push(removal(config, name));
        }
    }
    out
}

fn set_cookies(
    config: &SessionConfig,
    contents: &CookieContents,
    presence: Presence,
    now: UnixTime,
) -> Result<Vec<String>> {
    let value = wire::encode(&config.keys, &config.cookie_name, contents, config.encrypt)?;
    let exp = contents.expires_at;
    if value.len() <= config.max_cookie_len {
        let mut out = vec![timed_cookie(config, &config.cookie_name, &value, exp, now)];
        out.extend(removals(config, presence, false));
        return Ok(out);
    }
    let parts = wire::split(&value, config.max_cookie_len);
    if parts.len() > config.max_cookies {
        return Err(Error::TooLarge {
            size: value.len(),
            limit: config.max_value_len(),
        });
    }
    let mut out = Vec::with_capacity(parts.len() + 1);
    for (name, part) in config.chunk_names.iter().zip(&parts) {
        out.push(timed_cookie(config, name, part, exp, now));
    }
    if presence.single {
        out.push(removal(config, &config.cookie_name));
    }
    for (i, name) in config.chunk_names.iter().enumerate().skip(parts.len()) {
        if presence.chunks & (1 << i) != 0 {
            out.push(removal(config, name));
        }
    }
    Ok(out)
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session").finish_non_exhaustive()
    }
}
