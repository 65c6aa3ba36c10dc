//! The security suite: one named test per known attack on session libraries,
//! each citing the advisory or weakness it guards against, through the HTTP
//! layer, run on the memory driver (a memory cache in front of a memory
//! durable tier) and on Redis as the whole store (`TS_REDIS_URL`; ignored
//! with the reason when it is not set, a failure under `CI=true`).
//!
//! Tests show as `memory::attack_01_…` and `redis::attack_01_…`. The list,
//! with what each proves, is in the README's "Security suite" section.
#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

mod common;
#[path = "security/cookie_attacks.rs"]
mod cookie_attacks;
#[path = "security/fixture.rs"]
mod fixture;
#[path = "security/races.rs"]
mod races;
#[path = "security/store_attacks.rs"]
mod store_attacks;

use fixture::Fixture;
use tiered_sessions_conformance::kit::{Case, endpoint, trials};
use tiered_sessions_conformance::libtest_mimic::{Arguments, run};

macro_rules! cases {
    ($($module:ident::$name:ident),* $(,)?) => {
        &[$((stringify!($name), |f: Fixture| Box::pin($module::$name(f)) as _)),*]
    };
}

const CASES: &[(&str, Case<Fixture>)] = cases![
    cookie_attacks::attack_01_any_single_byte_change_is_no_session,
    cookie_attacks::attack_02_bytes_appended_after_the_signature_are_rejected,
    cookie_attacks::attack_03_cookie_swapped_to_another_name_or_chunk_is_rejected,
    cookie_attacks::attack_04_foreign_key_and_retired_key_are_rejected,
    cookie_attacks::attack_05_rotation_only_the_newest_key_signs,
    cookie_attacks::attack_06_expired_cookie_is_rejected_without_store_io,
    store_attacks::attack_07_fixation_unknown_id_is_never_adopted,
    store_attacks::attack_08_login_regenerate_leaves_the_old_id_dead_in_every_tier,
    store_attacks::attack_09_logout_is_final_and_a_late_save_does_not_resurrect,
    store_attacks::attack_10_id_collision_never_overwrites_another_session,
    store_attacks::attack_11_raw_ids_never_reach_the_store_or_the_logs,
    store_attacks::attack_12_anonymous_flood_creates_no_stored_sessions,
    cookie_attacks::attack_13_oversized_headers_and_chunk_bombs_are_bounded,
    cookie_attacks::attack_14_tampered_encrypted_cookies_are_rejected,
    store_attacks::attack_15_hostile_stored_bytes_are_a_clean_error,
    cookie_attacks::attack_16_cookie_responses_are_not_cacheable_and_errors_are_empty,
    cookie_attacks::attack_17_header_injection_through_configuration_is_refused,
    races::attack_18_concurrent_writes_to_one_session_lose_nothing,
    cookie_attacks::attack_19_cookie_attributes_are_secure_by_default,
    store_attacks::attack_20_terminated_stored_session_cannot_be_replayed,
];

fn main() {
    let args = Arguments::from_args();
    // Every case logs into one capture, which attack 11 searches for ids.
    common::capture_all_logs(tracing::Level::TRACE);
    let mut tests = trials("memory", Ok(Fixture::memory as fn() -> Fixture), CASES);
    tests.extend(trials(
        "redis",
        endpoint("TS_REDIS_URL").map(|_| Fixture::redis as fn() -> Fixture),
        CASES,
    ));
    run(&args, tests).exit();
}
