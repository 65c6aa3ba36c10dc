//! The raw `Cookie` headers of a request, kept unparsed until a handler asks
//! for its session (lazy loading: an untouched session costs no decoding).

use std::sync::Arc;

use http::HeaderValue;
use http::header::{COOKIE, HeaderMap};

use crate::config::SessionConfig;

/// A request's `Cookie` header values, as received.
#[derive(Clone, Debug, Default)]
pub struct RequestCookies(Headers);

/// A header value of another framework's type, shared rather than copied.
type Shared = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// Almost every request has at most one `Cookie` header: keep that one inline.
#[derive(Clone, Default)]
enum Headers {
    #[default]
    None,
    One(HeaderValue),
    Many(Vec<HeaderValue>),
    SharedOne(Shared),
    SharedMany(Vec<Shared>),
}

impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Headers::None => f.write_str("None"),
            Headers::One(h) => f.debug_tuple("One").field(h).finish(),
            Headers::Many(v) => f.debug_tuple("Many").field(v).finish(),
            // The bytes are a credential: show their size only.
            Headers::SharedOne(h) => f
                .debug_tuple("SharedOne")
                .field(&(**h).as_ref().len())
                .finish(),
            Headers::SharedMany(v) => f.debug_tuple("SharedMany").field(&v.len()).finish(),
        }
    }
}

/// Browsers send several cookies of one name when they hold it for more than
/// one path or domain; beyond this many, further copies are not decoded.
pub(crate) const MAX_SINGLE_CANDIDATES: usize = 3;

/// The session cookie values worth decoding (held without allocating, but
/// for joined chunks), and how many were skipped. No `Debug`: the values are
/// signed session cookies.
#[derive(Default)]
pub(crate) struct Candidates<'a> {
    singles: [&'a [u8]; MAX_SINGLE_CANDIDATES],
    single_count: usize,
    joined: Option<Vec<u8>>,
    /// Copies of the name beyond [`MAX_SINGLE_CANDIDATES`] and repeated chunk names.
    pub(crate) ignored: usize,
}

impl Candidates<'_> {
    /// The values, in the order to try them, each with whether it is the
    /// joined chunks (signed under another name than a single cookie).
    pub(crate) fn values(&self) -> impl Iterator<Item = (bool, &[u8])> {
        self.singles[..self.single_count]
            .iter()
            .map(|v| (false, *v))
            .chain(self.joined.as_deref().map(|v| (true, v)))
    }
}

/// Which of the session's cookie names the request carried, so stale ones can
/// be expired on the response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Presence {
    pub(crate) single: bool,
    pub(crate) chunks: u32,
}

impl Presence {
    #[cfg(test)]
    pub(crate) fn any(self) -> bool {
        self.single || self.chunks != 0
    }
}

impl RequestCookies {
    /// Take the `Cookie` headers from an `http` header map (cheap: the values
    /// are reference-counted).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut all = headers.get_all(COOKIE).iter();
        RequestCookies(match (all.next(), all.next()) {
            (None, _) => Headers::None,
            (Some(one), None) => Headers::One(one.clone()),
            (Some(a), Some(b)) => {
                let mut v = vec![a.clone(), b.clone()];
                v.extend(all.cloned());
                Headers::Many(v)
            }
        })
    }

    /// Take `Cookie` header values as raw bytes (for frameworks on other
    /// versions of the `http` crate). Values that are not valid header bytes
    /// are skipped.
    pub fn from_raw<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut all = values
            .into_iter()
            .filter_map(|v| HeaderValue::from_bytes(v).ok());
        // As `from_headers`: no allocation beyond the value for the usual one header.
        RequestCookies(match (all.next(), all.next()) {
            (None, _) => Headers::None,
            (Some(one), None) => Headers::One(one),
            (Some(a), Some(b)) => {
                let mut v = vec![a, b];
                v.extend(all);
                Headers::Many(v)
            }
        })
    }

    /// Take `Cookie` header values of any type that shows its bytes, without
    /// copying them (for frameworks on other versions of the `http` crate,
    /// whose header values are reference-counted: cloning one is cheap).
    /// Nothing is checked until a handler touches the session; bytes that
    /// are not a valid session cookie are no session.
    pub fn from_shared<V>(values: impl IntoIterator<Item = V>) -> Self
    where
        V: AsRef<[u8]> + Send + Sync + 'static,
    {
        let mut all = values.into_iter().map(|v| Arc::new(v) as Shared);
        RequestCookies(match (all.next(), all.next()) {
            (None, _) => Headers::None,
            (Some(one), None) => Headers::SharedOne(one),
            (Some(a), Some(b)) => {
                let mut v = vec![a, b];
                v.extend(all);
                Headers::SharedMany(v)
            }
        })
    }

    fn values(&self) -> impl Iterator<Item = &[u8]> {
        let (ours, shared): (&[HeaderValue], &[Shared]) = match &self.0 {
            Headers::None => (&[], &[]),
            Headers::One(h) => (std::slice::from_ref(h), &[]),
            Headers::Many(v) => (v, &[]),
            Headers::SharedOne(h) => (&[], std::slice::from_ref(h)),
            Headers::SharedMany(v) => (&[], v),
        };
        ours.iter()
            .map(HeaderValue::as_bytes)
            .chain(shared.iter().map(|h| (**h).as_ref()))
    }

    fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.values().flat_map(split_pairs)
    }

    /// Candidate cookie values for the session, in the order to try them: the
    /// first [`MAX_SINGLE_CANDIDATES`] cookies under the name, then the chunks
    /// joined in order. A header stuffed with copies of the name costs one
    /// scan, not one decode (and one log line) per copy.
    pub(crate) fn candidates(&self, config: &SessionConfig) -> Candidates<'_> {
        let name = config.cookie_name.as_bytes();
        let mut found = Candidates::default();
        let mut chunks: [Option<&[u8]>; 32] = [None; 32];
        for (n, v) in self.pairs() {
            if n == name {
                if found.single_count < MAX_SINGLE_CANDIDATES {
                    found.singles[found.single_count] = v;
                    found.single_count += 1;
                } else {
                    found.ignored += 1;
                }
            } else if let Some(i) = chunk_index(n, name, config.max_cookies) {
                if chunks[i].is_none() {
                    chunks[i] = Some(v);
                } else {
                    found.ignored += 1;
                }
            }
        }
        if chunks[0].is_some() {
            let mut joined = Vec::new();
            for c in chunks.iter().map_while(|c| *c) {
                joined.extend_from_slice(c);
            }
            found.joined = Some(joined);
        }
        found
    }

    /// Which session cookie names are present.
    pub(crate) fn presence(&self, config: &SessionConfig) -> Presence {
        let name = config.cookie_name.as_bytes();
        let mut presence = Presence::default();
        for (n, _) in self.pairs() {
            if n == name {
                presence.single = true;
            } else if let Some(i) = chunk_index(n, name, config.max_cookies) {
                presence.chunks |= 1 << i;
            }
        }
        presence
    }
}

/// `name=value` pairs of one header, split with memchr: a cookie header of a
/// few KiB is scanned at memory speed rather than byte by byte.
fn split_pairs(bytes: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut start = 0;
    memchr::memchr_iter(b';', bytes)
        .chain(std::iter::once(bytes.len()))
        .filter_map(move |end| {
            let pair = bytes.get(start..end)?.trim_ascii();
            start = end + 1;
            let eq = memchr::memchr(b'=', pair)?;
            let (name, value) = pair.split_at(eq);
            Some((name.trim_ascii(), value.get(1..)?.trim_ascii()))
        })
}

fn chunk_index(candidate: &[u8], name: &[u8], max: usize) -> Option<usize> {
    let rest = candidate.strip_prefix(name)?.strip_prefix(b".")?;
    if rest.is_empty() || rest.len() > 2 || !rest.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let i = rest
        .iter()
        .fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
    (i < max && !(rest.len() == 2 && rest[0] == b'0')).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SessionConfig {
        SessionConfig::builder([[1u8; 32]]).build().unwrap()
    }

    #[test]
    fn finds_single_and_chunked_values() {
        let mut h = HeaderMap::new();
        h.append(
            COOKIE,
            HeaderValue::from_static("a=1; session.1=BB; session=XX"),
        );
        h.append(
            COOKIE,
            HeaderValue::from_static("session.0=AA;session.3=DD"),
        );
        let rc = RequestCookies::from_headers(&h);
        let (c, p) = (rc.candidates(&config()), rc.presence(&config()));
        assert_eq!(
            c.values().collect::<Vec<_>>(),
            [(false, &b"XX"[..]), (true, b"AABB")]
        );
        assert_eq!(c.ignored, 0);
        assert!(p.single);
        assert_eq!(p.chunks, 0b1011);
    }

    #[test]
    fn shared_values_read_as_headers_do() {
        let header = "a=1; session.1=BB; session=XX";
        let owned = RequestCookies::from_raw([header.as_bytes(), b"session.0=AA"]);
        let shared = RequestCookies::from_shared([header.to_owned(), "session.0=AA".to_owned()]);
        let one = RequestCookies::from_shared([header.to_owned()]);
        let values = |rc: &RequestCookies| {
            let c = rc.candidates(&config());
            let v: Vec<Vec<u8>> = c.values().map(|(_, v)| v.to_vec()).collect();
            (v, c.ignored)
        };
        assert_eq!(values(&shared), values(&owned));
        assert_eq!(shared.presence(&config()), owned.presence(&config()));
        assert_eq!(values(&one), (vec![b"XX".to_vec()], 0));
        let none = RequestCookies::from_shared(Vec::<String>::new());
        assert!(!none.presence(&config()).any());
    }

    #[test]
    fn a_flood_of_copies_yields_a_bounded_candidate_list() {
        let header = "session=AA; ".repeat(5_460);
        let rc = RequestCookies::from_raw([header.as_bytes()]);
        let c = rc.candidates(&config());
        assert_eq!(c.values().count(), MAX_SINGLE_CANDIDATES);
        assert_eq!(c.ignored, 5_460 - MAX_SINGLE_CANDIDATES);
        let chunks = "session.0=A; session.0=B; session.1=C; ".repeat(100);
        let rc = RequestCookies::from_raw([chunks.as_bytes()]);
        let c = rc.candidates(&config());
        assert_eq!(c.values().collect::<Vec<_>>(), [(true, &b"AC"[..])]);
        assert_eq!(c.ignored, 298);
    }

    #[test]
    fn ignores_foreign_and_malformed_names() {
        let rc = RequestCookies::from_raw([
            &b"sessionx=1; session.=2; session.01=3; session.9=4; noeq; =5"[..],
        ]);
        let (c, p) = (rc.candidates(&config()), rc.presence(&config()));
        assert_eq!(c.values().count(), 0);
        assert!(!p.any());
    }
}
