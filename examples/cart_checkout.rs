//! Teaches: a multi-item cart is all or nothing, even when carts race for the same stock.
//!
//! Three SKUs; the last one is scarce. 200 shoppers each check out a cart of all three at
//! once. Each checkout is one WATCH/MULTI/EXEC over every line: either every line is
//! deducted in the same EXEC, or none is and the shopper gets a 409 listing every short
//! line. So the plentiful SKUs only ever go down by as many carts as the scarce one allowed:
//! no shopper is left holding half a cart.
//!
//! Run: `cargo run --example cart_checkout` (uses REDIS_URL, or starts a private
//! redis-server in a temp dir).

use futures_util::future::join_all;
use serde_json::json;
use stockwatch::domain::{Available, CartItems, Sku, Strategy, UserId};
use stockwatch::managed::redis_server::ManagedRedis;
use stockwatch::ops::Inventory;
use stockwatch::{Error, Store, StoreConfig, ops};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let (url, _redis) = ManagedRedis::from_env_or_start(dir.path()).await?;
    let store = Inventory::new(Store::new(
        &url,
        StoreConfig {
            key_prefix: "example-cart".into(),
            ..StoreConfig::default()
        },
    )?);
    let stock = [("console", 500), ("controller", 500), ("headset", 40)];
    for (sku, units) in stock {
        let sku = Sku::parse(sku).expect("valid sku");
        ops::set_stock(&store, &sku, Available::parse(&units.into(), "available")?).await?;
    }
    let cart = CartItems::parse(Some(&json!([
        {"sku": "console", "quantity": 1},
        {"sku": "controller", "quantity": 2},
        {"sku": "headset", "quantity": 1},
    ])))?;
    println!("200 shoppers check out: 1 console, 2 controllers, 1 headset (only 40 headsets).\n");
    let shoppers = (0..200).map(|i| {
        let (store, cart) = (store.clone(), cart.clone());
        async move {
            let user = UserId::parse(&format!("shopper-{i}").into()).expect("valid user");
            ops::checkout(&store, Strategy::Watch, &cart, &user, None).await
        }
    });
    let answers = join_all(shoppers).await;
    let bought = answers.iter().filter(|a| a.is_ok()).count();
    let short = answers
        .iter()
        .find_map(|a| match a {
            Err(Error::InsufficientStock { items, .. }) => Some(items.clone()),
            _ => None,
        })
        .unwrap_or_default();
    println!("carts bought: {bought}, refused: {}", answers.len() - bought);
    if let Some(line) = short.first() {
        println!(
            "a refusal names what was short: {} ({} available, {} requested)\n",
            line.sku, line.available, line.requested
        );
    }
    println!("{:<11} {:>9} {:>6}  deducted", "sku", "available", "sold");
    for (sku, units) in stock {
        let s = ops::get_stock(&store, &Sku::parse(sku).expect("valid sku")).await?;
        println!("{:<11} {:>9} {:>6}  {}", sku, s.available, s.sold, units - s.available);
    }
    println!("\nEvery deduction is a whole cart: consoles sold = carts bought ({bought}), controllers = 2 × {bought}.");
    let report = ops::verify(&store).await?;
    println!(
        "stockwatch verify: {}",
        if report.ok {
            "every invariant holds"
        } else {
            "VIOLATIONS"
        }
    );
    Ok(())
}
