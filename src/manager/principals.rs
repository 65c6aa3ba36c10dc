//! [`SessionManager`]'s side of sessions bound to a principal: what an admin
//! tool, a password change or a "where am I logged in" page calls.

use crate::error::Result;
use crate::principal::ops::{self, Scope};
use crate::principal::{PrincipalHash, SessionHandle, SessionInfo};

use super::SessionManager;

impl SessionManager {
    /// The keyed hash stores index `principal` by (for admin tools that
    /// look at the store directly).
    pub fn principal_hash(&self, principal: impl AsRef<[u8]>) -> PrincipalHash {
        self.inner.config.principals.hash(principal.as_ref())
    }

    /// The live sessions bound to `principal` (one store read), most
    /// recently active first; the one whose handle is `current` is marked.
    /// Expired and revoked sessions never appear.
    ///
    /// # Errors
    /// A store error, or [`crate::Error::Unsupported`] when the store keeps
    /// no principal index.
    pub async fn list_sessions(
        &self,
        principal: impl AsRef<[u8]>,
        current: Option<&SessionHandle>,
    ) -> Result<Vec<SessionInfo>> {
        let p = self.principal_hash(principal);
        ops::list(&self.inner, &p, current, self.now()).await
    }

    /// End the session `handle` of `principal`: a stored one at once (its
    /// record is deleted from every tier, and a late save cannot bring it
    /// back), a cookie-only one (copies of its cookie included) within
    /// `revocation_check_interval`. Returns whether it was listed.
    ///
    /// # Errors
    /// As [`SessionManager::list_sessions`]; after an error the revocation
    /// may be partly applied, so call it again.
    pub async fn revoke_session(
        &self,
        principal: impl AsRef<[u8]>,
        handle: &SessionHandle,
    ) -> Result<bool> {
        let p = self.principal_hash(principal);
        Ok(ops::revoke(&self.inner, &p, Scope::One(*handle), self.now()).await? > 0)
    }

    /// End every session of `principal` bound until now ("log out
    /// everywhere", "after a password change"), as
    /// [`SessionManager::revoke_session`] ends one. Returns how many were
    /// listed. A login in the same second is ended too.
    ///
    /// # Errors
    /// As [`SessionManager::revoke_session`].
    pub async fn revoke_all_sessions(&self, principal: impl AsRef<[u8]>) -> Result<usize> {
        let p = self.principal_hash(principal);
        ops::revoke(&self.inner, &p, Scope::All, self.now()).await
    }

    /// End every session of `principal` but `keep` ("log out my other
    /// devices"). Returns how many were listed.
    ///
    /// # Errors
    /// As [`SessionManager::revoke_session`].
    pub async fn revoke_other_sessions(
        &self,
        principal: impl AsRef<[u8]>,
        keep: &SessionHandle,
    ) -> Result<usize> {
        let p = self.principal_hash(principal);
        ops::revoke(&self.inner, &p, Scope::AllBut(*keep), self.now()).await
    }

    /// Delete expired principal-index entries, `batch` at a time, until the
    /// scan is complete; returns how many went. [`SessionManager::delete_expired`]
    /// runs it after the records.
    ///
    /// # Errors
    /// A store error; entries already deleted stay deleted.
    pub async fn delete_expired_index_entries(&self, batch: usize) -> Result<u64> {
        let Some(index) = self.inner.store.as_ref().and_then(|s| s.principal_index()) else {
            return Ok(0);
        };
        let now = self.now();
        let (mut deleted, mut cursor) = (0, None);
        loop {
            let page = index
                .delete_expired_index(now, batch.max(1), cursor)
                .await?;
            deleted += page.deleted;
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(deleted),
            }
        }
    }
}
