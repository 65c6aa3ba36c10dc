//! A save with nothing changed: the throttled expiry refresh of a session
//! that was only read, and when the browser's cookie is due again.

use crate::clock::UnixTime;
use crate::cookie::CookieBody;
use crate::error::{Error, Result};
use crate::session_id::SessionId;

use super::Session;
use super::save::Written;
use super::state::{Active, Origin};

impl Session {
    /// Whether the browser's cookie must be re-sent so its own expiry keeps
    /// rolling: at most once per `touch_interval`.
    pub(super) fn cookie_due(&self, active: &Active, now: UnixTime) -> bool {
        let config = &self.inner.ctx.config;
        config.idle_timeout.is_some()
            && active.issued.as_ref().is_none_or(|i| {
                now.saturating_sub(i.last_active) >= config.touch_interval.as_secs()
            })
    }

    /// Whether a read-only request refreshes the expiry: at most once per
    /// `touch_interval`.
    pub(super) fn refresh_due(&self, active: &Active, now: UnixTime) -> bool {
        let config = &self.inner.ctx.config;
        let oldest = active.issued.as_ref().map_or(active.last_active, |i| {
            i.last_active.min(active.last_active)
        });
        config.idle_timeout.is_some()
            && now.saturating_sub(oldest) >= config.touch_interval.as_secs()
    }

    /// A read-only request: refresh the expiry when the throttle allows, and
    /// re-issue a cookie signed with an old key or under another encryption
    /// setting. A stored session due for a refresh needs [`Session::touch`].
    pub(super) fn refresh(&self, active: &mut Active, now: UnixTime) -> Refresh {
        let Some(id) = active.id.clone() else {
            return Refresh::Done(Written::Nothing);
        };
        let due = self.refresh_due(active, now);
        if !due && !active.reissue {
            return Refresh::Done(Written::Nothing);
        }
        if due {
            self.stamp(active, now);
        }
        let body = match active.origin {
            Origin::Stored(_) if due => return Refresh::Touch(id),
            Origin::Stored(_) => CookieBody::Stored,
            _ => CookieBody::Data(active.data.to_encoded()),
        };
        Refresh::Done(Written::Cookie(active.contents(id, body)))
    }

    /// Refresh a stored session's expiry in the store, then in the cookie.
    pub(super) async fn touch(
        &self,
        active: &mut Active,
        id: SessionId,
        now: UnixTime,
    ) -> Result<Written> {
        let ctx = &self.inner.ctx;
        let store = ctx.store.as_ref().ok_or(Error::NotFound)?;
        let key = active.store_key(&ctx.config.store_keys, &id);
        match store.touch(&key, active.expires_at, now, now).await {
            Ok(()) => Ok(Written::Cookie(active.contents(id, CookieBody::Stored))),
            // Ended by another request meanwhile: nothing to refresh, and no
            // cookie either (the browser may already hold a newer one from
            // that request).
            Err(Error::NotFound) => Ok(Written::Nothing),
            Err(e) => Err(e),
        }
    }
}

pub(super) enum Refresh {
    Done(Written),
    /// The store's copy must be touched first.
    Touch(SessionId),
}
