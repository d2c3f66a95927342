//! `stockwatch keys`: client API keys, made and revoked straight in Redis.

use super::connect;
use std::process::ExitCode;
use stockwatch::access;
use stockwatch::config::{KeysAction, KeysArgs};

pub async fn keys(args: KeysArgs) -> ExitCode {
    match run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("stockwatch keys: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: KeysArgs) -> Result<ExitCode, String> {
    let redis = args.action.redis();
    let (store, managed) = connect(redis, redis.store_config(), true).await?;
    let result = act(&store, args.action).await;
    if let Some(m) = managed {
        m.shutdown().await;
    }
    result
}

async fn act(store: &stockwatch::Store, action: KeysAction) -> Result<ExitCode, String> {
    match action {
        KeysAction::Create { scope, name, .. } => {
            let (key, info) = access::create(store, &name, scope).await.map_err(|e| e.to_string())?;
            // The key alone on stdout, so `KEY=$(stockwatch keys create …)` works.
            eprintln!(
                "made key {} ({}) with scopes {}; it is shown only now",
                info.id, info.name, info.scopes
            );
            println!("{}", key.reveal());
            Ok(ExitCode::SUCCESS)
        }
        KeysAction::List { json, .. } => {
            let keys = access::list(store).await.map_err(|e| e.to_string())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&keys).expect("key lists serialize"));
            } else {
                println!("{:<16}  {:<20}  {:<20}  created", "id", "scopes", "name");
                for k in &keys {
                    let created = humantime::format_rfc3339_seconds(
                        std::time::UNIX_EPOCH
                            + std::time::Duration::from_millis(stockwatch::convert::u64_of(k.created_at)),
                    );
                    println!("{:<16}  {:<20}  {:<20}  {created}", k.id, k.scopes.to_string(), k.name);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        KeysAction::Revoke { id, .. } => {
            if access::revoke(store, &id).await.map_err(|e| e.to_string())? {
                eprintln!("revoked key {id}; servers refuse it within 5 seconds");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("stockwatch keys: no key {id}");
                Ok(ExitCode::from(1))
            }
        }
    }
}
