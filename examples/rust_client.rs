//! Teaches: the one rule a client must get right, with `stockwatch-client`.
//!
//! A purchase whose reply is lost may have happened. The client makes one `Idempotency-Key`
//! per logical call and sends it on every retry, so the server runs the call once and
//! answers every repeat with the first answer. Here 50 shoppers race for 3 consoles through
//! the client; then one purchase is sent twice under one key (as a retry after a lost reply
//! would be) and makes one order.
//!
//! Run: `cargo run --example rust_client` (uses STOCKWATCH_URL, a running server, or starts
//! a private redis-server and a server in this process).

use futures_util::future::join_all;
use stockwatch::startup::{Application, HttpSettings};
use stockwatch_client::domain::{Available, IdempotencyKey, Quantity, Sku, UserId};
use stockwatch_client::model::Purchased;
use stockwatch_client::{Client, Error};

/// One unit of `sku` for `user`: `None` when sold out. A call that got no answer in time may
/// have happened, so it is repeated under its own key: the server answers with the first
/// call's order if there was one, and it can never sell twice.
async fn buy(client: &Client, sku: &Sku, user: &UserId) -> Result<Option<Purchased>, Error> {
    let one = Quantity::try_from(1)?;
    match client.purchase(sku, one, user).await {
        Ok(order) => Ok(Some(order)),
        Err(e) if e.code() == Some("insufficient_stock") => Ok(None),
        Err(Error::Unknown { key: Some(key), .. }) => client.resuming(key).purchase(sku, one, user).await.map(Some),
        Err(e) => Err(e),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let (base, _redis) = match std::env::var("STOCKWATCH_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let (url, redis) = stockwatch::managed::redis_server::ManagedRedis::from_env_or_start(dir.path()).await?;
            let config = stockwatch::StoreConfig {
                key_prefix: "example-client".into(),
                ..Default::default()
            };
            let store = stockwatch::ops::Inventory::new(stockwatch::Store::new(&url, config)?);
            let settings = HttpSettings {
                bind: "127.0.0.1:0".into(),
                ..HttpSettings::default()
            };
            let app = Application::build(settings, store)?;
            let base = format!("http://127.0.0.1:{}", app.port());
            tokio::spawn(app.run_until_stopped(std::future::pending()));
            (base, redis)
        }
    };
    let client = Client::builder(&base)
        .deadline(std::time::Duration::from_secs(10)) // the whole call, retries included
        .attempt_timeout(std::time::Duration::from_secs(3))
        .build()?;
    let console = Sku::parse("console")?;
    client.set_stock(&console, Available::try_from(3)?).await?;
    println!("50 shoppers race for 3 consoles through stockwatch-client:");
    let shoppers = (0..50).map(|i| {
        let (client, console) = (client.clone(), console.clone());
        async move {
            let shopper = UserId::try_from(format!("shopper-{i}"))?;
            buy(&client, &console, &shopper).await
        }
    });
    let results: Vec<Result<Option<Purchased>, Error>> = join_all(shoppers).await;
    let sold = results.iter().filter(|r| matches!(r, Ok(Some(_)))).count();
    let short = results.iter().filter(|r| matches!(r, Ok(None))).count();
    println!("  {sold} bought, {short} found it sold out");
    assert_eq!((sold, short), (3, 47));

    client.set_stock(&console, Available::try_from(1)?).await?;
    let key = IdempotencyKey::generate();
    let buyer = UserId::try_from("ada".to_owned())?;
    let once = client.resuming(key.clone());
    let first = once.purchase(&console, Quantity::try_from(1)?, &buyer).await?;
    let repeat = once.purchase(&console, Quantity::try_from(1)?, &buyer).await?;
    println!(
        "one call sent twice under key {}: orders {} and {}",
        key.as_str(),
        first.order_id,
        repeat.order_id
    );
    assert_eq!(first.order_id, repeat.order_id);
    let another = client.purchase(&console, Quantity::try_from(1)?, &buyer).await;
    println!(
        "a new call (a new key) finds the console gone: {}",
        another.as_ref().map_err(Error::to_string).unwrap_err()
    );
    assert_eq!(client.stock(&console).await?.sold, 4);
    Ok(())
}
