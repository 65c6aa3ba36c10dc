//! The checks behind the fuzz targets. Each takes untrusted bytes, must never
//! panic, and asserts what has to hold for every input. The libFuzzer targets
//! in `fuzz_targets/` call them; `tests/fuzz_props.rs` in the root crate
//! depends on this library (without the `libfuzzer` feature) and calls them
//! on seeded random inputs on stable, so the two can never drift apart.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use tiered_sessions::codec::{encode_data, encode_record, encode_value};
use tiered_sessions::internals::{
    CookieRejection, CookieToEncode, cookie_candidates, decode_chunked_cookie, decode_cookie,
    decode_data, decode_record, decode_value, encode_chunked_cookie, encode_cookie,
};
use tiered_sessions::{SessionConfig, SessionData, SessionId};

/// The time every check decodes at.
pub const NOW: u64 = 1_800_000_000;

/// The configurations the checks decode under: plain, and encrypted with a
/// second (retired) key in the ring. Both use the default cookie name,
/// `session`, and at most 4 chunks.
pub fn configs() -> &'static [SessionConfig; 2] {
    static CONFIGS: OnceLock<[SessionConfig; 2]> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let build = |b: tiered_sessions::SessionConfigBuilder| {
            b.max_cookie_len(200)
                .cookie_only_threshold(300)
                .build()
                .expect("a valid fuzz configuration")
        };
        [
            build(SessionConfig::builder([[7u8; 32]])),
            build(SessionConfig::builder([[8u8; 32], [7u8; 32]]).encrypt(true)),
        ]
    })
}

/// Reads structured values off the fuzzer's bytes; zeros once they run out.
pub struct Input<'a>(pub &'a [u8]);

impl Input<'_> {
    /// One byte.
    pub fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    /// A little-endian u16.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// Up to `max` bytes.
    pub fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = usize::from(self.byte()) % (max + 1);
        let (take, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        take.to_vec()
    }

    /// Session data of up to 4 entries.
    pub fn data(&mut self) -> SessionData {
        (0..self.byte() % 5)
            .map(|_| {
                let key = String::from_utf8_lossy(&self.bytes(12)).into_owned();
                (key, self.bytes(60))
            })
            .collect()
    }
}

/// A cookie value: the raw bytes decode to no session (or, for a seed that is
/// a genuine cookie, to a well-formed one), and a cookie built from the bytes
/// round-trips, while any change to it (one byte, an appended byte, a
/// truncation, the wrong time) is rejected.
pub fn cookie(bytes: &[u8]) {
    for config in configs() {
        if let Ok(decoded) = decode_cookie(config, bytes, NOW) {
            assert!(decoded.expires_at > NOW, "an expired cookie was accepted");
            if let Some(data) = decoded.data {
                decode_data(&data).expect("signed data is well-formed");
            }
        }
    }

    let mut input = Input(bytes);
    let config = &configs()[usize::from(input.byte() & 1)];
    let mut id = [0u8; 32];
    id.iter_mut().for_each(|b| *b = input.byte());
    let expires_at = NOW + 1 + u64::from(input.u16());
    let created_at = NOW - u64::from(input.u16());
    let data = input.data();
    let stored = input.byte() & 1 == 1;
    let contents = CookieToEncode::new(
        SessionId::from_bytes(id),
        expires_at,
        created_at,
        NOW,
        (!stored).then_some(&data),
    );
    let value = encode_cookie(config, &contents).expect("encoding never fails");
    let decoded = decode_cookie(config, value.as_bytes(), NOW).expect("a fresh cookie decodes");
    assert_eq!(decoded.id, SessionId::from_bytes(id));
    assert_eq!(
        (decoded.expires_at, decoded.created_at, decoded.last_active),
        (expires_at, created_at, NOW)
    );
    assert_eq!(decoded.data.is_none(), stored);
    if let Some(got) = decoded.data {
        assert_eq!(decode_data(&got).expect("own data decodes"), data);
    }
    assert_eq!(
        decode_cookie(config, value.as_bytes(), expires_at),
        Err(CookieRejection::Expired)
    );

    let mut changed = value.clone().into_bytes();
    let at = usize::from(input.u16()) % changed.len();
    let with = input.byte();
    if changed[at] != with {
        changed[at] = with;
        assert!(
            decode_cookie(config, &changed, NOW).is_err(),
            "a cookie changed at byte {at} still decoded"
        );
    }
    let mut appended = value.clone().into_bytes();
    appended.extend(input.bytes(4));
    if appended.len() > value.len() {
        assert!(decode_cookie(config, &appended, NOW).is_err());
    }
    let cut = usize::from(input.u16()) % value.len();
    assert!(decode_cookie(config, &value.as_bytes()[..cut], NOW).is_err());
    // The encrypted configuration's ring holds the plain one's key as its
    // retired key: a cookie it signs is foreign to the plain configuration,
    // and a plain cookie verifies under it but is marked for re-issuing.
    if std::ptr::eq(config, &configs()[1]) {
        assert!(decode_cookie(&configs()[0], value.as_bytes(), NOW).is_err());
    } else {
        let old =
            decode_cookie(&configs()[1], value.as_bytes(), NOW).expect("a retired key verifies");
        assert!(old.signed_with_old_key);
    }
}

/// `Cookie` headers: the raw bytes (split into headers at `\n`) yield a
/// bounded candidate list whose values decode without panicking; a cookie
/// split into chunks among other cookies is reassembled exactly.
pub fn cookie_header(bytes: &[u8]) {
    for config in configs() {
        let headers: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
        let (candidates, _ignored) = cookie_candidates(config, &headers);
        // Three copies of the name, plus one joined set of chunks.
        assert!(candidates.len() <= 4, "{} candidates", candidates.len());
        for c in &candidates {
            let _ = c.decode(config, NOW);
        }
    }

    let mut input = Input(bytes);
    let config = &configs()[usize::from(input.byte() & 1)];
    let data = input.data();
    let contents = CookieToEncode::new(
        SessionId::from_bytes([input.byte(); 32]),
        NOW + 60,
        NOW,
        NOW,
        Some(&data),
    );
    let value = encode_chunked_cookie(config, &contents).expect("encoding never fails");
    let parts = 1 + usize::from(input.byte()) % 4;
    let mut cuts: Vec<usize> = (1..parts)
        .map(|_| usize::from(input.u16()) % (value.len() + 1))
        .collect();
    cuts.sort_unstable();
    let mut pieces = Vec::new();
    let mut from = 0;
    for to in cuts.into_iter().chain([value.len()]) {
        pieces.push(&value[from..to]);
        from = to;
    }
    // Chunks out of order, between harmless cookies (names that are not the
    // session's, values from a safe alphabet).
    let mut order: Vec<usize> = (0..pieces.len()).collect();
    order.rotate_left(usize::from(input.byte()) % pieces.len());
    let mut header = String::new();
    for i in order {
        let noise = safe_text(&input.bytes(16));
        header.push_str(&format!("n{noise}={noise}; session.{i}={}; ", pieces[i]));
    }
    let (candidates, ignored) = cookie_candidates(config, &[header.as_bytes()]);
    assert_eq!(ignored, 0);
    assert_eq!(candidates.len(), 1);
    assert!(candidates[0].chunked);
    assert_eq!(candidates[0].value, value.as_bytes());
    let decoded = decode_chunked_cookie(config, &candidates[0].value, NOW)
        .expect("reassembled cookie decodes");
    // Chunks never pass for a single cookie.
    assert!(decode_cookie(config, &candidates[0].value, NOW).is_err());
    assert_eq!(
        decode_data(&decoded.data.expect("cookie data")).ok(),
        Some(data)
    );
}

fn safe_text(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

/// A stored record (as another process may have written it): decoding gives
/// a clean error or a record that survives re-encoding unchanged.
pub fn record(bytes: &[u8]) {
    if let Ok(record) = decode_record(bytes) {
        let again = decode_record(&encode_record(&record)).expect("a re-encoded record decodes");
        assert!(again == record, "a record changed through re-encoding");
        reads_agree_in_both_forms(&record.data);
    }
    if let Ok(data) = decode_data(bytes) {
        assert_eq!(decode_data(&encode_data(&data)).ok(), Some(data.clone()));
        reads_agree_in_both_forms(&data);
    }
}

/// Decoded data is usually kept in its encoded form and read in place; the
/// first change turns it into a map. Every read must give the same answer in
/// both forms, for the keys it holds and for keys just beside them (the
/// in-place lookup stops at the first key past the one it wants).
fn reads_agree_in_both_forms(data: &SessionData) {
    // A map built from the entries, and the data itself turned into a map by
    // a change that changes nothing (setting a key to the value it has).
    let built: SessionData = data
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_vec()))
        .collect();
    let mut converted = data.clone();
    if let Some((k, v)) = data.iter().next() {
        assert_eq!(
            converted.insert(k.to_owned(), v.to_vec()).as_deref(),
            Some(v)
        );
    }
    let mut probes = vec![String::new(), "\u{10FFFF}".to_owned()];
    for key in data.keys() {
        probes.push(key.to_owned());
        probes.push(format!("{key}\u{0}"));
        probes.push(format!("{key}~"));
        let mut shorter = key.to_owned();
        shorter.pop();
        probes.push(shorter);
    }
    for map in [&built, &converted] {
        // Equality is written by hand, form against form: both ways round.
        assert!(data == map, "the encoded form compares unequal to a map");
        assert!(map == data, "a map compares unequal to the encoded form");
        assert_eq!(data.len(), map.len());
        assert_eq!(data.is_empty(), map.is_empty());
        assert!(
            data.iter().eq(map.iter()),
            "the two forms iterate differently"
        );
        for probe in &probes {
            assert_eq!(data.get(probe), map.get(probe), "get({probe:?})");
            assert_eq!(data.contains_key(probe), map.contains_key(probe));
        }
    }
}

/// A value shaped like what applications keep in a session.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// A user name.
    pub user: String,
    /// Roles.
    pub roles: Vec<String>,
    /// An optional expiry.
    pub until: Option<u64>,
    /// Preferences.
    pub prefs: HashMap<String, i32>,
    /// A nested enum.
    pub state: State,
}

/// A nested enum of [`Profile`].
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub enum State {
    /// No data.
    Anonymous,
    /// A tuple variant.
    Cart(Vec<(u32, i16)>),
    /// A struct variant.
    Verified {
        /// A byte string.
        token: Vec<u8>,
        /// A character.
        level: char,
    },
}

/// A session value stored as one type and read as others: a clean error or a
/// value that re-encodes to the same value.
pub fn value(bytes: &[u8]) {
    fn as_type<T>(bytes: &[u8])
    where
        T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        if let Ok(v) = decode_value::<T>(bytes) {
            let again = encode_value(&v).expect("a decoded value encodes");
            assert_eq!(decode_value::<T>(&again).ok(), Some(v));
        }
    }
    as_type::<u64>(bytes);
    as_type::<i128>(bytes);
    as_type::<String>(bytes);
    as_type::<Vec<u8>>(bytes);
    as_type::<Vec<String>>(bytes);
    as_type::<Option<bool>>(bytes);
    as_type::<BTreeMap<String, Vec<u64>>>(bytes);
    as_type::<(char, u16, String)>(bytes);
    as_type::<Profile>(bytes);
    as_type::<State>(bytes);
}
