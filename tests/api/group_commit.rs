//! Group commit on `lua`: concurrent takes share one script call, and each buyer still gets
//! exactly its own answer, order, idempotent replay and movement; `--batching off` keeps
//! one call per buyer. (Batched `watch` is pinned by the tests of each feature, which run
//! both strategies.)

use crate::helpers::{AppOptions, TestApp, count, spawn_app, spawn_app_with};
use crate::operability::{scrape, value};
use futures_util::future::join_all;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};

const LUA_BATCHES: &str = r#"stockwatch_group_commit_batch_size_count{strategy="lua"}"#;
const LUA_TAKES: &str = r#"stockwatch_group_commit_batch_size_sum{strategy="lua"}"#;

/// POSTs every (path, body) at once; each (user_id sent, status, answer), in request order.
async fn all_at_once(app: &TestApp, requests: Vec<(String, Value)>) -> Vec<(String, u16, Value)> {
    join_all(requests.into_iter().map(|(path, body)| async move {
        let user = body["user_id"].as_str().unwrap().to_owned();
        let (status, answer) = app.post(&path, body).await;
        (user, status, answer)
    }))
    .await
}

/// Movements of `sku` by kind, read back from its stream.
async fn movements(app: &TestApp, sku: &str) -> BTreeMap<String, usize> {
    let (status, body) = app.get(&format!("/v1/skus/{sku}/movements?limit=1000")).await;
    assert_eq!(status, 200, "{body}");
    let mut kinds = BTreeMap::new();
    for m in body["movements"].as_array().unwrap() {
        *kinds.entry(m["kind"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    kinds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_lua_shares_script_calls_and_gives_each_buyer_its_own_order() {
    let app = spawn_app().await;
    app.set_stock("hot", 300).await;
    let requests = (0..400)
        .map(|i| {
            let body = json!({"sku": "hot", "quantity": 1, "user_id": format!("b{i}")});
            ("/v1/purchases?strategy=lua".to_owned(), body)
        })
        .collect();
    let answers = all_at_once(&app, requests).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.1).collect();
    assert_eq!(
        (count(&statuses, 201), count(&statuses, 409)),
        (300, 100),
        "{statuses:?}"
    );

    // Each winner has its own order, stored as answered, for its own user.
    let mut ids = HashSet::new();
    for (user, _, body) in answers.iter().filter(|a| a.1 == 201) {
        let id = body["order_id"].as_str().unwrap();
        assert!(ids.insert(id.to_owned()), "order id {id} answered twice");
        let (status, stored) = app.get(&format!("/v1/orders/{id}")).await;
        assert_eq!(status, 200, "{stored}");
        assert_eq!(stored["user_id"], user.as_str(), "the order is this buyer's");
        assert_eq!(stored["items"][0]["quantity"], 1);
    }
    for (_, _, body) in answers.iter().filter(|a| a.1 == 409) {
        assert_eq!(body["error"], "insufficient_stock", "{body}");
    }
    let stock = app.stock("hot").await;
    assert_eq!(
        (stock["available"].as_i64(), stock["sold"].as_i64()),
        (Some(0), Some(300))
    );
    assert_eq!(app.units_in_orders("hot").await, 300);
    assert_eq!(
        movements(&app, "hot").await.get("purchase"),
        Some(&300),
        "one movement per sale"
    );
    assert!(app.verify().await.ok);

    // Every buyer went through a group commit, and buyers shared calls.
    let metrics = scrape(&app).await;
    let (batches, takes) = (value(&metrics, LUA_BATCHES), value(&metrics, LUA_TAKES));
    assert_eq!(takes, 400.0, "every take, refusals included, was in a batch");
    assert!(
        batches < takes,
        "400 buyers at once share script calls: {batches} calls"
    );
}

/// Purchases, carts, reservations, refusals of every kind and keyed repeats, all at once on
/// two SKUs: whatever batches they fell into, each answer is its own and the books add up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_rush_decides_every_kind_of_take_exactly() {
    let app = spawn_app().await;
    app.set_stock("a", 50).await;
    app.set_stock("b", 30).await;
    let lua = |what: &str| format!("/v1/{what}?strategy=lua");
    let mut requests = Vec::new();
    for i in 0..60 {
        requests.push((
            lua("purchases"),
            json!({"sku": "a", "quantity": 1, "user_id": format!("p{i}")}),
        ));
    }
    for i in 0..40 {
        let items = json!([{"sku": "a", "quantity": 1}, {"sku": "b", "quantity": 1}]);
        requests.push((lua("checkouts"), json!({"user_id": format!("c{i}"), "items": items})));
    }
    for i in 0..40 {
        let items = json!([{"sku": "b", "quantity": 1}]);
        requests.push((
            lua("reservations"),
            json!({"user_id": format!("r{i}"), "items": items, "ttl_seconds": 600}),
        ));
    }
    for i in 0..10 {
        requests.push((
            lua("purchases"),
            json!({"sku": "ghost", "quantity": 1, "user_id": format!("g{i}")}),
        ));
        let pinned = json!({"sku": "a", "quantity": 1, "user_id": format!("l{i}"), "location": "mars"});
        requests.push((lua("purchases"), pinned));
    }
    let answers = all_at_once(&app, requests).await;
    let (mut a_taken, mut b_sold, mut b_held) = (0, 0, 0);
    for (user, status, body) in &answers {
        match (status, user.chars().next()) {
            (201, Some('p')) => a_taken += 1,
            (201, Some('c')) => {
                a_taken += 1;
                b_sold += 1;
            }
            (201, Some('r')) => b_held += 1,
            (201, _) => panic!("a take that must be refused was served: {body}"),
            (409, _) => assert_eq!(body["error"], "insufficient_stock", "{body}"),
            (404, _) => assert!(
                ["unknown_sku", "unknown_location"].contains(&body["error"].as_str().unwrap()),
                "{body}"
            ),
            _ => panic!("unexpected answer {status}: {body}"),
        }
    }
    let statuses: Vec<u16> = answers.iter().map(|a| a.1).collect();
    assert_eq!(count(&statuses, 404), 20, "every ghost and every pin to mars");
    let (a, b) = (app.totals("a").await, app.totals("b").await);
    assert_eq!(a["sold"], a_taken, "a: every served purchase and cart, nothing else");
    assert_eq!(a["available"], 50 - a_taken);
    assert_eq!(a_taken, 50, "a is contended to exhaustion");
    assert_eq!(
        (b["sold"].as_i64(), b["reserved"].as_i64()),
        (Some(b_sold), Some(b_held))
    );
    assert_eq!(b["available"].as_i64(), Some(30 - b_sold - b_held));
    assert_eq!(
        app.units_in_orders("b").await,
        b_sold,
        "a cart took both lines or neither"
    );
    assert!(app.verify().await.ok);
}

/// Repeats of one key in one burst: one effect; the same key with another body is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_repeats_in_one_batch_replay_the_first_answer() {
    let app = spawn_app().await;
    app.set_stock("k", 10).await;
    let path = "/v1/purchases?strategy=lua";
    let same = json!({"sku": "k", "quantity": 2, "user_id": "u"});
    let other = json!({"sku": "k", "quantity": 3, "user_id": "u"});
    let app = &app;
    let answers = join_all((0..60).map(|i| {
        let body = if i % 6 == 5 { other.clone() } else { same.clone() };
        async move { (i % 6 == 5, app.post_keyed(path, body, "pay-once").await) }
    }))
    .await;
    let firsts: Vec<&(u16, String)> = answers
        .iter()
        .filter(|(o, a)| !o && a.0 == 201)
        .map(|(_, a)| a)
        .collect();
    let others: Vec<&(u16, String)> = answers.iter().filter(|(o, _)| *o).map(|(_, a)| a).collect();
    let stock = app.stock("k").await;
    let sold = stock["sold"].as_i64().unwrap();
    assert!(
        sold == 2 || sold == 3,
        "one effect, from whichever body came first: {sold}"
    );
    if sold == 2 {
        assert_eq!(firsts.len(), 50, "every repeat of the first body gets its answer");
        assert!(firsts.iter().all(|a| *a == firsts[0]));
        assert!(others.iter().all(|a| a.0 == 422), "{others:?}");
    } else {
        assert!(others.iter().all(|a| a.0 == 201 && *a == others[0]), "{others:?}");
    }
    assert_eq!(app.units_in_orders("k").await, sold);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbatched_lua_makes_one_script_call_per_buyer() {
    let app = spawn_app_with(AppOptions::default(), |c| c.batching = false).await;
    app.set_stock("solo", 100).await;
    let statuses = app.rush("solo", 200, "lua").await;
    assert_eq!((count(&statuses, 201), count(&statuses, 409)), (100, 100));
    assert_eq!(app.units_in_orders("solo").await, 100);
    let metrics = scrape(&app).await;
    assert_eq!(value(&metrics, LUA_BATCHES), 200.0, "one call per buyer");
    assert_eq!(value(&metrics, LUA_TAKES), 200.0);
    assert!(app.verify().await.ok);
}

/// A purchase's future is moved whole on every call (into its task, its timer, each layer
/// that awaits it), so rarely taken branches (sagas, the unbatched strategies, reconnects,
/// listing a slot) are boxed. Inline, they made it 19 KB and memcpy the top of a profile.
#[tokio::test]
async fn the_take_path_futures_stay_small() {
    use stockwatch::domain::{CartItems, Quantity, Sku, Strategy, TtlSeconds, UserId};
    use stockwatch::ops;
    let app = spawn_app().await;
    let (store, sku) = (&app.store, Sku::parse("small").unwrap());
    let user = UserId::parse(&json!("u")).unwrap();
    let one = Quantity::parse(&json!(1), "quantity").unwrap();
    let items = CartItems::single(sku.clone(), one);
    let ttl = TtlSeconds::parse(Some(&json!(60))).unwrap();
    for strategy in [Strategy::Watch, Strategy::Lua] {
        let sizes = [
            (
                "purchase",
                size_of_val(&ops::purchase(store, strategy, &sku, one, &user, None)),
            ),
            (
                "checkout",
                size_of_val(&ops::checkout(store, strategy, &items, &user, None)),
            ),
            (
                "reserve",
                size_of_val(&ops::reserve(store, strategy, &items, &user, ttl, None)),
            ),
        ];
        for (op, size) in sizes {
            assert!(size <= 4096, "{op} on {strategy:?}: a {size}-byte future");
        }
    }
}

/// Batches overlap: in a closed loop (each buyer buys again as soon as it is answered), one
/// batch in flight at a time would take every buyer each round (a convoy, batches of
/// exactly the loop's size). Pipelined, the waiting buyers are split over the batches that
/// may still be sent, so batches are smaller than the loop, and the stock still sells out
/// exactly, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lua_batches_overlap_in_a_closed_loop_and_still_sell_exactly() {
    use stockwatch::domain::{Quantity, Sku, Strategy, UserId};
    let app = spawn_app().await;
    app.set_stock("loop", 900).await;
    let (sku, one) = (
        Sku::parse("loop").unwrap(),
        Quantity::parse(&json!(1), "quantity").unwrap(),
    );
    let buyers = (0..50).map(|b| {
        let (store, sku) = (app.store.clone(), sku.clone());
        tokio::spawn(async move {
            let user = UserId::parse(&json!(format!("b{b}"))).unwrap();
            let (mut won, mut last) = (0u32, i64::MAX);
            for _ in 0..20 {
                match stockwatch::ops::purchase(&store, Strategy::Lua, &sku, one, &user, None).await {
                    Ok(p) => {
                        // One buyer's purchases run in its order: what it leaves only falls.
                        assert!(p.remaining < last, "{} after {last}", p.remaining);
                        last = p.remaining;
                        won += 1;
                    }
                    Err(e) => assert_eq!(e.code(), "insufficient_stock", "{e}"),
                }
            }
            won
        })
    });
    let won: u32 = join_all(buyers).await.into_iter().map(Result::unwrap).sum();
    assert_eq!(won, 900, "exactly the stock, out of 1,000 tries");
    let stock = app.stock("loop").await;
    assert_eq!(
        (stock["available"].as_i64(), stock["sold"].as_i64()),
        (Some(0), Some(900)),
        "{stock}"
    );
    let metrics = scrape(&app).await;
    let (batches, takes) = (value(&metrics, LUA_BATCHES), value(&metrics, LUA_TAKES));
    assert_eq!(takes, 1000.0);
    // Measured on 2 cores: about 13 takes per batch with two batches in flight (7 with four),
    // 23 with one.
    assert!(takes / batches < 18.0, "{batches} batches for {takes} takes: a convoy");
}

/// `watch` batches overlap only on different keys: in a closed loop over many SKUs they are
/// split and overlap; on one hot SKU a batch still takes everyone waiting (two in flight
/// would abort each other). Both sell exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_batches_overlap_only_on_different_skus() {
    use stockwatch::domain::{Quantity, Sku, Strategy, UserId};
    const WATCH_BATCHES: &str = r#"stockwatch_group_commit_batch_size_count{strategy="watch"}"#;
    const WATCH_TAKES: &str = r#"stockwatch_group_commit_batch_size_sum{strategy="watch"}"#;
    let app = spawn_app().await;
    let one = Quantity::parse(&json!(1), "quantity").unwrap();
    let mut seen = (0.0, 0.0);
    for (skus, expect_split) in [(50, true), (1, false)] {
        for s in 0..skus {
            app.set_stock(&format!("w{skus}-{s}"), 10).await;
        }
        let buyers = (0..50).map(|b| {
            let store = app.store.clone();
            let sku = Sku::parse(&format!("w{skus}-{}", b % skus)).unwrap();
            tokio::spawn(async move {
                let user = UserId::parse(&json!(format!("b{b}"))).unwrap();
                let mut won = 0u32;
                for _ in 0..20 {
                    match stockwatch::ops::purchase(&store, Strategy::Watch, &sku, one, &user, None).await {
                        Ok(_) => won += 1,
                        Err(e) => assert_eq!(e.code(), "insufficient_stock", "{e}"),
                    }
                }
                won
            })
        });
        let won: u32 = join_all(buyers).await.into_iter().map(Result::unwrap).sum();
        assert_eq!(won, 10 * skus, "exactly the stock of {skus} SKUs");
        let metrics = scrape(&app).await;
        let (batches, takes) = (value(&metrics, WATCH_BATCHES), value(&metrics, WATCH_TAKES));
        let mean = (takes - seen.1) / (batches - seen.0);
        seen = (batches, takes);
        if expect_split {
            assert!(mean < 16.0, "{skus} SKUs: {mean} takes per batch, a convoy");
        } else {
            assert!(mean > 16.0, "one SKU: {mean} takes per batch; its batches were split");
        }
    }
}
