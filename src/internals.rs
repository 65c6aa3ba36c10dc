//! The decoders of untrusted input, reachable from outside the crate for fuzz
//! targets and the codec bench. **Not part of the API**: hidden from the docs,
//! compiled only with the `__internals` feature, and free to change in any
//! release.
//!
//! Exactly what a request or a store can feed the crate: a session cookie
//! value, the `Cookie` headers, a stored record, a session value. Plus the
//! cookie encoder, so benches and fuzzers can build valid cookies to start
//! from.

use crate::clock::UnixTime;
use crate::codec::EncodedData;
use crate::config::SessionConfig;
use crate::cookie::{self as wire, CookieBody, CookieContents};
use crate::error::Result;
use crate::record::SessionData;
use crate::request_cookies::RequestCookies;
use crate::session_id::SessionId;

pub use crate::codec::{decode_data, decode_record, decode_value};
pub use crate::cookie::CookieRejection;

/// A cookie verified by [`decode_cookie`]. `Debug` shows no id or data.
#[derive(Clone, PartialEq, Eq)]
pub struct DecodedCookie {
    /// The session id.
    pub id: SessionId,
    /// When the session expires (UNIX seconds).
    pub expires_at: UnixTime,
    /// When the session began.
    pub created_at: UnixTime,
    /// Last recorded activity.
    pub last_active: UnixTime,
    /// Cookie-only session data in [`crate::codec::encode_data`] framing, or
    /// `None` for a stored session.
    pub data: Option<Vec<u8>>,
    /// Whether a key other than the first signed it.
    pub signed_with_old_key: bool,
    /// Whether the data travelled encrypted.
    pub encrypted: bool,
}

impl std::fmt::Debug for DecodedCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodedCookie")
            .field("id", &self.id)
            .field("expires_at", &self.expires_at)
            .field("created_at", &self.created_at)
            .field("last_active", &self.last_active)
            .field("data_len", &self.data.as_ref().map(Vec::len))
            .field("signed_with_old_key", &self.signed_with_old_key)
            .field("encrypted", &self.encrypted)
            .finish()
    }
}

/// Decode and verify a session cookie value as the layer does: under the
/// configuration's keys, cookie name and length limit, at `now`.
///
/// # Errors
/// Why the value is not a session.
pub fn decode_cookie(
    config: &SessionConfig,
    value: &[u8],
    now: UnixTime,
) -> std::result::Result<DecodedCookie, CookieRejection> {
    decode_as(config, &config.cookie_name, value, now)
}

/// [`decode_cookie`] for the joined value of a session's chunks
/// (`name.0`, `name.1`, …), which are signed under another name than a
/// single cookie, so neither passes for the other.
///
/// # Errors
/// Why the value is not a session.
pub fn decode_chunked_cookie(
    config: &SessionConfig,
    value: &[u8],
    now: UnixTime,
) -> std::result::Result<DecodedCookie, CookieRejection> {
    decode_as(config, &config.chunked_mac_name, value, now)
}

/// A candidate the layer would try, as [`cookie_candidates`] lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookieCandidate {
    /// The joined chunks (decode with [`decode_chunked_cookie`]) rather than
    /// a single cookie ([`decode_cookie`]).
    pub chunked: bool,
    /// The value.
    pub value: Vec<u8>,
}

impl CookieCandidate {
    /// Decode it as the layer does.
    ///
    /// # Errors
    /// Why the value is not a session.
    pub fn decode(
        &self,
        config: &SessionConfig,
        now: UnixTime,
    ) -> std::result::Result<DecodedCookie, CookieRejection> {
        if self.chunked {
            decode_chunked_cookie(config, &self.value, now)
        } else {
            decode_cookie(config, &self.value, now)
        }
    }
}

fn decode_as(
    config: &SessionConfig,
    mac_name: &str,
    value: &[u8],
    now: UnixTime,
) -> std::result::Result<DecodedCookie, CookieRejection> {
    let decoded = wire::decode(&config.keys, mac_name, value, now, config.max_value_len())?;
    let c = decoded.contents;
    Ok(DecodedCookie {
        id: c.id,
        expires_at: c.expires_at,
        created_at: c.created_at,
        last_active: c.last_active,
        data: match c.body {
            CookieBody::Data(data) => Some(data.into_bytes()),
            CookieBody::Stored => None,
        },
        signed_with_old_key: decoded.signed_with_old_key,
        encrypted: decoded.encrypted,
    })
}

/// A cookie's contents, prepared once for [`encode_cookie`].
#[derive(Clone, Debug)]
pub struct CookieToEncode(CookieContents);

impl CookieToEncode {
    /// A cookie-only session holding `data` (`Some`), or one pointing at the
    /// store (`None`).
    pub fn new(
        id: SessionId,
        expires_at: UnixTime,
        created_at: UnixTime,
        last_active: UnixTime,
        data: Option<&SessionData>,
    ) -> Self {
        CookieToEncode(CookieContents {
            id,
            expires_at,
            created_at,
            last_active,
            body: data.map_or(CookieBody::Stored, |d| {
                CookieBody::Data(EncodedData::encode(d))
            }),
        })
    }
}

/// Encode a session cookie value as the layer does (signed, and encrypted if
/// the configuration says so).
///
/// # Errors
/// The random source or the cipher failing.
pub fn encode_cookie(config: &SessionConfig, cookie: &CookieToEncode) -> Result<String> {
    wire::encode(&config.keys, &config.cookie_name, &cookie.0, config.encrypt)
}

/// [`encode_cookie`] for a value the layer splits into chunks: signed under
/// the chunks' name (see [`decode_chunked_cookie`]).
///
/// # Errors
/// The random source or the cipher failing.
pub fn encode_chunked_cookie(config: &SessionConfig, cookie: &CookieToEncode) -> Result<String> {
    wire::encode(
        &config.keys,
        &config.chunked_mac_name,
        &cookie.0,
        config.encrypt,
    )
}

/// `payload` (format byte, flags, id, times, body: see the cookie module)
/// signed under the configuration's current key as its session cookie's
/// value, with no check of what it holds: correctly signed cookies that this
/// version must still refuse.
pub fn sign_cookie_payload(config: &SessionConfig, payload: &[u8]) -> String {
    wire::sign_raw(&config.keys, &config.cookie_name, payload)
}

/// The session cookie values the layer would try to decode from these
/// `Cookie` header values, in order, and how many copies it would ignore.
pub fn cookie_candidates(
    config: &SessionConfig,
    headers: &[&[u8]],
) -> (Vec<CookieCandidate>, usize) {
    let cookies = RequestCookies::from_raw(headers.iter().copied());
    let found = cookies.candidates(config);
    let candidates = found
        .values()
        .map(|(chunked, value)| CookieCandidate {
            chunked,
            value: value.to_vec(),
        })
        .collect();
    (candidates, found.ignored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoded_cookie_decodes_through_the_internals() {
        let config = SessionConfig::builder([[3u8; 32]]).build().unwrap();
        let id = SessionId::generate().unwrap();
        let mut data = SessionData::new();
        data.insert("k".into(), vec![1, 2]);
        let value = encode_cookie(
            &config,
            &CookieToEncode::new(id.clone(), 200, 100, 150, Some(&data)),
        )
        .unwrap();
        let header = format!("other=1; session={value}");
        let (candidates, ignored) = cookie_candidates(&config, &[header.as_bytes()]);
        assert_eq!((candidates.len(), ignored), (1, 0));
        assert!(!candidates[0].chunked);
        let decoded = candidates[0].decode(&config, 120).unwrap();
        assert_eq!(decoded.id, id);
        assert_eq!(decode_data(decoded.data.as_deref().unwrap()).unwrap(), data);
        assert_eq!(
            decode_cookie(&config, &candidates[0].value, 200),
            Err(CookieRejection::Expired)
        );
        // A single cookie's value never passes for chunks, nor the reverse.
        assert_eq!(
            decode_chunked_cookie(&config, value.as_bytes(), 120).err(),
            Some(CookieRejection::BadSignature)
        );
        let chunked = encode_chunked_cookie(
            &config,
            &CookieToEncode::new(id.clone(), 200, 100, 150, Some(&data)),
        )
        .unwrap();
        assert!(decode_chunked_cookie(&config, chunked.as_bytes(), 120).is_ok());
        assert_eq!(
            decode_cookie(&config, chunked.as_bytes(), 120).err(),
            Some(CookieRejection::BadSignature)
        );
        let shown = format!("{decoded:?}");
        assert!(!shown.contains(&id.to_text()) && shown.contains("data_len: Some(6)"));
    }
}
