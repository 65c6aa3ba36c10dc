//! The values a [`super::PrincipalIndex`] keeps: one entry per bound session,
//! and the principal's revocations; with the one byte format stores that keep
//! them as blobs share.

use crate::clock::UnixTime;
use crate::error::{Error, Result};
use crate::session_id::StoreKey;

use super::SessionHandle;

/// The longest description (UTF-8 bytes) an app may attach to a session;
/// longer ones are cut at a character boundary.
pub const MAX_DESCRIPTION_LEN: usize = 128;

/// The entry's fixed part: four times and the store key's length.
const FIXED: usize = 33;

/// One bound session as the index keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    /// The session's handle (the entry's name within its principal).
    pub handle: SessionHandle,
    /// The store key of its record, or `None` while it lives in the cookie.
    pub store_key: Option<StoreKey>,
    /// When the session began.
    pub created_at: UnixTime,
    /// Its last recorded activity.
    pub last_active: UnixTime,
    /// When it expires; the entry is kept until then and no longer.
    pub expires_at: UnixTime,
    /// When it was bound to the principal (what revocations compare with).
    pub bound_at: UnixTime,
    /// The app's description, at most [`MAX_DESCRIPTION_LEN`] bytes.
    pub description: String,
}

impl IndexEntry {
    /// The entry without its handle, as bytes: `expires_at`, `created_at`,
    /// `last_active`, `bound_at` (8 bytes big-endian each), the store key's length (one
    /// byte, 0 for none) and text, then the description. The expiry comes
    /// first so a server-side script can read it without decoding the rest.
    pub fn to_bytes(&self) -> Vec<u8> {
        let key = self.store_key.as_ref().map_or("", StoreKey::as_str);
        let mut out = Vec::with_capacity(FIXED + key.len() + self.description.len());
        out.extend_from_slice(&self.expires_at.to_be_bytes());
        out.extend_from_slice(&self.created_at.to_be_bytes());
        out.extend_from_slice(&self.last_active.to_be_bytes());
        out.extend_from_slice(&self.bound_at.to_be_bytes());
        // Store keys are 64 hex digits; a longer one is cut rather than wrapped.
        let key = &key.as_bytes()[..key.len().min(255)];
        out.push(key.len() as u8);
        out.extend_from_slice(key);
        out.extend_from_slice(cut(&self.description, MAX_DESCRIPTION_LEN).as_bytes());
        out
    }

    /// Decode [`IndexEntry::to_bytes`]'s output for `handle`.
    ///
    /// # Errors
    /// [`Error::Codec`] for bytes it did not write.
    pub fn from_bytes(handle: SessionHandle, bytes: &[u8]) -> Result<Self> {
        let bad = || Error::codec("malformed principal index entry");
        if bytes.len() < FIXED {
            return Err(bad());
        }
        let be = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            u64::from_be_bytes(b)
        };
        let key_len = usize::from(bytes[FIXED - 1]);
        let rest = bytes.get(FIXED..).ok_or_else(bad)?;
        if rest.len() < key_len || rest.len() - key_len > MAX_DESCRIPTION_LEN {
            return Err(bad());
        }
        let (key, description) = rest.split_at(key_len);
        let key = std::str::from_utf8(key).map_err(|_| bad())?;
        let description = std::str::from_utf8(description).map_err(|_| bad())?;
        Ok(IndexEntry {
            handle,
            store_key: (!key.is_empty()).then(|| StoreKey::from_stored(key)),
            expires_at: be(0),
            created_at: be(8),
            last_active: be(16),
            bound_at: be(24),
            description: description.to_owned(),
        })
    }

    /// Whether the entry is expired at `now`.
    pub fn is_expired(&self, now: UnixTime) -> bool {
        self.expires_at <= now
    }
}

/// `text` cut to at most `max` bytes at a character boundary.
pub(crate) fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// What a principal's sessions are revoked by.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Revocations {
    /// Every session bound at or before this time is revoked (0: none)…
    pub not_before: UnixTime,
    /// …except this one ("log out my other devices").
    pub except: Option<SessionHandle>,
    /// Single sessions revoked, each with the time after which its deny
    /// entry may go (the session cannot outlive it).
    pub denied: Vec<(SessionHandle, UnixTime)>,
}

impl Revocations {
    /// Whether the session `handle`, bound at `bound_at`, is revoked.
    pub fn revokes(&self, handle: &SessionHandle, bound_at: UnixTime) -> bool {
        // "At or before": a login in the same second as a revocation is
        // revoked too (the safe side of a one-second clock).
        (self.not_before > 0 && bound_at <= self.not_before && self.except.as_ref() != Some(handle))
            || self.denied.iter().any(|(h, _)| h == handle)
    }
}

/// A revocation to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// Revoke every session bound at or before `at`, except `except`.
    AllBefore {
        /// The time of the revocation.
        at: UnixTime,
        /// The session that stays (the current one, for "log out others").
        except: Option<SessionHandle>,
    },
    /// Revoke one session.
    One {
        /// Its handle.
        handle: SessionHandle,
    },
}

/// A principal's live index entries and its revocations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrincipalSessions {
    /// The entries not expired at the time of the read, in no set order.
    pub sessions: Vec<IndexEntry>,
    /// The revocations in force.
    pub revocations: Revocations,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_reject_what_they_did_not_write() {
        let h = SessionHandle::from_bytes([7; 8]);
        for key in [None, Some(StoreKey::from_stored("ab".repeat(32)))] {
            let e = IndexEntry {
                handle: h,
                store_key: key,
                created_at: 1,
                last_active: 2,
                expires_at: 3,
                bound_at: 1,
                description: "Firefox on Linux".into(),
            };
            assert_eq!(IndexEntry::from_bytes(h, &e.to_bytes()).unwrap(), e);
        }
        for bad in [&[][..], &[0; 32], &[0xff; 40]] {
            assert!(IndexEntry::from_bytes(h, bad).is_err());
        }
    }

    #[test]
    fn descriptions_are_cut_at_a_character_boundary() {
        let long = "é".repeat(100);
        let c = cut(&long, MAX_DESCRIPTION_LEN);
        assert!(c.len() <= MAX_DESCRIPTION_LEN && c.chars().all(|ch| ch == 'é'));
        assert_eq!(cut("short", 128), "short");
    }

    #[test]
    fn revocations_cover_older_bindings_but_not_the_exception() {
        let (a, b) = (
            SessionHandle::from_bytes([1; 8]),
            SessionHandle::from_bytes([2; 8]),
        );
        let r = Revocations {
            not_before: 100,
            except: Some(a),
            denied: vec![],
        };
        assert!(!r.revokes(&a, 50));
        assert!(r.revokes(&b, 100));
        assert!(!r.revokes(&b, 101));
        let denied = Revocations {
            denied: vec![(a, 500)],
            ..Revocations::default()
        };
        assert!(denied.revokes(&a, 1000) && !denied.revokes(&b, 0));
    }
}
