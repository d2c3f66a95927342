//! The subcommands' bodies, one file each, and what they share: finding or starting Redis,
//! and waiting for a stop signal.

#[cfg(feature = "tools")]
pub mod bench;
pub mod catalog;
#[cfg(feature = "tools")]
pub mod demo;
pub mod keys;
pub mod ledger;
pub mod serve;
#[cfg(feature = "tools")]
pub mod soak;
pub mod verify;

use secrecy::ExposeSecret;
use stockwatch::config::RedisArgs;
use stockwatch::managed::redis_server::ManagedRedis;
use stockwatch::ops::Inventory;
use stockwatch::store::Target;
use stockwatch::{Store, StoreConfig};

/// Oldest Redis with everything we rely on: `SET … NX GET` (the idempotency claim) and
/// `SPUBLISH` (the cluster's stock feed) arrived in 7.0; EXEC aborting on expired watched
/// keys in 6.2. Valkey reports a compatible `redis_version` (7.2 for Valkey 8 and 9).
pub const MIN_REDIS: (u32, u32, u32) = (7, 0, 0);

/// Connects to `REDIS_URL`, or starts the managed redis-server; returns the process's one
/// inventory (the store and the operations' state) and the
/// managed server (to stop at the end) if there is one. With `join`, a managed server that
/// is already running in the data dir (a `serve`'s) is used instead of starting one.
pub async fn connect(
    redis: &RedisArgs,
    config: StoreConfig,
    join: bool,
) -> Result<(Inventory, Option<ManagedRedis>), String> {
    let (target, managed) = redis_target(redis, join).await?;
    let store = Store::connect(&target, config).map_err(|e| e.to_string())?;
    match store.server_version().await {
        Ok(v) if v < MIN_REDIS => {
            return Err(format!(
                "Redis {}.{}.{} is too old: stockwatch needs Redis {}.{} or newer (or Valkey 7.2 or newer)",
                v.0, v.1, v.2, MIN_REDIS.0, MIN_REDIS.1
            ));
        }
        Ok(v) => tracing::info!(version = %format!("{}.{}.{}", v.0, v.1, v.2), "redis is reachable"),
        Err(e) => tracing::warn!(error = %e, "redis is not reachable yet; /readyz will say when it is"),
    }
    Ok((Inventory::new(store), managed))
}

/// `REDIS_CLUSTER_NODES` or `REDIS_URL`; else, with `join`, a managed server already running
/// in the data dir; else a managed server started now (returned, to stop at the end).
pub async fn redis_target(redis: &RedisArgs, join: bool) -> Result<(Target, Option<ManagedRedis>), String> {
    let seeds: Vec<String> = redis
        .redis_cluster_nodes
        .iter()
        .map(|s| s.expose_secret().trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if !seeds.is_empty() {
        return Ok((Target::Cluster(seeds), None));
    }
    let running = match (&redis.redis_url, join) {
        (None, true) => ManagedRedis::running_in(&redis.data_dir).await,
        _ => None,
    };
    let (url, managed) = match (&redis.redis_url, running) {
        (Some(url), _) => (url.expose_secret().to_owned(), None),
        (None, Some(url)) => (url, None),
        (None, None) => {
            let managed = ManagedRedis::start(&redis.data_dir, redis.appendfsync)
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(dir = %managed.dir().display(), appendfsync = ?redis.appendfsync, "started managed redis-server");
            (managed.url(), Some(managed))
        }
    };
    Ok((Target::Single(url), managed))
}

/// Installs SIGINT/SIGTERM handlers now (not when first polled, so a signal during startup
/// is not fatal and cannot orphan the managed redis-server) and completes on either.
pub fn shutdown_signal() -> Result<impl Future<Output = ()>, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM handler: {e}"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT handler: {e}"))?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
