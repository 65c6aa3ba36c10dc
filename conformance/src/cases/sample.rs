//! Sample keys, records, clocks and session managers the cases build on.

use std::sync::Arc;

use tiered_sessions::{
    Clock, ManualClock, Record, SessionConfig, SessionConfigBuilder, SessionId, SessionManager,
    SessionStore, StoreKey, SystemClock, UnixTime,
};

use crate::case_error::{CaseError, During};

/// The suite's store-key secret (any 32 bytes: keys only need to be unguessable
/// in production).
const STORE_SECRET: [u8; 32] = [0x5e; 32];
/// The signing key of the session managers the cases build.
pub(crate) const SIGNING_KEY: [u8; 32] = [0x51; 32];

/// The current wall-clock time. Cases start from it and move forward with
/// explicit `now` values, so backends with native TTL (which count in real
/// time) still hold records the suite treats as expired.
pub(crate) fn now() -> UnixTime {
    SystemClock.now()
}

/// A fresh, random store key.
pub(crate) fn key() -> Result<StoreKey, CaseError> {
    let config = SessionConfig::builder([SIGNING_KEY])
        .store_key_secret(STORE_SECRET)
        .build()
        .during("building the key hasher")?;
    let id = SessionId::generate().during("generating a session id")?;
    Ok(SessionManager::cookie_only(config).store_key(&id))
}

/// A record at `version`, created and active at `now`, expiring `ttl` seconds later.
pub(crate) fn record(version: u64, now: UnixTime, ttl: u64, pairs: &[(&str, &[u8])]) -> Record {
    Record {
        data: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.to_vec()))
            .collect(),
        expires_at: now + ttl,
        created_at: now,
        last_active: now,
        version,
    }
}

/// The next version of `record`, active at `now`, with `key` set to `value`.
pub(crate) fn next(record: &Record, now: UnixTime, key: &str, value: &[u8]) -> Record {
    let mut r = record.clone();
    r.version += 1;
    r.last_active = now;
    r.data.insert(key.to_owned(), value.to_vec());
    r
}

/// A manual clock showing the wall-clock time.
pub(crate) fn clock() -> ManualClock {
    ManualClock::new(now())
}

/// The base configuration of the cases' session managers: every session in
/// the store unless the case raises the threshold, plain-HTTP cookies.
pub(crate) fn config(clock: &ManualClock) -> SessionConfigBuilder {
    SessionConfig::builder([SIGNING_KEY])
        .cookie_only_threshold(0)
        .secure(false)
        .clock(Arc::new(clock.clone()))
}

/// A session manager over `store` with `config`.
pub(crate) fn manager(
    config: SessionConfigBuilder,
    store: Arc<dyn SessionStore>,
) -> Result<SessionManager, CaseError> {
    let config = config
        .build()
        .during("building the session configuration")?;
    Ok(SessionManager::with_shared_store(config, store))
}
