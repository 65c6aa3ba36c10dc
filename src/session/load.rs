//! Loading a request's session from its cookies (and the store, for a stored
//! session), the first time a handler asks for it.

use crate::clock::UnixTime;
use crate::cookie::{self as wire, CookieBody, CookieRejection};
use crate::error::Result;
use crate::metrics::Metrics;
use crate::session_id::StoreKey;

use super::Session;
use super::data::Data;
use super::state::{Active, Issued, Origin};

/// What the request's cookie gave: the whole session, or a stored session
/// still to be read from the store.
pub(super) enum FromCookie {
    Done(Active),
    Fetch(Fetch),
}

/// A stored session to read: what the cookie said, completed by the record.
/// Kept small: it is held across the store's await.
pub(super) struct Fetch {
    issued: Issued,
    reissue: bool,
    key: StoreKey,
    now: UnixTime,
}

impl Session {
    /// Decode the request's cookie (no I/O). A cookie session is complete
    /// here; a stored one still needs [`Session::fetch`].
    pub(super) fn load_cookie(&self) -> FromCookie {
        let ctx = &self.inner.ctx;
        let config = &ctx.config;
        let now = config.clock.now();
        let candidates = self.inner.cookies.candidates(config);
        let mut decoded = None;
        let mut rejected = 0u64;
        let mut first_reason: Option<CookieRejection> = None;
        for (chunked, value) in candidates.values() {
            let mac_name = if chunked {
                &config.chunked_mac_name
            } else {
                &config.cookie_name
            };
            match wire::decode(&config.keys, mac_name, value, now, config.max_value_len()) {
                Ok(d) => {
                    decoded = Some(d);
                    break;
                }
                Err(reason) => {
                    rejected += 1;
                    first_reason.get_or_insert(reason);
                }
            }
        }
        // One line per request however many copies were sent: a header full
        // of bogus cookies must not turn into a flood of log output.
        if let Some(reason) = first_reason {
            Metrics::add(&ctx.metrics.rejected_cookies, rejected);
            tracing::warn!(
                cookie = %config.cookie_name,
                %reason,
                rejected,
                ignored = candidates.ignored,
                "session cookie rejected"
            );
        }
        let Some(decoded) = decoded else {
            return FromCookie::Done(Active::fresh(now, config));
        };
        let c = decoded.contents;
        // Timeouts are re-checked against the current settings, which may be
        // stricter than when the cookie was issued.
        let expires_at = c.expires_at.min(config.expiry(c.created_at, c.last_active));
        if expires_at <= now {
            tracing::warn!(cookie = %config.cookie_name, "session cookie past its timeout");
            return FromCookie::Done(Active::fresh(now, config));
        }
        let id = c.id;
        let mut active = Active::fresh(now, config);
        active.id = Some(id.clone());
        active.origin = Origin::Cookie;
        active.created_at = c.created_at;
        active.last_active = c.last_active;
        active.expires_at = expires_at;
        active.reissue = decoded.signed_with_old_key;
        active.issued = Some(Issued {
            id: id.clone(),
            stored: matches!(c.body, CookieBody::Stored),
            last_active: c.last_active,
        });
        match c.body {
            CookieBody::Data(data) => {
                Metrics::inc(&ctx.metrics.cookie_loads);
                // Re-issue under the current setting, so data readable in the
                // browser is encrypted as soon as encryption is turned on.
                active.reissue |= decoded.encrypted != config.encrypt;
                active.data = Data::encoded(data);
            }
            CookieBody::Stored => {
                let (Some(issued), true) = (active.issued.take(), ctx.store.is_some()) else {
                    return FromCookie::Done(Active::fresh(now, config));
                };
                return FromCookie::Fetch(Fetch {
                    key: config.store_keys.key_for(&id),
                    issued,
                    reissue: active.reissue,
                    now,
                });
            }
        }
        FromCookie::Done(active)
    }

    /// Complete a stored session from the store: the record, or a fresh
    /// session when the store no longer holds a live one.
    ///
    /// # Errors
    /// A store error.
    pub(super) async fn fetch(&self, fetch: Fetch) -> Result<Active> {
        let ctx = &self.inner.ctx;
        let config = &ctx.config;
        let Some(store) = ctx.store.as_ref() else {
            return Ok(Active::fresh(fetch.now, config));
        };
        Metrics::inc(&ctx.metrics.store_loads);
        let loaded = store.load(&fetch.key, fetch.now).await;
        let now = fetch.now;
        let Some(record) = loaded? else {
            // Unknown, expired or deleted: never adopt the id.
            tracing::warn!(cookie = %config.cookie_name, "session cookie names no live stored session");
            return Ok(Active::fresh(now, config));
        };
        let expires_at = record
            .expires_at
            .min(config.expiry(record.created_at, record.last_active));
        if expires_at <= now {
            return Ok(Active::fresh(now, config));
        }
        let mut active = Active::fresh(now, config);
        active.id = Some(fetch.issued.id.clone());
        active.remember_key(fetch.issued.id.clone(), fetch.key);
        active.issued = Some(fetch.issued);
        active.reissue = fetch.reissue;
        active.origin = Origin::Stored(record.version);
        active.created_at = record.created_at;
        active.last_active = record.last_active;
        active.expires_at = expires_at;
        active.data = Data::decoded(record.data);
        Ok(active)
    }
}
