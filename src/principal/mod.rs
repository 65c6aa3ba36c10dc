//! Sessions bound to a principal (the app's user): the store capability that
//! indexes them ([`PrincipalIndex`]), the values it keeps, and what
//! [`crate::SessionManager`] hands out when it lists them ([`SessionInfo`]).
//!
//! A principal is never kept in clear: stores, cookies and logs see only
//! [`PrincipalHash`], an HMAC of it under a key derived from the store-key
//! secret.

pub(crate) mod binding;
pub(crate) mod cache;
pub(crate) mod entry;
pub(crate) mod ops;

use std::fmt;

use async_trait::async_trait;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::clock::UnixTime;
use crate::error::{Error, Result};
use crate::store::{CleanupBatch, CleanupCursor};

pub use self::entry::{
    IndexEntry, MAX_DESCRIPTION_LEN, PrincipalSessions, Revocation, Revocations,
};

/// How many bytes of the principal's HMAC are kept: 128 bits, so two users
/// share a hash only by a 2^-64 birthday chance among 2^32 users, and a
/// bound cookie carries 16 bytes fewer than with the whole tag.
pub(crate) const PRINCIPAL_HASH_LEN: usize = 16;

/// The keyed hash of a principal: what stores index sessions by. Lowercase
/// hex of HMAC-SHA256, cut to 128 bits, under a key derived from the
/// store-key secret, so a leaked store or log names no user.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrincipalHash {
    raw: [u8; PRINCIPAL_HASH_LEN],
    hex: [u8; 2 * PRINCIPAL_HASH_LEN],
}

impl PrincipalHash {
    pub(crate) fn from_raw(raw: [u8; PRINCIPAL_HASH_LEN]) -> Self {
        let mut hex = [0u8; 2 * PRINCIPAL_HASH_LEN];
        for (pair, b) in hex.chunks_exact_mut(2).zip(raw.iter()) {
            pair[0] = HEX[usize::from(b >> 4)];
            pair[1] = HEX[usize::from(b & 0xf)];
        }
        PrincipalHash { raw, hex }
    }

    pub(crate) fn raw(&self) -> &[u8; PRINCIPAL_HASH_LEN] {
        &self.raw
    }

    /// The hash as 32 lowercase hex digits, for use in backend requests.
    pub fn as_str(&self) -> &str {
        // Always ASCII hex.
        std::str::from_utf8(&self.hex).unwrap_or_default()
    }
}

impl fmt::Debug for PrincipalHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrincipalHash({})", self.as_str())
    }
}

impl fmt::Display for PrincipalHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Turns principals into [`PrincipalHash`]es with a key of its own, derived
/// from the store-key secret (so it stays stable across signing-key rotation).
#[derive(Clone)]
pub(crate) struct PrincipalHasher {
    mac: Hmac<Sha256>,
}

impl PrincipalHasher {
    pub(crate) fn new(store_secret: &[u8]) -> Result<Self> {
        let mut derive = <Hmac<Sha256> as KeyInit>::new_from_slice(store_secret)
            .map_err(|_| Error::config("unusable store key secret"))?;
        derive.update(b"tiered-sessions/principal/v1");
        let key = derive.finalize().into_bytes();
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key)
            .map_err(|_| Error::config("unusable store key secret"))?;
        Ok(PrincipalHasher { mac })
    }

    pub(crate) fn hash(&self, principal: &[u8]) -> PrincipalHash {
        let mut mac = self.mac.clone();
        mac.update(principal);
        let tag = mac.finalize().into_bytes();
        let mut raw = [0u8; PRINCIPAL_HASH_LEN];
        raw.copy_from_slice(&tag[..PRINCIPAL_HASH_LEN]);
        PrincipalHash::from_raw(raw)
    }
}

impl fmt::Debug for PrincipalHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrincipalHasher(<secret>)")
    }
}

/// The length of a [`SessionHandle`] in bytes.
pub const SESSION_HANDLE_LEN: usize = 8;

/// An opaque, random name for one bound session, given out by listings and
/// taken by revocations. It is not the session id: knowing it lets nobody
/// use the session. It names a session only among its principal's sessions
/// (every index keys it under the principal), so 64 random bits make two of
/// one principal's sessions collide only by a 2^-38 chance at 10 000 of them. It stays the same for the session's life (across
/// `regenerate_id()` and moves between the cookie and the store).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionHandle([u8; SESSION_HANDLE_LEN]);

impl SessionHandle {
    /// A fresh random handle.
    ///
    /// # Errors
    /// The OS random source failing.
    pub fn generate() -> Result<Self> {
        let mut b = [0u8; SESSION_HANDLE_LEN];
        crate::rng::fill(&mut b)?;
        Ok(SessionHandle(b))
    }

    /// A handle from its bytes.
    pub fn from_bytes(bytes: [u8; SESSION_HANDLE_LEN]) -> Self {
        SessionHandle(bytes)
    }

    /// The handle's bytes.
    pub fn as_bytes(&self) -> &[u8; SESSION_HANDLE_LEN] {
        &self.0
    }

    /// The handle as 16 lowercase hex digits (for a form field or a URL).
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(2 * SESSION_HANDLE_LEN);
        for b in self.0 {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        s
    }

    /// Parse [`SessionHandle::to_text`]'s output.
    ///
    /// # Errors
    /// [`Error::Codec`] unless `text` is exactly 16 hex digits.
    pub fn parse(text: &str) -> Result<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 2 * SESSION_HANDLE_LEN {
            return Err(Error::codec("a session handle is 16 hex digits"));
        }
        let digit = |c: u8| -> Result<u8> {
            match c {
                b'0'..=b'9' => Ok(c - b'0'),
                b'a'..=b'f' => Ok(c - b'a' + 10),
                b'A'..=b'F' => Ok(c - b'A' + 10),
                _ => Err(Error::codec("a session handle is 16 hex digits")),
            }
        };
        let mut out = [0u8; SESSION_HANDLE_LEN];
        for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            *o = digit(pair[0])? << 4 | digit(pair[1])?;
        }
        Ok(SessionHandle(out))
    }
}

impl fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionHandle({})", self.to_text())
    }
}

impl fmt::Display for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// Where a listed session lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionLocation {
    /// In the browser's cookie alone (revoked within `revocation_check_interval`).
    Cookie,
    /// In the store (revoked at once).
    Store,
}

/// One of a principal's live sessions, as [`crate::SessionManager::list_sessions`]
/// reports it. Times are UNIX seconds, as of the session's last expiry
/// refresh (at most `touch_interval` old).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// What [`crate::SessionManager::revoke_session`] takes.
    pub handle: SessionHandle,
    /// When the session began.
    pub created_at: UnixTime,
    /// Its last recorded activity.
    pub last_active: UnixTime,
    /// When it expires unless used again.
    pub expires_at: UnixTime,
    /// Where it lives.
    pub location: SessionLocation,
    /// What the app said about it ([`crate::Session::set_description`]).
    pub description: String,
    /// Whether it is the session of the request that asked.
    pub current: bool,
}

/// An optional capability of a [`crate::SessionStore`]: an index of bound
/// sessions by principal, and the principal's revocations. A store offers it
/// through [`crate::SessionStore::principal_index`]; every driver shipped
/// here does, and the conformance suite checks each clause.
///
/// Everything is keyed by [`PrincipalHash`]; entries and revocations carry
/// their own lifetimes and must disappear with them (native TTL where the
/// backend has one, and [`PrincipalIndex::delete_expired_index`]). Reads
/// never return an entry expired at `now`, nor a deny entry whose time has
/// passed.
#[async_trait]
pub trait PrincipalIndex: Send + Sync + fmt::Debug {
    /// Insert or replace the entry of `entry.handle`, kept until
    /// `entry.expires_at`; then read the principal's revocations, as they
    /// stand after the write (the session layer checks its own session
    /// against them, so a login racing a "log out everywhere" cannot survive
    /// it unseen).
    ///
    /// # Errors
    /// A backend error.
    async fn put_session(
        &self,
        principal: &PrincipalHash,
        entry: &IndexEntry,
        now: UnixTime,
    ) -> Result<Revocations>;

    /// The principal's live entries and its revocations, in one read.
    ///
    /// # Errors
    /// A backend error, or [`Error::Codec`] for an entry it cannot decode.
    async fn load_principal(
        &self,
        principal: &PrincipalHash,
        now: UnixTime,
    ) -> Result<PrincipalSessions>;

    /// The principal's revocations (the check a bound session's load makes,
    /// at most once per `revocation_check_interval` per process).
    ///
    /// # Errors
    /// A backend error.
    async fn revocations(&self, principal: &PrincipalHash, now: UnixTime) -> Result<Revocations>;

    /// Remove the entry of `handle`; removing a missing one succeeds.
    ///
    /// # Errors
    /// A backend error.
    async fn remove_session(
        &self,
        principal: &PrincipalHash,
        handle: &SessionHandle,
        now: UnixTime,
    ) -> Result<()>;

    /// Record a revocation, kept at least until `keep_until`. A
    /// [`Revocation::AllBefore`] older than the one stored changes nothing.
    ///
    /// # Errors
    /// A backend error.
    async fn revoke(
        &self,
        principal: &PrincipalHash,
        revocation: &Revocation,
        keep_until: UnixTime,
        now: UnixTime,
    ) -> Result<()>;

    /// Delete up to `max` index entries (and lapsed revocations) expired at
    /// `now`, from `cursor`, like [`crate::SessionStore::delete_expired`].
    /// `deleted` counts session entries.
    ///
    /// # Errors
    /// A backend error; batches done stay done.
    async fn delete_expired_index(
        &self,
        now: UnixTime,
        max: usize,
        cursor: Option<CleanupCursor>,
    ) -> Result<CleanupBatch>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_round_trip_and_bad_text_is_typed() {
        let h = SessionHandle::generate().unwrap();
        assert_eq!(SessionHandle::parse(&h.to_text()).unwrap(), h);
        assert_eq!(
            SessionHandle::parse(&h.to_text().to_uppercase()).unwrap(),
            h
        );
        for bad in ["", "zz", &"g".repeat(32), &"a".repeat(33), "é"] {
            assert!(matches!(
                SessionHandle::parse(bad),
                Err(Error::Codec { .. })
            ));
        }
    }

    #[test]
    fn principal_hash_is_keyed_and_hides_the_principal() {
        let a = PrincipalHasher::new(&[1u8; 32]).unwrap();
        let b = PrincipalHasher::new(&[2u8; 32]).unwrap();
        let (ha, hb) = (a.hash(b"alice"), b.hash(b"alice"));
        assert_ne!(ha, hb);
        assert_eq!(ha, a.hash(b"alice"));
        assert_eq!(ha.as_str().len(), 32);
        assert!(!format!("{ha:?}{ha}").contains("alice"));
        assert_eq!(PrincipalHash::from_raw(*ha.raw()), ha);
    }
}
