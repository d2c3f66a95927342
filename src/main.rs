//! The `stockwatch` command line.

use std::process::ExitCode;
use stockwatch::bench::{self, Driver, Tuning};
use stockwatch::config::{
    BenchArgs, BenchCommand, Cli, Command, DemoCommand, RaceArgs, RedisArgs, ServeArgs, SoakArgs, SweepArgs,
    VerifyArgs, WorkerArgs,
};
use stockwatch::managed_redis::ManagedRedis;
use stockwatch::retry::RetryPolicy;
use stockwatch::startup::{Application, HttpSettings};
use stockwatch::{Store, StoreConfig, telemetry};

/// Oldest Redis with everything we rely on (e.g. EXEC aborting on expired watched keys).
const MIN_REDIS: (u32, u32, u32) = (6, 2, 0);

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::load();
    telemetry::init(cli.log_format);
    let result = match cli.command {
        Command::Serve(args) if args.print_config => {
            print!("{}", cli.resolved);
            return ExitCode::SUCCESS;
        }
        Command::Serve(args) => serve(args).await,
        Command::ExpiryWorker(args) => expiry_worker(args).await,
        Command::Verify(args) => return verify(args).await,
        Command::Soak(args) => return soak(args).await,
        Command::Demo(args) => match args.command {
            DemoCommand::Race(race) => demo_race(race).await,
        },
        Command::Bench(args) => match args.command.clone() {
            Some(BenchCommand::Sweep(sweep)) => bench_sweep(sweep).await,
            None => bench(args).await,
        },
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
/// managed server (to stop at the end) if there is one. With `join`, a managed server that
/// is already running in the data dir (a `serve`'s) is used instead of starting one.
async fn connect(redis: &RedisArgs, config: StoreConfig, join: bool) -> Result<(Store, Option<ManagedRedis>), String> {
    let (url, managed) = redis_url(redis, join).await?;
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

/// `REDIS_URL`; else, with `join`, a managed server already running in the data dir; else a
/// managed server started now (returned, to stop at the end).
async fn redis_url(redis: &RedisArgs, join: bool) -> Result<(String, Option<ManagedRedis>), String> {
    let running = match (&redis.redis_url, join) {
        (None, true) => ManagedRedis::running_in(&redis.data_dir).await,
        _ => None,
    };
    let (url, managed) = match (&redis.redis_url, running) {
        (Some(url), _) => (url.clone(), None),
        (None, Some(url)) => (url, None),
        (None, None) => {
            let managed = ManagedRedis::start(&redis.data_dir, redis.appendfsync).await?;
            tracing::info!(dir = %managed.dir().display(), appendfsync = ?redis.appendfsync, "started managed redis-server");
            (managed.url(), Some(managed))
        }
    };
    Ok((url, managed))
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let shutdown = shutdown_signal()?;
    let config = args.store_config()?;
    let http = HttpSettings {
        bind: args.bind.clone(),
        admin_token: args.admin_token.clone(),
        allow_broken: args.allow_broken,
        workers: args.workers,
        expiry: args.expiry_config(),
    };
    // A refused bind (e.g. public without a token) stops the managed redis-server again.
    let (store, managed) = connect(&args.redis, config, false).await?;
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

async fn expiry_worker(args: WorkerArgs) -> Result<(), String> {
    let shutdown = shutdown_signal()?;
    let config = StoreConfig {
        retry: args.retry.policy()?,
        ..args.redis.store_config()
    };
    let (store, managed) = connect(&args.redis, config, true).await?;
    stockwatch::expiry::run(store, args.expiry.config(), shutdown).await;
    if let Some(m) = managed {
        m.shutdown().await;
    }
    Ok(())
}

async fn bench(args: BenchArgs) -> Result<(), String> {
    let w = &args.workload;
    let retry = args.retry.policy()?;
    let workload = w.workload(args.concurrency as usize);
    let (driver, managed, tuning, target) = match &w.target {
        Some(url) => (Driver::http(url, w.admin_token.clone()), None, None, url.clone()),
        None => {
            let (url, managed) = redis_url(&w.redis, true).await?;
            let tuning = Tuning {
                batching: w.batching == "on",
                retry,
            };
            let config = StoreConfig {
                retry,
                batching: tuning.batching,
                pool_size: (w.redis.pool_size as usize).max(workload.concurrency),
                ..w.redis.store_config()
            };
            (
                Driver::Library { redis_url: url, config },
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
        results.push(result?);
    }
    if let Some(m) = managed {
        m.shutdown().await;
    }
    if args.json {
        let report = bench::to_json(&workload, tuning.as_ref(), &target, &results);
        println!("{}", serde_json::to_string_pretty(&report).expect("report serializes"));
    } else {
        println!(
            "{:?} x{} buyers, {} SKUs x{} units, {}, concurrency {}, target {target}",
            workload.op, workload.buyers, workload.skus, workload.stock, workload.distribution, workload.concurrency
        );
        bench::print_table(&results);
    }
    Ok(())
}

async fn bench_sweep(args: SweepArgs) -> Result<(), String> {
    let w = &args.workload;
    if w.target.is_some() {
        return Err("bench sweep drives the library (retry settings are per point); drop --target".into());
    }
    let retry = stockwatch::config::RetryArgs {
        jitter: stockwatch::retry::Jitter::Full,
        base_ms: 1.0,
        cap_ms: args.cap_ms,
        max_attempts: args.max_attempts,
        max_elapsed_ms: args.max_elapsed_ms,
    }
    .policy()?;
    let (url, managed) = redis_url(&w.redis, true).await?;
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
    };
    let points = bench::sweep::run(&url, &config, &w.workload(1), &grid, &args.out).await;
    if let Some(m) = managed {
        m.shutdown().await;
    }
    let points = points?;
    print!("{}", bench::sweep::csv(&points));
    eprintln!("wrote {}/sweep.csv and plots", args.out.display());
    Ok(())
}

/// Exit 0 when every invariant holds, 1 when one is broken, 2 when the check could not run.
/// Every invariant over the store `redis` names (joining a running `serve`'s managed Redis).
async fn check(redis: &RedisArgs) -> Result<stockwatch::ops::Report, String> {
    let (store, managed) = connect(redis, redis.store_config(), true).await?;
    let report = stockwatch::ops::verify(&store).await.map_err(|e| e.to_string());
    if let Some(m) = managed {
        m.shutdown().await;
    }
    report
}

async fn verify(args: VerifyArgs) -> ExitCode {
    match check(&args.redis).await {
        Ok(report) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report).expect("report serializes"));
            } else {
                println!(
                    "checked {} SKUs, {} orders, {} reservations ({} active)",
                    report.skus, report.orders, report.reservations, report.active_reservations
                );
                for v in &report.violations {
                    println!("FAIL {} [{}]: {}", v.sku.as_deref().unwrap_or("-"), v.rule, v.message);
                }
                println!(
                    "{}",
                    if report.ok {
                        "OK: every invariant holds"
                    } else {
                        "BROKEN: see above"
                    }
                );
            }
            if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("stockwatch verify: {e}");
            ExitCode::from(2)
        }
    }
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

/// `stockwatch demo race`: the rush through each strategy, or the step-by-step replay.
async fn demo_race(args: RaceArgs) -> Result<(), String> {
    use stockwatch::domain::{Available, Sku, Strategy};
    let (url, managed) = redis_url(&args.redis, true).await?;
    let result = async {
        if args.interleave {
            let buyers = args.buyers.unwrap_or(2).min(26) as usize;
            let stock = args.stock.unwrap_or(1);
            let mut replays = Vec::new();
            for strategy in [Strategy::Broken, Strategy::Watch] {
                replays.push(stockwatch::demo::replay(&url, "demo-interleave", strategy, buyers, stock).await?);
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
        let config = stockwatch::demo::race_config("demo-race", args.batching == "on");
        let store = Store::new(&url, config)?;
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
        if args.json {
            println!("{}", serde_json::json!({ "results": results }));
        } else {
            print!("{}", stockwatch::demo::race_table(&results));
        }
        Ok(())
    }
    .await;
    if let Some(m) = managed {
        m.shutdown().await;
    }
    result
}

/// `stockwatch soak`: exit 0 when every target is met, 1 when one is missed, 2 on error.
async fn soak(args: SoakArgs) -> ExitCode {
    let plan = stockwatch::soak::Plan {
        target: args.target.clone(),
        admin_token: args.admin_token.clone(),
        duration: args.duration,
        concurrency: args.concurrency as usize,
        window: args.window,
        warm_up: args.warm_up,
        hot_skus: args.hot_skus as usize,
        cold_skus: args.cold_skus as usize,
    };
    let bar = bench::progress_bar(args.duration.as_secs(), "soak");
    let report = match stockwatch::soak::run(&plan, |s| bar.set_position(s)).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stockwatch soak: {e}");
            return ExitCode::from(2);
        }
    };
    bar.finish_and_clear();
    // The longest hold is 3 s; let the worker release what was abandoned, then check.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let verified = check(&args.redis).await;
    let mut failures = report.failures();
    let verify_json = match &verified {
        Ok(r) if r.ok => serde_json::json!({"ok": true}),
        Ok(r) => {
            failures.push(format!("verify: {} violations", r.violations.len()));
            serde_json::json!({"ok": false, "violations": r.violations})
        }
        Err(e) => {
            failures.push(format!("verify could not run: {e}"));
            serde_json::json!({"ok": false, "error": e})
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::json!({"report": report, "verify": verify_json, "failures": failures})
        );
    } else {
        stockwatch::soak::print(&report);
        match &verified {
            Ok(r) if r.ok => println!("verify: every invariant holds"),
            Ok(r) => r.violations.iter().for_each(|v| println!("verify: FAIL {v:?}")),
            Err(e) => println!("verify: could not run: {e}"),
        }
        if failures.is_empty() {
            println!("targets: all met");
        } else {
            failures.iter().for_each(|f| println!("target missed: {f}"));
        }
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
