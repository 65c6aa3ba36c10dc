//! Checking a session cookie the way the layer does, for operators' tools
//! (the `tiered-sessions inspect` command): whether it verifies, why not,
//! and what it says — without the request path around it.
//!
//! ```
//! use tiered_sessions::inspect::{self, CookieStorage};
//! # let config = tiered_sessions::SessionConfig::builder([[7u8; 32]]).build().unwrap();
//! let header = b"theme=dark; session=not-a-session";
//! let (candidates, ignored) = inspect::session_cookies(&config, &[&header[..]]);
//! assert_eq!((candidates.len(), ignored), (1, 0));
//! match inspect::inspect_cookie(&config, &candidates[0].value, candidates[0].chunked) {
//!     Ok(cookie) => println!("session until {}", cookie.expires_at),
//!     Err(why) => println!("no session: {why}"),
//! }
//! ```

use std::fmt;

use crate::clock::UnixTime;
use crate::config::SessionConfig;
use crate::cookie::{self as wire, CookieBody};
use crate::principal::SessionHandle;
use crate::principal::binding::{Binding, Found};
use crate::record::SessionData;
use crate::request_cookies::RequestCookies;
use crate::session_id::SessionId;

pub use crate::cookie::CookieRejection;

/// A session cookie value found in `Cookie` headers by [`session_cookies`].
/// `Debug` shows its length only: the value is a credential.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CookieCandidate {
    /// The joined chunks (`name.0`, `name.1`, …) rather than one cookie.
    pub chunked: bool,
    /// The value.
    pub value: Vec<u8>,
}

impl fmt::Debug for CookieCandidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieCandidate")
            .field("chunked", &self.chunked)
            .field("len", &self.value.len())
            .finish()
    }
}

/// The session cookie values the layer would try from these `Cookie` header
/// values, in its order (up to three copies of the cookie name, then the
/// chunks joined), and how many further copies it would ignore.
pub fn session_cookies(config: &SessionConfig, headers: &[&[u8]]) -> (Vec<CookieCandidate>, usize) {
    let cookies = RequestCookies::from_raw(headers.iter().copied());
    let found = cookies.candidates(config);
    let values = found
        .values()
        .map(|(chunked, value)| CookieCandidate {
            chunked,
            value: value.to_vec(),
        })
        .collect();
    (values, found.ignored)
}

/// Where a cookie's session data lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CookieStorage {
    /// In the cookie itself (signed, perhaps encrypted).
    CookieOnly,
    /// In the store, under the id's store key
    /// ([`crate::SessionManager::load_by_id`]).
    Store,
}

/// Which timeout ended (or will end) a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpiryCause {
    /// The idle timeout since the last recorded activity.
    Idle,
    /// The absolute timeout since creation.
    Absolute,
}

/// What a cookie whose signature verified says. The expiry is not checked
/// ([`InspectedCookie::is_expired`] tells). `Debug` shows neither the id nor
/// the data.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InspectedCookie {
    /// The session id.
    pub id: SessionId,
    /// When the session began (UNIX seconds).
    pub created_at: UnixTime,
    /// Its last recorded activity.
    pub last_active: UnixTime,
    /// When the cookie stops being accepted.
    pub expires_at: UnixTime,
    /// Where the data lives.
    pub storage: CookieStorage,
    /// A cookie-only session's data (reserved keys included, see
    /// [`binding`]); `None` for a stored session.
    pub data: Option<SessionData>,
    /// Whether the data travelled encrypted.
    pub encrypted: bool,
    /// Whether a key other than the configuration's first signed it (the
    /// layer re-issues such cookies under the first).
    pub signed_with_old_key: bool,
    /// Whether it was the joined value of chunks.
    pub chunked: bool,
    /// The value's length in bytes.
    pub value_len: usize,
}

impl InspectedCookie {
    /// Whether the layer would refuse it as expired at `now`.
    pub fn is_expired(&self, now: UnixTime) -> bool {
        self.expires_at <= now
    }

    /// Which timeout of `config` set its expiry: the absolute one when the
    /// expiry is creation plus the absolute timeout, else the idle one.
    pub fn expiry_cause(&self, config: &SessionConfig) -> ExpiryCause {
        let absolute = self
            .created_at
            .saturating_add(config.absolute_timeout.as_secs());
        if self.expires_at >= absolute || config.idle_timeout.is_none() {
            ExpiryCause::Absolute
        } else {
            ExpiryCause::Idle
        }
    }
}

impl fmt::Debug for InspectedCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InspectedCookie")
            .field("created_at", &self.created_at)
            .field("last_active", &self.last_active)
            .field("expires_at", &self.expires_at)
            .field("storage", &self.storage)
            .field("data_entries", &self.data.as_ref().map(|d| d.len()))
            .field("encrypted", &self.encrypted)
            .field("signed_with_old_key", &self.signed_with_old_key)
            .field("chunked", &self.chunked)
            .field("value_len", &self.value_len)
            .finish_non_exhaustive()
    }
}

/// Verify a session cookie value (a single cookie's, or the joined chunks'
/// when `chunked`) under `config`'s keys, cookie name and length limit, as
/// the layer does, and say what it holds — whatever its expiry.
///
/// # Errors
/// Why the layer would refuse it before looking at the expiry: a bad
/// signature (tampered, another key, another cookie name), a malformed or
/// over-long value, an unknown format.
pub fn inspect_cookie(
    config: &SessionConfig,
    value: &[u8],
    chunked: bool,
) -> Result<InspectedCookie, CookieRejection> {
    let name = if chunked {
        &config.chunked_mac_name
    } else {
        &config.cookie_name
    };
    // At time 0 nothing has expired: the caller compares the expiry itself.
    let decoded = wire::decode(&config.keys, name, value, 0, config.max_value_len())?;
    let c = decoded.contents;
    let (storage, data) = match c.body {
        CookieBody::Stored => (CookieStorage::Store, None),
        CookieBody::Data(data) => (
            CookieStorage::CookieOnly,
            Some(crate::record::SessionData::from_encoded(data)),
        ),
    };
    Ok(InspectedCookie {
        id: c.id,
        created_at: c.created_at,
        last_active: c.last_active,
        expires_at: c.expires_at,
        storage,
        data,
        encrypted: decoded.encrypted,
        signed_with_old_key: decoded.signed_with_old_key,
        chunked,
        value_len: value.len(),
    })
}

/// A session's binding to a principal, as [`binding`] reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BindingInfo {
    /// The handle that [`crate::SessionManager::revoke_session`] takes.
    pub handle: SessionHandle,
    /// When it was bound (UNIX seconds).
    pub bound_at: UnixTime,
    /// What the app said about it ([`crate::Session::set_description`]).
    pub description: String,
}

/// The binding recorded in a session's data (a cookie-only session's
/// [`InspectedCookie::data`] or a stored [`crate::Record::data`]): `Ok(None)`
/// when unbound.
///
/// # Errors
/// When the reserved entry is there but malformed (the layer then treats the
/// session as none).
pub fn binding(data: &SessionData) -> Result<Option<BindingInfo>, CookieRejection> {
    match Binding::in_data(data) {
        Found::Unbound => Ok(None),
        Found::Bound(b) => Ok(Some(BindingInfo {
            handle: b.handle,
            bound_at: b.bound_at,
            description: b.description,
        })),
        Found::Malformed => Err(CookieRejection::Malformed),
    }
}

/// Whether `key` is reserved for the library (a binding), never a handler's.
pub fn is_reserved_key(key: &str) -> bool {
    crate::principal::binding::is_reserved(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::EncodedData;
    use crate::cookie::CookieContents;

    fn config(keys: &[[u8; 32]]) -> SessionConfig {
        SessionConfig::builder(keys.iter()).build().unwrap()
    }

    fn cookie(config: &SessionConfig, data: Option<&SessionData>) -> String {
        let contents = CookieContents {
            id: SessionId::generate().unwrap(),
            expires_at: 500,
            created_at: 100,
            last_active: 400,
            body: data.map_or(CookieBody::Stored, |d| {
                CookieBody::Data(EncodedData::encode(d))
            }),
        };
        wire::encode(&config.keys, &config.cookie_name, &contents, false).unwrap()
    }

    #[test]
    fn a_cookie_is_read_whatever_its_expiry_and_refused_when_tampered() {
        let old = config(&[[1; 32]]);
        let mut data = SessionData::new();
        data.insert("user".into(), vec![3]);
        let value = cookie(&old, Some(&data));
        let got = inspect_cookie(&old, value.as_bytes(), false).unwrap();
        assert_eq!(got.storage, CookieStorage::CookieOnly);
        assert_eq!(got.data.as_ref(), Some(&data));
        assert!(got.is_expired(500) && !got.is_expired(499));
        assert!(!got.signed_with_old_key);
        assert!(!format!("{got:?}").contains(&got.id.to_text()));
        // The idle timeout (24 h by default) cannot explain 100 → 500.
        assert_eq!(got.expiry_cause(&old), ExpiryCause::Idle);

        let rotated = config(&[[2; 32], [1; 32]]);
        assert!(
            inspect_cookie(&rotated, value.as_bytes(), false)
                .unwrap()
                .signed_with_old_key
        );
        assert_eq!(
            inspect_cookie(&config(&[[2; 32]]), value.as_bytes(), false),
            Err(CookieRejection::BadSignature)
        );
        assert_eq!(
            inspect_cookie(&old, value.as_bytes(), true),
            Err(CookieRejection::BadSignature)
        );
        let stored = cookie(&old, None);
        let header = format!("a=1; session={stored}");
        let (found, ignored) = session_cookies(&old, &[header.as_bytes()]);
        assert_eq!((found.len(), ignored), (1, 0));
        let got = inspect_cookie(&old, &found[0].value, found[0].chunked).unwrap();
        assert_eq!((got.storage, got.data), (CookieStorage::Store, None));
    }

    #[test]
    fn bindings_and_reserved_keys_are_recognised() {
        let mut data = SessionData::new();
        assert_eq!(binding(&data), Ok(None));
        data.insert(crate::principal::binding::BINDING_KEY.into(), vec![9]);
        assert_eq!(binding(&data), Err(CookieRejection::Malformed));
        assert!(is_reserved_key(crate::principal::binding::BINDING_KEY));
        assert!(!is_reserved_key("user"));
    }
}
