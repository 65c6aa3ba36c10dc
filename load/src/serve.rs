//! [`Served`]: the app on a real TCP listener on 127.0.0.1, in this process.

use std::net::SocketAddr;

use std::sync::Arc;

use axum::Router;
use tiered_sessions::{Metrics, SessionStore};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// An app served over HTTP/1.1 on a port of its own; stopped when dropped.
#[derive(Debug)]
pub struct Served {
    /// Where it listens.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Served {
    /// Serve `app` on a free port of 127.0.0.1.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(app: Router) -> std::io::Result<Served> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("load harness server stopped: {e}");
            }
        });
        Ok(Served { addr, task })
    }

    /// Serve the harness app ([`crate::app::router`]) over `store`.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn app(
        store: Arc<dyn SessionStore>,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Served> {
        Served::start(crate::app::router(crate::app::manager(store, metrics))).await
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}
