//! `stockwatch serve` and `stockwatch expiry-worker`: the long-running processes.

use super::{connect, shutdown_signal};
use stockwatch::StoreConfig;
use stockwatch::config::{ServeArgs, WorkerArgs};
use stockwatch::startup::{Application, HttpSettings};

pub async fn serve(args: ServeArgs) -> Result<(), String> {
    let shutdown = shutdown_signal()?;
    let config = args.store_config()?;
    let http = HttpSettings {
        bind: args.bind.clone(),
        admin_token: args.admin_token.clone(),
        require_keys: args.require_keys,
        allow_broken: args.allow_broken,
        workers: args.workers,
        lanes: args.lanes,
        otlp_endpoint: args.otlp_endpoint.clone(),
        expiry: args.expiry_config(),
        ledger_url: args.redis.ledger_url.clone(),
        projector: match &args.redis.ledger_url {
            Some(url) if args.ledger.on() => Some(args.ledger.config(url)?),
            _ => None,
        },
        webhooks: args.webhooks.config()?,
        admission_secret: args.admission_secret.clone(),
    };
    // A refused bind (e.g. public without a token) stops the managed redis-server again.
    let (store, managed) = connect(&args.redis, config, false).await?;
    let app = match Application::build(http, store) {
        Ok(app) => app,
        Err(e) => {
            if let Some(m) = managed {
                m.shutdown().await;
            }
            return Err(e.to_string());
        }
    };
    tracing::info!(bind = %args.bind, port = app.port(), allow_broken = args.allow_broken, admin_token = args.admin_token.is_some(), require_keys = args.require_keys, ledger = args.redis.ledger_url.is_some(), "stockwatch is serving");
    let result = app.run_until_stopped(shutdown).await;
    if let Some(m) = managed {
        m.shutdown().await;
        tracing::info!("managed redis-server stopped");
    }
    result.map_err(|e| e.to_string())
}

pub async fn expiry_worker(args: WorkerArgs) -> Result<(), String> {
    let shutdown = shutdown_signal()?;
    let config = StoreConfig {
        retry: args.retry.policy()?,
        retry_budget: args.retry.budget(),
        ..args.redis.store_config()
    };
    let (store, managed) = connect(&args.redis, config, true).await?;
    stockwatch::expiry::run(store, args.expiry.config(), shutdown).await;
    if let Some(m) = managed {
        m.shutdown().await;
    }
    Ok(())
}
