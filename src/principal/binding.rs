//! A session's binding to a principal, as it travels with the session's data
//! (in the cookie of a cookie-only session, in the record of a stored one)
//! under a reserved key that handlers can neither see nor set.
//!
//! ```text
//! key   = "\0b"
//! value = format(4) principal-hash(16) handle(8) bound_at(5, big-endian) description
//!       | format(5) principal-hash(16) handle(8) bound_at(8, big-endian) description
//! ```
//!
//! It is short on purpose (34 bytes with its framing): every byte of it is
//! base64-encoded, MACed and checked on each read of a bound cookie-only
//! session. The time has a fixed width, read without a loop; five bytes hold
//! any time before the year 36 000, and format 5 takes whatever a clock
//! might say beyond.

use crate::clock::UnixTime;
use crate::record::SessionData;

use super::entry::{MAX_DESCRIPTION_LEN, cut};
use super::{PRINCIPAL_HASH_LEN, PrincipalHash, SESSION_HANDLE_LEN, SessionHandle};

/// The reserved data key. It starts with NUL, which handlers' keys may not
/// (see [`is_reserved`]), and sorts before every other key but the empty one.
pub(crate) const BINDING_KEY: &str = "\0b";

/// The format with a 5-byte time, and the one with an 8-byte time.
const FORMAT_TIME_40: u8 = 4;
const FORMAT_TIME_64: u8 = 5;
const HANDLE_AT: usize = 1 + PRINCIPAL_HASH_LEN;
const BOUND_AT: usize = HANDLE_AT + SESSION_HANDLE_LEN;

/// Whether a handler's `key` is reserved for the library.
pub(crate) fn is_reserved(key: impl AsRef<[u8]>) -> bool {
    key.as_ref().first() == Some(&0)
}

/// A session's owner, its handle, and when it was bound (what "log out
/// everywhere" compares with).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Binding {
    pub(crate) principal: [u8; PRINCIPAL_HASH_LEN],
    pub(crate) handle: SessionHandle,
    pub(crate) bound_at: UnixTime,
    pub(crate) description: String,
}

/// What a session's data says about its binding.
pub(crate) enum Found {
    Unbound,
    Bound(Binding),
    /// A value under the reserved key that does not decode: signed or
    /// stored by us, so a bug or a hostile store; treated as no session.
    Malformed,
}

impl Binding {
    pub(crate) fn principal_hash(&self) -> PrincipalHash {
        PrincipalHash::from_raw(self.principal)
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let description = cut(&self.description, MAX_DESCRIPTION_LEN);
        let mut out = Vec::with_capacity(BOUND_AT + 8 + description.len());
        let time = self.bound_at.to_be_bytes();
        let time = if self.bound_at < 1 << 40 {
            out.push(FORMAT_TIME_40);
            &time[3..]
        } else {
            out.push(FORMAT_TIME_64);
            &time[..]
        };
        out.extend_from_slice(&self.principal);
        out.extend_from_slice(self.handle.as_bytes());
        out.extend_from_slice(time);
        out.extend_from_slice(description.as_bytes());
        out
    }

    fn from_bytes(bytes: &[u8]) -> Found {
        let time_len = match bytes.first() {
            Some(&FORMAT_TIME_40) => 5,
            Some(&FORMAT_TIME_64) => 8,
            _ => return Found::Malformed,
        };
        let Some((head, rest)) = bytes.split_at_checked(BOUND_AT + time_len) else {
            return Found::Malformed;
        };
        let mut principal = [0u8; PRINCIPAL_HASH_LEN];
        principal.copy_from_slice(&head[1..HANDLE_AT]);
        let mut handle = [0u8; SESSION_HANDLE_LEN];
        handle.copy_from_slice(&head[HANDLE_AT..BOUND_AT]);
        let mut time = [0u8; 8];
        time[8 - time_len..].copy_from_slice(&head[BOUND_AT..]);
        let bound_at = u64::from_be_bytes(time);
        let description = match rest {
            [] => String::new(),
            text if text.len() <= MAX_DESCRIPTION_LEN => match std::str::from_utf8(text) {
                Ok(text) => text.to_owned(),
                Err(_) => return Found::Malformed,
            },
            _ => return Found::Malformed,
        };
        Found::Bound(Binding {
            principal,
            handle: SessionHandle::from_bytes(handle),
            bound_at,
            description,
        })
    }

    /// The binding in a session's data, stored or from the cookie. Encoded
    /// data is read only up to the reserved key (it sorts first), so an
    /// unbound session pays for one or two key comparisons.
    pub(crate) fn in_data(data: &SessionData) -> Found {
        data.get(BINDING_KEY)
            .map_or(Found::Unbound, Binding::from_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::EncodedData;

    fn binding() -> Binding {
        Binding {
            principal: [9; PRINCIPAL_HASH_LEN],
            handle: SessionHandle::from_bytes([3; 8]),
            bound_at: 1234,
            description: "Firefox".into(),
        }
    }

    #[test]
    fn a_binding_round_trips_through_both_data_forms() {
        let b = binding();
        let mut map = SessionData::new();
        map.insert("".into(), vec![1]);
        map.insert("user".into(), vec![2]);
        map.insert(BINDING_KEY.into(), b.to_bytes());
        assert!(matches!(Binding::in_data(&map), Found::Bound(x) if x == b));
        let encoded = EncodedData::encode(&map);
        assert!(
            matches!(Binding::in_data(&SessionData::from_encoded(encoded)), Found::Bound(x) if x == b)
        );
        map.remove(BINDING_KEY);
        assert!(matches!(
            Binding::in_data(&SessionData::from_encoded(EncodedData::encode(&map))),
            Found::Unbound
        ));
        assert!(matches!(Binding::in_data(&map), Found::Unbound));
    }

    #[test]
    fn extreme_times_and_descriptions_round_trip() {
        for (bound_at, description) in [
            (0, String::new()),
            (u64::MAX, "d".repeat(MAX_DESCRIPTION_LEN)),
            (1_800_000_000, "Firefox on Linux".into()),
            ((1 << 40) - 1, String::new()),
            (1 << 40, "x".into()),
        ] {
            let b = Binding {
                bound_at,
                description,
                ..binding()
            };
            let bytes = b.to_bytes();
            let wide = bound_at >= 1 << 40;
            assert_eq!(bytes[0], if wide { FORMAT_TIME_64 } else { FORMAT_TIME_40 });
            assert!(matches!(Binding::from_bytes(&bytes), Found::Bound(x) if x == b));
        }
        // The size the module documents for a binding without description.
        let plain = Binding {
            bound_at: 1_800_000_000,
            description: String::new(),
            ..binding()
        };
        assert_eq!(2 + BINDING_KEY.len() + plain.to_bytes().len(), 34);
    }

    #[test]
    fn a_mangled_binding_is_malformed_not_a_panic() {
        let bytes = binding().to_bytes();
        let mut old_format = bytes.clone();
        old_format[0] = 3;
        // A 5-byte time announced as an 8-byte one: 3 bytes short.
        let mut short_time = bytes[..BOUND_AT + 5].to_vec();
        short_time[0] = 5;
        let mut bad_text = bytes.clone();
        bad_text.push(0xff);
        for bad in [
            &bytes[..10],
            &bytes[..BOUND_AT],
            &bytes[..BOUND_AT + 4],
            &[2u8; 40][..],
            &[],
            &old_format,
            &short_time,
            &bad_text,
        ] {
            assert!(matches!(Binding::from_bytes(bad), Found::Malformed));
        }
        let mut too_long = binding();
        too_long.description = "d".repeat(MAX_DESCRIPTION_LEN);
        let mut over = too_long.to_bytes();
        over.push(b'd');
        assert!(matches!(Binding::from_bytes(&over), Found::Malformed));
        assert!(is_reserved(BINDING_KEY) && !is_reserved("user"));
    }
}
