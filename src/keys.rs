//! Signing (and encryption) keys, with rotation.

use std::fmt;

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

/// The shortest secret accepted for signing, encryption and store-key hashing.
pub(crate) const MIN_KEY_LEN: usize = 32;
/// XChaCha20-Poly1305's nonce, written before the ciphertext.
pub(crate) const NONCE_LEN: usize = 24;
/// Poly1305's tag, written after the ciphertext.
pub(crate) const SEAL_TAG_LEN: usize = 16;

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

    /// Append `nonce ‖ ciphertext ‖ tag` of `plaintext` to `out`, under a
    /// fresh random nonce (192 bits: random nonces never collide in practice).
    ///
    /// # Errors
    /// [`Error::Backend`] if the random source fails, [`Error::Codec`] if the
    /// cipher refuses the input.
    pub(crate) fn encrypt_into(&self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let mut nonce = [0u8; NONCE_LEN];
        crate::rng::fill(&mut nonce)?;
        out.extend_from_slice(&nonce);
        let start = out.len();
        out.extend_from_slice(plaintext);
        let tag = self
            .cipher
            .encrypt_inout_detached(&XNonce::from(nonce), b"", (&mut out[start..]).into())
            .map_err(|_| Error::codec("encryption failed"))?;
        out.extend_from_slice(&tag);
        Ok(())
    }

    /// Verify and decrypt `nonce ‖ ciphertext ‖ tag` in place; returns the
    /// plaintext (within `sealed`), or `None` if it does not verify.
    pub(crate) fn decrypt_in_place<'a>(&self, sealed: &'a mut [u8]) -> Option<&'a mut [u8]> {
        if sealed.len() < NONCE_LEN + SEAL_TAG_LEN {
            return None;
        }
        let (nonce, rest) = sealed.split_at_mut(NONCE_LEN);
        let (body, tag) = rest.split_at_mut(rest.len() - SEAL_TAG_LEN);
        let nonce = XNonce::try_from(&*nonce).ok()?;
        let tag = Tag::try_from(&*tag).ok()?;
        self.cipher
            .decrypt_inout_detached(&nonce, b"", (&mut *body).into(), &tag)
            .ok()?;
        Some(body)
    }
}

/// The cookie keys: the first signs (and encrypts), every one verifies.
///
/// Rotate by putting a new key first and keeping the old ones after it until
/// every cookie signed with them has expired; cookies verified under an old key
/// are re-issued under the first.
#[derive(Clone)]
pub(crate) struct KeyRing {
    keys: Vec<CookieKey>,
}

impl KeyRing {
    /// A ring from secrets, newest first. Each must be at least 32 bytes.
    ///
    /// # Errors
    /// [`Error::Config`] if the list is empty or a secret is too short.
    pub(crate) fn new<I, K>(secrets: I) -> Result<Self>
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
            KeyRing::new([vec![0u8; 32], vec![1u8; 64]])
                .unwrap()
                .all()
                .len(),
            2
        );
    }

    #[test]
    fn encryption_round_trips_and_rejects_tampering() {
        let ring = KeyRing::new([[7u8; 32]]).unwrap();
        let k = ring.current();
        let mut sealed = b"prefix".to_vec();
        k.encrypt_into(b"hello", &mut sealed).unwrap();
        assert_eq!(sealed.len(), 6 + NONCE_LEN + 5 + SEAL_TAG_LEN);
        assert!(!sealed.windows(5).any(|w| w == b"hello"));
        let sealed = sealed.split_off(6);
        assert_eq!(k.decrypt_in_place(&mut sealed.clone()).unwrap(), b"hello");
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(k.decrypt_in_place(&mut bad).is_none());
        assert!(k.decrypt_in_place(&mut sealed[..10].to_vec()).is_none());
        assert!(k.decrypt_in_place(&mut []).is_none());
        let other = KeyRing::new([[8u8; 32]]).unwrap();
        assert!(
            other
                .current()
                .decrypt_in_place(&mut sealed.clone())
                .is_none()
        );
        // Two encryptions of one plaintext differ (fresh nonces).
        let mut again = Vec::new();
        k.encrypt_into(b"hello", &mut again).unwrap();
        assert_ne!(again, sealed);
    }

    #[test]
    fn debug_hides_secrets() {
        let ring = KeyRing::new([[0x41u8; 32]]).unwrap();
        assert_eq!(format!("{ring:?}"), "KeyRing(1 keys, <secret>)");
    }
}
