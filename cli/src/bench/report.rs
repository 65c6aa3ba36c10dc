//! The figures of every configuration, as JSON and as a text table.

use serde::Serialize;

use super::cost::Capacity;
use super::matrix::Mix;

/// The whole report (`--json` prints it as is).
#[derive(Debug, Serialize)]
pub struct Report {
    /// How the run was set up.
    pub settings: Settings,
    /// One entry per configuration, in run order.
    pub results: Vec<ConfigResult>,
}

/// How the run was set up.
#[derive(Debug, Serialize)]
pub struct Settings {
    /// Seconds per configuration, when the run was timed.
    pub duration_s: Option<f64>,
    /// Requests per configuration, when it was counted.
    pub requests: Option<u64>,
    /// The cookie-only threshold of the store configurations (bytes).
    pub store_threshold: usize,
    /// USD per million read request units.
    pub price_rru: f64,
    /// USD per million write request units.
    pub price_wru: f64,
    /// Where the default prices come from.
    pub price_source: &'static str,
    /// `--capacity-source`.
    pub capacity_source: super::cost::CapacitySource,
}

/// Latency percentiles, milliseconds.
#[derive(Debug, Clone, Copy, Serialize, Default)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest request.
    pub max_ms: f64,
    /// Mean.
    pub mean_ms: f64,
}

/// Store operations per request.
#[derive(Debug, Clone, Copy, Serialize, Default)]
pub struct Ops {
    /// Calls to the store's `load`.
    pub store_reads: f64,
    /// Calls to the store's writes (create, save, delete, touch).
    pub store_writes: f64,
    /// Cache tier reads (hits and misses).
    pub cache_reads: f64,
    /// Store writes that reach the cache tier.
    pub cache_writes: f64,
    /// Durable tier reads.
    pub durable_reads: f64,
    /// Durable tier writes.
    pub durable_writes: f64,
    /// Saves acknowledged by the cache tier alone.
    pub quick_writes: f64,
}

/// One configuration's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigResult {
    /// `store size mix cN`.
    pub name: String,
    /// The storage.
    pub store: &'static str,
    /// Session data size, bytes.
    pub size: usize,
    /// The workload mix, as given.
    pub mix: String,
    /// The mix's parts.
    pub mix_parts: Mix,
    /// In-flight requests.
    pub concurrency: usize,
    /// `ok`, `errors` (it ran, some requests failed) or `skipped`.
    pub status: &'static str,
    /// Why it was skipped, or the first failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Requests in the measured window.
    pub requests: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Seconds measured.
    pub elapsed_s: f64,
    /// Requests per second.
    pub throughput_rps: f64,
    /// Latency.
    pub latency: Latency,
    /// Mean `Cookie` header bytes a request carried.
    pub cookie_bytes_mean: f64,
    /// Largest `Cookie` header.
    pub cookie_bytes_max: u64,
    /// Store operations per request.
    pub ops_per_request: Ops,
    /// DynamoDB capacity and cost, for configurations with a DynamoDB tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamodb: Option<Capacity>,
}

impl ConfigResult {
    /// A configuration that could not run.
    pub fn skipped(
        name: String,
        store: &'static str,
        size: usize,
        mix: Mix,
        concurrency: usize,
        reason: String,
    ) -> Self {
        ConfigResult {
            name,
            store,
            size,
            mix: mix.to_string(),
            mix_parts: mix,
            concurrency,
            status: "skipped",
            reason: Some(reason),
            requests: 0,
            errors: 0,
            elapsed_s: 0.0,
            throughput_rps: 0.0,
            latency: Latency::default(),
            cookie_bytes_mean: 0.0,
            cookie_bytes_max: 0,
            ops_per_request: Ops::default(),
            dynamodb: None,
        }
    }
}

/// The text table.
pub fn table(report: &Report) -> String {
    let header = [
        "configuration",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "errors",
        "cookie B",
        "cache r/w",
        "durable r/w",
        "RRU/req",
        "WRU/req",
        "$/M req",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    let mut notes = Vec::new();
    for r in &report.results {
        if r.status == "skipped" {
            let mut row = vec![r.name.clone(), "skipped".to_owned()];
            row.resize(header.len(), String::new());
            rows.push(row);
            notes.push(format!("{}: {}", r.name, r.reason.as_deref().unwrap_or("")));
            continue;
        }
        let o = &r.ops_per_request;
        let (rru, wru, cost) = match &r.dynamodb {
            Some(c) => (
                format!("{:.2}", c.read_units_per_request),
                format!("{:.2}", c.write_units_per_request),
                format!("{:.3}", c.cost_per_million_requests),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        rows.push(vec![
            r.name.clone(),
            format!("{:.0}", r.throughput_rps),
            format!("{:.3}", r.latency.p50_ms),
            format!("{:.3}", r.latency.p95_ms),
            format!("{:.3}", r.latency.p99_ms),
            format!("{:.3}", r.latency.max_ms),
            r.errors.to_string(),
            format!("{:.0}", r.cookie_bytes_mean),
            format!("{:.2}/{:.2}", o.cache_reads, o.cache_writes),
            format!("{:.2}/{:.2}", o.durable_reads, o.durable_writes),
            rru,
            wru,
            cost,
        ]);
        if let Some(reason) = &r.reason {
            notes.push(format!("{}: first error: {reason}", r.name));
        }
        if let Some(note) = r.dynamodb.as_ref().and_then(|c| c.note.as_ref()) {
            notes.push(format!(
                "{}: capacity {} ({note})",
                r.name,
                r.dynamodb.as_ref().map_or("", |c| c.source)
            ));
        } else if let Some(c) = &r.dynamodb {
            notes.push(format!("{}: capacity units {}", r.name, c.source));
        }
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().map(|row| row[i].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == 0 {
                    format!("{c:<w$}", w = widths[i])
                } else {
                    format!("{c:>w$}", w = widths[i])
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    let s = &report.settings;
    out.push_str(&format!(
        "\nLatency is per request through the session layer, in-process. Ops are per request. \
         Cost: USD per million requests at ${} per million RRU and ${} per million WRU ({}).\n",
        s.price_rru, s.price_wru, s.price_source
    ));
    for n in notes {
        out.push_str(&format!("- {n}\n"));
    }
    out
}
