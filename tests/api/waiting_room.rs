//! A drop's waiting room (`"queue"` in `PUT …/sale`): one ticket per customer in an order
//! Redis keeps, early arrivals shuffled at the opening, admission at the room's pace on
//! Redis's clock, takes refused without a valid admission inside their own transaction or
//! script, and tickets that turn `sold_out`; on one Redis and on a 3-master cluster.

use crate::helpers::{TestApp, rfc3339, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

async fn drop_with_queue(app: &TestApp, sku: &str, stock: i64, sale: Value) {
    app.set_stock(sku, stock).await;
    let (status, body) = app.send(Method::PUT, &format!("/v1/skus/{sku}/sale"), Some(sale)).await;
    assert_eq!(status, 200, "{body}");
}

async fn join(app: &TestApp, sku: &str, user: &str) -> (u16, Value) {
    app.post(&format!("/v1/skus/{sku}/queue"), json!({"user_id": user}))
        .await
}

async fn ticket(app: &TestApp, sku: &str, ticket: &str) -> Value {
    let (status, body) = app.get(&format!("/v1/skus/{sku}/queue/{ticket}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// How many the room of `drop` has admitted so far.
async fn admitted_so_far(app: &TestApp) -> u64 {
    app.get("/v1/skus/drop/queue").await.1["admitted"].as_u64().unwrap()
}

/// A purchase of one unit, with `admission` as the Admission header when given.
async fn buy(app: &TestApp, strategy: &str, sku: &str, user: &str, admission: Option<&str>) -> (u16, Value) {
    let mut req = app
        .client
        .post(app.url(&format!("/v1/purchases?strategy={strategy}")))
        .json(&json!({"sku": sku, "quantity": 1, "user_id": user}));
    if let Some(token) = admission {
        req = req.header("Admission", token);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_ticket_per_customer_in_the_order_they_joined() {
    let app = spawn_app().await;
    // One admission a second: the first joiner of an empty room is admitted at once, the
    // others wait in the order they joined.
    drop_with_queue(
        &app,
        "drop",
        10,
        json!({"queue": {"admit_per_s": 1, "admission_ttl_s": 60}}),
    )
    .await;
    let mut tickets = Vec::new();
    for user in ["a", "b", "c", "d"] {
        let (status, body) = join(&app, "drop", user).await;
        assert_eq!(status, 201, "{body}");
        tickets.push(body);
    }
    assert_eq!(tickets[0]["state"], "admitted", "{}", tickets[0]);
    assert!(tickets[0]["admission"].is_string() && tickets[0]["expires_at"].is_i64());
    for (i, t) in tickets.iter().enumerate().skip(1) {
        assert_eq!(t["state"], "waiting", "{t}");
        assert_eq!(t["position"], i as u64, "{t}");
        assert!(t.get("admission").is_none());
    }
    // Joining again answers the same ticket.
    let (status, again) = join(&app, "drop", "c").await;
    assert_eq!((status, &again["ticket"]), (200, &tickets[2]["ticket"]));
    let distinct: BTreeSet<&str> = tickets.iter().map(|t| t["ticket"].as_str().unwrap()).collect();
    assert_eq!(distinct.len(), 4);
    assert_eq!(
        ticket(&app, "drop", tickets[3]["ticket"].as_str().unwrap()).await["position"],
        3
    );
    // Refusals.
    for (path, code, want) in [
        (
            "/v1/skus/drop/queue/0123456789abcdef0123456789abcdef",
            404,
            "unknown_ticket",
        ),
        ("/v1/skus/drop/queue/not-a-ticket", 404, "unknown_ticket"),
    ] {
        let (status, body) = app.get(path).await;
        assert_eq!((status, body["error"].as_str()), (code, Some(want)), "{path}");
    }
    app.set_stock("plain", 5).await;
    let (status, body) = join(&app, "plain", "a").await;
    assert_eq!((status, body["error"].as_str()), (409, Some("no_queue")));
    let (status, body) = join(&app, "nothing", "a").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("unknown_sku")));
    let (status, body) = app.post("/v1/skus/drop/queue", json!({"user_id": ""})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")));
}

/// 40 customers join before the opening: no positions until then; at the opening they are
/// in a random order (not the order they joined), admitted at the room's pace on Redis's
/// clock; a customer who joins after the opening waits behind all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_arrivals_are_shuffled_at_the_opening_and_admitted_at_the_pace() {
    let app = spawn_app().await;
    let opens = app.redis_now_ms().await + 2_000;
    let sale = json!({"opens_at": rfc3339(opens), "queue": {"admit_per_s": 10, "admission_ttl_s": 60}});
    drop_with_queue(&app, "drop", 100, sale).await;
    let mut joined = Vec::new();
    for i in 0..40 {
        let (status, body) = join(&app, "drop", &format!("early-{i}")).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(
            (body["state"].as_str(), &body["position"]),
            (Some("waiting"), &Value::Null)
        );
        joined.push(body["ticket"].as_str().unwrap().to_owned());
    }
    // Before the opening, takes are refused by the window, admission or not.
    let (status, body) = buy(&app, "watch", "drop", "early-0", None).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("not_on_sale")));
    tokio::time::sleep(Duration::from_millis(
        (opens - app.redis_now_ms().await + 1_200).max(0) as u64
    ))
    .await;
    let late = join(&app, "drop", "late").await.1;
    // The room keeps admitting while the tickets are read: a read is kept only when no
    // admission fell inside it (the room's own count is the same before and after).
    let (mut admitted, mut order, mut now, mut after) = (0, vec![0u64; 40], 0, 0);
    for _ in 0..20 {
        let before = admitted_so_far(&app).await;
        (admitted, order, now) = (0, vec![0u64; 40], app.redis_now_ms().await);
        for (i, t) in joined.iter().enumerate() {
            let t = ticket(&app, "drop", t).await;
            match t["state"].as_str().unwrap() {
                "admitted" => admitted += 1,
                "waiting" => order[i] = t["position"].as_u64().unwrap(),
                other => panic!("{other}: {t}"),
            }
        }
        after = app.redis_now_ms().await;
        if admitted_so_far(&app).await == before {
            break;
        }
    }
    // One admitted at the opening, then one each 100 ms.
    let (low, high) = ((now - opens) / 100 + 1, (after - opens) / 100 + 1);
    assert!(
        (low..=high).contains(&admitted),
        "{admitted} admitted {}–{} ms after the opening",
        now - opens,
        after - opens
    );
    let waiting: Vec<u64> = order.iter().copied().filter(|p| *p > 0).collect();
    let mut sorted = waiting.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (1..=waiting.len() as u64).collect::<Vec<_>>(),
        "positions are a queue: {order:?}"
    );
    assert_ne!(waiting, sorted, "the early arrivals are not in the order they joined");
    assert_eq!(late["state"], "waiting", "{late}");
    assert!(late["position"].as_u64().unwrap() > 40 - high as u64, "{late}");
}

/// While a SKU's waiting room is on, a take needs a valid admission of its own customer for
/// that SKU, on every strategy and kind of take; without one nothing is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn takes_need_a_valid_admission_for_their_customer_and_sku() {
    let app = spawn_app().await;
    let fast = json!({"queue": {"admit_per_s": 1000, "admission_ttl_s": 60}});
    drop_with_queue(&app, "drop", 100, fast.clone()).await;
    drop_with_queue(&app, "other", 100, fast).await;
    let ada = join(&app, "drop", "ada").await.1;
    assert_eq!(ada["state"], "admitted", "{ada}");
    let token = ada["admission"].as_str().unwrap();
    let other = join(&app, "other", "ada").await.1["admission"]
        .as_str()
        .unwrap()
        .to_owned();
    for strategy in ["watch", "lua", "broken"] {
        for (user, admission, want) in [
            ("ada", None, "admission_required"),
            ("bob", Some(token), "admission_invalid"),
            ("ada", Some(other.as_str()), "admission_invalid"),
            ("ada", Some("junk.00"), "admission_invalid"),
        ] {
            let (status, body) = buy(&app, strategy, "drop", user, admission).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (403, Some(want)),
                "{strategy} {user}: {body}"
            );
            assert_eq!(body["sku"], "drop");
        }
        let (status, body) = buy(&app, strategy, "drop", "ada", Some(token)).await;
        assert_eq!(status, 201, "{strategy}: {body}");
    }
    // Carts and holds too; two tokens for a cart of two queued SKUs.
    let both = format!("{token},{other}");
    let cart = json!({"user_id": "ada", "items": [{"sku": "drop", "quantity": 1}, {"sku": "other", "quantity": 1}]});
    for path in ["/v1/checkouts", "/v1/reservations?strategy=lua"] {
        let send = |header: Option<&str>| {
            let mut req = app.client.post(app.url(path)).json(&cart);
            if let Some(h) = header {
                req = req.header("Admission", h.to_owned());
            }
            req.send()
        };
        let refused = send(Some(token)).await.unwrap();
        assert_eq!(refused.status(), 403, "{path}: one SKU of the cart has no admission");
        assert_eq!(send(Some(&both)).await.unwrap().status(), 201, "{path}");
    }
    assert_eq!(app.stock("drop").await["available"], 100 - 3 - 2);
    assert_eq!(app.stock("other").await["available"], 100 - 2);
    // An admission ends: with a 1-second window, a token is refused after it.
    app.send(
        Method::PUT,
        "/v1/skus/drop/sale",
        Some(json!({"queue": {"admit_per_s": 1000, "admission_ttl_s": 1}})),
    )
    .await;
    let short = join(&app, "drop", "cy").await.1;
    let token = short["admission"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert_eq!(
        ticket(&app, "drop", short["ticket"].as_str().unwrap()).await["state"],
        "expired"
    );
    let (status, body) = buy(&app, "lua", "drop", "cy", Some(&token)).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("admission_invalid")));
    // What the operator sees: tickets, admissions, refusals by reason.
    let metrics = app.text("/metrics").await;
    for line in [
        "stockwatch_waiting_room_tickets_total 3",
        "reason=\"admission_required\"",
        "reason=\"admission_invalid\"",
    ] {
        assert!(metrics.contains(line), "{line} not in /metrics");
    }
    assert!(!metrics.contains("stockwatch_waiting_room_admissions_total 0"));
    // Turning the room off lets takes through without an admission.
    app.send(Method::PUT, "/v1/skus/drop/sale", Some(json!({"queue": null})))
        .await;
    assert_eq!(buy(&app, "watch", "drop", "cy", None).await.0, 201);
}

/// Once the SKU has nothing left to sell or hold, waiting tickets turn `sold_out`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_tickets_turn_sold_out() {
    let app = spawn_app().await;
    drop_with_queue(
        &app,
        "drop",
        1,
        json!({"queue": {"admit_per_s": 1, "admission_ttl_s": 60}}),
    )
    .await;
    let first = join(&app, "drop", "first").await.1;
    let second = join(&app, "drop", "second").await.1;
    assert_eq!(second["state"], "waiting");
    let (status, body) = buy(&app, "watch", "drop", "first", first["admission"].as_str()).await;
    assert_eq!(status, 201, "{body}");
    let t = ticket(&app, "drop", second["ticket"].as_str().unwrap()).await;
    assert_eq!((t["state"].as_str(), &t["position"]), (Some("sold_out"), &Value::Null));
}

/// On a 3-master cluster: each SKU's room lives in its own slot (on three masters here),
/// tickets queue in order, and a take there needs its admission on both strategies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_waiting_room_on_a_cluster() {
    use crate::cluster::{TestCluster, one_per_master, stock};
    use stockwatch::domain::{Admissions, Quantity, Strategy, UserId};
    use stockwatch::ops::queue::{self, TicketState};
    use stockwatch::ops::sale::{Change, QueueTerms, SaleChange};
    use stockwatch::ops::set_sale;
    use stockwatch::{Error, ops};
    let cluster = TestCluster::start().await;
    let store = cluster.store(|_| {});
    let user = |s: &str| UserId::try_from(s.to_owned()).unwrap();
    for sku in one_per_master("room") {
        stock(&store, &sku, 10).await;
        let room = SaleChange {
            queue: Change::Set(QueueTerms {
                admit_per_s: 1,
                admission_ttl_s: 60,
            }),
            ..SaleChange::default()
        };
        set_sale(&store, &sku, room).await.unwrap();
        let first = queue::join(&store, &sku, &user("first")).await.unwrap();
        let second = queue::join(&store, &sku, &user("second")).await.unwrap();
        assert_eq!((first.state, first.new), (TicketState::Admitted, true));
        assert_eq!((second.state, second.position), (TicketState::Waiting, Some(1)));
        assert_eq!(
            queue::join(&store, &sku, &user("second")).await.unwrap().ticket,
            second.ticket
        );
        let until = first.expires_at.unwrap();
        for strategy in [Strategy::Watch, Strategy::Lua] {
            let one = Quantity::try_from(1).unwrap();
            let bare = ops::purchase(&store, strategy, &sku, one, &user("first"), None).await;
            assert!(matches!(bare, Err(Error::AdmissionRequired { .. })), "{bare:?}");
            let admitted = store.with_admissions(Admissions {
                presented: true,
                valid: vec![(sku.clone(), until)],
            });
            ops::purchase(&admitted, strategy, &sku, one, &user("first"), None)
                .await
                .unwrap();
        }
        assert_eq!(ops::get_stock(&store, &sku).await.unwrap().available, 8);
    }
}
