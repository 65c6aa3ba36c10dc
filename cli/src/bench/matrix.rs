//! The dimensions of the matrix and their command-line syntax: storage,
//! session size, workload mix, concurrency, and how long each runs.

use std::fmt;
use std::time::Duration;

use clap::ValueEnum;

use crate::stores::StoreKind;

/// Where sessions live in one configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// `SessionManager::cookie_only`: no store at all.
    CookieOnly,
    /// A store from the environment.
    Store(StoreKind),
}

impl Storage {
    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Storage::CookieOnly => "cookie-only",
            Storage::Store(kind) => kind.name(),
        }
    }
}

impl fmt::Display for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parse one `--stores` item.
pub fn parse_storage(s: &str) -> Result<Storage, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("cookie-only") || s.eq_ignore_ascii_case("cookie") {
        return Ok(Storage::CookieOnly);
    }
    StoreKind::from_str(s, true)
        .map(Storage::Store)
        .map_err(|_| {
            format!(
                "unknown store `{s}`: one of cookie-only, memory, redis, redis-dynamodb, \
             redis-mongodb, dynamodb, mongodb"
            )
        })
}

/// The largest session size accepted (DynamoDB's item limit is 400 KB).
pub const MAX_SIZE: usize = 256 * 1024;

/// Parse one `--sizes` item: bytes, or with a `k`/`KiB` suffix (×1024).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim().to_ascii_lowercase();
    let (digits, factor) = match t
        .strip_suffix("kib")
        .or_else(|| t.strip_suffix("kb"))
        .or_else(|| t.strip_suffix('k'))
    {
        Some(d) => (d, 1024),
        None => (t.strip_suffix('b').unwrap_or(&t), 1),
    };
    let n: usize = digits
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a size (e.g. 256, 1k, 32KiB)"))?;
    let bytes = n
        .checked_mul(factor)
        .filter(|b| (1..=MAX_SIZE).contains(b))
        .ok_or_else(|| {
            format!(
                "size `{s}` is out of range (1 byte to {} KiB)",
                MAX_SIZE / 1024
            )
        })?;
    Ok(bytes)
}

/// A size as the reports print it (`256`, `1k`, `32k`, `1500`).
pub fn size_label(bytes: usize) -> String {
    if bytes.is_multiple_of(1024) {
        format!("{}k", bytes / 1024)
    } else {
        bytes.to_string()
    }
}

/// What the requests of one configuration do, in percent of requests; the
/// rest are reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Mix {
    /// Requests that change the session durably (`Session::insert`).
    pub write: u8,
    /// Requests that change it in the cache tier only (`Session::insert_quick`).
    pub quick: u8,
    /// Requests from a new browser (no cookie), which create a session.
    pub new: u8,
    /// Rolling expiry: every read refreshes the session's expiry (a touch
    /// interval of zero) instead of at most once per five minutes.
    pub touch: bool,
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for (name, pct) in [
            ("write", self.write),
            ("quick", self.quick),
            ("new", self.new),
        ] {
            if pct > 0 {
                parts.push(format!("{name}={pct}"));
            }
        }
        if self.touch {
            parts.push("touch".to_owned());
        }
        if parts.is_empty() {
            f.write_str("read")
        } else {
            f.write_str(&parts.join("+"))
        }
    }
}

/// Parse one `--mix` item: `read`, or `+`-joined parts among `write=P`,
/// `quick=P`, `new=P` (percent of requests) and `touch`.
pub fn parse_mix(s: &str) -> Result<Mix, String> {
    let mut mix = Mix::default();
    let s = s.trim();
    if s.eq_ignore_ascii_case("read") {
        return Ok(mix);
    }
    for part in s.split('+').map(str::trim) {
        if part.eq_ignore_ascii_case("touch") {
            mix.touch = true;
            continue;
        }
        if part.eq_ignore_ascii_case("read") {
            continue;
        }
        let (name, pct) = part.split_once('=').ok_or_else(|| mix_error(s))?;
        let pct: u8 = pct
            .trim()
            .trim_end_matches('%')
            .parse()
            .ok()
            .filter(|p| *p <= 100)
            .ok_or_else(|| format!("`{part}`: the share is a percentage, 0 to 100"))?;
        match name.trim().to_ascii_lowercase().as_str() {
            "write" => mix.write = pct,
            "quick" => mix.quick = pct,
            "new" => mix.new = pct,
            _ => return Err(mix_error(s)),
        }
    }
    if u16::from(mix.write) + u16::from(mix.quick) + u16::from(mix.new) > 100 {
        return Err(format!("mix `{s}`: the shares add up to more than 100%"));
    }
    Ok(mix)
}

fn mix_error(s: &str) -> String {
    format!(
        "unknown mix `{s}`: `read`, or parts joined by `+` among write=P, quick=P, new=P \
         (percent of requests) and touch, e.g. write=10+quick=10+new=5"
    )
}

/// The most in-flight requests accepted.
pub const MAX_CONCURRENCY: usize = 4096;

/// Parse one `--concurrency` item.
pub fn parse_concurrency(s: &str) -> Result<usize, String> {
    s.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_CONCURRENCY).contains(n))
        .ok_or_else(|| format!("concurrency `{s}` must be a whole number, 1 to {MAX_CONCURRENCY}"))
}

/// Parse `--duration`: `2s`, `500ms`, `1m`, or seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim().to_ascii_lowercase();
    let (num, unit_ms) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        (t.as_str(), 1000.0)
    };
    let ms = num
        .trim()
        .parse::<f64>()
        .ok()
        .map(|n| n * unit_ms)
        .filter(|ms| ms.is_finite() && *ms >= 1.0 && *ms <= 3_600_000.0)
        .ok_or_else(|| format!("duration `{s}` must be like 2s, 500ms or 1m (1 ms to 1 hour)"))?;
    Ok(Duration::from_secs_f64(ms / 1000.0))
}

/// How long each configuration runs.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    /// For this long.
    After(Duration),
    /// For this many requests.
    Requests(u64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("256"), Ok(256));
        assert_eq!(parse_size("1k"), Ok(1024));
        assert_eq!(parse_size("32KiB"), Ok(32 * 1024));
        assert!(parse_size("0").is_err());
        assert!(parse_size("1m").is_err());
        assert!(parse_size("9999k").is_err());
        assert_eq!(size_label(4096), "4k");
    }

    #[test]
    fn mixes_parse_and_print() {
        assert_eq!(parse_mix("read").map(|m| m.to_string()), Ok("read".into()));
        let m = parse_mix("write=10+quick=5+new=2+touch").expect("valid");
        assert_eq!((m.write, m.quick, m.new, m.touch), (10, 5, 2, true));
        assert_eq!(m.to_string(), "write=10+quick=5+new=2+touch");
        assert!(parse_mix("write=80+new=30").is_err());
        assert!(parse_mix("delete=5").is_err());
        assert!(parse_mix("write=x").is_err());
    }

    #[test]
    fn other_dimensions_parse() {
        assert_eq!(parse_storage("cookie-only"), Ok(Storage::CookieOnly));
        assert_eq!(
            parse_storage("redis-dynamodb"),
            Ok(Storage::Store(StoreKind::RedisDynamodb))
        );
        assert!(parse_storage("postgres").is_err());
        assert_eq!(parse_concurrency("8"), Ok(8));
        assert!(parse_concurrency("0").is_err());
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("-1s").is_err());
    }
}
