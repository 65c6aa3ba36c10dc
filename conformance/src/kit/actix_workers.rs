//! A store under a real actix-web `HttpServer` with two workers (two actix
//! runtimes, each on its own thread): what every driver must survive, since
//! actix handlers are `!Send` and its workers do not share a Tokio runtime.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::{App, HttpServer, web};
use tiered_sessions::actix::SessionMiddleware;
use tiered_sessions::{Result, Session, SessionConfig, SessionManager, SessionStore};

use super::{Jar, endpoint, missing, unique};
use crate::libtest_mimic::{self, Arguments, Completion, Trial};

/// A `!Send` handler: it holds an `Rc` across the session's awaits, counts
/// the visit and answers `"{visits before} {worker thread name}"`.
pub async fn not_send_counter(session: Session) -> Result<String> {
    let local = Rc::new(Cell::new(0u64));
    let n: u64 = session.get("visits").await?.unwrap_or(0);
    local.set(n + 1);
    session.insert("visits", &local.get()).await?;
    Ok(format!(
        "{n} {}",
        std::thread::current().name().unwrap_or("unnamed")
    ))
}

/// Serve [`not_send_counter`] over the store `make` builds (every session
/// stored) from an `HttpServer` with two workers. As in an app's
/// `#[actix_web::main]`, the store is built on the main actix runtime, before
/// the server, and its connections are then used from both workers' runtimes.
/// One browser counts to 20 over TCP. Every visit must be read back (none
/// lost) and both workers must have served.
///
/// # Panics
/// When a visit is lost, a request fails, or one worker served everything.
pub fn count_across_actix_workers<F, Fut>(make: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Arc<dyn SessionStore>>,
{
    let config = SessionConfig::builder([[0x33u8; 32]])
        .secure(false)
        .cookie_only_threshold(0)
        .build()
        .expect("a valid configuration");
    let (tx, rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let manager = SessionManager::with_shared_store(config, make().await);
            let server = HttpServer::new(move || {
                App::new()
                    .wrap(SessionMiddleware::new(manager.clone()))
                    .route("/counter", web::get().to(not_send_counter))
            })
            .workers(2)
            .bind(("127.0.0.1", 0))
            .expect("a local port");
            let addr = server.addrs()[0];
            let server = server.run();
            tx.send((addr, server.handle())).expect("the test waits");
            server.await
        })
    });
    let (addr, handle) = rx.recv().expect("the server starts");
    let mut jar = Jar::new();
    let mut workers = BTreeSet::new();
    for want in 0..20u64 {
        let (status, body) = http_get(addr, &mut jar, "/counter");
        assert_eq!(status, 200, "{body}");
        let (n, worker) = body.split_once(' ').expect("count and worker");
        assert_eq!(n, want.to_string(), "visit {want} read {body:?}");
        workers.insert(worker.to_owned());
    }
    actix_web::rt::System::new().block_on(handle.stop(true));
    server
        .join()
        .expect("the server thread")
        .expect("the server ran");
    assert!(workers.len() >= 2, "only {workers:?} served the requests");
}

/// A whole test binary of one trial, `name`: [`count_across_actix_workers`]
/// over the store `make` builds from the values of the environment variables
/// `vars` (in order) and a fresh namespace. A missing variable shows the trial
/// as ignored with the reason (a failure under `CI=true`).
pub fn actix_workers_main<F, Fut>(
    name: &'static str,
    vars: &'static [&'static str],
    make: F,
) -> std::process::ExitCode
where
    F: FnOnce(Vec<String>, String) -> Fut + Send + 'static,
    Fut: Future<Output = Arc<dyn SessionStore>>,
{
    let args = Arguments::from_args();
    let trial = Trial::ignorable_test(name, move || {
        let values = match vars
            .iter()
            .map(|v| endpoint(v))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(values) => values,
            Err(reason) => return missing(reason),
        };
        let ns = unique("actix_workers");
        count_across_actix_workers(move || make(values, ns));
        Ok(Completion::Completed)
    });
    libtest_mimic::run(&args, vec![trial]).exit_code()
}

/// One `GET` over TCP with the jar's cookies (the jar takes the response's).
fn http_get(addr: SocketAddr, jar: &mut Jar, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("the server listens");
    let cookie = jar
        .header()
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{cookie}\r\n"
    )
    .expect("the request is sent");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("an answer");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a head and a body");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let set_cookie: Vec<&str> = lines
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.trim())
        .collect();
    jar.update(set_cookie);
    (status, body.to_owned())
}
