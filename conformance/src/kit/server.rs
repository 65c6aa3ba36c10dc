//! [`Server`]: a server process a test starts, pauses, kills and restarts
//! itself, on a port of its own, so the shared services of the repository's
//! `scripts/services` are never disturbed.

use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `redis-server` from `TS_REDIS_SERVER` or the `PATH`.
///
/// # Errors
/// Why it cannot be found (a message for the test's skip reason).
pub fn redis_server() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("TS_REDIS_SERVER") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("TS_REDIS_SERVER={} is not a file", p.display()))
        };
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("redis-server"))
        .find(|p| p.is_file())
        .ok_or_else(|| "no redis-server on the PATH (apt-get install redis-server)".to_owned())
}

/// A free port on 127.0.0.1 (free when asked; a server started right after
/// takes it).
///
/// # Errors
/// When no socket can be bound.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One server process in a process group of its own, killed by that group's
/// id (never by name), also when the test panics.
pub struct Server {
    program: PathBuf,
    args: Vec<String>,
    log: PathBuf,
    /// The port it listens on.
    pub port: u16,
    child: Option<Child>,
}

impl Server {
    /// Start `program args…`, logging to `log`, and wait until `port` accepts
    /// connections.
    ///
    /// # Panics
    /// When the program does not start or does not listen within a minute
    /// (a test helper: the test fails with the reason).
    pub async fn start(program: PathBuf, args: Vec<String>, port: u16, log: PathBuf) -> Self {
        let mut server = Server {
            program,
            args,
            log,
            port,
            child: None,
        };
        server.restart().await;
        server
    }

    /// A `redis-server` of the test's own ([`redis_server`]) on a free port
    /// of 127.0.0.1, keeping nothing on disk, with `extra` arguments after
    /// those, logging to `log`.
    ///
    /// # Panics
    /// When there is no `redis-server` or no free port (check
    /// [`redis_server`] first to skip instead), and as [`Server::start`].
    pub async fn redis(extra: &[&str], log: PathBuf) -> Self {
        let program = redis_server().unwrap_or_else(|e| panic!("{e}"));
        let port = free_port().expect("a free port");
        let port_text = port.to_string();
        let args = [
            "--port",
            &port_text,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        .iter()
        .chain(extra)
        .map(|a| (*a).to_owned())
        .collect();
        Server::start(program, args, port, log).await
    }

    /// Start it again with the same arguments (after [`Server::kill`]).
    ///
    /// # Panics
    /// As [`Server::start`].
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "restart of a running server");
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("server log file");
        let child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.program.display()));
        self.child = Some(child);
        self.wait_for_port().await;
    }

    async fn wait_for_port(&mut self) {
        for _ in 0..600 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "{} exited with {status} before listening; see {}",
                    self.program.display(),
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{} did not listen on {} within a minute; see {}",
            self.program.display(),
            self.port,
            self.log.display()
        );
    }

    /// SIGSTOP the server's process group: it keeps its connections and its
    /// data but answers nothing, like a host that stopped responding.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT after [`Server::pause`]: it answers again, with its old data.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("a running server");
        let status = Command::new("kill")
            .args([signal, "--", &format!("-{}", child.id())])
            .status()
            .expect("kill(1)");
        assert!(status.success(), "kill {signal} failed");
    }

    /// SIGKILL the server's process group and reap it: a crash, not a shutdown.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill")
                .args(["-KILL", "--", &group])
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A paused server must be able to die too.
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .args(["-CONT", "--", &format!("-{}", child.id())])
                .stderr(Stdio::null())
                .status();
        }
        self.kill();
    }
}
