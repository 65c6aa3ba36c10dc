//! The session's data as one request sees it: the base it arrived with
//! (still encoded, from the cookie or from the store), plus this request's
//! changes.

use std::collections::BTreeMap;
use std::iter::Peekable;

use crate::codec::EncodedData;
use crate::principal::binding::is_reserved;
use crate::record::SessionData;
use crate::session_data::RawIter;
use crate::store::Durability;

/// One key this request changed: its new value (`None`: removed) and how
/// durably it must be saved.
pub(super) struct Change {
    pub(super) value: Option<Vec<u8>>,
    pub(super) durability: Durability,
}

/// The session's data: a base and this request's changes over it. The
/// changes are exactly what a conflict re-applies onto a newer version.
pub(super) struct Data {
    /// The data as it arrived: still encoded, from the cookie or the store
    /// (or as last saved by this request); empty for a new session.
    base: SessionData,
    changes: BTreeMap<String, Change>,
}

impl Data {
    pub(super) fn empty() -> Self {
        Data::new(SessionData::new())
    }

    pub(super) fn new(base: SessionData) -> Self {
        Data {
            base,
            changes: BTreeMap::new(),
        }
    }

    /// Replace the base (a newer version of the record, or nothing after a
    /// `clear()`), keeping this request's changes on top of it.
    pub(super) fn rebase(&mut self, base: Option<SessionData>) {
        self.base = base.unwrap_or_default();
    }

    pub(super) fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    pub(super) fn changes(&self) -> impl Iterator<Item = &Change> {
        self.changes.values()
    }

    pub(super) fn get(&self, key: &str) -> Option<&[u8]> {
        match self.changes.get(key) {
            Some(change) => change.value.as_deref(),
            None => self.base.get(key),
        }
    }

    /// Set (`Some`) or remove (`None`) `key`. A quick change never downgrades
    /// a durable change of the same key made earlier in the request.
    pub(super) fn set(&mut self, key: &str, value: Option<Vec<u8>>, durability: Durability) {
        match self.changes.get_mut(key) {
            Some(change) => {
                change.value = value;
                change.durability = change.durability.max(durability);
            }
            None => {
                self.changes
                    .insert(key.to_owned(), Change { value, durability });
            }
        }
    }

    /// Remove `key`; returns whether it was there. Removing a key that is in
    /// neither the base nor this request's changes changes nothing.
    pub(super) fn remove(&mut self, key: &str, durability: Durability) -> bool {
        let had = self.get(key).is_some();
        if had || self.changes.contains_key(key) {
            self.set(key, None, durability);
        }
        had
    }

    /// The handlers' keys (the library's reserved ones are not shown).
    pub(super) fn keys(&self) -> Vec<String> {
        self.entries()
            .filter(|(k, _)| !is_reserved(k))
            .filter_map(|(k, _)| std::str::from_utf8(k).ok())
            .map(str::to_owned)
            .collect()
    }

    /// Whether there is nothing at all to keep, reserved entries included.
    pub(super) fn is_empty(&self) -> bool {
        self.entries().next().is_none()
    }

    /// Whether the handlers' data is empty (a binding alone is no data).
    pub(super) fn has_no_app_entries(&self) -> bool {
        self.entries().all(|(k, _)| is_reserved(k))
    }

    /// The data in its encoded form: the encoded base itself when nothing
    /// changed, else base and changes merged in one pass.
    pub(super) fn to_encoded(&self) -> EncodedData {
        if let (Some(b), true) = (self.base.encoded(), self.changes.is_empty()) {
            return b.clone();
        }
        let capacity = crate::codec::data_len(&self.base)
            + self
                .changes
                .iter()
                .map(|(k, c)| k.len() + c.value.as_ref().map_or(0, Vec::len) + 4)
                .sum::<usize>();
        EncodedData::encode_entries(capacity, self.entries())
    }

    /// The whole data, for a record to save: the base moved out when
    /// nothing changed, else base and changes merged and encoded in one pass
    /// (no map is built). Hand the record's data back with [`Data::restore`]
    /// once the save is done.
    pub(super) fn take_data(&mut self) -> SessionData {
        if self.changes.is_empty() {
            return std::mem::take(&mut self.base);
        }
        SessionData::from_encoded(self.to_encoded())
    }

    /// Make `data` (from [`Data::take_data`], so the changes are already in
    /// it) the base again.
    pub(super) fn restore(&mut self, data: SessionData) {
        self.base = data;
    }

    /// Every present entry in key order, keys as bytes (UTF-8, checked when
    /// they entered): the base merged with the changes.
    fn entries(&self) -> Merge<'_> {
        Merge {
            base: self.base.raw_entries().peekable(),
            changes: self.changes.iter().peekable(),
        }
    }
}

/// Base entries merged with changes, both in ascending key order (byte
/// order is UTF-8 string order): a change replaces (or, with no value,
/// removes) the base entry of its key.
struct Merge<'a> {
    base: Peekable<RawIter<'a>>,
    changes: Peekable<std::collections::btree_map::Iter<'a, String, Change>>,
}

impl<'a> Iterator for Merge<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let take_base = match (self.base.peek(), self.changes.peek()) {
                (None, None) => return None,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some((bk, _)), Some((ck, _))) => *bk < ck.as_bytes(),
            };
            if take_base {
                return self.base.next();
            }
            let (key, change) = self.changes.next()?;
            let key = key.as_bytes();
            if self.base.peek().is_some_and(|(bk, _)| *bk == key) {
                self.base.next();
            }
            if let Some(v) = &change.value {
                return Some((key, v.as_slice()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &[u8])]) -> SessionData {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.to_vec()))
            .collect()
    }

    #[test]
    fn changes_merge_over_every_kind_of_base() {
        let base = map(&[("a", b"1"), ("m", b"2"), ("z", b"3")]);
        for mut data in [
            Data::new(base.clone()),
            Data::new(SessionData::from_encoded(EncodedData::encode(&base))),
        ] {
            data.set("0", Some(b"new".to_vec()), Durability::Quick);
            data.set("m", Some(b"changed".to_vec()), Durability::Durable);
            assert!(data.remove("z", Durability::Durable));
            assert!(!data.remove("absent", Durability::Durable));
            let expected = map(&[("0", b"new"), ("a", b"1"), ("m", b"changed")]);
            assert_eq!(data.get("m"), Some(&b"changed"[..]));
            assert_eq!(data.get("z"), None);
            assert_eq!(data.keys(), ["0", "a", "m"]);
            assert_eq!(data.to_encoded(), EncodedData::encode(&expected));
            assert_eq!(data.changes.len(), 3, "the absent key is no change");
            let taken = data.take_data();
            assert_eq!(taken, expected);
            data.restore(taken);
            assert_eq!(data.take_data(), expected, "changes re-apply idempotently");
        }
    }

    #[test]
    fn a_quick_change_never_downgrades_a_durable_one() {
        let mut data = Data::empty();
        data.set("k", Some(vec![1]), Durability::Durable);
        data.set("k", Some(vec![2]), Durability::Quick);
        data.remove("k", Durability::Quick);
        let change = &data.changes["k"];
        assert!(change.value.is_none());
        assert_eq!(change.durability, Durability::Durable);
        assert!(data.is_empty());
    }

    #[test]
    fn rebase_keeps_this_requests_changes() {
        let mut data = Data::new(map(&[("mine", b"old"), ("theirs", b"old")]));
        data.set("mine", Some(b"new".to_vec()), Durability::Durable);
        data.rebase(Some(map(&[("mine", b"x"), ("theirs", b"newer")])));
        assert_eq!(
            data.take_data(),
            map(&[("mine", b"new"), ("theirs", b"newer")])
        );
        data.rebase(None);
        assert_eq!(data.take_data(), map(&[("mine", b"new")]));
    }
}
