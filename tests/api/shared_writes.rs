//! What a batch's takes write once between them: on `watch`, at the MULTI's end, their
//! orders as one `MSET`, their counter moves as one `HINCRBY` per SKU and field, their holds'
//! expiry entries as one `ZADD`; on `lua`, at the script's end, the same, and each SKU's
//! movements as one `LPUSH`; and the expiry schedule, gathered across commits. Counted from
//! Redis's own command stats (which count a script's calls too), beside the exact levels.

use crate::helpers::{AppOptions, calls, count, eventually, schedule_entry, spawn_app_with};
use crate::operability::{scrape, value};
use serde_json::json;

const WATCH_BATCHES: &str = r#"stockwatch_group_commit_batch_size_count{strategy="watch"}"#;
const LUA_BATCHES: &str = r#"stockwatch_group_commit_batch_size_count{strategy="lua"}"#;

/// Puts `sku`'s stock at each named location: `(location, units)`.
async fn place(app: &crate::helpers::TestApp, sku: &str, places: &[(&str, i64)]) {
    for (location, n) in places {
        let path = format!("/v1/skus/{sku}/locations/{location}/stock");
        let (status, body) = app
            .send(reqwest::Method::PUT, &path, Some(json!({"available": n})))
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

/// A rush of 400 buyers on 300 units of `sku` sold exactly: 300 sales, 100 refusals, every
/// unit in an order.
async fn sold_out(app: &crate::helpers::TestApp, sku: &str, statuses: &[u16]) {
    assert_eq!((count(statuses, 201), count(statuses, 409)), (300, 100), "{sku}");
    let totals = app.totals(sku).await;
    assert_eq!(
        (totals["available"].as_i64(), totals["sold"].as_i64()),
        (Some(0), Some(300)),
        "{sku}"
    );
    assert_eq!(app.units_in_orders(sku).await, 300, "{sku}");
}

/// A rush on one SKU, one from named locations, and one with alert rules, all at once:
/// every level exact, and the counters written once per batch and field, not per buyer,
/// but on the SKU whose alert check reads its level after each buyer's own moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_moves_each_counter_once_and_every_level_is_exact() {
    let app = spawn_app_with(AppOptions::default(), |_| {}).await;
    app.set_stock("plain", 300).await;
    app.set_stock("alerting", 300).await;
    place(&app, "placed", &[("east", 150), ("west", 150)]).await;
    let (status, body) = app
        .send(
            reqwest::Method::PUT,
            "/v1/skus/alerting/alerts",
            Some(json!({"low_stock_threshold": 100})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let before = value(&scrape(&app).await, WATCH_BATCHES);
    let mut raw = app.redis.raw_counting().await;
    let (plain, placed, alerting) = tokio::join!(
        app.rush_limited("plain", 400, "watch", 100),
        app.rush_limited("placed", 400, "watch", 100),
        app.rush_limited("alerting", 400, "watch", 100),
    );
    for (sku, statuses) in [("plain", &plain), ("placed", &placed), ("alerting", &alerting)] {
        sold_out(&app, sku, statuses).await;
    }
    let stock = app.stock("placed").await;
    for location in ["east", "west"] {
        assert_eq!(crate::helpers::at_location(&stock, location, "available"), 0);
        assert_eq!(crate::helpers::at_location(&stock, location, "sold"), 150);
    }
    let report = app.verify().await;
    assert!(report.ok, "{report:?}");

    // Per batch: `available` and `sold` (and at `placed`, each location's two), plus the
    // movements' `moved`. The SKU with alert rules still pays two per buyer: 600.
    let batches = value(&scrape(&app).await, WATCH_BATCHES) - before;
    let hincrby = calls(&mut raw, "hincrby").await as f64;
    assert!(batches < 900.0, "the rush was batched: {batches} batches for 900 sales");
    assert!(
        hincrby <= 600.0 + 5.0 * batches,
        "{hincrby} HINCRBY for {batches} batches: counters were written per buyer"
    );
    // The 900 orders (those from named locations with their allocations): one `MSET` per
    // batch, no `SET` per buyer.
    let (mset, set) = (calls(&mut raw, "mset").await as f64, calls(&mut raw, "set").await);
    assert!(mset >= 1.0 && mset <= batches, "{mset} MSET for {batches} batches");
    assert_eq!(set, 0, "orders written one by one");
}

/// On `lua`, a script call writes its buyers' orders with one `MSET` (those from named
/// locations with their allocations spliced in), each SKU's movements with one `LPUSH`, and
/// its holds' expiry entries with one `ZADD`: every level, order, movement and hold is still
/// there, and every hold still lapses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_writes_what_its_buyers_share_once() {
    let app = spawn_app_with(AppOptions::default(), |_| {}).await;
    app.set_stock("plain", 300).await;
    place(&app, "placed", &[("east", 150), ("west", 150)]).await;
    app.set_stock("held", 1_000).await;
    let before = value(&scrape(&app).await, LUA_BATCHES);
    let mut raw = app.redis.raw_counting().await;
    let (plain, placed) = tokio::join!(
        app.rush_limited("plain", 400, "lua", 100),
        app.rush_limited("placed", 400, "lua", 100),
    );
    for (sku, statuses) in [("plain", &plain), ("placed", &placed)] {
        sold_out(&app, sku, statuses).await;
        let kinds = app.movement_kinds(sku, 1_000).await;
        let sales = kinds.iter().filter(|k| *k == "purchase").count();
        assert_eq!(sales, 300, "{sku}: one movement per sale: {kinds:?}");
    }
    let stock = app.stock("placed").await;
    for location in ["east", "west"] {
        assert_eq!(crate::helpers::at_location(&stock, location, "sold"), 150);
    }
    let batches = value(&scrape(&app).await, LUA_BATCHES) - before;
    let (mset, set) = (calls(&mut raw, "mset").await as f64, calls(&mut raw, "set").await);
    let lpush = calls(&mut raw, "lpush").await as f64;
    assert!(
        batches < 800.0,
        "the rush was batched: {batches} script calls for 800 buyers"
    );
    assert!(mset >= 1.0 && mset <= batches, "{mset} MSET for {batches} script calls");
    assert_eq!(set, 0, "orders written one by one");
    assert!(
        lpush <= 2.0 * batches && lpush < 600.0,
        "{lpush} LPUSH for {batches} script calls of two SKUs: movements pushed one by one"
    );

    let mut raw = app.redis.raw_counting().await;
    let statuses = app
        .fire(
            "/v1/reservations?strategy=lua",
            300,
            100,
            |i| json!({"user_id": format!("h{i}"), "items": [{"sku": "held", "quantity": 1}], "ttl_seconds": 1}),
        )
        .await;
    assert_eq!(count(&statuses, 201), 300, "{statuses:?}");
    let zadd = calls(&mut raw, "zadd").await;
    assert!(zadd < 300, "{zadd} ZADD for 300 holds: one index entry each");
    assert_eq!(app.totals("held").await["reserved"].as_i64(), Some(300));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.totals("held").await["available"].as_i64() != Some(1_000) {
        assert!(std::time::Instant::now() < deadline, "holds did not lapse");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(app.verify().await.ok);
}

/// Holds of one cart: each batch indexes its holds with one `ZADD`, and the expiry
/// schedule is written once per gathering, not once per hold; every hold still lapses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_holds_indexes_them_at_once_and_they_all_lapse() {
    let app = spawn_app_with(AppOptions::default(), |_| {}).await;
    for sku in ["a", "b", "c"] {
        app.set_stock(sku, 1_000).await;
    }
    let mut raw = app.redis.raw_counting().await;
    let items = json!([{"sku": "a", "quantity": 1}, {"sku": "b", "quantity": 2}, {"sku": "c", "quantity": 1}]);
    let statuses = app
        .fire(
            "/v1/reservations?strategy=watch",
            300,
            100,
            |i| json!({"user_id": format!("h{i}"), "items": items, "ttl_seconds": 1}),
        )
        .await;
    assert_eq!(count(&statuses, 201), 300, "{statuses:?}");
    let zadd = calls(&mut raw, "zadd").await;
    let hincrby = calls(&mut raw, "hincrby").await;
    assert!(
        zadd < 300,
        "{zadd} ZADD for 300 holds: one index entry and one schedule write each"
    );
    assert!(hincrby < 300 * 6, "{hincrby} HINCRBY for 300 holds of three lines");
    let (a, b) = (app.totals("a").await, app.totals("b").await);
    assert_eq!(
        (a["available"].as_i64(), a["reserved"].as_i64()),
        (Some(700), Some(300))
    );
    assert_eq!(
        (b["available"].as_i64(), b["reserved"].as_i64()),
        (Some(400), Some(600))
    );

    // The schedule was written after the commits, in the background: the worker finds
    // every hold in its slot and gives all the units back.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let b = app.totals("b").await;
        if b["available"].as_i64() == Some(1_000) {
            assert_eq!(b["reserved"].as_i64(), Some(0));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "holds did not lapse: {b}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(app.verify().await.ok);
}

/// A schedule write in flight when its runtime shuts down (a server worker that stopped,
/// and that actix replaces) leaves no sender marked as running: the next hold's report, on
/// another worker's lane, starts a sender of its own, and its deadline reaches the
/// schedule. The first write is held up by pausing Redis's writes (reads go on).
#[test]
fn a_sender_stopped_mid_write_strands_no_later_report() {
    // The store's own tasks (the feed's connection) run on a runtime that outlives the test.
    let home = tokio::runtime::Runtime::new().unwrap();
    let _home = home.enter();
    let redis = home.block_on(crate::helpers::TestRedis::start());
    let mut raw = home.block_on(redis.raw());
    let config = stockwatch::StoreConfig {
        key_prefix: crate::helpers::fresh_prefix(),
        ..stockwatch::StoreConfig::default()
    };
    let store = stockwatch::Store::new(&redis.url(), config).unwrap();
    let due = store.keys().expiry_due();
    let (one, two) = (store.lane().unwrap(), store.lane().unwrap());
    let client = |raw: &mut redis::aio::MultiplexedConnection, args: &[&str]| {
        let _: () = home.block_on(redis::cmd("CLIENT").arg(args).query_async(raw)).unwrap();
    };
    client(&mut raw, &["PAUSE", "20000", "WRITE"]);
    let first = tokio::runtime::Runtime::new().unwrap();
    first.block_on(async {
        one.hold_added(1, 1_000);
        // Long enough for the sender to send its write, which the pause holds.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    });
    drop(first);
    client(&mut raw, &["UNPAUSE"]);
    let second = tokio::runtime::Runtime::new().unwrap();
    second.block_on(async {
        two.hold_added(2, 2_000);
        let landed = async || schedule_entry(&mut raw, &due, 2).await == Some(2_000);
        eventually(std::time::Duration::from_secs(5), landed).await;
        let score = schedule_entry(&mut raw, &due, 2).await;
        assert_eq!(
            score,
            Some(2_000),
            "a report waited behind a sender that no longer runs"
        );
    });
}
