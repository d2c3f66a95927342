//! `stockwatch soak` as an operator runs it, shortened to a few seconds: the report's
//! figures come from the server, and a clean run meets every target.

use crate::helpers::{AppOptions, spawn_app_with};
use serde_json::Value;

/// Runs a 6-second soak against `target`, whose Redis `redis` names (an env var and its
/// value), and returns its JSON once it exited 0.
async fn soak(target: &str, prefix: &str, redis: (&str, &str)) -> Value {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_stockwatch"))
        .args(["soak", "--duration", "6s", "--window", "2s", "--warm-up", "2s"])
        .args(["--concurrency", "8", "--cold-skus", "20", "--json"])
        .args(["--target", target, "--key-prefix", prefix])
        .env_remove("REDIS_URL")
        .env(redis.0, redis.1)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_soak_reports_real_figures_and_meets_its_targets() {
    let app = spawn_app_with(AppOptions::default(), |_| {}).await;
    let json = soak(&app.address, app.store.keys().prefix(), ("REDIS_URL", &app.redis.url())).await;
    let report = &json["report"];
    let statuses = report["statuses"].as_object().unwrap();
    let total: u64 = statuses.values().map(|v| v.as_u64().unwrap()).sum();
    assert!(total > 100, "{statuses:?}");
    assert!(
        statuses.contains_key("201") && statuses.contains_key("200"),
        "{statuses:?}"
    );
    assert_eq!(report["server_errors"], 0);
    assert!(report["windows"].as_array().unwrap().len() >= 3);
    assert!(report["rss_end_mib"].as_f64().unwrap() > 1.0, "RSS read from /metrics");
    assert!(
        report["holds_expired"].as_u64().unwrap() > 0,
        "abandoned holds were released"
    );
    assert_eq!(json["verify"]["ok"], true);
    assert!(json["failures"].as_array().unwrap().is_empty());
    // The server's own counters agree that the soak happened.
    let metrics = app.text("/metrics").await;
    assert!(
        metrics.contains("stockwatch_http_requests_total{method=\"POST\",route=\"/v1/reservations\",status=\"201\"}")
    );
}

/// The same on a 3-master cluster, through a `serve` process on it: carts span masters
/// (sagas), holds expire on every master, and the final `verify` scans them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_soak_on_a_cluster_meets_its_targets() {
    let cluster = crate::cluster::TestCluster::start().await;
    let nodes = ("REDIS_CLUSTER_NODES", cluster.cluster.seeds().join(","));
    let prefix = crate::helpers::fresh_prefix();
    let server = crate::fleet::serve(&nodes, &prefix, &[]).await;
    let json = soak(&server.base, &prefix, (nodes.0, &nodes.1)).await;
    let report = &json["report"];
    assert_eq!(report["server_errors"], 0);
    assert!(
        report["statuses"]["201"].as_u64().unwrap() > 50,
        "{}",
        report["statuses"]
    );
    assert!(
        report["holds_expired"].as_u64().unwrap() > 0,
        "abandoned holds were released"
    );
    assert_eq!(json["verify"]["ok"], true, "{}", json["verify"]);
    assert!(json["failures"].as_array().unwrap().is_empty(), "{}", json["failures"]);
}
