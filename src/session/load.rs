//! Loading a request's session from its cookies (and the store, for a stored
//! session), the first time a handler asks for it.

use crate::clock::UnixTime;
use crate::cookie::{self as wire, CookieBody, CookieRejection};
use crate::error::Result;
use crate::metrics::Metrics;
use crate::record::SessionData;
use crate::session_id::StoreKey;

use crate::principal::binding::{Binding, Found};
use crate::principal::cache::Verdict;
use crate::principal::ops;

use super::Session;
use super::data::Data;
use super::state::{Active, Issued, Origin};

/// What the request's cookie gave: the whole session, or a stored session
/// still to be read from the store.
pub(super) enum FromCookie {
    Done(Active),
    /// A bound cookie-only session whose principal's revocations are not
    /// cached fresh: [`Session::check_revoked`] reads them first.
    Check(Active),
    Fetch(Fetch),
}

/// A loaded session, judged by what this process knows of revocations.
enum Vetted {
    Ready(Active),
    Ask(Active),
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
                let data = SessionData::from_encoded(data);
                let found = Binding::in_data(&data);
                active.data = Data::new(data);
                match self.vet(active, found, now) {
                    Vetted::Ready(active) => FromCookie::Done(active),
                    Vetted::Ask(active) => FromCookie::Check(active),
                }
            }
            CookieBody::Stored => {
                let (Some(issued), true) = (active.issued.take(), ctx.store.is_some()) else {
                    return FromCookie::Done(Active::fresh(now, config));
                };
                FromCookie::Fetch(Fetch {
                    key: config.store_keys.key_for(&id),
                    issued,
                    reissue: active.reissue,
                    now,
                })
            }
        }
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
        let found = Binding::in_data(&record.data);
        active.data = Data::new(record.data);
        match self.vet(active, found, now) {
            Vetted::Ready(active) => Ok(active),
            Vetted::Ask(active) => self.check_revoked(active).await,
        }
    }

    /// A loaded session and what its data says about its binding: an unbound
    /// session as it is (no cost beyond finding no binding), a bound one
    /// judged by the cached revocations, or to be checked with the store.
    fn vet(&self, mut active: Active, found: Found, now: UnixTime) -> Vetted {
        let config = &self.inner.ctx.config;
        match found {
            Found::Unbound => Vetted::Ready(active),
            Found::Malformed => {
                tracing::warn!(cookie = %config.cookie_name, "session binding malformed; no session");
                Vetted::Ready(Active::fresh(now, config))
            }
            Found::Bound(binding) => {
                let verdict = self.inner.ctx.revocations.check(
                    &binding.principal,
                    &binding.handle,
                    binding.bound_at,
                    now,
                );
                active.binding = Some(binding);
                match verdict {
                    Verdict::Allowed => Vetted::Ready(active),
                    Verdict::Unknown => Vetted::Ask(active),
                    Verdict::Revoked => {
                        tracing::warn!(cookie = %config.cookie_name, "session was revoked; no session");
                        Vetted::Ready(Active::fresh(now, config))
                    }
                }
            }
        }
    }

    /// Judge a bound session by its principal's revocations as the store
    /// holds them now (and cache them for `revocation_check_interval`).
    ///
    /// # Errors
    /// A store error: a bound session whose revocations cannot be read is
    /// not served (fail closed).
    pub(super) async fn check_revoked(&self, active: Active) -> Result<Active> {
        let ctx = &self.inner.ctx;
        let config = &ctx.config;
        let now = config.clock.now();
        let Some(binding) = active.binding.as_ref() else {
            return Ok(active);
        };
        let Ok((_, index)) = ops::index(ctx) else {
            tracing::warn!(cookie = %config.cookie_name, "a bound session but the store keeps no principal index; no session");
            return Ok(Active::fresh(now, config));
        };
        let revocations = index.revocations(&binding.principal_hash(), now).await?;
        let revoked = revocations.revokes(&binding.handle, binding.bound_at);
        ctx.revocations.put(&binding.principal, revocations, now);
        if revoked {
            tracing::warn!(cookie = %config.cookie_name, "session was revoked; no session");
            return Ok(Active::fresh(now, config));
        }
        Ok(active)
    }
}
