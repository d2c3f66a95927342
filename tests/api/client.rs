//! `stockwatch-client` against a real server: every endpoint, its refusals, and its retries
//! under one `Idempotency-Key` when a reply is lost, slow, or a 503.

use crate::helpers::{AppOptions, TestApp, TestRedis, serve_store, spawn_app, spawn_app_with, store_on};
use crate::proxy::FaultProxy;
use std::time::Duration;
use stockwatch_client::domain::IdempotencyKey;
use stockwatch_client::domain::{
    AlertKind, Available, CartItem, CartItems, CatalogRow, Correction, Limit, Location, Priority, Quantity, Reason,
    ReservationStatus, Sku, SkuPrefix, Strategy, TtlSeconds, UserId,
};
use stockwatch_client::model::OrderSource;
use stockwatch_client::{Change, Client, Error, Event, Rules, Scan};

fn client_of(app: &TestApp) -> Client {
    Client::builder(&app.address).build().unwrap()
}

fn sku(s: &str) -> Sku {
    Sku::parse(s).unwrap()
}

fn units(n: u32) -> Quantity {
    Quantity::try_from(n).unwrap()
}

fn level(n: u32) -> Available {
    Available::try_from(n).unwrap()
}

fn user(s: &str) -> UserId {
    UserId::try_from(s.to_owned()).unwrap()
}

fn at(s: &str) -> Location {
    Location::parse(s, "location").unwrap()
}

#[tokio::test]
async fn the_checkout_path_through_the_client() {
    use futures_util::StreamExt;
    let app = spawn_app().await;
    let client = client_of(&app);
    let (ps5, pad, ada) = (sku("ps5"), sku("pad"), user("ada"));
    let events = client.events().await.unwrap();
    assert_eq!(client.set_stock(&ps5, level(10)).await.unwrap().available, 10);
    client.set_stock(&pad, level(5)).await.unwrap();

    let bought = client.purchase(&ps5, units(2), &ada).await.unwrap();
    assert_eq!((bought.quantity, bought.remaining, bought.attempts), (2, 8, 1));
    let lua = client.with_strategy(Strategy::Lua);
    let pinned = CartItem::new(ps5.clone(), units(1)).at(Location::default_location());
    assert_eq!(
        lua.purchase_line(&pinned, &ada).await.unwrap().allocations[0]
            .location
            .as_str(),
        "default"
    );

    let cart = CartItems::new(vec![
        CartItem::new(ps5.clone(), units(1)),
        CartItem::new(pad.clone(), units(2)),
    ])
    .unwrap();
    let checked = client.checkout(&ada, &cart).await.unwrap();
    assert_eq!(checked.items.iter().map(|l| l.remaining).collect::<Vec<_>>(), [6, 3]);
    let order = client.order(checked.order_id).await.unwrap();
    assert_eq!(
        (order.source, order.items.len(), order.user_id),
        (OrderSource::Checkout, 2, ada.clone())
    );

    let held = client
        .reserve(&ada, &cart, Some(TtlSeconds::try_from(60).unwrap()))
        .await
        .unwrap();
    assert_eq!(held.status, ReservationStatus::Active);
    let longer = client
        .extend(held.reservation_id, TtlSeconds::try_from(600).unwrap())
        .await
        .unwrap();
    assert!(longer.expires_at > held.expires_at);
    let confirmed = client.confirm(held.reservation_id).await.unwrap();
    let read = client.reservation(held.reservation_id).await.unwrap();
    assert_eq!(
        (read.status, read.order_id),
        (ReservationStatus::Confirmed, Some(confirmed.order_id))
    );
    let from_hold = client.order(confirmed.order_id).await.unwrap();
    assert_eq!(from_hold.reservation_id, Some(held.reservation_id));

    let one = CartItems::new(vec![CartItem::new(ps5.clone(), units(1))]).unwrap();
    let other = client.reserve(&ada, &one, None).await.unwrap();
    assert_eq!(
        client.cancel(other.reservation_id).await.unwrap().status,
        ReservationStatus::Cancelled
    );
    let stock = client.stock(&ps5).await.unwrap();
    assert_eq!((stock.available, stock.reserved, stock.sold), (5, 0, 5));
    let (listed, next) = client
        .skus(
            None,
            Some(&SkuPrefix::parse("p").unwrap()),
            Some(Limit::try_from(1).unwrap()),
        )
        .await
        .unwrap();
    assert_eq!((listed[0].sku.as_str(), next.clone()), ("pad", Some(pad.clone())));
    let (rest, last) = client
        .skus(next.as_ref(), Some(&SkuPrefix::parse("p").unwrap()), None)
        .await
        .unwrap();
    assert_eq!((rest, last), (vec![stock.clone()], None));
    let moves = client.movements(&ps5, Some(Limit::try_from(2).unwrap())).await.unwrap();
    assert_eq!(moves.len(), 2);
    assert_eq!(moves[0].kind.as_str(), "cancel", "newest first");

    // The stream saw the first purchase.
    let mut events = events.boxed();
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = events.next().await {
            if let Event::Stock { stock, kind } = event.unwrap()
                && stock.sku == ps5
                && kind == "purchase"
            {
                return stock.available;
            }
        }
        panic!("the stream ended")
    });
    assert_eq!(seen.await.unwrap(), 8);
    assert!(client.healthz().await.is_ok() && client.readyz().await.is_ok());
    assert!(client.metrics().await.unwrap().contains("stockwatch_"));
}

#[tokio::test]
async fn the_stockroom_and_alerts_through_the_client() {
    let options = AppOptions {
        admin_token: Some("a-long-enough-admin-token".into()),
        webhooks: stockwatch::webhooks::WebhookConfig {
            allow_hosts: vec!["127.0.0.1:*".into()],
            ..Default::default()
        },
        ..AppOptions::default()
    };
    let app = spawn_app_with(options, |_| {}).await;
    let anonymous = client_of(&app);
    let admin = Client::builder(&app.address)
        .token("a-long-enough-admin-token")
        .build()
        .unwrap();
    let (tea, east) = (sku("tea"), at("east"));
    let refused = anonymous.set_stock(&tea, level(1)).await.unwrap_err();
    assert_eq!(refused.code(), Some("unauthorized"));
    assert_eq!(
        anonymous.stock(&tea).await.unwrap_err().code(),
        Some("unknown_sku"),
        "nothing was written"
    );

    admin.set_stock(&tea, level(10)).await.unwrap();
    let two = admin
        .set_location_stock(&tea, &east, level(4), Some(Priority::try_from(1).unwrap()))
        .await
        .unwrap();
    assert_eq!((two.available, two.locations.len()), (14, 2));
    let moved = admin
        .transfer(&tea, &east, &Location::default_location(), units(3))
        .await
        .unwrap();
    assert_eq!(
        moved.locations.iter().find(|l| l.location == east).unwrap().available,
        1
    );
    let counted = admin
        .adjust(&tea, &east, Correction::Counted(0), Reason::Lost)
        .await
        .unwrap();
    assert_eq!(counted.available, 13);
    let restocked = admin.restock(&tea, units(2), Some(&east)).await.unwrap();
    assert_eq!(restocked.available, 15);
    let moves = admin.movements(&tea, None).await.unwrap();
    assert_eq!(
        moves.iter().find(|m| m.kind.as_str() == "adjust").unwrap().reason,
        Some(Reason::Lost)
    );

    let scans = [
        Scan {
            id: IdempotencyKey::parse(b"dock:1").unwrap(),
            sku: tea.clone(),
            change: Change::Receive {
                quantity: units(5),
                location: Some(east.clone()),
            },
        },
        Scan {
            id: IdempotencyKey::parse(b"dock:2").unwrap(),
            sku: tea.clone(),
            change: Change::Transfer {
                from: east.clone(),
                to: Location::default_location(),
                quantity: units(500),
            },
        },
    ];
    let first = admin.record_scans(&scans).await.unwrap();
    assert_eq!(first[0].outcome.as_ref().unwrap().available, 20);
    let short = first[1].outcome.as_ref().unwrap_err();
    assert_eq!(
        (first[1].row, short.code.as_str(), short.detail_i64("available")),
        (1, "insufficient_stock", Some(7))
    );
    assert!(!short.details.contains_key("row"));
    assert_eq!(
        admin.record_scans(&scans).await.unwrap(),
        first,
        "a resent batch answers as the first"
    );
    admin
        .adjust(&tea, &east, Correction::Counted(2), Reason::CycleCount)
        .await
        .unwrap();

    // An import: rows as the CLI reads them; the second time, nothing changes.
    let rows: Vec<CatalogRow> = [
        "{\"sku\":\"mug\",\"available\":4}",
        "{\"sku\":\"cup\",\"available\":2,\"location\":\"east\"}",
    ]
    .iter()
    .map(|line| CatalogRow::from_line(line.as_bytes()).unwrap())
    .collect();
    let imported = admin.import_skus(&rows).await.unwrap();
    assert_eq!((imported.created, imported.refused.len()), (2, 0));
    let again = admin.import_skus(&rows).await.unwrap();
    assert_eq!((again.created, again.unchanged), (0, 2));
    assert_eq!(admin.stock(&Sku::parse("mug").unwrap()).await.unwrap().available, 4);

    let rules = Rules {
        low_stock_threshold: 20,
        reorder: Some((15, 50)),
    };
    let set = admin.set_alert_rules(&tea, rules).await.unwrap();
    assert_eq!((set.low_stock_threshold, set.reorder_point), (Some(20), Some(15)));
    assert_eq!(admin.alert_rules(&tea).await.unwrap(), set);
    admin.purchase(&tea, units(1), &user("bo")).await.unwrap();
    let alerts = admin.alerts(Some(&tea), None).await.unwrap();
    assert!(
        alerts
            .iter()
            .any(|a| a.kind == AlertKind::Reorder && a.quantity == Some(50)),
        "{alerts:?}"
    );
    let low = admin.low_stock(None, None).await.unwrap();
    assert_eq!(
        (low[0].sku.as_str(), low[0].available, low[0].threshold),
        ("tea", 14, 20)
    );

    let secret = secrecy::SecretString::from("a-secret-of-sixteen-plus".to_owned());
    let hook = admin
        .create_webhook("http://127.0.0.1:9/hook", &secret, &[AlertKind::LowStock])
        .await
        .unwrap();
    assert_eq!(admin.webhooks().await.unwrap(), vec![hook.clone()]);
    assert!(admin.dead_letters().await.unwrap().is_empty());
    let report = admin.replay_dead_letters(None).await.unwrap();
    assert_eq!((report.delivered, report.remaining), (0, 0));
    let gone = admin.delete_dead_letter(&format!("1-0/{}", hook.id)).await.unwrap_err();
    assert_eq!(gone.code(), Some("unknown_dead_letter"));
    admin.delete_webhook(&hook.id).await.unwrap();
    assert!(admin.webhooks().await.unwrap().is_empty());
    assert_eq!(
        admin.delete_webhook(&hook.id).await.unwrap_err().code(),
        Some("unknown_webhook")
    );
}

#[tokio::test]
async fn refusals_come_back_typed_and_are_not_retried() {
    let app = spawn_app().await;
    let client = client_of(&app);
    let (few, ada) = (sku("few"), user("ada"));
    client.set_stock(&few, level(1)).await.unwrap();
    let Error::Refused(short) = client.purchase(&few, units(5), &ada).await.unwrap_err() else {
        panic!("a refusal")
    };
    assert_eq!((short.status, short.code.as_str()), (409, "insufficient_stock"));
    assert_eq!(
        (short.detail_i64("available"), short.detail_i64("requested")),
        (Some(1), Some(5))
    );
    let missing = client.stock(&sku("nothing-here")).await.unwrap_err();
    assert_eq!(missing.code(), Some("unknown_sku"));
    assert_eq!(
        client.stock(&few).await.unwrap().available,
        1,
        "a refused take changed nothing"
    );
    let demo = client.replay(Strategy::Broken, 2, 1).await.unwrap();
    assert!(demo.is_object());
    assert!(matches!(Client::builder("ftp://x").build(), Err(Error::Invalid(_))));
    let nobody = Client::builder("http://127.0.0.1:9")
        .deadline(Duration::from_millis(300))
        .build()
        .unwrap();
    assert!(matches!(nobody.healthz().await, Err(Error::Unreachable(_))));
}

#[tokio::test]
async fn a_drop_through_the_client() {
    use stockwatch_client::domain::Timestamp;
    use stockwatch_client::{SaleUpdate, Setting};
    let app = spawn_app().await;
    let client = client_of(&app);
    let (drop, ada) = (sku("drop"), user("ada"));
    client.set_stock(&drop, level(10)).await.unwrap();
    let later = Timestamp::from_millis(4_102_444_800_000).unwrap(); // 2100-01-01
    let set = client
        .set_sale(
            &drop,
            SaleUpdate {
                opens_at: Setting::Set(later),
                per_customer_limit: Setting::Set(1),
                ..SaleUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((set.sale.opens_at, set.sale.per_customer_limit), (Some(later), Some(1)));
    assert_eq!(client.sale(&drop).await.unwrap(), set);
    assert_eq!(client.stock(&drop).await.unwrap().sale, Some(set.sale.clone()));
    let Error::Refused(early) = client.purchase(&drop, units(1), &ada).await.unwrap_err() else {
        panic!("a refusal")
    };
    assert_eq!((early.status, early.code.as_str()), (409, "not_on_sale"));
    assert!(
        early.retry_after.is_some_and(|d| d > Duration::from_secs(3600)),
        "{early:?}"
    );
    let open = SaleUpdate {
        opens_at: Setting::Clear,
        ..SaleUpdate::default()
    };
    assert_eq!(client.set_sale(&drop, open).await.unwrap().sale.opens_at, None);
    client.purchase(&drop, units(1), &ada).await.unwrap();
    let over = client.purchase(&drop, units(1), &ada).await.unwrap_err();
    assert_eq!(over.code(), Some("limit_exceeded"));
    // A waiting room: join, then buy with the admission the ticket carries.
    let (room, bob) = (sku("room"), user("bob"));
    client.set_stock(&room, level(5)).await.unwrap();
    let (status, _) = app
        .send(
            reqwest::Method::PUT,
            "/v1/skus/room/sale",
            Some(serde_json::json!({"queue": {"admit_per_s": 100, "admission_ttl_s": 60}})),
        )
        .await;
    assert_eq!(status, 200);
    let joined = client.join_queue(&room, &bob).await.unwrap();
    assert_eq!(client.join_queue(&room, &bob).await.unwrap().ticket, joined.ticket);
    let seen = client.ticket(&room, &joined.ticket).await.unwrap();
    assert_eq!(seen.state, "admitted");
    let refused = client.purchase(&room, units(1), &bob).await.unwrap_err();
    assert_eq!(refused.code(), Some("admission_required"));
    let admitted = client.with_admission(seen.admission.as_deref().unwrap());
    assert_eq!(admitted.purchase(&room, units(1), &bob).await.unwrap().remaining, 4);
}

/// A server that reaches its Redis through a proxy the test controls.
async fn proxied_app() -> (TestApp, FaultProxy) {
    let redis = TestRedis::start().await;
    let proxy = FaultProxy::start(&redis.url()).await;
    let config = store_on(&redis, |_| {}).config().clone();
    let store = stockwatch::ops::Inventory::new(stockwatch::store::Store::new(&proxy.url(), config).unwrap());
    (serve_store(redis, store, AppOptions::default()).await, proxy)
}

/// The server's transaction commits but its reply is lost: the server answers 503 (it
/// cannot know), and the client's retry, under the same key, gets the stored answer.
#[tokio::test]
async fn a_lost_exec_reply_becomes_exactly_one_order() {
    let (app, proxy) = proxied_app().await;
    let client = client_of(&app);
    let (one, ada) = (sku("one"), user("ada"));
    client.set_stock(&one, level(5)).await.unwrap();
    client.purchase(&one, units(1), &ada).await.unwrap();
    proxy.drop_reply_once(b"EXEC");
    let bought = client.purchase(&one, units(1), &ada).await.unwrap();
    assert_eq!(proxy.tripped(), 1, "the reply was lost");
    assert_eq!(bought.remaining, 3);
    assert_eq!(app.units_in_orders("one").await, 2, "one order per call");
    assert_eq!(client.stock(&one).await.unwrap().sold, 2);
}

/// Replies slower than the client's attempt timeout: each attempt gives up, the next one
/// repeats the call under its key, and however many ran, one order stands.
#[tokio::test]
async fn a_reply_slower_than_an_attempt_becomes_exactly_one_order() {
    let (app, proxy) = proxied_app().await;
    let (slow, ada) = (sku("slow"), user("ada"));
    client_of(&app).set_stock(&slow, level(5)).await.unwrap();
    let client = Client::builder(&app.address)
        .attempt_timeout(Duration::from_millis(300))
        .deadline(Duration::from_secs(20))
        .build()
        .unwrap();
    proxy.delay(Duration::from_millis(400));
    let bought = tokio::spawn({
        let (client, slow, ada) = (client.clone(), slow.clone(), ada.clone());
        async move { client.purchase(&slow, units(1), &ada).await }
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    proxy.delay(Duration::ZERO);
    let bought = bought.await.unwrap().unwrap();
    assert_eq!(bought.remaining, 4);
    assert_eq!(app.units_in_orders("slow").await, 1);
}

/// A call that runs out of time says its outcome is unknown and hands back its key;
/// resumed under it, it answers with the one order it made.
#[tokio::test]
async fn a_call_out_of_time_can_be_resumed_by_its_key() {
    let (app, proxy) = proxied_app().await;
    let (late, ada) = (sku("late"), user("ada"));
    client_of(&app).set_stock(&late, level(5)).await.unwrap();
    let hasty = Client::builder(&app.address)
        .deadline(Duration::from_millis(500))
        .build()
        .unwrap();
    proxy.delay(Duration::from_millis(1000));
    let Err(Error::Unknown { key: Some(key), .. }) = hasty.purchase(&late, units(1), &ada).await else {
        panic!("the outcome is unknown")
    };
    proxy.delay(Duration::ZERO);
    let resumed = client_of(&app)
        .resuming(key.clone())
        .purchase(&late, units(1), &ada)
        .await
        .unwrap();
    let again = client_of(&app)
        .resuming(key)
        .purchase(&late, units(1), &ada)
        .await
        .unwrap();
    assert_eq!(resumed, again, "the same answer");
    assert_eq!(app.units_in_orders("late").await, 1);
}

/// A peer that answers `503 contention` with `Retry-After: 1` to the first `refusals`
/// requests and a purchase after, recording each request's `Idempotency-Key` and arrival.
/// (Forcing a real server into 503 on cue would take a rush; the rule under test is the
/// client's.)
async fn refusing_peer(
    refusals: usize,
) -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<(String, std::time::Instant)>>>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && socket.read(&mut byte).await.unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).to_lowercase();
            let header = |name: &str| {
                head.lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
                    .unwrap_or_default()
            };
            let mut body = vec![0u8; header("content-length:").parse().unwrap_or(0)];
            socket.read_exact(&mut body).await.unwrap();
            let n = {
                let mut log = log.lock().unwrap();
                log.push((header("idempotency-key:"), std::time::Instant::now()));
                log.len()
            };
            let answer = if n <= refusals {
                let body = r#"{"error":"contention","message":"retries exhausted"}"#;
                format!(
                    "HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else {
                let body = format!(
                    r#"{{"order_id":"{}","sku":"a","quantity":1,"remaining":0,"attempts":1}}"#,
                    stockwatch::domain::OrderId::generate_in(0)
                );
                format!(
                    "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
            };
            socket.write_all(answer.as_bytes()).await.unwrap();
        }
    });
    (address, seen)
}

#[tokio::test]
async fn a_503_is_retried_after_its_retry_after_under_the_same_key() {
    let (address, seen) = refusing_peer(2).await;
    let client = Client::builder(&address).build().unwrap();
    let bought = client.purchase(&sku("a"), units(1), &user("ada")).await.unwrap();
    assert_eq!(bought.remaining, 0);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert!(
        seen[0].0.len() >= 32 && seen.iter().all(|(key, _)| *key == seen[0].0),
        "{seen:?}"
    );
    for pair in seen.windows(2) {
        assert!(
            pair[1].1 - pair[0].1 >= Duration::from_secs(1),
            "waited its Retry-After"
        );
    }
    // A Retry-After that would end past the deadline ends the call at once, refused.
    let (address, seen) = refusing_peer(usize::MAX).await;
    let hasty = Client::builder(&address)
        .deadline(Duration::from_millis(800))
        .build()
        .unwrap();
    let refused = hasty.purchase(&sku("a"), units(1), &user("ada")).await.unwrap_err();
    assert_eq!((refused.code(), seen.lock().unwrap().len()), (Some("contention"), 1));
}

#[tokio::test]
async fn an_order_after_its_sale_through_the_client() {
    use stockwatch_client::domain::{Disposition, OrderStatus, ReturnItem, ReturnItems};
    let app = spawn_app().await;
    let client = client_of(&app);
    let (lamp, erin) = (sku("lamp"), user("erin"));
    client.set_stock(&lamp, level(10)).await.unwrap();
    let kept = client.purchase(&lamp, units(4), &erin).await.unwrap();
    let lines = ReturnItems::new(vec![ReturnItem {
        sku: lamp.clone(),
        quantity: units(1),
        disposition: Disposition::Damaged,
        location: None,
    }])
    .unwrap();
    let back = client.return_order(kept.order_id, &lines).await.unwrap();
    assert_eq!(
        (back.status, back.lines[0].quantity),
        (OrderStatus::PartiallyReturned, 1)
    );
    let order = client.order(kept.order_id).await.unwrap();
    assert_eq!(
        (order.status, order.items[0].returned),
        (Some(OrderStatus::PartiallyReturned), Some(1))
    );
    assert_eq!(order.returns[0].return_id, back.return_id);
    // An order with a return cannot be cancelled; one without can, once.
    let Error::Refused(refusal) = client
        .cancel_order(kept.order_id, Disposition::Restock)
        .await
        .unwrap_err()
    else {
        panic!("refused")
    };
    assert_eq!((refusal.status, refusal.code.as_str()), (409, "order_not_cancellable"));
    let other = client.purchase(&lamp, units(2), &erin).await.unwrap();
    let cancelled = client.cancel_order(other.order_id, Disposition::Restock).await.unwrap();
    assert_eq!(cancelled.status, Some(OrderStatus::Cancelled));
    // The damaged unit passes inspection.
    let stock = client
        .adjust_damaged(&lamp, &at("default"), Correction::Delta(-1), Reason::Inspected)
        .await
        .unwrap();
    assert_eq!((stock.available, stock.sold, stock.damaged), (7, 3, 0));
    // Preorders: the shelf first, then against what is on its way.
    let (status, _) = app
        .post(
            "/v1/skus/lamp/incoming",
            serde_json::json!({"ref": "PO-9", "quantity": 5, "expected_at": "2030-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(status, 201);
    let on = client.set_preorders(&lamp, Some(Some(2))).await.unwrap();
    assert_eq!(
        (on.enabled, on.limit, on.incoming, on.preordered),
        (true, Some(2), 5, 0)
    );
    let bought = client.purchase(&lamp, units(7), &erin).await.unwrap();
    assert!(!bought.preorder);
    let ahead = client.purchase(&lamp, units(2), &erin).await.unwrap();
    assert_eq!(
        (ahead.preorder, ahead.purchase_order.as_ref().map(|r| r.as_str())),
        (true, Some("PO-9"))
    );
    assert_eq!(ahead.allocations[0].position, Some(0));
    assert_eq!(client.stock(&lamp).await.unwrap().preordered, 2);
    let off = client.set_preorders(&lamp, None).await.unwrap();
    assert_eq!((off.enabled, off.preordered), (false, 2));
}
