//! Rendering the response's `Set-Cookie` values: the session cookie (split
//! into chunks when long), and removals of the names it no longer uses.
//!
//! Everything that depends only on the configuration (the attributes, whole
//! removal values) is rendered once when the configuration is built; a
//! response writes the name, the value straight from the encoder, `Max-Age`
//! and `Expires` into one buffer of the exact length.

use crate::clock::UnixTime;
use crate::config::{SameSite, SessionConfig};
use crate::cookie::{self as wire, CookieContents};
use crate::error::{Error, Result};
use crate::request_cookies::Presence;

/// The latest instant an `Expires` attribute can name (9999-12-31T23:59:59Z,
/// the last second of a four-digit year); later expiries are clamped to it.
const LATEST_EXPIRES: u64 = 253_402_300_799;
/// `Wdy, DD Mon YYYY HH:MM:SS GMT` (RFC 9110 IMF-fixdate) for years 1970–9999.
const HTTP_DATE_LEN: usize = 29;
const MAX_AGE: &str = "; Max-Age=";
const EXPIRES: &str = "; Expires=";

/// What [`crate::Session::finish`] asks the framework to add to the response.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ResponseCookies {
    /// `Set-Cookie` header values, in order.
    pub set_cookie: Vec<String>,
}

impl ResponseCookies {
    /// Whether the response must carry session cookies (and then also
    /// `Cache-Control: no-store`; `Vary: Cookie` is due whenever the session
    /// was [accessed](crate::Session::accessed)).
    pub fn is_empty(&self) -> bool {
        self.set_cookie.is_empty()
    }
}

/// The configuration's share of every `Set-Cookie` value, rendered once.
#[derive(Clone, Debug)]
pub(crate) struct SetCookieTemplate {
    /// `; HttpOnly; SameSite=Lax; Secure; Path=/; Domain=example.com`, as
    /// configured (attribute order as the `cookie` crate writes them).
    attributes: String,
    /// The whole removal value of the single cookie.
    removal_single: String,
    /// The whole removal value of each chunk name.
    removal_chunks: Vec<String>,
}

impl SetCookieTemplate {
    /// Render the attributes. The inputs were validated by the configuration
    /// builder (a token name; no `;`, CR, LF or control characters in the
    /// path and domain), so no value here can break out of its attribute.
    pub(crate) fn new(
        cookie_name: &str,
        chunk_names: &[String],
        path: &str,
        domain: Option<&str>,
        secure: bool,
        http_only: bool,
        same_site: SameSite,
    ) -> Self {
        let mut attributes = String::new();
        if http_only {
            attributes.push_str("; HttpOnly");
        }
        attributes.push_str(match same_site {
            SameSite::Strict => "; SameSite=Strict",
            SameSite::Lax => "; SameSite=Lax",
            SameSite::None => "; SameSite=None",
        });
        if secure {
            attributes.push_str("; Secure");
        }
        attributes.push_str("; Path=");
        attributes.push_str(path);
        if let Some(domain) = domain {
            // A leading dot is obsolete (RFC 6265 ignores it); leave it out.
            attributes.push_str("; Domain=");
            attributes.push_str(domain.strip_prefix('.').unwrap_or(domain));
        }
        let removal = |name: &str| {
            let mut out = String::new();
            out.push_str(name);
            out.push('=');
            out.push_str(&attributes);
            out.push_str(MAX_AGE);
            out.push('0');
            out.push_str(EXPIRES);
            push_ascii(&mut out, &http_date(0));
            out
        };
        SetCookieTemplate {
            removal_single: removal(cookie_name),
            removal_chunks: chunk_names.iter().map(|n| removal(n)).collect(),
            attributes,
        }
    }
}

/// Removals for the session names present on the request (the single name
/// too when `single`).
pub(super) fn removals(config: &SessionConfig, presence: Presence, single: bool) -> Vec<String> {
    let template = &config.set_cookie;
    let mut out = Vec::new();
    if single && presence.single {
        out.push(template.removal_single.clone());
    }
    out.extend(chunk_removals(template, presence, 0));
    out
}

fn chunk_removals(
    template: &SetCookieTemplate,
    presence: Presence,
    from: usize,
) -> impl Iterator<Item = String> + '_ {
    template
        .removal_chunks
        .iter()
        .enumerate()
        .skip(from)
        .filter(move |(i, _)| presence.chunks & (1 << i) != 0)
        .map(|(_, r)| r.clone())
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
    let template = &config.set_cookie;
    let name = config.cookie_name.as_str();
    let exp = contents.expires_at;
    let value_len = wire::value_len(contents, config.encrypt);
    if value_len <= config.max_cookie_len {
        // The usual case: one cookie, encoded straight into its header value.
        let mut cookie =
            String::with_capacity(name.len() + 1 + value_len + timed_len(template, exp, now));
        cookie.push_str(name);
        cookie.push('=');
        wire::encode_into(&config.keys, name, contents, config.encrypt, &mut cookie)?;
        push_timed(&mut cookie, template, exp, now);
        let mut out = Vec::with_capacity(1 + presence.chunks.count_ones() as usize);
        out.push(cookie);
        out.extend(chunk_removals(template, presence, 0));
        return Ok(out);
    }
    // Chunks are signed under their own name: see `chunked_mac_name`.
    let value = wire::encode(
        &config.keys,
        &config.chunked_mac_name,
        contents,
        config.encrypt,
    )?;
    let parts = wire::split(&value, config.max_cookie_len);
    if parts.len() > config.max_cookies {
        return Err(Error::TooLarge {
            size: value.len(),
            limit: config.max_value_len(),
        });
    }
    let mut out = Vec::with_capacity(parts.len() + 1);
    for (chunk_name, part) in config.chunk_names.iter().zip(&parts) {
        out.push(timed_cookie(template, chunk_name, part, exp, now));
    }
    if presence.single {
        out.push(template.removal_single.clone());
    }
    out.extend(chunk_removals(template, presence, parts.len()));
    Ok(out)
}

fn timed_cookie(
    template: &SetCookieTemplate,
    name: &str,
    value: &str,
    expires_at: UnixTime,
    now: UnixTime,
) -> String {
    let mut out =
        String::with_capacity(name.len() + 1 + value.len() + timed_len(template, expires_at, now));
    out.push_str(name);
    out.push('=');
    out.push_str(value);
    push_timed(&mut out, template, expires_at, now);
    out
}

/// `Max-Age` counts from `now`; `Expires` (for clients without `Max-Age`)
/// is clamped to what it can express, so a far-future expiry never turns
/// into 1970, which would expire at once.
fn max_age(expires_at: UnixTime, now: UnixTime) -> u64 {
    expires_at.saturating_sub(now).min(i64::MAX as u64)
}

/// The length [`push_timed`] adds.
fn timed_len(template: &SetCookieTemplate, expires_at: UnixTime, now: UnixTime) -> usize {
    template.attributes.len()
        + MAX_AGE.len()
        + decimal_len(max_age(expires_at, now))
        + EXPIRES.len()
        + HTTP_DATE_LEN
}

fn push_timed(out: &mut String, template: &SetCookieTemplate, expires_at: UnixTime, now: UnixTime) {
    out.push_str(&template.attributes);
    // `; Max-Age=<up to 19 digits>; Expires=<date>`, rendered in one buffer.
    let mut timing = [0u8; MAX_AGE.len() + 20 + EXPIRES.len() + HTTP_DATE_LEN];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        timing[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    put(MAX_AGE.as_bytes());
    put(decimal(&mut [0u8; 20], max_age(expires_at, now)));
    put(EXPIRES.as_bytes());
    put(&http_date(expires_at));
    push_ascii(out, &timing[..at]);
}

fn decimal_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

/// `n` in decimal, written at the end of `digits`.
fn decimal(digits: &mut [u8; 20], n: u64) -> &[u8] {
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    &digits[at..]
}

/// Append ASCII bytes rendered here (digits, names, punctuation).
fn push_ascii(out: &mut String, ascii: &[u8]) {
    out.push_str(std::str::from_utf8(ascii).unwrap_or_default());
}

/// `secs` (UNIX time, clamped to [`LATEST_EXPIRES`]) as an IMF-fixdate:
/// `Thu, 01 Jan 1970 00:00:00 GMT`.
fn http_date(secs: u64) -> [u8; HTTP_DATE_LEN] {
    const WEEKDAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let secs = secs.min(LATEST_EXPIRES);
    let days = secs / 86_400;
    let in_day = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut date = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    let mut two = |at: usize, n: u64| {
        date[at] = b'0' + (n / 10 % 10) as u8;
        date[at + 1] = b'0' + (n % 10) as u8;
    };
    two(5, day);
    two(12, year / 100);
    two(14, year % 100);
    two(17, in_day / 3600);
    two(20, in_day / 60 % 60);
    two(23, in_day % 60);
    date[..3].copy_from_slice(WEEKDAYS[(days % 7) as usize]);
    date[8..11].copy_from_slice(MONTHS[(month - 1) as usize % 12]);
    date
}

/// Year, month (1–12) and day (1–31) of a count of days since 1970-01-01
/// (Howard Hinnant's `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(secs: u64) -> String {
        String::from_utf8(http_date(secs).to_vec()).unwrap()
    }

    #[test]
    fn http_dates_match_known_values() {
        // Reference values from Python's email.utils.formatdate(t, usegmt=True).
        for (secs, expected) in [
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
            (1_709_164_800, "Thu, 29 Feb 2024 00:00:00 GMT"),
            (1_800_000_000, "Fri, 15 Jan 2027 08:00:00 GMT"),
            (4_107_542_399, "Sun, 28 Feb 2100 23:59:59 GMT"),
            (LATEST_EXPIRES, "Fri, 31 Dec 9999 23:59:59 GMT"),
        ] {
            assert_eq!(date(secs), expected);
            assert_eq!(date(secs).len(), HTTP_DATE_LEN);
        }
    }

    #[test]
    fn expires_is_clamped_to_year_9999_not_1970() {
        assert_eq!(date(u64::MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
        let template = SetCookieTemplate::new("s", &[], "/", None, true, true, SameSite::Lax);
        let far = timed_cookie(&template, "s", "v", u64::MAX, 0);
        assert_eq!(
            far,
            format!(
                "s=v; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age={}; Expires=Fri, 31 Dec 9999 23:59:59 GMT",
                i64::MAX
            )
        );
        assert_eq!(far.len(), far.capacity(), "rendered at its exact length");
    }

    #[test]
    fn attributes_follow_the_configuration() {
        let chunks = ["sid.0".to_owned()];
        let t = SetCookieTemplate::new(
            "sid",
            &chunks,
            "/app",
            Some(".example.com"),
            false,
            false,
            SameSite::Strict,
        );
        assert_eq!(
            timed_cookie(&t, "sid", "AAAA", 1_800_000_100, 1_800_000_000),
            "sid=AAAA; SameSite=Strict; Path=/app; Domain=example.com; Max-Age=100; Expires=Fri, 15 Jan 2027 08:01:40 GMT"
        );
        assert_eq!(
            t.removal_chunks,
            [
                "sid.0=; SameSite=Strict; Path=/app; Domain=example.com; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
            ]
        );
        let none = SetCookieTemplate::new("sid", &[], "/", None, true, true, SameSite::None);
        assert_eq!(
            none.removal_single,
            "sid=; HttpOnly; SameSite=None; Secure; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }

    #[test]
    fn decimals_render_every_width() {
        for n in [0, 9, 10, 99, 100, 86_400, u64::from(u32::MAX), u64::MAX] {
            let mut digits = [0u8; 20];
            assert_eq!(decimal(&mut digits, n), n.to_string().as_bytes());
            assert_eq!(decimal_len(n), n.to_string().len());
        }
    }
}
