//! Every error code of the contract, and bad input that must change nothing.

use crate::helpers::{AppOptions, contract_codes, count, spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn assert_error(status: u16, body: &Value, want_status: u16, code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

/// Every error the service can answer with has its code and status in the contract's table,
/// and the table names no code the service never answers with.
#[test]
fn the_contract_lists_every_error_code_with_its_status() {
    use stockwatch::domain::{InvalidInput, Location, ReservationStatus, Scope, Sku};
    use stockwatch::{Error, StoreError};
    let sku = Sku::parse("a").unwrap();
    let cause = || stockwatch::error::Cause::Found("test".into());
    let errors = [
        Error::InvalidRequest(InvalidInput::new("x")),
        Error::PayloadTooLarge { limit: 1 },
        Error::HeadersTooLarge { limit: 1 },
        Error::Unauthorized,
        Error::InvalidKey,
        Error::MissingScope { scope: Scope::Admin },
        Error::Forbidden,
        Error::BrokenDisabled,
        Error::unknown_sku(&sku),
        Error::UnknownLocation {
            sku: sku.clone(),
            location: Location::parse("x", "location").unwrap(),
        },
        Error::UnknownWebhook,
        Error::UnknownDeadLetter,
        Error::UnknownOrder,
        Error::UnknownReservation,
        Error::NotFound,
        Error::MethodNotAllowed { allow: "GET" },
        Error::InsufficientStock {
            items: vec![],
            attempts: 1,
        },
        Error::ShortAt {
            done: "moved",
            sku: sku.clone(),
            location: Location::parse("x", "location").unwrap(),
            available: 0,
            requested: 1,
            attempts: 1,
        },
        Error::SkuInUse {
            sku: sku.clone(),
            reserved: 1,
            preordered: 0,
        },
        Error::UnknownPurchaseOrder {
            sku: sku.clone(),
            reference: stockwatch::domain::PoRef::parse("po", "ref").unwrap(),
        },
        Error::PurchaseOrderExists {
            sku: sku.clone(),
            reference: stockwatch::domain::PoRef::parse("po", "ref").unwrap(),
        },
        Error::ReceiptExceedsIncoming {
            sku: sku.clone(),
            reference: stockwatch::domain::PoRef::parse("po", "ref").unwrap(),
            incoming: 1,
            requested: 2,
        },
        Error::OrderNotCancellable {
            status: stockwatch::domain::OrderStatus::Cancelled,
        },
        Error::ReturnExceedsSold {
            sku: sku.clone(),
            sold: 1,
            returned: 1,
            requested: 1,
        },
        Error::NotOnSale {
            sku: sku.clone(),
            window: stockwatch::error::SaleWindow::NotOpen(stockwatch::domain::Timestamp::from_millis(1).unwrap()),
            retry_after_s: 1,
        },
        Error::AdmissionRequired { sku: sku.clone() },
        Error::AdmissionInvalid { sku: sku.clone() },
        Error::UnknownTicket,
        Error::NoQueue { sku: sku.clone() },
        Error::LimitExceeded {
            sku,
            limit: 1,
            already: 1,
            requested: 1,
            counts: stockwatch::error::Capped::Units,
        },
        Error::ReservationNotActive {
            status: ReservationStatus::Expired,
        },
        Error::IdempotencyKeyReused,
        Error::Contention {
            attempts: 1,
            throttled: false,
        },
        Error::LedgerUnavailable,
        Error::Store(StoreError::Timeout),
        Error::Store(StoreError::Unavailable(cause())),
        Error::Store(StoreError::Moved(cause())),
        Error::Store(StoreError::OutOfMemory(cause())),
        Error::Store(StoreError::ExecFailed(cause())),
        Error::Store(StoreError::Protocol(cause())),
    ];
    let table = contract_codes();
    let mut answered = std::collections::BTreeSet::new();
    for e in &errors {
        assert_eq!(
            table.get(e.code()),
            Some(&e.status().as_u16()),
            "{} ({}) is not in docs/API.md's Error codes table with that status",
            e.code(),
            e.status()
        );
        answered.insert(e.code().to_owned());
    }
    let listed: std::collections::BTreeSet<String> = table.into_keys().collect();
    assert_eq!(listed, answered, "the table and the service disagree");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_400_naming_the_field_and_change_nothing() {
    let app = spawn_app().await;
    app.set_stock("a", 5).await;
    let before = app.dump().await;
    let long = "x".repeat(129);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("/v1/purchases", json!({"sku": "a", "quantity": 1}), "user_id"),
        (
            "/v1/purchases",
            json!({"sku": "a", "quantity": 0, "user_id": "u"}),
            "quantity",
        ),
        (
            "/v1/purchases",
            json!({"sku": "a", "quantity": 1_000_001, "user_id": "u"}),
            "quantity",
        ),
        (
            "/v1/purchases",
            json!({"sku": "a", "quantity": "1", "user_id": "u"}),
            "quantity",
        ),
        (
            "/v1/purchases",
            json!({"sku": "a", "quantity": 1.5, "user_id": "u"}),
            "quantity",
        ),
        (
            "/v1/purchases",
            json!({"sku": "a:b", "quantity": 1, "user_id": "u"}),
            "sku",
        ),
        (
            "/v1/purchases",
            json!({"sku": "{a}", "quantity": 1, "user_id": "u"}),
            "sku",
        ),
        (
            "/v1/purchases",
            json!({"sku": "*", "quantity": 1, "user_id": "u"}),
            "sku",
        ),
        ("/v1/purchases", json!({"sku": 5, "quantity": 1, "user_id": "u"}), "sku"),
        (
            "/v1/purchases",
            json!({"sku": "a", "quantity": 1, "user_id": "a\u{7}"}),
            "user_id",
        ),
        (
            "/v1/purchases",
            json!({"sku": "a", "quantity": 1, "user_id": long}),
            "user_id",
        ),
        (
            "/v1/purchases?strategy=fast",
            json!({"sku": "a", "quantity": 1, "user_id": "u"}),
            "strategy",
        ),
        ("/v1/checkouts", json!({"user_id": "u", "items": []}), "items"),
        (
            "/v1/checkouts",
            json!({"user_id": "u", "items": [{"sku": "a", "quantity": 1}, {"sku": "a", "quantity": 1}]}),
            "twice",
        ),
        (
            "/v1/checkouts",
            json!({"user_id": "u", "items": [{"sku": "a", "quantity": -1}]}),
            "items[0].quantity",
        ),
        ("/v1/checkouts", json!({"user_id": "u"}), "items"),
        ("/v1/checkouts", json!([1, 2]), "object"),
    ];
    for (path, body, needle) in cases {
        let (status, reply) = app.post(path, body.clone()).await;
        assert_error(status, &reply, 400, "invalid_request");
        assert!(reply["message"].as_str().unwrap().contains(needle), "{body} -> {reply}");
    }
    for raw in ["{", "", "null", "{\"sku\": \"a\",}", "\u{0}"] {
        let resp = app
            .client
            .post(app.url("/v1/purchases"))
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        assert_error(status, &resp.json().await.unwrap(), 400, "invalid_request");
    }
    let (status, reply) = app
        .send(Method::PUT, "/v1/skus/a/stock", Some(json!({"available": -1})))
        .await;
    assert_error(status, &reply, 400, "invalid_request");
    let (status, reply) = app
        .send(Method::PUT, "/v1/skus/a:b/stock", Some(json!({"available": 1})))
        .await;
    assert_error(status, &reply, 400, "invalid_request");
    let (status, reply) = app.post("/v1/skus/a/restock", json!({"quantity": 0})).await;
    assert_error(status, &reply, 400, "invalid_request");
    assert_eq!(app.dump().await, before, "no rejected request changed any key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_is_413() {
    let app = spawn_app().await;
    let big = json!({"user_id": "u", "items": [{"sku": "a", "quantity": 1}], "pad": "x".repeat(70 * 1024)});
    let (status, body) = app.post("/v1/checkouts", big).await;
    assert_error(status, &body, 413, "payload_too_large");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_things_are_404_of_their_kind() {
    let app = spawn_app().await;
    let (status, body) = app.get("/v1/skus/nope").await;
    assert_error(status, &body, 404, "unknown_sku");
    // A name that cannot be a SKU is a bad request, the same on every endpoint.
    for path in ["/v1/skus/a:b", "/v1/skus/%7Bx%7D"] {
        let (status, body) = app.get(path).await;
        assert_error(status, &body, 400, "invalid_request");
    }
    let (status, body) = app
        .post("/v1/purchases", json!({"sku": "nope", "quantity": 1, "user_id": "u"}))
        .await;
    assert_error(status, &body, 404, "unknown_sku");
    assert_eq!(body["sku"], "nope");
    let (status, body) = app.post("/v1/skus/nope/restock", json!({"quantity": 1})).await;
    assert_error(status, &body, 404, "unknown_sku");
    let unused = "0190b7a8-0000-7000-8000-000000000000";
    for path in [
        format!("/v1/orders/{unused}"),
        "/v1/orders/not-an-id".into(),
        "/v1/orders/..%2F..".into(),
    ] {
        let (status, body) = app.get(&path).await;
        assert_error(status, &body, 404, "unknown_order");
    }
    let (status, body) = app.get("/v1/nothing-here").await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = app.send(Method::DELETE, "/v1/purchases", None).await;
    assert_error(status, &body, 405, "method_not_allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_little_stock_is_409_with_the_numbers() {
    let app = spawn_app().await;
    app.set_stock("a", 2).await;
    for strategy in ["watch", "lua"] {
        let (status, body) = app
            .post(
                &format!("/v1/purchases?strategy={strategy}"),
                json!({"sku": "a", "quantity": 3, "user_id": "u"}),
            )
            .await;
        assert_error(status, &body, 409, "insufficient_stock");
        assert_eq!(
            (
                body["sku"].as_str(),
                body["available"].as_i64(),
                body["requested"].as_i64()
            ),
            (Some("a"), Some(2), Some(3))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_is_refused_unless_allowed() {
    let app = spawn_app_with(
        AppOptions {
            allow_broken: false,
            ..AppOptions::default()
        },
        |_| {},
    )
    .await;
    app.set_stock("a", 2).await;
    let before = app.dump().await;
    for path in [
        "/v1/purchases?strategy=broken",
        "/v1/checkouts?strategy=broken",
        "/v1/reservations?strategy=broken",
    ] {
        let (status, body) = app
            .post(
                path,
                json!({"sku": "a", "quantity": 1, "user_id": "u", "items": [{"sku": "a", "quantity": 1}]}),
            )
            .await;
        assert_error(status, &body, 403, "broken_disabled");
    }
    assert_eq!(app.dump().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_endpoints_need_the_token_when_one_is_set() {
    let app = spawn_app_with(
        AppOptions {
            allow_broken: false,
            admin_token: Some("s3cret-token".into()),
            ..AppOptions::default()
        },
        |_| {},
    )
    .await;
    let put = |auth: Option<&'static str>| {
        let mut req = app
            .client
            .put(app.url("/v1/skus/a/stock"))
            .json(&json!({"available": 4}));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = put(None).await;
    assert_error(status, &body, 401, "unauthorized");
    for wrong in [
        "Bearer nope",
        "Bearer s3cret-tokeX",
        "Basic s3cret-token",
        "Bearer s3cret-token-longer",
    ] {
        let (status, body) = put(Some(wrong)).await;
        assert!(matches!(status, 401 | 403), "{wrong}: {status}");
        assert!(matches!(body["error"].as_str(), Some("unauthorized" | "forbidden")));
    }
    let (status, body) = put(Some("Bearer nope")).await;
    assert_error(status, &body, 403, "forbidden");
    let (status, _) = app.get("/v1/skus/a").await;
    assert_eq!(status, 404, "nothing was created by refused calls");
    let (status, body) = put(Some("Bearer s3cret-token")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        crate::helpers::totals(body),
        json!({"sku": "a", "available": 4, "reserved": 0, "sold": 0})
    );
    let r = app
        .client
        .post(app.url("/v1/skus/a/restock"))
        .json(&json!({"quantity": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_retries_are_503_contention_with_retry_after() {
    // One attempt, no batching: most of 200 simultaneous buyers of one SKU lose their race.
    let app = spawn_app_with(AppOptions::default(), |c| {
        c.retry.max_attempts = 1;
        c.batching = false;
    })
    .await;
    app.set_stock("hot", 1_000).await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (client, url) = (app.client.clone(), app.url("/v1/purchases"));
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .json(&json!({"sku": "hot", "quantity": 1, "user_id": format!("u{i}")}))
                .send()
                .await
                .unwrap();
            let retry_after = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            (r.status().as_u16(), retry_after, r.json::<Value>().await.unwrap())
        }));
    }
    let mut statuses = Vec::new();
    let mut contended = 0;
    for t in tasks {
        let (status, retry_after, body) = t.await.unwrap();
        if status == 503 {
            assert_error(status, &body, 503, "contention");
            assert!(
                retry_after.is_some_and(|s| s.parse::<u32>().is_ok()),
                "Retry-After is set"
            );
            contended += 1;
        }
        statuses.push(status);
    }
    assert!(
        contended > 0,
        "200 racing one-shot transactions must collide at least once"
    );
    let ok = count(&statuses, 201) as i64;
    assert_eq!(ok + contended, 200);
    assert_eq!(
        app.stock("hot").await["sold"].as_i64().unwrap(),
        ok,
        "give-ups took nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_redis_gives_bounded_503_not_a_hang() {
    let app = spawn_app_with(AppOptions::default(), |c| {
        c.response_timeout = Duration::from_millis(300)
    })
    .await;
    app.set_stock("a", 5).await;
    let mut raw = app.redis.raw().await;
    redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1500)
        .arg("ALL")
        .exec_async(&mut raw)
        .await
        .unwrap();
    // 60 buyers at once (watch goes through group commit, lua through the shared connection):
    // each is answered within its own timeout; none waits for the pause to end.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..60 {
        let path = if i % 6 == 0 {
            "/v1/purchases?strategy=lua"
        } else {
            "/v1/purchases"
        };
        let (client, url) = (app.client.clone(), app.url(path));
        tasks.push(tokio::spawn(async move {
            let body = json!({"sku": "a", "quantity": 1, "user_id": "u"});
            let r = client.post(url).json(&body).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap(), started.elapsed())
        }));
    }
    for t in tasks {
        let (status, body, waited) = t.await.unwrap();
        assert_error(status, &body, 503, "redis_unavailable");
        assert!(
            waited < Duration::from_millis(1200),
            "answered within the bound, not at unpause ({waited:?})"
        );
    }
    let (status, body) = app.get("/readyz").await;
    assert_error(status, &body, 503, "redis_unavailable");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, _) = app.get("/readyz").await;
    assert_eq!(status, 200);
    let (status, body) = app
        .post("/v1/purchases", json!({"sku": "a", "quantity": 1, "user_id": "u"}))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(app.stock("a").await["sold"], 1, "nothing answered 503 was sold");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_inside_exec_is_500_never_201() {
    let app = spawn_app().await;
    app.set_stock("a", 5).await;
    // Corrupt the movement history's type: LPUSH fails inside EXEC after HINCRBY applied.
    let mut raw = app.redis.raw().await;
    let moves = app
        .store
        .keys()
        .movements(&stockwatch::domain::Sku::parse("a").unwrap());
    redis::cmd("DEL").arg(&moves).exec_async(&mut raw).await.unwrap();
    redis::cmd("SET")
        .arg(&moves)
        .arg("not a list")
        .exec_async(&mut raw)
        .await
        .unwrap();
    let (status, body) = app
        .post("/v1/purchases", json!({"sku": "a", "quantity": 1, "user_id": "u"}))
        .await;
    assert_error(status, &body, 500, "internal_error");
}
