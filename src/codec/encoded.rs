//! [`EncodedData`]: session data kept in its encoded form, read in place.

#[cfg(any(test, feature = "__internals"))]
use super::encode_data;
use super::{Reader, Stop, put_entry, put_uvarint};
use crate::error::{Error, Result};
#[cfg(any(test, feature = "__internals"))]
use crate::record::SessionData;

/// Session data in its encoded form, as written by [`super::encode_data`]: a key can
/// be read without decoding the rest, so a request that reads one key of a
/// cookie session allocates nothing for the others.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct EncodedData(pub(super) Vec<u8>);

impl Drop for EncodedData {
    /// The buffer becomes the thread's spare for the next cookie decode.
    fn drop(&mut self) {
        crate::spare::give(std::mem::take(&mut self.0));
    }
}

/// The entries of an [`EncodedData`], read in place (see
/// [`EncodedData::raw_entries`]).
pub(crate) struct RawEntries<'a> {
    reader: Reader<'a>,
    left: usize,
}

impl<'a> Iterator for RawEntries<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let entry = self.reader.entry();
        // A malformed entry ends the iteration.
        self.left = if entry.is_some() { self.left - 1 } else { 0 };
        entry
    }
}

impl EncodedData {
    /// Validate `bytes` (as written by [`super::encode_data`]) without decoding it:
    /// one pass, no allocation. The cookie decoder runs it after the MAC, so
    /// a correctly signed cookie whose data this version cannot read is
    /// rejected whole ("no session") instead of read in part.
    ///
    /// # Errors
    /// [`Error::Codec`] on truncated or malformed input, duplicate or unsorted
    /// keys, or trailing bytes.
    pub(crate) fn from_bytes(bytes: Vec<u8>) -> Result<Self> {
        match Self::check(&bytes) {
            Ok(()) => Ok(EncodedData(bytes)),
            Err(why) => Err(Error::codec(why)),
        }
    }

    pub(super) fn check(bytes: &[u8]) -> std::result::Result<(), Stop> {
        let mut r = Reader(bytes);
        let count = r.next_len()?;
        let mut previous: Option<&[u8]> = None;
        for _ in 0..count {
            let (key, _) = r.next_entry()?;
            // ASCII first: cheaper than the full check on a short key.
            if !key.is_ascii() && std::str::from_utf8(key).is_err() {
                return Err("key is not UTF-8");
            }
            if previous.is_some_and(|p| p >= key) {
                return Err("keys out of order or duplicated");
            }
            previous = Some(key);
        }
        if r.0.is_empty() {
            Ok(())
        } else {
            Err("trailing bytes")
        }
    }

    /// Encode `data`.
    #[cfg(any(test, feature = "__internals"))]
    pub(crate) fn encode(data: &SessionData) -> Self {
        EncodedData(encode_data(data))
    }

    /// Encode `entries`, given in ascending key order, in one pass into a
    /// buffer of `capacity` bytes (a guess; it grows if short).
    pub(crate) fn encode_entries<'a>(
        capacity: usize,
        entries: impl Iterator<Item = (&'a [u8], &'a [u8])>,
    ) -> Self {
        // The count leads the entries but is known only after them: one byte
        // is kept for it (under 128 entries, the usual case), and the rare
        // longer count is put in front afterwards.
        let mut out = crate::spare::take(capacity + 1);
        out.push(0);
        let mut count = 0u64;
        for (k, v) in entries {
            put_entry(&mut out, k, v);
            count += 1;
        }
        if count < 0x80 {
            out[0] = count as u8;
        } else {
            let mut head = Vec::with_capacity(10);
            put_uvarint(&mut head, count);
            out.splice(0..1, head);
        }
        EncodedData(out)
    }

    /// The encoded bytes, owned.
    #[cfg(feature = "__internals")]
    pub(crate) fn into_bytes(mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }

    /// The encoded bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The encoded length.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Entries with raw key bytes (UTF-8: [`EncodedData::from_bytes`]
    /// checked them). A malformed entry ends the iteration.
    pub(crate) fn raw_entries(&self) -> RawEntries<'_> {
        let mut reader = Reader(&self.0);
        let left = reader.next_len().unwrap_or(0);
        RawEntries { reader, left }
    }

    /// Entries in key order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.raw_entries()
            .map_while(|(k, v)| Some((std::str::from_utf8(k).ok()?, v)))
    }

    /// The encoded value under `key`. Keys are in ascending order (checked
    /// or written so), so the scan stops at the first key past `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&[u8]> {
        let key = key.as_bytes();
        for (k, v) in self.raw_entries() {
            match k.cmp(key) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => return Some(v),
                std::cmp::Ordering::Greater => break,
            }
        }
        None
    }

    /// The keys, in order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries().map(|(k, _)| k)
    }

    /// The number of entries (the count in front).
    pub(crate) fn count(&self) -> usize {
        Reader(&self.0).next_len().unwrap_or(0)
    }
}

impl std::fmt::Debug for EncodedData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodedData")
            .field("keys", &self.keys().collect::<Vec<_>>())
            .finish()
    }
}
