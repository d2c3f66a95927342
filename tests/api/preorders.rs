//! Preorders: sales against incoming stock, never more than is on its way, filled oldest
//! first by receipts, given back to the purchase order by a cancel; on `watch` and `lua`.

use crate::helpers::{AppOptions, TestApp, TestRedis, count, fresh_prefix, serve_store, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

async fn expect(app: &TestApp, sku: &str, reference: &str, quantity: i64, at: &str) {
    let body = json!({"ref": reference, "quantity": quantity, "expected_at": at});
    let (status, body) = app.post(&format!("/v1/skus/{sku}/incoming"), body).await;
    assert_eq!(status, 201, "{body}");
}

async fn preorders(app: &TestApp, sku: &str, body: Value) -> (u16, Value) {
    app.send(Method::PUT, &format!("/v1/skus/{sku}/preorders"), Some(body))
        .await
}

/// A SKU with nothing on the shelf, `incoming` units on their way (`PO-1`) and preorders on.
async fn preorder_only(app: &TestApp, sku: &str, incoming: i64) -> Value {
    app.set_stock(sku, 0).await;
    expect(app, sku, "PO-1", incoming, "2030-01-15T09:00:00Z").await;
    let (status, body) = preorders(app, sku, json!({"enabled": true})).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The stock's counters called `names`, in that order.
async fn counters<const N: usize>(app: &TestApp, sku: &str, names: [&str; N]) -> [i64; N] {
    let stock = app.stock(sku).await;
    names.map(|n| stock[n].as_i64().unwrap_or_else(|| panic!("{n} in {stock}")))
}

async fn buy(app: &TestApp, sku: &str, quantity: i64, strategy: &str) -> (u16, Value) {
    let body = json!({"sku": sku, "quantity": quantity, "user_id": "u-1"});
    app.post(&format!("/v1/purchases?strategy={strategy}"), body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_preorder_rush_sells_exactly_what_is_incoming() {
    let app = spawn_app().await;
    for strategy in ["watch", "lua"] {
        let sku = format!("pre-{strategy}");
        let body = preorder_only(&app, &sku, 300).await;
        let rules = json!({"low_stock_threshold": 5});
        let (status, _) = app
            .send(Method::PUT, &format!("/v1/skus/{sku}/alerts"), Some(rules))
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            body,
            json!({"sku": sku, "enabled": true, "incoming": 300, "preordered": 0})
        );
        let statuses = app.rush_limited(&sku, 1000, strategy, 200).await;
        assert_eq!(count(&statuses, 201), 300, "{strategy}");
        assert_eq!(count(&statuses, 409), 700, "{strategy}");
        assert_eq!(
            counters(&app, &sku, ["available", "sold", "incoming", "preordered"]).await,
            [0, 300, 300, 300],
            "{strategy}"
        );
        assert_eq!(app.units_in_orders(&sku).await, 300);
        let report = app.verify().await;
        assert!(report.ok, "{strategy}: {:?}", report.violations);
        // The purchase order arrives: every unit goes to the preorders, none to the shelf.
        let (status, got) = app
            .post(&format!("/v1/skus/{sku}/incoming/PO-1/receive"), json!({}))
            .await;
        assert_eq!(status, 200, "{got}");
        assert_eq!(
            (
                &got["stock"]["available"],
                &got["stock"]["incoming"],
                &got["stock"]["preordered"]
            ),
            (&json!(0), &json!(0), &json!(0)),
            "{got}"
        );
        assert_eq!(got["purchase_order"]["preordered"], 0);
        // Every unit went to a preorder: nothing was back in stock, not even for a moment.
        let (_, alerts) = app.get(&format!("/v1/alerts?sku={sku}")).await;
        let kinds: Vec<&str> = alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["type"].as_str())
            .collect();
        assert!(!kinds.contains(&"back_in_stock"), "{kinds:?}");
        let report = app.verify().await;
        assert!(report.ok, "{strategy}: {:?}", report.violations);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_fill_preorders_oldest_first_and_a_cancel_gives_incoming_back() {
    let app = spawn_app().await;
    for strategy in ["watch", "lua"] {
        let sku = format!("fill-{strategy}");
        app.set_stock(&sku, 2).await;
        expect(&app, &sku, "PO-LATE", 10, "2030-03-01T00:00:00Z").await;
        expect(&app, &sku, "PO-SOON", 4, "2030-02-01T00:00:00Z").await;
        // Off: a line the shelf cannot cover is short, as ever.
        let (status, body) = buy(&app, &sku, 3, strategy).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (409, Some("insufficient_stock")),
            "{body}"
        );
        let (status, _) = preorders(&app, &sku, json!({"enabled": true, "limit": 8})).await;
        assert_eq!(status, 200);

        // The shelf first; then whole lines against the soonest order with room.
        let (status, shelf) = buy(&app, &sku, 2, strategy).await;
        assert_eq!((status, shelf.get("preorder")), (201, None), "{shelf}");
        let (status, a) = buy(&app, &sku, 3, strategy).await;
        assert_eq!(status, 201, "{a}");
        assert_eq!(
            (&a["preorder"], &a["purchase_order"]),
            (&json!(true), &json!("PO-SOON")),
            "{a}"
        );
        assert_eq!(a["allocations"][0]["position"], 0);
        let (_, b) = buy(&app, &sku, 3, strategy).await;
        assert_eq!(
            (&b["purchase_order"], &b["allocations"][0]["position"]),
            (&json!("PO-LATE"), &json!(0))
        );
        // The limit: 6 preordered, 8 at most.
        let (status, body) = buy(&app, &sku, 4, strategy).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (409, Some("insufficient_stock")),
            "{body}"
        );
        let path = format!("/v1/purchases?strategy={strategy}");
        let body = json!({"sku": sku, "quantity": 2, "user_id": "u-1"});
        let (status, c) = app.post_keyed(&path, body.clone(), &format!("c-{strategy}")).await;
        assert_eq!(status, 201, "{c}");
        let (_, again) = app.post_keyed(&path, body, &format!("c-{strategy}")).await;
        assert_eq!(again, c, "a keyed repeat is the first answer");
        let c: Value = serde_json::from_str(&c).unwrap();
        assert_eq!(
            (&c["purchase_order"], &c["allocations"][0]["position"]),
            (&json!("PO-LATE"), &json!(3))
        );

        // 4 of PO-LATE arrive: all of B (first in its queue), 1 of C; nothing to the shelf.
        let (status, got) = app
            .post(
                &format!("/v1/skus/{sku}/incoming/PO-LATE/receive"),
                json!({"quantity": 4}),
            )
            .await;
        assert_eq!(status, 200, "{got}");
        assert_eq!(got["stock"]["available"], 0, "{got}");
        assert_eq!(got["purchase_order"]["preordered"], 1);
        let waiting = |order: &Value| order["items"][0]["waiting"].as_i64();
        let order_of = |answer: &Value| format!("/v1/orders/{}", answer["order_id"].as_str().unwrap());
        let (_, order_b) = app.get(&order_of(&b)).await;
        let (_, order_c) = app.get(&order_of(&c)).await;
        let (_, order_a) = app.get(&order_of(&a)).await;
        assert_eq!(
            (waiting(&order_a), waiting(&order_b), waiting(&order_c)),
            (Some(3), Some(0), Some(1))
        );
        assert_eq!(order_a["items"][0]["preorder"], true);

        // A unit still waiting cannot come back; a cancel gives it back to the purchase
        // order, and the filled one to the shelf.
        let (status, body) = app
            .post(
                &format!("{}/returns", order_of(&a)),
                json!({"lines": [{"sku": sku, "quantity": 1}]}),
            )
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (409, Some("return_exceeds_sold")),
            "{body}"
        );
        let (status, cancelled) = app.post(&format!("{}/cancel", order_of(&c)), json!({})).await;
        assert_eq!(status, 200, "{cancelled}");
        assert_eq!(
            counters(&app, &sku, ["available", "sold", "incoming", "preordered"]).await,
            [1, 8, 10, 3],
            "{sku}"
        );
        let (_, orders) = app.get(&format!("/v1/skus/{sku}/incoming")).await;
        let late = orders["purchase_orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["ref"] == "PO-LATE")
            .unwrap()
            .clone();
        assert_eq!(
            (&late["received"], &late["preordered"]),
            (&json!(4), &json!(0)),
            "{late}"
        );
        // What is left on PO-SOON waits for A; the rest of PO-LATE is free again.
        let (status, d) = buy(&app, &sku, 5, strategy).await;
        assert_eq!((status, &d["purchase_order"]), (201, &json!("PO-LATE")), "{d}");
        // Off again: preorders already taken still wait.
        let (status, _) = preorders(&app, &sku, json!({"enabled": false})).await;
        assert_eq!(status, 200);
        let (status, _) = buy(&app, &sku, 1, strategy).await;
        assert_eq!(status, 201, "the shelf unit");
        let (status, _) = buy(&app, &sku, 1, strategy).await;
        assert_eq!(status, 409);
        let report = app.verify().await;
        assert!(report.ok, "{strategy}: {:?}", report.violations);
        // Units still waiting keep the SKU from retiring with its purchase orders.
        let (status, body) = app.send(Method::DELETE, &format!("/v1/skus/{sku}"), None).await;
        assert_eq!(
            (status, &body["error"], &body["preordered"]),
            (409, &json!("sku_in_use"), &json!(8))
        );
    }
    let movements = app.movement_kinds("fill-watch", 50).await;
    assert!(movements.contains(&"fill".to_owned()), "{movements:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_preorder_settings_are_a_4xx_and_change_nothing() {
    let app = spawn_app().await;
    app.set_stock("plain", 1).await;
    let before = app.dump().await;
    for body in [
        json!({}),
        json!({"enabled": "yes"}),
        json!({"enabled": true, "limit": -1}),
        json!({"enabled": true, "limit": 1.5}),
        json!({"enabled": false, "limit": 3}),
    ] {
        let (status, got) = preorders(&app, "plain", body.clone()).await;
        assert_eq!(
            (status, got["error"].as_str()),
            (400, Some("invalid_request")),
            "{body}: {got}"
        );
    }
    let (status, got) = preorders(&app, "ghost", json!({"enabled": true})).await;
    assert_eq!((status, got["error"].as_str()), (404, Some("unknown_sku")));
    assert_eq!(app.dump().await, before);
    // Keyed: a resend is the first answer; the key with other settings is refused.
    let put = |body: Value| {
        app.client
            .put(app.url("/v1/skus/plain/preorders"))
            .header("Idempotency-Key", "pre-1")
            .json(&body)
            .send()
    };
    let first = put(json!({"enabled": true, "limit": 5})).await.unwrap();
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    let again: Value = put(json!({"enabled": true, "limit": 5}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again, first);
    let other = put(json!({"enabled": false})).await.unwrap();
    assert_eq!(other.status(), 422);
    assert_eq!(app.stock("plain").await["preorders"], json!({"limit": 5}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_preorders_are_filled_sold_cancelled_and_expired_by_what_waits() {
    let app = spawn_app().await;
    for strategy in ["watch", "lua"] {
        let sku = format!("hold-{strategy}");
        preorder_only(&app, &sku, 10).await;
        let first = app.reserve(strategy, &[(&sku, 3)], 600).await;
        assert_eq!(
            (&first["items"][0]["preorder"], &first["items"][0]["purchase_order"]),
            (&json!(true), &json!("PO-1")),
            "{first}"
        );
        let second = app.reserve(strategy, &[(&sku, 4)], 600).await;
        assert_eq!(counters(&app, &sku, ["reserved", "preordered"]).await, [7, 7], "{sku}");
        // 5 arrive: the first hold in full, 2 of the second.
        let (status, _) = app
            .post(&format!("/v1/skus/{sku}/incoming/PO-1/receive"), json!({"quantity": 5}))
            .await;
        assert_eq!(status, 200);
        // Cancelling the second: its 2 filled units to the shelf, 2 back to PO-1.
        let id = second["reservation_id"].as_str().unwrap();
        let (status, body) = app.post(&format!("/v1/reservations/{id}/cancel"), json!({})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            counters(&app, &sku, ["available", "reserved", "incoming", "preordered"]).await,
            [2, 3, 5, 0],
            "{strategy}"
        );
        // The first is sold: its order's line waits for nothing.
        let id = first["reservation_id"].as_str().unwrap();
        let (status, confirmed) = app.post(&format!("/v1/reservations/{id}/confirm"), json!({})).await;
        assert_eq!(status, 201, "{confirmed}");
        let (_, order) = app
            .get(&format!("/v1/orders/{}", confirmed["order_id"].as_str().unwrap()))
            .await;
        assert_eq!(
            (&order["items"][0]["preorder"], &order["items"][0]["waiting"]),
            (&json!(true), &json!(0))
        );
        // A preorder hold that lapses gives every waiting unit back to PO-1 (the shelf's
        // two units go first, to a hold of their own).
        app.reserve(strategy, &[(&sku, 2)], 600).await;
        let lapsing = app.reserve(strategy, &[(&sku, 4)], 1).await;
        assert_eq!(lapsing["items"][0]["preorder"], true, "{lapsing}");
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        while app.stock(&sku).await["preordered"] != 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(
            counters(&app, &sku, ["available", "reserved", "preordered"]).await,
            [0, 2, 0],
            "{strategy}"
        );
        let report = app.verify().await;
        assert!(report.ok, "{strategy}: {:?}", report.violations);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_finds_a_queue_that_lost_or_invented_a_preorder() {
    let app = spawn_app().await;
    preorder_only(&app, "q", 10).await;
    let (status, _) = buy(&app, "q", 3, "watch").await;
    assert_eq!(status, 201);
    assert!(app.verify().await.ok);
    let key = app.store.keys().stock(&stockwatch::domain::Sku::parse("q").unwrap());
    let mut conn = app.redis.raw().await;
    let field = async |conn: &mut redis::aio::MultiplexedConnection, value: &str| {
        let _: () = redis::cmd("HSET")
            .arg(&key)
            .arg("po:PO-1")
            .arg(value)
            .query_async(conn)
            .await
            .unwrap();
    };
    let rules =
        |report: stockwatch::ops::Report| -> Vec<&'static str> { report.violations.iter().map(|v| v.rule).collect() };
    // The queue forgot the sale: its units would never be filled.
    field(&mut conn, "10,0,1894698000000,default,3,0;").await;
    let found = rules(app.verify().await);
    assert!(found.contains(&"preorder_lost"), "{found:?}");
    // The queue holds a preorder nobody made.
    field(&mut conn, "10,0,1894698000000,default,5,0;0:3,3:2").await;
    let found = rules(app.verify().await);
    assert!(found.contains(&"preorder_orphaned"), "{found:?}");
    field(&mut conn, "10,0,1894698000000,default,3,0;0:3").await;
    assert!(app.verify().await.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn preorders_on_a_cluster_in_one_slot_and_across_slots() {
    use crate::cluster::{TestCluster, cart, one_per_master};
    use stockwatch::domain::{Available, Disposition, Location, PoRef, Quantity, Strategy, Timestamp, UserId};
    use stockwatch::ops::{self, level::Preorders};
    let cluster = TestCluster::start().await;
    let store = cluster.store(|_| {});
    let [a, b, _] = one_per_master("soon");
    let po = PoRef::parse("PO-1", "ref").unwrap();
    let at = Timestamp::from_millis(1_900_000_000_000).unwrap();
    let default = Location::default_location();
    let units = |n: u32| Quantity::try_from(n).unwrap();
    for sku in [&a, &b] {
        ops::set_stock(&store, sku, Available::try_from(0).unwrap())
            .await
            .unwrap();
        ops::expect(&store, sku, &po, units(40), at, &default).await.unwrap();
        ops::set_preorders(&store, sku, Some(Preorders { limit: None }))
            .await
            .unwrap();
    }
    let ann = UserId::parse(&"ann".into()).unwrap();
    let waiting = |sku: &stockwatch::domain::Sku| {
        let store = store.clone();
        let sku = sku.clone();
        async move { ops::get_stock(&store, &sku).await.unwrap().preordered }
    };
    for strategy in [Strategy::Watch, Strategy::Lua] {
        let bought = ops::purchase(&store, strategy, &a, units(3), &ann, None).await.unwrap();
        assert_eq!(bought.purchase_order.as_ref(), Some(&po), "{strategy:?}");
        // A cart across masters preorders in each slot; cancelled, each slot gives its
        // waiting units back to its own purchase order, exactly once.
        let across = ops::checkout(&store, strategy, &cart(&[(&a, 2), (&b, 5)]), &ann, None)
            .await
            .unwrap();
        assert!(across.items.iter().all(|l| l.preorder), "{strategy:?}: {across:?}");
        let before = (waiting(&a).await, waiting(&b).await);
        ops::cancel_order(&store, &across.order_id, Disposition::Restock, None)
            .await
            .unwrap();
        assert_eq!(
            (waiting(&a).await, waiting(&b).await),
            (before.0 - 2, before.1 - 5),
            "{strategy:?}"
        );
        // A hold across masters, cancelled: the same.
        let items = cart(&[(&a, 1), (&b, 1)]);
        let ttl = stockwatch::domain::TtlSeconds::parse(Some(&serde_json::json!(600))).unwrap();
        let held = ops::reserve(&store, strategy, &items, &ann, ttl, None).await.unwrap();
        let before = (waiting(&a).await, waiting(&b).await);
        ops::cancel(&store, &held.reservation_id, None).await.unwrap();
        assert_eq!(
            (waiting(&a).await, waiting(&b).await),
            (before.0 - 1, before.1 - 1),
            "{strategy:?}"
        );
    }
    let got = ops::receive(&store, &a, &po, Some(units(10))).await.unwrap();
    assert_eq!((got.stock.available, got.stock.preordered, got.stock.sold), (4, 0, 6));
    let report = ops::verify(&store).await.unwrap();
    assert!(report.ok, "{:?}", report.violations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn preorders_receipts_and_cancels_racing_keep_every_invariant() {
    let app = spawn_app().await;
    preorder_only(&app, "race", 200).await;
    expect(&app, "race", "PO-2", 100, "2030-02-15T09:00:00Z").await;
    let buy = |i: usize| {
        let (client, url) = (
            app.client.clone(),
            app.url(if i.is_multiple_of(2) {
                "/v1/purchases?strategy=watch"
            } else {
                "/v1/purchases?strategy=lua"
            }),
        );
        async move {
            let body = json!({"sku": "race", "quantity": 1 + i % 3, "user_id": format!("u{i}")});
            let resp = client.post(url).json(&body).send().await.unwrap();
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap();
            (status, body)
        }
    };
    // A first wave of sales, whose orders the second wave cancels while more sales and
    // receipts race them.
    let first: Vec<Value> = futures_util::future::join_all((0..60).map(buy))
        .await
        .into_iter()
        .filter(|(status, _)| *status == 201)
        .map(|(_, body)| body)
        .collect();
    let mut tasks = Vec::new();
    for i in 60..260 {
        let sale = buy(i);
        tasks.push(tokio::spawn(async move { sale.await.0 }));
    }
    for (n, order) in first.iter().enumerate().filter(|(n, _)| n % 3 == 0) {
        let (client, url) = (
            app.client.clone(),
            app.url(&format!("/v1/orders/{}/cancel", order["order_id"].as_str().unwrap())),
        );
        let disposition = if n % 2 == 0 { "restock" } else { "damaged" };
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(url)
                .json(&json!({"disposition": disposition}))
                .send()
                .await
                .unwrap();
            resp.status().as_u16()
        }));
    }
    for i in 0..15 {
        let (client, url) = (
            app.client.clone(),
            app.url(&format!("/v1/skus/race/incoming/PO-{}/receive", 1 + i % 2)),
        );
        tasks.push(tokio::spawn(async move {
            let resp = client.post(url).json(&json!({"quantity": 7})).send().await.unwrap();
            resp.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        let status = task.await.unwrap();
        assert!([200, 201, 409].contains(&status), "{status}");
        statuses.push(status);
    }
    // Sales both went through and ran out; every cancel and receipt landed.
    let (sales, rest) = statuses.split_at(200);
    assert!(count(sales, 201) > 50 && count(sales, 409) > 0, "{sales:?}");
    assert!(rest.iter().all(|s| *s == 200), "{rest:?}");
    assert!(!first.is_empty());
    let report = app.verify().await;
    assert!(report.ok, "{:?}", report.violations);
    let [incoming, preordered, sold] = counters(&app, "race", ["incoming", "preordered", "sold"]).await;
    assert!(preordered <= incoming, "{preordered} preordered of {incoming} incoming");
    assert_eq!(sold, app.units_in_orders("race").await - returned_units(&app).await);
}

/// Units of the app's orders that came back (their returns and cancellations).
async fn returned_units(app: &TestApp) -> i64 {
    let mut conn = app.redis.raw().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}:order:*", app.store.keys().prefix()))
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut back = 0;
    for key in keys {
        let raw: String = redis::cmd("GET").arg(&key).query_async(&mut conn).await.unwrap();
        let order: Value = serde_json::from_str(&raw).unwrap();
        for ret in order["returns"].as_array().into_iter().flatten() {
            back += ret["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["quantity"].as_i64().unwrap())
                .sum::<i64>();
        }
    }
    back
}

/// A redis-server of this test's own, started in a locale whose collation is not byte
/// order (redis-server takes `LC_COLLATE` from its environment, and Lua's `<` on strings
/// follows it). Killed on drop.
struct LocaleRedis {
    _child: tokio::process::Child,
    dir: tempfile::TempDir,
}

impl LocaleRedis {
    async fn start(locale: &str) -> Self {
        let listed = std::process::Command::new("locale").arg("-a").output().unwrap();
        let listed = String::from_utf8_lossy(&listed.stdout).to_lowercase();
        assert!(
            listed.contains(&locale.to_lowercase().replace("utf-8", "utf8")),
            "this test needs the {locale} locale (scripts/test.sh makes it)"
        );
        let dir = tempfile::Builder::new().prefix("sw-locale").tempdir().unwrap();
        let child = tokio::process::Command::new(stockwatch::managed::redis_server::server_binary())
            .args(["--port", "0", "--save", "", "--appendonly", "no", "--unixsocket"])
            .arg(dir.path().join("r.sock"))
            .arg("--dir")
            .arg(dir.path())
            .env("LC_ALL", locale)
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server starts");
        let me = Self { _child: child, dir };
        for _ in 0..500 {
            let ping = async {
                let mut conn = redis::Client::open(me.url())?
                    .get_multiplexed_async_connection()
                    .await?;
                redis::cmd("PING").query_async::<String>(&mut conn).await
            };
            if ping.await.is_ok() {
                return me;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("redis-server in {locale} did not answer");
    }

    fn url(&self) -> String {
        format!("redis+unix://{}", self.dir.path().join("r.sock").display())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_expected_in_the_same_ms_take_preorders_in_one_order_whatever_the_locale() {
    let redis = LocaleRedis::start("en_US.UTF-8").await;
    let config = stockwatch::StoreConfig {
        key_prefix: fresh_prefix(),
        ..Default::default()
    };
    let store = stockwatch::ops::Inventory::new(stockwatch::Store::new(&redis.url(), config).unwrap());
    let app = serve_store(TestRedis::start().await, store, AppOptions::default()).await;
    for strategy in ["watch", "lua"] {
        let sku = format!("tie-{strategy}");
        app.set_stock(&sku, 0).await;
        // Due in the same ms: the reference breaks the tie, in byte order ("PO-B" first), as
        // the listing shows them. en_US's collation would put "PO-a" first.
        expect(&app, &sku, "PO-a", 5, "2030-01-15T09:00:00Z").await;
        expect(&app, &sku, "PO-B", 5, "2030-01-15T09:00:00Z").await;
        let (status, _) = preorders(&app, &sku, json!({"enabled": true})).await;
        assert_eq!(status, 200);
        let (status, body) = buy(&app, &sku, 1, strategy).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["purchase_order"], "PO-B", "{strategy}: {body}");
        let (_, listed) = app.get(&format!("/v1/skus/{sku}/incoming")).await;
        assert_eq!(listed["purchase_orders"][0]["ref"], "PO-B", "{listed}");
    }
}
