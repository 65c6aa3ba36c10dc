//! A session's owner: binding it to a principal, listing and revoking the
//! principal's sessions from a request, and telling the store's principal
//! index where the session is after each save.

use crate::clock::UnixTime;
use crate::error::{Error, Result};
use crate::principal::binding::{BINDING_KEY, Binding};
use crate::principal::entry::{MAX_DESCRIPTION_LEN, cut};
use crate::principal::ops::{self, Scope};
use crate::principal::{IndexEntry, Revocation, SessionHandle, SessionInfo};
use crate::store::Durability;

use super::Session;
use super::state::{Active, Origin};

impl Session {
    /// Bind the session to `principal` (the app's user id, any bytes) —
    /// typically right after [`Session::regenerate_id`] at login. The
    /// session gets a fresh [`SessionHandle`]; the save after the handler
    /// records it in the store's principal index (one store call), so the
    /// session can be listed and revoked. The principal itself is never
    /// kept: cookies, stores and logs see only its keyed hash.
    ///
    /// Binding again to the same principal changes nothing; binding to
    /// another ends the first binding (as a logout would).
    ///
    /// # Errors
    /// [`Error::Unsupported`] when the store keeps no principal index (or
    /// there is no store); a store error while loading; the OS random source
    /// failing.
    pub async fn bind_principal(&self, principal: impl AsRef<[u8]>) -> Result<()> {
        ops::index(&self.inner.ctx)?;
        let config = &self.inner.ctx.config;
        let hash = config.principals.hash(principal.as_ref());
        let mut state = self.inner.state.lock().await;
        let now = config.clock.now();
        let active = self.active(&mut state).await?;
        if let Some(old) = active.binding.take() {
            if old.principal == *hash.raw() {
                active.binding = Some(old);
                return Ok(());
            }
            active.unbound.push((old, active.created_at));
        }
        let binding = Binding {
            principal: *hash.raw(),
            handle: SessionHandle::generate()?,
            bound_at: now,
            description: String::new(),
        };
        set_binding(active, binding);
        Ok(())
    }

    /// The handle of this session if it is bound (what listings call it).
    ///
    /// # Errors
    /// A store error while loading.
    pub async fn principal_handle(&self) -> Result<Option<SessionHandle>> {
        let mut state = self.inner.state.lock().await;
        let active = self.active(&mut state).await?;
        Ok(active.binding.as_ref().map(|b| b.handle))
    }

    /// Whether the session is bound to a principal.
    ///
    /// # Errors
    /// A store error while loading.
    pub async fn is_bound(&self) -> Result<bool> {
        Ok(self.principal_handle().await?.is_some())
    }

    /// Describe this session in its principal's listing (for example
    /// "Firefox on Linux"); cut to [`MAX_DESCRIPTION_LEN`] bytes at a
    /// character boundary. Does nothing on an unbound session.
    ///
    /// # Errors
    /// A store error while loading.
    pub async fn set_description(&self, description: &str) -> Result<()> {
        let mut state = self.inner.state.lock().await;
        let active = self.active(&mut state).await?;
        let description = cut(description, MAX_DESCRIPTION_LEN);
        if let Some(mut binding) = active.binding.clone() {
            if binding.description != description {
                description.clone_into(&mut binding.description);
                set_binding(active, binding);
            }
        }
        Ok(())
    }

    /// The live sessions of the principal this session is bound to, this one
    /// marked `current` (one store read); empty when it is unbound.
    ///
    /// # Errors
    /// A store error, or [`Error::Unsupported`].
    pub async fn list_sessions(&self) -> Result<Vec<SessionInfo>> {
        let Some(binding) = self.binding().await? else {
            return Ok(Vec::new());
        };
        let now = self.inner.ctx.config.clock.now();
        ops::list(
            &self.inner.ctx,
            &binding.principal_hash(),
            Some(&binding.handle),
            now,
        )
        .await
    }

    /// End one of this session's principal's sessions by its handle ("log
    /// out that device"); returns whether it was listed. Revoking this
    /// session's own handle ends it on its next request; use
    /// [`Session::terminate`] to end it in this one.
    ///
    /// # Errors
    /// A store error; [`Error::Unsupported`]; [`Error::NotFound`] when this
    /// session is not bound.
    pub async fn revoke_session(&self, handle: &SessionHandle) -> Result<bool> {
        let binding = self.binding().await?.ok_or(Error::NotFound)?;
        let now = self.inner.ctx.config.clock.now();
        let p = binding.principal_hash();
        Ok(ops::revoke(&self.inner.ctx, &p, Scope::One(*handle), now).await? > 0)
    }

    /// End every other session of this session's principal ("log out my
    /// other devices"); returns how many were listed. This one stays.
    ///
    /// # Errors
    /// A store error; [`Error::Unsupported`]; [`Error::NotFound`] when this
    /// session is not bound.
    pub async fn revoke_other_sessions(&self) -> Result<usize> {
        let binding = self.binding().await?.ok_or(Error::NotFound)?;
        let now = self.inner.ctx.config.clock.now();
        let p = binding.principal_hash();
        ops::revoke(&self.inner.ctx, &p, Scope::AllBut(binding.handle), now).await
    }

    async fn binding(&self) -> Result<Option<Binding>> {
        let mut state = self.inner.state.lock().await;
        Ok(self.active(&mut state).await?.binding.clone())
    }

    /// Whether [`Session::sync_index`] has anything to write: a binding
    /// ended, or a bound session's entry is due.
    pub(super) fn index_sync_due(active: &Active) -> bool {
        !active.unbound.is_empty() || Self::index_entry_due(active)
    }

    /// Whether a bound session's index entry is due for a rewrite.
    fn index_entry_due(active: &Active) -> bool {
        active.index_due && active.binding.is_some() && active.id.is_some()
    }

    /// After the save: deny and unlist the bindings this request ended, and
    /// record where a bound session now lives and when it expires. A session
    /// the principal's revocations cover by then (a login racing "log out
    /// everywhere") is deleted and the save fails with [`Error::Ended`].
    ///
    /// # Errors
    /// A store error, or [`Error::Ended`].
    pub(super) async fn sync_index(&self, active: &mut Active, now: UnixTime) -> Result<()> {
        let ctx = &self.inner.ctx;
        if !Self::index_sync_due(active) {
            return Ok(());
        }
        let due = Self::index_entry_due(active);
        let (store, index) = ops::index(ctx)?;
        for (binding, created_at) in std::mem::take(&mut active.unbound) {
            let p = binding.principal_hash();
            let handle = binding.handle;
            // Any copy of its cookie expires by its absolute timeout.
            let keep = created_at.saturating_add(ctx.config.absolute_timeout.as_secs());
            index
                .revoke(&p, &Revocation::One { handle }, keep.max(now + 1), now)
                .await?;
            index.remove_session(&p, &handle, now).await?;
            ctx.revocations.forget(&binding.principal);
        }
        let (Some(binding), Some(id), true) = (active.binding.clone(), active.id.clone(), due)
        else {
            return Ok(());
        };
        let store_key = matches!(active.origin, Origin::Stored(_))
            .then(|| active.store_key(&ctx.config.store_keys, &id));
        let entry = IndexEntry {
            handle: binding.handle,
            store_key: store_key.clone(),
            created_at: active.created_at,
            last_active: active.last_active,
            expires_at: active.expires_at,
            bound_at: binding.bound_at,
            description: binding.description.clone(),
        };
        let p = binding.principal_hash();
        let revocations = index.put_session(&p, &entry, now).await?;
        let revoked = revocations.revokes(&binding.handle, binding.bound_at);
        ctx.revocations.put(&binding.principal, revocations, now);
        if revoked {
            if let Some(key) = &store_key {
                store.delete(key, now).await?;
            }
            index.remove_session(&p, &binding.handle, now).await?;
            tracing::warn!("session revoked while it was being saved; not saving");
            return Err(Error::Ended);
        }
        active.index_due = false;
        Ok(())
    }
}

/// Make `binding` the session's, in its state and in its data.
fn set_binding(active: &mut Active, binding: Binding) {
    active
        .data
        .set(BINDING_KEY, Some(binding.to_bytes()), Durability::Durable);
    active.binding = Some(binding);
    active.index_due = true;
}
