//! Two instances of one app — two `TieredStore`s, as two processes behind a
//! load balancer have — share one Redis cache and one durable store. Redis
//! hangs (SIGSTOP) long enough for instance A's circuit breaker to open, A
//! is asked to log out (or write) meanwhile, Redis answers again and A's
//! circuit closes. Instance B must then never serve a state older than one
//! A acknowledged.
//!
//! While A's circuit is open, A cannot drop the entry B reads from Redis, so
//! (with the default `CacheOutageWrites::Refuse`) A refuses the write with a
//! retryable 503 rather than acknowledge what B would not see; the retry after
//! the hang goes through and B sees it at once. (Before that policy, A wrote
//! the durable tier alone and B kept serving the logged-out session from
//! Redis until it expired.)
//!
//! Needs `redis-server` (on the `PATH` or `TS_REDIS_SERVER`).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use http::Method;
use tiered_sessions::{SessionStore, TieredStore};
use tiered_sessions_conformance::kit::{Case, redis_server, trials};
use tiered_sessions_conformance::libtest_mimic::{self, Arguments};
use tiered_sessions_load::client::Client;
use tiered_sessions_load::serve::Served;
use tiered_sessions_load::servers::{self, Scratch};
use tiered_sessions_memory::MemoryStore;
use tiered_sessions_redis::{RedisCache, RedisTiered};

type Store = TieredStore<RedisCache, Arc<MemoryStore>>;

/// Two instances over one private Redis and one durable store.
struct Pair {
    a: Arc<Store>,
    app_a: Served,
    app_b: Served,
    redis: tiered_sessions_conformance::kit::Server,
    _scratch: Scratch,
}

async fn pair() -> Pair {
    let scratch = Scratch::new("two_instances");
    let redis = servers::redis(&scratch, "redis", false).await;
    let durable = Arc::new(MemoryStore::new());
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let instance = || {
        Arc::new(
            RedisTiered::new(RedisCache::standalone(&url).key_prefix("two:"))
                .build(durable.clone())
                .expect("the store builds"),
        )
    };
    let serve = |store: &Arc<Store>| {
        Served::app(
            store.clone() as Arc<dyn SessionStore>,
            store.metrics().clone(),
        )
    };
    let (a, b) = (instance(), instance());
    let (app_a, app_b) = (serve(&a).await.expect("A"), serve(&b).await.expect("B"));
    Pair {
        a,
        app_a,
        app_b,
        redis,
        _scratch: scratch,
    }
}

async fn ok(c: &mut Client, method: Method, path: &str, body: Option<&str>) -> String {
    let reply = c
        .send(method.clone(), path, body.map(str::to_owned))
        .await
        .expect("an answer");
    assert!(reply.status.is_success(), "{method} {path}: {reply:?}");
    reply.body
}

impl Pair {
    /// Hang Redis and read through A until A's circuit opens (each read
    /// falls back to the durable tier: no request fails).
    async fn hang_until_a_skips_the_cache(&self, other: &mut Client) {
        self.redis.pause();
        for _ in 0..50 {
            if self.a.cache_circuit_open() {
                return;
            }
            ok(other, Method::GET, "/all", None).await;
        }
        panic!("A's circuit never opened while Redis hung");
    }

    /// Let Redis answer and read through A (another session) until A's
    /// circuit has closed again.
    async fn recover(&self, other: &mut Client) {
        self.redis.resume();
        for _ in 0..200 {
            if !self.a.cache_circuit_open() {
                return;
            }
            ok(other, Method::GET, "/all", None).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("A's circuit never closed after Redis answered again");
    }
}

/// Alice's session, written through A (`PUT /kv/{name}`), and read once
/// through B so B's cache holds it; another session on A, to drive A while
/// Alice's stays still; Alice's cookie in a client of B.
async fn alice_on_both(p: &Pair, name: &str, value: &str) -> (Client, Client, Client) {
    let mut alice = Client::new(p.app_a.addr);
    let mut other = Client::new(p.app_a.addr);
    ok(&mut alice, Method::PUT, &format!("/kv/{name}"), Some(value)).await;
    ok(&mut other, Method::PUT, "/kv/user", Some("carol")).await;
    let mut on_b = Client::new(p.app_b.addr);
    on_b.set_jar(alice.jar().clone());
    let seen = ok(&mut on_b, Method::GET, "/all", None).await;
    assert_eq!(seen, format!("{name}={value}\n"));
    (alice, other, on_b)
}

async fn status(c: &mut Client, method: Method, path: &str, body: Option<&str>) -> u16 {
    let reply = c
        .send(method, path, body.map(str::to_owned))
        .await
        .expect("an answer");
    reply.status.as_u16()
}

/// A logout asked of A while its circuit is open is refused (503), never
/// acknowledged and then ignored by B; retried after the hang, it ends the
/// session on both instances.
async fn a_logout_during_a_cache_hang_ends_the_session_on_every_instance() {
    let p = pair().await;
    let (mut alice, mut other, mut on_b) = alice_on_both(&p, "user", "alice").await;

    p.hang_until_a_skips_the_cache(&mut other).await;
    let during = status(&mut alice, Method::POST, "/logout", None).await;
    p.recover(&mut other).await;

    if during == 503 {
        // Not acknowledged: the session is still there, on both instances.
        let still = ok(&mut on_b, Method::GET, "/all", None).await;
        assert_eq!(still, "user=alice\n", "a refused logout changed nothing");
        ok(&mut alice, Method::POST, "/logout", None).await;
    } else {
        assert!((200..300).contains(&during), "logout answered {during}");
    }
    let after = ok(&mut on_b, Method::GET, "/all", None).await;
    assert_eq!(
        after, "",
        "instance B still serves the session A logged out (a stale cache entry A could not drop)"
    );
}

/// A write asked of A while its circuit is open is refused (503) or, if
/// acknowledged, read on B; retried after the hang, B reads it.
async fn a_write_during_a_cache_hang_is_read_on_every_instance() {
    let p = pair().await;
    let (mut alice, mut other, mut on_b) = alice_on_both(&p, "a", "1").await;

    p.hang_until_a_skips_the_cache(&mut other).await;
    let during = status(&mut alice, Method::PUT, "/kv/b", Some("2")).await;
    p.recover(&mut other).await;

    if during == 503 {
        let still = ok(&mut on_b, Method::GET, "/all", None).await;
        assert_eq!(still, "a=1\n", "a refused write changed nothing");
        ok(&mut alice, Method::PUT, "/kv/b", Some("2")).await;
    } else {
        assert!((200..300).contains(&during), "write answered {during}");
    }
    let after = ok(&mut on_b, Method::GET, "/all", None).await;
    assert_eq!(
        after, "a=1\nb=2\n",
        "instance B misses a write A acknowledged (a stale cache entry A could not drop)"
    );
}

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let cases: &[(&str, Case<()>)] = &[
        (
            "a_logout_during_a_cache_hang_ends_the_session_on_every_instance",
            |()| Box::pin(a_logout_during_a_cache_hang_ends_the_session_on_every_instance()),
        ),
        (
            "a_write_during_a_cache_hang_is_read_on_every_instance",
            |()| Box::pin(a_write_during_a_cache_hang_is_read_on_every_instance()),
        ),
    ];
    let ready = redis_server().map(|_| (|| ()) as fn());
    libtest_mimic::run(&args, trials("two_instances", ready, cases)).exit_code()
}
