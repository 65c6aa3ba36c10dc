//! `paired`: our layer's overhead minus a peer's, measured together.
//!
//! `scripts/anchorbench` copies this file into its copy of the harness as
//! `benches/anchorbench/paired.rs`. Separate criterion cases drift on this
//! machine by ±500 ns from run to run, more than the differences the new-session
//! targets ask about, so each case here times both sides in alternating blocks
//! (`paired_difference` from the conformance crate) and records
//!
//! ```text
//! (ours_case + their_no_session) − (their_case + our_no_session)
//! ```
//!
//! per request, in ns: the difference of the two overheads (`case − no_session`)
//! that the `tiered_sessions`, `tower_sessions` and `actix_session` groups
//! report separately. Negative means ours costs less. Where both sides run on
//! axum (tower-sessions) the two baselines are the same router, so they cancel
//! and are not run. Each side's requests go
//! through its own group's routers and request helpers, built here the same way
//! as there; the new-session cases build fresh stores for every sample, as the
//! groups' `memory/new` cases do.

use std::{hint::black_box, time::Instant};

use actix_session::{
    SessionMiddleware,
    config::CookieContentSecurity,
    storage::CookieSessionStore,
};
use actix_web::{App, HttpResponse, cookie::Key, test, web};
use axum::{Router, http::StatusCode, routing::get};
use criterion::{Criterion, measurement::Measurement};
use tiered_sessions::SessionManager;
use tiered_sessions_conformance::bench::{PairedNanos, paired_difference};

use crate::common::{self, ActixRt};
use crate::{actix_session as actix_group, tiered_sessions as ours, tower_sessions as tower_group};

const ROUTES: [&str; 5] = ["/init", "/read", "/write", "/new", "/untouched"];

async fn plain() -> StatusCode {
    StatusCode::OK
}

async fn actix_plain() -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// `n` requests to an axum app, in ns.
fn axum_ns(rt: &tokio::runtime::Runtime, app: &Router, path: &str, cookie: Option<&str>, n: u64) -> f64 {
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..n {
            black_box(ours::call(app, path, cookie).await);
        }
        start.elapsed().as_nanos() as f64
    })
}

/// `n` requests to an actix app, in ns.
fn actix_ns<S, B>(sys: &ActixRt, app: &S, path: &str, cookie: Option<&str>, n: u64) -> f64
where
    S: actix_web::dev::Service<actix_http::Request, Response = actix_web::dev::ServiceResponse<B>, Error = actix_web::Error>,
{
    sys.block_on(async {
        let start = Instant::now();
        for _ in 0..n {
            black_box(actix_group::call(app, path, cookie).await);
        }
        start.elapsed().as_nanos() as f64
    })
}

/// The group's sampling, shrunk by `ANCHORBENCH_QUICK` as `common::configure` does.
fn configure<M: Measurement>(g: &mut criterion::BenchmarkGroup<'_, M>) {
    let (samples, warm_up, measure) =
        if std::env::var_os("ANCHORBENCH_QUICK").is_some() { (10, 0.1, 0.3) } else { (30, 1.0, 6.0) };
    g.sample_size(samples)
        .warm_up_time(std::time::Duration::from_secs_f64(warm_up))
        .measurement_time(std::time::Duration::from_secs_f64(measure));
}

pub fn bench(c: &mut Criterion<PairedNanos>) {
    let rt = common::tokio_rt();
    let sys = ActixRt::new();
    let base = ROUTES.into_iter().fold(Router::new(), |r, p| r.route(p, get(plain)));
    let actix_base = sys.block_on(test::init_service(
        ROUTES.into_iter().fold(App::new(), |app, p| app.route(p, web::get().to(actix_plain))),
    ));
    let base_ns = |n| axum_ns(&rt, &base, "/read", Some("id=x"), n);
    let actix_base_ns = |n| actix_ns(&sys, &actix_base, "/read", Some("id=x"), n);

    let mut g = c.benchmark_group("paired");
    configure(&mut g);

    // New session, every session stored: ours on `MemoryStore` against
    // tower-sessions on its `MemoryStore` (the same axum plumbing on both sides).
    g.bench_function("memory_new/ours_minus_tower_sessions", |b| {
        b.iter_custom(|iters| {
            let ours_app = ours::session_app(SessionManager::new(ours::config(0), tiered_sessions_memory::MemoryStore::new()));
            let tower_app = tower_group::session_app(tower_sessions::MemoryStore::default(), false);
            paired_difference(
                iters,
                |n| axum_ns(&rt, &ours_app, "/new", None, n),
                |n| axum_ns(&rt, &tower_app, "/new", None, n),
            )
        })
    });

    // New session in a signed cookie: ours cookie-only against actix-session's
    // cookie store, signed and private, each less its own framework's baseline.
    let ours_cookie = ours::session_app(SessionManager::cookie_only(ours::config(4096)));
    let key = Key::generate();
    for (name, security) in [("signed", CookieContentSecurity::Signed), ("private", CookieContentSecurity::Private)] {
        let mw = SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
            .cookie_content_security(security)
            .build();
        let peer = sys.block_on(test::init_service(App::new().wrap(mw).configure(actix_group::routes)));
        g.bench_function(format!("cookie_new/ours_minus_actix_session_{name}"), |b| {
            b.iter_custom(|iters| {
                paired_difference(
                    iters,
                    |n| axum_ns(&rt, &ours_cookie, "/new", None, n) + actix_base_ns(n),
                    |n| actix_ns(&sys, &peer, "/new", None, n) + base_ns(n),
                )
            })
        });
    }

    // The untouched session: our layer's whole overhead (a valid cookie, a
    // handler that never looks at the session), and for scale what a layer
    // that does nothing (tower's `Identity`) costs on the same routes. Both
    // sides send the same ~1.4 KB cookie: the harness's own `no_session`
    // sends `id=x`, so its `cookie/untouched` overhead also counts building
    // and dropping a larger request.
    let created = rt.block_on(ours::call(&ours_cookie, "/init", None));
    let cookie = ours::jar(&ours::set_cookies(&created));
    let same_request = |n| axum_ns(&rt, &base, "/untouched", Some(&cookie), n);
    g.bench_function("cookie_untouched/ours_minus_no_session", |b| {
        b.iter_custom(|iters| {
            paired_difference(iters, |n| axum_ns(&rt, &ours_cookie, "/untouched", Some(&cookie), n), same_request)
        })
    });
    let identity = base.clone().layer(::tower::layer::util::Identity::new());
    g.bench_function("identity_layer/minus_no_session", |b| {
        b.iter_custom(|iters| {
            paired_difference(iters, |n| axum_ns(&rt, &identity, "/untouched", Some(&cookie), n), same_request)
        })
    });
    g.finish();
}
