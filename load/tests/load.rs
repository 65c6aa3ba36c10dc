//! The load, conflict-storm and chaos runs, one named test per scenario and
//! driver (`load::redis+moto`, `chaos::redis+mongodb`, …). A driver whose
//! services are missing is *ignored with the reason*, or fails under
//! `CI=true`. Each run prints its figures; at the end every run's figures
//! are printed as one table and written to `target/load/summary.json`.
//!
//! `TS_LOAD_SCALE=long` runs the long version, `TS_LOAD_SEED=<n>` repeats a
//! run's choices and fault schedule. See `load/README.md`.

use std::future::Future;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

use tiered_sessions_conformance::kit::{block_on, missing};
use tiered_sessions_conformance::libtest_mimic::{self, Arguments, Completion, Failed, Trial};
use tiered_sessions_load::backend::Driver;
use tiered_sessions_load::chaos::{self, ChaosDriver};
use tiered_sessions_load::figures::{self, Figures};
use tiered_sessions_load::rng::{SEED_VAR, seed_from_env};
use tiered_sessions_load::scale::{SCALE_VAR, Scale};
use tiered_sessions_load::{counters, storm};

type Collected = Arc<Mutex<Vec<Figures>>>;

/// What a scenario promises, beyond "no problem was seen".
fn broken_promises(f: &Figures, problems: &[String]) -> Vec<String> {
    let mut broken = Vec::new();
    if f.problems > 0 {
        broken.push(format!(
            "{} problems, the first {}:\n  {}",
            f.problems,
            problems.len(),
            problems.join("\n  ")
        ));
    }
    if f.other_5xx > 0 || f.other > 0 {
        broken.push(format!(
            "{} 5xx other than 503 and {} other failures",
            f.other_5xx, f.other
        ));
    }
    if f.writes_lost > 0 || f.resurrected > 0 {
        broken.push(format!(
            "{} acknowledged writes lost, {} ended sessions back",
            f.writes_lost, f.resurrected
        ));
    }
    // Under plain load nothing fails: not even a 503.
    if f.scenario == "load" && f.unavailable > 0 {
        broken.push(format!(
            "{} requests answered 503 under load",
            f.unavailable
        ));
    }
    if f.writes_acked == 0 {
        broken.push("no write was acknowledged: the run proved nothing".to_owned());
    }
    broken
}

fn trial<F, Fut>(name: String, needs: Result<(), String>, collected: Collected, run: F) -> Trial
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = (Figures, Vec<String>)>,
{
    Trial::ignorable_test(name, move || {
        if let Err(reason) = needs {
            return missing(reason);
        }
        let mut out = None;
        block_on(async { out = Some(run().await) })?;
        let (f, problems) = out.ok_or_else(|| Failed::from("the run returned nothing"))?;
        println!("\n  {}", f.line());
        collected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(f.clone());
        let broken = broken_promises(&f, &problems);
        if broken.is_empty() {
            Ok(Completion::Completed)
        } else {
            Err(Failed::from(broken.join("\n")))
        }
    })
}

fn main() -> ExitCode {
    // By default the layer's failed saves (each kind once, then summarized),
    // so a 5xx in a run says why; `RUST_LOG=error` shows every store error.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "tiered_sessions::layer=error".into()),
        )
        .try_init();
    let mut args = Arguments::from_args();
    // One run at a time: each wants the machine (and chaos its own servers).
    args.test_threads = Some(1);
    let scale = Scale::from_env();
    let seed = seed_from_env();
    println!(
        "load harness: {SCALE_VAR}={}, {SEED_VAR}={seed} (set both to repeat this run)",
        scale.name
    );
    let collected: Collected = Arc::default();
    let mut trials = Vec::new();
    for (scenario, storm) in [("load", false), ("storm", true)] {
        for driver in Driver::ALL {
            trials.push(trial(
                format!("{scenario}::{}", driver.name()),
                driver.needs(),
                collected.clone(),
                move || async move {
                    let backend = driver.build().await;
                    let name = driver.name();
                    let out = if storm {
                        let (clients, keys) = (scale.storm_clients, scale.storm_keys);
                        storm::run(&backend, name, clients, keys, seed).await
                    } else {
                        let (clients, rounds) = (scale.load_clients, scale.rounds(driver));
                        counters::run(&backend, name, clients, rounds, seed).await
                    };
                    backend.teardown().await;
                    out
                },
            ));
        }
    }
    for driver in ChaosDriver::ALL {
        trials.push(trial(
            format!("chaos::{}", driver.name()),
            driver.needs(),
            collected.clone(),
            move || chaos::run(driver, scale.chaos_clients, scale.chaos_duration, seed),
        ));
    }
    let conclusion = libtest_mimic::run(&args, trials);
    let all = collected
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    if !all.is_empty() {
        println!(
            "\nload harness figures ({SCALE_VAR}={}, {SEED_VAR}={seed}):",
            scale.name
        );
        print!("{}", figures::table(&all));
        let exe = std::env::current_exe().unwrap_or_default();
        let path = figures::summary_path(&exe);
        match figures::write_summary(&path, scale.name, &all) {
            Ok(()) => println!("summary: {}", path.display()),
            Err(e) => eprintln!("could not write {}: {e}", path.display()),
        }
    }
    conclusion.exit_code()
}
