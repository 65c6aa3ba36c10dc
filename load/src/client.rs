//! [`Client`]: one browser — a hyper HTTP/1.1 connection of its own over TCP
//! and a cookie jar (the conformance kit's [`Jar`]).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::header::{COOKIE, HOST};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tiered_sessions_conformance::kit::Jar;
use tokio::net::TcpStream;

/// How long one request may take before it counts as hung: a liveness bound
/// far above every backend deadline, not a performance threshold.
pub const HANG: Duration = Duration::from_secs(60);

/// What a request got back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The body, as text.
    pub body: String,
}

/// A browser on one keep-alive connection; it reconnects (before sending,
/// never by resending) when the server closed the connection.
#[derive(Debug)]
pub struct Client {
    addr: SocketAddr,
    jar: Jar,
    conn: Option<SendRequest<Full<Bytes>>>,
}

impl Client {
    /// A browser with an empty jar, for the app at `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Client {
            addr,
            jar: Jar::new(),
            conn: None,
        }
    }

    /// Its cookies.
    pub fn jar(&self) -> &Jar {
        &self.jar
    }

    /// Replace its cookies (to share a session, or to replay an old cookie).
    pub fn set_jar(&mut self, jar: Jar) {
        self.jar = jar;
    }

    /// Send one request with the jar's cookies and keep what the response sets.
    ///
    /// # Errors
    /// A connection or protocol failure, or no answer within [`HANG`]: the
    /// harness counts each as a failure of the run, never as a status.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<Reply, String> {
        match tokio::time::timeout(HANG, self.exchange(method.clone(), path, body)).await {
            Ok(reply) => reply,
            Err(_) => {
                self.conn = None;
                Err(format!("{method} {path} hung for {HANG:?}"))
            }
        }
    }

    async fn connection(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, String> {
        let alive = match self.conn.as_mut() {
            Some(conn) => conn.ready().await.is_ok(),
            None => false,
        };
        if !alive {
            let stream = TcpStream::connect(self.addr)
                .await
                .map_err(|e| format!("connect to {}: {e}", self.addr))?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            let (sender, conn) = http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| format!("HTTP/1.1 handshake: {e}"))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.conn = Some(sender);
        }
        self.conn.as_mut().ok_or_else(|| "no connection".to_owned())
    }

    async fn exchange(
        &mut self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<Reply, String> {
        let mut req = Request::builder()
            .method(&method)
            .uri(path)
            .header(HOST, self.addr.to_string());
        if let Some(cookie) = self.jar.header() {
            req = req.header(COOKIE, cookie);
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| format!("request: {e}"))?;
        let sent = self.connection().await?.send_request(req).await;
        let res = match sent {
            Ok(res) => res,
            Err(e) => {
                self.conn = None;
                return Err(format!("{method} {path}: {e}"));
            }
        };
        self.jar.update_from_headers(res.headers());
        let status = res.status();
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("{method} {path} body: {e}"))?
            .to_bytes();
        Ok(Reply {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}
