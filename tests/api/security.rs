//! Security: nothing a client sends reaches a key it should not, limits hold, Redis
//! passwords and TLS work, and no secret reaches a log.

use crate::helpers::{AppOptions, TestRedis, spawn_app_with};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;
use stockwatch::ops::Inventory;
use stockwatch::{Store, StoreConfig};

/// Every key in the whole Redis database, with its type and a fingerprint of its value.
async fn whole_db(redis: &TestRedis) -> BTreeMap<String, String> {
    let mut conn = redis.raw().await;
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(&mut conn).await.unwrap();
    let mut out = BTreeMap::new();
    // The workers' list of slots in use may gain a slot number when a hold is tried on a
    // SKU that then turns out unknown (the slot is listed before the hold): it holds no input.
    for k in keys.into_iter().filter(|k| !k.ends_with(":expiry:slots")) {
        let dump: Option<Vec<u8>> = redis::cmd("DUMP").arg(&k).query_async(&mut conn).await.unwrap();
        out.insert(k, format!("{:?}", dump.map(|d| d.len())));
    }
    out
}

/// SKUs and ids built to escape the key layout: hash-tag braces, separators, globs,
/// traversal, whitespace, look-alikes, control characters, overlong values.
const HOSTILE: &[&str] = &[
    "{",
    "}",
    "{ps5}",
    "ps5}",
    "a:b",
    "sw:sku:{ps5}",
    "*",
    "ps?",
    "[a-z]*",
    "..",
    "../sw",
    "a/b",
    " ps5",
    "ps5 ",
    "ps\t5",
    "ps\n5",
    "p\u{0455}5",
    "ps\u{FF15}",
    "\u{200B}ps5",
    "ps5\u{0000}",
    "%7Bps5%7D",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_skus_and_ids_never_reach_another_key() {
    let app = spawn_app_with(AppOptions::default(), |_| {}).await;
    app.set_stock("ps5", 10).await;
    // Another tenant's data under another prefix, in the same database.
    let mut raw = app.redis.raw().await;
    let _: () = redis::cmd("HSET")
        .arg(&["other:sku:{ps5}", "available", "7"])
        .query_async(&mut raw)
        .await
        .unwrap();
    let overlong = "a".repeat(65);
    let before = whole_db(&app.redis).await;
    let mut candidates: Vec<String> = HOSTILE.iter().map(|s| s.to_string()).collect();
    candidates.push(overlong);
    for bad in &candidates {
        let encoded: String = url::form_urlencoded::byte_serialize(bad.as_bytes()).collect();
        let body_sku = json!({"sku": bad, "quantity": 1, "user_id": "u"});
        let cart = json!({"user_id": "u", "items": [{"sku": bad, "quantity": 1}]});
        let attempts: Vec<(reqwest::Method, String, Option<Value>)> = vec![
            (reqwest::Method::GET, format!("/v1/skus/{encoded}"), None),
            (
                reqwest::Method::PUT,
                format!("/v1/skus/{encoded}/stock"),
                Some(json!({"available": 5})),
            ),
            (
                reqwest::Method::POST,
                format!("/v1/skus/{encoded}/restock"),
                Some(json!({"quantity": 5})),
            ),
            (reqwest::Method::GET, format!("/v1/skus/{encoded}/movements"), None),
            (reqwest::Method::POST, "/v1/purchases".into(), Some(body_sku.clone())),
            (
                reqwest::Method::POST,
                "/v1/purchases?strategy=lua".into(),
                Some(body_sku),
            ),
            (reqwest::Method::POST, "/v1/checkouts".into(), Some(cart.clone())),
            (
                reqwest::Method::POST,
                "/v1/reservations?strategy=lua".into(),
                Some(cart),
            ),
            (reqwest::Method::GET, format!("/v1/orders/{encoded}"), None),
            (reqwest::Method::GET, format!("/v1/reservations/{encoded}"), None),
            (
                reqwest::Method::POST,
                format!("/v1/reservations/{encoded}/confirm"),
                None,
            ),
            (
                reqwest::Method::POST,
                format!("/v1/reservations/{encoded}/cancel"),
                None,
            ),
        ];
        for (method, path, body) in attempts {
            let (status, answer) = app.send(method.clone(), &path, body).await;
            // An HTTP client resolves `..` before sending: `GET /v1/skus/../movements` goes out
            // as `GET /v1/movements`, the scanner batches' path, which takes only POST.
            let resolved_elsewhere = status == 405 && path.ends_with("/../movements");
            assert!(
                status == 400 || status == 404 || resolved_elsewhere,
                "{method} {path} with {bad:?}: {status} {answer}"
            );
        }
    }
    assert_eq!(
        whole_db(&app.redis).await,
        before,
        "a hostile name created or changed a key"
    );
    let other: String = redis::cmd("HGET")
        .arg(&["other:sku:{ps5}", "available"])
        .query_async(&mut raw)
        .await
        .unwrap();
    assert_eq!(other, "7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_limits_hold_without_5xx() {
    let app = spawn_app_with(AppOptions::default(), |_| {}).await;
    app.set_stock("a", 10).await;
    // The oversized headers go on connections of their own: the server hangs up on a request
    // whose head it would not read, and a pooled connection it has just closed could carry
    // the next request of this test into a reset.
    let unpooled = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .unwrap();
    // Header size: 16 KiB of headers at most, refused with the contract's JSON.
    let r = unpooled
        .get(app.url("/v1/skus/a"))
        .header("X-Padding", "x".repeat(20 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "headers_too_large");
    let r = unpooled
        .post(app.url("/v1/purchases"))
        .header("X-Padding", "x".repeat(20 * 1024))
        .json(&json!({"sku": "a", "quantity": 1, "user_id": "u"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431, "refused before any handler runs");
    // Far beyond that, actix's own parser refuses (plain 431) or hangs up: never a 5xx.
    if let Ok(r) = unpooled
        .get(app.url("/v1/skus/a"))
        .header("X-Padding", "x".repeat(200 * 1024))
        .send()
        .await
    {
        assert_eq!(r.status(), 431);
    }
    // Body size: 413 with the contract's JSON.
    let big = json!({"sku": "a", "quantity": 1, "user_id": "u".repeat(70 * 1024)});
    let (status, body) = app.post("/v1/purchases", big).await;
    assert_eq!((status, body["error"].as_str()), (413, Some("payload_too_large")));
    // Cart size: 100 lines is the most.
    let lines = |n: usize| -> Vec<Value> { (0..n).map(|i| json!({"sku": format!("s{i}"), "quantity": 1})).collect() };
    let (status, body) = app
        .post("/v1/checkouts", json!({"user_id": "u", "items": lines(101)}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("items"));
    let (status, body) = app
        .post("/v1/checkouts", json!({"user_id": "u", "items": lines(100)}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("unknown_sku")),
        "100 lines are accepted and checked"
    );
    // Field sizes.
    let (status, _) = app
        .post(
            "/v1/purchases",
            json!({"sku": "a", "quantity": 1, "user_id": "u".repeat(129)}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = app
        .post_keyed(
            "/v1/purchases",
            json!({"sku": "a", "quantity": 1, "user_id": "u"}),
            &"k".repeat(129),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        app.stock("a").await["available"],
        10,
        "nothing refused above changed stock"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_password_in_the_url_works_and_is_never_logged() {
    let redis = TestRedis::start().await;
    let password = "pw-Zx81-never-log-me";
    let mut raw = redis.raw().await;
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "requirepass", password])
        .query_async(&mut raw)
        .await
        .unwrap();
    let socket = redis.url().trim_start_matches("redis+unix://").to_owned();
    let with = format!("redis+unix://{socket}?pass={password}");
    let without = redis.url();
    let config = || StoreConfig {
        response_timeout: Duration::from_millis(500),
        ..StoreConfig::default()
    };
    let good = Inventory::new(Store::new(&with, config()).unwrap());
    good.ping().await.expect("the password in the URL authenticates");
    let bad = Inventory::new(Store::new(&without, config()).unwrap());
    assert!(bad.ping().await.is_err(), "no password, no service");

    // The binary, started with the password in REDIS_URL and debug logs as JSON.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_stockwatch"))
        .args(["verify", "--log-format", "json"])
        .env("REDIS_URL", &with)
        .env("RUST_LOG", "debug")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let failing = tokio::process::Command::new(env!("CARGO_BIN_EXE_stockwatch"))
        .args(["verify", "--log-format", "json", "--redis-url"])
        .arg(format!("redis+unix://{socket}?pass=wrong-{password}"))
        .env("RUST_LOG", "debug")
        .output()
        .await
        .unwrap();
    assert_ne!(failing.status.code(), Some(0));
    let printed = tokio::process::Command::new(env!("CARGO_BIN_EXE_stockwatch"))
        .args(["serve", "--print-config"])
        .env("REDIS_URL", &with)
        .output()
        .await
        .unwrap();
    for output in [&out, &failing, &printed] {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!all.contains(password), "the Redis password was printed: {all}");
    }
    assert!(String::from_utf8_lossy(&printed.stdout).contains("redis-url = <set>  # env"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_urls_connect_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(dir.path().join("key.pem"))
        .arg("-out")
        .arg(dir.path().join("cert.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl (Debian package openssl; scripts/test.sh installs it)");
    assert!(status.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = tokio::process::Command::new("redis-server")
        .args([
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args(["--tls-auth-clients", "no", "--bind", "127.0.0.1"])
        .arg("--dir")
        .arg(dir.path())
        .arg("--tls-cert-file")
        .arg(dir.path().join("cert.pem"))
        .arg("--tls-key-file")
        .arg(dir.path().join("key.pem"))
        .arg("--tls-ca-cert-file")
        .arg(dir.path().join("cert.pem"))
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // A self-signed certificate: `#insecure` skips verification (a real one needs nothing).
    let url = format!("rediss://127.0.0.1:{port}/#insecure");
    let store = Inventory::new(Store::new(&url, StoreConfig::default()).unwrap());
    let mut up = false;
    for _ in 0..100 {
        if store.ping().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "TLS connection to redis-server");
    let sku = stockwatch::domain::Sku::parse("tls").unwrap();
    let available = stockwatch::domain::Available::parse(&json!(3), "available").unwrap();
    stockwatch::ops::set_stock(&store, &sku, available).await.unwrap();
    let user = stockwatch::domain::UserId::parse(&json!("u")).unwrap();
    let one = stockwatch::domain::Quantity::parse(&json!(1), "quantity").unwrap();
    for strategy in [stockwatch::domain::Strategy::Watch, stockwatch::domain::Strategy::Lua] {
        stockwatch::ops::purchase(&store, strategy, &sku, one, &user, None)
            .await
            .expect("a purchase over TLS");
    }
    // The same server refuses a plain-text client on its TLS port.
    let plain = Inventory::new(
        Store::new(
            &format!("redis://127.0.0.1:{port}"),
            StoreConfig {
                response_timeout: Duration::from_millis(300),
                ..StoreConfig::default()
            },
        )
        .unwrap(),
    );
    assert!(plain.ping().await.is_err());
    let _ = server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_bind_without_a_token_refuses_to_start() {
    let (dir, err) = refused_serve(&["--bind", "0.0.0.0:0"]).await;
    assert!(
        err.contains("refusing to bind 0.0.0.0:0") && err.contains("--admin-token") && err.contains("--require-keys"),
        "{err}"
    );
    // And it cleaned up the managed redis-server it had started.
    assert!(
        stockwatch::managed::redis_server::ManagedRedis::running_in(dir.path())
            .await
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_allow_list_entry_that_allows_nothing_stops_the_start() {
    let (dir, err) = refused_serve(&["--webhook-allow-hosts", "hooks.example.com,hooks:0"]).await;
    assert!(
        err.contains("--webhook-allow-hosts") && err.contains("hooks:0"),
        "{err}"
    );
    assert!(
        !dir.path().join("redis.sock").exists(),
        "refused before any Redis started"
    );
}

/// Runs `stockwatch serve ARGS` with a managed Redis in a fresh data dir (no token, no
/// REDIS_URL), expects it to refuse to start, and returns the dir and what it printed.
async fn refused_serve(args: &[&str]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_stockwatch"))
        .arg("serve")
        .args(args)
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("STOCKWATCH_ADMIN_TOKEN")
        .env_remove("REDIS_URL")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    (dir, String::from_utf8_lossy(&out.stderr).into_owned())
}
