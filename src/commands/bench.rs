//! `stockwatch bench` and `stockwatch bench sweep`.

use super::redis_target;
use stockwatch::StoreConfig;
use stockwatch::bench::{self, Driver, Tuning};
use stockwatch::config::{BenchArgs, SweepArgs};
use stockwatch::retry::RetryPolicy;

pub async fn bench(args: BenchArgs) -> Result<(), String> {
    let w = &args.workload;
    let retry = args.retry.policy()?;
    let workload = w.workload(stockwatch::convert::usize_of(args.concurrency));
    let (driver, managed, tuning, target) = match &w.target {
        Some(url) => (Driver::http(url, w.admin_token.clone()), None, None, url.clone()),
        None => {
            let (redis, managed) = redis_target(&w.redis, true).await?;
            let tuning = Tuning {
                batching: w.batching == "on",
                retry,
                budget: args.retry.budget(),
            };
            let config = StoreConfig {
                retry,
                retry_budget: tuning.budget,
                batching: tuning.batching,
                pool_size: stockwatch::convert::usize_of(w.redis.pool_size).max(workload.concurrency),
                ..w.redis.store_config()
            };
            (
                Driver::Library {
                    redis,
                    config,
                    ledger: w.redis.ledger_url.clone().map(stockwatch::ledger::LedgerConfig::new),
                    keep: args.keep,
                    hold: stockwatch::domain::TtlSeconds::parse(Some(&args.hold_ttl_s.into()))
                        .map_err(|e| e.to_string())?,
                },
                managed,
                Some(tuning),
                "library".to_owned(),
            )
        }
    };
    let mut results = Vec::new();
    for &strategy in &w.strategy.0 {
        let bar = bench::progress_bar(workload.buyers, strategy.as_str());
        let result = bench::run_strategy(&driver, strategy, &workload, &bar).await;
        bar.finish_and_clear();
        results.push(result.map_err(|e| e.to_string())?);
    }
    let floor = match (args.floor, &driver) {
        (Some(depth), Driver::Library { redis, config, .. }) => {
            let config = stockwatch::StoreConfig {
                key_prefix: format!("bench-floor-{:x}", rand::random::<u32>()),
                ..config.clone()
            };
            let store = stockwatch::Store::connect(redis, config).map_err(|e| e.to_string())?;
            Some(
                bench::floor::run(
                    &store,
                    workload.buyers,
                    workload.concurrency,
                    stockwatch::convert::usize_of(depth),
                )
                .await
                .map_err(|e| e.to_string())?,
            )
        }
        (Some(_), _) => return Err("--floor measures the library's Redis; drop --target".into()),
        (None, _) => None,
    };
    if let Some(m) = managed {
        m.shutdown().await;
    }
    if args.json {
        let mut report = bench::to_json(&workload, tuning.as_ref(), &target, &results);
        if let Some(floor) = floor {
            report["floor"] = serde_json::to_value(floor).expect("floor serializes");
        }
        println!("{}", serde_json::to_string_pretty(&report).expect("report serializes"));
    } else {
        println!(
            "{:?} x{} buyers, {} SKUs x{} units, {}, concurrency {}, target {target}",
            workload.op, workload.buyers, workload.skus, workload.stock, workload.distribution, workload.concurrency
        );
        bench::print_table(&results);
        if let Some(f) = floor {
            println!(
                "\nfloor (a purchase's writes as plain pipelines of {}): {:.0} orders/s, {:.1} µs of Redis CPU per order",
                f.depth, f.orders_per_s, f.redis_cpu_us_per_order
            );
            for r in &results {
                if let Some(us) = r.redis_cpu_us_per_success {
                    println!(
                        "  {:<6} {:>6.1} µs per order: {:.2}x the floor",
                        r.strategy.as_str(),
                        us,
                        us / f.redis_cpu_us_per_order
                    );
                }
            }
        }
    }
    Ok(())
}

pub async fn sweep(args: SweepArgs) -> Result<(), String> {
    let w = &args.workload;
    if w.target.is_some() {
        return Err("bench sweep drives the library (retry settings are per point); drop --target".into());
    }
    let at = |base_ms, cap_ms| stockwatch::config::RetryArgs {
        jitter: stockwatch::retry::Jitter::Full,
        base_ms,
        cap_ms,
        max_attempts: args.max_attempts,
        max_elapsed_ms: args.max_elapsed_ms,
        // A sweep measures the backoff itself: no budget cuts its retries short.
        retry_budget_percent: stockwatch::config::BudgetPercent(None),
        retry_budget_min_per_s: 0,
    };
    // Every point of the grid must be a valid policy before the first one runs.
    for &base in &args.base_ms {
        for &cap in &args.cap_ms {
            at(base, cap).policy()?;
        }
    }
    let retry = at(1.0, 1.0).policy()?;
    let (redis, managed) = redis_target(&w.redis, true).await?;
    let config = StoreConfig {
        retry: RetryPolicy { ..retry },
        batching: w.batching == "on",
        ..w.redis.store_config()
    };
    let grid = bench::sweep::Grid {
        strategies: w.strategy.0.clone(),
        concurrency: args.concurrency.clone(),
        jitter: args.jitter.clone(),
        base_ms: args.base_ms.clone(),
        cap_ms: args.cap_ms.clone(),
    };
    let points = bench::sweep::run(&redis, &config, &w.workload(1), &grid, &args.out).await;
    if let Some(m) = managed {
        m.shutdown().await;
    }
    let points = points.map_err(|e| e.to_string())?;
    print!("{}", bench::sweep::csv(&points));
    eprintln!("wrote {}/sweep.csv and plots", args.out.display());
    if let Some(target) = args.p99_target_ms {
        let advice = bench::recommend::recommend(&points, target).to_string();
        std::fs::write(args.out.join("recommendation.txt"), &advice).map_err(|e| e.to_string())?;
        println!("\n{advice}");
    }
    Ok(())
}
