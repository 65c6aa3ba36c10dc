//! The fuzz targets' checks (`fuzz/src/lib.rs`) as a bounded, seeded property
//! test on stable: a few thousand generated inputs per decoder, plus the
//! committed seed corpus, so `./scripts/test` exercises every decoder of
//! untrusted bytes even where nightly and cargo-fuzz are missing. A failure
//! prints the seed and the input, to add to `fuzz/seeds/`.
#![allow(clippy::unwrap_used)]

use tiered_sessions_fuzz as checks;

use std::path::Path;

const CASES: usize = 10_000;

/// Random inputs: mostly short, sometimes long, sometimes a seed with a few
/// bytes changed (so the checks see near-valid input, as a fuzzer would).
fn inputs(target: &str, seed: u64) -> Vec<Vec<u8>> {
    let seeds = seed_corpus(target);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut out = seeds.clone();
    for _ in 0..CASES {
        let mut input = match rng.u8(0..4) {
            0 if !seeds.is_empty() => seeds[rng.usize(0..seeds.len())].clone(),
            1 => (0..rng.usize(0..2048)).map(|_| rng.u8(..)).collect(),
            _ => (0..rng.usize(0..96)).map(|_| rng.u8(..)).collect(),
        };
        for _ in 0..rng.usize(0..4) {
            if input.is_empty() {
                break;
            }
            let at = rng.usize(0..input.len());
            input[at] = rng.u8(..);
        }
        out.push(input);
    }
    out
}

fn seed_corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

fn run(target: &str, seed: u64, check: fn(&[u8])) {
    for input in inputs(target, seed) {
        if std::panic::catch_unwind(|| check(&input)).is_err() {
            panic!("{target} (seed {seed}) failed on input {input:02x?}");
        }
    }
}

#[test]
fn cookie_decoder_properties() {
    run("cookie", 0xC00C1E, checks::cookie);
}

#[test]
fn cookie_header_parser_and_chunk_reassembly_properties() {
    run("cookie_header", 0x4EAD, checks::cookie_header);
}

#[test]
fn record_decoder_properties() {
    run("record", 0x2EC0, checks::record);
}

#[test]
fn value_decoder_properties() {
    run("value", 0x7A1E, checks::value);
}
