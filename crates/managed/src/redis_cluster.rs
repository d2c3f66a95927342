//! A private Redis Cluster: N masters from Debian's `redis-server` on loopback, joined with
//! `redis-cli --cluster create`. `stockwatch cluster` (and `scripts/cluster.sh`) runs one for
//! users; the tests run one in a temp dir. Each node's bus port is its port + 10000.

use crate::redis_server::spawn_error;
use crate::{ManagedError, io};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running cluster. Dropping it kills every node.
#[derive(Debug)]
pub struct ManagedCluster {
    nodes: Vec<Node>,
}

#[derive(Debug)]
struct Node {
    port: u16,
    child: Option<Child>,
}

impl ManagedCluster {
    /// Starts `masters` nodes (at least 3, as Redis Cluster requires) with data in
    /// `dir/<port>`, on `first_port`, `first_port + 1`, … or on free ports when `None`, then
    /// creates the cluster and waits until every node says `cluster_state:ok`.
    pub async fn start(dir: &Path, masters: usize, first_port: Option<u16>) -> Result<Self, ManagedError> {
        Self::start_with_replicas(dir, masters, 0, first_port).await
    }

    /// [`ManagedCluster::start`], with `replicas` replicas of each master (so a master can
    /// fail over). Waits until every replica's link to its master is up.
    pub async fn start_with_replicas(
        dir: &Path,
        masters: usize,
        replicas: usize,
        first_port: Option<u16>,
    ) -> Result<Self, ManagedError> {
        if masters < 3 {
            return Err("a Redis Cluster needs at least 3 masters".into());
        }
        let count = masters * (1 + replicas);
        let ports = match first_port {
            Some(p)
                if let Some(end) = u16::try_from(count)
                    .ok()
                    .and_then(|n| p.checked_add(n))
                    .filter(|end| u32::from(*end) + 10_000 <= 65_536) =>
            {
                (p..end).collect()
            }
            Some(p) => return Err(format!("port {p}: the bus ports (port + 10000) must stay below 65536").into()),
            None => free_ports(count)?,
        };
        let mut cluster = Self { nodes: Vec::new() };
        for port in ports {
            let node_dir = dir.join(port.to_string());
            std::fs::create_dir_all(&node_dir).map_err(io(format!("{}", node_dir.display())))?;
            let child = Command::new(crate::redis_server::server_binary())
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"])
                .args(["--cluster-node-timeout", "2000", "--appendonly", "no", "--save", ""])
                // A replica's first sync starts at once instead of after Redis's 5 s wait.
                .args(["--repl-diskless-sync-delay", "0"])
                .args(["--logfile", "redis.log", "--daemonize", "no"])
                .arg("--dir")
                .arg(&node_dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(spawn_error)?;
            cluster.nodes.push(Node {
                port,
                child: Some(child),
            });
        }
        for node in &cluster.nodes {
            wait_for(node.port, |info| !info.is_empty(), "answer").await?;
        }
        let addrs: Vec<String> = cluster.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
        let created = tokio::process::Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(io("redis-cli --cluster create"))?;
        if !created.status.success() {
            return Err(format!(
                "redis-cli --cluster create failed: {}",
                String::from_utf8_lossy(&created.stdout)
            )
            .into());
        }
        for node in &cluster.nodes {
            wait_for(
                node.port,
                |info| info.contains("cluster_state:ok"),
                "report cluster_state:ok",
            )
            .await?;
        }
        // Every master with its replicas online, every replica done with its first sync: a
        // replica promoted in the middle of that sync would come up empty.
        for node in &cluster.nodes {
            wait_for_info(node.port, "replication", |info| {
                let online = info.matches("state=online").count();
                (info.contains("role:master") && online == replicas)
                    || (info.contains("role:slave")
                        && info.contains("master_link_status:up")
                        && info.contains("master_sync_in_progress:0"))
            })
            .await?;
        }
        Ok(cluster)
    }

    /// Kills the node on `port` with SIGKILL (a crash: nothing flushed, no goodbye).
    pub fn kill(&mut self, port: u16) {
        if let Some(mut child) = self
            .nodes
            .iter_mut()
            .find(|n| n.port == port)
            .and_then(|n| n.child.take())
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The seed URLs, for `REDIS_CLUSTER_NODES`.
    pub fn seeds(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}", n.port))
            .collect()
    }

    /// Each node's port.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// The node directory under `dir` of the node on `port`.
    pub fn node_dir(dir: &Path, port: u16) -> PathBuf {
        dir.join(port.to_string())
    }

    /// Stops every node.
    pub fn stop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl Drop for ManagedCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `count` ports that are free now, each with its bus port (port + 10000) free too.
fn free_ports(count: usize) -> Result<Vec<u16>, ManagedError> {
    // Node ports from 10000 and their bus ports (+10000) from 20000, so one cluster's node
    // can never take another's bus port, and both stay below Linux's ephemeral ports (32768
    // up): an outgoing connection made between this check and the node's bind (the tests
    // make thousands) cannot take a bus port. No port handed out in this process is handed
    // out again, so clusters started at once (tests run in parallel) cannot pick the same
    // free port before either binds it.
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut ports = Vec::new();
    for _ in 0..400 {
        let port = rand::random_range(10_000..20_000u16);
        let free = |p: u16| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
        if !ports.contains(&port) && !given.contains(&port) && free(port) && free(port + 10_000) {
            ports.push(port);
            if ports.len() == count {
                given.extend(&ports);
                return Ok(ports);
            }
        }
    }
    Err("no free ports for the cluster".into())
}

/// Polls `CLUSTER INFO` on a node until `ready` accepts it (30 s at most).
async fn wait_for(port: u16, ready: impl Fn(&str) -> bool, what: &str) -> Result<(), ManagedError> {
    poll(port, redis::cmd("CLUSTER").arg("INFO").to_owned(), ready, what).await
}

/// Polls `INFO section` on a node until `ready` accepts it (30 s at most).
async fn wait_for_info(port: u16, section: &str, ready: impl Fn(&str) -> bool) -> Result<(), ManagedError> {
    let what = format!("report a ready INFO {section}");
    poll(port, redis::cmd("INFO").arg(section).to_owned(), ready, &what).await
}

async fn poll(port: u16, cmd: redis::Cmd, ready: impl Fn(&str) -> bool, what: &str) -> Result<(), ManagedError> {
    let started = std::time::Instant::now();
    loop {
        let info = async {
            let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).ok()?;
            let mut conn = tokio::time::timeout(Duration::from_secs(1), client.get_multiplexed_async_connection())
                .await
                .ok()?
                .ok()?;
            cmd.query_async::<String>(&mut conn).await.ok()
        };
        if let Some(info) = info.await
            && ready(&info)
        {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(30) {
            return Err(format!("cluster node on port {port} did not {what} within 30 s").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
