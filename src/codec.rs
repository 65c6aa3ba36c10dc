//! The compact binary encoding of values, session data and whole records.
//!
//! Values use postcard (a small, well-kept, non-self-describing serde format:
//! the fastest of those we measured for session-sized maps, see `benches/`).
//! Maps and records use a fixed framing of LEB128 lengths, so checking data is
//! one pass with no allocation per entry, and data that is only read is never
//! decoded into a map (see [`SessionData`]).

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::record::{Record, SessionData};

mod encoded;

pub(crate) use encoded::{EncodedData, RawEntries};

const RECORD_FORMAT: u8 = 1;

/// Encode one value.
///
/// # Errors
/// [`Error::Codec`] if the value cannot be serialized.
pub fn encode_value<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    postcard::to_stdvec(value).map_err(Error::codec)
}

/// Decode one value.
///
/// # Errors
/// [`Error::Codec`] if the bytes are not a `T` (for example a value written as
/// another type under the same key).
pub fn decode_value<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    // Postcard does not describe types, so a value read as another type is
    // caught by insisting that it consumes every byte.
    let (value, rest) = postcard::take_from_bytes(bytes).map_err(Error::codec)?;
    if !rest.is_empty() {
        return Err(Error::codec(
            "value has trailing bytes: stored as another type?",
        ));
    }
    Ok(value)
}

/// Encode session data.
pub fn encode_data(data: &SessionData) -> Vec<u8> {
    let mut out = Vec::with_capacity(data_len(data));
    put_data(&mut out, data);
    out
}

/// [`encode_data`], appended to `out`: for drivers that keep a header of
/// their own in front of the data, in one buffer (size it with
/// [`data_len`]).
pub fn encode_data_into(data: &SessionData, out: &mut Vec<u8>) {
    put_data(out, data);
}

/// The length of [`encode_data`]'s output, computed without encoding.
pub fn data_len(data: &SessionData) -> usize {
    if let Some(e) = data.encoded() {
        return e.len();
    }
    uvarint_len(data.len() as u64)
        + data
            .iter()
            .map(|(k, v)| entry_len(k.len(), v.len()))
            .sum::<usize>()
}

/// The length of [`encode_record`]'s output, computed without encoding: the
/// measure of every record size limit (see
/// [`crate::SessionStore::max_record_bytes`]).
pub fn record_len(record: &Record) -> usize {
    record_len_with_data(record, data_len(&record.data))
}

/// [`record_len`] for a record whose data is already encoded in `data_len`
/// bytes (drivers that store the data as one blob).
pub fn record_len_with_data(record: &Record, data_len: usize) -> usize {
    1 + [
        record.version,
        record.expires_at,
        record.created_at,
        record.last_active,
    ]
    .into_iter()
    .map(uvarint_len)
    .sum::<usize>()
        + data_len
}

fn entry_len(key_len: usize, value_len: usize) -> usize {
    uvarint_len(key_len as u64) + key_len + uvarint_len(value_len as u64) + value_len
}

fn uvarint_len(n: u64) -> usize {
    (64 - n.leading_zeros() as usize).div_ceil(7).max(1)
}

/// Decode session data. Data as this crate writes it (keys in order) is
/// checked in one pass and kept encoded: one allocation, whatever the number
/// of keys.
///
/// # Errors
/// [`Error::Codec`] on truncated or malformed input, a key that is not UTF-8,
/// a duplicate key, or trailing bytes.
pub fn decode_data(bytes: &[u8]) -> Result<SessionData> {
    if EncodedData::check(bytes).is_ok() {
        // The thread's spare buffer when it is there (the data's drop hands
        // it back): past glibc's per-thread cache a fresh one costs more.
        let mut buf = crate::spare::take(bytes.len());
        buf.extend_from_slice(bytes);
        return Ok(SessionData::from_encoded(EncodedData(buf)));
    }
    // Anything else is decoded as before: keys out of order are accepted
    // (and sorted), everything malformed is refused.
    let mut r = Reader(bytes);
    let data = r.data()?;
    r.finish()?;
    Ok(data)
}

/// Encode a whole record (for stores that keep it as one value, like a cache).
pub fn encode_record(record: &Record) -> Vec<u8> {
    let mut out = Vec::with_capacity(48 + record.data.len() * 16);
    out.push(RECORD_FORMAT);
    for n in [
        record.version,
        record.expires_at,
        record.created_at,
        record.last_active,
    ] {
        put_uvarint(&mut out, n);
    }
    put_data(&mut out, &record.data);
    out
}

/// Decode a record written by [`encode_record`].
///
/// # Errors
/// [`Error::Codec`] on an unknown format, truncated or malformed input.
pub fn decode_record(bytes: &[u8]) -> Result<Record> {
    let mut r = Reader(bytes);
    if r.byte()? != RECORD_FORMAT {
        return Err(Error::codec("unknown record format"));
    }
    let version = r.uvarint()?;
    let expires_at = r.uvarint()?;
    let created_at = r.uvarint()?;
    let last_active = r.uvarint()?;
    let data = decode_data(r.0)?;
    Ok(Record {
        data,
        expires_at,
        created_at,
        last_active,
        version,
    })
}

fn put_data(out: &mut Vec<u8>, data: &SessionData) {
    if let Some(e) = data.encoded() {
        out.extend_from_slice(e.as_bytes());
        return;
    }
    put_uvarint(out, data.len() as u64);
    for (k, v) in data {
        put_entry(out, k.as_bytes(), v);
    }
}

fn put_entry(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    put_uvarint(out, key.len() as u64);
    out.extend_from_slice(key);
    put_uvarint(out, value.len() as u64);
    out.extend_from_slice(value);
}

pub(crate) fn put_uvarint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

/// Why a [`Reader`] stopped (a `&'static str`, so the walks over entries
/// carry no [`Error`] until one is returned).
pub(crate) type Stop = &'static str;
const TRUNCATED: Stop = "truncated";
const BEYOND: Stop = "length beyond input";

impl<'a> Reader<'a> {
    #[inline]
    pub(crate) fn byte(&mut self) -> Result<u8> {
        let (&b, rest) = self
            .0
            .split_first()
            .ok_or_else(|| Error::codec(TRUNCATED))?;
        self.0 = rest;
        Ok(b)
    }

    #[inline]
    pub(crate) fn uvarint(&mut self) -> Result<u64> {
        self.next_uvarint().map_err(Error::codec)
    }

    /// One LEB128 number. Inline for the one-byte case (every key length,
    /// most value lengths and counts).
    #[inline]
    pub(crate) fn next_uvarint(&mut self) -> std::result::Result<u64, Stop> {
        match self.0.split_first() {
            Some((&b, rest)) if b < 0x80 => {
                self.0 = rest;
                Ok(u64::from(b))
            }
            _ => self.long_uvarint(),
        }
    }

    #[inline(never)]
    fn long_uvarint(&mut self) -> std::result::Result<u64, Stop> {
        let mut n: u64 = 0;
        for (i, &b) in self.0.iter().enumerate().take(10) {
            let part = u64::from(b & 0x7f);
            if i == 9 && part > 1 {
                return Err("varint overflow");
            }
            n |= part << (7 * i);
            if b & 0x80 == 0 {
                self.0 = &self.0[i + 1..];
                return Ok(n);
            }
        }
        Err(if self.0.len() < 10 {
            TRUNCATED
        } else {
            "varint too long"
        })
    }

    /// A length, which can never exceed what is left (this also bounds
    /// allocations).
    #[inline]
    fn next_len(&mut self) -> std::result::Result<usize, Stop> {
        let n = self.next_uvarint()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.0.len())
            .ok_or(BEYOND)
    }

    /// The next `n` bytes; `n` is at most what is left (a checked length).
    #[inline]
    fn split(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }

    /// One `key, value` entry.
    #[inline]
    fn next_entry(&mut self) -> std::result::Result<(&'a [u8], &'a [u8]), Stop> {
        let klen = self.next_len()?;
        let key = self.split(klen);
        let vlen = self.next_len()?;
        Ok((key, self.split(vlen)))
    }

    /// One `key, value` entry, or `None` when it is malformed.
    #[inline]
    fn entry(&mut self) -> Option<(&'a [u8], &'a [u8])> {
        self.next_entry().ok()
    }

    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.0.len() {
            return Err(Error::codec(TRUNCATED));
        }
        Ok(self.split(n))
    }

    #[inline]
    pub(crate) fn len(&mut self) -> Result<usize> {
        self.next_len().map_err(Error::codec)
    }

    pub(crate) fn data(&mut self) -> Result<SessionData> {
        let count = self.len()?;
        let mut data = SessionData::new();
        for _ in 0..count {
            let klen = self.len()?;
            let key = std::str::from_utf8(self.take(klen)?).map_err(Error::codec)?;
            let vlen = self.len()?;
            let value = self.take(vlen)?.to_vec();
            data.insert(key.to_owned(), value);
        }
        if data.len() != count {
            return Err(Error::codec("duplicate key"));
        }
        Ok(data)
    }

    pub(crate) fn finish(&self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::codec("trailing bytes"))
        }
    }
}

#[cfg(test)]
mod tests;
