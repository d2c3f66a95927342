//! A private PostgreSQL from Debian's packages, for the tests and for trying the ledger
//! (`scripts/postgres.sh`): `initdb` in a directory, `pg_ctl` on a loopback port, trust
//! authentication on loopback only. PostgreSQL refuses to run as root, so as root it runs
//! as the `postgres` user, which owns the directory. Dropping it stops the server.

use crate::{ManagedError, io};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A running PostgreSQL.
#[derive(Debug)]
pub struct ManagedPostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    running: bool,
}

impl ManagedPostgres {
    /// Initializes `dir/data` (when new) and starts the server on `port` (a free one when
    /// `None`). Durability is off (`fsync`, `synchronous_commit`): this is for tests and
    /// trials, where a machine crash loses nothing that matters.
    pub fn start(dir: &Path, port: Option<u16>) -> Result<Self, ManagedError> {
        let bin = bin_dir()?;
        std::fs::create_dir_all(dir).map_err(io(format!("{}", dir.display())))?;
        let data = dir.join("data");
        as_owner(dir)?;
        if !data.join("PG_VERSION").exists() {
            run(Command::new(bin.join("initdb")).arg("-D").arg(&data).args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]))?;
        }
        let port = match port {
            Some(p) => p,
            None => free_port()?,
        };
        let mut pg = Self {
            bin,
            data,
            port,
            running: false,
        };
        pg.start_again()?;
        Ok(pg)
    }

    /// Starts the server again after [`ManagedPostgres::stop`], on the same port and data.
    pub fn start_again(&mut self) -> Result<(), ManagedError> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            self.port,
            self.data.display()
        );
        run(Command::new(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.data.join("server.log"))
            .args(["-o", &options, "-w", "-t", "60", "start"]))?;
        self.running = true;
        Ok(())
    }

    /// Stops the server at once (`-m immediate`: like a crash; it recovers on start).
    pub fn stop(&mut self) {
        if self.running {
            let _ = run(Command::new(self.bin.join("pg_ctl")).arg("-D").arg(&self.data).args([
                "-m",
                "immediate",
                "-w",
                "stop",
            ]));
            self.running = false;
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `name` (created by [`ManagedPostgres::create_database`]).
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates a database, so each test gets books of its own.
    pub fn create_database(&self, name: &str) -> Result<String, ManagedError> {
        run(Command::new(self.bin.join("createdb")).args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
            name,
        ]))?;
        Ok(self.url(name))
    }
}

impl Drop for ManagedPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Where Debian keeps the server binaries (`/usr/lib/postgresql/<version>/bin`, newest
/// first), or wherever `pg_ctl` is on PATH.
fn bin_dir() -> Result<PathBuf, ManagedError> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("pg_ctl").exists())
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| dir.join("pg_ctl").exists())
        .ok_or_else(|| "PostgreSQL's server is not installed (Debian: apt-get install postgresql)".into())
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// As root, gives `dir` to the `postgres` user, who runs everything here.
fn as_owner(dir: &Path) -> Result<(), ManagedError> {
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir)
            .status()
            .map_err(io("chown"))?;
        if !status.success() {
            return Err(format!("chown postgres {}: {status}", dir.display()).into());
        }
    }
    Ok(())
}

/// Runs a PostgreSQL tool (as `postgres` when we are root) and waits for it.
fn run(cmd: &mut Command) -> Result<(), ManagedError> {
    let mut cmd = if is_root() {
        let mut wrapped = Command::new("runuser");
        wrapped
            .args(["-u", "postgres", "--"])
            .arg(cmd.get_program())
            .args(cmd.get_args());
        wrapped
    } else {
        std::mem::replace(cmd, Command::new("true"))
    };
    let out = cmd
        .current_dir("/")
        .stdin(Stdio::null())
        .output()
        .map_err(io(format!("{:?}", cmd.get_program())))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?} failed: {}{}",
            cmd.get_program(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into())
    }
}

fn free_port() -> Result<u16, ManagedError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(io("a free port"))?;
    listener.local_addr().map(|a| a.port()).map_err(io("a free port"))
}
