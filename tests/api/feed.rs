//! The stock feed when nobody follows it: the outbox publishes now and then to ask, not
//! once per batch, and a subscriber that arrives on another process still sees every change
//! that commits after its subscription returned.

use crate::helpers::{AppOptions, spawn_app_with, store_on};
use serde_json::json;
use std::time::{Duration, Instant};

/// How long a publish nobody received quiets an outbox (`events::listeners::QUIET_FOR`).
const QUIET_FOR: Duration = Duration::from_millis(100);

/// `PUBLISH` calls Redis has run since its stats were last reset.
async fn publishes(conn: &mut redis::aio::MultiplexedConnection) -> u64 {
    crate::helpers::calls(conn, "publish").await
}

/// A rush with no subscriber anywhere: at most two publishes per quiet period (the one that
/// asks, and the changes queued while it was on its way), where every batch used to publish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_nobody_follows_publishes_only_to_ask() {
    let app = spawn_app_with(AppOptions::default(), |_| {}).await;
    app.set_stock("quiet", 100_000).await;
    let mut raw = app.redis.raw_counting().await;
    let started = Instant::now();
    for strategy in ["watch", "lua"] {
        let statuses = app.rush_limited("quiet", 1_500, strategy, 50).await;
        assert_eq!(crate::helpers::count(&statuses, 201), 1_500, "{strategy}");
    }
    let periods = started.elapsed().as_micros() / QUIET_FOR.as_micros() + 1;
    let published = publishes(&mut raw).await;
    assert!(published >= 1, "the outbox still asks whether anyone listens");
    assert!(
        u128::from(published) <= 2 * periods,
        "{published} publishes for 3,000 purchases over {periods} quiet periods"
    );
}

/// The same on a 3-master cluster, where the feed publishes sharded (`SPUBLISH` on the
/// SKU's shard channel): counted over every master.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_feed_nobody_follows_on_a_cluster_publishes_only_to_ask() {
    use crate::cluster::{TestCluster, node, rush};
    use stockwatch::domain::{Sku, Strategy};
    let cluster = TestCluster::start().await;
    let store = cluster.store(|_| {});
    let sku = Sku::parse("quiet").unwrap();
    let mut masters = Vec::new();
    for port in cluster.cluster.ports() {
        let (mut conn, _) = node(port).await;
        let _: () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query_async(&mut conn)
            .await
            .unwrap();
        masters.push(conn);
    }
    let started = Instant::now();
    for strategy in [Strategy::Watch, Strategy::Lua] {
        let (sold, _) = rush(&store, strategy, &sku, 1_500, 100_000).await;
        assert_eq!(sold, 1_500, "{strategy:?}");
    }
    let periods = started.elapsed().as_micros() / QUIET_FOR.as_micros() + 1;
    let mut published = 0;
    for conn in &mut masters {
        published += crate::helpers::calls(conn, "spublish").await;
        assert_eq!(crate::helpers::calls(conn, "publish").await, 0, "sharded only");
    }
    assert!(published >= 1, "the outbox still asks whether anyone listens");
    assert!(
        u128::from(published) <= 2 * periods,
        "{published} publishes for 3,000 purchases over {periods} quiet periods"
    );
}

/// Each round, the serving process has just published to nobody (so it is quiet), then a
/// second process subscribes, and the first sells at once: the second sees the sale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_on_another_process_sees_what_commits_after_it_subscribed() {
    let app = spawn_app_with(AppOptions::default(), |_| {}).await;
    let prefix = app.store.keys().prefix().to_owned();
    app.set_stock("joined", 1_000).await;
    let mut raw = app.redis.raw().await;
    let patience = Instant::now() + Duration::from_secs(30);
    for round in 0..3 {
        // Past any earlier quiet, so this purchase's change is published (to nobody).
        tokio::time::sleep(QUIET_FOR).await;
        let asked = publishes(&mut raw).await;
        let buy = json!({"sku": "joined", "quantity": 1, "user_id": format!("before-{round}")});
        assert_eq!(app.post("/v1/purchases", buy).await.0, 201);
        // Its publish ran with no subscriber: the serving process is quiet now.
        while publishes(&mut raw).await == asked {
            assert!(
                Instant::now() < patience,
                "round {round}: the purchase was never published"
            );
            tokio::task::yield_now().await;
        }
        // Another process on the same Redis and prefix (its own feed, its own inbox).
        let other = store_on(&app.redis, |c| c.key_prefix = prefix.clone());
        let mut feed = other.subscribe_stock().await;
        let buy = json!({"sku": "joined", "quantity": 1, "user_id": format!("after-{round}")});
        assert_eq!(app.post("/v1/purchases", buy).await.0, 201);
        let sold = 2 * round + 2;
        let seen = tokio::time::timeout(Duration::from_secs(5), async {
            while feed.recv().await.unwrap().sold != sold {}
        });
        assert!(
            seen.await.is_ok(),
            "round {round}: the sale after subscribing was not published"
        );
    }
}
