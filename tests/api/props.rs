//! Property tests (proptest) on a real redis-server.
//!
//! 1. Random and hostile requests to every endpoint (methods, paths, query strings, headers,
//!    bodies) never get a 5xx, always get the contract's error JSON when refused, and leave
//!    the store unchanged when refused.
//! 2. Random interleavings of purchase, checkout, reserve, confirm, cancel, expire and
//!    restock over a few SKUs, on `watch` and on `lua`, always satisfy every invariant of
//!    `stockwatch verify`.

use crate::helpers::{AppOptions, TestApp, contract_codes, fresh_prefix, spawn_app_with, store_on};
use futures_util::future::join_all;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use stockwatch::domain::{Available, CartItems, Quantity, ReservationId, Sku, Strategy as Way, TtlSeconds, UserId};
use stockwatch::ops;
use stockwatch::ops::Inventory;

/// Path segments a hostile client would try: key-syntax characters, traversal, whitespace,
/// look-alikes, overlong values, encodings, and a few real ones.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just("ps5".to_owned()),
        1 => Just("{ps5}".to_owned()),
        1 => Just("ps5}:order:*".to_owned()),
        1 => Just("*".to_owned()),
        1 => Just("..".to_owned()),
        1 => Just("%2e%2e%2fsw".to_owned()),
        1 => Just("%7Bps5%7D".to_owned()),
        1 => Just("ps%205".to_owned()),
        1 => Just("p\u{0455}5".to_owned()),  // Cyrillic dze: looks like "s"
        1 => Just("ps\u{FF15}".to_owned()),  // fullwidth 5
        1 => Just("\u{202E}5sp".to_owned()), // right-to-left override
        1 => Just("a".repeat(65)),
        1 => Just("0".repeat(2000)),
        1 => Just("01936b2e-8f3a-7c4d-9e5f-0a1b2c3d4e5f".to_owned()),
        1 => Just("00000000-0000-0000-0000-000000000000".to_owned()),
        // Weighted: names of the SKU alphabet are what reach the handlers (and `unknown_sku`)
        // instead of the router's refusals; unweighted, 500 cases often reached none of them
        // (the coverage check below failed in 2 of 4 runs), and at 4 a CI run still missed
        // `unknown_sku` once (about 4 expected hits in 500 cases; 10 gives about 7).
        10 => "[A-Za-z0-9._-]{1,70}",
        1 => "\\PC{0,20}".prop_map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect()),
    ]
}

fn path() -> impl Strategy<Value = String> {
    (0..15usize, segment()).prop_map(|(which, seg)| match which {
        0 => format!("/v1/skus/{seg}"),
        1 => format!("/v1/skus/{seg}/stock"),
        2 => format!("/v1/skus/{seg}/restock"),
        3 => format!("/v1/skus/{seg}/movements"),
        4 => "/v1/purchases".to_owned(),
        5 => "/v1/checkouts".to_owned(),
        6 => "/v1/reservations".to_owned(),
        7 => format!("/v1/reservations/{seg}"),
        8 => format!("/v1/reservations/{seg}/confirm"),
        9 => format!("/v1/reservations/{seg}/cancel"),
        10 => format!("/v1/reservations/{seg}/extend"),
        11 => format!("/v1/orders/{seg}"),
        12 => "/v1/demo/rush".to_owned(),
        13 => format!("/v1/skus/{seg}/sale"),
        _ => format!("/{seg}"),
    })
}

/// JSON with the contract's field names, holding anything.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop_oneof![
            Just(0i64),
            Just(1),
            Just(-1),
            Just(1_000_000),
            Just(1_000_001),
            Just(86_401)
        ]
        .prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        segment().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("sku".to_owned()),
                        Just("quantity".to_owned()),
                        Just("user_id".to_owned()),
                        Just("items".to_owned()),
                        Just("available".to_owned()),
                        Just("ttl_seconds".to_owned()),
                        Just("buyers".to_owned()),
                        Just("stock".to_owned()),
                        Just("opens_at".to_owned()),
                        Just("per_customer_limit".to_owned()),
                        "\\PC{0,8}",
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum Body {
    None,
    Json(Value),
    Bytes(Vec<u8>),
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        Just(Body::None),
        json_value().prop_map(Body::Json),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(Body::Bytes),
        Just(Body::Bytes(vec![b'{'; 70_000])),
    ]
}

/// A header value reqwest can send: visible ASCII, spaces, and obs-text bytes.
fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(prop_oneof![0x20u8..0x7f, 0x80u8..=0xff], 0..200),
        Just(b"k".repeat(129)),
        Just(b"Bearer ".to_vec()),
    ]
}

#[derive(Debug, Clone)]
struct HostileRequest {
    method: &'static str,
    path: String,
    query: Option<String>,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Body,
}

fn request() -> impl Strategy<Value = HostileRequest> {
    (
        prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH"]),
        path(),
        prop::option::of(prop_oneof![
            Just("strategy=lua".to_owned()),
            Just("strategy=broken".to_owned()),
            Just("strategy=".to_owned()),
            Just("strategy=watch&strategy=lua".to_owned()),
            Just("limit=0".to_owned()),
            Just("limit=1001".to_owned()),
            Just("limit=-1".to_owned()),
            "\\PC{0,30}".prop_map(|s| format!(
                "strategy={}",
                url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
            )),
        ]),
        prop::collection::vec(
            (
                prop::sample::select(vec![
                    "Idempotency-Key",
                    "Content-Type",
                    "Authorization",
                    "X-Request-Id",
                    "Content-Length",
                ]),
                header_value(),
            ),
            0..3,
        ),
        body(),
    )
        .prop_map(|(method, path, query, headers, body)| HostileRequest {
            method,
            path,
            query,
            headers,
            body,
        })
}

/// The store minus the idempotency slots: a refused request with an Idempotency-Key
/// remembers its refusal (so a repeat gets the same answer), which is the contract.
async fn state(app: &TestApp) -> Vec<(String, String)> {
    app.dump()
        .await
        .into_iter()
        .filter(|(k, _)| !k.contains(":idem:"))
        .collect()
}

async fn send(app: &TestApp, r: &HostileRequest) -> Result<(u16, Vec<u8>), String> {
    let mut url = app.url(&r.path);
    if let Some(q) = &r.query {
        url = format!("{url}?{q}");
    }
    let method = reqwest::Method::from_bytes(r.method.as_bytes()).unwrap();
    let mut req = app.client.request(method, url);
    for (name, value) in &r.headers {
        if *name == "Content-Length" {
            continue; // reqwest computes it; a lying one is a transport error, not ours.
        }
        if let Ok(v) = reqwest::header::HeaderValue::from_bytes(value) {
            req = req.header(*name, v);
        }
    }
    req = match &r.body {
        Body::None => req,
        Body::Json(v) => req.header("Content-Type", "application/json").body(v.to_string()),
        Body::Bytes(b) => req.body(b.clone()),
    };
    let res = req.send().await.map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    Ok((status, res.bytes().await.map_err(|e| e.to_string())?.to_vec()))
}

#[test]
fn hostile_requests_never_5xx_and_refusals_change_nothing() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = rt.block_on(async {
        let app = spawn_app_with(
            AppOptions {
                allow_broken: false,
                ..AppOptions::default()
            },
            |_| {},
        )
        .await;
        app.set_stock("ps5", 5).await;
        app.reserve("watch", &[("ps5", 1)], 600).await;
        app
    });
    let codes = contract_codes();
    let seen_codes = std::cell::RefCell::new(BTreeSet::new());
    let config = ProptestConfig {
        cases: 500,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(r in request())| {
        rt.block_on(async {
            let before = state(&app).await;
            let (status, body) = send(&app, &r).await.map_err(|e| TestCaseError::fail(format!("{r:?}: {e}")))?;
            prop_assert!(status < 500, "{status} for {r:?}: {}", String::from_utf8_lossy(&body));
            if status >= 400 {
                let json: Value = serde_json::from_slice(&body)
                    .map_err(|e| TestCaseError::fail(format!("{status} not JSON ({e}) for {r:?}")))?;
                let code = json["error"].as_str().unwrap_or_default().to_owned();
                prop_assert_eq!(codes.get(&code), Some(&status), "code {:?} is not the contract's for {} ({:?})", code, status, r);
                prop_assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()));
                prop_assert_eq!(state(&app).await, before, "a refused request changed the store: {:?}", r);
                seen_codes.borrow_mut().insert(code);
            }
            Ok(())
        })?;
    });
    // The generator reached the interesting refusals, not only 404s.
    let seen = seen_codes.into_inner();
    for code in [
        "invalid_request",
        "unknown_sku",
        "not_found",
        "method_not_allowed",
        "payload_too_large",
    ] {
        assert!(seen.contains(code), "never produced {code}: {seen:?}");
    }
}

#[derive(Debug, Clone)]
enum Action {
    Purchase {
        sku: usize,
        quantity: u32,
    },
    Checkout {
        lines: Vec<(usize, u32)>,
    },
    Reserve {
        lines: Vec<(usize, u32)>,
    },
    Confirm(usize),
    Cancel(usize),
    /// Time passes for hold `n`: its deadline moves into the past, and the worker sweeps.
    Expire(usize),
    Restock {
        sku: usize,
        quantity: u32,
    },
}

const SKUS: usize = 3;

fn lines() -> impl Strategy<Value = Vec<(usize, u32)>> {
    prop::collection::btree_map(0..SKUS, 1..4u32, 1..=SKUS).prop_map(|m| m.into_iter().collect())
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => (0..SKUS, 1..4u32).prop_map(|(sku, quantity)| Action::Purchase { sku, quantity }),
        2 => lines().prop_map(|lines| Action::Checkout { lines }),
        3 => lines().prop_map(|lines| Action::Reserve { lines }),
        2 => (0..8usize).prop_map(Action::Confirm),
        1 => (0..8usize).prop_map(Action::Cancel),
        2 => (0..8usize).prop_map(Action::Expire),
        1 => (0..SKUS, 1..5u32).prop_map(|(sku, quantity)| Action::Restock { sku, quantity }),
    ]
}

fn sku(i: usize) -> Sku {
    Sku::parse(&format!("p{i}")).unwrap()
}

fn cart(lines: &[(usize, u32)]) -> CartItems {
    let items: Vec<Value> = lines
        .iter()
        .map(|(s, q)| json!({"sku": format!("p{s}"), "quantity": q}))
        .collect();
    CartItems::parse(Some(&Value::Array(items))).unwrap()
}

/// Runs one action; refusals and contention are normal outcomes, anything else fails.
async fn run(store: &Inventory, strategy: Way, action: &Action, holds: &tokio::sync::Mutex<Vec<ReservationId>>) {
    let user = UserId::parse(&"prop".into()).unwrap();
    let hold = |n: usize| async move { holds.lock().await.get(n).copied() };
    let result: Result<(), stockwatch::Error> = match action {
        Action::Purchase { sku: s, quantity } => {
            let q = Quantity::parse(&(*quantity).into(), "quantity").unwrap();
            ops::purchase(store, strategy, &sku(*s), q, &user, None)
                .await
                .map(|_| ())
        }
        Action::Checkout { lines } => ops::checkout(store, strategy, &cart(lines), &user, None)
            .await
            .map(|_| ()),
        Action::Reserve { lines } => {
            let ttl = TtlSeconds::parse(Some(&json!(600))).unwrap();
            match ops::reserve(store, strategy, &cart(lines), &user, ttl, None).await {
                Ok(r) => {
                    holds.lock().await.push(r.reservation_id);
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        Action::Confirm(n) => match hold(*n).await {
            Some(id) => ops::confirm(store, &id, None).await.map(|_| ()),
            None => Ok(()),
        },
        Action::Cancel(n) => match hold(*n).await {
            Some(id) => ops::cancel(store, &id, None).await.map(|_| ()),
            None => Ok(()),
        },
        Action::Expire(n) => match hold(*n).await {
            Some(id) => {
                // The clock moves for this hold only: deadline and index score in the past.
                let mut conn = store.shared();
                let key = store.keys().reservation(&id);
                let past = ops::now_ms() - 1;
                let active: Option<String> = redis::cmd("HGET")
                    .arg(&key)
                    .arg("status")
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                if active.as_deref() == Some("active") {
                    let _: () = redis::pipe()
                        .cmd("HSET")
                        .arg(&key)
                        .arg("expires_at")
                        .arg(past)
                        .ignore()
                        .cmd("ZADD")
                        .arg(store.keys().expiry(id.slot()))
                        .arg("XX")
                        .arg(past)
                        .arg(id.to_string())
                        .ignore()
                        .query_async(&mut conn)
                        .await
                        .unwrap();
                }
                stockwatch::expiry::sweep(store, &Default::default()).await.map(|_| ())
            }
            None => Ok(()),
        },
        Action::Restock { sku: s, quantity } => {
            let q = Quantity::parse(&(*quantity).into(), "quantity").unwrap();
            ops::restock(store, &sku(*s), q, None).await.map(|_| ())
        }
    };
    match result {
        Ok(())
        | Err(stockwatch::Error::InsufficientStock { .. })
        | Err(stockwatch::Error::ReservationNotActive { .. })
        | Err(stockwatch::Error::Contention { .. }) => {}
        Err(e) => panic!("{action:?} on {strategy}: {e}"),
    }
}

#[test]
fn random_interleavings_keep_every_invariant() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let redis = rt.block_on(crate::helpers::TestRedis::start());
    let config = ProptestConfig {
        cases: 100,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(
        strategy in prop::sample::select(vec![Way::Watch, Way::Lua]),
        batching in any::<bool>(),
        stock in prop::collection::vec(0..8u32, SKUS),
        rounds in prop::collection::vec(prop::collection::vec(action(), 1..8), 1..8),
    )| {
        rt.block_on(async {
            let store = store_on(&redis, |c| {
                c.key_prefix = fresh_prefix();
                c.batching = batching;
            });
            for (i, units) in stock.iter().enumerate() {
                ops::set_stock(&store, &sku(i), Available::parse(&(*units).into(), "available").unwrap()).await.unwrap();
            }
            let holds = tokio::sync::Mutex::new(Vec::new());
            // Each round's actions run concurrently: real interleavings, not a sequence.
            for round in &rounds {
                join_all(round.iter().map(|a| run(&store, strategy, a, &holds))).await;
            }
            let report = ops::verify(&store).await.unwrap();
            prop_assert!(report.ok, "{strategy} {rounds:?}: {:?}", report.violations);
            for i in 0..SKUS {
                let s = ops::get_stock(&store, &sku(i)).await.unwrap();
                prop_assert!(s.available >= 0 && s.reserved >= 0 && s.sold >= 0, "{s:?}");
            }
            Ok(())
        })?;
    });
}
