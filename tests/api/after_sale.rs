//! An order's life after its sale: cancellations and returns, on every path that makes an
//! order, raced, to named locations, as damaged units, against customer limits, and across
//! the slots of a cluster.

use crate::cluster::{TestCluster, cart, one_per_master, stock};
use crate::helpers::{TestApp, at_location, spawn_app};
use futures_util::StreamExt;
use serde_json::{Value, json};
use stockwatch::domain::{Disposition, Strategy, UserId};
use stockwatch::ops;

/// `(available, sold, damaged)` of a SKU.
async fn counts(app: &TestApp, sku: &str) -> (i64, i64, i64) {
    let s = app.stock(sku).await;
    (
        s["available"].as_i64().unwrap(),
        s["sold"].as_i64().unwrap(),
        s["damaged"].as_i64().unwrap(),
    )
}

async fn assert_clean(app: &TestApp) {
    let report = app.verify().await;
    assert!(report.ok, "{:?}", report.violations);
}

/// An order of `items` made by `how` (`purchase`, `checkout` or `reservation`) on `strategy`.
async fn order(app: &TestApp, how: &str, strategy: &str, items: &[(&str, i64)]) -> String {
    let lines: Vec<Value> = items.iter().map(|(s, q)| json!({"sku": s, "quantity": q})).collect();
    let (status, body) = match how {
        "purchase" => {
            let (sku, quantity) = items[0];
            let body = json!({"sku": sku, "quantity": quantity, "user_id": "alice"});
            app.post(&format!("/v1/purchases?strategy={strategy}"), body).await
        }
        "checkout" => {
            let body = json!({"user_id": "alice", "items": lines});
            app.post(&format!("/v1/checkouts?strategy={strategy}"), body).await
        }
        _ => {
            let held = app.reserve(strategy, items, 60).await;
            let id = held["reservation_id"].as_str().unwrap().to_owned();
            app.post(&format!("/v1/reservations/{id}/confirm"), json!({})).await
        }
    };
    assert_eq!(status, 201, "{how} {strategy}: {body}");
    body["order_id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_from_every_path_cancels_once_and_its_units_come_back() {
    let app = spawn_app().await;
    app.set_stock("ps5", 100).await;
    app.set_stock("pad", 100).await;
    for how in ["purchase", "checkout", "reservation"] {
        for strategy in ["watch", "lua"] {
            let items: &[(&str, i64)] = if how == "purchase" {
                &[("ps5", 3)]
            } else {
                &[("ps5", 3), ("pad", 2)]
            };
            let id = order(&app, how, strategy, items).await;
            assert_eq!(app.get(&format!("/v1/orders/{id}")).await.1["status"], "placed");
            let before = counts(&app, "ps5").await;
            let key = format!("cancel-{how}-{strategy}");
            let (status, first) = app
                .post_keyed(&format!("/v1/orders/{id}/cancel"), json!({}), &key)
                .await;
            assert_eq!(status, 200, "{how} {strategy}: {first}");
            let answer: Value = serde_json::from_str(&first).unwrap();
            assert_eq!(answer["status"], "cancelled");
            assert_eq!(answer["items"][0]["returned"], 3);
            assert_eq!(
                counts(&app, "ps5").await,
                (before.0 + 3, before.1 - 3, 0),
                "{how} {strategy}"
            );
            // The same key: the first answer, nothing twice. Without it: refused.
            let (status, again) = app
                .post_keyed(&format!("/v1/orders/{id}/cancel"), json!({}), &key)
                .await;
            assert_eq!((status, &again), (200, &first));
            let (status, body) = app.post(&format!("/v1/orders/{id}/cancel"), json!({})).await;
            assert_eq!((status, body["error"].as_str()), (409, Some("order_not_cancellable")));
            assert_eq!(body["status"], "cancelled");
            assert_eq!(counts(&app, "ps5").await, (before.0 + 3, before.1 - 3, 0));
            let (_, order) = app.get(&format!("/v1/orders/{id}")).await;
            assert_eq!(order["status"], "cancelled");
            assert_eq!(order["returns"][0]["cancel"], true);
        }
    }
    // Nothing sold is left in orders, and every movement is accounted for.
    assert_eq!(counts(&app, "ps5").await, (100, 0, 0));
    assert_eq!(counts(&app, "pad").await, (100, 0, 0));
    let (_, moves) = app.get("/v1/skus/ps5/movements?limit=1").await;
    assert_eq!(moves["movements"][0]["kind"], "cancel_order");
    // Cancelled as damaged: the units go to `damaged`, not back on sale.
    let id = order(&app, "purchase", "watch", &[("ps5", 4)]).await;
    let (status, body) = app
        .post(&format!("/v1/orders/{id}/cancel"), json!({"disposition": "damaged"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(counts(&app, "ps5").await, (96, 0, 4));
    assert_clean(&app).await;
    // Unknown and malformed: refused, nothing changes.
    let before = app.dump().await;
    let (status, body) = app
        .post("/v1/orders/01936b2e-8f3a-7c4d-9e5f-0a1b2c3d4e5f/cancel", json!({}))
        .await;
    assert_eq!((status, body["error"].as_str()), (404, Some("unknown_order")));
    let (status, body) = app
        .post(&format!("/v1/orders/{id}/cancel"), json!({"disposition": "lost"}))
        .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")));
    assert_eq!(app.dump().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returns_are_partial_and_repeated_but_never_exceed_what_was_sold() {
    let app = spawn_app().await;
    app.set_stock("ps5", 10).await;
    let id = order(&app, "purchase", "lua", &[("ps5", 5)]).await;
    let returns = format!("/v1/orders/{id}/returns");
    let (status, body) = app
        .post(&returns, json!({"lines": [{"sku": "ps5", "quantity": 2}]}))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["order_id"], id.as_str());
    assert_eq!(body["status"], "partially_returned");
    assert_eq!(body["lines"][0]["disposition"], "restock");
    assert!(body["return_id"].as_str().is_some());
    assert_eq!(counts(&app, "ps5").await, (7, 3, 0));
    // More than is left of the line: refused with the numbers, nothing changes.
    let before = app.dump().await;
    let (status, body) = app
        .post(&returns, json!({"lines": [{"sku": "ps5", "quantity": 4}]}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        (&body["error"], &body["sold"], &body["returned"], &body["requested"]),
        (&json!("return_exceeds_sold"), &json!(5), &json!(2), &json!(4))
    );
    let (status, body) = app
        .post(&returns, json!({"lines": [{"sku": "pad", "quantity": 1}]}))
        .await;
    assert_eq!((status, &body["sold"]), (409, &json!(0)), "not in the order: {body}");
    for bad in [
        json!({}),
        json!({"lines": []}),
        json!({"lines": [{"sku": "ps5", "quantity": 0}]}),
        json!({"lines": [{"sku": "ps5", "quantity": 1, "disposition": "lost"}]}),
        json!({"lines": [{"sku": "ps5", "quantity": 1}, {"sku": "ps5", "quantity": 1}]}),
    ] {
        let (status, body) = app.post(&returns, bad.clone()).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{bad}"
        );
    }
    let (status, body) = app
        .post(
            &returns,
            json!({"lines": [{"sku": "ps5", "quantity": 1, "location": "nowhere"}]}),
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (404, Some("unknown_location")));
    assert_eq!(app.dump().await, before, "refusals changed nothing");
    // The rest comes back damaged: the order is returned, and cannot be cancelled now.
    let (status, body) = app
        .post(
            &returns,
            json!({"lines": [{"sku": "ps5", "quantity": 3, "disposition": "damaged"}]}),
        )
        .await;
    assert_eq!((status, &body["status"]), (201, &json!("returned")), "{body}");
    assert_eq!(counts(&app, "ps5").await, (7, 0, 3));
    let (_, order) = app.get(&format!("/v1/orders/{id}")).await;
    assert_eq!(
        (&order["status"], &order["items"][0]["returned"]),
        (&json!("returned"), &json!(5))
    );
    assert_eq!(order["returns"].as_array().unwrap().len(), 2);
    let (status, body) = app.post(&format!("/v1/orders/{id}/cancel"), json!({})).await;
    assert_eq!((status, &body["status"]), (409, &json!("returned")), "{body}");
    assert_eq!(app.movement_kinds("ps5", 2).await, ["damage", "return"]);
    assert_clean(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_returns_of_one_line_return_exactly_what_it_sold() {
    let app = spawn_app().await;
    app.set_stock("ps5", 100).await;
    let id = order(&app, "purchase", "watch", &[("ps5", 50)]).await;
    let path = format!("/v1/orders/{id}/returns");
    // Each client retries a 503 (contention: the order is one key, 200 writers watch it).
    let answers: Vec<u16> = futures_util::stream::iter(0..200)
        .map(|_| {
            let (app, path) = (&app, path.clone());
            async move {
                loop {
                    let status = app
                        .post(&path, json!({"lines": [{"sku": "ps5", "quantity": 1}]}))
                        .await
                        .0;
                    if status != 503 {
                        return status;
                    }
                }
            }
        })
        .buffer_unordered(200)
        .collect()
        .await;
    let ok = answers.iter().filter(|s| **s == 201).count();
    assert_eq!(ok, 50, "exactly the units sold came back: {answers:?}");
    assert!(answers.iter().all(|s| [201, 409].contains(s)), "{answers:?}");
    assert_eq!(counts(&app, "ps5").await, (100, 0, 0));
    // A cancel racing returns: either it wins whole, or the returns that won are all.
    let id = order(&app, "purchase", "lua", &[("ps5", 10)]).await;
    let cancel = format!("/v1/orders/{id}/cancel");
    let returns = format!("/v1/orders/{id}/returns");
    let racers = futures_util::stream::iter(0..21)
        .map(|i| {
            let (app, cancel, returns) = (&app, cancel.clone(), returns.clone());
            async move {
                loop {
                    let answer = match i {
                        10 => (true, app.post(&cancel, json!({})).await.0),
                        _ => (
                            false,
                            app.post(&returns, json!({"lines": [{"sku": "ps5", "quantity": 1}]}))
                                .await
                                .0,
                        ),
                    };
                    if answer.1 != 503 {
                        return answer;
                    }
                }
            }
        })
        .buffer_unordered(21)
        .collect::<Vec<_>>()
        .await;
    let cancelled = racers.iter().any(|&(c, s)| c && s == 200);
    let returned = racers.iter().filter(|&&(c, s)| !c && s == 201).count();
    if cancelled {
        assert_eq!(returned, 0, "a cancel wins only an order with nothing returned");
    } else {
        assert_eq!(returned, 10, "the returns took every unit");
    }
    assert_eq!(counts(&app, "ps5").await, (100, 0, 0));
    assert_clean(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_goes_to_the_location_named_and_the_customer_gets_the_allowance_back() {
    let app = spawn_app().await;
    for (location, priority) in [("east", 1), ("west", 2)] {
        let body = json!({"available": 5, "priority": priority});
        let (status, _) = app
            .send(
                reqwest::Method::PUT,
                &format!("/v1/skus/ps5/locations/{location}/stock"),
                Some(body),
            )
            .await;
        assert_eq!(status, 200);
    }
    let id = order(&app, "purchase", "watch", &[("ps5", 7)]).await;
    let at = at_location;
    let (status, body) = app
        .post(
            &format!("/v1/orders/{id}/returns"),
            json!({"lines": [{"sku": "ps5", "quantity": 3, "location": "west"}]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["lines"][0]["from"],
        json!([{"location": "west", "quantity": 2}, {"location": "east", "quantity": 1}])
    );
    let s = app.stock("ps5").await;
    assert_eq!((at(&s, "east", "available"), at(&s, "east", "sold")), (0, 4));
    assert_eq!((at(&s, "west", "available"), at(&s, "west", "sold")), (6, 0));
    let (status, _) = app
        .post(
            &format!("/v1/orders/{id}/returns"),
            json!({"lines": [{"sku": "ps5", "quantity": 1, "disposition": "damaged"}]}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        at(&app.stock("ps5").await, "east", "damaged"),
        1,
        "back where it was sold"
    );
    assert_clean(&app).await;

    // A per-customer limit: a returned unit is the customer's to buy again.
    app.set_stock("cap", 10).await;
    let (status, _) = app
        .send(
            reqwest::Method::PUT,
            "/v1/skus/cap/sale",
            Some(json!({"per_customer_limit": 2})),
        )
        .await;
    assert_eq!(status, 200);
    let id = order(&app, "purchase", "lua", &[("cap", 2)]).await;
    let buy = json!({"sku": "cap", "quantity": 1, "user_id": "alice"});
    let (status, body) = app.post("/v1/purchases?strategy=lua", buy.clone()).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("limit_exceeded")));
    let (status, _) = app
        .post(
            &format!("/v1/orders/{id}/returns"),
            json!({"lines": [{"sku": "cap", "quantity": 1}]}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(app.customer_counts("cap").await.get("u:alice").copied(), Some(1));
    let (status, body) = app.post("/v1/purchases?strategy=watch", buy).await;
    assert_eq!(status, 201, "{body}");
    assert_clean(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cart_across_masters_cancels_and_returns_once_in_every_slot() {
    let cluster = TestCluster::start().await;
    let store = cluster.store(|_| {});
    let [a, b, c] = one_per_master("after");
    for sku in [&a, &b, &c] {
        stock(&store, sku, 20).await;
    }
    let alice = UserId::parse(&"alice".into()).unwrap();
    let level = |sku| {
        let store = store.clone();
        async move {
            let s = ops::get_stock(&store, sku).await.unwrap();
            (s.available, s.sold, s.damaged)
        }
    };
    for strategy in [Strategy::Watch, Strategy::Lua] {
        let items = cart(&[(&a, 2), (&b, 3), (&c, 1)]);
        let done = ops::checkout(&store, strategy, &items, &alice, None).await.unwrap();
        let order = ops::cancel_order(&store, &done.order_id, Disposition::Restock, None)
            .await
            .unwrap();
        assert_eq!(order.status, Some(stockwatch::domain::OrderStatus::Cancelled));
        for sku in [&a, &b, &c] {
            assert_eq!(level(sku).await, (20, 0, 0), "{strategy:?} {sku}");
        }
        // Settling again (a crashed request's worker) changes nothing.
        let ret = order.returns[0].return_id;
        ops::settle_return(&store, &done.order_id, &ret).await.unwrap();
        assert_eq!(level(&b).await, (20, 0, 0));
    }
    // Racing returns of a cross-slot order: each line's units come back once.
    let items = cart(&[(&a, 4), (&b, 4)]);
    let done = ops::checkout(&store, Strategy::Watch, &items, &alice, None)
        .await
        .unwrap();
    let lines = stockwatch::domain::ReturnItems::parse(Some(&json!([
        {"sku": a.as_str(), "quantity": 1},
        {"sku": b.as_str(), "quantity": 1, "disposition": "damaged"}
    ])))
    .unwrap();
    let answers: Vec<bool> = futures_util::stream::iter(0..12)
        .map(|_| {
            let (store, lines) = (store.clone(), lines.clone());
            async move { ops::return_order(&store, &done.order_id, &lines, None).await.is_ok() }
        })
        .buffer_unordered(12)
        .collect()
        .await;
    assert_eq!(answers.iter().filter(|ok| **ok).count(), 4);
    assert_eq!(level(&a).await, (20, 0, 0));
    assert_eq!(level(&b).await, (16, 0, 4));
    let report = ops::verify(&store).await.unwrap();
    assert!(report.ok, "{:?}", report.violations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_units_are_found_written_off_or_restored_by_adjustments() {
    let app = spawn_app().await;
    let put = json!({"available": 10});
    let (status, _) = app
        .send(reqwest::Method::PUT, "/v1/skus/vase/locations/east/stock", Some(put))
        .await;
    assert_eq!(status, 200);
    let adjust = |body: Value| {
        let app = &app;
        async move { app.post("/v1/skus/vase/locations/east/adjustments", body).await }
    };
    let east = |s: &Value, c: &str| at_location(s, "east", c);
    // Three found broken on the shelf: off sale, still counted.
    let (status, body) = adjust(json!({"delta": 3, "reason": "damaged", "counter": "damaged"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            east(&body, "available"),
            east(&body, "damaged"),
            body["damaged"].as_i64()
        ),
        (7, 3, Some(3))
    );
    // A count of one damaged unit: two were thrown away.
    let (status, body) = adjust(json!({"counted": 1, "reason": "lost", "counter": "damaged"})).await;
    assert_eq!((status, east(&body, "damaged"), east(&body, "available")), (200, 1, 7));
    // The last passed inspection: on sale again.
    let (status, body) = adjust(json!({"delta": -1, "reason": "inspected", "counter": "damaged"})).await;
    assert_eq!((status, east(&body, "damaged"), east(&body, "available")), (200, 0, 8));
    // Refusals: more than there is, or `inspected` for units on sale; nothing changes.
    let before = app.dump().await;
    for (bad, status, code) in [
        (
            json!({"delta": -1, "reason": "lost", "counter": "damaged"}),
            409,
            "insufficient_stock",
        ),
        (
            json!({"delta": 9, "reason": "damaged", "counter": "damaged"}),
            409,
            "insufficient_stock",
        ),
        (json!({"delta": -1, "reason": "inspected"}), 400, "invalid_request"),
        (
            json!({"delta": 1, "reason": "found", "counter": "broken"}),
            400,
            "invalid_request",
        ),
    ] {
        let (got, body) = adjust(bad.clone()).await;
        assert_eq!((got, body["error"].as_str()), (status, Some(code)), "{bad}: {body}");
    }
    assert_eq!(app.dump().await, before);
    assert_eq!(app.movement_kinds("vase", 3).await, ["restore", "write_off", "damage"]);
    let (_, moves) = app.get("/v1/skus/vase/movements?limit=3").await;
    assert_eq!(moves["movements"][1]["quantity"], 2);
    assert_clean(&app).await;
}
