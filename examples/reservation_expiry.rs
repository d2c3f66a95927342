//! Teaches: timed holds, and how abandoned ones come back without anyone calling cancel.
//!
//! A reservation moves units from `available` to `reserved` and enters a ZSET scored by its
//! deadline. Of five shoppers who hold a ticket for 2 seconds, two confirm (their units
//! become `sold`), one cancels, and two walk away. The expiry worker sleeps until the next
//! deadline, then releases each lapsed hold in its own transaction (WATCHing the hold, so a
//! confirm racing the release wins or loses cleanly, never both).
//!
//! Run: `cargo run --example reservation_expiry` (uses REDIS_URL, or starts a private
//! redis-server in a temp dir).

use serde_json::json;
use std::time::Duration;
use stockwatch::domain::{Available, CartItems, Sku, Strategy, TtlSeconds, UserId};
use stockwatch::expiry::{self, ExpiryConfig};
use stockwatch::managed::redis_server::ManagedRedis;
use stockwatch::ops::{self, Inventory};
use stockwatch::{Store, StoreConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let (url, _redis) = ManagedRedis::from_env_or_start(dir.path()).await?;
    let store = Inventory::new(Store::new(
        &url,
        StoreConfig {
            key_prefix: "example-expiry".into(),
            ..StoreConfig::default()
        },
    )?);
    let sku = Sku::parse("ticket")?;
    ops::set_stock(&store, &sku, Available::parse(&10.into(), "available")?).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(expiry::run(store.clone(), ExpiryConfig::default(), async {
        let _ = stopped.await;
    }));
    let show = |when: &str, s: &ops::Stock| {
        println!(
            "{when:<34} available {:>2}  reserved {:>2}  sold {:>2}",
            s.available, s.reserved, s.sold
        )
    };
    show("start", &ops::get_stock(&store, &sku).await?);

    let cart = CartItems::parse(Some(&json!([{"sku": "ticket", "quantity": 1}])))?;
    let ttl = TtlSeconds::parse(Some(&json!(2)))?;
    let mut holds = Vec::new();
    for name in ["ana", "ben", "cai", "dee", "eli"] {
        let user = UserId::parse(&name.into())?;
        holds.push((
            name,
            ops::reserve(&store, Strategy::Watch, &cart, &user, ttl, None).await?,
        ));
    }
    show("5 holds for 2 s", &ops::get_stock(&store, &sku).await?);

    for (name, hold) in &holds[..2] {
        ops::confirm(&store, &hold.reservation_id, None).await?;
        println!("  {name} confirms");
    }
    ops::cancel(&store, &holds[2].1.reservation_id, None).await?;
    println!("  {} cancels; {} and {} walk away", holds[2].0, holds[3].0, holds[4].0);
    show("after 2 confirms and 1 cancel", &ops::get_stock(&store, &sku).await?);

    println!("  … waiting for the holds to lapse (the worker sleeps until the deadline) …");
    tokio::time::sleep(Duration::from_millis(2600)).await;
    show("after expiry", &ops::get_stock(&store, &sku).await?);
    for (name, hold) in &holds {
        let r = ops::get_reservation(&store, &hold.reservation_id).await?;
        println!("  {name}: {}", r.status.as_str());
    }
    let _ = stop.send(());
    worker.await?;
    Ok(())
}
