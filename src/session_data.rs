//! [`SessionData`]: a session's keys and encoded values, kept in the form the
//! store gave them until something changes them.

use std::collections::BTreeMap;
use std::collections::btree_map;
use std::fmt;

use crate::codec::{EncodedData, RawEntries};

/// Session data: each key maps to its value in the compact binary encoding
/// (see [`crate::codec`]), in key order. Keys are tracked one by one so that
/// concurrent requests changing different keys can both be kept.
///
/// Data a store loaded (through [`crate::codec::decode_data`] or
/// [`crate::codec::decode_record`]) stays in its encoded form: reading a key
/// scans it in place, and encoding it again for a save is a copy. The first
/// [`SessionData::insert`] or [`SessionData::remove`] turns it into a map.
/// Either way it compares, iterates and encodes the same.
///
/// Its `Debug` shows the keys only: values may hold personal data.
#[derive(Clone)]
pub struct SessionData(Repr);

#[derive(Clone)]
enum Repr {
    Map(BTreeMap<String, Vec<u8>>),
    /// Checked when it was made: UTF-8 keys, in strictly ascending order.
    Encoded(EncodedData),
}

impl SessionData {
    /// Empty data.
    pub fn new() -> Self {
        SessionData(Repr::Map(BTreeMap::new()))
    }

    /// Data already encoded and checked (sorted UTF-8 keys, no duplicates).
    pub(crate) fn from_encoded(encoded: EncodedData) -> Self {
        SessionData(Repr::Encoded(encoded))
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Map(m) => m.len(),
            Repr::Encoded(e) => e.count(),
        }
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The encoded value under `key`.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        match &self.0 {
            Repr::Map(m) => m.get(key).map(Vec::as_slice),
            Repr::Encoded(e) => e.get(key),
        }
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Every key and its encoded value, in key order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.raw_entries())
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|(k, _)| k)
    }

    /// Set `key` to the encoded `value`; returns the value it replaced.
    pub fn insert(&mut self, key: String, value: Vec<u8>) -> Option<Vec<u8>> {
        self.map_mut().insert(key, value)
    }

    /// Remove `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Vec<u8>> {
        self.map_mut().remove(key)
    }

    /// Remove every key.
    pub fn clear(&mut self) {
        self.0 = Repr::Map(BTreeMap::new());
    }

    /// Entries with their keys as bytes (UTF-8), for the encoder and the
    /// session's merge.
    pub(crate) fn raw_entries(&self) -> RawIter<'_> {
        match &self.0 {
            Repr::Map(m) => RawIter::Map(m.iter()),
            Repr::Encoded(e) => RawIter::Encoded(e.raw_entries()),
        }
    }

    /// The encoded form, when the data is kept encoded.
    pub(crate) fn encoded(&self) -> Option<&EncodedData> {
        match &self.0 {
            Repr::Encoded(e) => Some(e),
            Repr::Map(_) => None,
        }
    }

    fn map_mut(&mut self) -> &mut BTreeMap<String, Vec<u8>> {
        if let Repr::Encoded(e) = &self.0 {
            let map = e
                .entries()
                .map(|(k, v)| (k.to_owned(), v.to_vec()))
                .collect();
            self.0 = Repr::Map(map);
        }
        match &mut self.0 {
            Repr::Map(m) => m,
            Repr::Encoded(_) => unreachable!("replaced by a map above"),
        }
    }
}

impl Default for SessionData {
    fn default() -> Self {
        SessionData::new()
    }
}

impl PartialEq for SessionData {
    /// Equal when the keys and values are, whichever form each side is in
    /// (the framing accepts more than one encoding of a length).
    fn eq(&self, other: &Self) -> bool {
        if let (Repr::Encoded(a), Repr::Encoded(b)) = (&self.0, &other.0) {
            if a.as_bytes() == b.as_bytes() {
                return true;
            }
        }
        self.len() == other.len() && self.raw_entries().eq(other.raw_entries())
    }
}

impl Eq for SessionData {}

impl fmt::Debug for SessionData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionData")
            .field("keys", &self.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl From<BTreeMap<String, Vec<u8>>> for SessionData {
    fn from(map: BTreeMap<String, Vec<u8>>) -> Self {
        SessionData(Repr::Map(map))
    }
}

impl<const N: usize> From<[(String, Vec<u8>); N]> for SessionData {
    fn from(pairs: [(String, Vec<u8>); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl FromIterator<(String, Vec<u8>)> for SessionData {
    fn from_iter<I: IntoIterator<Item = (String, Vec<u8>)>>(iter: I) -> Self {
        SessionData(Repr::Map(iter.into_iter().collect()))
    }
}

impl Extend<(String, Vec<u8>)> for SessionData {
    fn extend<I: IntoIterator<Item = (String, Vec<u8>)>>(&mut self, iter: I) {
        self.map_mut().extend(iter);
    }
}

impl std::ops::Index<&str> for SessionData {
    type Output = [u8];

    /// The value under `key`.
    ///
    /// # Panics
    /// When `key` has no value, as a map's index does.
    fn index(&self, key: &str) -> &[u8] {
        self.get(key).expect("no value under this key")
    }
}

impl<'a> IntoIterator for &'a SessionData {
    type Item = (&'a str, &'a [u8]);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The entries of a [`SessionData`], in key order (see [`SessionData::iter`]).
pub struct Iter<'a>(RawIter<'a>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            RawIter::Map(m) => m.next().map(|(k, v)| (k.as_str(), v.as_slice())),
            // Keys were checked as UTF-8 when the data was made.
            RawIter::Encoded(e) => e
                .next()
                .and_then(|(k, v)| Some((std::str::from_utf8(k).ok()?, v))),
        }
    }
}

impl fmt::Debug for Iter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Iter")
    }
}

/// Entries with raw key bytes, whichever form the data has.
pub(crate) enum RawIter<'a> {
    Map(btree_map::Iter<'a, String, Vec<u8>>),
    Encoded(RawEntries<'a>),
}

impl<'a> Iterator for RawIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            RawIter::Map(m) => m.next().map(|(k, v)| (k.as_bytes(), v.as_slice())),
            RawIter::Encoded(e) => e.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{data_len, decode_data, encode_data};

    fn pairs() -> Vec<(String, Vec<u8>)> {
        vec![
            ("a".into(), vec![1]),
            ("b".into(), vec![]),
            ("é".into(), vec![3; 200]),
        ]
    }

    fn both() -> (SessionData, SessionData) {
        let map: SessionData = pairs().into_iter().collect();
        let encoded = decode_data(&encode_data(&map)).unwrap();
        assert!(encoded.encoded().is_some(), "decoded data stays encoded");
        (map, encoded)
    }

    #[test]
    fn both_forms_read_compare_and_encode_alike() {
        let (map, encoded) = both();
        assert_eq!(map, encoded);
        assert_eq!(encoded, map);
        for d in [&map, &encoded] {
            assert_eq!(d.len(), 3);
            assert!(!d.is_empty());
            assert_eq!(d.get("a"), Some(&[1u8][..]));
            assert_eq!(d.get("b"), Some(&[][..]));
            assert_eq!(d.get("c"), None);
            assert_eq!(&d["a"], &[1u8][..]);
            assert!(d.contains_key("é") && !d.contains_key("e"));
            assert_eq!(d.keys().collect::<Vec<_>>(), ["a", "b", "é"]);
            assert_eq!(
                d.iter()
                    .map(|(k, v)| (k.to_owned(), v.to_vec()))
                    .collect::<Vec<_>>(),
                pairs()
            );
            assert_eq!(data_len(d), encode_data(d).len());
            assert_eq!(format!("{d:?}"), r#"SessionData { keys: ["a", "b", "é"] }"#);
        }
        assert_eq!(encode_data(&map), encode_data(&encoded));
    }

    #[test]
    fn a_change_turns_encoded_data_into_a_map() {
        let (mut map, mut encoded) = both();
        for d in [&mut map, &mut encoded] {
            assert_eq!(d.insert("a".into(), vec![9]), Some(vec![1]));
            assert_eq!(d.remove("b"), Some(vec![]));
            assert_eq!(d.remove("b"), None);
            d.clear();
            d.insert("a".into(), vec![9]);
            d.insert("é".into(), vec![3; 200]);
            d.extend([("c".to_owned(), vec![7])]);
        }
        assert!(encoded.encoded().is_none());
        assert_eq!(map, encoded);
        assert_eq!(encoded.keys().collect::<Vec<_>>(), ["a", "c", "é"]);
        assert_ne!(map, SessionData::new());
    }

    #[test]
    fn equal_entries_are_equal_data_however_their_lengths_were_encoded() {
        let (map, encoded) = both();
        // The length of "a" (1) written as two bytes, 0x81 0x00.
        let mut long = encode_data(&map);
        assert_eq!(&long[..3], &[3, 1, b'a']);
        long.splice(1..2, [0x81, 0x00]);
        let long = decode_data(&long).unwrap();
        assert!(long.encoded().is_some());
        assert_eq!(long, encoded);
        assert_eq!(long, map);
        let other: SessionData = [("a".to_owned(), vec![2])].into();
        assert_ne!(long, other);
    }

    #[test]
    fn empty_data_in_both_forms() {
        let empty = SessionData::default();
        let encoded = decode_data(&encode_data(&empty)).unwrap();
        assert!(empty.is_empty() && encoded.is_empty());
        assert_eq!(encoded.len(), 0);
        assert_eq!(empty, encoded);
        assert_eq!(encoded.iter().count(), 0);
    }
}
