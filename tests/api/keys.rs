//! Client API keys with scopes (`serve --require-keys`, `stockwatch keys`): every operation
//! asks for the scope its OpenAPI entry declares, keys are stored only as digests, and a
//! revoked key stops working.

use crate::helpers::{AppOptions, TestApp, spawn_app_with};
use reqwest::Method;
use serde_json::{Value, json};
use stockwatch::access::{self, Keyring};
use stockwatch::domain::{ApiKey, Scopes};

const TOKEN: &str = "the-operators-t0ken";

/// What a call answered: status, body, and whether a 401 named its scheme.
struct Answer {
    status: u16,
    body: Value,
    challenges: bool,
}

async fn call(app: &TestApp, method: &Method, path: &str, credential: Option<&str>) -> Answer {
    let mut req = app.client.request(method.clone(), app.url(path));
    if let Some(c) = credential {
        req = req.bearer_auth(c);
    }
    if *method == Method::POST || *method == Method::PUT {
        req = req.json(&json!({}));
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let challenges = resp
        .headers()
        .get("www-authenticate")
        .is_some_and(|v| v.to_str().unwrap_or_default().starts_with("Bearer"));
    // The event stream never ends: its headers are the answer.
    let body = if path == "/v1/events" && status == 200 {
        Value::Null
    } else {
        serde_json::from_str(&resp.text().await.unwrap_or_default()).unwrap_or(Value::Null)
    };
    Answer {
        status,
        body,
        challenges,
    }
}

async fn key(app: &TestApp, scopes: &str) -> String {
    let (key, _) = access::create(&app.store, "test", Scopes::parse(scopes).unwrap())
        .await
        .expect("key made");
    key.reveal().to_owned()
}

fn keyed(token: Option<&str>) -> AppOptions {
    AppOptions {
        admin_token: token.map(Into::into),
        require_keys: true,
        ..AppOptions::default()
    }
}

/// Every operation of the published document, as (method, concrete path, the scope its
/// `api_key` requirement names, whether it may be called anonymously).
fn operations(spec: &Value) -> Vec<(Method, String, Option<String>, bool)> {
    let mut all = Vec::new();
    for (template, item) in spec["paths"].as_object().unwrap() {
        let path = template
            .replace("{sku}", "ps5")
            .replace("{location}", "east")
            .replace("{id}", "0190a0b0-0000-7000-8000-000000000000");
        for (method, op) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let security = op["security"].as_array().cloned().unwrap_or_default();
            let scope = security
                .iter()
                .find_map(|r| r["api_key"].as_array()?.first()?.as_str().map(str::to_owned));
            let anonymous = security.is_empty() || security.iter().any(|r| r.as_object().is_some_and(|o| o.is_empty()));
            all.push((method, path.clone(), scope, anonymous));
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_demands_the_scope_its_document_declares() {
    let app = spawn_app_with(keyed(Some(TOKEN)), |_| {}).await;
    let (status, spec) = app.get("/openapi.json").await;
    assert_eq!(status, 200, "the document is always open");
    for scheme in ["admin_token", "api_key"] {
        assert_eq!(
            spec["components"]["securitySchemes"][scheme]["scheme"], "bearer",
            "{scheme}"
        );
    }
    let keys = [
        ("checkout", key(&app, "checkout").await),
        ("read", key(&app, "read").await),
        ("admin", key(&app, "admin").await),
        ("checkout,read", key(&app, "read,checkout").await),
    ];
    let stranger = ApiKey::generate();
    let ops = operations(&spec);
    assert!(ops.len() >= 30, "{} operations", ops.len());
    for (method, path, scope, anonymous) in &ops {
        let what = format!("{method} {path}");
        let Some(scope) = scope else {
            assert!(
                ["/healthz", "/readyz"].contains(&path.as_str()),
                "{what} declares no key scope"
            );
            assert_eq!(call(&app, method, path, None).await.status, 200, "{what}");
            continue;
        };
        assert!(!anonymous, "{what}: with --require-keys nothing is anonymous");
        let none = call(&app, method, path, None).await;
        assert_eq!(
            (none.status, none.body["error"].as_str()),
            (401, Some("unauthorized")),
            "{what}"
        );
        assert!(none.challenges, "{what}: a 401 names the Bearer scheme");
        let unknown = call(&app, method, path, Some(stranger.reveal())).await;
        assert_eq!(unknown.status, 401, "{what}: a well-formed key nobody made");
        let token = call(&app, method, path, Some(TOKEN)).await;
        assert!(
            ![401, 403].contains(&token.status),
            "{what}: the admin token opens everything"
        );
        let wrong = call(&app, method, path, Some("not-the-token")).await;
        let expected = if scope == "admin" { 403 } else { 401 };
        assert_eq!(wrong.status, expected, "{what}: a wrong token");
        for (scopes, key) in &keys {
            let allowed = scopes.split(',').any(|s| s == scope || s == "admin");
            let answer = call(&app, method, path, Some(key)).await;
            if allowed {
                assert!(
                    ![401, 403].contains(&answer.status),
                    "{what} with {scopes}: {}",
                    answer.body
                );
            } else {
                assert_eq!(answer.status, 403, "{what} with {scopes}");
                assert_eq!(answer.body["error"], "forbidden", "{what}");
                assert_eq!(answer.body["scope"], scope.as_str(), "{what}");
            }
        }
    }
    // Each scope guards something, so the document's split is not all one scope.
    for scope in ["checkout", "read", "admin"] {
        assert!(
            ops.iter().any(|(_, _, s, _)| s.as_deref() == Some(scope)),
            "no operation needs {scope}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_key_buys_exactly_and_stops_once_revoked() {
    let app = spawn_app_with(keyed(None), |_| {}).await;
    let admin = key(&app, "admin").await;
    let (checkout, info) = access::create(&app.store, "till 1", Scopes::parse("checkout").unwrap())
        .await
        .unwrap();
    let reader = key(&app, "read").await;
    let set = app
        .client
        .put(app.url("/v1/skus/keyed/stock"))
        .bearer_auth(&admin)
        .json(&json!({"available": 150}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200, "an admin key sets stock when no token is set");
    // 300 buyers on one key at once: the keyring is shared and never lets one through twice
    // or turns one away.
    let buys = (0..300).map(|i| {
        let app = &app;
        let key = checkout.reveal();
        async move {
            let resp = app
                .client
                .post(app.url("/v1/purchases"))
                .bearer_auth(key)
                .json(&json!({"sku": "keyed", "quantity": 1, "user_id": format!("u{i}")}))
                .send()
                .await
                .unwrap();
            resp.status().as_u16()
        }
    });
    let statuses = futures_util::future::join_all(buys).await;
    assert_eq!(statuses.iter().filter(|&&s| s == 201).count(), 150, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&s| s == 409).count(), 150, "{statuses:?}");
    let stock = app
        .client
        .get(app.url("/v1/skus/keyed"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    let stock: Value = stock.json().await.unwrap();
    assert_eq!(
        (stock["available"].as_i64(), stock["sold"].as_i64()),
        (Some(0), Some(150))
    );
    assert!(app.verify().await.ok);

    // Only the digest is stored: nothing in Redis holds the key's secret.
    let stored: std::collections::HashMap<String, String> = app
        .store
        .query(redis::cmd("HGETALL").arg(app.store.keys().api_keys()))
        .await
        .unwrap();
    let secret = checkout.reveal().rsplit('_').next().unwrap();
    assert_eq!(stored.len(), 3);
    assert!(stored.values().all(|v| !v.contains(secret)));
    assert!(stored[info.id.as_str()].contains(&hex::encode(checkout.digest())));

    assert!(access::revoke(&app.store, &info.id).await.unwrap());
    assert!(!access::revoke(&app.store, &info.id).await.unwrap(), "revoked once");
    tokio::time::sleep(Keyring::FRESH + std::time::Duration::from_millis(200)).await;
    let after = app
        .client
        .post(app.url("/v1/purchases"))
        .bearer_auth(checkout.reveal())
        .json(&json!({"sku": "keyed", "quantity": 1, "user_id": "late"}))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401, "a revoked key is refused within Keyring::FRESH");
    assert_eq!(access::list(&app.store).await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_require_keys_only_admin_endpoints_look_at_credentials() {
    let app = spawn_app_with(
        AppOptions {
            admin_token: Some(TOKEN.into()),
            ..AppOptions::default()
        },
        |_| {},
    )
    .await;
    let admin = key(&app, "admin").await;
    let checkout = key(&app, "checkout").await;
    let set = |credential: &str| {
        app.client
            .put(app.url("/v1/skus/open/stock"))
            .bearer_auth(credential.to_owned())
            .json(&json!({"available": 5}))
            .send()
    };
    assert_eq!(
        set(&admin).await.unwrap().status(),
        200,
        "an admin key beside the token"
    );
    assert_eq!(set(TOKEN).await.unwrap().status(), 200, "the token still works");
    let refused = set(&checkout).await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.json::<Value>().await.unwrap()["scope"], "admin");
    assert_eq!(set("wrong").await.unwrap().status(), 403, "a wrong token, as before");
    assert_eq!(set(ApiKey::generate().reveal()).await.unwrap().status(), 401);
    // Open endpoints do not look at the header at all.
    for credential in [
        None,
        Some("garbage".to_owned()),
        Some(ApiKey::generate().reveal().to_owned()),
    ] {
        let mut req = app.client.post(app.url("/v1/purchases"));
        if let Some(c) = &credential {
            req = req.bearer_auth(c);
        }
        let resp = req
            .json(&json!({"sku": "open", "quantity": 1, "user_id": "u"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "{credential:?}");
    }
    let spec = app.get("/openapi.json").await.1;
    let purchase = &spec["paths"]["/v1/purchases"]["post"]["security"];
    assert!(
        purchase.as_array().unwrap().iter().any(|r| r == &json!({})),
        "{purchase}"
    );
    assert!(!app.text("/openapi.json").await.contains(&checkout), "no key anywhere");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_made_listed_and_revoked_from_the_command_line() {
    // The CLI works on the same Redis and key prefix as a running server.
    let app = spawn_app_with(keyed(None), |_| {}).await;
    let (redis_url, prefix) = (app.redis.url(), app.store.keys().prefix().to_owned());
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_stockwatch"))
            .arg("keys")
            .args(args)
            .env("REDIS_URL", &redis_url)
            .env("STOCKWATCH_KEY_PREFIX", &prefix)
            .env("RUST_LOG", "debug")
            .output()
            .expect("stockwatch runs")
    };
    let made = cli(&["create", "--scope", "read,checkout", "--name", "till 1"]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let key = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    let parsed = ApiKey::parse(&key).expect("stdout is the key alone");
    let secret = key.rsplit('_').next().unwrap();
    assert!(
        !String::from_utf8_lossy(&made.stderr).contains(secret),
        "the key is never logged"
    );

    let listed = cli(&["list", "--json"]);
    assert!(listed.status.success());
    let text = String::from_utf8(listed.stdout).unwrap();
    assert!(!text.contains(secret) && !text.contains("digest"), "{text}");
    let list: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list[0]["id"], parsed.id().as_str());
    assert_eq!(list[0]["name"], "till 1");
    assert_eq!(list[0]["scopes"], json!(["checkout", "read"]));
    let table = String::from_utf8(cli(&["list"]).stdout).unwrap();
    assert!(
        table.contains(parsed.id().as_str()) && table.contains("checkout,read"),
        "{table}"
    );

    // The key made on the command line opens the server.
    let reading = app
        .client
        .get(app.url("/v1/alerts"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(reading.status(), 200);
    assert_eq!(cli(&["revoke", parsed.id().as_str()]).status.code(), Some(0));
    assert_eq!(
        cli(&["revoke", parsed.id().as_str()]).status.code(),
        Some(1),
        "already gone"
    );
    for bad in [
        &["create", "--scope", "write"][..],
        &["create", "--scope", ""],
        &["create", "--scope", "read", "--name", ""],
        &["revoke", "../../sw:sku:x"],
    ] {
        let out = cli(bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(!out.stderr.is_empty());
    }
    assert!(access::list(&app.store).await.unwrap().is_empty());
}
