//! `cargo bench`: the seed scenarios on each strategy, through the library, on a private
//! redis-server. Prints buyers/s and orders; the full harness is `stockwatch bench`.

use std::time::Instant;
use stockwatch::domain::{Available, Quantity, Sku, Strategy, UserId};
use stockwatch::managed_redis::{ManagedRedis, Persistence};
use stockwatch::{Store, StoreConfig, ops};
use tokio::sync::Semaphore;

async fn scenario(store: &Store, name: &str, buyers: u32, units: u32, concurrency: usize) {
    let sku = Sku::parse(name).expect("valid sku");
    let one = Quantity::parse(&1.into(), "quantity").expect("valid");
    for strategy in [Strategy::Watch, Strategy::Lua] {
        ops::set_stock(
            store,
            &sku,
            Available::parse(&units.into(), "available").expect("valid"),
        )
        .await
        .unwrap();
        let sold_before = ops::get_stock(store, &sku).await.unwrap().sold;
        let gate = std::sync::Arc::new(Semaphore::new(concurrency));
        let started = Instant::now();
        let tasks: Vec<_> = (0..buyers)
            .map(|i| {
                let (store, sku, gate) = (store.clone(), sku.clone(), gate.clone());
                let user = UserId::parse(&format!("b{i}").into()).expect("valid");
                tokio::spawn(async move {
                    let _permit = gate.acquire().await.unwrap();
                    ops::purchase(&store, strategy, &sku, one, &user, None).await.is_ok()
                })
            })
            .collect();
        let mut orders = 0u32;
        for t in tasks {
            orders += u32::from(t.await.unwrap());
        }
        let elapsed = started.elapsed().as_secs_f64();
        let stock = ops::get_stock(store, &sku).await.unwrap();
        assert_eq!(stock.sold - sold_before, i64::from(orders));
        println!(
            "{name:<10} {:<6} buyers={buyers:<6} units={units:<6} orders={orders:<6} final={:<4} {:>9.0} buyers/s",
            strategy.as_str(),
            stock.available,
            f64::from(buyers) / elapsed
        );
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let redis = ManagedRedis::start(dir.path(), Persistence::None)
            .await
            .expect("redis-server");
        let store = Store::new(
            &redis.url(),
            StoreConfig {
                key_prefix: "bench".into(),
                ..StoreConfig::default()
            },
        )
        .unwrap();
        scenario(&store, "seed-a", 500, 100, 50).await;
        scenario(&store, "seed-b", 10_000, 1_000, 50).await;
        scenario(&store, "hot", 20_000, 20_000, 50).await;
    });
}
