//! The session's data as one request sees it: the base it arrived with
//! (still encoded for a cookie session, the record's map for a stored one),
//! plus this request's changes.

use std::collections::BTreeMap;
use std::iter::Peekable;

use crate::codec::EncodedData;
use crate::principal::binding::is_reserved;
use crate::record::SessionData;
use crate::store::Durability;

/// One key this request changed: its new value (`None`: removed) and how
/// durably it must be saved.
pub(super) struct Change {
    pub(super) value: Option<Vec<u8>>,
    pub(super) durability: Durability,
}

/// What [`Data::measure`] found: the encoded length, and the entry count
/// when the data must be re-encoded (`None`: the encoded base is reused).
#[derive(Clone, Copy, Debug)]
pub(super) struct Measure {
    count: Option<u64>,
    len: usize,
}

impl Measure {
    pub(super) fn len(self) -> usize {
        self.len
    }
}

enum Base {
    Empty,
    /// A cookie session's data as the cookie carried it: a read decodes one
    /// value, a write re-encodes by merging, never building a map.
    Encoded(EncodedData),
    /// A stored session's data, as loaded (or as last saved by this request).
    Decoded(SessionData),
}

/// The session's data: a base and this request's changes over it. The
/// changes are exactly what a conflict re-applies onto a newer version.
pub(super) struct Data {
    base: Base,
    changes: BTreeMap<String, Change>,
}

impl Data {
    pub(super) fn empty() -> Self {
        Data {
            base: Base::Empty,
            changes: BTreeMap::new(),
        }
    }

    pub(super) fn encoded(base: EncodedData) -> Self {
        Data {
            base: Base::Encoded(base),
            changes: BTreeMap::new(),
        }
    }

    pub(super) fn decoded(base: SessionData) -> Self {
        Data {
            base: Base::Decoded(base),
            changes: BTreeMap::new(),
        }
    }

    /// Replace the base (a newer version of the record, or nothing after a
    /// `clear()`), keeping this request's changes on top of it.
    pub(super) fn rebase(&mut self, base: Option<SessionData>) {
        self.base = base.map_or(Base::Empty, Base::Decoded);
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
            None => match &self.base {
                Base::Empty => None,
                Base::Encoded(b) => b.get(key),
                Base::Decoded(m) => m.get(key).map(Vec::as_slice),
            },
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
        self.for_entries(|entries| {
            entries
                .filter(|(k, _)| !is_reserved(k))
                .map(|(k, _)| k.to_owned())
                .collect()
        })
    }

    /// Whether there is nothing at all to keep, reserved entries included.
    pub(super) fn is_empty(&self) -> bool {
        self.for_entries(|entries| entries.next().is_none())
    }

    /// Whether the handlers' data is empty (a binding alone is no data).
    pub(super) fn has_no_app_entries(&self) -> bool {
        self.for_entries(|mut entries| Iterator::all(&mut entries, |(k, _)| is_reserved(k)))
    }

    /// The size of the encoded data, found without encoding it.
    pub(super) fn measure(&self) -> Measure {
        match (&self.base, self.changes.is_empty()) {
            (Base::Encoded(b), true) => Measure {
                count: None,
                len: b.len(),
            },
            _ => {
                let (count, len) = self.for_entries(|e| EncodedData::measure(e));
                Measure {
                    count: Some(count),
                    len,
                }
            }
        }
    }

    /// The data in its encoded form, written once into a buffer of the exact
    /// length that `measure` (taken from this data, unchanged since) found.
    pub(super) fn encode(&self, measure: Measure) -> EncodedData {
        match (&self.base, measure.count) {
            (_, Some(count)) => {
                self.for_entries(|e| EncodedData::encode_entries(count, measure.len, e))
            }
            (Base::Encoded(b), None) => b.clone(),
            // Not a measure of this data: measure again.
            (_, None) => {
                let (count, len) = self.for_entries(|e| EncodedData::measure(e));
                self.for_entries(|e| EncodedData::encode_entries(count, len, e))
            }
        }
    }

    pub(super) fn to_encoded(&self) -> EncodedData {
        self.encode(self.measure())
    }

    /// The whole data as a map, for a record to save. The base map is moved
    /// out, not copied: hand the record's map back with [`Data::restore`]
    /// once the save is done.
    pub(super) fn take_map(&mut self) -> SessionData {
        let mut map = match std::mem::replace(&mut self.base, Base::Empty) {
            Base::Empty => SessionData::new(),
            Base::Encoded(b) => b.decode(),
            Base::Decoded(m) => m,
        };
        for (k, change) in &self.changes {
            match &change.value {
                Some(v) => map.insert(k.clone(), v.clone()),
                None => map.remove(k),
            };
        }
        map
    }

    /// Make `map` (from [`Data::take_map`], so the changes are already in
    /// it) the base again.
    pub(super) fn restore(&mut self, map: SessionData) {
        self.base = Base::Decoded(map);
    }

    /// Run `f` over every present entry in key order: the base merged with
    /// the changes.
    fn for_entries<'s, R>(
        &'s self,
        f: impl FnOnce(&mut dyn Iterator<Item = (&'s str, &'s [u8])>) -> R,
    ) -> R {
        let changes = self.changes.iter().map(|(k, c)| (k.as_str(), c));
        match &self.base {
            Base::Empty => f(&mut merge(std::iter::empty(), changes)),
            Base::Encoded(b) => f(&mut merge(b.entries(), changes)),
            Base::Decoded(m) => f(&mut merge(
                m.iter().map(|(k, v)| (k.as_str(), v.as_slice())),
                changes,
            )),
        }
    }
}

/// Merge base entries with changes, both in ascending key order: a change
/// replaces (or, with no value, removes) the base entry of its key.
fn merge<'a, B, C>(base: B, changes: C) -> Merge<'a, B, C>
where
    B: Iterator<Item = (&'a str, &'a [u8])>,
    C: Iterator<Item = (&'a str, &'a Change)>,
{
    Merge {
        base: base.peekable(),
        changes: changes.peekable(),
    }
}

struct Merge<'a, B, C>
where
    B: Iterator<Item = (&'a str, &'a [u8])>,
    C: Iterator<Item = (&'a str, &'a Change)>,
{
    base: Peekable<B>,
    changes: Peekable<C>,
}

impl<'a, B, C> Iterator for Merge<'a, B, C>
where
    B: Iterator<Item = (&'a str, &'a [u8])>,
    C: Iterator<Item = (&'a str, &'a Change)>,
{
    type Item = (&'a str, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let take_base = match (self.base.peek(), self.changes.peek()) {
                (None, None) => return None,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some((bk, _)), Some((ck, _))) => bk < ck,
            };
            if take_base {
                return self.base.next();
            }
            let (key, change) = self.changes.next()?;
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
            Data::decoded(base.clone()),
            Data::encoded(EncodedData::encode(&base)),
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
            assert_eq!(data.measure().len(), data.to_encoded().len());
            assert_eq!(data.changes.len(), 3, "the absent key is no change");
            let taken = data.take_map();
            assert_eq!(taken, expected);
            data.restore(taken);
            assert_eq!(data.take_map(), expected, "changes re-apply idempotently");
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
        let mut data = Data::decoded(map(&[("mine", b"old"), ("theirs", b"old")]));
        data.set("mine", Some(b"new".to_vec()), Durability::Durable);
        data.rebase(Some(map(&[("mine", b"x"), ("theirs", b"newer")])));
        assert_eq!(
            data.take_map(),
            map(&[("mine", b"new"), ("theirs", b"newer")])
        );
        data.rebase(None);
        assert_eq!(data.take_map(), map(&[("mine", b"new")]));
    }
}
