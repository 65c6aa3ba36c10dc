//! The chaos runs' drivers: each one's private servers (the targets the
//! schedule fails) and its store over them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tiered_sessions_conformance::kit::{Server, endpoint, redis_server, unique};

use tiered_sessions_redis::{RedisCache, redis};

use crate::backend::{self, Backend, vars};
use crate::servers::{self, Scratch};

/// An extra readiness check after a restart or a resume, beyond the port
/// accepting connections (SecantusDB listens before it serves).
pub type Ready = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// A server the schedule fails.
pub struct Target {
    /// Its role, in events and figures.
    pub name: &'static str,
    /// The process.
    pub server: Server,
    /// Whether a SIGKILL keeps what it acknowledged (else it is only paused).
    pub killable: bool,
    /// Readiness beyond the port.
    pub ready: Option<Ready>,
}

/// A driver of the chaos runs, on private servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChaosDriver {
    /// Redis as the whole store, with AOF and `appendfsync always`: killed and paused.
    Redis,
    /// A Redis cache (killed and paused) in front of dynalite on LevelDB (killed and paused).
    RedisDynalite,
    /// A Redis cache (killed and paused) in front of moto, in memory (only paused).
    RedisMoto,
    /// A Redis cache (killed and paused) in front of SecantusDB on disk (killed and paused).
    RedisMongo,
}

impl ChaosDriver {
    /// Every chaos driver, in report order.
    pub const ALL: [ChaosDriver; 4] = [
        ChaosDriver::Redis,
        ChaosDriver::RedisDynalite,
        ChaosDriver::RedisMoto,
        ChaosDriver::RedisMongo,
    ];

    /// Its name in test names and figures.
    pub fn name(self) -> &'static str {
        match self {
            ChaosDriver::Redis => "redis",
            ChaosDriver::RedisDynalite => "redis+dynalite",
            ChaosDriver::RedisMoto => "redis+moto",
            ChaosDriver::RedisMongo => "redis+mongodb",
        }
    }

    /// Whether its servers can be started here.
    ///
    /// # Errors
    /// The first missing program or variable, with how to get it.
    pub fn needs(self) -> Result<(), String> {
        redis_server()?;
        match self {
            ChaosDriver::Redis => Ok(()),
            ChaosDriver::RedisDynalite => {
                servers::dynalite()?;
                endpoint(vars::AWS_KEY).map(drop)
            }
            ChaosDriver::RedisMoto => {
                servers::moto_server()?;
                endpoint(vars::AWS_KEY).map(drop)
            }
            ChaosDriver::RedisMongo => servers::secantusd().map(drop),
        }
    }

    /// Start its servers in `scratch` and build its store over them.
    ///
    /// # Panics
    /// When a server does not start or its store cannot be built.
    pub async fn start(self, scratch: &Scratch) -> (Vec<Target>, Backend) {
        let ns = unique("chaos");
        if self == ChaosDriver::Redis {
            let redis = servers::redis(scratch, "redis", true).await;
            let backend = Backend::redis(&url(&redis), &ns, None);
            let target = Target {
                name: "redis (whole store, AOF)",
                ready: Some(redis_ready(&redis)),
                server: redis,
                killable: true,
            };
            return (vec![target], backend);
        }
        let cache = servers::redis(scratch, "redis-cache", false).await;
        let cache_url = url(&cache);
        let cache = Target {
            name: "redis (cache)",
            ready: Some(redis_ready(&cache)),
            server: cache,
            killable: true,
        };
        let (durable, backend) = match self {
            ChaosDriver::RedisDynalite | ChaosDriver::RedisMoto => {
                let (server, name, killable) = if self == ChaosDriver::RedisMoto {
                    (servers::moto(scratch).await, "moto (memory)", false)
                } else {
                    (
                        servers::dynalite_server(scratch).await,
                        "dynalite (LevelDB)",
                        true,
                    )
                };
                let endpoint = format!("http://127.0.0.1:{}", server.port);
                let durable = retry(|| backend::dynamodb(&endpoint, &ns, None)).await;
                let target = Target {
                    name,
                    server,
                    killable,
                    ready: None,
                };
                (
                    target,
                    Backend::redis_over_dynamodb(&cache_url, &ns, durable, None),
                )
            }
            _ => {
                let server = servers::secantus(scratch).await;
                let uri = format!("mongodb://127.0.0.1:{}/?directConnection=true", server.port);
                let durable = retry(|| backend::mongodb(&uri, &ns, None)).await;
                let probe = durable.clone();
                let ready: Ready = Arc::new(move || {
                    let probe = probe.clone();
                    Box::pin(async move { probe.ping().await.is_ok() })
                });
                let target = Target {
                    name: "secantusdb (WiredTiger)",
                    server,
                    killable: true,
                    ready: Some(ready),
                };
                (
                    target,
                    Backend::redis_over_mongodb(&cache_url, &ns, durable, None),
                )
            }
        };
        (vec![cache, durable], backend)
    }
}

fn url(redis: &Server) -> String {
    format!("redis://127.0.0.1:{}", redis.port)
}

/// Redis serves keys again: it answers a key command (not `-LOADING`, as
/// while it replays its AOF after a restart; `PING` is answered even then).
fn redis_ready(redis: &Server) -> Ready {
    let probe = Arc::new(
        RedisCache::standalone(url(redis))
            .build()
            .expect("a probe connection"),
    );
    Arc::new(move || {
        let probe = probe.clone();
        Box::pin(async move {
            let exists = redis::cmd("EXISTS")
                .arg("tiered-sessions-load-probe")
                .clone();
            probe.query::<i64>(&exists).await.is_ok()
        })
    })
}

/// Build a durable tier on a server that listens but may not serve yet.
async fn retry<T, F, Fut>(build: F) -> T
where
    F: Fn() -> Fut,
    Fut: Future<Output = tiered_sessions::Result<T>>,
{
    let mut last = None;
    for _ in 0..120 {
        match build().await {
            Ok(store) => return store,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the durable tier never served: {last:?}");
}
