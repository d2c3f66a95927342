//! `stockwatch verify`: passes on a consistent store, and names the SKU and rule when one
//! is broken, both as a library call and as the command (exit codes, `--json`).

use crate::helpers::{AppOptions, TestApp, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use std::time::Duration;

/// Runs the real binary against the app's Redis and prefix: (exit code, stdout).
fn verify_cli(app: &TestApp, json: bool) -> (i32, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_stockwatch"));
    cmd.args(["verify", "--key-prefix", app.store.keys().prefix()])
        .env("REDIS_URL", app.redis.url())
        .env("RUST_LOG", "warn");
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().expect("stockwatch runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

async fn mixed_workload(app: &TestApp) {
    app.set_stock("a", 100).await;
    app.set_stock("b", 20).await;
    for strategy in ["watch", "lua"] {
        assert_eq!(crate::helpers::count(&app.rush("a", 30, strategy).await, 201), 30);
        let cart = json!({"user_id": "u", "items": [{"sku": "a", "quantity": 1}, {"sku": "b", "quantity": 2}]});
        app.post(&format!("/v1/checkouts?strategy={strategy}"), cart).await;
        let keep = app.reserve(strategy, &[("b", 1)], 600).await;
        let sell = app.reserve(strategy, &[("b", 2)], 600).await;
        let drop = app.reserve(strategy, &[("a", 1), ("b", 1)], 600).await;
        let _ = keep;
        let id = |v: &Value| v["reservation_id"].as_str().unwrap().to_owned();
        assert_eq!(
            app.post(&format!("/v1/reservations/{}/confirm", id(&sell)), json!({}))
                .await
                .0,
            201
        );
        assert_eq!(
            app.post(&format!("/v1/reservations/{}/cancel", id(&drop)), json!({}))
                .await
                .0,
            200
        );
    }
    app.post("/v1/skus/b/restock", json!({"quantity": 7})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consistent_store_passes() {
    let app = spawn_app().await;
    mixed_workload(&app).await;
    let report = app.verify().await;
    assert!(report.ok, "{report:?}");
    assert_eq!((report.skus, report.active_reservations), (2, 2));
    let (code, out) = verify_cli(&app, false);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK"), "{out}");
    let (code, out) = verify_cli(&app, true);
    assert_eq!(code, 0);
    let parsed: Value = serde_json::from_str(&out).expect("--json prints JSON");
    assert_eq!(parsed["ok"], true);
    assert_eq!(parsed["violations"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversell_by_broken_is_caught_and_named() {
    // A long pause between check and act, so the oversell happens even on a starved CI core.
    let app = spawn_app_with(AppOptions::default(), |c| {
        c.broken_think_time = Duration::from_millis(50)
    })
    .await;
    app.set_stock("ps5", 10).await;
    app.set_stock("fine", 10).await;
    app.rush_limited("ps5", 300, "broken", 100).await;
    let oversold = -app.stock("ps5").await["available"].as_i64().unwrap();
    assert!(oversold > 0);
    let (code, out) = verify_cli(&app, true);
    assert_eq!(code, 1, "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["ok"], false);
    let violations = report["violations"].as_array().unwrap();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0]["sku"], "ps5");
    assert_eq!(violations[0]["rule"], "available_negative");
    assert!(
        violations[0]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("oversold by {oversold} units"))
    );
    let (code, text) = verify_cli(&app, false);
    assert_eq!(code, 1);
    assert!(text.contains("FAIL ps5 [available_negative]"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rule_catches_its_own_kind_of_damage() {
    let app = spawn_app().await;
    mixed_workload(&app).await;
    let mut conn = app.redis.raw().await;
    let keys = app.store.keys();
    let sku = |s: &str| stockwatch::domain::Sku::parse(s).unwrap();
    // Damage done behind stockwatch's back, one counter at a time.
    let bump = async |s: &str, field: &str, by: i64| {
        let mut conn = app.redis.raw().await;
        let _: () = redis::cmd("HINCRBY")
            .arg(keys.stock(&sku(s)))
            .arg(field)
            .arg(by)
            .query_async(&mut conn)
            .await
            .unwrap();
    };
    let rules = |report: &stockwatch::ops::Report| -> Vec<(String, &'static str)> {
        report
            .violations
            .iter()
            .map(|v| (v.sku.clone().unwrap_or_default(), v.rule))
            .collect()
    };

    // A sale with no order: sold is off, and the units came from nowhere.
    bump("a", "sold", 1).await;
    let found = rules(&app.verify().await);
    assert!(
        found.contains(&("a".into(), "sold_mismatch")) && found.contains(&("a".into(), "conservation")),
        "{found:?}"
    );
    bump("a", "sold", -1).await;
    assert!(app.verify().await.ok);

    // Units moved to reserved without a reservation.
    bump("b", "reserved", 2).await;
    bump("b", "available", -2).await;
    assert_eq!(rules(&app.verify().await), [("b".into(), "reserved_mismatch")]);
    bump("b", "reserved", -2).await;
    bump("b", "available", 2).await;

    // An active hold the worker can never find (the one kept on b, indexed in b's slot).
    let index = keys.expiry(keys.slot_of_sku(&sku("b")));
    let held: Vec<String> = redis::cmd("ZRANGE")
        .arg(&index)
        .arg(0)
        .arg(0)
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("ZREM")
        .arg(&index)
        .arg(&held[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    let found = rules(&app.verify().await);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].1, "hold_not_indexed");
    let _: () = redis::cmd("ZADD")
        .arg(&index)
        .arg(i64::MAX)
        .arg(&held[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(app.verify().await.ok);

    // Stock appearing without a set or restock movement.
    bump("a", "available", 5).await;
    bump("a", "received", 5).await;
    assert_eq!(rules(&app.verify().await), [("a".into(), "movements_mismatch")]);
}
