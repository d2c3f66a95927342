//! One type per request body: the schema `/openapi.json` publishes and what the handler
//! parses are the same struct, and these tests hold the two to each other from the outside.
//! Every body's example is accepted; every property the schema lists is read under that
//! name (a wrong value is refused naming it); exactly the required ones are required.

use crate::helpers::{AppOptions, TestApp, spawn_app_with};
use serde_json::{Value, json};

/// Every operation that takes a body, from the published document: method, path, and the
/// body schema with `$ref`s resolved against the components.
async fn bodies(app: &TestApp) -> Vec<(String, String, Value)> {
    let (status, spec) = app.get("/openapi.json").await;
    assert_eq!(status, 200);
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") else {
                continue;
            };
            out.push((method.to_uppercase(), path.clone(), resolve(&spec, schema)));
        }
    }
    let paths: Vec<&str> = out.iter().map(|(_, p, _)| p.as_str()).collect();
    assert!(
        paths.len() >= 7,
        "purchases, checkouts, reservations, extend, stock, restock, rush: {paths:?}"
    );
    out
}

fn resolve(spec: &Value, schema: &Value) -> Value {
    match schema["$ref"].as_str() {
        Some(r) => spec.pointer(&r.replace("#/", "/")).cloned().unwrap(),
        None => schema.clone(),
    }
}

/// An app that allows the webhook example's host, so every example body can be accepted.
async fn app() -> TestApp {
    let webhooks = stockwatch::webhooks::WebhookConfig {
        allow_hosts: vec!["127.0.0.1:*".into()],
        ..Default::default()
    };
    spawn_app_with(
        AppOptions {
            webhooks,
            ..AppOptions::default()
        },
        |_| {},
    )
    .await
}

/// A concrete URL for `path`: SKUs are the examples' own, `{location}` one of theirs, and
/// `{id}` an active hold (or a fresh order of two units, under `/v1/orders`). The
/// examples' SKUs are stocked afresh, since the last call (a rush, a stock level) moved them.
async fn url_for(app: &TestApp, method: &str, path: &str) -> String {
    for sku in ["ps5", "controller"] {
        app.set_stock(sku, 100_000).await;
    }
    // The stockroom examples move units between `east` and `west`.
    for location in ["east", "west"] {
        let stock = format!("/v1/skus/ps5/locations/{location}/stock");
        let (status, _) = app
            .send(
                reqwest::Method::PUT,
                &stock,
                Some(serde_json::json!({"available": 100_000})),
            )
            .await;
        assert_eq!(status, 200);
    }
    // No sale on ps5 (the sale example sets one), but a waiting room for the example that
    // joins one.
    let queue = match path.ends_with("/queue") {
        true => serde_json::json!({"admit_per_s": 10, "admission_ttl_s": 60}),
        false => serde_json::Value::Null,
    };
    let sale = serde_json::json!({"opens_at": null, "closes_at": null, "per_customer_limit": null,
        "max_active_holds_per_customer": null, "queue": queue});
    let (status, _) = app.send(reqwest::Method::PUT, "/v1/skus/ps5/sale", Some(sale)).await;
    assert_eq!(status, 200);
    let mut url = path.replace("{sku}", "ps5").replace("{location}", "east");
    // The purchase order example's reference is taken afresh; a receipt gets an order of its own.
    if path.starts_with("/v1/skus/{sku}/incoming") {
        let sku = stockwatch::domain::Sku::parse("ps5").unwrap();
        let _: i64 = redis::cmd("HDEL")
            .arg(app.store.keys().stock(&sku))
            .arg("po:PO-2026-0042")
            .arg("po:PO-receive")
            .query_async(&mut app.redis.raw().await)
            .await
            .unwrap();
        let order = serde_json::json!({"ref": "PO-receive", "quantity": 1000, "expected_at": "2030-01-01T00:00:00Z"});
        let (status, body) = app.post("/v1/skus/ps5/incoming", order).await;
        assert_eq!(status, 201, "{body}");
        url = url.replace("{ref}", "PO-receive");
    }
    if url.starts_with("/v1/orders/{id}") {
        let (status, order) = app
            .post(
                "/v1/purchases?strategy=watch",
                serde_json::json!({"sku": "ps5", "quantity": 2, "user_id": "alice"}),
            )
            .await;
        assert_eq!(status, 201, "{order}");
        url = url.replace("{id}", order["order_id"].as_str().unwrap());
    }
    if url.contains("{id}") {
        let hold = app.reserve("watch", &[("ps5", 1)], 600).await;
        url = url.replace("{id}", hold["reservation_id"].as_str().unwrap());
    }
    if path.starts_with("/v1/purchases") || path.starts_with("/v1/checkouts") || path == "/v1/reservations" {
        url.push_str("?strategy=watch");
    }
    assert!(!method.is_empty());
    url
}

async fn send(app: &TestApp, method: &str, url: &str, body: Value) -> (u16, Value) {
    app.send(method.parse().unwrap(), url, Some(body)).await
}

#[tokio::test]
async fn every_body_schema_has_an_example_that_its_handler_accepts() {
    let app = app().await;
    for (method, path, schema) in bodies(&app).await {
        let example = schema["example"].clone();
        assert!(example.is_object(), "{method} {path}: the schema has no example");
        let url = url_for(&app, &method, &path).await;
        let (status, body) = send(&app, &method, &url, example.clone()).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path} {example}: {status} {body}"
        );
    }
}

/// The value that no field of any body accepts.
fn wrong() -> Value {
    json!({"not": "this"})
}

#[tokio::test]
async fn every_property_the_schema_lists_is_read_under_that_name() {
    let app = app().await;
    let spec = app.get("/openapi.json").await.1;
    for (method, path, schema) in bodies(&app).await {
        let example = schema["example"].clone();
        for (name, property) in schema["properties"].as_object().unwrap() {
            let url = url_for(&app, &method, &path).await;
            let mut body = example.clone();
            body[name] = wrong();
            let (status, answer) = send(&app, &method, &url, body).await;
            assert_eq!(status, 400, "{method} {path} with a wrong {name}: {answer}");
            assert_eq!(answer["error"], "invalid_request");
            let message = answer["message"].as_str().unwrap();
            assert!(
                message.contains(name.as_str()),
                "{method} {path}: {message:?} names {name}"
            );
            // Lines of a cart: each property of the line schema, read as items[0].<name>
            // (arrays of plain values, like a webhook's events, have none). A scanner batch's
            // rows are not lines: each is answered in its own result, by its kind's fields
            // (`scans.rs` checks them).
            if path == "/v1/movements" {
                continue;
            }
            if let Some(line) = property.get("items").map(|items| resolve(&spec, items))
                && let Some(properties) = line["properties"].as_object()
            {
                for line_name in properties.keys() {
                    let mut body = example.clone();
                    body[name][0][line_name] = wrong();
                    let (status, answer) = send(&app, &method, &url, body).await;
                    assert_eq!(status, 400, "{path} {name}[0].{line_name}: {answer}");
                    let want = format!("{name}[0].{line_name}");
                    assert!(
                        answer["message"].as_str().unwrap().contains(&want),
                        "{answer} names {want}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn exactly_the_properties_the_schema_requires_are_required() {
    let app = app().await;
    let spec = app.get("/openapi.json").await.1;
    for (method, path, schema) in bodies(&app).await {
        let example = schema["example"].clone();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().map(|v| v.as_str().unwrap()).collect())
            .unwrap_or_default();
        for name in schema["properties"].as_object().unwrap().keys() {
            let url = url_for(&app, &method, &path).await;
            let mut body = example.clone();
            body.as_object_mut().unwrap().remove(name);
            let (status, answer) = send(&app, &method, &url, body).await;
            if required.contains(&name.as_str()) {
                assert_eq!(status, 400, "{method} {path} without {name}: {answer}");
                assert!(answer["message"].as_str().unwrap().contains(name.as_str()), "{answer}");
            } else {
                // An optional property of a pair (an adjustment's `counted` or `delta`, exactly
                // one of them; an alert rule's reorder point and quantity, both or neither)
                // cannot be dropped alone: the refusal says so.
                let message = answer["message"].as_str().unwrap_or_default();
                let pair = message.contains("exactly one of") || message.contains("together");
                let one_of = status == 400 && pair && message.contains(name.as_str());
                assert!(
                    (200..300).contains(&status) || one_of,
                    "{method} {path} without optional {name}: {answer}"
                );
            }
        }
        // The cart line's own required fields.
        let Some(items) = schema.pointer("/properties/items/items") else {
            continue;
        };
        let line = resolve(&spec, items);
        for name in line["required"].as_array().unwrap() {
            let url = url_for(&app, &method, &path).await;
            let mut body = example.clone();
            body["items"][0].as_object_mut().unwrap().remove(name.as_str().unwrap());
            let (status, answer) = send(&app, &method, &url, body).await;
            assert_eq!(status, 400, "{path} without items[0].{name}: {answer}");
        }
    }
}

/// A raw body, with the given `Content-Type` (none when empty).
async fn post_raw(app: &TestApp, path: &str, content_type: &str, raw: &str) -> (u16, Value) {
    let mut req = app.client.post(app.url(path)).body(raw.to_owned());
    if !content_type.is_empty() {
        req = req.header("content-type", content_type);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// JSON numbers are IEEE doubles to most clients (RFC 8259 §6): `1.0000000000000001` *is*
/// `1` in JavaScript, Python and here. So it is the integer 1, like `1.0`; a number that
/// stays fractional as a double is refused.
#[tokio::test]
async fn a_number_that_is_a_whole_double_is_that_whole_number() {
    let app = app().await;
    app.set_stock("ps5", 100).await;
    for (raw, want) in [
        ("1.0000000000000001", Some(1)),
        ("2.0", Some(2)),
        ("1e0", Some(1)),
        ("1.000000000000001", None),
    ] {
        let body = format!(r#"{{"sku": "ps5", "quantity": {raw}, "user_id": "u"}}"#);
        let (status, answer) = post_raw(&app, "/v1/purchases", "application/json", &body).await;
        match want {
            Some(q) => {
                assert_eq!(status, 201, "{raw}: {answer}");
                assert_eq!(answer["quantity"], q, "{raw}");
            }
            None => {
                assert_eq!(status, 400, "{raw}: {answer}");
                assert!(answer["message"].as_str().unwrap().contains("quantity"));
            }
        }
    }
}

/// The body is read as JSON whatever `Content-Type` says, as the README documents:
/// `curl -d` sends `application/x-www-form-urlencoded` unless told otherwise, and refusing
/// that would break every shop script written that way. What is not JSON is still a 400.
#[tokio::test]
async fn a_body_is_read_as_json_whatever_its_content_type() {
    let app = app().await;
    app.set_stock("ps5", 100).await;
    let body = r#"{"sku": "ps5", "quantity": 1, "user_id": "u"}"#;
    for content_type in [
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "",
    ] {
        let (status, answer) = post_raw(&app, "/v1/purchases", content_type, body).await;
        assert_eq!(status, 201, "{content_type:?}: {answer}");
    }
    let (status, answer) = post_raw(&app, "/v1/purchases", "application/json", "sku=ps5&quantity=1").await;
    assert_eq!(status, 400);
    assert!(
        answer["message"].as_str().unwrap().contains("not valid JSON"),
        "{answer}"
    );
    assert_eq!(app.stock("ps5").await["sold"], 4, "only the four JSON bodies sold");
}
