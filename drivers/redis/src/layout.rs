//! Where a session sits in Redis, for the cache and the store alike: one key
//! `{prefix}{<store key>}` (the store key is the cluster hash tag), with a TTL
//! of the session's remaining lifetime.
//!
//! Both keep a record as the same STRING, a binary header then the data (see
//! `store_value`). The cache's key may instead hold a short deletion marker
//! or version floor (see `scripts`); the store keeps neither.

use tiered_sessions::{StoreKey, UnixTime};

/// Longest TTL set on a key: far enough for any session, short enough that
/// Redis never rejects it as out of range.
pub(crate) const MAX_TTL_SECS: u64 = 10 * 365 * 24 * 3600;

/// The Redis key of `key` under `prefix`.
pub(crate) fn redis_key(prefix: &str, key: &StoreKey) -> String {
    let mut k = String::with_capacity(prefix.len() + key.as_str().len() + 2);
    k.push_str(prefix);
    k.push('{');
    k.push_str(key.as_str());
    k.push('}');
    k
}

/// Seconds from `now` to `expires_at`, at least 1 (Redis rejects 0) and at most
/// [`MAX_TTL_SECS`].
pub(crate) fn ttl(expires_at: UnixTime, now: UnixTime) -> u64 {
    expires_at.saturating_sub(now).clamp(1, MAX_TTL_SECS)
}

/// The `SCAN MATCH` pattern of every session key under `prefix`: the prefix
/// with glob characters escaped, then a hash tag.
pub(crate) fn scan_pattern(prefix: &str) -> String {
    let mut p = String::with_capacity(prefix.len() + 4);
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push_str("{*}");
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_clamped() {
        assert_eq!(ttl(100, 40), 60);
        assert_eq!(ttl(100, 100), 1);
        assert_eq!(ttl(100, 500), 1);
        assert_eq!(ttl(u64::MAX, 0), MAX_TTL_SECS);
    }

    #[test]
    fn scan_pattern_escapes_globs() {
        assert_eq!(scan_pattern("session:"), "session:{*}");
        assert_eq!(scan_pattern("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\{*}");
    }
}
