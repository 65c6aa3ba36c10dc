//! What a run measured: a live [`Tally`] the clients count into, the
//! [`Figures`] of a finished run, a table for stdout and a JSON summary.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::StatusCode;
use serde_json::{Value, json};

use crate::client::Reply;

/// At most this many problems are described; the rest are only counted.
const MAX_DESCRIBED: usize = 20;

/// Counters shared by every client of a run, and the problems seen.
#[derive(Debug, Default)]
pub struct Tally {
    requests: AtomicU64,
    ok: AtomicU64,
    unavailable: AtomicU64,
    other_5xx: AtomicU64,
    other: AtomicU64,
    writes_acked: AtomicU64,
    logouts: AtomicU64,
    problems: AtomicU64,
    described: Mutex<Vec<String>>,
}

/// What a reply was, for the caller's bookkeeping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Ok,
    /// 503: retrying may help (an outage, or conflicts past the retry budget).
    Unavailable,
    /// Anything else: a 5xx other than 503, an unexpected status, or no answer.
    Failed,
}

impl Tally {
    /// Count one answered request. `expected` is a non-2xx status the caller
    /// asked for (a 404 for a key known to be absent), counted as success.
    pub fn reply(&self, what: &str, reply: &Reply, expected: Option<StatusCode>) -> Outcome {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let status = reply.status;
        if status.is_success() || Some(status) == expected {
            self.ok.fetch_add(1, Ordering::Relaxed);
            Outcome::Ok
        } else if status == StatusCode::SERVICE_UNAVAILABLE {
            self.unavailable.fetch_add(1, Ordering::Relaxed);
            Outcome::Unavailable
        } else {
            if status.is_server_error() {
                self.other_5xx.fetch_add(1, Ordering::Relaxed);
            } else {
                self.other.fetch_add(1, Ordering::Relaxed);
            }
            self.problem(format!("{what}: answered {status} {:?}", reply.body));
            Outcome::Failed
        }
    }

    /// Count a request that got no answer (connection failure or hang).
    pub fn no_answer(&self, what: &str, error: &str) -> Outcome {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.other.fetch_add(1, Ordering::Relaxed);
        self.problem(format!("{what}: {error}"));
        Outcome::Failed
    }

    /// Count a reply or a failure to get one.
    pub fn count(&self, what: &str, sent: &Result<Reply, String>) -> Outcome {
        match sent {
            Ok(reply) => self.reply(what, reply, None),
            Err(e) => self.no_answer(what, e),
        }
    }

    /// An acknowledged write.
    pub fn acked(&self) {
        self.writes_acked.fetch_add(1, Ordering::Relaxed);
    }

    /// An acknowledged logout.
    pub fn logged_out(&self) {
        self.logouts.fetch_add(1, Ordering::Relaxed);
    }

    /// A broken promise (a lost write, a resurrected session, a wrong value).
    pub fn problem(&self, what: String) {
        self.problems.fetch_add(1, Ordering::Relaxed);
        let mut described = self
            .described
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if described.len() < MAX_DESCRIBED {
            described.push(what);
        }
    }

    /// Every problem so far: their count and the first ones described.
    pub fn problems(&self) -> (u64, Vec<String>) {
        let described = self
            .described
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        (self.problems.load(Ordering::Relaxed), described)
    }

    /// The counts so far, as figures of `scenario` on `driver`.
    pub fn figures(&self, scenario: &'static str, driver: &str, clients: usize) -> Figures {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Figures {
            scenario,
            driver: driver.to_owned(),
            clients,
            requests: get(&self.requests),
            ok: get(&self.ok),
            unavailable: get(&self.unavailable),
            other_5xx: get(&self.other_5xx),
            other: get(&self.other),
            writes_acked: get(&self.writes_acked),
            writes_lost: 0,
            logouts: get(&self.logouts),
            resurrected: 0,
            problems: get(&self.problems),
            conflicts: 0,
            elapsed: Duration::ZERO,
            seed: None,
            extra: Vec::new(),
        }
    }
}

/// The figures of one finished run.
#[derive(Clone, Debug)]
pub struct Figures {
    /// `load`, `storm` or `chaos`.
    pub scenario: &'static str,
    /// The driver's name.
    pub driver: String,
    /// Concurrent clients.
    pub clients: usize,
    /// HTTP requests answered or failed.
    pub requests: u64,
    /// 2xx answers (and expected 404s).
    pub ok: u64,
    /// 503 answers.
    pub unavailable: u64,
    /// 5xx answers other than 503.
    pub other_5xx: u64,
    /// Unexpected other statuses, connection failures and hangs.
    pub other: u64,
    /// Writes (counter increments and key writes) answered 2xx.
    pub writes_acked: u64,
    /// Acknowledged writes missing or wrong when read back.
    pub writes_lost: u64,
    /// Logouts answered 2xx.
    pub logouts: u64,
    /// Logged-out sessions that showed data again.
    pub resurrected: u64,
    /// Every broken promise counted (lost writes and resurrections included).
    pub problems: u64,
    /// Re-applies after a version conflict (the session layer's counter).
    pub conflicts: u64,
    /// Wall time of the load (set-up and final checks excluded).
    pub elapsed: Duration,
    /// The seed of a seeded run.
    pub seed: Option<u64>,
    /// Scenario-specific figures, by name.
    pub extra: Vec<(&'static str, Value)>,
}

impl Figures {
    /// Requests per second over [`Figures::elapsed`].
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.requests as f64 / secs
        } else {
            0.0
        }
    }

    /// The figures on one line, for the log of a run.
    pub fn line(&self) -> String {
        format!(
            "{}::{}: {} clients, {} requests in {:.1} s = {:.0}/s; {} 2xx, {} 503, {} other 5xx, {} other failures; {} writes acked, {} lost; {} logouts, {} resurrected; {} conflicts re-applied",
            self.scenario,
            self.driver,
            self.clients,
            self.requests,
            self.elapsed.as_secs_f64(),
            self.throughput(),
            self.ok,
            self.unavailable,
            self.other_5xx,
            self.other,
            self.writes_acked,
            self.writes_lost,
            self.logouts,
            self.resurrected,
            self.conflicts,
        )
    }

    /// The figures as JSON.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "scenario": self.scenario,
            "driver": self.driver,
            "clients": self.clients,
            "requests": self.requests,
            "ok": self.ok,
            "status_503": self.unavailable,
            "other_5xx": self.other_5xx,
            "other_failures": self.other,
            "writes_acknowledged": self.writes_acked,
            "writes_lost": self.writes_lost,
            "logouts": self.logouts,
            "resurrected": self.resurrected,
            "problems": self.problems,
            "conflicts": self.conflicts,
            "elapsed_s": (self.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
            "requests_per_s": self.throughput().round(),
            "seed": self.seed,
        });
        if let Value::Object(map) = &mut v {
            for (k, x) in &self.extra {
                map.insert((*k).to_owned(), x.clone());
            }
        }
        v
    }
}

/// The figures as a Markdown table, one row per run.
pub fn table(all: &[Figures]) -> String {
    let mut out = String::from(
        "| scenario | driver | clients | requests | req/s | 2xx | 503 | other 5xx | other failures | writes acked | writes lost | logouts | resurrected | conflicts | seed |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for f in all {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            f.scenario,
            f.driver,
            f.clients,
            f.requests,
            f.throughput(),
            f.ok,
            f.unavailable,
            f.other_5xx,
            f.other,
            f.writes_acked,
            f.writes_lost,
            f.logouts,
            f.resurrected,
            f.conflicts,
            f.seed.map_or_else(|| "-".to_owned(), |s| s.to_string()),
        ));
    }
    out
}

/// Where the JSON summary goes: `TS_LOAD_SUMMARY`, else `load/summary.json`
/// in the target directory holding `exe` (the running test binary).
pub fn summary_path(exe: &Path) -> PathBuf {
    if let Some(p) = std::env::var_os("TS_LOAD_SUMMARY") {
        return PathBuf::from(p);
    }
    // target/<profile>/deps/<binary>
    let target = exe
        .ancestors()
        .nth(3)
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf);
    target.join("load").join("summary.json")
}

/// Write the JSON summary of `all` (with the scale they ran at) to `path`.
///
/// # Errors
/// When the file or its directory cannot be written.
pub fn write_summary(path: &Path, scale: &str, all: &[Figures]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let runs: Vec<Value> = all.iter().map(Figures::to_json).collect();
    let doc = json!({ "scale": scale, "runs": runs });
    let text = serde_json::to_string_pretty(&doc).map_err(std::io::Error::other)?;
    std::fs::write(path, text + "\n")
}
