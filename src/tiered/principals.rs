//! The principal index of a [`TieredStore`]: the durable tier's. Index
//! entries and revocations are few and read at most once per
//! `revocation_check_interval` per principal, so they gain nothing from the
//! cache tier, and keeping them in one place leaves no tier ordering to get
//! wrong. Revoking a stored session still goes through
//! [`crate::SessionStore::delete`] of the tiered store, which clears the
//! cache first and leaves a deletion marker.

use crate::principal::PrincipalIndex;
use crate::store::{CacheTier, SessionStore};

use super::TieredStore;

impl<C: CacheTier + 'static, D: SessionStore> TieredStore<C, D> {
    /// The durable tier's principal index, if it keeps one.
    pub(super) fn durable_principal_index(&self) -> Option<&dyn PrincipalIndex> {
        self.durable.principal_index()
    }
}
