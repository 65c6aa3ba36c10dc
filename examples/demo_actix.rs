//! The demo app on actix-web: `cargo run --example demo-actix`, then open
//! <http://127.0.0.1:3000/>. The same routes, page and actions as
//! `examples/demo.rs` (the axum demo; both render `examples/common/page.rs`),
//! with `tiered_sessions::actix::SessionMiddleware`; `/stats` (JSON) and
//! `/metrics` (Prometheus text) as there.
//!
//! Runs on the embedded default — the memory driver, as a cache tier in front of
//! a memory "durable" tier — so it needs no services. With
//! `TIERED_SESSIONS_REDIS_URL` (or `TIERED_SESSIONS_REDIS_CLUSTER_URLS`) set it
//! keeps sessions in Redis instead, as a whole store, shared by every worker.
//! `PORT` overrides the port; `SESSION_KEY` (64 hex characters) keeps sessions
//! valid across restarts; `COOKIE_ONLY_THRESHOLD` moves the spill point.

#[path = "common/page.rs"]
mod page;
#[path = "common/setup.rs"]
mod setup;

use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use setup::Demo;
use tiered_sessions::actix::SessionMiddleware;
use tiered_sessions::{Result, Session};

async fn index(demo: web::Data<Demo>, session: Session, req: HttpRequest) -> Result<HttpResponse> {
    let name = demo.manager.config().cookie_name().to_owned();
    let cookies = page::cookie_info(
        &name,
        req.headers().get_all(header::COOKIE).map(|v| v.as_bytes()),
    );
    let html = page::page(&session, &demo, cookies).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}

async fn counter(session: Session) -> Result<String> {
    page::counter_text(&session).await
}

async fn action(session: Session, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse> {
    let form = page::form(req.query_string(), &body);
    page::act(&session, req.path().trim_start_matches('/'), &form).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/"))
        .finish())
}

async fn stats(demo: web::Data<Demo>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(page::stats_json(&demo))
}

async fn metrics(demo: web::Data<Demo>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(page::METRICS_CONTENT_TYPE)
        .body(page::metrics_text(&demo))
}

#[actix_web::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    setup::init_tracing();
    // One manager (and one store) for every worker.
    let demo = setup::demo()?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], setup::port()));
    tracing::info!("tiered-sessions demo (actix-web) on http://{addr}/");
    HttpServer::new(move || {
        let mut app = App::new()
            .app_data(web::Data::new(demo.clone()))
            .wrap(SessionMiddleware::new(demo.manager.clone()))
            .route("/", web::get().to(index))
            .route("/counter", web::get().to(counter))
            .route("/stats", web::get().to(stats))
            .route("/metrics", web::get().to(metrics));
        for name in page::ACTIONS {
            app = app.route(&format!("/{name}"), web::post().to(action));
        }
        app
    })
    .bind(addr)?
    .run()
    .await?;
    Ok(())
}
