//! The benchmark harness measures what happened: outcomes, oversold units read back from
//! Redis, and the `--json` contract; `bench sweep` writes its CSV and plots.

use crate::helpers::{TestRedis, fresh_prefix, spawn_app};
use serde_json::Value;
use stockwatch::StoreConfig;
use stockwatch::bench::{self, Distribution, Driver, Op, Workload};
use stockwatch::domain::Strategy;
use stockwatch::retry::Jitter;
use stockwatch::store::Target;

fn rush(buyers: u64, stock: i64) -> Workload {
    Workload {
        op: Op::Purchase,
        buyers,
        stock,
        skus: 1,
        distribution: Distribution::Uniform,
        concurrency: 50,
        cart_size: 1,
        locations: 0,
        alerts: false,
        sale: false,
        customers: 0,
        per_customer_limit: None,
        queue: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_bench_reads_oversold_back_and_finds_it_only_on_broken() {
    let redis = TestRedis::start().await;
    let driver = Driver::library(Target::Single(redis.url()), StoreConfig::default());
    let w = rush(400, 40);
    let hidden = indicatif::ProgressBar::hidden();
    for strategy in Strategy::ALL {
        let r = bench::run_strategy(&driver, strategy, &w, &hidden).await.unwrap();
        assert_eq!(r.successes + r.rejections + r.give_ups + r.errors, 400, "{r:?}");
        assert_eq!(r.errors, 0);
        assert!(r.attempts >= r.successes + r.rejections, "{r:?}");
        assert!(r.latency_ms.p50 > 0.0 && r.latency_ms.p50 <= r.latency_ms.p999);
        // The timeline adds up to the totals: commits to successes, and the engine's attempts
        // counted as Redis answered them to the attempts counted as each call ended.
        let t = &r.timeline;
        assert_eq!(t.start_available, 40);
        assert_eq!(t.buckets.iter().map(|b| b.commits).sum::<u64>(), r.successes);
        assert_eq!(
            t.buckets.iter().map(|b| b.attempts).sum::<u64>(),
            r.attempts,
            "{strategy:?}"
        );
        assert_eq!(t.buckets.iter().map(|b| b.conflicts).sum::<u64>(), r.conflicts);
        assert_eq!(
            t.buckets.last().unwrap().available,
            40 - r.successes as i64,
            "the last level is what Redis holds"
        );
        let f = &r.fairness;
        assert!(
            f.max_attempts >= 1 && f.winners_ms.is_some() && f.losers_ms.is_some(),
            "{f:?}"
        );
        assert!((0.0..=1.0).contains(&f.out_of_order));
        match strategy {
            Strategy::Broken => {
                assert!(t.lowest() < 0, "the timeline dives below zero");
                assert!(r.oversold > 0, "check-then-act oversells: {r:?}");
                assert_eq!(r.oversold, r.successes as i64 - 40, "read back, it matches the tally");
                assert_eq!(r.verified, Some(false), "verify catches it");
            }
            _ => {
                assert_eq!(t.lowest(), 0, "stops at zero");
                assert_eq!((r.successes, r.oversold, r.verified), (40, 0, Some(true)), "{r:?}");
                // Redis did work for these calls, and INFO CPU saw it (a whole run of
                // calls cannot cost Redis nothing, nor a second each).
                let cpu = r.redis_cpu_us_per_call.expect("library mode reads INFO CPU");
                assert!(cpu > 0.0 && cpu < 1e6, "{cpu} µs per call");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_bench_drives_a_running_server() {
    let app = spawn_app().await;
    let driver = Driver::http(&app.address, None);
    let hidden = indicatif::ProgressBar::hidden();
    for strategy in [Strategy::Watch, Strategy::Lua] {
        let r = bench::run_strategy(&driver, strategy, &rush(300, 100), &hidden)
            .await
            .unwrap();
        assert_eq!((r.successes, r.rejections, r.oversold), (100, 200, 0), "{r:?}");
        assert_eq!(r.verified, None, "no Redis access over HTTP");
        assert_eq!(r.redis_cpu_us_per_call, None, "nor its CPU");
        // Over HTTP the levels come from the answers' `remaining` and `available`.
        assert_eq!(r.timeline.lowest(), 0);
        assert_eq!(r.timeline.buckets.iter().map(|b| b.commits).sum::<u64>(), 100);
        assert!(r.fairness.max_attempts >= 1, "{:?}", r.fairness);
    }
    // Stock split over three locations, with alert rules, a drop's sale settings and a
    // waiting room: still exact.
    let stockroom = Workload {
        locations: 3,
        alerts: true,
        sale: true,
        queue: true,
        ..rush(300, 100)
    };
    for strategy in [Strategy::Watch, Strategy::Lua] {
        let r = bench::run_strategy(&driver, strategy, &stockroom, &hidden)
            .await
            .unwrap();
        assert_eq!((r.successes, r.oversold), (100, 0), "{strategy:?}: {r:?}");
    }
    let carts = Workload {
        op: Op::Reserve,
        skus: 20,
        cart_size: 3,
        distribution: Distribution::Zipf(1.1),
        ..rush(200, 10)
    };
    let r = bench::run_strategy(&driver, Strategy::Lua, &carts, &hidden)
        .await
        .unwrap();
    assert!(r.successes > 0 && r.oversold == 0, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_json_keeps_the_documented_names() {
    let redis = TestRedis::start().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stockwatch"))
        .args([
            "bench",
            "--json",
            "--buyers",
            "300",
            "--stock",
            "30",
            "--strategy",
            "broken,lua",
        ])
        .args(["--concurrency", "20", "--key-prefix", &fresh_prefix()])
        .env("REDIS_URL", redis.url())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(report["config"]["buyers"], 300);
    assert_eq!(report["config"]["concurrency"], 20);
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        for field in [
            "strategy",
            "successes",
            "rejections",
            "give_ups",
            "oversold",
            "attempts",
            "conflicts",
            "elapsed_s",
            "ops_per_s",
            "orders_per_s",
        ] {
            assert!(r.get(field).is_some(), "{field} missing from {r}");
        }
        for p in ["p50", "p90", "p99", "p999"] {
            assert!(r["latency_ms"][p].as_f64().is_some(), "{p}");
        }
        for field in [
            "out_of_order",
            "served_out_of_order",
            "max_attempts",
            "winners_ms",
            "losers_ms",
        ] {
            assert!(r["fairness"].get(field).is_some(), "fairness.{field} missing from {r}");
        }
        assert!(r["timeline"]["buckets"].as_array().is_some_and(|b| !b.is_empty()));
    }
    assert_eq!(results[0]["strategy"], "broken");
    assert!(results[0]["oversold"].as_i64().unwrap() > 0);
    assert_eq!(results[1]["oversold"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_writes_one_csv_row_per_point_and_the_plots() {
    let redis = TestRedis::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        batching: false,
        ..StoreConfig::default()
    };
    let grid = bench::sweep::Grid {
        strategies: vec![Strategy::Watch],
        concurrency: vec![5, 20],
        jitter: vec![Jitter::None, Jitter::Full],
        base_ms: vec![1.0],
        cap_ms: vec![50.0],
    };
    let points = bench::sweep::run(
        &Target::Single(redis.url()),
        &config,
        &rush(200, 200),
        &grid,
        dir.path(),
    )
    .await
    .unwrap();
    assert_eq!(points.len(), 4);
    let csv = std::fs::read_to_string(dir.path().join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(csv.lines().nth(1).unwrap().starts_with("watch,none,1,50,5,"));
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    for column in [
        "cap_ms",
        "out_of_order",
        "max_attempts",
        "winners_p99_ms",
        "losers_p99_ms",
    ] {
        assert!(header.contains(&column), "{column} missing from {header:?}");
    }
    assert!(csv.lines().skip(1).all(|l| l.split(',').count() == header.len()));
    for plot in ["throughput", "conflict-rate", "attempts-per-success"] {
        let svg = std::fs::read_to_string(dir.path().join(format!("{plot}-base1ms.svg"))).unwrap();
        assert!(svg.contains("<svg") && svg.contains("full jitter"), "{plot}");
    }
    // The recommendation weighs what was measured: a generous target finds a setting that
    // meets it everywhere, an impossible one finds none.
    let generous = bench::recommend::recommend(&points, 60_000.0);
    let pick = generous.overall.expect("everything is under a minute");
    let fastest = points
        .iter()
        .filter(|p| p.jitter == pick.setting.jitter)
        .map(|p| p.result.orders_per_s)
        .sum::<f64>()
        / 2.0;
    assert_eq!(pick.mean_orders_per_s, fastest);
    assert!(bench::recommend::recommend(&points, 0.000_001).overall.is_none());
    // The textbook path on one hot SKU conflicts, and more so with more buyers.
    let rate = |c: usize| {
        points
            .iter()
            .filter(|p| p.concurrency == c)
            .map(|p| p.result.conflicts)
            .sum::<u64>()
    };
    assert!(rate(20) > 0, "20 buyers on one key must conflict without group commit");
}

/// Bots against a limit: 10 customers sending 30 requests each for a SKU limited to 2 a
/// customer. `watch` and `lua` give every customer exactly 2; `broken`, which checks its
/// limit the naive way, lets some customer past it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_against_a_limit_get_no_more_than_it_on_watch_and_lua() {
    let redis = TestRedis::start().await;
    let config = StoreConfig {
        broken_think_time: std::time::Duration::from_millis(20),
        ..StoreConfig::default()
    };
    let driver = Driver::library(Target::Single(redis.url()), config);
    let w = Workload {
        customers: 10,
        per_customer_limit: Some(2),
        ..rush(300, 1_000)
    };
    let hidden = indicatif::ProgressBar::hidden();
    for strategy in Strategy::ALL {
        let r = bench::run_strategy(&driver, strategy, &w, &hidden).await.unwrap();
        let c = r.customers.expect("customer figures");
        assert_eq!(c.customers, 10);
        match strategy {
            Strategy::Broken => assert!(c.most_units > 2, "{strategy:?}: {c:?}"),
            _ => {
                assert_eq!(
                    (c.served, c.most_units, r.successes),
                    (10, 2, 20),
                    "{strategy:?}: {c:?}"
                );
            }
        }
    }
}
