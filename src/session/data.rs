//! The session's data as one request sees it: the encoded base it arrived
//! with, plus this request's changes.

use std::collections::BTreeMap;

use crate::codec::EncodedData;
use crate::record::SessionData;

/// The session's data. A cookie session stays encoded as the cookie carried
/// it, with this request's changes in an overlay: a read decodes one value and
/// a write re-encodes by merging, never building a map of every entry.
pub(super) struct Data {
    base: Option<EncodedData>,
    /// Changed keys; `None` marks a removal. With no `base`, the whole data.
    overlay: BTreeMap<String, Option<Vec<u8>>>,
}

impl Data {
    pub(super) fn decoded(map: SessionData) -> Self {
        Data {
            base: None,
            overlay: map.into_iter().map(|(k, v)| (k, Some(v))).collect(),
        }
    }

    pub(super) fn encoded(base: EncodedData) -> Self {
        Data {
            base: Some(base),
            overlay: BTreeMap::new(),
        }
    }

    pub(super) fn get(&self, key: &str) -> Option<&[u8]> {
        match self.overlay.get(key) {
            Some(v) => v.as_deref(),
            None => self.base.as_ref().and_then(|b| b.get(key)),
        }
    }

    pub(super) fn insert(&mut self, key: &str, value: Vec<u8>) {
        self.overlay.insert(key.to_owned(), Some(value));
    }

    pub(super) fn remove(&mut self, key: &str) -> bool {
        let had = self.get(key).is_some();
        if self.base.is_some() {
            self.overlay.insert(key.to_owned(), None);
        } else {
            self.overlay.remove(key);
        }
        had
    }

    pub(super) fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .base
            .iter()
            .flat_map(|b| b.keys())
            .filter(|k| !self.overlay.contains_key(*k))
            .map(str::to_owned)
            .collect();
        keys.extend(
            self.overlay
                .iter()
                .filter(|(_, v)| v.is_some())
                .map(|(k, _)| k.clone()),
        );
        keys.sort_unstable();
        keys
    }

    pub(super) fn is_empty(&self) -> bool {
        self.overlay.values().all(Option::is_none)
            && self
                .base
                .as_ref()
                .is_none_or(|b| b.keys().all(|k| self.overlay.contains_key(k)))
    }

    pub(super) fn to_encoded(&self) -> EncodedData {
        match &self.base {
            Some(base) if self.overlay.is_empty() => base.clone(),
            Some(base) => base.merged(&self.overlay),
            None => EncodedData::encode_entries(
                self.overlay
                    .iter()
                    .filter_map(|(k, v)| Some((k.as_str(), v.as_deref()?))),
            ),
        }
    }

    pub(super) fn to_map(&self) -> SessionData {
        let mut map = self
            .base
            .as_ref()
            .map(EncodedData::decode)
            .unwrap_or_default();
        for (k, v) in &self.overlay {
            match v {
                Some(v) => map.insert(k.clone(), v.clone()),
                None => map.remove(k),
            };
        }
        map
    }
}
