//! A slot moved from one master to another in the middle of a rush, the way `redis-cli
//! --cluster reshard` does it (`CLUSTER SETSLOT … IMPORTING/MIGRATING`, `MIGRATE` in small
//! batches, `SETSLOT … NODE`), on both strategies: every `201` is a sale, nothing is
//! oversold, stock is conserved, and `verify` (which scans every master) is clean.

use crate::cluster::{TestCluster, node, owner, stock};
use futures_util::StreamExt;
use redis::Value;
use std::time::Duration;
use stockwatch::domain::{Quantity, Sku, Strategy, UserId};
use stockwatch::ops::Inventory;
use stockwatch::{Error, keys, ops};

/// Moves `slot` from the master on `from` to the one on `to`, a few keys at a time, while
/// traffic runs; then tells every master.
async fn move_slot(slot: u16, from: u16, to: u16, all: &[u16]) -> usize {
    let (mut source, source_id) = node(from).await;
    let (mut target, target_id) = node(to).await;
    let setslot = |state: &str, id: &str| {
        redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg(state)
            .arg(id)
            .to_owned()
    };
    let _: () = setslot("IMPORTING", &source_id).query_async(&mut target).await.unwrap();
    let _: () = setslot("MIGRATING", &target_id).query_async(&mut source).await.unwrap();
    let mut moved = 0;
    loop {
        let keys: Vec<String> = redis::cmd("CLUSTER")
            .arg("GETKEYSINSLOT")
            .arg(slot)
            .arg(5)
            .query_async(&mut source)
            .await
            .unwrap();
        if keys.is_empty() {
            break;
        }
        moved += keys.len();
        let _: Value = redis::cmd("MIGRATE")
            .arg("127.0.0.1")
            .arg(to)
            .arg("")
            .arg(0)
            .arg(5_000)
            .arg("KEYS")
            .arg(&keys)
            .query_async(&mut source)
            .await
            .unwrap();
        // Stretch the window in which the slot is half here, half there.
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    for port in [to, from].into_iter().chain(all.iter().copied()) {
        let (mut conn, _) = node(port).await;
        let _: () = setslot("NODE", &target_id).query_async(&mut conn).await.unwrap();
    }
    moved
}

/// Buyers in flight while the slot moves.
const IN_FLIGHT: usize = 200;

async fn rush_while_moving(cluster: &TestCluster, store: &Inventory, strategy: Strategy, sku: &Sku) {
    let ports = cluster.cluster.ports();
    let slot = keys::slot_of(sku.as_str());
    let from = owner(ports[0], slot).await;
    let to = *ports.iter().find(|p| **p != from).unwrap();
    stock(store, sku, 1_500).await;
    let one = Quantity::parse(&1.into(), "q").unwrap();
    let buyers = futures_util::stream::iter(0..4_000)
        .map(|i| {
            let (store, sku) = (store.clone(), sku.clone());
            let user = UserId::parse(&format!("u{i}").into()).unwrap();
            async move {
                match ops::purchase(&store, strategy, &sku, one, &user, None).await {
                    Ok(p) => Ok(p.order_id),
                    // A 503 is allowed: the slot may stay in flux past a call's deadline.
                    Err(e @ Error::Store(_)) => Err(Some(e)),
                    Err(Error::InsufficientStock { .. } | Error::Contention { .. }) => Err(None),
                    Err(e) => panic!("{strategy:?}: {e}"),
                }
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect::<Vec<_>>();
    let moving = async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        move_slot(slot, from, to, &ports).await
    };
    let (answers, moved) = tokio::join!(buyers, moving);
    assert!(moved > 0, "the slot held keys when it moved");
    assert_eq!(owner(ports[0], slot).await, to, "the slot moved");
    let unknown = answers.iter().filter(|a| matches!(a, Err(Some(_)))).count() as i64;
    let sold: Vec<_> = answers.into_iter().filter_map(Result::ok).collect();
    let level = ops::get_stock(store, sku).await.unwrap();
    // Every 201 is a sale; a 503 (a lost reply) may or may not be one; nothing else is.
    assert!(
        (sold.len() as i64..=sold.len() as i64 + unknown).contains(&level.sold),
        "{strategy:?}: sold {} with {} answered 201 and {unknown} 503",
        level.sold,
        sold.len()
    );
    assert_eq!(level.available + level.sold, 1_500, "{strategy:?}: conserved");
    assert!(level.available >= 0, "{strategy:?}: never oversold");
    for id in &sold {
        let order = ops::get_order(store, id).await.unwrap();
        assert_eq!(order.items[0].sku.as_str(), sku.as_str());
    }
    // Service goes on against the new owner.
    if level.available > 0 {
        let user = UserId::parse(&"after".into()).unwrap();
        ops::purchase(store, strategy, sku, one, &user, None).await.unwrap();
    }
    let report = ops::verify(store).await.unwrap();
    assert!(report.ok, "{strategy:?}: {:?}", report.violations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slot_moved_mid_rush_loses_and_oversells_nothing() {
    let cluster = TestCluster::start().await;
    for (strategy, name) in [(Strategy::Watch, "moving-watch"), (Strategy::Lua, "moving-lua")] {
        let store = cluster.store(|c| {
            c.retry.max_attempts = 50;
            c.retry.max_elapsed = Duration::from_secs(5);
            c.response_timeout = Duration::from_secs(6);
        });
        rush_while_moving(&cluster, &store, strategy, &Sku::parse(name).unwrap()).await;
    }
}
