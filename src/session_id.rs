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
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreKey(String);

impl StoreKey {
    /// The key as text, for use in backend requests.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wrap a key read back from a store (for example while scanning for expired
    /// records). It is not checked against any id.
    pub fn from_stored(key: impl Into<String>) -> Self {
        StoreKey(key.into())
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreKey({})", self.0)
    }
}

impl fmt::Display for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
        let mut hex = String::with_capacity(64);
        for b in digest.iter() {
            hex.push(char::from(HEX[usize::from(b >> 4)]));
            hex.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        StoreKey(hex)
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
    }

    #[test]
    fn short_store_secret_is_config_error() {
        assert!(matches!(
            StoreKeyHasher::new(&[0u8; 31]),
            Err(Error::Config { .. })
        ));
    }
}
