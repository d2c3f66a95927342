//! The settings mark (`ops::settings_mark`): every write of a setting marks its SKU, a plain
//! SKU stays unmarked, and a store from before the mark is marked once, with `lua` takes
//! obeying every setting meanwhile.

use crate::helpers::{TestApp, spawn_app};
use crate::low_stock::put;
use serde_json::json;
use stockwatch::domain::{Quantity, Sku, Strategy, UserId};
use stockwatch::ops::{self, Inventory};

/// The SKU's mark, as stored.
async fn mark(app: &TestApp, sku: &str) -> Option<String> {
    redis::cmd("HGET")
        .arg(app.store.keys().stock(&Sku::parse(sku).unwrap()))
        .arg("opt")
        .query_async(&mut app.redis.raw().await)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_setting_marks_its_sku_and_a_plain_one_stays_unmarked() {
    let app = spawn_app().await;
    for sku in ["plain", "sale", "pre", "rules", "places", "safety"] {
        app.set_stock(sku, 20).await;
    }
    put(&app, "/v1/skus/sale/sale", json!({"per_customer_limit": 3})).await;
    put(&app, "/v1/skus/pre/preorders", json!({"enabled": true})).await;
    put(&app, "/v1/skus/rules/alerts", json!({"low_stock_threshold": 2})).await;
    put(&app, "/v1/skus/places/locations/east/stock", json!({"available": 4})).await;
    put(
        &app,
        "/v1/skus/safety/locations/default/stock",
        json!({"available": 20, "safety_stock": 2}),
    )
    .await;
    let (status, body) = app
        .import(concat!(
            r#"{"sku":"imported","available":5,"low_stock_threshold":1}"#,
            "\n",
            r#"{"sku":"imported-plain","available":5}"#,
            "\n"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    for strategy in ["watch", "lua"] {
        let (status, body) = app
            .post(
                &format!("/v1/purchases?strategy={strategy}"),
                json!({"sku": "plain", "quantity": 1, "user_id": "u"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    for sku in ["sale", "pre", "rules", "places", "safety", "imported"] {
        assert_eq!(mark(&app, sku).await.as_deref(), Some("1"), "{sku}");
    }
    for sku in ["plain", "imported-plain"] {
        assert_eq!(mark(&app, sku).await, None, "{sku}: no setting, no mark");
    }
    assert!(app.verify().await.ok);
    // A setting that lost its mark is named by `verify`: a `lua` take would not see it.
    redis::cmd("HDEL")
        .arg(app.store.keys().stock(&Sku::parse("sale").unwrap()))
        .arg("opt")
        .exec_async(&mut app.redis.raw().await)
        .await
        .unwrap();
    let report = app.verify().await;
    let named: Vec<_> = report.violations.iter().map(|v| (v.rule, v.sku.as_deref())).collect();
    assert_eq!(named, [("settings_unmarked", Some("sale"))], "{report:?}");
}

/// A `lua` purchase of 2 units of `sku` by one customer: what refuses it, if anything.
async fn refusal(store: &Inventory, sku: &str) -> Option<&'static str> {
    let (sku, user) = (Sku::parse(sku).unwrap(), UserId::parse(&json!("alice")).unwrap());
    let two = Quantity::parse(&json!(2), "quantity").unwrap();
    ops::purchase(store, Strategy::Lua, &sku, two, &user, None)
        .await
        .err()
        .map(|e| e.code())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_from_before_the_mark_is_marked_once_and_obeyed_meanwhile() {
    let app = spawn_app().await;
    app.set_stock("limited", 20).await;
    app.set_stock("plain", 20).await;
    put(&app, "/v1/skus/limited/sale", json!({"per_customer_limit": 1})).await;
    // What an earlier version left: a setting without the mark, and no store mark.
    let mut conn = app.redis.raw().await;
    let keys = app.store.keys();
    redis::cmd("HDEL")
        .arg(keys.stock(&Sku::parse("limited").unwrap()))
        .arg("opt")
        .exec_async(&mut conn)
        .await
        .unwrap();
    redis::cmd("DEL")
        .arg(keys.settings_marked())
        .exec_async(&mut conn)
        .await
        .unwrap();

    // A process that has not upgraded reads every setting of every SKU.
    let process = Inventory::new(app.store.store().clone());
    assert_eq!(refusal(&process, "limited").await, Some("limit_exceeded"));
    assert_eq!(refusal(&process, "plain").await, None);

    let marked = ops::settings_mark::upgrade(&process).await.unwrap();
    assert_eq!(marked, 1, "only the SKU with a setting");
    assert_eq!(mark(&app, "limited").await.as_deref(), Some("1"));
    assert_eq!(mark(&app, "plain").await, None);
    let done: bool = redis::cmd("EXISTS")
        .arg(keys.settings_marked())
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(done, "the store is marked");
    // Now reading settings only where the mark is, it still sees the sale's limit.
    assert_eq!(refusal(&process, "limited").await, Some("limit_exceeded"));
    assert_eq!(ops::settings_mark::upgrade(&process).await.unwrap(), 0, "once");
    assert!(app.verify().await.ok);
}
