//! [`SessionManager`]: the configuration and store shared by every request,
//! independent of any web framework.

mod principals;

use std::fmt;
use std::sync::Arc;

use crate::clock::UnixTime;
use crate::config::SessionConfig;
use crate::error::Result;
use crate::instrument::Instrumented;
use crate::log_throttle::LogThrottle;
use crate::metrics::Metrics;
use crate::principal::binding::{Binding, Found};
use crate::principal::cache::RevocationCache;
use crate::principal::ops::{self, Scope};
use crate::record::Record;
use crate::request_cookies::RequestCookies;
use crate::response_policy::LOG_WINDOW;
use crate::session::{Context, Session};
use crate::session_id::{SessionId, StoreKey};
use crate::store::{CleanupCursor, CleanupStopped, SessionStore, SessionStoreExt};

/// Configuration, store and counters shared by every request. Cheap to clone.
///
/// Framework adapters call [`SessionManager::start`] with the request's cookies
/// and [`Session::finish`] with the response status; the tower layer in this
/// crate does exactly that.
#[derive(Clone)]
pub struct SessionManager {
    inner: Arc<Context>,
}

impl SessionManager {
    /// Sessions in the cookie below the threshold, in `store` above it.
    pub fn new(config: SessionConfig, store: impl SessionStore + 'static) -> Self {
        Self::from_arc(config, Some(Arc::new(store)))
    }

    /// Like [`SessionManager::new`] with a shared store.
    pub fn with_shared_store(config: SessionConfig, store: Arc<dyn SessionStore>) -> Self {
        Self::from_arc(config, Some(store))
    }

    /// Cookie sessions only, no store: a save larger than the cookie budget
    /// fails with [`crate::Error::TooLarge`].
    pub fn cookie_only(config: SessionConfig) -> Self {
        Self::from_arc(config, None)
    }

    fn from_arc(config: SessionConfig, store: Option<Arc<dyn SessionStore>>) -> Self {
        // Every call the session layer makes to the store is timed and
        // traced as the `store` tier (a `TieredStore` adds its `cache` and
        // `durable` calls beneath).
        let store = store.map(|s| Arc::new(Instrumented::new(s, "store")) as Arc<dyn SessionStore>);
        SessionManager {
            inner: Arc::new(Context {
                revocations: RevocationCache::new(config.revocation_check_interval.as_secs()),
                config,
                store,
                metrics: Arc::new(Metrics::default()),
                failure_logs: LogThrottle::new(LOG_WINDOW),
            }),
        }
    }

    /// Share `metrics` (for example with a [`crate::TieredStore`]).
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Self {
        let inner = &self.inner;
        SessionManager {
            inner: Arc::new(Context {
                revocations: RevocationCache::new(inner.config.revocation_check_interval.as_secs()),
                config: inner.config.clone(),
                store: inner.store.clone(),
                metrics,
                failure_logs: LogThrottle::new(LOG_WINDOW),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.inner.config
    }

    /// The counters of cookie and store paths.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// The store, if any.
    pub fn store(&self) -> Option<&Arc<dyn SessionStore>> {
        self.inner.store.as_ref()
    }

    /// Begin a request: a lazy session handle over the request's cookies.
    pub fn start(&self, cookies: RequestCookies) -> Session {
        Session::new(self.inner.clone(), cookies)
    }

    /// The store key for an id (what admin tools look up).
    pub fn store_key(&self, id: &SessionId) -> StoreKey {
        self.inner.config.store_keys.key_for(id)
    }

    fn now(&self) -> UnixTime {
        self.inner.config.clock.now()
    }

    /// Load a stored session by id, for admin tools. Cookie-only sessions live
    /// in the browser and are not found here.
    ///
    /// # Errors
    /// A store error.
    pub async fn load_by_id(&self, id: &SessionId) -> Result<Option<Record>> {
        match &self.inner.store {
            Some(store) => store.load(&self.store_key(id), self.now()).await,
            None => Ok(None),
        }
    }

    /// Delete a stored session by id (an admin's "end this session"). A
    /// session bound to a principal is also unlisted and its handle denied,
    /// as [`SessionManager::revoke_session`] does.
    ///
    /// # Errors
    /// A store error.
    pub async fn delete_by_id(&self, id: &SessionId) -> Result<()> {
        let Some(store) = &self.inner.store else {
            return Ok(());
        };
        let key = self.store_key(id);
        let now = self.now();
        if store.principal_index().is_some() {
            if let Some(record) = store.load(&key, now).await? {
                if let Found::Bound(b) = Binding::in_data(&record.data) {
                    let scope = Scope::One(b.handle);
                    ops::revoke(&self.inner, &b.principal_hash(), scope, now).await?;
                }
            }
        }
        store.delete(&key, now).await
    }

    /// Delete every expired record from the store, `batch` at a time, from
    /// `cursor` (`None`: the beginning), then every expired principal-index
    /// entry; returns how many went. Native TTL
    /// usually gets there first; this covers the rest.
    ///
    /// # Errors
    /// A [`CleanupStopped`] with the count so far and the cursor to resume
    /// from: batches already done stay done.
    pub async fn delete_expired(
        &self,
        batch: usize,
        cursor: Option<CleanupCursor>,
    ) -> std::result::Result<u64, CleanupStopped> {
        let Some(store) = &self.inner.store else {
            return Ok(0);
        };
        let records = store.delete_all_expired(self.now(), batch, cursor).await?;
        // Then the index entries of bound sessions that expired. An error
        // here reports the records as done (no cursor): run it again.
        match self.delete_expired_index_entries(batch).await {
            Ok(entries) => Ok(records + entries),
            Err(error) => Err(CleanupStopped {
                deleted: records,
                resume: None,
                error,
            }),
        }
    }
}

impl fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManager")
            .field("config", &self.inner.config)
            .field("store", &self.inner.store)
            .finish()
    }
}
