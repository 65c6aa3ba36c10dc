//! The private servers a chaos run starts, kills, pauses and restarts itself
//! (the conformance kit's [`Server`], on free ports, in a scratch directory),
//! so the shared services of `scripts/services` are never disturbed.
//!
//! | server | state | after SIGKILL |
//! | --- | --- | --- |
//! | Redis as the whole store | AOF, `appendfsync always` | every acknowledged write is back |
//! | Redis as a cache tier | none (`--save ""`, no AOF) | empty, as a lost cache node |
//! | dynalite (DynamoDB) | LevelDB under `--path` | every acknowledged write is back |
//! | SecantusDB (MongoDB) | WiredTiger under `--storage-path` | every acknowledged write is back |
//! | moto (DynamoDB) | memory only | everything lost: only ever paused |

use std::path::{Path, PathBuf};

use tiered_sessions_conformance::kit::{Server, free_port, redis_server, unique};

/// Where `scripts/services` installs its servers: `<workspace>/.services`.
fn services_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(".services")
}

/// The program `var` names, else `<workspace>/.services/<installed>`.
fn installed(var: &str, installed: &str, service: &str) -> Result<PathBuf, String> {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| services_dir().join(installed));
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "no {} at {} (run `scripts/services start {service}`, or set {var})",
            Path::new(installed)
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            path.display()
        ))
    }
}

/// `name` on the `PATH`.
fn on_path(name: &str) -> Result<PathBuf, String> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("no {name} on the PATH"))
}

/// dynalite's command line: `node` and its script.
///
/// # Errors
/// Why it cannot run here (a skip reason).
pub fn dynalite() -> Result<(PathBuf, PathBuf), String> {
    let script = installed(
        "TS_DYNALITE",
        "dynalite/node_modules/.bin/dynalite",
        "dynalite",
    )?;
    Ok((on_path("node")?, script))
}

/// SecantusDB's server.
///
/// # Errors
/// Why it cannot run here (a skip reason).
pub fn secantusd() -> Result<PathBuf, String> {
    installed("TS_SECANTUSD", "secantus/bin/secantusd-py", "mongo-rs")
}

/// moto's server, through `scripts/moto_server_atomic.py` (its conditional
/// writes made atomic, as DynamoDB's are).
///
/// # Errors
/// Why it cannot run here (a skip reason).
pub fn moto_server() -> Result<PathBuf, String> {
    installed("TS_MOTO_SERVER", "moto/bin/moto_server_atomic", "moto")
}

/// A scratch directory for servers' data and logs: removed when dropped,
/// kept (and named) when a test fails, for its logs.
#[derive(Debug)]
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// A new directory under the system's temporary directory.
    ///
    /// # Panics
    /// When it cannot be created.
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(unique(name));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        Scratch(dir)
    }

    fn sub(&self, name: &str) -> String {
        let dir = self.0.join(name);
        std::fs::create_dir_all(&dir).expect("a data directory");
        dir.display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept {} (server data and logs)", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

async fn start(
    program: PathBuf,
    args: &[&str],
    port: u16,
    scratch: &Scratch,
    name: &str,
) -> Server {
    let args = args.iter().map(|a| (*a).to_owned()).collect();
    Server::start(program, args, port, scratch.0.join(format!("{name}.log"))).await
}

/// A Redis of its own: `persistent` makes every acknowledged write survive a
/// SIGKILL (AOF, fsync before each reply), otherwise it keeps nothing.
///
/// # Panics
/// When it does not start (the test fails with its log's path).
pub async fn redis(scratch: &Scratch, name: &str, persistent: bool) -> Server {
    let port = free_port().expect("a free port");
    let dir = scratch.sub(name);
    let p = port.to_string();
    let mut args = vec![
        "--port",
        &p,
        "--bind",
        "127.0.0.1",
        "--dir",
        &dir,
        "--save",
        "",
    ];
    args.extend(if persistent {
        ["--appendonly", "yes", "--appendfsync", "always"]
    } else {
        ["--appendonly", "no", "--appendfsync", "no"]
    });
    let program = redis_server().expect("checked before the run");
    start(program, &args, port, scratch, name).await
}

/// dynalite with LevelDB storage in the scratch directory.
///
/// # Panics
/// When it does not start.
pub async fn dynalite_server(scratch: &Scratch) -> Server {
    let (node, script) = dynalite().expect("checked before the run");
    let port = free_port().expect("a free port");
    let (p, path, script) = (
        port.to_string(),
        scratch.sub("dynalite"),
        script.display().to_string(),
    );
    let args = [
        script.as_str(),
        "--host",
        "127.0.0.1",
        "--port",
        &p,
        "--path",
        &path,
        "--createTableMs",
        "0",
        "--deleteTableMs",
        "0",
        "--updateTableMs",
        "0",
    ];
    start(node, &args, port, scratch, "dynalite").await
}

/// moto, in memory (it can only be paused without losing data).
///
/// # Panics
/// When it does not start.
pub async fn moto(scratch: &Scratch) -> Server {
    let port = free_port().expect("a free port");
    let p = port.to_string();
    let program = moto_server().expect("checked before the run");
    start(
        program,
        &["-H", "127.0.0.1", "-p", &p],
        port,
        scratch,
        "moto",
    )
    .await
}

/// SecantusDB (a one-node replica set) with WiredTiger storage in the
/// scratch directory.
///
/// # Panics
/// When it does not start.
pub async fn secantus(scratch: &Scratch) -> Server {
    let port = free_port().expect("a free port");
    let (p, path) = (port.to_string(), scratch.sub("secantus"));
    let program = secantusd().expect("checked before the run");
    let args = ["--host", "127.0.0.1", "--port", &p, "--storage-path", &path];
    start(program, &args, port, scratch, "secantus").await
}
