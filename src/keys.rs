//! Signing (and encryption) keys, with rotation.

use std::fmt;

use chacha20poly1305::aead::Aead;
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

/// The shortest secret accepted for signing, encryption and store-key hashing.
pub const MIN_KEY_LEN: usize = 32;

/// One secret, from which a MAC key and an encryption key are derived.
#[derive(Clone)]
pub(crate) struct CookieKey {
    mac: Hmac<Sha256>,
    cipher: XChaCha20Poly1305,
}

impl CookieKey {
    fn derive(secret: &[u8], label: &[u8]) -> Result<[u8; 32]> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
            .map_err(|_| Error::config("unusable signing key"))?;
        mac.update(label);
        Ok(mac.finalize().into_bytes().into())
    }

    fn new(secret: &[u8]) -> Result<Self> {
        if secret.len() < MIN_KEY_LEN {
            return Err(Error::config(format!(
                "every signing key must be at least {MIN_KEY_LEN} bytes"
            )));
        }
        let mac_key = Self::derive(secret, b"tiered-sessions/cookie-mac/v1")?;
        let enc_key = Self::derive(secret, b"tiered-sessions/cookie-enc/v1")?;
        Ok(CookieKey {
            mac: <Hmac<Sha256> as KeyInit>::new_from_slice(&mac_key)
                .map_err(|_| Error::config("unusable signing key"))?,
            cipher: XChaCha20Poly1305::new(&enc_key.into()),
        })
    }

    pub(crate) fn mac(&self) -> Hmac<Sha256> {
        self.mac.clone()
    }

    pub(crate) fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).map_err(|e| Error::backend("os-rng", e.to_string()))?;
        let sealed = self
            .cipher
            .encrypt(&XNonce::from(nonce), plaintext)
            .map_err(|_| Error::codec("encryption failed"))?;
        let mut out = Vec::with_capacity(24 + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub(crate) fn decrypt(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < 24 {
            return None;
        }
        let (nonce, body) = sealed.split_at(24);
        let nonce = XNonce::try_from(nonce).ok()?;
        self.cipher.decrypt(&nonce, body).ok()
    }
}

/// The cookie keys: the first signs (and encrypts), every one verifies.
///
/// Rotate by putting a new key first and keeping the old ones after it until
/// every cookie signed with them has expired; cookies verified under an old key
/// are re-issued under the first.
#[derive(Clone)]
pub struct KeyRing {
    keys: Vec<CookieKey>,
}

impl KeyRing {
    /// A ring from secrets, newest first. Each must be at least 32 bytes.
    ///
    /// # Errors
    /// [`Error::Config`] if the list is empty or a secret is too short.
    pub fn new<I, K>(secrets: I) -> Result<Self>
    where
        I: IntoIterator<Item = K>,
        K: AsRef<[u8]>,
    {
        let keys = secrets
            .into_iter()
            .map(|s| CookieKey::new(s.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        if keys.is_empty() {
            return Err(Error::config("at least one signing key is required"));
        }
        Ok(KeyRing { keys })
    }

    pub(crate) fn current(&self) -> &CookieKey {
        &self.keys[0]
    }

    pub(crate) fn all(&self) -> &[CookieKey] {
        &self.keys
    }

    /// How many keys verify.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always false: a ring holds at least one key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyRing({} keys, <secret>)", self.keys.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_missing_keys_are_config_errors() {
        assert!(matches!(
            KeyRing::new([[0u8; 31]]),
            Err(Error::Config { .. })
        ));
        assert!(matches!(
            KeyRing::new(Vec::<Vec<u8>>::new()),
            Err(Error::Config { .. })
        ));
        assert_eq!(
            KeyRing::new([vec![0u8; 32], vec![1u8; 64]]).unwrap().len(),
            2
        );
    }

    #[test]
    fn encryption_round_trips_and_rejects_tampering() {
        let ring = KeyRing::new([[7u8; 32]]).unwrap();
        let k = ring.current();
        let sealed = k.encrypt(b"hello").unwrap();
        assert_eq!(k.decrypt(&sealed).unwrap(), b"hello");
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(k.decrypt(&bad).is_none());
        assert!(k.decrypt(&sealed[..10]).is_none());
        let other = KeyRing::new([[8u8; 32]]).unwrap();
        assert!(other.current().decrypt(&sealed).is_none());
    }

    #[test]
    fn debug_hides_secrets() {
        let ring = KeyRing::new([[0x41u8; 32]]).unwrap();
        assert_eq!(format!("{ring:?}"), "KeyRing(1 keys, <secret>)");
    }
}
