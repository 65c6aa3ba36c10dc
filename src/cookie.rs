//! The session cookie's wire format: a pure encoder and decoder over bytes.
//!
//! ```text
//! value   = base64url( payload || HMAC-SHA256(mac_key, len(name) || name || payload) )
//! payload = format(1) flags(1) id(32) expires_at(8) created_at(8) last_active(8) body
//! body    = session data (cookie-only), nonce||ciphertext (encrypted), or empty (stored)
//! ```
//!
//! The MAC covers the cookie name, so a valid cookie moved under another name
//! fails; it is checked in constant time before anything else is trusted.

use base64_simd::URL_SAFE_NO_PAD;
use hmac::Mac;

use crate::clock::UnixTime;
use crate::codec::EncodedData;
use crate::error::Result;
use crate::keys::{CookieKey, KeyRing, NONCE_LEN, SEAL_TAG_LEN};
use crate::session_id::{SESSION_ID_LEN, SessionId};

const FORMAT: u8 = 1;
const FLAG_STORED: u8 = 1;
const FLAG_ENCRYPTED: u8 = 2;
const HEADER_LEN: usize = 2 + SESSION_ID_LEN + 24;
const TAG_LEN: usize = 32;
/// XChaCha20-Poly1305: a 24-byte nonce before the ciphertext, a 16-byte tag after.
const SEAL_OVERHEAD: usize = NONCE_LEN + SEAL_TAG_LEN;

/// The length of the encoded cookie value carrying `data_len` bytes of
/// cookie-only session data.
pub(crate) fn encoded_len(data_len: usize, encrypt: bool) -> usize {
    let raw = HEADER_LEN + data_len + TAG_LEN + if encrypt { SEAL_OVERHEAD } else { 0 };
    // Unpadded base64url: four characters per three bytes, then 2 or 3 for a
    // trailing 1 or 2 bytes.
    raw / 3 * 4 + [0, 2, 3][raw % 3]
}

/// What a cookie carries besides the id: the data itself, or a pointer to the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CookieBody {
    /// A cookie-only session: the data travels in the cookie.
    Data(EncodedData),
    /// The data lives in the store under the id's store key.
    Stored,
}

/// A verified, unexpired cookie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CookieContents {
    /// The session id.
    pub(crate) id: SessionId,
    /// When the session expires (UNIX seconds); always in the future at decode.
    pub(crate) expires_at: UnixTime,
    /// When the session began.
    pub(crate) created_at: UnixTime,
    /// Last recorded activity.
    pub(crate) last_active: UnixTime,
    /// The data or a pointer to the store.
    pub(crate) body: CookieBody,
}

/// Why a cookie was not accepted. Every case means "no session".
///
/// Public through [`crate::inspect`] (and the `__internals` feature).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CookieRejection {
    /// The value was empty.
    #[error("empty cookie value")]
    Empty,
    /// Longer than the configured maximum, so not even decoded.
    #[error("cookie value too long")]
    TooLong,
    /// Not base64url.
    #[error("cookie value is not base64url")]
    NotBase64,
    /// Too short to hold a header and a signature.
    #[error("cookie value truncated")]
    Truncated,
    /// No key in the ring produced this signature (tampered, wrong key, wrong name).
    #[error("cookie signature does not verify")]
    BadSignature,
    /// Signed, but in a format or with flags this version does not know.
    #[error("unknown cookie format")]
    UnknownFormat,
    /// Signed and well-formed, but its expiry has passed.
    #[error("cookie expired")]
    Expired,
    /// Signed, but the body does not decode (or decrypt).
    #[error("cookie body malformed")]
    Malformed,
}

/// The result of [`decode`]: the contents and whether an older key signed them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// What the cookie holds.
    pub(crate) contents: CookieContents,
    /// True if the cookie verified under a key other than the first: re-issue it.
    pub(crate) signed_with_old_key: bool,
    /// True if cookie-only data travelled encrypted.
    pub(crate) encrypted: bool,
}

/// The exact length of [`encode`]'s output for `contents`.
pub(crate) fn value_len(contents: &CookieContents, encrypt: bool) -> usize {
    match &contents.body {
        CookieBody::Data(data) => encoded_len(data.len(), encrypt),
        CookieBody::Stored => encoded_len(0, false),
    }
}

/// Encode `contents` as the value of cookie `name`, signed (and, if `encrypt`,
/// encrypted) with the ring's current key.
///
/// # Errors
/// [`crate::Error::Backend`] if the random source for the nonce fails, or
/// [`crate::Error::Codec`] if encryption fails.
pub(crate) fn encode(
    ring: &KeyRing,
    name: &str,
    contents: &CookieContents,
    encrypt: bool,
) -> Result<String> {
    let mut out = String::with_capacity(value_len(contents, encrypt));
    encode_into(ring, name, contents, encrypt, &mut out)?;
    Ok(out)
}

/// [`encode`], appending to `out` (a `Set-Cookie` value being rendered).
///
/// # Errors
/// As [`encode`].
pub(crate) fn encode_into(
    ring: &KeyRing,
    name: &str,
    contents: &CookieContents,
    encrypt: bool,
    out: &mut String,
) -> Result<()> {
    let key = ring.current();
    let data = match &contents.body {
        CookieBody::Data(data) => Some(data),
        CookieBody::Stored => None,
    };
    let flags = match data {
        None => FLAG_STORED,
        Some(_) if encrypt => FLAG_ENCRYPTED,
        Some(_) => 0,
    };
    let header = header(flags, contents);
    let Some(data) = data else {
        // A stored session's cookie has a fixed size: no heap buffer.
        let mut payload = [0u8; HEADER_LEN + TAG_LEN];
        payload[..HEADER_LEN].copy_from_slice(&header);
        let tag = tag(key, name, &header);
        payload[HEADER_LEN..].copy_from_slice(&tag);
        URL_SAFE_NO_PAD.encode_append(payload, out);
        return Ok(());
    };
    let body_len = data.len() + if encrypt { SEAL_OVERHEAD } else { 0 };
    let mut payload = Vec::with_capacity(HEADER_LEN + body_len + TAG_LEN);
    payload.extend_from_slice(&header);
    if encrypt {
        key.encrypt_into(data.as_bytes(), &mut payload)?;
    } else {
        payload.extend_from_slice(data.as_bytes());
    }
    let tag = tag(key, name, &payload);
    payload.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode_append(&payload, out);
    Ok(())
}

fn header(flags: u8, contents: &CookieContents) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[0] = FORMAT;
    header[1] = flags;
    header[2..2 + SESSION_ID_LEN].copy_from_slice(contents.id.as_bytes());
    let times = [
        contents.expires_at,
        contents.created_at,
        contents.last_active,
    ];
    for (at, t) in (2 + SESSION_ID_LEN..).step_by(8).zip(times) {
        header[at..at + 8].copy_from_slice(&t.to_be_bytes());
    }
    header
}

fn tag(key: &CookieKey, name: &str, payload: &[u8]) -> [u8; TAG_LEN] {
    let mut mac = key.mac();
    mac.update(&(name.len() as u64).to_be_bytes());
    mac.update(name.as_bytes());
    mac.update(payload);
    mac.finalize().into_bytes().into()
}

/// `payload` signed as the value of cookie `name` under the current key,
/// whatever it holds (tests and fuzzers build malformed but signed cookies).
#[cfg(feature = "__internals")]
pub(crate) fn sign_raw(ring: &KeyRing, name: &str, payload: &[u8]) -> String {
    let mut raw = payload.to_vec();
    raw.extend_from_slice(&tag(ring.current(), name, payload));
    URL_SAFE_NO_PAD.encode_to_string(&raw)
}

/// Decode and verify the value of cookie `name` at time `now`.
///
/// Pure: no I/O, no panics on any input. `max_len` bounds the work done on
/// hostile input before the signature is even checked.
///
/// # Errors
/// A [`CookieRejection`] saying why the cookie is not a session.
pub(crate) fn decode(
    ring: &KeyRing,
    name: &str,
    value: &[u8],
    now: UnixTime,
    max_len: usize,
) -> Result<Decoded, CookieRejection> {
    if value.is_empty() {
        return Err(CookieRejection::Empty);
    }
    if value.len() > max_len {
        return Err(CookieRejection::TooLong);
    }
    // Into this thread's spare buffer (`decode_append` reserves what it
    // needs): it comes back when the session's data is dropped (see `spare`).
    let mut raw = crate::spare::take(0);
    URL_SAFE_NO_PAD
        .decode_append(value, &mut raw)
        .map_err(|_| CookieRejection::NotBase64)?;
    if raw.len() < HEADER_LEN + TAG_LEN {
        return Err(CookieRejection::Truncated);
    }
    let (payload, given) = raw.split_at(raw.len() - TAG_LEN);
    let key_index = ring
        .all()
        .iter()
        .position(|key| {
            let mut mac = key.mac();
            mac.update(&(name.len() as u64).to_be_bytes());
            mac.update(name.as_bytes());
            mac.update(payload);
            mac.verify_slice(given).is_ok()
        })
        .ok_or(CookieRejection::BadSignature)?;

    let (header, body) = payload.split_at(HEADER_LEN);
    let flags = header[1];
    if header[0] != FORMAT || flags & !(FLAG_STORED | FLAG_ENCRYPTED) != 0 {
        return Err(CookieRejection::UnknownFormat);
    }
    let be = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&header[at..at + 8]);
        u64::from_be_bytes(b)
    };
    let mut id = [0u8; SESSION_ID_LEN];
    id.copy_from_slice(&header[2..2 + SESSION_ID_LEN]);
    let expires_at = be(2 + SESSION_ID_LEN);
    let created_at = be(10 + SESSION_ID_LEN);
    let last_active = be(18 + SESSION_ID_LEN);
    if expires_at <= now {
        return Err(CookieRejection::Expired);
    }
    let stored = flags & FLAG_STORED != 0;
    let encrypted = flags & FLAG_ENCRYPTED != 0;
    let body = if stored {
        if !body.is_empty() || encrypted {
            return Err(CookieRejection::Malformed);
        }
        CookieBody::Stored
    } else {
        // Reuse the decoded buffer: decrypt in place, then drop the tag, the
        // header (and the nonce and the seal's tag) around the data.
        let (start, end) = if encrypted {
            let end = raw.len() - TAG_LEN;
            let plain = ring.all()[key_index]
                .decrypt_in_place(&mut raw[HEADER_LEN..end])
                .ok_or(CookieRejection::Malformed)?
                .len();
            let start = HEADER_LEN + NONCE_LEN;
            (start, start + plain)
        } else {
            (HEADER_LEN, raw.len() - TAG_LEN)
        };
        raw.truncate(end);
        raw.drain(..start);
        // Signed by us, but perhaps by a version that framed data otherwise:
        // data this version cannot read is no session, not half of one.
        CookieBody::Data(EncodedData::from_bytes(raw).map_err(|_| CookieRejection::Malformed)?)
    };
    let id = SessionId::from_bytes(id);
    Ok(Decoded {
        contents: CookieContents {
            id,
            expires_at,
            created_at,
            last_active,
            body,
        },
        signed_with_old_key: key_index != 0,
        encrypted: encrypted && !stored,
    })
}

/// Split an encoded value into chunks of at most `chunk_len` bytes (base64url
/// is ASCII, so any split point is valid).
pub(crate) fn split(value: &str, chunk_len: usize) -> Vec<&str> {
    let chunk_len = chunk_len.max(1);
    let mut out = Vec::with_capacity(value.len() / chunk_len + 1);
    let mut rest = value;
    while rest.len() > chunk_len {
        let (head, tail) = rest.split_at(chunk_len);
        out.push(head);
        rest = tail;
    }
    out.push(rest);
    out
}

#[cfg(test)]
mod tests;
