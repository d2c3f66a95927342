//! A private `redis-server`, run as a child process on a Unix socket in a data directory.
//! `stockwatch serve` uses it when no `REDIS_URL` is given, and the tests use it (without
//! persistence, in a temp dir) so they always run against a real server.

use crate::{ManagedError, io};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How the managed server persists writes. See RELIABILITY.md for what each
/// promises about acknowledged orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Persistence {
    /// AOF, fsync before every reply: an acknowledged order survives kill -9 and power loss.
    Always,
    /// AOF, fsync once a second: survives a crash of Redis, may lose ~1 s on power loss.
    Everysec,
    /// No persistence at all (tests).
    None,
}

/// A running child `redis-server`. Dropping it kills the child; prefer [`ManagedRedis::shutdown`].
#[derive(Debug)]
pub struct ManagedRedis {
    child: Option<Child>,
    dir: PathBuf,
    socket: PathBuf,
}

/// The server binary a managed server runs: `STOCKWATCH_REDIS_SERVER` when set (a path, or
/// a name on PATH, such as `valkey-server`), else `redis-server`. The test suite runs its
/// server matrix through it (`scripts/test.sh`).
pub fn server_binary() -> String {
    std::env::var("STOCKWATCH_REDIS_SERVER")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "redis-server".into())
}

/// Why `redis-server` did not start, with the install hint when it is missing.
pub(crate) fn spawn_error(e: std::io::Error) -> ManagedError {
    match e.kind() {
        std::io::ErrorKind::NotFound => ManagedError::NotInstalled(INSTALL_HINT),
        _ => io("cannot start redis-server")(e),
    }
}

/// The one line shown when the server binary is missing.
pub const INSTALL_HINT: &str = "redis-server was not found on PATH: install it (Debian/Ubuntu: `sudo apt-get install -y redis-server`) or set REDIS_URL to an existing Redis";

impl ManagedRedis {
    /// `REDIS_URL` when set, else a private throwaway server in `dir` (no persistence):
    /// what the examples and one-off tools want. Keep the returned server alive while used.
    pub async fn from_env_or_start(dir: &Path) -> Result<(String, Option<Self>), ManagedError> {
        match std::env::var("REDIS_URL") {
            Ok(url) => Ok((url, None)),
            Err(_) => {
                let managed = Self::start(dir, Persistence::None).await?;
                Ok((managed.url(), Some(managed)))
            }
        }
    }

    /// Starts `redis-server` with its data, socket and log in `dir` (created if needed), and
    /// waits until it answers PING (AOF loading included).
    pub async fn start(dir: &Path, persistence: Persistence) -> Result<Self, ManagedError> {
        std::fs::create_dir_all(dir).map_err(io(format!("cannot create data dir {}", dir.display())))?;
        let dir = dir.canonicalize().map_err(io(format!("data dir {}", dir.display())))?;
        let socket = dir.join("redis.sock");
        if socket.as_os_str().len() > 100 {
            return Err(format!(
                "data dir path {} is too long for a Unix socket; use a shorter --data-dir",
                dir.display()
            )
            .into());
        }
        if socket.exists() {
            if ping(&socket).await.is_ok() {
                return Err(format!(
                    "a redis-server is already running on {}; stop it, or point REDIS_URL at it",
                    socket.display()
                )
                .into());
            }
            let _ = std::fs::remove_file(&socket);
        }
        let mut cmd = Command::new(server_binary());
        cmd.arg("--port")
            .arg("0")
            .arg("--unixsocket")
            .arg(&socket)
            .arg("--unixsocketperm")
            .arg("700")
            .arg("--dir")
            .arg(&dir)
            .arg("--logfile")
            .arg("redis.log")
            .arg("--daemonize")
            .arg("no")
            .arg("--save")
            .arg("");
        match persistence {
            Persistence::None => cmd.args(["--appendonly", "no"]),
            Persistence::Always => cmd.args(["--appendonly", "yes", "--appendfsync", "always"]),
            Persistence::Everysec => cmd.args(["--appendonly", "yes", "--appendfsync", "everysec"]),
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_error)?;
        let mut me = Self {
            child: Some(child),
            dir,
            socket,
        };
        me.wait_ready().await?;
        Ok(me)
    }

    async fn wait_ready(&mut self) -> Result<(), ManagedError> {
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                let log = std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default();
                let tail: Vec<_> = log.lines().rev().take(5).collect();
                return Err(format!(
                    "redis-server exited ({status}) before it was ready: {}",
                    tail.join(" | ")
                )
                .into());
            }
            if ping(&self.socket).await.is_ok() {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(60) {
                return Err("redis-server did not become ready within 60 s".into());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The URL of a managed server already answering in `dir` (e.g. the one `serve` runs),
    /// so that `verify` and `expiry-worker` can join it instead of starting another.
    pub async fn running_in(dir: &Path) -> Option<String> {
        let socket = dir.canonicalize().ok()?.join("redis.sock");
        ping(&socket).await.ok()?;
        Some(format!("redis+unix://{}", socket.display()))
    }

    /// The URL to connect to it.
    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket.display())
    }

    /// The directory holding its data, socket and log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The child's process id, for fault tests that signal it.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops it gracefully (SHUTDOWN lets it flush the AOF), killing it if it will not go.
    pub async fn shutdown(mut self) {
        if let Ok(client) = redis::Client::open(self.url())
            && let Ok(Ok(mut conn)) =
                tokio::time::timeout(Duration::from_secs(2), client.get_multiplexed_async_connection()).await
        {
            // The server closes the connection instead of replying; the error is expected.
            let _ = tokio::time::timeout(Duration::from_secs(5), redis::cmd("SHUTDOWN").exec_async(&mut conn)).await;
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if self
                .child
                .as_mut()
                .is_none_or(|c| c.try_wait().ok().flatten().is_some())
            {
                self.child = None;
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tracing::warn!("redis-server did not stop after SHUTDOWN; killing it");
    }
}

impl Drop for ManagedRedis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn ping(socket: &Path) -> Result<(), redis::RedisError> {
    let client = redis::Client::open(format!("redis+unix://{}", socket.display()))?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    redis::cmd("PING").query_async::<String>(&mut conn).await.map(drop)
}
