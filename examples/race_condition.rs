//! Teaches: why check-then-act oversells, and why WATCH/MULTI/EXEC and Lua do not.
//!
//! 500 buyers rush 100 units of one SKU, once per strategy. `broken` reads the stock, pauses,
//! then decrements what it read, so buyers who all saw "1 left" all buy it. `watch` aborts
//! every EXEC whose watched stock changed since its read and retries; `lua` runs check and
//! act as one indivisible script.
//!
//! Run: `cargo run --example race_condition` (uses REDIS_URL, or starts a private
//! redis-server in a temp dir).

use std::time::Instant;
use stockwatch::domain::{Available, Quantity, Sku, Strategy, UserId};
use stockwatch::managed_redis::{ManagedRedis, Persistence};
use stockwatch::{Store, StoreConfig, ops};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let (url, _managed) = match std::env::var("REDIS_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let m = ManagedRedis::start(dir.path(), Persistence::None).await?;
            (m.url(), Some(m))
        }
    };
    let store = Store::new(
        &url,
        StoreConfig {
            key_prefix: "example-race".into(),
            ..StoreConfig::default()
        },
    )?;
    let sku = Sku::parse("ps5").expect("valid sku");
    let one = Quantity::parse(&1.into(), "quantity").expect("valid quantity");
    println!(
        "{:<8} {:>7} {:>12} {:>9} {:>9}",
        "strategy", "orders", "final stock", "oversold", "time"
    );
    for strategy in Strategy::ALL {
        ops::set_stock(&store, &sku, Available::parse(&100.into(), "available").expect("valid")).await?;
        let before = ops::get_stock(&store, &sku).await?.sold;
        let started = Instant::now();
        let buyers: Vec<_> = (0..500)
            .map(|i| {
                let (store, sku) = (store.clone(), sku.clone());
                let user = UserId::parse(&format!("buyer-{i}").into()).expect("valid user");
                tokio::spawn(async move { ops::purchase(&store, strategy, &sku, one, &user, None).await.is_ok() })
            })
            .collect();
        let mut orders = 0;
        for b in buyers {
            orders += i64::from(b.await?);
        }
        let stock = ops::get_stock(&store, &sku).await?;
        println!(
            "{:<8} {:>7} {:>12} {:>9} {:>7}ms",
            strategy.as_str(),
            orders,
            stock.available,
            (stock.sold - before - 100).max(0),
            started.elapsed().as_millis()
        );
    }
    Ok(())
}
