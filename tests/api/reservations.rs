//! The reservation lifecycle over HTTP: reserve, read, confirm, cancel, extend, and every
//! refusal of the contract, on `watch` and `lua`.

use crate::helpers::{AppOptions, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use stockwatch::domain::ReservationId;

fn id(body: &Value) -> String {
    body["reservation_id"].as_str().expect("reservation_id").to_owned()
}

/// The reservation of a 201 body, as the key layout knows it.
fn resv_id(body: &Value) -> ReservationId {
    ReservationId::parse(&id(body)).expect("one of our ids")
}

async fn lifecycle(strategy: &str) {
    let app = spawn_app().await;
    app.set_stock("tee", 10).await;
    app.set_stock("cap", 5).await;

    // Reserve: available -> reserved, stored active, indexed by deadline.
    let before = ops_now();
    let held = app.reserve(strategy, &[("tee", 3), ("cap", 1)], 60).await;
    assert_eq!(held["status"], "active");
    assert_eq!(held["items"][0]["remaining"], 7);
    assert_eq!(held["items"][1]["remaining"], 4);
    let expires_at = held["expires_at"].as_i64().unwrap();
    assert!(
        (before + 60_000..=ops_now() + 60_000).contains(&expires_at),
        "now + ttl"
    );
    assert_eq!(
        app.totals("tee").await,
        json!({"sku": "tee", "available": 7, "reserved": 3, "sold": 0})
    );
    let (status, got) = app.get(&format!("/v1/reservations/{}", id(&held))).await;
    assert_eq!(status, 200);
    assert_eq!(got["status"], "active");
    assert_eq!(got["user_id"], "holder");
    assert_eq!(
        got["items"],
        json!([
            {"sku": "tee", "quantity": 3, "allocations": [{"location": "default", "quantity": 3}]},
            {"sku": "cap", "quantity": 1, "allocations": [{"location": "default", "quantity": 1}]}
        ])
    );
    assert!(got.get("order_id").is_none());

    // Extend: a new deadline, re-scored in the index.
    let (status, extended) = app
        .post(
            &format!("/v1/reservations/{}/extend", id(&held)),
            json!({"ttl_seconds": 120}),
        )
        .await;
    assert_eq!(status, 200, "{extended}");
    let new_deadline = extended["expires_at"].as_i64().unwrap();
    assert!(new_deadline >= expires_at + 59_000, "{new_deadline} vs {expires_at}");
    let mut conn = app.redis.raw().await;
    let score: f64 = redis::cmd("ZSCORE")
        .arg(app.store.keys().expiry(resv_id(&held).slot()))
        .arg(id(&held))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(score as i64, new_deadline);

    // Confirm: reserved -> sold, an order with source reservation.
    let (status, confirmed) = app
        .post(&format!("/v1/reservations/{}/confirm", id(&held)), json!({}))
        .await;
    assert_eq!(status, 201, "{confirmed}");
    assert_eq!(confirmed["reservation_id"], held["reservation_id"]);
    let order_id = confirmed["order_id"].as_str().unwrap();
    let (status, order) = app.get(&format!("/v1/orders/{order_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(order["source"], "reservation");
    assert_eq!(order["user_id"], "holder");
    // The order's lines are the hold's, each with nothing returned yet (v1.5).
    let mut lines = got["items"].clone();
    for line in lines.as_array_mut().unwrap() {
        line["returned"] = json!(0);
    }
    assert_eq!(order["items"], lines);
    assert_eq!(order["status"], "placed");
    assert_eq!(
        app.totals("tee").await,
        json!({"sku": "tee", "available": 7, "reserved": 0, "sold": 3})
    );
    assert_eq!(
        app.totals("cap").await,
        json!({"sku": "cap", "available": 4, "reserved": 0, "sold": 1})
    );
    let (_, after) = app.get(&format!("/v1/reservations/{}", id(&held))).await;
    assert_eq!(after["status"], "confirmed");
    assert_eq!(after["order_id"], order_id);

    // Once ended, nothing else applies, and the answer names the status.
    for action in ["confirm", "cancel", "extend"] {
        let (status, body) = app
            .post(
                &format!("/v1/reservations/{}/{action}", id(&held)),
                // Only extend takes a body; confirm and cancel refuse one.
                if action == "extend" {
                    json!({"ttl_seconds": 30})
                } else {
                    json!({})
                },
            )
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (409, Some("reservation_not_active")),
            "{action}"
        );
        assert_eq!(body["status"], "confirmed");
    }

    // Cancel: reserved -> available.
    let second = app.reserve(strategy, &[("tee", 2)], 60).await;
    let (status, cancelled) = app
        .post(&format!("/v1/reservations/{}/cancel", id(&second)), json!({}))
        .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(
        app.totals("tee").await,
        json!({"sku": "tee", "available": 7, "reserved": 0, "sold": 3})
    );
    let (status, body) = app
        .post(&format!("/v1/reservations/{}/confirm", id(&second)), json!({}))
        .await;
    assert_eq!((status, body["status"].as_str()), (409, Some("cancelled")));

    // Terminal reservations are kept at least 24 h, then deleted by TTL; active ones never expire.
    let ttl_ms: i64 = redis::cmd("PTTL")
        .arg(app.store.keys().reservation(&resv_id(&second)))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl_ms > 23 * 3600 * 1000 && ttl_ms <= 24 * 3600 * 1000, "{ttl_ms}");
    let third = app.reserve(strategy, &[("cap", 1)], 60).await;
    let active_ttl: i64 = redis::cmd("PTTL")
        .arg(app.store.keys().reservation(&resv_id(&third)))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(active_ttl, -1, "an active hold is only ever released by a transition");

    let report = app.verify().await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.active_reservations, 1);
}

fn ops_now() -> i64 {
    stockwatch::ops::now_ms()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_lifecycle_on_watch() {
    lifecycle("watch").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_lifecycle_on_lua() {
    lifecycle("lua").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserving_refuses_like_a_checkout_and_changes_nothing() {
    let app = spawn_app().await;
    app.set_stock("a", 2).await;
    app.set_stock("b", 0).await;
    // Everything but the workers' list of slots in use: a slot is listed before a hold is
    // tried, so a refused hold may list its slot.
    let state = async || -> Vec<(String, String)> {
        let dump = app.dump().await;
        dump.into_iter()
            .filter(|(k, _)| !k.ends_with(":expiry:slots"))
            .collect()
    };
    let before = state().await;
    for strategy in ["watch", "lua"] {
        let url = format!("/v1/reservations?strategy={strategy}");
        let (status, body) = app
            .post(
                &url,
                json!({"user_id": "u", "items": [{"sku": "a", "quantity": 5}, {"sku": "b", "quantity": 1}]}),
            )
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (409, Some("insufficient_stock")),
            "{body}"
        );
        assert_eq!(body["items"].as_array().unwrap().len(), 2, "every short line is listed");
        let (status, body) = app
            .post(
                &url,
                json!({"user_id": "u", "items": [{"sku": "a", "quantity": 1}, {"sku": "nope", "quantity": 1}]}),
            )
            .await;
        assert_eq!(
            (status, body["error"].as_str(), body["sku"].as_str()),
            (404, Some("unknown_sku"), Some("nope"))
        );
        for bad in [
            json!({"user_id": "u", "items": [{"sku": "a", "quantity": 1}], "ttl_seconds": 0}),
            json!({"user_id": "u", "items": [{"sku": "a", "quantity": 1}], "ttl_seconds": 86_401}),
            json!({"user_id": "u", "items": [{"sku": "a", "quantity": 1}], "ttl_seconds": "60"}),
            json!({"user_id": "u", "items": []}),
            json!({"items": [{"sku": "a", "quantity": 1}]}),
        ] {
            let (status, body) = app.post(&url, bad.clone()).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (400, Some("invalid_request")),
                "{bad}"
            );
        }
    }
    assert_eq!(state().await, before, "no refusal wrote anything");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_foreign_ids_are_404_and_bad_extends_are_400() {
    let app = spawn_app().await;
    let unknown = uuid::Uuid::now_v7().to_string();
    for path in [
        format!("/v1/reservations/{unknown}"),
        "/v1/reservations/not-an-id".into(),
        "/v1/reservations/..%2F..%2Fsku".into(),
    ] {
        let (status, body) = app.get(&path).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (404, Some("unknown_reservation")),
            "{path}"
        );
    }
    for action in ["confirm", "cancel", "extend"] {
        let (status, body) = app
            .post(
                &format!("/v1/reservations/{unknown}/{action}"),
                if action == "extend" {
                    json!({"ttl_seconds": 5})
                } else {
                    json!({})
                },
            )
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (404, Some("unknown_reservation")),
            "{action}"
        );
    }
    app.set_stock("a", 1).await;
    let held = app.reserve("watch", &[("a", 1)], 60).await;
    for bad in [json!({}), json!({"ttl_seconds": 0}), json!({"ttl_seconds": -5})] {
        let (status, body) = app
            .post(&format!("/v1/reservations/{}/extend", id(&held)), bad.clone())
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{bad}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapsed_hold_is_expired_even_before_the_worker_sweeps_it() {
    let app = spawn_app_with(
        AppOptions {
            expiry: None,
            ..AppOptions::default()
        },
        |_| {},
    )
    .await;
    app.set_stock("a", 3).await;
    let held = app.reserve("watch", &[("a", 2)], 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let before = app.dump().await;
    for action in ["confirm", "cancel", "extend"] {
        let (status, body) = app
            .post(
                &format!("/v1/reservations/{}/{action}", id(&held)),
                // Only extend takes a body; confirm and cancel refuse one.
                if action == "extend" {
                    json!({"ttl_seconds": 60})
                } else {
                    json!({})
                },
            )
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (409, Some("reservation_not_active")),
            "{action}"
        );
        assert_eq!(body["status"], "expired", "{action}");
    }
    let (_, got) = app.get(&format!("/v1/reservations/{}", id(&held))).await;
    assert_eq!(got["status"], "expired");
    assert_eq!(
        app.dump().await,
        before,
        "the refusals changed nothing; the sweep is the worker's"
    );
    // Still counted as reserved until swept: the invariant is about stored state.
    assert_eq!(app.stock("a").await["reserved"], 2);
    let swept = stockwatch::expiry::sweep(&app.store, &Default::default())
        .await
        .unwrap();
    assert_eq!(swept.released, 1);
    assert_eq!(
        app.totals("a").await,
        json!({"sku": "a", "available": 3, "reserved": 0, "sold": 0})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_reserve_oversells_and_verify_names_it() {
    // A long think time: even on a machine so loaded that the 200 requests trickle in,
    // many of them read the same level before any of them writes.
    let app = spawn_app_with(AppOptions::default(), |c| {
        c.broken_think_time = std::time::Duration::from_millis(100)
    })
    .await;
    app.set_stock("hot", 20).await;
    let statuses = app
        .fire(
            "/v1/reservations?strategy=broken",
            200,
            200,
            |i| json!({"user_id": format!("u{i}"), "items": [{"sku": "hot", "quantity": 1}]}),
        )
        .await;
    let held = crate::helpers::count(&statuses, 201) as i64;
    assert!(held > 20, "check-then-act holds more than exists: {held}");
    let stock = app.stock("hot").await;
    assert_eq!(stock["reserved"].as_i64().unwrap(), held);
    assert_eq!(stock["available"].as_i64().unwrap(), 20 - held);
    let report = app.verify().await;
    assert!(!report.ok);
    let named = report
        .violations
        .iter()
        .find(|v| v.rule == "available_negative")
        .expect("named");
    assert_eq!(named.sku.as_deref(), Some("hot"));
    assert!(
        named.message.contains(&format!("oversold by {} units", held - 20)),
        "{}",
        named.message
    );
}
