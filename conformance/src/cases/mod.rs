//! Every case of the suite, each a public async function a driver's own test
//! can call on its own, and [`all`], the list the runner turns into tests.
//!
//! A case returns `Ok(())` when its clause holds, [`CaseError::Unsupported`]
//! when the driver or fixture cannot run it (never a pass), and any other
//! [`CaseError`] when the clause is broken.

mod browser;
mod check;
mod collision;
mod headers;
mod http;
mod instances;
mod model;
mod outages;
mod principals;
mod principals_lifecycle;
mod races;
mod ranges;
mod sample;
mod store;
mod tiers;

use futures_util::future::{BoxFuture, LocalBoxFuture};

pub use self::collision::{
    http_id_collision_takes_a_fresh_id, http_id_collision_takes_a_fresh_id_on,
};
pub use self::headers::{
    http_session_responses_vary_on_the_cookie, http_session_responses_vary_on_the_cookie_on,
};
pub use self::http::{
    http_cookie_only_session_makes_no_store_calls,
    http_cookie_only_session_makes_no_store_calls_on, http_read_only_requests_make_no_writes,
    http_read_only_requests_make_no_writes_on, http_regenerate_kills_the_old_id,
    http_regenerate_kills_the_old_id_on, http_spilled_session_round_trips_and_moves_back,
    http_spilled_session_round_trips_and_moves_back_on, http_tampered_cookies_are_no_session,
    http_tampered_cookies_are_no_session_on, http_terminate_deletes_everywhere,
    http_terminate_deletes_everywhere_on,
};
pub use self::instances::fault_cache_outage_leaves_no_other_instance_stale;
pub use self::model::{DEFAULT_SEED, ModelRun, model_based_random_operations, model_based_with};
pub use self::outages::{
    CACHE_TIMEOUT, DURABLE_ALLOWANCE, fault_cache_failures_leave_no_stale_or_ahead_entry,
    fault_cache_outage_reads_fall_back_within_deadline, fault_durable_failure_is_an_opaque_5xx,
    fault_durable_failure_is_an_opaque_5xx_on, fault_durable_failures_are_typed_and_lose_nothing,
};
pub use self::principals::{
    principals_exact_policy_revokes_at_once, principals_list_shows_each_live_session,
    principals_revoke_all, principals_revoke_one, principals_revoke_others,
};
pub use self::principals_lifecycle::{
    principals_expired_sessions_absent_and_cleaned,
    principals_login_racing_revoke_all_leaves_nothing, principals_logout_refuses_copied_cookie,
};
pub use self::races::{
    conditional_delete_keeps_newer_saves, http_logout_racing_a_write_resurrects_nothing,
    http_logout_racing_a_write_resurrects_nothing_on,
    http_old_cookie_only_cookie_never_resurrects_a_logout,
    http_old_cookie_only_cookie_never_resurrects_a_logout_on,
    http_regenerate_racing_a_write_loses_nothing, http_regenerate_racing_a_write_loses_nothing_on,
    save_refuses_a_version_that_does_not_grow,
};
pub use self::ranges::versions_and_times_keep_their_range;
pub use self::store::{
    cleanup_deletes_exactly_the_expired_in_batches, concurrent_saves_of_different_keys_all_survive,
    create_never_overwrites, delete_twice_is_fine, expired_records_are_never_returned,
    idle_and_absolute_timeouts, late_save_never_resurrects, round_trip,
    save_condition_is_not_newer_than_expected, size_limit_is_enforced_with_a_typed_error,
    stale_version_conflicts, store_keys_never_contain_the_raw_id, touch_extends_expiry,
    unknown_key_loads_none,
};
pub use self::tiers::{
    a_cache_hit_makes_no_durable_read, cache_loss_falls_back_to_durable_and_refills,
    cache_tier_clauses, delete_removes_every_tier,
    every_save_is_refused_above_the_smaller_tier_limit, quick_save_reaches_the_cache_only,
    quick_save_survives_a_conflicting_durable_save, quick_save_without_a_cache_entry_is_durable,
};
use crate::web::WebApp;
use crate::{Capabilities, CaseError, Fixture};

/// A case as a function pointer.
pub type CaseFn = for<'a> fn(&'a Fixture, &'a Capabilities) -> BoxFuture<'a, Result<(), CaseError>>;

/// What a case needs from the driver's declared [`Capabilities`]; a case whose
/// need is unmet is reported ignored without asking the factory for a fixture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Need {
    /// Nothing beyond the contract.
    Contract,
    /// A cache tier in front of a durable tier (`cache_tier`).
    CacheTier,
}

impl Need {
    /// Why `caps` cannot run a case with this need, if they cannot.
    pub fn unmet(self, caps: &Capabilities) -> Option<&'static str> {
        match self {
            Need::Contract => None,
            Need::CacheTier if !caps.cache_tier => Some("the driver has no cache tier"),
            _ => None,
        }
    }
}

/// One case of the suite.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    /// The test name (the function's name).
    pub name: &'static str,
    /// Which group it belongs to: `store`, `tiers`, `http`, `faults`,
    /// `principals` or `model`.
    pub group: &'static str,
    /// What it needs from the capabilities.
    pub need: Need,
    /// The case itself.
    pub run: CaseFn,
}

macro_rules! case {
    ($group:literal, $need:ident, $f:ident) => {
        Case {
            name: stringify!($f),
            group: $group,
            need: Need::$need,
            run: |fx, caps| Box::pin($f(fx, caps)),
        }
    };
}

/// Every case, in a stable order.
pub fn all() -> Vec<Case> {
    vec![
        case!("store", Contract, round_trip),
        case!("store", Contract, unknown_key_loads_none),
        case!("store", Contract, delete_twice_is_fine),
        case!("store", Contract, create_never_overwrites),
        case!("store", Contract, expired_records_are_never_returned),
        case!("store", Contract, touch_extends_expiry),
        case!("store", Contract, idle_and_absolute_timeouts),
        case!("store", Contract, stale_version_conflicts),
        case!("store", Contract, save_condition_is_not_newer_than_expected),
        case!("store", Contract, late_save_never_resurrects),
        case!("store", Contract, save_refuses_a_version_that_does_not_grow),
        case!("store", Contract, conditional_delete_keeps_newer_saves),
        case!("store", Contract, versions_and_times_keep_their_range),
        case!(
            "store",
            Contract,
            concurrent_saves_of_different_keys_all_survive
        ),
        case!(
            "store",
            Contract,
            cleanup_deletes_exactly_the_expired_in_batches
        ),
        case!("store", Contract, size_limit_is_enforced_with_a_typed_error),
        case!("store", Contract, store_keys_never_contain_the_raw_id),
        case!("tiers", CacheTier, quick_save_reaches_the_cache_only),
        case!(
            "tiers",
            CacheTier,
            quick_save_without_a_cache_entry_is_durable
        ),
        case!(
            "tiers",
            CacheTier,
            quick_save_survives_a_conflicting_durable_save
        ),
        case!(
            "tiers",
            CacheTier,
            cache_loss_falls_back_to_durable_and_refills
        ),
        case!("tiers", CacheTier, delete_removes_every_tier),
        case!("tiers", CacheTier, cache_tier_clauses),
        case!(
            "tiers",
            CacheTier,
            every_save_is_refused_above_the_smaller_tier_limit
        ),
        case!("tiers", CacheTier, a_cache_hit_makes_no_durable_read),
        case!(
            "http",
            Contract,
            http_cookie_only_session_makes_no_store_calls
        ),
        case!(
            "http",
            Contract,
            http_spilled_session_round_trips_and_moves_back
        ),
        case!("http", Contract, http_regenerate_kills_the_old_id),
        case!("http", Contract, http_terminate_deletes_everywhere),
        case!("http", Contract, http_tampered_cookies_are_no_session),
        case!("http", Contract, http_read_only_requests_make_no_writes),
        case!(
            "http",
            Contract,
            http_regenerate_racing_a_write_loses_nothing
        ),
        case!(
            "http",
            Contract,
            http_logout_racing_a_write_resurrects_nothing
        ),
        case!(
            "http",
            Contract,
            http_old_cookie_only_cookie_never_resurrects_a_logout
        ),
        case!("http", Contract, http_session_responses_vary_on_the_cookie),
        case!("http", Contract, http_id_collision_takes_a_fresh_id),
        case!(
            "faults",
            CacheTier,
            fault_cache_outage_reads_fall_back_within_deadline
        ),
        case!(
            "faults",
            CacheTier,
            fault_cache_failures_leave_no_stale_or_ahead_entry
        ),
        case!(
            "faults",
            CacheTier,
            fault_durable_failures_are_typed_and_lose_nothing
        ),
        case!(
            "faults",
            CacheTier,
            fault_cache_outage_leaves_no_other_instance_stale
        ),
        case!("faults", Contract, fault_durable_failure_is_an_opaque_5xx),
        case!(
            "principals",
            Contract,
            principals_list_shows_each_live_session
        ),
        case!("principals", Contract, principals_revoke_one),
        case!("principals", Contract, principals_revoke_others),
        case!("principals", Contract, principals_revoke_all),
        case!(
            "principals",
            Contract,
            principals_exact_policy_revokes_at_once
        ),
        case!(
            "principals",
            Contract,
            principals_logout_refuses_copied_cookie
        ),
        case!(
            "principals",
            Contract,
            principals_expired_sessions_absent_and_cleaned
        ),
        case!(
            "principals",
            Contract,
            principals_login_racing_revoke_all_leaves_nothing
        ),
        case!("model", Contract, model_based_random_operations),
    ]
}

/// The case called `name`, if there is one.
pub fn by_name(name: &str) -> Option<Case> {
    all().into_iter().find(|c| c.name == name)
}

/// A case on one web framework, as a function pointer: its future need not be
/// `Send` (actix-web apps are not).
pub type LocalCaseFn =
    for<'a> fn(&'a Fixture, &'a Capabilities) -> LocalBoxFuture<'a, Result<(), CaseError>>;

/// One case that drives the app over HTTP, on the framework its `run` names.
#[derive(Clone, Copy, Debug)]
pub struct LocalCase {
    /// The test name (the case function's name, without `_on`).
    pub name: &'static str,
    /// Which group it belongs to (`http` or `faults`).
    pub group: &'static str,
    /// What it needs from the capabilities.
    pub need: Need,
    /// The case itself.
    pub run: LocalCaseFn,
}

/// A [`LocalCase`] running `$f::<$app>`, named `$f` without its `_on`.
macro_rules! local_case {
    ($app:ident, $group:literal, $need:ident, $f:ident) => {
        LocalCase {
            name: stringify!($f).trim_end_matches("_on"),
            group: $group,
            need: Need::$need,
            run: |fx, caps| Box::pin($f::<$app>(fx, caps)),
        }
    };
}

/// Every case that drives an app over HTTP, on the framework `A`: the same
/// cases [`all`] runs on axum (every case of group `http`, and
/// `fault_durable_failure_is_an_opaque_5xx`).
pub fn http_on<A: WebApp>() -> Vec<LocalCase> {
    vec![
        local_case!(
            A,
            "http",
            Contract,
            http_cookie_only_session_makes_no_store_calls_on
        ),
        local_case!(
            A,
            "http",
            Contract,
            http_spilled_session_round_trips_and_moves_back_on
        ),
        local_case!(A, "http", Contract, http_regenerate_kills_the_old_id_on),
        local_case!(A, "http", Contract, http_terminate_deletes_everywhere_on),
        local_case!(A, "http", Contract, http_tampered_cookies_are_no_session_on),
        local_case!(
            A,
            "http",
            Contract,
            http_read_only_requests_make_no_writes_on
        ),
        local_case!(
            A,
            "http",
            Contract,
            http_regenerate_racing_a_write_loses_nothing_on
        ),
        local_case!(
            A,
            "http",
            Contract,
            http_logout_racing_a_write_resurrects_nothing_on
        ),
        local_case!(
            A,
            "http",
            Contract,
            http_old_cookie_only_cookie_never_resurrects_a_logout_on
        ),
        local_case!(
            A,
            "http",
            Contract,
            http_session_responses_vary_on_the_cookie_on
        ),
        local_case!(A, "http", Contract, http_id_collision_takes_a_fresh_id_on),
        local_case!(
            A,
            "faults",
            Contract,
            fault_durable_failure_is_an_opaque_5xx_on
        ),
    ]
}
