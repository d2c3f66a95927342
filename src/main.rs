//! The `stockwatch` command line.

use clap::Parser;
use std::process::ExitCode;
use stockwatch::config::{Cli, Command, RedisArgs, ServeArgs};
use stockwatch::managed_redis::ManagedRedis;
use stockwatch::startup::{Application, HttpSettings};
use stockwatch::{Store, StoreConfig, telemetry};

/// Oldest Redis with everything we rely on (e.g. EXEC aborting on expired watched keys).
const MIN_REDIS: (u32, u32, u32) = (6, 2, 0);

#[actix_web::main]
async fn main() -> ExitCode {
    telemetry::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stockwatch: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Connects to `REDIS_URL`, or starts the managed redis-server; returns the store and the
/// managed server (to stop at the end) if there is one.
async fn connect(redis: &RedisArgs, config: StoreConfig) -> Result<(Store, Option<ManagedRedis>), String> {
    let (url, managed) = match &redis.redis_url {
        Some(url) => (url.clone(), None),
        None => {
            let managed = ManagedRedis::start(&redis.data_dir, redis.appendfsync).await?;
            tracing::info!(dir = %managed.dir().display(), appendfsync = ?redis.appendfsync, "started managed redis-server");
            (managed.url(), Some(managed))
        }
    };
    let store = Store::new(&url, config)?;
    match store.server_version().await {
        Ok(v) if v < MIN_REDIS => {
            return Err(format!(
                "Redis {}.{}.{} is too old: stockwatch needs 6.2 or newer",
                v.0, v.1, v.2
            ));
        }
        Ok(v) => tracing::info!(version = %format!("{}.{}.{}", v.0, v.1, v.2), "redis is reachable"),
        Err(e) => tracing::warn!(error = %e, "redis is not reachable yet; /readyz will say when it is"),
    }
    Ok((store, managed))
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let shutdown = shutdown_signal()?;
    let config = args.store_config()?;
    let http = HttpSettings {
        bind: args.bind.clone(),
        admin_token: args.admin_token.clone(),
        allow_broken: args.allow_broken,
        workers: args.workers,
    };
    // A refused bind (e.g. public without a token) stops the managed redis-server again.
    let (store, managed) = connect(&args.redis, config).await?;
    let app = match Application::build(http, store) {
        Ok(app) => app,
        Err(e) => {
            if let Some(m) = managed {
                m.shutdown().await;
            }
            return Err(e);
        }
    };
    tracing::info!(bind = %args.bind, port = app.port(), allow_broken = args.allow_broken, admin_token = args.admin_token.is_some(), "stockwatch is serving");
    let result = app.run_until_stopped(shutdown).await;
    if let Some(m) = managed {
        m.shutdown().await;
        tracing::info!("managed redis-server stopped");
    }
    result.map_err(|e| e.to_string())
}

/// Installs SIGINT/SIGTERM handlers now (not when first polled, so a signal during startup
/// is not fatal and cannot orphan the managed redis-server) and completes on either.
fn shutdown_signal() -> Result<impl Future<Output = ()>, String> {
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
