//! [`Jar`]: a browser's cookie jar, as far as session tests need one.

use std::collections::BTreeMap;

use tiered_sessions::ResponseCookies;

/// Cookies by name, updated from `Set-Cookie` values as a browser does: a
/// cookie with `Max-Age` of zero or less, or an empty value, is removed. (The
/// session layer always sends `Max-Age` with a removal; `Expires` is not
/// compared with a clock here.)
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Jar(BTreeMap<String, String>);

impl Jar {
    /// An empty jar.
    pub fn new() -> Self {
        Jar::default()
    }

    /// Apply `Set-Cookie` header values, in order.
    pub fn update<I, S>(&mut self, set_cookie: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for line in set_cookie {
            let mut parts = line.as_ref().split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.trim().split_once('=')) else {
                continue;
            };
            let expired = parts.any(|attr| {
                let attr = attr.trim();
                attr.get(..8)
                    .is_some_and(|k| k.eq_ignore_ascii_case("max-age="))
                    && attr[8..].trim().parse::<i64>().is_ok_and(|secs| secs <= 0)
            });
            let name = name.trim().to_owned();
            if name.is_empty() {
                continue;
            }
            if expired || value.trim().is_empty() {
                self.0.remove(&name);
            } else {
                self.0.insert(name, value.trim().to_owned());
            }
        }
    }

    /// Apply what `Session::finish` returned.
    pub fn update_from(&mut self, cookies: &ResponseCookies) {
        self.update(&cookies.set_cookie);
    }

    /// Apply a response's `Set-Cookie` headers, in order (values that are not
    /// text are skipped, as a browser would).
    pub fn update_from_headers(&mut self, headers: &http::HeaderMap) {
        self.update(
            headers
                .get_all(http::header::SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok()),
        );
    }

    /// The `Cookie` request header value, or `None` when the jar is empty.
    pub fn header(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| {
            self.0
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// The value of cookie `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Set cookie `name` by hand (tampering, planting).
    pub fn set(&mut self, name: &str, value: &str) {
        self.0.insert(name.to_owned(), value.to_owned());
    }

    /// Remove cookie `name`.
    pub fn remove(&mut self, name: &str) {
        self.0.remove(name);
    }

    /// The cookie names held, in order.
    pub fn names(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }

    /// Whether the jar holds no cookie.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many cookies the jar holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_replaces_and_removes_like_a_browser() {
        let mut jar = Jar::new();
        jar.update([
            "session=abc; Path=/; HttpOnly; Max-Age=600",
            "session.0=x; Path=/",
            "other=1",
        ]);
        assert_eq!(
            jar.header().as_deref(),
            Some("other=1; session=abc; session.0=x")
        );
        jar.update(["session=def; Max-Age=60", "session.0=; Max-Age=0"]);
        assert_eq!(jar.get("session"), Some("def"));
        assert_eq!(jar.get("session.0"), None);
        jar.update(["session=gone; max-age=-1", "other=; Path=/"]);
        assert!(jar.is_empty());
        assert_eq!(jar.header(), None);
        jar.update(["garbage", "=novalue"]);
        assert_eq!(jar.names(), [""; 0]);
    }
}
