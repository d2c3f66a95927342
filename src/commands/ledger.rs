//! `stockwatch ledger`: a projector on its own (any number may run at once), and its dead
//! letters.

use super::{connect, shutdown_signal};
use std::process::ExitCode;
use stockwatch::config::{LedgerAction, LedgerCommandArgs};

pub async fn ledger(args: LedgerCommandArgs) -> ExitCode {
    match run(args).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("stockwatch ledger: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: LedgerCommandArgs) -> Result<ExitCode, String> {
    let url = args
        .redis
        .ledger_url
        .clone()
        .ok_or("--ledger-url (or STOCKWATCH_LEDGER_URL) is required")?;
    let config = args.ledger.config(&url)?;
    let shutdown = shutdown_signal()?;
    let (store, managed) = connect(&args.redis, args.redis.store_config(), true).await?;
    let code = match args.action {
        None => {
            stockwatch::ledger::run(store.store().clone(), config, shutdown).await;
            ExitCode::SUCCESS
        }
        Some(LedgerAction::DeadLetters {
            replay: false, json, ..
        }) => {
            let letters = stockwatch::ledger::dead_letters(&store)
                .await
                .map_err(|e| e.to_string())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&letters).expect("letters serialize"));
            } else {
                for l in &letters {
                    println!("{} (slot {}): {}\n  {}", l.source, l.slot, l.reason, l.entry);
                }
                println!("{} dead letters", letters.len());
            }
            ExitCode::SUCCESS
        }
        Some(LedgerAction::DeadLetters { replay: true, id, .. }) => {
            let n = stockwatch::ledger::replay_dead_letters(&store, &id)
                .await
                .map_err(|e| e.to_string())?;
            println!("{n} dead letters put back into the feed");
            ExitCode::SUCCESS
        }
    };
    if let Some(m) = managed {
        m.shutdown().await;
    }
    Ok(code)
}
