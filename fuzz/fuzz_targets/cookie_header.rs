//! libFuzzer target: see `tiered_sessions_fuzz::cookie_header`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tiered_sessions_fuzz::cookie_header(data));
