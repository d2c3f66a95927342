//! `stockwatch demo race` and `stockwatch demo bots`.

use super::redis_target;
use stockwatch::Store;
use stockwatch::config::{BotsArgs, RaceArgs};
use stockwatch::ops::Inventory;

/// `stockwatch demo race`: the rush through each strategy, or the step-by-step replay.
pub async fn race(args: RaceArgs) -> Result<(), String> {
    use stockwatch::domain::{Available, Sku, Strategy};
    let (target, managed) = redis_target(&args.redis, true).await?;
    let result = async {
        if args.interleave {
            let buyers =
                stockwatch::convert::usize_of(args.buyers.unwrap_or(2)).min(stockwatch::demo::MAX_REPLAY_BUYERS);
            let stock = args.stock.unwrap_or(1);
            let store = Store::connect(&target, stockwatch::demo::race_config("demo-interleave", false))
                .map_err(|e| e.to_string())?;
            let mut replays = Vec::new();
            for strategy in [Strategy::Broken, Strategy::Watch] {
                replays.push(
                    stockwatch::demo::replay(&store, "demo-interleave", strategy, buyers, stock)
                        .await
                        .map_err(|e| e.to_string())?,
                );
            }
            if args.json {
                println!("{}", serde_json::json!({ "replays": replays }));
            } else {
                println!("The lost update, replayed: {buyers} buyers, every one reads before anyone writes.\n");
                for r in &replays {
                    println!("{}", stockwatch::demo::timeline(r, stock));
                }
            }
            return Ok(());
        }
        let config = stockwatch::StoreConfig {
            retry_budget: args.retry_budget_percent.budget(args.retry_budget_min_per_s),
            ..stockwatch::demo::race_config("demo-race", args.batching == "on")
        };
        let store = Inventory::new(Store::connect(&target, config).map_err(|e| e.to_string())?);
        let rush = |strategy| stockwatch::demo::Rush {
            sku: Sku::parse("ps5").expect("a valid sku"),
            buyers: args.buyers.unwrap_or(500),
            stock: Available::parse(&args.stock.unwrap_or(100).into(), "stock").expect("range checked by clap"),
            strategy,
        };
        let mut results = Vec::new();
        for strategy in &args.strategy.0 {
            results.push(rush(*strategy).run(&store).await.map_err(|e| e.to_string())?);
        }
        if let Some(path) = &args.plot {
            let races: Vec<(&str, &stockwatch::race::Timeline)> =
                results.iter().map(|r| (r.strategy.as_str(), &r.timeline)).collect();
            let first = &results[0];
            let title = format!(
                "{} buyers, {} units, all at once (group commit {})",
                first.buyers,
                first.stock,
                if first.batching { "on" } else { "off" }
            );
            stockwatch::plot::race_svg(path, &title, &races).map_err(|e| e.to_string())?;
        }
        if args.json {
            println!("{}", serde_json::json!({ "results": results }));
        } else {
            print!("{}", stockwatch::demo::race_table(&results));
            if let Some(path) = &args.plot {
                println!("The race, drawn: {}", path.display());
            }
        }
        Ok(())
    }
    .await;
    if let Some(m) = managed {
        m.shutdown().await;
    }
    result
}

/// `stockwatch demo bots`: the same drop, limited per customer, through each strategy.
pub async fn bots(args: BotsArgs) -> Result<(), String> {
    use stockwatch::domain::{Available, Sku, Strategy};
    let (target, managed) = redis_target(&args.redis, true).await?;
    let result = async {
        // The broken path's pause is what lets its bots' requests all read the count before
        // any writes it; the library default is too short to show on a fast machine.
        let config = stockwatch::StoreConfig {
            broken_think_time: std::time::Duration::from_millis(20),
            ..stockwatch::demo::race_config("demo-bots", true)
        };
        let store = Inventory::new(Store::connect(&target, config).map_err(|e| e.to_string())?);
        let drop = |strategy| stockwatch::demo::Drop {
            sku: Sku::parse("drop").expect("a valid sku"),
            stock: Available::parse(&args.stock.into(), "stock").expect("range checked by clap"),
            limit: args.limit,
            bots: args.bots,
            requests_per_bot: args.requests_per_bot,
            people: args.people,
            strategy,
        };
        let mut results = Vec::new();
        for strategy in Strategy::ALL {
            results.push(drop(strategy).run(&store).await.map_err(|e| e.to_string())?);
        }
        if args.json {
            println!("{}", serde_json::json!({ "results": results }));
        } else {
            print!("{}", stockwatch::demo::bots_table(&drop(Strategy::Watch), &results));
        }
        Ok(())
    }
    .await;
    if let Some(m) = managed {
        m.shutdown().await;
    }
    result
}
