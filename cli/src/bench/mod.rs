//! `tiered-sessions bench`: a matrix of configurations (storage × session
//! size × workload mix × concurrency), each driven with full requests
//! through the session layer in-process, compared in one table (and JSON,
//! and an HTML page with charts).

mod cost;
mod counted;
mod html;
mod matrix;
mod report;
mod workload;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tiered_sessions::{Metrics, MetricsSnapshot, SessionConfig, SessionManager, SessionStore};
use tiered_sessions_redis_dynamodb::DynamoStore;

use self::cost::CapacitySource;
use self::counted::Counted;
use self::matrix::{Mix, Stop, Storage};
use self::report::{ConfigResult, Latency, Ops, Report, Settings};
use crate::stores::{self, StoreKind};
use crate::{CliError, Output};

/// Arguments of `bench`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct Args {
    /// Storage configurations, comma-separated: cookie-only, memory, redis,
    /// redis-dynamodb, redis-mongodb, dynamodb, mongodb. Default: cookie-only,
    /// memory and every one whose environment is set (TIERED_SESSIONS_REDIS_URL
    /// or _CLUSTER_URLS, TIERED_SESSIONS_DYNAMODB_TABLE, TIERED_SESSIONS_MONGODB_URI).
    #[arg(long, value_delimiter = ',', value_parser = matrix::parse_storage)]
    stores: Vec<Storage>,
    /// Session data sizes, comma-separated: bytes or with a k suffix (KiB).
    #[arg(long, value_delimiter = ',', value_parser = matrix::parse_size, default_value = "256,1k,4k,32k")]
    sizes: Vec<usize>,
    /// Workload mixes, comma-separated: `read`, or parts joined by `+`:
    /// write=P (durable writes, % of requests), quick=P (cache-only writes),
    /// new=P (new browsers, each creating a session), touch (rolling expiry:
    /// every read refreshes the expiry). The rest of the requests read.
    #[arg(long, value_delimiter = ',', value_parser = matrix::parse_mix, default_value = "read,write=20")]
    mix: Vec<Mix>,
    /// Requests in flight, comma-separated (one browser with its own session per request in flight).
    #[arg(long, value_delimiter = ',', value_parser = matrix::parse_concurrency, default_value = "1,8,64")]
    concurrency: Vec<usize>,
    /// How long each configuration runs (2s, 500ms, 1m).
    #[arg(long, value_parser = matrix::parse_duration, default_value = "2s", conflicts_with = "requests")]
    duration: Duration,
    /// Run each configuration for this many requests instead of a duration.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    requests: Option<u64>,
    /// The cookie-only threshold of the store configurations, bytes: sessions
    /// whose data is smaller stay in the cookie. 0 (the default) puts every
    /// session in the store, so the store is what is measured.
    #[arg(long, default_value_t = 0)]
    threshold: usize,
    /// USD per million DynamoDB read request units (default: on-demand,
    /// us-east-1, Standard table class, since 2024-11-01).
    #[arg(long, default_value_t = cost::DEFAULT_PRICE_RRU, value_parser = parse_price)]
    price_rru: f64,
    /// USD per million DynamoDB write request units (same source).
    #[arg(long, default_value_t = cost::DEFAULT_PRICE_WRU, value_parser = parse_price)]
    price_wru: f64,
    /// Which DynamoDB capacity figures to price: the server's
    /// ConsumedCapacity (reported), item sizes by DynamoDB's rounding rules
    /// (computed), or auto: reported when the server reported every call and
    /// agrees with the rules within 10% (emulators make figures up), else computed.
    #[arg(long, value_enum, default_value = "auto")]
    capacity_source: CapacitySource,
    /// Also write a self-contained HTML page with charts to this file.
    #[arg(long, value_name = "FILE")]
    html: Option<std::path::PathBuf>,
}

const AFTER_HELP: &str = "\
Each configuration runs full HTTP requests through the session layer (an axum
app called in-process, no sockets), so its figures are what an app pays per
request. Every browser first gets a session of the given size (not measured);
at the end the browsers log out, deleting their records.

Examples:
  tiered-sessions bench --stores cookie-only,redis --sizes 1k --concurrency 8
  tiered-sessions bench --stores redis-dynamodb --mix read,write=10+new=5 --requests 2000 --json
  tiered-sessions bench --html report.html

Exit codes: 0 every configuration ran without errors (skipped ones included),
1 some requests failed or a store could not be opened, 2 bad arguments.";

fn parse_price(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|p| p.is_finite() && *p >= 0.0)
        .ok_or_else(|| format!("price `{s}` must be a non-negative number (USD per million units)"))
}

/// The signing key of the bench's sessions (they are the bench's own).
const KEY: [u8; 32] = *b"tiered-sessions-bench-signing-k!";

fn env_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.trim().is_empty())
}

/// cookie-only, memory, and each store whose environment is set.
fn default_stores() -> Vec<Storage> {
    let redis =
        env_set("TIERED_SESSIONS_REDIS_URL") || env_set("TIERED_SESSIONS_REDIS_CLUSTER_URLS");
    let dynamo = env_set("TIERED_SESSIONS_DYNAMODB_TABLE");
    let mongo = env_set("TIERED_SESSIONS_MONGODB_URI");
    let mut v = vec![Storage::CookieOnly, Storage::Store(StoreKind::Memory)];
    for (on, kind) in [
        (redis, StoreKind::Redis),
        (redis && dynamo, StoreKind::RedisDynamodb),
        (redis && mongo, StoreKind::RedisMongodb),
        (dynamo, StoreKind::Dynamodb),
        (mongo, StoreKind::Mongodb),
    ] {
        if on {
            v.push(Storage::Store(kind));
        }
    }
    v
}

/// An opened storage: the store (counted), its counters, its DynamoDB tier.
struct Target {
    storage: Storage,
    store: Option<Arc<Counted>>,
    metrics: Arc<Metrics>,
    dynamo: Option<DynamoStore>,
}

impl Target {
    async fn open(storage: Storage) -> Result<Target, CliError> {
        let metrics = Arc::new(Metrics::default());
        match storage {
            Storage::CookieOnly => Ok(Target {
                storage,
                store: None,
                metrics,
                dynamo: None,
            }),
            Storage::Store(kind) => {
                let opened = stores::open_with_metrics(kind, metrics.clone())
                    .await
                    .map_err(|e| match e {
                        CliError::Usage(m) => CliError::Usage(format!("{}: {m}", kind.name())),
                        CliError::Failure(m) => CliError::Failure(format!("{}: {m}", kind.name())),
                    })?;
                Ok(Target {
                    storage,
                    store: Some(Arc::new(Counted::new(opened.store))),
                    metrics,
                    dynamo: opened.dynamo,
                })
            }
        }
    }

    fn manager(&self, config: SessionConfig) -> SessionManager {
        match &self.store {
            Some(store) => {
                let store: Arc<dyn SessionStore> = store.clone();
                SessionManager::with_shared_store(config, store).with_metrics(self.metrics.clone())
            }
            None => SessionManager::cookie_only(config).with_metrics(self.metrics.clone()),
        }
    }
}

/// One configuration of the matrix.
struct Config {
    size: usize,
    mix: Mix,
    concurrency: usize,
}

/// Counters at one moment: the shared metrics, the store's calls, the
/// DynamoDB capacity.
struct Counters {
    metrics: MetricsSnapshot,
    calls: (u64, u64),
    capacity: Option<tiered_sessions_redis_dynamodb::CapacityUsage>,
}

fn counters(t: &Target) -> Counters {
    Counters {
        metrics: t.metrics.snapshot(),
        calls: t.store.as_ref().map_or((0, 0), |s| s.calls()),
        capacity: t.dynamo.as_ref().map(DynamoStore::capacity_usage),
    }
}

/// Operations per request between two readings, by where the store keeps
/// its tiers: two-tier stores count cache and durable calls in the metrics,
/// a single-tier store's calls are its tier's.
fn ops(storage: Storage, a: &Counters, b: &Counters, requests: u64) -> Ops {
    let per = |n: u64| {
        if requests == 0 {
            0.0
        } else {
            n as f64 / requests as f64
        }
    };
    let (m0, m1) = (&a.metrics, &b.metrics);
    let reads = per(b.calls.0 - a.calls.0);
    let writes = per(b.calls.1 - a.calls.1);
    let mut o = Ops {
        store_reads: reads,
        store_writes: writes,
        quick_writes: per(m1.quick_writes - m0.quick_writes),
        ..Ops::default()
    };
    match storage {
        Storage::CookieOnly => {}
        Storage::Store(StoreKind::Redis) => {
            o.cache_reads = reads;
            o.cache_writes = writes;
        }
        Storage::Store(StoreKind::Dynamodb | StoreKind::Mongodb) => {
            o.durable_reads = reads;
            o.durable_writes = writes;
        }
        Storage::Store(_) => {
            o.cache_reads =
                per((m1.cache_hits + m1.cache_misses) - (m0.cache_hits + m0.cache_misses));
            o.cache_writes = writes;
            o.durable_reads = per(m1.durable_reads - m0.durable_reads);
            o.durable_writes = per(m1.durable_writes - m0.durable_writes);
        }
    }
    o
}

fn session_config(storage: Storage, threshold: usize, mix: Mix) -> Result<SessionConfig, CliError> {
    let mut b = SessionConfig::builder([KEY])
        .secure(false)
        .idle_timeout(Some(Duration::from_secs(15 * 60)))
        .absolute_timeout(Duration::from_secs(3600));
    if storage != Storage::CookieOnly {
        b = b.cookie_only_threshold(threshold);
    }
    if mix.touch {
        b = b.touch_interval(Duration::ZERO);
    }
    Ok(b.build()?)
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

async fn run_one(
    target: &Target,
    config: &Config,
    args: &Args,
    stop: Stop,
    bar: &ProgressBar,
    seed: u64,
) -> Result<ConfigResult, CliError> {
    let storage = target.storage;
    let name = format!(
        "{} {} {} c{}",
        storage,
        matrix::size_label(config.size),
        config.mix,
        config.concurrency
    );
    let store = storage.name();
    let app = workload::app(
        target.manager(session_config(storage, args.threshold, config.mix)?),
        config.size,
    );
    let prepared = match workload::prepare(&app, config.concurrency, seed).await {
        Ok(p) => p,
        Err(e) => {
            let reason = if storage == Storage::CookieOnly {
                format!(
                    "a {}-byte session does not fit in the cookies: {e}",
                    config.size
                )
            } else {
                format!("creating the sessions failed: {e}")
            };
            let mut r = ConfigResult::skipped(
                name,
                store,
                config.size,
                config.mix,
                config.concurrency,
                reason,
            );
            if storage != Storage::CookieOnly {
                r.status = "errors";
                r.errors = 1;
            }
            return Ok(r);
        }
    };
    let before = counters(target);
    let tick_bar = bar.clone();
    let (m, jars) = workload::run(
        &app,
        prepared,
        config.mix,
        stop,
        Arc::new(move || tick_bar.inc(1)),
    )
    .await;
    let after = counters(target);
    workload::log_out(&app, jars).await;
    let secs = m.elapsed.as_secs_f64().max(1e-9);
    let h = &m.latency_us;
    let dynamodb = match (&before.capacity, &after.capacity) {
        (Some(a), Some(b)) => Some(cost::capacity(
            &cost::delta(a, b),
            m.requests,
            args.capacity_source,
            args.price_rru,
            args.price_wru,
        )),
        _ => None,
    };
    Ok(ConfigResult {
        name,
        store,
        size: config.size,
        mix: config.mix.to_string(),
        mix_parts: config.mix,
        concurrency: config.concurrency,
        status: if m.errors == 0 { "ok" } else { "errors" },
        reason: m.first_error,
        requests: m.requests,
        errors: m.errors,
        elapsed_s: secs,
        throughput_rps: m.requests as f64 / secs,
        latency: Latency {
            p50_ms: ms(h.value_at_quantile(0.50)),
            p95_ms: ms(h.value_at_quantile(0.95)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
            mean_ms: h.mean() / 1000.0,
        },
        cookie_bytes_mean: if m.requests == 0 {
            0.0
        } else {
            m.cookie_bytes_sum as f64 / m.requests as f64
        },
        cookie_bytes_max: m.cookie_bytes_max,
        ops_per_request: ops(storage, &before, &after, m.requests),
        dynamodb,
    })
}

fn progress(total_configs: u64, stop: Stop) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(None, target);
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] config {prefix} {msg} · {pos} requests",
    )
    .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.set_prefix(format!("1/{total_configs}"));
    if let Stop::After(_) = stop {
        bar.enable_steady_tick(Duration::from_millis(200));
    }
    bar
}

/// Run `bench`.
pub async fn run(args: Args, out: &Output) -> Result<ExitCode, CliError> {
    if let Some(path) = &args.html {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if dir.is_some_and(|d| !d.is_dir()) || path.is_dir() {
            return Err(CliError::Usage(format!(
                "--html {}: not a file in an existing folder",
                path.display()
            )));
        }
    }
    let storages = if args.stores.is_empty() {
        default_stores()
    } else {
        dedup(&args.stores)
    };
    let stop = match args.requests {
        Some(n) => Stop::Requests(n),
        None => Stop::After(args.duration),
    };
    let mut configs = Vec::new();
    for &size in &dedup(&args.sizes) {
        for &mix in &dedup(&args.mix) {
            for &concurrency in &dedup(&args.concurrency) {
                configs.push(Config {
                    size,
                    mix,
                    concurrency,
                });
            }
        }
    }
    let total = (storages.len() * configs.len()) as u64;
    let bar = progress(total, stop);
    let mut results = Vec::new();
    let mut done = 0u64;
    for storage in storages {
        bar.set_message(format!("opening {storage}"));
        let target = Target::open(storage).await?;
        for config in &configs {
            bar.set_message(format!(
                "{storage} {} {} c{}",
                matrix::size_label(config.size),
                config.mix,
                config.concurrency
            ));
            bar.set_prefix(format!("{}/{total}", done + 1));
            results.push(run_one(&target, config, &args, stop, &bar, done).await?);
            done += 1;
        }
    }
    bar.finish_and_clear();
    let report = Report {
        settings: Settings {
            duration_s: args
                .requests
                .is_none()
                .then_some(args.duration.as_secs_f64()),
            requests: args.requests,
            store_threshold: args.threshold,
            price_rru: args.price_rru,
            price_wru: args.price_wru,
            price_source: cost::PRICE_SOURCE,
            capacity_source: args.capacity_source,
        },
        results,
    };
    let table = report::table(&report);
    if let Some(path) = &args.html {
        let page = html::page(&report, &table)
            .map_err(|e| CliError::Failure(format!("drawing the charts: {e}")))?;
        std::fs::write(path, page)
            .map_err(|e| CliError::Failure(format!("cannot write {}: {e}", path.display())))?;
    }
    let value = serde_json::to_value(&report)
        .map_err(|e| CliError::Failure(format!("cannot encode the report: {e}")))?;
    out.print(&table, &value);
    let failed = report.results.iter().any(|r| r.status == "errors");
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn dedup<T: PartialEq + Copy>(items: &[T]) -> Vec<T> {
    let mut v: Vec<T> = Vec::new();
    for &i in items {
        if !v.contains(&i) {
            v.push(i);
        }
    }
    v
}
