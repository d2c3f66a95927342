//! Stock per location: priority draws, pins, transfers, counted adjustments, and units
//! going back where they came from. Every path (`watch` batched and textbook, `lua`,
//! `broken`) draws the same way, and `verify` checks each location.

use crate::helpers::{AppOptions, TestApp, count, spawn_app_with};
use reqwest::Method;
use serde_json::{Value, json};

async fn app() -> TestApp {
    spawn_app_with(
        AppOptions {
            allow_broken: true,
            ..AppOptions::default()
        },
        |_| {},
    )
    .await
}

async fn put_location(app: &TestApp, sku: &str, location: &str, body: Value) -> (u16, Value) {
    app.send(
        Method::PUT,
        &format!("/v1/skus/{sku}/locations/{location}/stock"),
        Some(body),
    )
    .await
}

/// `east` 3 (priority 1), `west` 5 (priority 2), nothing at `default`.
async fn two_warehouses(app: &TestApp, sku: &str) {
    for (location, available, priority) in [("east", 3, 1), ("west", 5, 2)] {
        let (status, body) = put_location(
            app,
            sku,
            location,
            json!({"available": available, "priority": priority}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
}

/// `(location, available, reserved, sold)` of each location shown, in draw order.
async fn places(app: &TestApp, sku: &str) -> Vec<(String, i64, i64, i64)> {
    let stock = app.stock(sku).await;
    stock["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["location"].as_str().unwrap().to_owned(),
                l["available"].as_i64().unwrap(),
                l["reserved"].as_i64().unwrap(),
                l["sold"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn loc(name: &str, available: i64, reserved: i64, sold: i64) -> (String, i64, i64, i64) {
    (name.to_owned(), available, reserved, sold)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_are_drawn_by_priority_split_when_short_and_pinned_on_request() {
    let app = app().await;
    for (i, strategy) in ["watch", "lua", "broken"].iter().enumerate() {
        let sku = format!("p{i}");
        two_warehouses(&app, &sku).await;
        let (status, body) = app
            .post(
                &format!("/v1/purchases?strategy={strategy}"),
                json!({"sku": sku, "quantity": 4, "user_id": "u"}),
            )
            .await;
        assert_eq!(status, 201, "{strategy}: {body}");
        let split = json!([{"location": "east", "quantity": 3}, {"location": "west", "quantity": 1}]);
        assert_eq!(body["allocations"], split, "{strategy}");
        assert_eq!(body["remaining"], 4);
        let (_, order) = app
            .get(&format!("/v1/orders/{}", body["order_id"].as_str().unwrap()))
            .await;
        assert_eq!(
            order["items"][0]["allocations"], split,
            "{strategy}: the order keeps them"
        );
        assert_eq!(
            places(&app, &sku).await,
            vec![loc("east", 0, 0, 3), loc("west", 4, 0, 1)],
            "{strategy}"
        );

        // Pinned: only that location counts.
        let pinned = json!({"sku": sku, "quantity": 2, "user_id": "u", "location": "west"});
        let (status, body) = app.post(&format!("/v1/purchases?strategy={strategy}"), pinned).await;
        assert_eq!(status, 201, "{strategy}: {body}");
        assert_eq!(body["allocations"], json!([{"location": "west", "quantity": 2}]));
        let before = app.dump().await;
        let short = json!({"sku": sku, "quantity": 1, "user_id": "u", "location": "east"});
        let (status, body) = app.post(&format!("/v1/purchases?strategy={strategy}"), short).await;
        assert_eq!(status, 409, "{strategy}: {body}");
        assert_eq!(
            (body["available"].as_i64(), body["requested"].as_i64()),
            (Some(0), Some(1))
        );
        let nowhere = json!({"sku": sku, "quantity": 1, "user_id": "u", "location": "north"});
        let (status, body) = app.post(&format!("/v1/purchases?strategy={strategy}"), nowhere).await;
        assert_eq!(status, 404, "{strategy}: {body}");
        assert_eq!(
            (body["error"].as_str(), body["location"].as_str()),
            (Some("unknown_location"), Some("north"))
        );
        assert_eq!(app.dump().await, before, "{strategy}: refusals changed nothing");
    }
    let report = app.verify().await;
    assert!(report.ok, "{:?}", report.violations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v1_sku_has_one_implicit_location_and_the_v1_endpoints_act_on_it() {
    let app = app().await;
    app.set_stock("old", 5).await;
    assert_eq!(
        app.stock("old").await,
        json!({"sku": "old", "available": 5, "reserved": 0, "sold": 0, "damaged": 0, "incoming": 0, "safety_stock": 0,
            "preordered": 0,
            "locations": [{"location": "default", "available": 5, "reserved": 0, "sold": 0, "damaged": 0,
                "incoming": 0, "safety_stock": 0, "preordered": 0, "priority": 0}]})
    );
    let (_, bought) = app
        .post("/v1/purchases", json!({"sku": "old", "quantity": 2, "user_id": "u"}))
        .await;
    assert_eq!(bought["allocations"], json!([{"location": "default", "quantity": 2}]));
    // A named location joins after `default` (priority 1 by default); `default` keeps what
    // it held, and PUT /stock still sets it.
    let (status, body) = put_location(&app, "old", "east", json!({"available": 4})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["available"], 7);
    app.set_stock("old", 1).await;
    assert_eq!(
        places(&app, "old").await,
        vec![loc("default", 1, 0, 2), loc("east", 4, 0, 0)]
    );
    let (status, body) = app
        .post("/v1/skus/old/restock", json!({"quantity": 2, "location": "east"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        places(&app, "old").await,
        vec![loc("default", 1, 0, 2), loc("east", 6, 0, 0)]
    );
    // Reprioritised: east first.
    let (status, _) = put_location(&app, "old", "east", json!({"available": 6, "priority": 0})).await;
    assert_eq!(status, 200);
    let (status, body) = put_location(&app, "old", "default", json!({"available": 1, "priority": 5})).await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<String> = places(&app, "old").await.into_iter().map(|p| p.0).collect();
    assert_eq!(names, ["east", "default"]);
    let report = app.verify().await;
    assert!(report.ok, "{:?}", report.violations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_and_counted_adjustments_keep_every_location_conserved() {
    let app = app().await;
    two_warehouses(&app, "t").await;
    let (status, body) = app
        .post(
            "/v1/skus/t/transfers",
            json!({"from": "west", "to": "east", "quantity": 4}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["available"], 8, "a transfer moves no total");
    assert_eq!(
        places(&app, "t").await,
        vec![loc("east", 7, 0, 0), loc("west", 1, 0, 0)]
    );
    let before = app.dump().await;
    let (status, body) = app
        .post(
            "/v1/skus/t/transfers",
            json!({"from": "west", "to": "east", "quantity": 2}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("insufficient_stock")),
        "{body}"
    );
    assert_eq!(body["available"], 1);
    let (status, body) = app
        .post(
            "/v1/skus/t/transfers",
            json!({"from": "west", "to": "north", "quantity": 1}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("unknown_location")),
        "{body}"
    );
    assert_eq!(app.dump().await, before, "refused transfers changed nothing");

    // A count found 5 at east (2 lost), then 1 damaged unit written off at west, then 3 found.
    let adjust = |location: &str, body: Value| {
        let path = format!("/v1/skus/t/locations/{location}/adjustments");
        let app = &app;
        async move { app.post(&path, body).await }
    };
    let (status, body) = adjust("east", json!({"counted": 5, "reason": "cycle_count"})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = adjust("west", json!({"delta": -1, "reason": "damaged"})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = adjust("west", json!({"delta": -1, "reason": "lost"})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("insufficient_stock")),
        "{body}"
    );
    let (status, body) = adjust("default", json!({"delta": 3, "reason": "found"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["available"], 8);
    assert_eq!(
        places(&app, "t").await,
        vec![loc("default", 3, 0, 0), loc("east", 5, 0, 0), loc("west", 0, 0, 0)]
    );
    let (_, moves) = app.get("/v1/skus/t/movements").await;
    let newest: Vec<(String, i64, String)> = moves["movements"]
        .as_array()
        .unwrap()
        .iter()
        .take(4)
        .map(|m| {
            (
                m["kind"].as_str().unwrap().to_owned(),
                m["quantity"].as_i64().unwrap(),
                m["reason"].as_str().or(m["to"].as_str()).unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        newest,
        [
            ("adjust".to_owned(), 3, "found".to_owned()),
            ("adjust".to_owned(), -1, "damaged".to_owned()),
            ("adjust".to_owned(), -2, "cycle_count".to_owned()),
            ("transfer".to_owned(), 4, "east".to_owned()),
        ]
    );
    let report = app.verify().await;
    assert!(report.ok, "{:?}", report.violations);

    // A tampered location counter is caught per location.
    let mut conn = app.redis.raw().await;
    let _: i64 = redis::cmd("HINCRBY")
        .arg(app.store.keys().stock(&stockwatch::domain::Sku::parse("t").unwrap()))
        .arg("sold@east")
        .arg(1)
        .query_async(&mut conn)
        .await
        .unwrap();
    let rules: Vec<&str> = app.verify().await.violations.iter().map(|v| v.rule).collect();
    assert!(rules.contains(&"location_sold_mismatch"), "{rules:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_expiry_return_each_unit_where_it_came_from_and_confirm_keeps_it() {
    let app = app().await;
    for strategy in ["watch", "lua"] {
        let sku = format!("r-{strategy}");
        two_warehouses(&app, &sku).await;
        let held = app.reserve(strategy, &[(&sku, 5)], 60).await;
        let split = json!([{"location": "east", "quantity": 3}, {"location": "west", "quantity": 2}]);
        assert_eq!(held["items"][0]["allocations"], split);
        assert_eq!(
            places(&app, &sku).await,
            vec![loc("east", 0, 3, 0), loc("west", 3, 2, 0)]
        );
        // Stock moved meanwhile: the units still go back where they came from.
        let (status, _) = app
            .post(
                &format!("/v1/skus/{sku}/transfers"),
                json!({"from": "west", "to": "east", "quantity": 3}),
            )
            .await;
        assert_eq!(status, 200);
        let id = held["reservation_id"].as_str().unwrap();
        let (status, body) = app.post(&format!("/v1/reservations/{id}/cancel"), json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["items"][0]["allocations"], split);
        assert_eq!(
            places(&app, &sku).await,
            vec![loc("east", 6, 0, 0), loc("west", 2, 0, 0)]
        );

        let held = app.reserve(strategy, &[(&sku, 7)], 60).await;
        let id = held["reservation_id"].as_str().unwrap();
        let (status, confirmed) = app.post(&format!("/v1/reservations/{id}/confirm"), json!({})).await;
        assert_eq!(status, 201, "{confirmed}");
        let (_, order) = app
            .get(&format!("/v1/orders/{}", confirmed["order_id"].as_str().unwrap()))
            .await;
        let drawn = json!([{"location": "east", "quantity": 6}, {"location": "west", "quantity": 1}]);
        assert_eq!(order["items"][0]["allocations"], drawn, "{strategy}");
        assert_eq!(
            places(&app, &sku).await,
            vec![loc("east", 0, 0, 6), loc("west", 1, 0, 1)]
        );

        // A lapsed hold, released by the worker.
        let (status, _) = put_location(&app, &sku, "east", json!({"available": 2})).await;
        assert_eq!(status, 200);
        app.reserve(strategy, &[(&sku, 3)], 1).await;
        assert_eq!(
            places(&app, &sku).await,
            vec![loc("east", 0, 2, 6), loc("west", 0, 1, 1)]
        );
        // The app's expiry worker releases it.
        let released = vec![loc("east", 2, 0, 6), loc("west", 1, 0, 1)];
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        while places(&app, &sku).await != released && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(places(&app, &sku).await, released, "{strategy}");
    }
    let report = app.verify().await;
    assert!(report.ok, "{:?}", report.violations);
}

/// Three locations hold 100 units; 150 buyers of one unit each rush them at once.
async fn rush_across_locations(app: &TestApp, strategy: &str, sku: &str) {
    for (location, available, priority) in [("a", 20, 1), ("b", 30, 2), ("c", 50, 3)] {
        let (status, _) = put_location(
            app,
            sku,
            location,
            json!({"available": available, "priority": priority}),
        )
        .await;
        assert_eq!(status, 200);
    }
    let tasks: Vec<_> = (0..150)
        .map(|i| {
            let (client, url) = (
                app.client.clone(),
                app.url(&format!("/v1/purchases?strategy={strategy}")),
            );
            let body = json!({"sku": sku, "quantity": 1, "user_id": format!("u{i}")});
            // A buyer told `contention` (textbook WATCH under 150 writers) tries again, as
            // its Retry-After asks: every buyer ends sold or refused.
            tokio::spawn(async move {
                loop {
                    let r = client.post(&url).json(&body).send().await.unwrap();
                    let status = r.status().as_u16();
                    if status != 503 {
                        return (status, r.json::<Value>().await.unwrap());
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(rand::random_range(5..50))).await;
                }
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(count(&statuses, 201), 100, "{strategy}: exactly the stock was sold");
    let odd: Vec<&(u16, Value)> = answers.iter().filter(|(s, _)| *s != 201 && *s != 409).collect();
    assert_eq!(count(&statuses, 409), 50, "{strategy}: {odd:?}");
    let mut drawn = std::collections::BTreeMap::<String, i64>::new();
    for (_, body) in answers.iter().filter(|(s, _)| *s == 201) {
        for a in body["allocations"].as_array().unwrap() {
            *drawn.entry(a["location"].as_str().unwrap().to_owned()).or_default() += a["quantity"].as_i64().unwrap();
        }
    }
    assert_eq!(
        drawn.into_iter().collect::<Vec<_>>(),
        [("a".to_owned(), 20), ("b".to_owned(), 30), ("c".to_owned(), 50)],
        "{strategy}: every answer says where its unit came from, and they add up"
    );
    assert_eq!(
        places(app, sku).await,
        vec![loc("a", 0, 0, 20), loc("b", 0, 0, 30), loc("c", 0, 0, 50)],
        "{strategy}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rush_across_locations_sells_each_location_exactly() {
    let app = app().await;
    for strategy in ["watch", "lua"] {
        rush_across_locations(&app, strategy, &format!("rush-{strategy}")).await;
    }
    let textbook = spawn_app_with(AppOptions::default(), |c| c.batching = false).await;
    rush_across_locations(&textbook, "watch", "rush-textbook").await;
    for app in [&app, &textbook] {
        let report = app.verify().await;
        assert!(report.ok, "{:?}", report.violations);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_stockroom_input_is_a_4xx_and_changes_nothing() {
    let app = app().await;
    two_warehouses(&app, "b").await;
    let before = app.dump().await;
    let cases: Vec<(Method, &str, Value, u16)> = vec![
        (
            Method::PUT,
            "/v1/skus/b/locations/a@b/stock",
            json!({"available": 1}),
            400,
        ),
        (
            Method::PUT,
            "/v1/skus/b:x/locations/east/stock",
            json!({"available": 1}),
            400,
        ),
        (Method::PUT, "/v1/skus/b/locations/east/stock", json!({}), 400),
        (
            Method::PUT,
            "/v1/skus/b/locations/east/stock",
            json!({"available": -1}),
            400,
        ),
        (
            Method::PUT,
            "/v1/skus/b/locations/east/stock",
            json!({"available": 1, "priority": -2}),
            400,
        ),
        (
            Method::PUT,
            "/v1/skus/b/locations/east/stock",
            json!({"available": 1, "priority": "1"}),
            400,
        ),
        (Method::PUT, "/v1/skus/b/locations/east/stock", json!([1]), 400),
        (
            Method::POST,
            "/v1/skus/b/transfers",
            json!({"from": "east", "to": "east", "quantity": 1}),
            400,
        ),
        (
            Method::POST,
            "/v1/skus/b/transfers",
            json!({"from": "east", "to": "west", "quantity": 0}),
            400,
        ),
        (
            Method::POST,
            "/v1/skus/b/transfers",
            json!({"from": "east", "to": "west"}),
            400,
        ),
        (
            Method::POST,
            "/v1/skus/b/transfers",
            json!({"from": 1, "to": "west", "quantity": 1}),
            400,
        ),
        (
            Method::POST,
            "/v1/skus/nope/transfers",
            json!({"from": "east", "to": "west", "quantity": 1}),
            404,
        ),
        (
            Method::POST,
            "/v1/skus/b/locations/east/adjustments",
            json!({"delta": 1}),
            400,
        ),
        (
            Method::POST,
            "/v1/skus/b/locations/east/adjustments",
            json!({"delta": 1, "reason": "theft"}),
            400,
        ),
        (
            Method::POST,
            "/v1/skus/b/locations/east/adjustments",
            json!({"counted": 1, "delta": 1, "reason": "lost"}),
            400,
        ),
        (
            Method::POST,
            "/v1/skus/b/locations/east/adjustments",
            json!({"counted": 1.5, "reason": "lost"}),
            400,
        ),
        (
            Method::POST,
            "/v1/skus/b/locations/north/adjustments",
            json!({"counted": 1, "reason": "found"}),
            404,
        ),
        (
            Method::POST,
            "/v1/skus/nope/locations/east/adjustments",
            json!({"counted": 1, "reason": "found"}),
            404,
        ),
        (
            Method::POST,
            "/v1/skus/b/restock",
            json!({"quantity": 1, "location": "north"}),
            404,
        ),
        (
            Method::POST,
            "/v1/skus/b/restock",
            json!({"quantity": 1, "location": "a b"}),
            400,
        ),
        (
            Method::POST,
            "/v1/purchases",
            json!({"sku": "b", "quantity": 1, "user_id": "u", "location": 3}),
            400,
        ),
        (
            Method::POST,
            "/v1/checkouts",
            json!({"user_id": "u", "items": [{"sku": "b", "quantity": 1, "location": "{x}"}]}),
            400,
        ),
    ];
    for (method, path, body, expected) in cases {
        let (status, answer) = app.send(method.clone(), path, Some(body.clone())).await;
        assert_eq!(status, expected, "{method} {path} {body}: {answer}");
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()), "{answer}");
    }
    assert_eq!(app.dump().await, before, "nothing changed");
}

/// `raw` is exactly what serde writes for the `T` it holds: the script's splice and the
/// Rust side's re-encode leave one form in the store, whichever path took.
fn serde_form<T: serde::de::DeserializeOwned + serde::Serialize>(raw: &str) -> T {
    let value: T = serde_json::from_str(raw).unwrap_or_else(|e| panic!("{e}: {raw}"));
    assert_eq!(serde_json::to_string(&value).unwrap(), raw, "not in serde's form");
    value
}

fn drawn(parts: &[(&str, i64)]) -> Vec<stockwatch::ops::level::Allocation> {
    parts
        .iter()
        .map(|(location, quantity)| {
            stockwatch::ops::level::Allocation::at(
                stockwatch::domain::Location::parse(location, "l").unwrap(),
                *quantity,
            )
        })
        .collect()
}

/// A take drawn from named locations stores its reservation, its order and its ledger
/// entries in the form serde writes, with each line's allocations, on `watch` and on `lua`
/// (whose script splices them into the JSON it was sent). A user id made of JSON, with
/// quotes, braces and `"quantity":` in it, cannot move where they go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocations_are_stored_in_one_form_on_every_path() {
    use stockwatch::domain::{OrderId, ReservationId};
    use stockwatch::ops::{Order, OrderLine, journal::Entry};
    let app = spawn_app_with(AppOptions::default(), |c| c.journal = true).await;
    let user = r#"u","quantity":9},{"sku":"x","quantity":1}],"q":{"quantity":2}"#;
    let keys = app.store.keys();
    for strategy in ["watch", "lua"] {
        let (sku, plain) = (format!("canon-{strategy}"), format!("plain-{strategy}"));
        two_warehouses(&app, &sku).await;
        app.set_stock(&plain, 10).await;
        let (status, held) = app
            .post(
                &format!("/v1/reservations?strategy={strategy}"),
                json!({"user_id": user, "items": [{"sku": sku, "quantity": 4}]}),
            )
            .await;
        assert_eq!(status, 201, "{strategy}: {held}");
        let (status, cart) = app
            .post(
                &format!("/v1/checkouts?strategy={strategy}"),
                json!({"user_id": user, "items": [{"sku": sku, "quantity": 2}, {"sku": plain, "quantity": 1}]}),
            )
            .await;
        assert_eq!(status, 201, "{strategy}: {cart}");

        let mut conn = app.redis.raw().await;
        let rid = ReservationId::parse(held["reservation_id"].as_str().unwrap()).unwrap();
        let items: String = redis::cmd("HGET")
            .arg(keys.reservation(&rid))
            .arg("items")
            .query_async(&mut conn)
            .await
            .unwrap();
        let items: Vec<OrderLine> = serde_form(&items);
        assert_eq!(items[0].allocations, drawn(&[("east", 3), ("west", 1)]), "{strategy}");
        let oid = OrderId::parse(cart["order_id"].as_str().unwrap()).unwrap();
        let order: String = redis::cmd("GET")
            .arg(keys.order(&oid))
            .query_async(&mut conn)
            .await
            .unwrap();
        let order: Order = serde_form(&order);
        assert_eq!(order.user_id.as_str(), user, "{strategy}");
        assert_eq!(
            (
                order.items[0].allocations.clone(),
                order.items[1].allocations.is_empty()
            ),
            (drawn(&[("west", 2)]), true),
            "{strategy}: a line all from default stores none"
        );

        // The ledger's entries for both: the lines moved and the record, allocated alike.
        let (mut conn, feeds) = crate::ledger::feeds(&app).await;
        let mut seen = 0;
        for feed in feeds {
            let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
                .arg(&feed)
                .arg("-")
                .arg("+")
                .query_async(&mut conn)
                .await
                .unwrap();
            for (_, fields) in entries {
                let entry: Entry = serde_form(&fields[0].1);
                let lines = match entry.reference.as_str() {
                    r if r == rid.to_string() => vec![drawn(&[("east", 3), ("west", 1)])],
                    r if r == oid.to_string() => vec![drawn(&[("west", 2)]), Vec::new()],
                    _ => continue,
                };
                let record = entry.order.map(|o| o.items).or(entry.reservation.map(|r| r.items));
                for list in [Some(entry.lines), record].into_iter().flatten() {
                    let allocated: Vec<_> = list.into_iter().map(|l| l.allocations).collect();
                    assert_eq!(allocated, lines, "{strategy}: {}", fields[0].1);
                }
                seen += 1;
            }
        }
        assert_eq!(seen, 2, "{strategy}: one entry for the hold, one for the cart");
    }
    let report = app.verify().await;
    assert!(report.ok, "{:?}", report.violations);
}
