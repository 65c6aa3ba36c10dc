//! libFuzzer target: see `tiered_sessions_fuzz::value`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tiered_sessions_fuzz::value(data));
