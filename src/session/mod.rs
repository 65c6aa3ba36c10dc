//! [`Session`]: the handle handlers use. Loading lives in `load.rs`, the
//! once-per-request save in `save.rs`, the request's state in `state.rs`.

mod data;
#[cfg(test)]
mod future_sizes;
mod load;
mod principal;
mod refresh;
mod save;
mod set_cookie;
mod state;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use tracing::Instrument;

use crate::clock::UnixTime;
use crate::codec;
use crate::config::SessionConfig;
use crate::error::{Error, Result};
use crate::log_throttle::LogThrottle;
use crate::metrics::Metrics;
use crate::principal::binding::{BINDING_KEY, is_reserved};
use crate::principal::cache::RevocationCache;
use crate::request_cookies::RequestCookies;
use crate::session_id::SessionId;
use crate::store::{Durability, SessionStore};

use self::data::Data;
use self::load::FromCookie;
pub use self::set_cookie::ResponseCookies;
pub(crate) use self::set_cookie::SetCookieTemplate;
use self::state::{Active, Doomed, Origin};

/// A session's load that awaits the store (see `Session::active`).
type Loading<'a> = std::pin::Pin<Box<dyn Future<Output = Result<Active>> + Send + 'a>>;

/// What every request's session shares: the configuration, the store and
/// the counters. The [`crate::SessionManager`] owns it.
pub(crate) struct Context {
    pub(crate) config: SessionConfig,
    pub(crate) store: Option<Arc<dyn SessionStore>>,
    pub(crate) metrics: Arc<Metrics>,
    /// What this process last read of principals' revocations.
    pub(crate) revocations: RevocationCache,
    /// Throttles the adapters' failure events (see `response_policy`).
    pub(crate) failure_logs: LogThrottle,
}

/// A request's session: lazily loaded, written at most once after the handler.
///
/// Clones share one state. Nothing is decoded or read from the store until a
/// method is called; a request whose handler never calls one costs nothing.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    ctx: Arc<Context>,
    cookies: RequestCookies,
    /// Set by the first method call; lets `finish` skip even the lock when the
    /// handler never touched the session.
    touched: AtomicBool,
    state: Mutex<State>,
}

#[expect(
    clippy::large_enum_variant,
    reason = "inline, a touched session saves an allocation; an untouched one only carries the bytes"
)]
enum State {
    Unloaded,
    Ready(Active),
}

impl Session {
    pub(crate) fn new(ctx: Arc<Context>, cookies: RequestCookies) -> Self {
        Session {
            inner: Arc::new(Inner {
                ctx,
                cookies,
                touched: AtomicBool::new(false),
                state: Mutex::new(State::Unloaded),
            }),
        }
    }

    /// What every session of its manager shares.
    pub(crate) fn context(&self) -> &Context {
        &self.inner.ctx
    }

    /// Whether a handler called any method (and so a save may be due).
    pub(crate) fn was_touched(&self) -> bool {
        self.inner.touched.load(Ordering::Acquire)
    }

    /// Whether this request read or changed its session (called any method).
    /// A framework adapter of your own adds `Vary: Cookie` to the response
    /// when it did, as the bundled ones do: the response depended on the
    /// cookie.
    pub fn accessed(&self) -> bool {
        self.was_touched()
    }

    async fn active<'a>(&self, state: &'a mut State) -> Result<&'a mut Active> {
        self.inner.touched.store(true, Ordering::Release);
        if let State::Unloaded = state {
            // The cookie is decoded without awaiting; only a stored or bound
            // session awaits the store, in a boxed future. Every handler's
            // future holds this one: unboxed, the loading state (a few
            // sessions' worth of bytes) would be moved with it at each await
            // and into the framework's boxed route future, stored or not.
            let pending: Option<Loading<'_>> = match self.load_cookie() {
                FromCookie::Done(active) => {
                    *state = State::Ready(active);
                    None
                }
                FromCookie::Check(active) => Some(Box::pin(self.check_revoked(active))),
                FromCookie::Fetch(fetch) => {
                    let span =
                        crate::instrument::debug_span(|| tracing::debug_span!("session.load"));
                    Some(Box::pin(self.fetch(fetch).instrument(span)))
                }
            };
            if let Some(pending) = pending {
                *state = State::Ready(pending.await?);
            }
        }
        match state {
            State::Ready(active) => Ok(active),
            State::Unloaded => Err(Error::backend("session", "session state not loaded")),
        }
    }

    /// The value under `key`, or `None`.
    ///
    /// # Errors
    /// A store error while loading, or [`Error::Codec`] if the stored value is
    /// not a `T`.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        if is_reserved(key) {
            return Ok(None);
        }
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
        reject_reserved(key)?;
        let bytes = codec::encode_value(value)?;
        let mut state = self.inner.state.lock().await;
        let active = self.active(&mut state).await?;
        active.data.set(key, Some(bytes), durability);
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
        reject_reserved(key)?;
        let mut state = self.inner.state.lock().await;
        let active = self.active(&mut state).await?;
        Ok(active.data.remove(key, durability))
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
        active.data = Data::empty();
        active.cleared = Some(Durability::Durable);
        // The owner is no data: a cleared session stays bound.
        if let Some(binding) = &active.binding {
            let bytes = binding.to_bytes();
            active
                .data
                .set(BINDING_KEY, Some(bytes), Durability::Durable);
        }
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
        let config = &self.inner.ctx.config;
        let active = self.active(&mut state).await?;
        let Some(old) = active.id.take() else {
            return Ok(());
        };
        if let Origin::Stored(version) = active.origin {
            let key = active.store_key(&config.store_keys, &old);
            active.doom(key, Some(version));
        }
        active.id = Some(SessionId::generate()?);
        active.origin = Origin::New;
        active.force_write = true;
        // A bound session's index entry must follow it to its new record.
        active.index_due |= active.binding.is_some();
        Ok(())
    }

    /// End the session (logout): its record is deleted from every tier and the
    /// response removes the cookie. Data inserted afterwards starts a new session.
    ///
    /// # Errors
    /// A store error while loading.
    pub async fn terminate(&self) -> Result<()> {
        let mut state = self.inner.state.lock().await;
        let config = &self.inner.ctx.config;
        let now = config.clock.now();
        let active = self.active(&mut state).await?;
        let mut doomed = std::mem::take(&mut active.doomed);
        let mut unbound = std::mem::take(&mut active.unbound);
        if let Some(binding) = active.binding.take() {
            // Copies of a cookie-only session's cookie stay valid until they
            // expire: the save denies its handle so they are refused too.
            unbound.push((binding, active.created_at));
        }
        if let (Some(id), Origin::Stored(_)) = (active.id.clone(), active.origin) {
            doomed.push(Doomed {
                key: active.store_key(&config.store_keys, &id),
                version: None,
            });
        }
        // Logout removes every record this request touched, whatever it holds.
        for d in &mut doomed {
            d.version = None;
        }
        *active = Active::fresh(now, config);
        active.doomed = doomed;
        active.unbound = unbound;
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
        Ok(self.active(&mut state).await?.data.has_no_app_entries())
    }

    /// Save after the handler: once, only if something changed (or the expiry
    /// needs a throttled refresh, or the cookie must be re-issued under the
    /// current key or encryption setting), and not on a 5xx `status` unless
    /// configured. Returns the cookies to set.
    ///
    /// Framework adapters call this; handlers never need to.
    ///
    /// # Errors
    /// A store error, or [`Error::Ended`] when another request ended the
    /// session meanwhile. The adapter should answer with an opaque 5xx and set
    /// no cookie: the handler's changes were not acknowledged.
    pub async fn finish(&self, status: u16) -> Result<ResponseCookies> {
        if !self.inner.touched.load(Ordering::Acquire) {
            return Ok(ResponseCookies::default());
        }
        match self.finish_without_store(status) {
            Some(done) => done,
            None => self.finish_with_store(status).await,
        }
    }

    /// The save of a touched session that may need the store (the layer
    /// calls it when [`Session::finish_without_store`] could not finish).
    pub(crate) async fn finish_with_store(&self, status: u16) -> Result<ResponseCookies> {
        let span = crate::instrument::debug_span(|| tracing::debug_span!("session.save", status));
        self.finish_touched(status).instrument(span).await
    }
}

/// Keys starting with NUL are the library's (a session's binding lives under one).
fn reject_reserved(key: &str) -> Result<()> {
    if is_reserved(key) {
        return Err(Error::codec("session keys starting with NUL are reserved"));
    }
    Ok(())
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session").finish_non_exhaustive()
    }
}
