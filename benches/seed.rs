//! `cargo bench`: the named scenarios, each through broken, watch and lua, via the library
//! on a private redis-server (no persistence). `stockwatch bench` is the same engine with
//! every knob exposed; BENCHMARKS.md has the results.
//!
//! Under `cargo test --all-targets` (no `--bench` argument) every scenario runs at 1/100
//! scale, so the suite checks that the harness works without spending minutes on it.

use stockwatch::StoreConfig;
use stockwatch::bench::{self, Distribution, Driver, Op, Workload};
use stockwatch::domain::Strategy;
use stockwatch::managed::redis_server::{ManagedRedis, Persistence};

struct Scenario {
    name: &'static str,
    op: Op,
    buyers: u64,
    stock: i64,
    skus: usize,
    distribution: Distribution,
}

const SCENARIOS: [Scenario; 5] = [
    Scenario {
        name: "seed A",
        op: Op::Purchase,
        buyers: 500,
        stock: 100,
        skus: 1,
        distribution: Distribution::Uniform,
    },
    Scenario {
        name: "seed B",
        op: Op::Purchase,
        buyers: 10_000,
        stock: 1_000,
        skus: 1,
        distribution: Distribution::Uniform,
    },
    Scenario {
        name: "hot sustained",
        op: Op::Purchase,
        buyers: 100_000,
        stock: 100_000,
        skus: 1,
        distribution: Distribution::Uniform,
    },
    Scenario {
        name: "uncontended",
        op: Op::Purchase,
        buyers: 20_000,
        stock: 1_000,
        skus: 10_000,
        distribution: Distribution::Uniform,
    },
    Scenario {
        name: "zipf carts",
        op: Op::Checkout,
        buyers: 20_000,
        stock: 200,
        skus: 1_000,
        distribution: Distribution::Zipf(1.1),
    },
];

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let scale = if full { 1 } else { 100 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let redis = ManagedRedis::start(dir.path(), Persistence::None)
            .await
            .expect("redis-server");
        let driver = Driver::library(stockwatch::store::Target::Single(redis.url()), StoreConfig::default());
        for s in &SCENARIOS {
            let workload = Workload {
                op: s.op,
                buyers: (s.buyers / scale).max(50),
                stock: (s.stock / stockwatch::convert::i64_of(scale)).max(10),
                skus: (s.skus / stockwatch::convert::usize_of(scale)).max(1),
                distribution: s.distribution,
                concurrency: 50,
                cart_size: 3,
                locations: 0,
                alerts: false,
                sale: false,
                customers: 0,
                per_customer_limit: None,
                queue: false,
            };
            let mut results = Vec::new();
            for strategy in Strategy::ALL {
                let bar = bench::progress_bar(workload.buyers, strategy.as_str());
                results.push(
                    bench::run_strategy(&driver, strategy, &workload, &bar)
                        .await
                        .expect("scenario runs"),
                );
                bar.finish_and_clear();
            }
            println!(
                "\n== {} ({:?}, {} buyers, {} SKUs x {} units, {}) ==",
                s.name, workload.op, workload.buyers, workload.skus, workload.stock, workload.distribution
            );
            bench::print_table(&results);
            for r in &results {
                if r.strategy != Strategy::Broken {
                    assert_eq!(r.oversold, 0, "{}: {} oversold", s.name, r.strategy.as_str());
                    assert_eq!(
                        r.verified,
                        Some(true),
                        "{}: {} broke an invariant",
                        s.name,
                        r.strategy.as_str()
                    );
                }
            }
        }
        redis.shutdown().await;
    });
}
