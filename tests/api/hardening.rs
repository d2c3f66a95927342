//! The edges a hostile probe found (issue: hardening), each pinned: every one of these
//! failed before its fix.

use crate::helpers::{AppOptions, TestApp, count, spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashSet;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "hardening-admin-token";

async fn admin_app() -> TestApp {
    spawn_app_with(
        AppOptions {
            admin_token: Some(TOKEN.into()),
            ..AppOptions::default()
        },
        |_| {},
    )
    .await
}

/// An admin call with the token, an optional key, and a raw body; status and body text.
async fn admin(app: &TestApp, method: Method, path: &str, key: Option<&str>, body: &str) -> (u16, String) {
    let mut req = app
        .client
        .request(method, app.url(path))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .header("Content-Type", "application/json")
        .body(body.to_owned());
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn raw_post(app: &TestApp, path: &str, body: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = app
        .client
        .post(app.url(path))
        .header("Content-Type", "application/json")
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// 1. An Idempotency-Key gives one effect on `broken` too, however many repeats race.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_holds_on_the_broken_strategy() {
    let app = spawn_app().await;
    app.set_stock("bk", 100).await;
    let cases = [
        ("/v1/purchases", json!({"sku": "bk", "quantity": 1, "user_id": "u"})),
        (
            "/v1/checkouts",
            json!({"user_id": "u", "items": [{"sku": "bk", "quantity": 1}]}),
        ),
        (
            "/v1/reservations",
            json!({"user_id": "u", "items": [{"sku": "bk", "quantity": 1}]}),
        ),
    ];
    for (path, body) in cases {
        let key = format!("broken-{path}");
        let url = format!("{path}?strategy=broken");
        let repeats = (0..50).map(|_| app.post_keyed(&url, body.clone(), &key));
        let answers = futures_util::future::join_all(repeats).await;
        let distinct: HashSet<&(u16, String)> = answers.iter().collect();
        assert_eq!(
            distinct.len(),
            1,
            "{path}: every repeat gets the first answer: {distinct:?}"
        );
        assert_eq!(answers[0].0, 201, "{path}: {:?}", answers[0]);
    }
    let stock = app.totals("bk").await;
    assert_eq!(
        (stock["sold"].as_i64(), stock["reserved"].as_i64()),
        (Some(2), Some(1)),
        "{stock}"
    );
    assert_eq!(stock["available"], 97);
    assert!(app.verify().await.ok);
}

/// 2. A rush on a SKU with named locations sets up exactly the stock it says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rush_on_a_sku_with_locations_sets_up_exactly_its_stock() {
    let app = spawn_app().await;
    let (status, _) = app
        .send(
            Method::PUT,
            "/v1/skus/rl/locations/east/stock",
            Some(json!({"available": 20, "priority": 1})),
        )
        .await;
    assert_eq!(status, 200);
    for strategy in ["watch", "lua"] {
        let (status, result) = app
            .post(
                "/v1/demo/rush",
                json!({"sku": "rl", "buyers": 10, "stock": 5, "strategy": strategy}),
            )
            .await;
        assert_eq!(status, 200, "{result}");
        assert_eq!(
            (
                &result["stock"],
                &result["orders"],
                &result["final_stock"],
                &result["oversold"]
            ),
            (&json!(5), &json!(5), &json!(0), &json!(0)),
            "{strategy}: {result}"
        );
    }
}

/// 3. Admin writes honour Idempotency-Key: one effect, the first answer, 422 on another body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_writes_honour_the_idempotency_key() {
    let app = admin_app().await;
    let (status, _) = admin(&app, Method::PUT, "/v1/skus/idx/stock", None, r#"{"available": 10}"#).await;
    assert_eq!(status, 200);
    let first = admin(
        &app,
        Method::POST,
        "/v1/skus/idx/restock",
        Some("rs-1"),
        r#"{"quantity": 1}"#,
    )
    .await;
    let again = admin(
        &app,
        Method::POST,
        "/v1/skus/idx/restock",
        Some("rs-1"),
        r#"{"quantity": 1}"#,
    )
    .await;
    assert_eq!(first.0, 200);
    assert_eq!(first, again, "the repeat gets the first answer, byte for byte");
    let (status, body) = admin(
        &app,
        Method::POST,
        "/v1/skus/idx/restock",
        Some("rs-1"),
        r#"{"quantity": 2}"#,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    // Racing repeats: one restock.
    let racing = (0..40).map(|_| {
        admin(
            &app,
            Method::POST,
            "/v1/skus/idx/restock",
            Some("rs-2"),
            r#"{"quantity": 5}"#,
        )
    });
    let answers = futures_util::future::join_all(racing).await;
    assert_eq!(answers.iter().collect::<HashSet<_>>().len(), 1, "{answers:?}");
    assert_eq!(app.totals("idx").await["available"], 16, "10 + 1 + 5, once each");

    // A refusal is remembered too, even after the stock would allow it.
    let (status, _) = admin(
        &app,
        Method::PUT,
        "/v1/skus/idx/locations/east/stock",
        None,
        r#"{"available": 1}"#,
    )
    .await;
    assert_eq!(status, 200);
    let move_it = r#"{"from": "east", "to": "default", "quantity": 3}"#;
    let refused = admin(&app, Method::POST, "/v1/skus/idx/transfers", Some("tr-1"), move_it).await;
    assert_eq!(refused.0, 409, "{refused:?}");
    admin(
        &app,
        Method::PUT,
        "/v1/skus/idx/locations/east/stock",
        None,
        r#"{"available": 9}"#,
    )
    .await;
    let replayed = admin(&app, Method::POST, "/v1/skus/idx/transfers", Some("tr-1"), move_it).await;
    assert_eq!(replayed, refused);

    // Config writes: one webhook per key, one delete.
    let app = spawn_app_with(
        AppOptions {
            admin_token: Some(TOKEN.into()),
            webhooks: stockwatch::webhooks::WebhookConfig {
                allow_hosts: vec!["127.0.0.1:9".into()],
                ..Default::default()
            },
            ..AppOptions::default()
        },
        |_| {},
    )
    .await;
    let hook = r#"{"url": "http://127.0.0.1:9/h", "secret": "whsec_0123456789abcdef", "events": ["low_stock"]}"#;
    let a = admin(&app, Method::POST, "/v1/webhooks", Some("wh-1"), hook).await;
    let b = admin(&app, Method::POST, "/v1/webhooks", Some("wh-1"), hook).await;
    assert_eq!((a.0, &a), (201, &b));
    let (_, listed) = admin(&app, Method::GET, "/v1/webhooks", None, "").await;
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed["webhooks"].as_array().unwrap().len(), 1, "{listed}");
    let id = serde_json::from_str::<Value>(&a.1).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/webhooks/{id}");
    let gone = admin(&app, Method::DELETE, &path, Some("del-1"), "").await;
    assert_eq!(gone.0, 204);
    assert_eq!(
        admin(&app, Method::DELETE, &path, Some("del-1"), "").await,
        gone,
        "the first answer, not a 404"
    );
    assert_eq!(admin(&app, Method::DELETE, &path, None, "").await.0, 404);
    let (status, _) = admin(
        &app,
        Method::PUT,
        "/v1/skus/idx/alerts",
        Some("al-1"),
        r#"{"low_stock_threshold": 3}"#,
    )
    .await;
    assert_eq!(status, 404, "no such SKU on this app");
}

/// 5. One rule for a SKU in a path: 400 everywhere, nothing unprintable echoed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_sku_in_a_path_is_a_400_everywhere_and_never_echoed() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::GET, "/v1/skus/a%00b"),
        (Method::GET, "/v1/skus/a%00b/movements"),
        (Method::GET, "/v1/skus/a%00b/alerts"),
        (Method::POST, "/v1/skus/a%00b/restock"),
        (Method::POST, "/v1/skus/a%00b/transfers"),
        (Method::PUT, "/v1/skus/a%00b/stock"),
        (Method::PUT, "/v1/skus/a%1Bb/stock"),
    ] {
        let (status, body) = app.send(method.clone(), path, Some(json!({"quantity": 1}))).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{method} {path}: {body}"
        );
        let text = body.to_string();
        assert!(!text.contains("\\u0000") && !text.contains("\\u001b"), "{text}");
    }
    let (status, body) = app.get("/v1/skus/valid-but-absent").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("unknown_sku")));
}

/// 6. Transfer and adjustment refusals say what was attempted, and where.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_and_adjustment_refusals_name_the_location() {
    let app = spawn_app().await;
    app.send(
        Method::PUT,
        "/v1/skus/tw/locations/east/stock",
        Some(json!({"available": 6})),
    )
    .await;
    let (status, body) = app
        .post(
            "/v1/skus/tw/transfers",
            json!({"from": "east", "to": "default", "quantity": 1000}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("insufficient_stock")),
        "{body}"
    );
    assert_eq!(
        (body["location"].as_str(), body["available"].as_i64()),
        (Some("east"), Some(6))
    );
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("transferred") && message.contains("east"), "{message}");
    assert!(!message.contains("taken"), "not the purchase's wording: {message}");
    let (status, body) = app
        .post(
            "/v1/skus/tw/locations/east/adjustments",
            json!({"delta": -7, "reason": "lost"}),
        )
        .await;
    assert_eq!(status, 409);
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("adjusted") && message.contains("east"), "{message}");
}

/// 7. A request head actix cannot parse gets a 400 (actix-http writes it, without our JSON
/// body: documented), and the server goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_request_heads_get_a_400_and_change_nothing() {
    let app = spawn_app().await;
    app.set_stock("mh", 3).await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let body = r#"{"sku":"mh","quantity":1,"user_id":"u"}"#;
    for head in [
        format!("POST /v1/purchases HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{body}"),
        format!("POST /v1/purchases HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nContent-Length: 41\r\n\r\n{body}"),
        format!(
            "POST /v1/purchases HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n{body}"
        ),
        "GET /v1/skus/mh HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n".to_string(),
    ] {
        let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
        socket.write_all(head.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), socket.read_to_end(&mut answer)).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 400"), "{head:?} -> {answer:?}");
    }
    assert_eq!(app.totals("mh").await["available"], 3, "nothing was bought");
    assert!(
        stockwatch::telemetry::DEFAULT_FILTER.contains("actix_http::h1::dispatcher=off"),
        "a client's malformed head is not logged as our ERROR"
    );
}

/// 8. HEAD works like GET without a body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_is_get_without_a_body() {
    let app = spawn_app().await;
    app.set_stock("hd", 4).await;
    for path in ["/v1/skus/hd", "/healthz", "/v1/skus/hd/movements", "/v1/skus/nope"] {
        let get = app.client.get(app.url(path)).send().await.unwrap();
        let (get_status, get_len) = (get.status(), get.text().await.unwrap().len());
        let head = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(head.status(), get_status, "{path}");
        let length = head
            .headers()
            .get("content-length")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(length, Some(get_len.to_string()), "{path}");
        assert!(head.bytes().await.unwrap().is_empty(), "{path}");
    }
    let (status, _) = app.send(Method::HEAD, "/v1/purchases", None).await;
    assert_eq!(status, 405, "HEAD is GET's: a POST-only path still refuses it");
}

/// 9. The bearer scheme is case-insensitive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = admin_app().await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let resp = app
            .client
            .put(app.url("/v1/skus/bb/stock"))
            .header("Authorization", format!("{scheme} {TOKEN}"))
            .json(&json!({"available": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{scheme}");
    }
}

/// 10. The fingerprint is of what the handler understood: `1` and `1.0`, an ignored field,
/// or another key order are the same request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idempotency_fingerprint_is_of_what_the_handler_understood() {
    let app = spawn_app().await;
    app.set_stock("fp", 10).await;
    let first = raw_post(
        &app,
        "/v1/purchases",
        r#"{"sku":"fp","quantity":1,"user_id":"u"}"#,
        &[("Idempotency-Key", "fp-1")],
    )
    .await;
    assert_eq!(first.0, 201);
    for same in [
        r#"{"quantity":1.0,"sku":"fp","user_id":"u"}"#,
        r#"{"sku":"fp","quantity":1,"user_id":"u","note":"ignored"}"#,
        r#"{"sku":"fp","quantity":1,"user_id":"u","location":null}"#,
    ] {
        let again = raw_post(&app, "/v1/purchases", same, &[("Idempotency-Key", "fp-1")]).await;
        assert_eq!(again, first, "{same}");
    }
    let other = raw_post(
        &app,
        "/v1/purchases",
        r#"{"sku":"fp","quantity":2,"user_id":"u"}"#,
        &[("Idempotency-Key", "fp-1")],
    )
    .await;
    assert_eq!(other.0, 422);
    assert_eq!(app.totals("fp").await["sold"], 1);
}

/// 11. Upper-case UUIDs are the same ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upper_case_ids_are_found() {
    let app = spawn_app().await;
    app.set_stock("uc", 5).await;
    let (_, order) = app
        .post("/v1/purchases", json!({"sku": "uc", "quantity": 1, "user_id": "u"}))
        .await;
    let id = order["order_id"].as_str().unwrap();
    let (status, body) = app.get(&format!("/v1/orders/{}", id.to_uppercase())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["order_id"], id, "answered in the canonical form");
    let hold = app.reserve("watch", &[("uc", 1)], 60).await;
    let id = hold["reservation_id"].as_str().unwrap().to_uppercase();
    assert_eq!(app.get(&format!("/v1/reservations/{id}")).await.0, 200);
    let (status, _) = app.post(&format!("/v1/reservations/{id}/cancel"), json!({})).await;
    assert_eq!(status, 200);
}

/// 12-13. Duplicate JSON keys, query parameters and read headers are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_are_refused_not_guessed() {
    let app = admin_app().await;
    admin(
        &app,
        Method::PUT,
        "/v1/skus/dd/stock",
        None,
        r#"{"available": 1000000}"#,
    )
    .await;
    for body in [
        r#"{"sku":"dd","quantity":1,"user_id":"u","quantity":999999}"#,
        r#"{"sku":"dd","quantity":1,"user_id":"u","user_id":"v"}"#,
    ] {
        let (status, answer) = raw_post(&app, "/v1/purchases", body, &[]).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["message"].as_str().unwrap().contains("twice"), "{answer}");
    }
    let cart = r#"{"user_id":"u","items":[{"sku":"dd","quantity":1}],"items":[{"sku":"dd","quantity":50}]}"#;
    assert_eq!(raw_post(&app, "/v1/checkouts", cart, &[]).await.0, 400);
    let line = r#"{"user_id":"u","items":[{"sku":"dd","quantity":1,"quantity":50}]}"#;
    assert_eq!(raw_post(&app, "/v1/checkouts", line, &[]).await.0, 400);

    let buy = r#"{"sku":"dd","quantity":1,"user_id":"u"}"#;
    let (status, _) = raw_post(&app, "/v1/purchases?strategy=watch&strategy=lua", buy, &[]).await;
    assert_eq!(status, 400, "a query parameter twice");
    let (status, _) = raw_post(
        &app,
        "/v1/purchases",
        buy,
        &[("Idempotency-Key", "a"), ("Idempotency-Key", "b")],
    )
    .await;
    assert_eq!(status, 400, "two Idempotency-Keys");
    let twice = app
        .client
        .put(app.url("/v1/skus/dd/stock"))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .header("Authorization", "Bearer wrong")
        .json(&json!({"available": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), 400, "two Authorization headers");
    assert_eq!(app.totals("dd").await["sold"], 0, "none of these bought anything");
    assert_eq!(app.totals("dd").await["available"], 1_000_000);
}

/// 14. Blank and invisible user ids, and `.`/`..` as names, are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blank_invisible_and_dot_names_are_refused() {
    let app = spawn_app().await;
    app.set_stock("iv", 10).await;
    for user in ["   ", "\u{200b}", "\u{feff}", "a\u{202e}b", "\u{2066}x\u{2069}", "\t"] {
        let (status, body) = app
            .post("/v1/purchases", json!({"sku": "iv", "quantity": 1, "user_id": user}))
            .await;
        assert_eq!(status, 400, "{user:?}: {body}");
    }
    for sku in [".", ".."] {
        let (status, _) = app
            .post("/v1/purchases", json!({"sku": sku, "quantity": 1, "user_id": "u"}))
            .await;
        assert_eq!(status, 400, "{sku:?}");
    }
    // (A path segment `..` never reaches the server: the client's URL parser removes it,
    // which is why such a name must not exist. In a body it does reach us.)
    let (status, _) = app
        .post(
            "/v1/skus/iv/transfers",
            json!({"from": "default", "to": "..", "quantity": 1}),
        )
        .await;
    assert_eq!(status, 400, "a location named ..");
    assert_eq!(app.totals("iv").await["sold"], 0);
}

/// 15. A body where none is expected is refused; none, or `{}`, is fine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_where_none_is_expected_is_refused() {
    let app = spawn_app().await;
    app.set_stock("nb", 5).await;
    let hold = app.reserve("watch", &[("nb", 1)], 60).await;
    let id = hold["reservation_id"].as_str().unwrap();
    for body in ["not json", r#"{"user_id":"u"}"#, "[]"] {
        let (status, answer) = raw_post(&app, &format!("/v1/reservations/{id}/confirm"), body, &[]).await;
        assert_eq!(status, 400, "{body}: {answer}");
    }
    assert_eq!(app.get(&format!("/v1/reservations/{id}")).await.1["status"], "active");
    let (status, _) = raw_post(&app, &format!("/v1/reservations/{id}/confirm"), " { } ", &[]).await;
    assert_eq!(status, 201);
}

/// 16. The webhook allow list names ports; odd URLs are refused, not rewritten.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_urls_are_held_to_their_port_and_parsed_strictly() {
    let app = spawn_app_with(
        AppOptions {
            webhooks: stockwatch::webhooks::WebhookConfig {
                allow_hosts: vec!["127.0.0.1:9000".into(), "hooks.example.com".into()],
                ..Default::default()
            },
            ..AppOptions::default()
        },
        |_| {},
    )
    .await;
    let port = app.address.rsplit(':').next().unwrap().to_owned();
    let secret = "whsec_0123456789abcdef";
    let ok = app
        .post(
            "/v1/webhooks",
            json!({"url": "http://127.0.0.1:9000/h", "secret": secret, "events": ["low_stock"]}),
        )
        .await;
    assert_eq!(ok.0, 201, "{}", ok.1);
    let long = format!("http://127.0.0.1:9000/{}", "a".repeat(30_000));
    for url in [
        format!("http://127.0.0.1:{port}/v1/purchases"),
        "http://127.0.0.1:6379/".into(),
        "http://127.0.0.1:0/".into(),
        "http://127.0.0.1/".into(),
        "https://hooks.example.com:8443/".into(),
        " http://127.0.0.1:9000/h".into(),
        "http:/127.0.0.1:9000/h".into(),
        "http:\\\\127.0.0.1:9000\\h".into(),
        "http://:@127.0.0.1:9000/h".into(),
        long,
    ] {
        let (status, body) = app
            .post(
                "/v1/webhooks",
                json!({"url": url, "secret": secret, "events": ["low_stock"]}),
            )
            .await;
        assert_eq!(status, 400, "{url:.60}: {body}");
    }
    let (_, listed) = app.get("/v1/webhooks").await;
    assert_eq!(listed["webhooks"].as_array().unwrap().len(), 1);
}

/// 17. Ids minted together share nothing a client could walk from one to the next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_minted_together_are_not_neighbours() {
    let app = spawn_app().await;
    app.set_stock("ids", 1000).await;
    let statuses = app
        .fire(
            "/v1/purchases",
            200,
            50,
            |_| json!({"sku": "ids", "quantity": 1, "user_id": "u"}),
        )
        .await;
    assert_eq!(count(&statuses, 201), 200);
    let mut conn = app.redis.raw().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*:order:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    let ids: Vec<u128> = keys
        .iter()
        .filter_map(|k| k.rsplit(':').next())
        .filter_map(|id| uuid::Uuid::parse_str(id).ok())
        .map(|u| u.as_u128())
        .collect();
    assert_eq!(ids.len(), 200, "{keys:?}");
    // Within one millisecond, the random part (below the 48-bit time) of two ids differs
    // in many bits: no counter step.
    let mut same_ms = 0;
    for (i, a) in ids.iter().enumerate() {
        for b in &ids[i + 1..] {
            if a >> 80 == b >> 80 {
                same_ms += 1;
                let random = (1u128 << 80) - 1;
                assert!(((a ^ b) & random).count_ones() > 8, "{a:x} and {b:x}");
            }
        }
    }
    assert!(same_ms > 0, "some ids were minted in the same millisecond");
}
