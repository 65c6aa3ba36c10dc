//! Rendering the response's `Set-Cookie` values: the session cookie (split
//! into chunks when long), and removals of the names it no longer uses.

use ::cookie::Cookie;
use ::cookie::time::{Duration, OffsetDateTime};

use crate::clock::UnixTime;
use crate::config::{SameSite, SessionConfig};
use crate::cookie::{self as wire, CookieContents};
use crate::error::{Error, Result};
use crate::request_cookies::Presence;

/// The latest instant an `Expires` attribute can name (9999-12-31T23:59:59Z,
/// the last second of a four-digit year); later expiries are clamped to it.
const LATEST_EXPIRES: i64 = 253_402_300_799;

/// What [`crate::Session::finish`] asks the framework to add to the response.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ResponseCookies {
    /// `Set-Cookie` header values, in order.
    pub set_cookie: Vec<String>,
}

impl ResponseCookies {
    /// Whether the response must carry session cookies (and then also
    /// `Vary: Cookie` and `Cache-Control: no-store`).
    pub fn is_empty(&self) -> bool {
        self.set_cookie.is_empty()
    }
}

fn base_cookie(config: &SessionConfig, name: String, value: String) -> Cookie<'static> {
    let mut c = Cookie::new(name, value);
    c.set_path(config.path.clone());
    if let Some(d) = &config.domain {
        c.set_domain(d.clone());
    }
    c.set_secure(config.secure);
    c.set_http_only(config.http_only);
    c.set_same_site(match config.same_site {
        SameSite::Strict => ::cookie::SameSite::Strict,
        SameSite::Lax => ::cookie::SameSite::Lax,
        SameSite::None => ::cookie::SameSite::None,
    });
    c
}

/// `Expires` for a UNIX time, clamped to what the attribute can express (a
/// far-future expiry must not turn into 1970, which would expire at once).
fn expires(at: UnixTime) -> OffsetDateTime {
    let secs = i64::try_from(at).unwrap_or(i64::MAX).min(LATEST_EXPIRES);
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn timed_cookie(
    config: &SessionConfig,
    name: &str,
    value: &str,
    expires_at: UnixTime,
    now: UnixTime,
) -> String {
    let mut c = base_cookie(config, name.to_owned(), value.to_owned());
    let max_age = i64::try_from(expires_at.saturating_sub(now)).unwrap_or(i64::MAX);
    c.set_max_age(Duration::seconds(max_age));
    c.set_expires(expires(expires_at));
    c.to_string()
}

fn removal(config: &SessionConfig, name: &str) -> String {
    let mut c = base_cookie(config, name.to_owned(), String::new());
    c.set_max_age(Duration::ZERO);
    c.set_expires(OffsetDateTime::UNIX_EPOCH);
    c.to_string()
}

/// Removals for the session names present on the request (the single name
/// too when `single`).
pub(super) fn removals(config: &SessionConfig, presence: Presence, single: bool) -> Vec<String> {
    let mut out = Vec::new();
    if single && presence.single {
        out.push(removal(config, &config.cookie_name));
    }
    for (i, name) in config.chunk_names.iter().enumerate() {
        if presence.chunks & (1 << i) != 0 {
            out.push(removal(config, name));
        }
    }
    out
}

/// The cookie(s) carrying `contents`, plus removals of the names the request
/// carried that this value no longer uses.
///
/// # Errors
/// [`Error::TooLarge`] when the value needs more than `max_cookies` chunks, or
/// an encryption failure.
pub(super) fn set_cookies(
    config: &SessionConfig,
    contents: &CookieContents,
    presence: Presence,
    now: UnixTime,
) -> Result<Vec<String>> {
    let value = wire::encode(&config.keys, &config.cookie_name, contents, config.encrypt)?;
    let exp = contents.expires_at;
    if value.len() <= config.max_cookie_len {
        let mut out = vec![timed_cookie(config, &config.cookie_name, &value, exp, now)];
        out.extend(removals(config, presence, false));
        return Ok(out);
    }
    let parts = wire::split(&value, config.max_cookie_len);
    if parts.len() > config.max_cookies {
        return Err(Error::TooLarge {
            size: value.len(),
            limit: config.max_value_len(),
        });
    }
    let mut out = Vec::with_capacity(parts.len() + 1);
    for (name, part) in config.chunk_names.iter().zip(&parts) {
        out.push(timed_cookie(config, name, part, exp, now));
    }
    if presence.single {
        out.push(removal(config, &config.cookie_name));
    }
    for (i, name) in config.chunk_names.iter().enumerate().skip(parts.len()) {
        if presence.chunks & (1 << i) != 0 {
            out.push(removal(config, name));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_is_clamped_to_year_9999_not_1970() {
        let far = expires(u64::MAX);
        assert_eq!(far.year(), 9999);
        assert_eq!(far.unix_timestamp(), LATEST_EXPIRES);
        assert_eq!(expires(1_800_000_000).unix_timestamp(), 1_800_000_000);
    }
}
