//! One check's result, the whole report, and how both are shown.

use std::error::Error as StdError;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

/// How a check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing to do.
    Ok,
    /// Works, but something is likely to hurt (exit 1 only with `--strict`).
    Warn,
    /// Broken: sessions are (or will be) lost or refused (exit 1).
    Fail,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        }
    }
}

/// One check: a stable name (`redis.eviction`), the node it is about when a
/// service has several, the outcome in plain words, a fix, and the figures.
#[derive(Debug, Serialize)]
pub struct Check {
    /// Stable identifier, `service.aspect`.
    pub check: &'static str,
    /// The service checked (`redis`, `dynamodb`, `mongodb`, `memory`, `store`).
    pub service: &'static str,
    /// The node or table checked, when there is one to name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The outcome.
    pub status: Status,
    /// What was found, in plain words.
    pub message: String,
    /// What to do about it (warnings and failures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The figures behind the message.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub data: Value,
}

impl Check {
    /// A check named `check` of `service` with `status` and `message`.
    pub fn new(check: &'static str, status: Status, message: impl Into<String>) -> Self {
        let service = check.split_once('.').map_or(check, |(service, _)| service);
        Check {
            check,
            service,
            target: None,
            status,
            message: message.into(),
            fix: None,
            data: Value::Null,
        }
    }

    /// The node or table this check is about.
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// How to fix what was found.
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// The figures behind the message.
    pub fn data(mut self, data: Value) -> Self {
        self.data = data;
        self
    }
}

/// Every check of one run.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The storage configuration checked.
    pub store: &'static str,
    /// The worst status of any check.
    pub status: Status,
    /// How many checks came out ok, warn and fail.
    pub counts: Counts,
    /// The checks, in the order they ran.
    pub checks: Vec<Check>,
}

/// How many checks came out each way.
#[derive(Debug, Default, Serialize)]
pub struct Counts {
    /// Checks that are ok.
    pub ok: usize,
    /// Checks with a warning.
    pub warn: usize,
    /// Checks that failed.
    pub fail: usize,
}

impl Report {
    /// The report of `checks` on `store`.
    pub fn new(store: &'static str, checks: Vec<Check>) -> Self {
        let mut counts = Counts::default();
        for c in &checks {
            match c.status {
                Status::Ok => counts.ok += 1,
                Status::Warn => counts.warn += 1,
                Status::Fail => counts.fail += 1,
            }
        }
        let status = checks.iter().map(|c| c.status).max().unwrap_or(Status::Ok);
        Report {
            store,
            status,
            counts,
            checks,
        }
    }

    /// One line per check (`ok` / `warn` / `FAIL`), a `fix:` line under each
    /// problem, and the counts.
    pub fn text(&self) -> String {
        let mut out = format!("tiered-sessions doctor: store {}\n", self.store);
        for c in &self.checks {
            let target = c
                .target
                .as_ref()
                .map(|t| format!(" [{t}]"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{:<4}  {}{target}: {}",
                c.status.label(),
                c.check,
                c.message
            );
            if let Some(fix) = &c.fix {
                let _ = writeln!(out, "      fix: {fix}");
            }
        }
        let _ = write!(
            out,
            "{} ok, {} warning{}, {} failed",
            self.counts.ok,
            self.counts.warn,
            if self.counts.warn == 1 { "" } else { "s" },
            self.counts.fail
        );
        out
    }
}

/// An error and its sources, joined by `: ` (the `Config` prefix dropped: the
/// check says what is wrong already).
pub fn explain(e: &tiered_sessions::Error) -> String {
    if let tiered_sessions::Error::Config { message } = e {
        return message.to_string();
    }
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        // Clients often repeat their source's text in their own.
        let said = s.to_string();
        if !text.contains(&said) {
            let _ = write!(text, ": {said}");
        }
        source = s.source();
    }
    text
}

/// The median of `samples` (the upper one of an even count); zero when empty.
pub fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

/// A duration in milliseconds with two decimals.
pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 100_000.0).round() / 100.0
}

/// The round-trip figures as JSON: median and every sample, in ms.
pub fn latency_data(samples: &[Duration]) -> Value {
    serde_json::json!({
        "median_ms": ms(median(samples)),
        "round_trips_ms": samples.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
    })
}

/// The clock check of `service`: `offset_ms` is the server's clock minus
/// ours; `resolution_ms` how precisely the server tells its time.
pub fn clock_check(
    check: &'static str,
    who: &str,
    offset_ms: Option<i64>,
    resolution_ms: i64,
    max_skew_ms: u64,
) -> Check {
    let Some(offset) = offset_ms else {
        return Check::new(
            check,
            Status::Ok,
            format!("{who} does not tell its time; not compared"),
        );
    };
    let data = serde_json::json!({
        "offset_ms": offset,
        "resolution_ms": resolution_ms,
        "max_skew_ms": max_skew_ms,
    });
    let direction = if offset >= 0 { "ahead of" } else { "behind" };
    let seconds = offset.unsigned_abs() as f64 / 1000.0;
    let precision = if resolution_ms > 0 {
        format!(
            " (±{:.1} s: it tells whole seconds)",
            resolution_ms as f64 / 1000.0
        )
    } else {
        String::new()
    };
    let skewed = offset
        .unsigned_abs()
        .saturating_sub(resolution_ms.unsigned_abs())
        > max_skew_ms;
    if skewed {
        Check::new(
            check,
            Status::Warn,
            format!("{who}'s clock is {seconds:.1} s {direction} this machine's{precision}"),
        )
        .fix(
            "synchronise both clocks (NTP: chrony or systemd-timesyncd); sessions expire by the \
             app's clock while the server's TTLs and its cleanup follow its own",
        )
        .data(data)
    } else {
        Check::new(
            check,
            Status::Ok,
            format!("{who}'s clock is within {seconds:.1} s of this machine's{precision}"),
        )
        .data(data)
    }
}

/// The `reachable` check of a service `who` that answered `samples` timed
/// `calls` (e.g. "pings").
pub fn answered(check: &'static str, who: &str, samples: &[Duration], calls: &str) -> Check {
    Check::new(
        check,
        Status::Ok,
        format!(
            "{who} answers, median round trip {:.2} ms over {} {calls}",
            ms(median(samples)),
            samples.len()
        ),
    )
    .data(latency_data(samples))
}

/// The `reachable` check of a service `who` that did not answer or refused:
/// what that means (`consequence`), and that its other checks were not run.
pub fn unanswered(
    check: &'static str,
    who: &str,
    e: &tiered_sessions::Error,
    consequence: Option<&str>,
) -> Check {
    let consequence = consequence.map(|c| format!("; {c}")).unwrap_or_default();
    // Unreachable or timed out, or an answer that refuses (credentials,
    // permissions, TLS).
    let what = if e.is_retryable() {
        "does not answer"
    } else {
        "refuses the check"
    };
    Check::new(
        check,
        Status::Fail,
        format!(
            "{who} {what} ({}){consequence}; the other {who} checks were not run",
            explain(e)
        ),
    )
}
