//! `tiered-sessions cleanup`: the cron job deleting expired sessions from the
//! durable store, batch by batch ([`SessionStore::delete_expired`]), then the
//! expired entries of the principal index
//! ([`tiered_sessions::PrincipalIndex::delete_expired_index`]). It stops at
//! `--max-batches`, on Ctrl-C or SIGTERM (after the batch in flight) and on a
//! store error, each time printing the cursor to resume from.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;
use tiered_sessions::{CleanupBatch, CleanupCursor, Clock, SessionStore, SystemClock, UnixTime};
use tokio::sync::watch;

use crate::stores::{self, StoreKind};
use crate::{CliError, Output};

/// The prefix of a cursor inside the session records.
const RECORDS: &str = "records:";
/// The prefix of a cursor inside the principal index (`index:` alone: its
/// beginning).
const INDEX: &str = "index:";

/// Arguments of `cleanup`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Deletes the expired sessions that the store's own expiry (DynamoDB TTL, the \
MongoDB TTL monitor) has not removed yet, then the principal index's expired \
entries. Cached copies in Redis expire by themselves: Redis is not needed.

On Ctrl-C or SIGTERM the batch in flight finishes and the cursor to resume \
from is printed; on a store error too. Pass it back with --resume.

Example crontab line (every night at 03:15):
  15 3 * * * TIERED_SESSIONS_DYNAMODB_TABLE=sessions tiered-sessions cleanup --store dynamodb --rate 10

Exit codes: 0 done (or stopped by --max-batches, with the cursor to resume \
from), 1 a store error or an interruption (with the cursor), 2 bad arguments \
or settings.")]
pub struct Args {
    /// The store to clean.
    #[arg(long, env = "TIERED_SESSIONS_STORE", value_enum)]
    store: StoreKind,
    /// Records scanned per batch.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    batch: u32,
    /// Continue a stopped run from the cursor it printed.
    #[arg(long, value_name = "CURSOR")]
    resume: Option<String>,
    /// Stop after this many batches (and print the cursor to resume from).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_batches: Option<u64>,
    /// At most this many batches per second (decimals allowed: 0.5 is one
    /// batch every two seconds), to spare the store's capacity.
    #[arg(long, value_name = "BATCHES_PER_SEC", value_parser = positive_rate)]
    rate: Option<f64>,
}

fn positive_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!("a number of batches per second above 0, not {s:?}")),
    }
}

/// Where the run is: in the records, or in the principal index.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Position {
    Records(Option<CleanupCursor>),
    Index(Option<CleanupCursor>),
}

impl Position {
    fn parse(cursor: Option<&str>) -> Result<Self, CliError> {
        let Some(c) = cursor else {
            return Ok(Position::Records(None));
        };
        let some = |s: &str| (!s.is_empty()).then(|| CleanupCursor(s.to_owned()));
        if let Some(rest) = c.strip_prefix(INDEX) {
            Ok(Position::Index(some(rest)))
        } else if let Some(rest) = c.strip_prefix(RECORDS) {
            Ok(Position::Records(some(rest)))
        } else if c.is_empty() {
            Err(CliError::Usage(
                "--resume needs the cursor a stopped run printed, not an empty value".into(),
            ))
        } else {
            // A bare store cursor (as the old per-driver examples printed).
            Ok(Position::Records(some(c)))
        }
    }

    /// The `--resume` value that continues from here.
    fn cursor(&self) -> String {
        match self {
            Position::Records(c) => format!("{RECORDS}{}", c.as_ref().map_or("", |c| &c.0)),
            Position::Index(c) => format!("{INDEX}{}", c.as_ref().map_or("", |c| &c.0)),
        }
    }
}

/// Why the run stopped before the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    MaxBatches,
    Interrupted,
    Error,
}

/// What the run did.
#[derive(Debug, Default)]
struct Counts {
    records: u64,
    entries: u64,
    batches: u64,
}

/// Ctrl-C and SIGTERM, as a flag the loop reads between batches.
fn interruptions() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                },
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        let _ = tx.send(true);
    });
    rx
}

/// Run `cleanup`.
///
/// # Errors
/// [`CliError::Usage`] for a bad cursor or settings, [`CliError::Failure`]
/// when the store cannot be opened. Store errors during the run are reported
/// with the cursor and exit code 1.
pub async fn run(args: Args, out: &Output) -> Result<ExitCode, CliError> {
    // Listen first: a signal while the store is opened stops the run too.
    let mut interrupted = interruptions();
    let mut at = Position::parse(args.resume.as_deref())?;
    let store = match stores::open(args.store).await {
        Ok(store) => store,
        Err(CliError::Failure(e)) => {
            // Unreachable: nothing done, resume where asked to start.
            report(
                args.store,
                &Counts::default(),
                Some(Stop::Error),
                &at,
                Some(e),
                out,
            );
            return Ok(ExitCode::FAILURE);
        }
        Err(usage) => return Err(usage),
    };
    // One instant for the whole run: what expires meanwhile waits for the next.
    let now = SystemClock.now();
    let pause = args.rate.map(|r| Duration::from_secs_f64(1.0 / r));
    let bar = crate::output::spinner("cleaning up");
    let mut counts = Counts::default();
    let mut stop = None;
    let mut error = None;
    let mut next_start = tokio::time::Instant::now();
    loop {
        if *interrupted.borrow() {
            stop = Some(Stop::Interrupted);
            break;
        }
        if args.max_batches.is_some_and(|max| counts.batches >= max) {
            stop = Some(Stop::MaxBatches);
            break;
        }
        if pause.is_some() {
            tokio::select! {
                () = tokio::time::sleep_until(next_start) => {}
                _ = interrupted.changed() => continue,
            }
            next_start = tokio::time::Instant::now() + pause.unwrap_or_default();
        }
        match batch(&*store, &at, now, args.batch as usize).await {
            Ok(page) => {
                counts.batches += 1;
                match at {
                    Position::Records(_) => counts.records += page.deleted,
                    Position::Index(_) => counts.entries += page.deleted,
                }
                at = match (&at, page.next) {
                    (Position::Records(_), Some(next)) => Position::Records(Some(next)),
                    (Position::Records(_), None) if store.principal_index().is_some() => {
                        Position::Index(None)
                    }
                    (Position::Index(_), Some(next)) => Position::Index(Some(next)),
                    (_, None) => break,
                };
            }
            Err(e) => {
                stop = Some(Stop::Error);
                error = Some(e);
                break;
            }
        }
        if let Some(bar) = &bar {
            bar.set_message(format!(
                "{} batches, {} expired sessions and {} index entries deleted",
                counts.batches, counts.records, counts.entries
            ));
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let error = error.map(|e| match std::error::Error::source(&e) {
        Some(source) => format!("{e} ({source})"),
        None => e.to_string(),
    });
    report(args.store, &counts, stop, &at, error, out);
    Ok(match stop {
        None | Some(Stop::MaxBatches) => ExitCode::SUCCESS,
        Some(Stop::Interrupted | Stop::Error) => ExitCode::FAILURE,
    })
}

/// One batch at `at`.
async fn batch(
    store: &dyn SessionStore,
    at: &Position,
    now: UnixTime,
    max: usize,
) -> tiered_sessions::Result<CleanupBatch> {
    match at {
        Position::Records(c) => store.delete_expired(now, max, c.clone()).await,
        Position::Index(c) => match store.principal_index() {
            Some(index) => index.delete_expired_index(now, max, c.clone()).await,
            None => Ok(CleanupBatch::default()),
        },
    }
}

fn report(
    store: StoreKind,
    counts: &Counts,
    stop: Option<Stop>,
    at: &Position,
    error_text: Option<String>,
    out: &Output,
) {
    let resume = stop.map(|_| at.cursor());
    let mut text = format!(
        "deleted {} expired sessions and {} expired principal-index entries in {} batches",
        counts.records, counts.entries, counts.batches
    );
    text.push_str(match stop {
        None => "; done",
        Some(Stop::MaxBatches) => "; stopped at --max-batches",
        Some(Stop::Interrupted) => "; interrupted",
        Some(Stop::Error) => "; stopped by a store error",
    });
    if let Some(e) = &error_text {
        eprintln!("tiered-sessions cleanup: {e}");
    }
    if let Some(c) = &resume {
        text.push_str(&format!("\nresume with: --resume {c}"));
        if stop != Some(Stop::MaxBatches) {
            eprintln!("tiered-sessions cleanup: resume with --resume {c}");
        }
    }
    let value = json!({
        "store": store,
        "deleted_sessions": counts.records,
        "deleted_index_entries": counts.entries,
        "batches": counts.batches,
        "complete": stop.is_none(),
        "stopped": stop.map(|s| match s {
            Stop::MaxBatches => "max-batches",
            Stop::Interrupted => "interrupted",
            Stop::Error => "error",
        }),
        "resume": resume,
        "error": error_text,
    });
    out.print(&text, &value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_through_their_phase() {
        for p in [
            Position::Records(None),
            Position::Records(Some(CleanupCursor("ab:c".into()))),
            Position::Index(None),
            Position::Index(Some(CleanupCursor("p#1".into()))),
        ] {
            assert_eq!(Position::parse(Some(&p.cursor())).unwrap(), p);
        }
        assert_eq!(
            Position::parse(Some("42")).unwrap(),
            Position::Records(Some(CleanupCursor("42".into())))
        );
        assert!(matches!(Position::parse(Some("")), Err(CliError::Usage(_))));
    }
}
