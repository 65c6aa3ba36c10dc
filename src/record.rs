//! What a store keeps for one session.

use std::fmt;

use crate::clock::UnixTime;
use crate::error::{Error, Result};

pub use crate::session_data::SessionData;

/// One session as a store keeps it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Record {
    /// The session's data.
    pub data: SessionData,
    /// When the record stops being valid (UNIX seconds). A store never returns a
    /// record at or past this time, whether or not the backend has evicted it.
    pub expires_at: UnixTime,
    /// When the session began; the absolute timeout counts from here.
    pub created_at: UnixTime,
    /// The last recorded activity; the idle timeout counts from here.
    pub last_active: UnixTime,
    /// Grows by one on every save; saves are conditional on it.
    pub version: u64,
}

impl Record {
    /// Whether the record is expired at `now`.
    pub fn is_expired(&self, now: UnixTime) -> bool {
        self.expires_at <= now
    }

    /// Seconds left before expiry at `now` (0 if already expired).
    pub fn remaining_secs(&self, now: UnixTime) -> u64 {
        self.expires_at.saturating_sub(now)
    }

    /// The version a save over a record at `version` writes.
    ///
    /// # Errors
    /// [`Error::Codec`] when `version` is already `u64::MAX`: no save can
    /// follow it, so the stored record is treated as corrupt rather than
    /// wrapped back to 0.
    pub fn next_version(version: u64) -> Result<u64> {
        version.checked_add(1).ok_or_else(|| {
            Error::codec("stored record is at the highest version; treated as corrupt")
        })
    }

    /// The rule every `save` enforces before writing: this record's version
    /// must be greater than `expected_version`. Drivers call it first.
    ///
    /// # Errors
    /// [`Error::Codec`] when it is not (a caller bug or a hostile record).
    pub fn check_follows(&self, expected_version: u64) -> Result<()> {
        if self.version > expected_version {
            Ok(())
        } else {
            Err(Error::codec(format!(
                "a save must write a version above {expected_version}, not {}",
                self.version
            )))
        }
    }
}

// Data values are not printed: they may hold personal data or credentials.
impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("keys", &self.data.keys().collect::<Vec<_>>())
            .field("expires_at", &self.expires_at)
            .field("created_at", &self.created_at)
            .field("last_active", &self.last_active)
            .field("version", &self.version)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_exclusive_of_the_instant() {
        let r = Record {
            expires_at: 100,
            ..Record::default()
        };
        assert!(!r.is_expired(99));
        assert!(r.is_expired(100));
        assert_eq!(r.remaining_secs(40), 60);
        assert_eq!(r.remaining_secs(400), 0);
    }

    #[test]
    fn versions_never_wrap() {
        assert_eq!(Record::next_version(7).unwrap(), 8);
        assert!(matches!(
            Record::next_version(u64::MAX),
            Err(Error::Codec { .. })
        ));
        let r = Record {
            version: 5,
            ..Record::default()
        };
        assert!(r.check_follows(4).is_ok());
        assert!(matches!(r.check_follows(5), Err(Error::Codec { .. })));
        assert!(matches!(
            r.check_follows(u64::MAX),
            Err(Error::Codec { .. })
        ));
    }

    #[test]
    fn debug_hides_values() {
        let mut r = Record::default();
        r.data.insert("token".into(), b"s3cret".to_vec());
        let s = format!("{r:?}");
        assert!(s.contains("token"));
        assert!(!s.contains("s3cret") && !s.contains("115, 51"));
    }
}
