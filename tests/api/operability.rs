//! What an operator sees: `/metrics`, `/openapi.json` against the contract, `/docs`,
//! request ids, and layered configuration.

use crate::helpers::{AppOptions, count, spawn_app, spawn_app_with};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// `name{labels} value` lines of the Prometheus text format.
pub(crate) async fn scrape(app: &crate::helpers::TestApp) -> BTreeMap<String, f64> {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let kind = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/plain"), "{kind}");
    let text = response.text().await.unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

pub(crate) fn value(metrics: &BTreeMap<String, f64>, series: &str) -> f64 {
    metrics.get(series).copied().unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_exist_and_move_during_a_contended_rush() {
    // Batching off: the textbook path, where concurrent buyers of one SKU abort each other.
    let app = spawn_app_with(
        AppOptions {
            allow_broken: true,
            ..AppOptions::default()
        },
        |c| {
            c.batching = false;
            c.response_timeout = Duration::from_secs(5);
            c.retry.max_attempts = 50;
            c.retry.max_elapsed = Duration::from_secs(4);
        },
    )
    .await;
    let before = scrape(&app).await;
    app.set_stock("hot-secret-sku", 100).await;
    let statuses = app.rush_limited("hot-secret-sku", 300, "watch", 100).await;
    assert_eq!(count(&statuses, 201), 100, "{statuses:?}");
    let after = scrape(&app).await;

    let moved = |series: &str| value(&after, series) - value(&before, series);
    let op = r#"op="purchase",strategy="watch""#;
    assert!(moved(&format!("stockwatch_txn_attempts_total{{{op}}}")) >= 300.0);
    assert!(
        moved(&format!("stockwatch_txn_conflicts_total{{{op}}}")) > 0.0,
        "300 unbatched buyers of one SKU must conflict"
    );
    assert_eq!(
        moved(r#"stockwatch_txn_calls_total{op="purchase",outcome="committed",strategy="watch"}"#),
        100.0
    );
    assert_eq!(
        moved(r#"stockwatch_txn_rejections_total{op="purchase",reason="insufficient_stock",strategy="watch"}"#),
        count(&statuses, 409) as f64
    );
    assert_eq!(moved(&format!("stockwatch_txn_attempts_per_call_count{{{op}}}")), 300.0);
    assert_eq!(moved(&format!("stockwatch_txn_duration_seconds_count{{{op}}}")), 300.0);
    assert_eq!(
        moved(r#"stockwatch_http_requests_total{method="POST",route="/v1/purchases",status="201"}"#),
        100.0
    );
    assert!(moved("stockwatch_pool_wait_seconds_count") >= 300.0);
    for gauge in [
        "stockwatch_pool_size",
        "stockwatch_pool_in_use",
        "stockwatch_pool_available",
        "stockwatch_pool_waiting",
    ] {
        assert!(after.contains_key(gauge), "{gauge} missing");
    }
    assert!(after.contains_key("stockwatch_process_resident_memory_bytes"));

    // The broken path is counted under its own label.
    app.set_stock("cold", 5).await;
    app.rush("cold", 20, "broken").await;
    let later = scrape(&app).await;
    assert!(
        value(
            &later,
            r#"stockwatch_txn_attempts_total{op="purchase",strategy="broken"}"#
        ) >= 20.0
    );

    // Labels are bounded: no SKU, user or id ever becomes a label value.
    let text = app.text("/metrics").await;
    assert!(
        !text.contains("hot-secret-sku") && !text.contains("cold\""),
        "a SKU leaked into a label"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_and_redis_error_metrics_move() {
    let app = spawn_app_with(AppOptions::default(), |c| {
        c.response_timeout = Duration::from_millis(300)
    })
    .await;
    app.set_stock("a", 10).await;
    app.reserve("watch", &[("a", 2)], 1).await;
    let mut released = 0.0;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        released = value(&scrape(&app).await, "stockwatch_expiry_released_total");
        if released >= 1.0 {
            break;
        }
    }
    let m = scrape(&app).await;
    assert_eq!(released, 1.0);
    assert_eq!(value(&m, "stockwatch_expiry_lag_seconds_count"), 1.0);
    assert!(value(&m, "stockwatch_expiry_batch_size_count") >= 1.0);
    assert_eq!(
        value(
            &m,
            r#"stockwatch_txn_calls_total{op="expire",outcome="committed",strategy="watch"}"#
        ),
        1.0
    );

    // A paused Redis: the request times out, and the failure is counted by kind.
    let mut raw = app.redis.raw().await;
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1500)
        .arg("ALL")
        .query_async(&mut raw)
        .await
        .unwrap();
    let (status, body) = app.get("/v1/skus/a").await;
    assert_eq!((status, body["error"].as_str()), (503, Some("redis_unavailable")));
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let m = scrape(&app).await;
    // The request's timeout, plus any sweep of the expiry worker that hit the pause.
    assert!(value(&m, r#"stockwatch_redis_errors_total{kind="timeout"}"#) >= 1.0);
    assert_eq!(
        value(
            &m,
            r#"stockwatch_http_requests_total{method="GET",route="/v1/skus/{sku}",status="503"}"#
        ),
        1.0
    );
}

/// `(method, path)` → statuses, from the contract's tables (docs/API.md is a copy of the
/// shared contract).
fn contract() -> BTreeMap<(String, String), BTreeSet<u16>> {
    let text = include_str!("../../docs/API.md");
    let mut rows = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let first = line.split('|').nth(1).unwrap().trim().trim_matches('`');
        let Some((method, path)) = first.split_once(' ') else {
            continue;
        };
        let path = path.split('?').next().unwrap().to_owned();
        let mut statuses: BTreeSet<u16> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter(|w| w.len() == 3)
            .filter_map(|w| w.parse().ok())
            .filter(|s| (200..600).contains(s))
            .collect();
        if method == "GET" {
            statuses.insert(200);
        }
        if line.contains("as checkouts") {
            statuses.extend(
                rows.get(&("post".to_owned(), "/v1/checkouts".to_owned()))
                    .into_iter()
                    .flatten()
                    .copied(),
            );
        }
        rows.insert((method.to_lowercase(), path), statuses);
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_spec_matches_the_contract() {
    let app = spawn_app().await;
    let (status, spec) = app.get("/openapi.json").await;
    assert_eq!(status, 200);
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    let contract = contract();
    assert!(contract.len() >= 16, "contract tables not found: {contract:?}");

    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let codes: BTreeSet<u16> = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.parse().unwrap())
                .collect();
            // The teaching endpoints are documented but are not part of the v1 contract.
            if op["tags"][0] == "demo" {
                continue;
            }
            documented.insert((method.clone(), path.clone()));
            let key = (method.clone(), path.clone());
            let wanted = contract
                .get(&key)
                .unwrap_or_else(|| panic!("{method} {path} is in the spec but not the contract"));
            // Every status the contract names for this endpoint is declared.
            assert!(
                wanted.is_subset(&codes),
                "{method} {path}: contract {wanted:?}, spec {codes:?}"
            );
            // Rules stated once in the contract, for every endpoint they cover.
            let admin = path.ends_with("/stock") || path.ends_with("/restock");
            let has_body = op.get("requestBody").is_some();
            let redis_backed = !matches!(path.as_str(), "/healthz" | "/metrics" | "/v1/events");
            for (applies, code) in [
                (admin, 401),
                (admin, 403),
                (has_body, 400),
                (has_body, 413),
                (redis_backed, 503),
                (op["parameters"].to_string().contains("Idempotency-Key"), 422),
                (op["parameters"].to_string().contains("\"strategy\""), 403),
            ] {
                assert!(!applies || codes.contains(&code), "{method} {path} lacks {code}");
            }
            // Every error response is the contract's error shape.
            for (code, response) in op["responses"].as_object().unwrap() {
                if code.starts_with('4') || code.starts_with('5') {
                    let schema = &response["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(schema, "#/components/schemas/ErrorBody", "{method} {path} {code}");
                }
            }
        }
    }
    let missing: Vec<_> = contract.keys().filter(|k| !documented.contains(*k)).collect();
    assert!(missing.is_empty(), "in the contract but not the spec: {missing:?}");
    let error = &spec["components"]["schemas"]["ErrorBody"];
    let required: Vec<&str> = error["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(required.contains(&"error") && required.contains(&"message"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_page_is_served_from_the_binary() {
    let app = spawn_app().await;
    let page = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    // Nothing from the internet: every script and stylesheet is a relative path.
    for attr in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
        assert!(!html.contains(attr), "external asset in /docs: {attr}");
    }
    let init = app
        .client
        .get(app.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(init.status(), 200);
    assert!(init.text().await.unwrap().contains("/openapi.json"));
    let bundle = app
        .client
        .get(app.url("/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(bundle.status(), 200);
    assert!(bundle.bytes().await.unwrap().len() > 100_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_echoed_or_made() {
    let app = spawn_app().await;
    let echoed = app
        .client
        .get(app.url("/v1/skus/nope"))
        .header("X-Request-Id", "trace-42.a:b")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.status(), 404);
    assert_eq!(echoed.headers()["x-request-id"], "trace-42.a:b");
    for hostile in ["has space", "x".repeat(129).as_str(), "semi;colon", "quo\"te"] {
        let r = app
            .client
            .get(app.url("/healthz"))
            .header("X-Request-Id", hostile)
            .send()
            .await
            .unwrap();
        let id = r.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(id, hostile);
        assert!(uuid::Uuid::try_parse(id).is_ok(), "{id}");
    }
    let made = app.client.get(app.url("/healthz")).send().await.unwrap();
    let id = made.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(uuid::Uuid::try_parse(id).unwrap().get_version_num(), 7);
}

fn stockwatch() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_stockwatch"));
    cmd.env_remove("STOCKWATCH_POOL_SIZE")
        .env_remove("STOCKWATCH_BIND")
        .env_remove("STOCKWATCH_CONFIG")
        .env_remove("STOCKWATCH_ADMIN_TOKEN");
    cmd
}

fn resolved(out: &std::process::Output, key: &str) -> String {
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("{key} not printed: {text}"))
        .to_owned()
}

#[test]
fn settings_layer_flag_over_env_over_file_over_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stockwatch.toml");
    std::fs::write(
        &file,
        "pool_size = 7\nbase-ms = 2.5\nadmin_token = \"from-file-secret\"\n[serve]\nbind = \"127.0.0.1:9001\"\njitter = \"equal\"\n",
    )
    .unwrap();
    let run = |env: &[(&str, &str)], flags: &[&str]| {
        let mut cmd = stockwatch();
        cmd.arg("serve")
            .arg("--config")
            .arg(&file)
            .arg("--print-config")
            .args(flags);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out
    };
    let file_only = run(&[], &[]);
    assert_eq!(resolved(&file_only, "pool-size"), "pool-size = 7  # config file");
    assert_eq!(resolved(&file_only, "bind"), "bind = 127.0.0.1:9001  # config file");
    assert_eq!(resolved(&file_only, "jitter"), "jitter = equal  # config file");
    assert_eq!(resolved(&file_only, "max-attempts"), "max-attempts = 12  # default");
    // Secrets are never printed, wherever they came from.
    assert_eq!(
        resolved(&file_only, "admin-token"),
        "admin-token = <set>  # config file"
    );
    assert!(!String::from_utf8_lossy(&file_only.stdout).contains("from-file-secret"));

    let env = run(&[("STOCKWATCH_POOL_SIZE", "9")], &[]);
    assert_eq!(resolved(&env, "pool-size"), "pool-size = 9  # env");
    let flag = run(&[("STOCKWATCH_POOL_SIZE", "9")], &["--pool-size", "11"]);
    assert_eq!(resolved(&flag, "pool-size"), "pool-size = 11  # flag");

    // --help shows the file's value as the default, but never a secret.
    let help = stockwatch()
        .args(["serve", "--help", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("[default: 7]"), "{help}");
    assert!(!help.contains("from-file-secret"));
}

#[test]
fn invalid_settings_fail_at_start_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str); 4] = [
        ("pool_size = 0\n", "pool_size"),
        ("no_such_thing = 1\n", "no_such_thing"),
        ("allow_broken = \"yes\"\n", "allow_broken"),
        ("[serve]\nexpiry_worker = \"sometimes\"\n", "expiry_worker"),
    ];
    for (text, named) in cases {
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, text).unwrap();
        let out = stockwatch().arg("serve").arg("--config").arg(&file).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(named), "{text}: {err}");
    }
    let out = stockwatch()
        .args(["serve", "--print-config"])
        .env("STOCKWATCH_RESPONSE_TIMEOUT_MS", "soon")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--response-timeout-ms"));
    let missing = stockwatch()
        .args(["serve", "--config", "/nonexistent/stockwatch.toml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/stockwatch.toml"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_request_ids_and_never_a_secret() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let secret = "s3cret-admin-token-do-not-log";
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_stockwatch"))
        .args(["serve", "--bind", "127.0.0.1:0", "--log-format", "json", "--data-dir"])
        .arg(dir.path())
        .env("STOCKWATCH_ADMIN_TOKEN", secret)
        .env("RUST_LOG", "debug")
        .env_remove("REDIS_URL")
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut captured = Vec::new();
    let port = loop {
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("serving in time")
            .unwrap()
            .expect("log open");
        let json: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        captured.push(line);
        if let Some(port) = json["fields"]["port"].as_u64() {
            break port;
        }
    };
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let r = client
        .put(format!("{base}/v1/skus/ps5/stock"))
        .header("Authorization", format!("Bearer {secret}"))
        .header("X-Request-Id", "req-json-1")
        .json(&serde_json::json!({"available": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .put(format!("{base}/v1/skus/ps5/stock"))
        .header("Authorization", "Bearer wrong-guess")
        .json(&serde_json::json!({"available": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A key-shaped credential goes through the keyring (a Redis read) and is refused.
    let made_up = stockwatch::domain::ApiKey::generate();
    let r = client
        .put(format!("{base}/v1/skus/ps5/stock"))
        .bearer_auth(made_up.reveal())
        .json(&serde_json::json!({"available": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .post(format!("{base}/v1/purchases"))
        .header("X-Request-Id", "req-json-2")
        .header("traceparent", format!("00-{TRACE}-00f067aa0ba902b7-01"))
        .json(&serde_json::json!({"sku": "ps5", "quantity": 1, "user_id": "u"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // The trace goes on: the same trace id and flags, this server's span as the parent.
    let answered_trace = r.headers()["traceparent"].to_str().unwrap().to_owned();
    let parts: Vec<&str> = answered_trace.split('-').collect();
    assert_eq!((parts[0], parts[1], parts[3]), ("00", TRACE, "01"), "{answered_trace}");
    assert!(
        parts[2].len() == 16 && parts[2] != "00f067aa0ba902b7",
        "{answered_trace}"
    );
    // SIGTERM, then read everything it logged.
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    while let Ok(Ok(Some(line))) = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await {
        captured.push(line);
    }
    let _ = child.wait().await;
    let all = captured.join("\n");
    assert!(!all.contains(secret), "the admin token was logged");
    assert!(!all.contains("wrong-guess"), "a presented token was logged");
    let secret_half = made_up.reveal().rsplit('_').next().unwrap();
    assert!(!all.contains(secret_half), "a presented key was logged");
    let answered: Vec<serde_json::Value> = captured
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|j| j["fields"]["message"] == "request answered")
        .collect();
    let purchase = answered
        .iter()
        .find(|j| j["span"]["request_id"] == "req-json-2")
        .expect("the purchase was logged with its request id");
    assert_eq!(purchase["span"]["operation"], "POST /v1/purchases");
    assert_eq!(purchase["span"]["strategy"], "watch");
    assert_eq!(purchase["span"]["attempts"], 1);
    assert_eq!(purchase["fields"]["status"], 201);
    assert_eq!(
        purchase["span"]["trace_id"], TRACE,
        "the caller's trace id is in the log line"
    );
    assert!(answered.iter().any(|j| j["span"]["request_id"] == "req-json-1"));
}

/// Under a textbook-WATCH rush on one SKU, the retry budget caps retries at its share of
/// first attempts, and every call it stops is a `503 contention` counted as exhausted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retry_budget_caps_retries_at_its_share_of_first_attempts() {
    const BUYERS: usize = 300;
    for percent in [0.0_f32, 20.0] {
        let app = spawn_app_with(AppOptions::default(), |c| {
            c.batching = false;
            c.response_timeout = Duration::from_secs(10);
            c.retry.max_attempts = 1000;
            c.retry.max_elapsed = Duration::from_secs(8);
            c.retry_budget = Some(stockwatch::retry::RetryBudget {
                percent,
                min_per_sec: 0,
            });
        })
        .await;
        app.set_stock("hot", 10_000).await;
        let statuses = app
            .fire(
                "/v1/purchases",
                BUYERS,
                BUYERS,
                |i| serde_json::json!({"sku": "hot", "quantity": 1, "user_id": format!("u{i}")}),
            )
            .await;
        let (sold, refused) = (count(&statuses, 201), count(&statuses, 503));
        assert_eq!(sold + refused, BUYERS, "{statuses:?}");
        assert!(refused > 0, "{percent}%: 300 unbatched buyers of one SKU conflict");
        let metrics = scrape(&app).await;
        let labels = r#"{op="purchase",strategy="watch"}"#;
        let attempts = value(&metrics, &format!("stockwatch_txn_attempts_total{labels}"));
        let retries = attempts - BUYERS as f64;
        let allowed = f64::from(percent) / 100.0 * BUYERS as f64;
        assert!(
            retries <= allowed,
            "{percent}%: {retries} retries for {BUYERS} first attempts"
        );
        let exhausted = value(&metrics, &format!("stockwatch_retry_budget_exhausted_total{labels}"));
        assert_eq!(exhausted, refused as f64, "{percent}%: every give-up was the budget's");
        assert_eq!(app.stock("hot").await["sold"], sold as i64);
    }
}

/// The on-call rules (`deploy/prometheus/`) and the Grafana dashboard name only metrics
/// stockwatch registers, and the dashboard only recording rules the rules file defines: a
/// rule or panel on a misspelt name would stay silent, and promtool cannot tell.
#[test]
fn the_prometheus_rules_and_dashboard_name_only_what_exists() {
    let rules = std::fs::read_to_string("deploy/prometheus/stockwatch.rules.yml").unwrap();
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("deploy/grafana/stockwatch.json").unwrap()).unwrap();
    let exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter())
        .map(|t| t["expr"].as_str().unwrap().to_owned())
        .collect();
    assert!(exprs.len() >= 8, "{exprs:?}");
    let mut registered = String::new();
    for entry in std::fs::read_dir("crates/store/src/metrics").unwrap() {
        registered.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    // Every name after `prefix` in `text`, up to the first character that cannot be in it.
    let names = |text: &str, prefix: &str| -> std::collections::BTreeSet<String> {
        text.match_indices(prefix)
            .map(|(at, _)| {
                let rest = &text[at + prefix.len()..];
                rest.chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == ':')
                    .collect::<String>()
            })
            .filter(|n| !n.is_empty())
            .collect()
    };
    let all = format!("{rules}\n{}", exprs.join("\n"));
    let metrics = names(&all, "stockwatch_");
    assert!(metrics.len() >= 10, "{metrics:?}");
    for name in &metrics {
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name);
        assert!(
            registered.contains(&format!("\"{base}\"")),
            "stockwatch_{name} is not a metric"
        );
    }
    for name in names(&exprs.join("\n"), "stockwatch:") {
        assert!(
            rules.contains(&format!("record: stockwatch:{name}")),
            "stockwatch:{name} is not recorded"
        );
    }
}

/// A W3C trace id from the specification's example.
const TRACE: &str = "4bf92f3577b34da6a50f8a2ee6d4f3b7";

/// A malformed or unusable `traceparent` is ignored (the request is served as without one);
/// a valid one is carried on, and a later version is read by its first fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_context_is_carried_on_and_bad_headers_are_ignored() {
    let app = spawn_app().await;
    let traced = |value: String| {
        let app = &app;
        async move {
            let r = app
                .client
                .get(app.url("/healthz"))
                .header("traceparent", value)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.headers().get("traceparent").map(|v| v.to_str().unwrap().to_owned())
        }
    };
    let parent = "00f067aa0ba902b7";
    for good in [
        format!("00-{TRACE}-{parent}-01"),
        format!("00-{TRACE}-{parent}-00"),
        format!("cc-{TRACE}-{parent}-01-what-comes-later"),
    ] {
        let answer = traced(good.clone()).await.unwrap_or_else(|| panic!("{good}"));
        assert!(
            answer.starts_with(&format!("00-{TRACE}-")) && answer.ends_with(&good[52..55]),
            "{good} -> {answer}"
        );
    }
    for bad in [
        format!("00-{}-{parent}-01", "0".repeat(32)),
        format!("00-{TRACE}-{}-01", "0".repeat(16)),
        format!("ff-{TRACE}-{parent}-01"),
        format!("00-{}-{parent}-01", TRACE.to_uppercase()),
        format!("00-{TRACE}-{parent}-01-extra"),
        format!("00-{TRACE}-{parent}"),
        "garbage".to_owned(),
    ] {
        assert_eq!(traced(bad.clone()).await, None, "{bad}");
    }
    // Without one, nothing is made up.
    let plain = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert!(plain.headers().get("traceparent").is_none());
}
