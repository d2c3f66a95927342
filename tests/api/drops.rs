//! Drops: a SKU's sale settings (`PUT …/sale`), per-customer limits decided in the take's
//! own transaction or script on every strategy, and sale windows on Redis's clock, tested
//! against a `serve` whose clock is hours off (faketime).

use crate::fleet::{RedisEnv, serve_under};
use crate::helpers::{AppOptions, TestApp, rfc3339, spawn_app, spawn_app_with};
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

async fn put_sale(app: &TestApp, sku: &str, body: Value) -> (u16, Value) {
    app.send(Method::PUT, &format!("/v1/skus/{sku}/sale"), Some(body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sale_settings_are_set_merged_cleared_shown_and_validated() {
    let app = spawn_app().await;
    app.set_stock("ps5", 10).await;
    let (status, body) = app.get("/v1/skus/ps5/sale").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"sku": "ps5", "opens_at": null, "closes_at": null, "per_customer_limit": null,
               "max_active_holds_per_customer": null, "queue": null})
    );
    assert!(app.stock("ps5").await.get("sale").is_none(), "no sale, no field");
    let (status, body) = put_sale(
        &app,
        "ps5",
        json!({"opens_at": "2030-01-01T13:00:00+01:00", "per_customer_limit": 2}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["opens_at"], "2030-01-01T12:00:00Z");
    assert_eq!(body["per_customer_limit"], 2);
    // A field left out keeps its value; null clears one.
    let (_, body) = put_sale(
        &app,
        "ps5",
        json!({"max_active_holds_per_customer": 1, "opens_at": null}),
    )
    .await;
    assert_eq!(body["opens_at"], Value::Null);
    assert_eq!(body["per_customer_limit"], 2);
    assert_eq!(body["max_active_holds_per_customer"], 1);
    assert_eq!(app.stock("ps5").await["sale"]["per_customer_limit"], 2);
    assert_eq!(app.get("/v1/skus/ps5/sale").await.1, body);
    // Bad input: a clear 400 naming the field, and nothing changes.
    let before = app.dump().await;
    for (bad, field) in [
        (json!({"opens_at": "tomorrow"}), "opens_at"),
        (json!({"opens_at": "2030-01-01T12:00:00"}), "opens_at"),
        (json!({"closes_at": 5}), "closes_at"),
        (json!({"per_customer_limit": 0}), "per_customer_limit"),
        (json!({"per_customer_limit": 1.5}), "per_customer_limit"),
        (
            json!({"max_active_holds_per_customer": -1}),
            "max_active_holds_per_customer",
        ),
        (
            json!({"opens_at": "2030-01-02T00:00:00Z", "closes_at": "2030-01-01T00:00:00Z"}),
            "closes_at",
        ),
    ] {
        let (status, body) = put_sale(&app, "ps5", bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"], "invalid_request");
        assert!(body["message"].as_str().unwrap().contains(field), "{bad}: {body}");
    }
    assert_eq!(app.dump().await, before, "refusals changed nothing");
    let (status, body) = put_sale(&app, "nope", json!({"per_customer_limit": 1})).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("unknown_sku")));
    // Clearing everything removes the settings.
    let (_, body) = put_sale(
        &app,
        "ps5",
        json!({"per_customer_limit": null, "max_active_holds_per_customer": null}),
    )
    .await;
    assert_eq!(body["per_customer_limit"], Value::Null);
    assert!(app.stock("ps5").await.get("sale").is_none());
}

/// What one take kind sends: its path and body for customer `user`.
fn take_of(kind: &str, strategy: &str, user: &str) -> (String, Value) {
    match kind {
        "purchase" => (
            format!("/v1/purchases?strategy={strategy}"),
            json!({"sku": "drop", "quantity": 1, "user_id": user}),
        ),
        "checkout" => (
            format!("/v1/checkouts?strategy={strategy}"),
            json!({"items": [{"sku": "drop", "quantity": 1}], "user_id": user}),
        ),
        _ => (
            format!("/v1/reservations?strategy={strategy}"),
            json!({"items": [{"sku": "drop", "quantity": 1}], "user_id": user, "ttl_seconds": 600}),
        ),
    }
}

/// `customers` × `each` concurrent takes of one unit against a limit; per customer, how many
/// went through, and every other status.
async fn rush_customers(
    app: &TestApp,
    kind: &str,
    strategy: &str,
    customers: usize,
    each: usize,
) -> (HashMap<String, usize>, Vec<(u16, Value)>) {
    let results: Vec<(String, u16, Value)> = futures_util::stream::iter(0..customers * each)
        .map(|i| {
            let user = format!("customer-{}", i % customers);
            let (path, body) = take_of(kind, strategy, &user);
            let request = app.client.post(app.url(&path)).json(&body);
            async move {
                let resp = request.send().await.unwrap();
                let status = resp.status().as_u16();
                (user, status, resp.json().await.unwrap_or(Value::Null))
            }
        })
        .buffer_unordered(customers * each)
        .collect()
        .await;
    let mut got = HashMap::new();
    let mut refused = Vec::new();
    for (user, status, body) in results {
        match status {
            201 => *got.entry(user).or_insert(0) += 1,
            _ => refused.push((status, body)),
        }
    }
    (got, refused)
}

/// 50 customers send 1,000 concurrent takes against a limit of 2, on every path that takes
/// stock (grouped and textbook `watch`, batched and unbatched `lua`) and every kind of take:
/// nobody ends above 2, every refusal is `limit_exceeded` with its numbers (or, on textbook
/// `watch`, whose 1,000 racing transactions may run out of retries, `contention`), the
/// units taken are exactly those answered, and the counts kept are exactly those.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_holds_under_a_rush_on_every_strategy_and_take() {
    for batching in [true, false] {
        let app = spawn_app_with(AppOptions::default(), |c| c.batching = batching).await;
        for strategy in ["watch", "lua"] {
            for kind in ["purchase", "checkout", "hold"] {
                app.set_stock("drop", 10_000).await;
                let (status, _) = put_sale(&app, "drop", json!({"per_customer_limit": 2})).await;
                assert_eq!(status, 200);
                // A fresh SKU per round: retire what the last round sold and held.
                let (got, refused) = rush_customers(&app, kind, strategy, 50, 20).await;
                let case = format!("{kind} on {strategy}, batching {batching}");
                assert!(got.values().all(|n| *n <= 2), "{case}: {got:?}");
                let mut limited = 0;
                for (status, body) in &refused {
                    if !batching && strategy == "watch" && body["error"] == "contention" {
                        continue;
                    }
                    assert_eq!(*status, 409, "{case}: {body}");
                    assert_eq!(body["error"], "limit_exceeded", "{case}: {body}");
                    assert_eq!((body["limit"].as_i64(), body["requested"].as_i64()), (Some(2), Some(1)));
                    assert_eq!(body["already"], 2, "{case}: {body}");
                    assert_eq!(body["counts"], "units");
                    limited += 1;
                }
                if batching {
                    assert_eq!(limited, 900, "{case}");
                    assert_eq!(got.len(), 50, "{case}: every customer got their 2");
                    assert!(got.values().all(|n| *n == 2), "{case}: {got:?}");
                }
                let taken: usize = got.values().sum();
                let stock = app.totals("drop").await;
                assert_eq!(stock["available"], 10_000 - taken as i64, "{case}: {stock}");
                let counts = app.customer_counts("drop").await;
                for (user, n) in &got {
                    assert_eq!(counts.get(&format!("u:{user}")), Some(&(*n as i64)), "{case}: {user}");
                }
                // Start the next round from nothing: holds cancelled, then the SKU retired.
                end_round(&app).await;
            }
        }
        let report = app.verify().await;
        assert!(report.violations.is_empty(), "{:?}", report.violations);
    }
}

/// Cancels every active hold of `drop`, then retires it (which clears its counts).
async fn end_round(app: &TestApp) {
    let mut conn = app.redis.raw().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}:resv:*", app.store.keys().prefix()))
        .query_async(&mut conn)
        .await
        .unwrap();
    for key in keys {
        let (status, id): (Option<String>, Option<String>) = (
            redis::cmd("HGET")
                .arg(&key)
                .arg("status")
                .query_async(&mut conn)
                .await
                .unwrap(),
            key.rsplit(':').next().map(str::to_owned),
        );
        if status.as_deref() == Some("active") {
            let (code, body) = app
                .post(&format!("/v1/reservations/{}/cancel", id.unwrap()), json!({}))
                .await;
            assert_eq!(code, 200, "{body}");
        }
    }
    let (code, body) = app.send(Method::DELETE, "/v1/skus/drop", None).await;
    assert_eq!(code, 200, "{body}");
}

/// A hold counts until it is cancelled or expires; a confirmed hold stays counted.
/// `max_active_holds_per_customer` caps the holds themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_count_until_cancelled_or_expired_and_holds_are_capped() {
    let app = spawn_app().await;
    app.set_stock("drop", 100).await;
    put_sale(
        &app,
        "drop",
        json!({"per_customer_limit": 3, "max_active_holds_per_customer": 2}),
    )
    .await;
    for strategy in ["watch", "lua"] {
        let hold = |ttl: u64| json!({"items": [{"sku": "drop", "quantity": 1}], "user_id": format!("u-{strategy}"), "ttl_seconds": ttl});
        let path = format!("/v1/reservations?strategy={strategy}");
        let (s1, first) = app.post(&path, hold(600)).await;
        let (s2, second) = app.post(&path, hold(1)).await;
        assert_eq!((s1, s2), (201, 201), "{first} {second}");
        // A third active hold passes the hold cap, though the units are within the limit.
        let (status, body) = app.post(&path, hold(600)).await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["error"], "limit_exceeded");
        assert_eq!(body["counts"], "active_holds");
        assert_eq!((body["limit"].as_i64(), body["already"].as_i64()), (Some(2), Some(2)));
        // Cancelling one frees a hold and its unit.
        let id = first["reservation_id"].as_str().unwrap();
        assert_eq!(
            app.post(&format!("/v1/reservations/{id}/cancel"), json!({})).await.0,
            200
        );
        let (status, third) = app.post(&path, hold(600)).await;
        assert_eq!(status, 201, "{third}");
        // The 1-second hold expires (the worker releases it): its unit and hold come back.
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        let second_id = second["reservation_id"].as_str().unwrap();
        assert_eq!(
            app.get(&format!("/v1/reservations/{second_id}")).await.1["status"],
            "expired"
        );
        let (status, fourth) = app.post(&path, hold(600)).await;
        assert_eq!(status, 201, "{fourth}");
        // Confirming ends the holds but keeps their units: 2 units counted, 0 active holds.
        for r in [&third, &fourth] {
            let id = r["reservation_id"].as_str().unwrap();
            let (status, body) = app.post(&format!("/v1/reservations/{id}/confirm"), json!({})).await;
            assert_eq!(status, 201, "{body}");
        }
        let buy = |q: i64| json!({"sku": "drop", "quantity": q, "user_id": format!("u-{strategy}")});
        let (status, body) = app.post(&format!("/v1/purchases?strategy={strategy}"), buy(2)).await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(
            (body["already"].as_i64(), body["requested"].as_i64()),
            (Some(2), Some(2))
        );
        let (status, body) = app.post(&format!("/v1/purchases?strategy={strategy}"), buy(1)).await;
        assert_eq!(status, 201, "{body}");
        let counts = app.customer_counts("drop").await;
        assert_eq!(counts[&format!("u:u-{strategy}")], 3);
        assert_eq!(counts[&format!("h:u-{strategy}")], 0);
    }
    let report = app.verify().await;
    assert!(report.violations.is_empty(), "{:?}", report.violations);
}

/// `broken` checks its limit the naive way (read, think, write), so one customer's
/// concurrent requests all read the count from before the others and pass the limit: the
/// teaching case, as its overselling is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_overshoots_a_limit_that_watch_and_lua_keep() {
    // A long think time, so the race shows even when a starved machine serves the 50
    // requests one after another.
    let app = spawn_app_with(AppOptions::default(), |c| {
        c.broken_think_time = Duration::from_millis(100)
    })
    .await;
    for strategy in ["broken", "watch", "lua"] {
        app.set_stock("drop", 1_000).await;
        put_sale(&app, "drop", json!({"per_customer_limit": 1})).await;
        let (got, _) = rush_customers(&app, "purchase", strategy, 1, 50).await;
        let got = got.values().sum::<usize>();
        match strategy {
            "broken" => assert!(got > 1, "broken let {got} through a limit of 1"),
            _ => assert_eq!(got, 1, "{strategy}"),
        }
        end_round(&app).await;
    }
}

/// A sale window: takes before `opens_at` are `409 not_on_sale` with `opens_at` and a
/// `Retry-After`, after `closes_at` with `closes_at`, on Redis's clock; an idempotent repeat
/// of a refusal stays refused after the sale opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_opens_and_closes_on_redis_clock_on_every_strategy() {
    let app = spawn_app().await;
    let now = app.redis_now_ms().await;
    let opens = now + 2_500;
    app.set_stock("drop", 100).await;
    put_sale(&app, "drop", json!({"opens_at": rfc3339(opens)})).await;
    let buy = json!({"sku": "drop", "quantity": 1, "user_id": "early"});
    for strategy in ["watch", "lua", "broken"] {
        let resp = app
            .client
            .post(app.url(&format!("/v1/purchases?strategy={strategy}")))
            .json(&buy)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 409, "{strategy}");
        let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=3).contains(&retry), "{strategy}: Retry-After {retry}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "not_on_sale");
        assert_eq!(body["opens_at"], rfc3339(opens));
        assert_eq!(body["sku"], "drop");
    }
    let (status, _) = app
        .post_keyed("/v1/purchases?strategy=watch", buy.clone(), "early-1")
        .await;
    assert_eq!(status, 409);
    let hold = json!({"items": [{"sku": "drop", "quantity": 1}], "user_id": "early"});
    assert_eq!(app.post("/v1/reservations?strategy=lua", hold.clone()).await.0, 409);
    assert_eq!(
        app.stock("drop").await["available"],
        100,
        "nothing taken before the sale"
    );
    tokio::time::sleep(Duration::from_millis(
        (opens - app.redis_now_ms().await + 100).max(0) as u64
    ))
    .await;
    for strategy in ["watch", "lua", "broken"] {
        let (status, body) = app
            .post(&format!("/v1/purchases?strategy={strategy}"), buy.clone())
            .await;
        assert_eq!(status, 201, "{strategy}: {body}");
    }
    let (status, _) = app
        .post_keyed("/v1/purchases?strategy=watch", buy.clone(), "early-1")
        .await;
    assert_eq!(status, 409, "a refusal replays as a refusal");
    // Closed: from closes_at on.
    put_sale(&app, "drop", json!({"closes_at": rfc3339(app.redis_now_ms().await)})).await;
    for strategy in ["watch", "lua"] {
        let (status, body) = app
            .post(&format!("/v1/purchases?strategy={strategy}"), buy.clone())
            .await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["error"], "not_on_sale");
        assert!(
            body["closes_at"].is_string() && body.get("opens_at").is_none(),
            "{body}"
        );
    }
    let cart = json!({"items": [{"sku": "drop", "quantity": 1}], "user_id": "late"});
    assert_eq!(app.post("/v1/checkouts", cart).await.0, 409);
    assert_eq!(app.stock("drop").await["available"], 97);
}

/// The environment that runs a program under a clock shifted by `offset` (Debian's
/// libfaketime, what the `faketime` command preloads), its timers' monotonic clock left true.
fn shifted(offset: &str) -> Vec<(&'static str, String)> {
    let lib = std::fs::read_dir("/usr/lib")
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path().join("faketime/libfaketime.so.1")))
        .find(|p| p.exists())
        .expect("libfaketime: install Debian's faketime (scripts/test.sh does)");
    vec![
        ("LD_PRELOAD", lib.display().to_string()),
        ("FAKETIME", offset.to_owned()),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1".to_owned()),
    ]
}

/// Two `serve` processes whose clocks are 5 hours ahead and behind (faketime) open the
/// sale at the same instant as Redis's clock says, not their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_with_skewed_clocks_open_the_sale_on_redis_time() {
    let app = spawn_app().await;
    let prefix = app.store.keys().prefix().to_owned();
    let redis: RedisEnv = ("REDIS_URL", app.redis.url());
    let ahead = serve_under(&shifted("+5h"), &redis, &prefix, &[]).await;
    let behind = serve_under(&shifted("-5h"), &redis, &prefix, &[]).await;
    let opens = app.redis_now_ms().await + 3_000;
    app.set_stock("drop", 100).await;
    put_sale(&app, "drop", json!({"opens_at": rfc3339(opens)})).await;
    let client = reqwest::Client::new();
    let buy = |base: &str, strategy: &str, user: &str| {
        client
            .post(format!("{base}/v1/purchases?strategy={strategy}"))
            .json(&json!({"sku": "drop", "quantity": 1, "user_id": user}))
            .send()
    };
    for (name, base) in [("ahead", &ahead.base), ("behind", &behind.base)] {
        for strategy in ["watch", "lua"] {
            let resp = buy(base, strategy, name).await.unwrap();
            assert_eq!(resp.status(), 409, "{name} on {strategy}: its own clock says open");
        }
    }
    tokio::time::sleep(Duration::from_millis(
        (opens - app.redis_now_ms().await + 100).max(0) as u64
    ))
    .await;
    let mut created = Vec::new();
    for (name, base) in [("ahead", &ahead.base), ("behind", &behind.base)] {
        for strategy in ["watch", "lua"] {
            let resp = buy(base, strategy, name).await.unwrap();
            assert_eq!(resp.status(), 201, "{name} on {strategy}");
            let order: Value = resp.json().await.unwrap();
            let (_, stored) = app
                .get(&format!("/v1/orders/{}", order["order_id"].as_str().unwrap()))
                .await;
            created.push((name, stored["created_at"].as_i64().unwrap()));
        }
    }
    // The skew is real: each process stamps its orders with its own clock.
    let now = app.redis_now_ms().await;
    for (name, at) in created {
        let skew = at - now;
        match name {
            "ahead" => assert!(skew > 4 * 3_600_000, "{name}: {skew} ms"),
            _ => assert!(skew < -4 * 3_600_000, "{name}: {skew} ms"),
        }
    }
}

/// On a 3-master cluster, carts across slots (sagas) keep a limit on one of their SKUs:
/// 10 customers each send 10 concurrent carts of two SKUs on two masters, the second
/// limited to 2 units; nobody gets more than 2 carts, a refused cart takes nothing from
/// either SKU, and a cross-slot hold cancelled gives its count back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_holds_for_carts_across_slots_on_a_cluster() {
    use crate::cluster::{TestCluster, cart, one_per_master, stock};
    use stockwatch::domain::{Strategy, TtlSeconds, UserId};
    use stockwatch::ops::sale::{Change, SaleChange};
    use stockwatch::ops::set_sale;
    use stockwatch::{Error, ops};
    let cluster = TestCluster::start().await;
    for strategy in [Strategy::Watch, Strategy::Lua] {
        let store = cluster.store(|_| {});
        let [a, b, _] = one_per_master("drop");
        stock(&store, &a, 1_000).await;
        stock(&store, &b, 1_000).await;
        // One active hold a customer: a cross-slot checkout's parts are holds only for the
        // instant of their saga, and must not count as ones.
        let limit = SaleChange {
            per_customer_limit: Change::Set(2),
            max_active_holds_per_customer: Change::Set(1),
            ..SaleChange::default()
        };
        set_sale(&store, &b, limit).await.unwrap();
        let items = cart(&[(&a, 1), (&b, 1)]);
        let user = |i: usize| UserId::parse(&format!("c{}", i % 10).into()).unwrap();
        let answers: Vec<(usize, Result<ops::Checkout, Error>)> = futures_util::stream::iter(0..100)
            .map(|i| {
                let (store, items) = (store.clone(), items.clone());
                async move { (i % 10, ops::checkout(&store, strategy, &items, &user(i), None).await) }
            })
            .buffer_unordered(100)
            .collect()
            .await;
        let mut got = [0usize; 10];
        for (who, answer) in answers {
            match answer {
                Ok(_) => got[who] += 1,
                Err(Error::LimitExceeded { sku, limit: 2, .. }) => assert_eq!(sku, b),
                Err(e) => panic!("{strategy:?}: {e}"),
            }
        }
        assert!(got.iter().all(|n| *n <= 2), "{strategy:?}: {got:?}");
        let counts: HashMap<String, i64> = store
            .query(redis::cmd("HGETALL").arg(store.keys().customers(&b)))
            .await
            .unwrap();
        assert!(
            counts.iter().all(|(k, v)| !k.starts_with("h:") || *v == 0),
            "{strategy:?}: no hold left counted: {counts:?}"
        );
        let sold: usize = got.iter().sum();
        let a_stock = ops::get_stock(&store, &a).await.unwrap();
        let b_stock = ops::get_stock(&store, &b).await.unwrap();
        assert_eq!((a_stock.sold, a_stock.reserved), (sold as i64, 0), "{strategy:?}: a");
        assert_eq!((b_stock.sold, b_stock.reserved), (sold as i64, 0), "{strategy:?}: b");
        // A cross-slot hold counts, and its cancel gives the count back.
        let fresh = UserId::parse(&"holder".to_owned().into()).unwrap();
        let two = cart(&[(&a, 1), (&b, 2)]);
        let held = ops::reserve(&store, strategy, &two, &fresh, TtlSeconds::DEFAULT, None)
            .await
            .unwrap();
        let again = ops::reserve(&store, strategy, &cart(&[(&b, 1)]), &fresh, TtlSeconds::DEFAULT, None).await;
        assert!(
            matches!(again, Err(Error::LimitExceeded { already: 2, .. })),
            "{again:?}"
        );
        ops::cancel(&store, &held.reservation_id, None).await.unwrap();
        ops::reserve(&store, strategy, &cart(&[(&b, 2)]), &fresh, TtlSeconds::DEFAULT, None)
            .await
            .unwrap();
        let report = ops::verify(&store).await.unwrap();
        assert!(report.ok, "{:?}", report.violations);
    }
}
