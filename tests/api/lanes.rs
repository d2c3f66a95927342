//! Lanes: each HTTP worker thread reaches Redis on connections and group-commit queues of its
//! own (`Inventory::lane`), so a purchase never wakes another thread. What must not change:
//! lanes of one process never abort each other's `watch` batches (they take turns on a key
//! instead), and every take still sells exactly.

use crate::helpers::{count, spawn_app};
use futures_util::future::join_all;
use serde_json::json;
use stockwatch::domain::{Quantity, Sku, Strategy, UserId};

/// Two lanes, a closed loop of buyers on each, one hot SKU on `watch`: exactly the stock
/// sells, without a single conflict (a lane waits while another's batch watches the key),
/// and neither lane starves (a lane that frees a key lets a waiting lane go next).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lanes_take_turns_on_a_hot_sku_without_conflicts() {
    let app = spawn_app().await;
    app.set_stock("hot", 600).await;
    let lanes = [app.store.lane().unwrap(), app.store.lane().unwrap()];
    let (sku, one) = (
        Sku::parse("hot").unwrap(),
        Quantity::parse(&json!(1), "quantity").unwrap(),
    );
    let before = app.store.stats();
    let buyers = (0..200).map(|b| {
        let (lane, sku) = (lanes[b % 2].clone(), sku.clone());
        tokio::spawn(async move {
            let user = UserId::parse(&json!(format!("b{b}"))).unwrap();
            let mut won = 0u32;
            for _ in 0..4 {
                match stockwatch::ops::purchase(&lane, Strategy::Watch, &sku, one, &user, None).await {
                    Ok(_) => won += 1,
                    Err(e) => assert_eq!(e.code(), "insufficient_stock", "{e}"),
                }
            }
            (b % 2, won)
        })
    });
    let mut per_lane = [0u32; 2];
    for result in join_all(buyers).await {
        let (lane, won) = result.unwrap();
        per_lane[lane] += won;
    }
    assert_eq!(per_lane[0] + per_lane[1], 600, "exactly the stock: {per_lane:?}");
    let stock = app.stock("hot").await;
    assert_eq!(
        (stock["available"].as_i64(), stock["sold"].as_i64()),
        (Some(0), Some(600)),
        "{stock}"
    );
    let conflicts = app.store.stats().conflicts - before.conflicts;
    assert_eq!(conflicts, 0, "lanes of one process aborted each other's batches");
    assert!(
        per_lane.iter().all(|&won| won >= 120),
        "a lane starved while the other held the key: {per_lane:?}"
    );
}

/// A lane has connections of its own (its reads are answered by another Redis client than
/// the process's), and keeps them: the same lane answers on the same client every time.
#[tokio::test]
async fn a_lane_has_connections_of_its_own() {
    let app = spawn_app().await;
    let lane = app.store.lane().unwrap();
    let id = |store: stockwatch::ops::Inventory| async move {
        store
            .query::<i64>(&redis::cmd("CLIENT").arg("ID").to_owned())
            .await
            .unwrap()
    };
    let (process, first, again) = (
        id(app.store.clone()).await,
        id(lane.clone()).await,
        id(lane.clone()).await,
    );
    assert_ne!(process, first, "the lane read on the process's connection");
    assert_eq!(first, again, "the lane opened a new connection for each read");
    assert_ne!(
        id(app.store.lane().unwrap()).await,
        first,
        "two lanes share a connection"
    );
}

/// Over HTTP, with two workers on lanes of their own: a rush on one hot SKU on `watch` sells
/// exactly, every buyer gets 201 or 409, and the workers' lanes never conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_on_their_own_lanes_sell_a_hot_sku_exactly() {
    let app = spawn_app().await;
    app.set_stock("rush", 250).await;
    let before = app.store.stats();
    let statuses: Vec<u16> = join_all((0..400).map(|i| {
        let app = &app;
        async move {
            let body = json!({"sku": "rush", "quantity": 1, "user_id": format!("u{i}")});
            app.post("/v1/purchases?strategy=watch", body).await.0
        }
    }))
    .await;
    assert_eq!(
        (count(&statuses, 201), count(&statuses, 409)),
        (250, 150),
        "{statuses:?}"
    );
    assert_eq!(app.stock("rush").await["sold"], 250);
    assert_eq!(app.store.stats().conflicts - before.conflicts, 0);
}

/// A lane whose leader is cancelled with its `watch` batch in flight (its runtime dropped)
/// frees the keys the batch claimed: another lane can still buy the SKU at once, instead of
/// waiting for a claim nobody will release until its deadline passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_dropped_in_flight_frees_its_keys() {
    use crate::proxy::FaultProxy;
    use std::time::Duration;
    let app = spawn_app().await;
    app.set_stock("dropped", 10).await;
    let proxy = FaultProxy::start(&app.redis.url()).await;
    let base = stockwatch::ops::Inventory::new(
        stockwatch::store::Store::new(&proxy.url(), app.store.config().clone()).unwrap(),
    );
    let (stranded, survivor) = (base.lane().unwrap(), base.lane().unwrap());
    let (sku, one) = (
        Sku::parse("dropped").unwrap(),
        Quantity::parse(&json!(1), "quantity").unwrap(),
    );
    let user = UserId::parse(&json!("u")).unwrap();
    proxy.delay(Duration::from_millis(1500));
    let (s, u) = (sku.clone(), user.clone());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let take = stockwatch::ops::purchase(&stranded, Strategy::Watch, &s, one, &u, None);
            // The buyer gives up; its batch stays in flight, held back by the proxy.
            assert!(tokio::time::timeout(Duration::from_millis(300), take).await.is_err());
        });
        drop(runtime); // the leader, and its batch in flight, are dropped here
    })
    .join()
    .unwrap();
    proxy.delay(Duration::ZERO);
    let buy = stockwatch::ops::purchase(&survivor, Strategy::Watch, &sku, one, &user, None);
    // Without the claim freed, this lane waits behind it for good.
    let bought = tokio::time::timeout(Duration::from_secs(10), buy).await;
    assert!(matches!(bought, Ok(Ok(_))), "the other lane could not buy: {bought:?}");
}
