//! `SessionStore` and `CacheTier` for `Arc` and `Box` of one.

use std::sync::Arc;

use super::{
    CacheOutcome, CacheTier, CallFuture, CleanupBatch, CleanupCursor, Durability, SessionStore,
};
use crate::clock::UnixTime;
use crate::principal::PrincipalIndex;
use crate::record::Record;
use crate::session_id::StoreKey;

// The forwarding impls for `Arc`/`Box` hand on the inner store's future
// as it is (through `#[async_trait]` they would box a second future around
// every call).
macro_rules! forward_store {
    ($ty:ty) => {
        impl<S: SessionStore + ?Sized> SessionStore for $ty {
            fn max_record_bytes(&self) -> usize {
                (**self).max_record_bytes()
            }
            fn load<'a, 'k, 't>(
                &'a self,
                key: &'k StoreKey,
                now: UnixTime,
            ) -> CallFuture<'t, Option<Record>>
            where
                'a: 't,
                'k: 't,
                Self: 't,
            {
                (**self).load(key, now)
            }
            fn create<'a, 'k, 'r, 't>(
                &'a self,
                key: &'k StoreKey,
                record: &'r Record,
                now: UnixTime,
            ) -> CallFuture<'t, ()>
            where
                'a: 't,
                'k: 't,
                'r: 't,
                Self: 't,
            {
                (**self).create(key, record, now)
            }
            fn save<'a, 'k, 'r, 't>(
                &'a self,
                key: &'k StoreKey,
                record: &'r Record,
                expected_version: u64,
                durability: Durability,
                now: UnixTime,
            ) -> CallFuture<'t, ()>
            where
                'a: 't,
                'k: 't,
                'r: 't,
                Self: 't,
            {
                (**self).save(key, record, expected_version, durability, now)
            }
            fn delete<'a, 'k, 't>(&'a self, key: &'k StoreKey, now: UnixTime) -> CallFuture<'t, ()>
            where
                'a: 't,
                'k: 't,
                Self: 't,
            {
                (**self).delete(key, now)
            }
            fn delete_unless_newer<'a, 'k, 't>(
                &'a self,
                key: &'k StoreKey,
                expected_version: u64,
                now: UnixTime,
            ) -> CallFuture<'t, ()>
            where
                'a: 't,
                'k: 't,
                Self: 't,
            {
                (**self).delete_unless_newer(key, expected_version, now)
            }
            fn touch<'a, 'k, 't>(
                &'a self,
                key: &'k StoreKey,
                expires_at: UnixTime,
                last_active: UnixTime,
                now: UnixTime,
            ) -> CallFuture<'t, ()>
            where
                'a: 't,
                'k: 't,
                Self: 't,
            {
                (**self).touch(key, expires_at, last_active, now)
            }
            fn delete_expired<'a, 't>(
                &'a self,
                now: UnixTime,
                max: usize,
                cursor: Option<CleanupCursor>,
            ) -> CallFuture<'t, CleanupBatch>
            where
                'a: 't,
                Self: 't,
            {
                (**self).delete_expired(now, max, cursor)
            }
            fn principal_index(&self) -> Option<&dyn PrincipalIndex> {
                (**self).principal_index()
            }
        }
    };
}

forward_store!(Arc<S>);
forward_store!(Box<S>);

macro_rules! forward_cache {
    ($ty:ty) => {
        impl<C: CacheTier + ?Sized> CacheTier for $ty {
            fn max_record_bytes(&self) -> usize {
                (**self).max_record_bytes()
            }
            fn get<'a, 'k, 't>(
                &'a self,
                key: &'k StoreKey,
                now: UnixTime,
            ) -> CallFuture<'t, Option<Record>>
            where
                'a: 't,
                'k: 't,
                Self: 't,
            {
                (**self).get(key, now)
            }
            fn put_if_newer<'a, 'k, 'r, 't>(
                &'a self,
                key: &'k StoreKey,
                record: &'r Record,
                now: UnixTime,
            ) -> CallFuture<'t, ()>
            where
                'a: 't,
                'k: 't,
                'r: 't,
                Self: 't,
            {
                (**self).put_if_newer(key, record, now)
            }
            fn compare_and_swap<'a, 'k, 'r, 't>(
                &'a self,
                key: &'k StoreKey,
                record: &'r Record,
                expected_version: u64,
                now: UnixTime,
            ) -> CallFuture<'t, CacheOutcome>
            where
                'a: 't,
                'k: 't,
                'r: 't,
                Self: 't,
            {
                (**self).compare_and_swap(key, record, expected_version, now)
            }
            fn invalidate<'a, 'k, 't>(
                &'a self,
                key: &'k StoreKey,
                expected_version: u64,
                now: UnixTime,
            ) -> CallFuture<'t, CacheOutcome>
            where
                'a: 't,
                'k: 't,
                Self: 't,
            {
                (**self).invalidate(key, expected_version, now)
            }
            fn evict<'a, 'k, 't>(&'a self, key: &'k StoreKey, now: UnixTime) -> CallFuture<'t, ()>
            where
                'a: 't,
                'k: 't,
                Self: 't,
            {
                (**self).evict(key, now)
            }
            fn delete<'a, 'k, 't>(&'a self, key: &'k StoreKey, now: UnixTime) -> CallFuture<'t, ()>
            where
                'a: 't,
                'k: 't,
                Self: 't,
            {
                (**self).delete(key, now)
            }
            fn touch<'a, 'k, 't>(
                &'a self,
                key: &'k StoreKey,
                expires_at: UnixTime,
                last_active: UnixTime,
                now: UnixTime,
            ) -> CallFuture<'t, ()>
            where
                'a: 't,
                'k: 't,
                Self: 't,
            {
                (**self).touch(key, expires_at, last_active, now)
            }
        }
    };
}

forward_cache!(Arc<C>);
forward_cache!(Box<C>);
