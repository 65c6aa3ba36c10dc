//! Session ids and the hashed keys under which stores keep them.

use std::fmt;

use base64_simd::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};
use crate::keys::MIN_KEY_LEN;

/// Length of a session id in bytes (256 random bits).
pub const SESSION_ID_LEN: usize = 32;

/// A session id: 256 random bits from a CSPRNG seeded by the operating
/// system (a per-thread ChaCha20 generator; see the crate's security model).
///
/// It travels only inside the signed cookie. Stores see a [`StoreKey`] derived
/// from it, and `Debug` never prints it, so it does not reach logs by accident.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId([u8; SESSION_ID_LEN]);

impl SessionId {
    /// A fresh random id.
    ///
    /// # Errors
    /// [`Error::Backend`] if the operating system's random source fails
    /// while the generator is seeded or reseeded.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; SESSION_ID_LEN];
        crate::rng::fill(&mut bytes)?;
        Ok(SessionId(bytes))
    }

    /// An id from raw bytes (as read from a verified cookie).
    pub fn from_bytes(bytes: [u8; SESSION_ID_LEN]) -> Self {
        SessionId(bytes)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; SESSION_ID_LEN] {
        &self.0
    }

    /// Parse the text form produced by [`SessionId::to_text`] (43 base64url characters).
    ///
    /// # Errors
    /// [`Error::Codec`] if the text is not a well-formed id.
    pub fn parse(text: &str) -> Result<Self> {
        let decoded = URL_SAFE_NO_PAD
            .decode_to_vec(text.as_bytes())
            .map_err(Error::codec)?;
        let bytes: [u8; SESSION_ID_LEN] = decoded
            .try_into()
            .map_err(|_| Error::codec("a session id is 32 bytes in 43 base64url characters"))?;
        Ok(SessionId(bytes))
    }

    /// The text form, for admin tools that handle ids by hand. Treat it as a secret.
    pub fn to_text(&self) -> String {
        URL_SAFE_NO_PAD.encode_to_string(self.0)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(<redacted>)")
    }
}

/// The key a store keeps a session under: a keyed hash (HMAC-SHA256) of the
/// session id, in lowercase hex. Someone who reads the store or its logs cannot
/// turn a key back into a usable cookie.
///
/// Keys derived from ids are held inline (no allocation, cheap to clone);
/// equality, ordering and hashing are those of the text ([`StoreKey::as_str`]).
#[derive(Clone)]
pub struct StoreKey(Repr);

#[derive(Clone)]
enum Repr {
    /// 64 lowercase hex digits.
    Hex([u8; 64]),
    Stored(String),
}

impl StoreKey {
    /// The key as text, for use in backend requests.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Always ASCII hex, so this never takes the fallback.
            Repr::Hex(hex) => std::str::from_utf8(hex).unwrap_or_default(),
            Repr::Stored(key) => key,
        }
    }

    /// Wrap a key read back from a store (for example while scanning for expired
    /// records). It is not checked against any id.
    pub fn from_stored(key: impl Into<String>) -> Self {
        StoreKey(Repr::Stored(key.into()))
    }

    /// The key's UTF-8 bytes: what it is compared and hashed by (without
    /// re-validating the inline form on every comparison).
    fn bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Hex(hex) => hex,
            Repr::Stored(key) => key.as_bytes(),
        }
    }
}

impl PartialEq for StoreKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for StoreKey {}

impl PartialOrd for StoreKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for StoreKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // UTF-8 byte order is the text's order.
        self.bytes().cmp(other.bytes())
    }
}

impl std::hash::Hash for StoreKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // As `str` hashes: the bytes, then a terminator.
        state.write(self.bytes());
        state.write_u8(0xff);
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreKey({})", self.as_str())
    }
}

impl fmt::Display for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Turns session ids into [`StoreKey`]s with a secret of its own; reached
/// from outside through [`crate::SessionManager::store_key`].
///
/// The secret must stay the same for as long as stored sessions should stay
/// reachable; it is separate from the cookie signing keys so they can rotate.
#[derive(Clone)]
pub(crate) struct StoreKeyHasher {
    mac: Hmac<Sha256>,
}

impl StoreKeyHasher {
    /// A hasher keyed with `secret` (at least 32 bytes).
    ///
    /// # Errors
    /// [`Error::Config`] if the secret is shorter than 32 bytes.
    pub(crate) fn new(secret: &[u8]) -> Result<Self> {
        if secret.len() < MIN_KEY_LEN {
            return Err(Error::config(
                "the store key secret must be at least 32 bytes",
            ));
        }
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
            .map_err(|_| Error::config("unusable store key secret"))?;
        Ok(StoreKeyHasher { mac })
    }

    /// The store key for `id`.
    pub(crate) fn key_for(&self, id: &SessionId) -> StoreKey {
        let mut mac = self.mac.clone();
        mac.update(&id.0);
        let digest = mac.finalize().into_bytes();
        let mut hex = [0u8; 64];
        for (pair, b) in hex.chunks_exact_mut(2).zip(digest.iter()) {
            pair[0] = HEX[usize::from(b >> 4)];
            pair[1] = HEX[usize::from(b & 0xf)];
        }
        StoreKey(Repr::Hex(hex))
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Debug for StoreKeyHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreKeyHasher(<secret>)")
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn ids_are_random_and_round_trip_as_text() {
        let a = SessionId::generate().unwrap();
        let b = SessionId::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(SessionId::parse(&a.to_text()).unwrap(), a);
    }

    #[test]
    fn bad_id_text_is_a_codec_error() {
        for bad in ["", "abc", "!!!!", &"A".repeat(44), &"A".repeat(42)] {
            assert!(
                matches!(SessionId::parse(bad), Err(Error::Codec { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_never_shows_the_id() {
        let id = SessionId::generate().unwrap();
        assert!(!format!("{id:?}").contains(&id.to_text()));
    }

    #[test]
    fn store_key_is_keyed_hash_not_the_id() {
        let id = SessionId::generate().unwrap();
        let h1 = StoreKeyHasher::new(&[1u8; 32]).unwrap();
        let h2 = StoreKeyHasher::new(&[2u8; 32]).unwrap();
        let k1 = h1.key_for(&id);
        assert_eq!(k1, h1.key_for(&id));
        assert_ne!(k1, h2.key_for(&id));
        assert_eq!(k1.as_str().len(), 64);
        assert!(!k1.as_str().contains(&id.to_text()));
        let hex_id: String = id.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_ne!(k1.as_str(), hex_id);
        // A derived key and the same text read back from a store are one key.
        let stored = StoreKey::from_stored(k1.as_str());
        assert_eq!(stored, k1);
        assert_eq!(stored.cmp(&k1), std::cmp::Ordering::Equal);
        let state = std::hash::RandomState::new();
        assert_eq!(state.hash_one(&stored), state.hash_one(&k1));
        assert_eq!(state.hash_one(&stored), state.hash_one(k1.as_str()));
        let other = StoreKey::from_stored("~");
        assert_eq!(k1.cmp(&other), k1.as_str().cmp(other.as_str()));
        assert!(
            k1.as_str()
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }

    #[test]
    fn short_store_secret_is_config_error() {
        assert!(matches!(
            StoreKeyHasher::new(&[0u8; 31]),
            Err(Error::Config { .. })
        ));
    }
}
