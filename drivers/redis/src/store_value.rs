//! How [`crate::RedisStore`] keeps a session, and [`crate::RedisCache`] a
//! cached record: one STRING under `{prefix}{<store key>}`, a fixed 32-byte
//! header then the session data.
//!
//! ```text
//! offset  0: version      u64, big-endian
//! offset  8: expires_at   u64, big-endian
//! offset 16: last_active  u64, big-endian
//! offset 24: created_at   u64, big-endian
//! offset 32: the data, as `codec::encode_data` writes it
//! ```
//!
//! A read is one `GET`. The scripts read the first 16 bytes (`GETRANGE 0 15`:
//! version and expiry) and compare them as two 32-bit halves
//! (`struct.unpack('>I4I4…')`), exact for every u64 — Lua numbers are
//! doubles, and Lua's `<` on strings follows the server's locale, so neither
//! compares 8-byte strings safely. `touch` rewrites bytes 8..24 in place
//! (`SETRANGE`), which is why expiry and last activity sit side by side.

use tiered_sessions::codec::{data_len, decode_data, encode_data_into, record_len_with_data};
use tiered_sessions::{Error, Record, Result, UnixTime};

/// Bytes before the data.
pub(crate) const HEADER: usize = 32;

/// `n` as the scripts compare it.
pub(crate) fn be(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

/// Two numbers in one argument (one `struct.unpack` in the scripts).
pub(crate) fn be_pair(a: u64, b: u64) -> [u8; 16] {
    let mut out = [0; 16];
    out[..8].copy_from_slice(&a.to_be_bytes());
    out[8..].copy_from_slice(&b.to_be_bytes());
    out
}

/// The stored value of `record`, or [`Error::TooLarge`] when the record (as
/// `codec::record_len` measures it) is above `limit`.
pub(crate) fn encode(record: &Record, limit: usize) -> Result<Vec<u8>> {
    let data_len = data_len(&record.data);
    let size = record_len_with_data(record, data_len);
    if size > limit {
        return Err(Error::TooLarge { size, limit });
    }
    let mut value = Vec::with_capacity(HEADER + data_len);
    for n in [
        record.version,
        record.expires_at,
        record.last_active,
        record.created_at,
    ] {
        value.extend_from_slice(&n.to_be_bytes());
    }
    encode_data_into(&record.data, &mut value);
    Ok(value)
}

/// The record in a stored value, or `None` when it is expired at `now` (its
/// data is then not decoded).
///
/// # Errors
/// [`Error::Codec`] for a value shorter than the header, a record above
/// `limit` (not decoded), or data that does not decode.
pub(crate) fn decode(value: &[u8], limit: usize, now: UnixTime) -> Result<Option<Record>> {
    let (header, data) = value
        .split_first_chunk::<HEADER>()
        .ok_or_else(|| Error::codec("stored session value is shorter than its header"))?;
    let field = |i: usize| {
        let mut n = [0; 8];
        n.copy_from_slice(&header[i * 8..i * 8 + 8]);
        u64::from_be_bytes(n)
    };
    let mut record = Record {
        version: field(0),
        expires_at: field(1),
        last_active: field(2),
        created_at: field(3),
        ..Record::default()
    };
    if record.is_expired(now) {
        return Ok(None);
    }
    let size = record_len_with_data(&record, data.len());
    if size > limit {
        return Err(Error::codec(format!(
            "stored record of {size} bytes is over the {limit}-byte limit"
        )));
    }
    record.data = decode_data(data)?;
    Ok(Some(record))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiered_sessions::codec::encode_data;

    fn sample() -> Record {
        let mut r = Record {
            version: u64::MAX - 1,
            expires_at: 1 << 60,
            last_active: 7,
            created_at: 3,
            ..Record::default()
        };
        r.data.insert("k".into(), b"v".to_vec());
        r
    }

    #[test]
    fn round_trips_and_lays_the_header_out_as_documented() {
        let r = sample();
        let value = encode(&r, usize::MAX).unwrap();
        assert_eq!(&value[..8], &(u64::MAX - 1).to_be_bytes());
        assert_eq!(&value[8..16], &(1u64 << 60).to_be_bytes());
        assert_eq!(&value[16..24], &7u64.to_be_bytes());
        assert_eq!(&value[24..32], &3u64.to_be_bytes());
        assert_eq!(&value[HEADER..], encode_data(&r.data).as_slice());
        assert_eq!(decode(&value, usize::MAX, 0).unwrap(), Some(r));
    }

    #[test]
    fn the_limit_is_the_record_length_on_both_sides() {
        let r = sample();
        let len = tiered_sessions::codec::record_len(&r);
        assert!(encode(&r, len).is_ok());
        assert!(matches!(
            encode(&r, len - 1),
            Err(Error::TooLarge { size, limit }) if size == len && limit == len - 1
        ));
        let value = encode(&r, len).unwrap();
        assert!(decode(&value, len, 0).unwrap().is_some());
        assert!(matches!(
            decode(&value, len - 1, 0),
            Err(Error::Codec { .. })
        ));
    }

    #[test]
    fn expired_values_are_not_decoded_and_malformed_ones_are_errors() {
        let mut value = encode(&sample(), usize::MAX).unwrap();
        assert_eq!(decode(&value, usize::MAX, 1 << 60).unwrap(), None);
        value.push(0xff);
        assert!(matches!(
            decode(&value, usize::MAX, 0),
            Err(Error::Codec { .. })
        ));
        assert!(matches!(
            decode(&value[..HEADER - 1], usize::MAX, 0),
            Err(Error::Codec { .. })
        ));
    }
}
