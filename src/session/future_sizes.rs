//! The futures a handler and the layer hold stay small: each is moved at
//! every await and boxed by the framework, so a few KiB of loading state in
//! them cost every request a copy and a large allocation (`insert`'s future
//! was 2.8 KB before the load was boxed, see `Session::active`).

use crate::{SessionConfig, SessionManager};

/// glibc serves allocations up to this size from a per-thread cache; past it
/// a `malloc` takes the shared arena's slower path.
const THREAD_CACHE_LIMIT: usize = 1032;

#[test]
fn a_handlers_session_futures_and_the_boxed_save_stay_small() {
    let config = SessionConfig::builder([[4u8; 32]])
        .build()
        .expect("valid config");
    let s = SessionManager::cookie_only(config).start(Default::default());
    let insert = size_of_val(&s.insert("k", &1u64));
    let get = size_of_val(&s.get::<u64>("k"));
    let regenerate = size_of_val(&s.regenerate_id());
    for (what, size) in [
        ("insert", insert),
        ("get", get),
        ("regenerate_id", regenerate),
    ] {
        assert!(size <= 512, "`{what}`'s future is {size} B");
    }
    let save = size_of_val(&crate::layer::save_with_store(s, 200));
    assert!(
        save <= THREAD_CACHE_LIMIT,
        "the layer's boxed save is {save} B"
    );
}
