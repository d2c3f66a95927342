//! Teaches: why check-then-act oversells, and why WATCH/MULTI/EXEC and Lua do not.
//!
//! 500 buyers rush 100 units of one SKU, once per strategy. `broken` reads the stock, pauses,
//! then decrements what it read, so buyers who all saw "1 left" all buy it. `watch` aborts
//! every EXEC whose watched stock changed since its read and retries; `lua` runs check and
//! act as one indivisible script. The outcome is read back from Redis, not assumed.
//!
//! Run: `cargo run --example race_condition` (uses REDIS_URL, or starts a private
//! redis-server in a temp dir). `stockwatch demo race` is the same, with more options.

use stockwatch::Store;
use stockwatch::demo::{Rush, race_config, race_table};
use stockwatch::domain::{Available, Sku, Strategy};
use stockwatch::managed::redis_server::ManagedRedis;
use stockwatch::ops::Inventory;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let (url, _redis) = ManagedRedis::from_env_or_start(dir.path()).await?;
    // The textbook WATCH path (no group commit), with room to retry: 500 buyers conflict a lot.
    let store = Inventory::new(Store::new(&url, race_config("example-race", false))?);
    let mut results = Vec::new();
    for strategy in Strategy::ALL {
        let rush = Rush {
            sku: Sku::parse("ps5").expect("valid sku"),
            buyers: 500,
            stock: Available::parse(&100.into(), "stock").expect("valid stock"),
            strategy,
        };
        results.push(rush.run(&store).await?);
    }
    print!("{}", race_table(&results));
    Ok(())
}
