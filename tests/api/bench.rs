//! The benchmark harness measures what happened: outcomes, oversold units read back from
//! Redis, and the `--json` contract; `bench sweep` writes its CSV and plots.

use crate::helpers::{TestRedis, fresh_prefix, spawn_app};
use serde_json::Value;
use stockwatch::StoreConfig;
use stockwatch::bench::{self, Distribution, Driver, Op, Workload};
use stockwatch::domain::Strategy;
use stockwatch::retry::Jitter;

fn rush(buyers: u64, stock: i64) -> Workload {
    Workload {
        op: Op::Purchase,
        buyers,
        stock,
        skus: 1,
        distribution: Distribution::Uniform,
        concurrency: 50,
        cart_size: 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_bench_reads_oversold_back_and_finds_it_only_on_broken() {
    let redis = TestRedis::start().await;
    let driver = Driver::Library {
        redis_url: redis.url(),
        config: StoreConfig::default(),
    };
    let w = rush(400, 40);
    let hidden = indicatif::ProgressBar::hidden();
    for strategy in Strategy::ALL {
        let r = bench::run_strategy(&driver, strategy, &w, &hidden).await.unwrap();
        assert_eq!(r.successes + r.rejections + r.give_ups + r.errors, 400, "{r:?}");
        assert_eq!(r.errors, 0);
        assert!(r.attempts >= r.successes + r.rejections, "{r:?}");
        assert!(r.latency_ms.p50 > 0.0 && r.latency_ms.p50 <= r.latency_ms.p999);
        match strategy {
            Strategy::Broken => {
                assert!(r.oversold > 0, "check-then-act oversells: {r:?}");
                assert_eq!(r.oversold, r.successes as i64 - 40, "read back, it matches the tally");
                assert_eq!(r.verified, Some(false), "verify catches it");
            }
            _ => {
                assert_eq!((r.successes, r.oversold, r.verified), (40, 0, Some(true)), "{r:?}");
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
    };
    let points = bench::sweep::run(&redis.url(), &config, &rush(200, 200), &grid, dir.path())
        .await
        .unwrap();
    assert_eq!(points.len(), 4);
    let csv = std::fs::read_to_string(dir.path().join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(csv.lines().nth(1).unwrap().starts_with("watch,none,1,5,"));
    for plot in ["throughput", "conflict-rate", "attempts-per-success"] {
        let svg = std::fs::read_to_string(dir.path().join(format!("{plot}-base1ms.svg"))).unwrap();
        assert!(svg.contains("<svg") && svg.contains("full jitter"), "{plot}");
    }
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
