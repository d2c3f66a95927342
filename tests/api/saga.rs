//! Carts across cluster slots (the saga in `crates/ops/src/saga`), on a real 3-master cluster:
//! racing carts are all or nothing, a cross-slot reservation lives and ends as one, an
//! idempotent repeat replays, and coordinators dropped mid-saga leave only timed holds that
//! the expiry worker settles one way.

use crate::cluster::{TestCluster, cart, one_per_master, stock};
use futures_util::StreamExt;
use std::time::Duration;
use stockwatch::domain::{CartItems, IdempotencyKey, Location, Sku, Strategy, TtlSeconds, UserId};
use stockwatch::ops::Inventory;
use stockwatch::{Error, keys, ops};

fn user(i: usize) -> UserId {
    UserId::parse(&format!("u{i}").into()).unwrap()
}

/// `(available, reserved, sold)` of a SKU.
async fn levels(store: &Inventory, sku: &Sku) -> (i64, i64, i64) {
    let s = ops::get_stock(store, sku).await.unwrap();
    (s.available, s.reserved, s.sold)
}

async fn verify_clean(store: &Inventory) {
    let report = ops::verify(store).await.unwrap();
    assert!(report.ok, "{:?}", report.violations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_carts_across_masters_are_all_or_nothing() {
    let cluster = TestCluster::start().await;
    for strategy in [Strategy::Watch, Strategy::Lua] {
        let store = cluster.store(|_| {});
        let [a, b, _] = one_per_master("race");
        // Fewer of b than of a: carts that hold a and then find b short must give a back.
        stock(&store, &a, 60).await;
        stock(&store, &b, 50).await;
        let items = cart(&[(&a, 1), (&b, 1)]);
        let answers: Vec<Result<ops::Checkout, Error>> = futures_util::stream::iter(0..200)
            .map(|i| {
                let (store, items) = (store.clone(), items.clone());
                async move { ops::checkout(&store, strategy, &items, &user(i), None).await }
            })
            .buffer_unordered(200)
            .collect()
            .await;
        let mut sold = 0;
        for answer in &answers {
            match answer {
                Ok(done) => {
                    sold += 1;
                    let order = ops::get_order(&store, &done.order_id).await.unwrap();
                    assert_eq!(order.items.len(), 2, "every 201 sold both lines");
                }
                Err(Error::InsufficientStock { items, .. }) => {
                    assert!(!items.is_empty());
                    assert!(items.iter().all(|s| s.available < s.requested), "{items:?}");
                }
                Err(e) => panic!("{strategy:?}: {e}"),
            }
        }
        assert!((1..=50).contains(&sold), "{strategy:?}: {sold} carts sold");
        // All or nothing: both SKUs sold once per 201, and nothing is left held.
        assert_eq!(levels(&store, &a).await, (60 - sold, 0, sold), "{strategy:?}");
        assert_eq!(levels(&store, &b).await, (50 - sold, 0, sold), "{strategy:?}");
        verify_clean(&store).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_across_masters_lives_and_ends_as_one() {
    let cluster = TestCluster::start().await;
    let store = cluster.store(|_| {});
    let [a, b, c] = one_per_master("resv");
    for sku in [&a, &b, &c] {
        stock(&store, sku, 10).await;
    }
    let items = cart(&[(&a, 2), (&b, 3), (&c, 1)]);
    let ttl = |s: u64| TtlSeconds::parse(Some(&s.into())).unwrap();
    let buyer = user(1);
    let reserve = |ttl| ops::reserve(&store, Strategy::Watch, &items, &buyer, ttl, None);

    // Held on three masters, read as one reservation; extended; confirmed into one order.
    let held = reserve(ttl(60)).await.unwrap();
    assert_eq!(held.items.len(), 3);
    assert_eq!(levels(&store, &b).await, (7, 3, 0));
    let extended = ops::extend(&store, &held.reservation_id, ttl(120), None).await.unwrap();
    assert!(extended.expires_at > held.expires_at);
    let confirmed = ops::confirm(&store, &held.reservation_id, None).await.unwrap();
    let order = ops::get_order(&store, &confirmed.order_id).await.unwrap();
    assert_eq!(order.items.len(), 3);
    assert_eq!(levels(&store, &a).await, (8, 0, 2));
    assert_eq!(levels(&store, &c).await, (9, 0, 1));
    let again = ops::confirm(&store, &held.reservation_id, None).await;
    assert!(matches!(again, Err(Error::ReservationNotActive { .. })), "{again:?}");

    // Cancelled: every master gets its units back.
    let held = reserve(ttl(60)).await.unwrap();
    let cancelled = ops::cancel(&store, &held.reservation_id, None).await.unwrap();
    assert_eq!(cancelled.status.as_str(), "cancelled");
    assert_eq!(levels(&store, &b).await, (7, 0, 3));

    // Lapsed: the expiry worker ends the reservation and releases every part, once.
    let held = reserve(ttl(1)).await.unwrap();
    assert_eq!(levels(&store, &c).await, (8, 1, 1));
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    stockwatch::expiry::sweep(&store, &Default::default()).await.unwrap();
    let resv = ops::get_reservation(&store, &held.reservation_id).await.unwrap();
    assert_eq!(resv.status.as_str(), "expired");
    for (sku, left) in [(&a, (8, 0, 2)), (&b, (7, 0, 3)), (&c, (9, 0, 1))] {
        assert_eq!(levels(&store, sku).await, left, "{sku}");
    }
    let late = ops::confirm(&store, &held.reservation_id, None).await;
    assert!(matches!(late, Err(Error::ReservationNotActive { .. })), "{late:?}");
    verify_clean(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_cart_across_masters_replays_its_first_answer() {
    let cluster = TestCluster::start().await;
    let store = cluster.store(|_| {});
    let [a, b, _] = one_per_master("idem");
    stock(&store, &a, 5).await;
    stock(&store, &b, 1).await;
    let key = |k: &str| ops::Idempotency::new(IdempotencyKey::parse(k.as_bytes()).unwrap(), &["cart"]);
    let items = cart(&[(&a, 1), (&b, 1)]);
    let first = ops::checkout(&store, Strategy::Watch, &items, &user(1), Some(&key("k1")))
        .await
        .unwrap();
    let again = ops::checkout(&store, Strategy::Lua, &items, &user(1), Some(&key("k1")))
        .await
        .unwrap();
    assert_eq!(first.order_id, again.order_id);
    assert_eq!(levels(&store, &a).await, (4, 0, 1));
    // A refusal is remembered too: after a restock, the repeat still gets its 409.
    let short = cart(&[(&a, 1), (&b, 2)]);
    let refused = ops::checkout(&store, Strategy::Watch, &short, &user(1), Some(&key("k2"))).await;
    assert!(matches!(refused, Err(Error::InsufficientStock { .. })), "{refused:?}");
    stock(&store, &b, 10).await;
    let repeat = ops::checkout(&store, Strategy::Watch, &short, &user(1), Some(&key("k2"))).await;
    assert!(matches!(repeat, Err(Error::InsufficientStock { .. })), "{repeat:?}");
    assert_eq!(levels(&store, &a).await, (4, 0, 1), "the refusals held nothing");
    // An unknown SKU anywhere refuses the whole cart.
    let ghost = Sku::parse("ghost-sku").unwrap();
    let unknown = ops::checkout(&store, Strategy::Watch, &cart(&[(&a, 1), (&ghost, 1)]), &user(1), None).await;
    assert!(matches!(unknown, Err(Error::UnknownSku { .. })), "{unknown:?}");
    assert_eq!(levels(&store, &a).await, (4, 0, 1));
    verify_clean(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn coordinators_dropped_mid_saga_leave_only_timed_holds() {
    let cluster = TestCluster::start().await;
    let store = cluster.store(|c| c.saga_hold = Duration::from_millis(800));
    let [a, b, c] = one_per_master("crash");
    for sku in [&a, &b, &c] {
        stock(&store, sku, 1_000).await;
    }
    let items = cart(&[(&a, 1), (&b, 2), (&c, 3)]);
    // Each coordinator is dropped after a few hundred microseconds to a few milliseconds:
    // some before any hold, some between holds, some around the commit, some after it.
    let answered: Vec<Option<stockwatch::domain::OrderId>> = futures_util::stream::iter(0..300u64)
        .map(|i| {
            let (store, items) = (store.clone(), items.clone());
            async move {
                let cut = Duration::from_micros(500 + (i * 7919) % 300_000);
                let buyer = user(i as usize);
                let call = ops::checkout(&store, Strategy::Watch, &items, &buyer, None);
                match tokio::time::timeout(cut, call).await {
                    Ok(Ok(done)) => Some(done.order_id),
                    Ok(Err(e)) => panic!("{e}"),
                    Err(_) => None,
                }
            }
        })
        .buffer_unordered(100)
        .collect()
        .await;
    let held = levels(&store, &a).await.1 + levels(&store, &b).await.1;
    assert!(
        held > 0,
        "some coordinators died holding stock, or the test proves nothing"
    );
    tokio::time::sleep(Duration::from_millis(900)).await;
    stockwatch::expiry::sweep(&store, &Default::default()).await.unwrap();
    // Nothing held, and every order has all three lines: as many sold of each, in ratio.
    let (sold_a, sold_b, sold_c) = (
        levels(&store, &a).await,
        levels(&store, &b).await,
        levels(&store, &c).await,
    );
    assert_eq!((sold_a.1, sold_b.1, sold_c.1), (0, 0, 0), "nothing left held");
    let n = sold_a.2;
    assert_eq!((sold_b.2, sold_c.2), (2 * n, 3 * n), "no cart half sold");
    let answered: Vec<_> = answered.into_iter().flatten().collect();
    assert!(answered.len() as i64 <= n, "every 201 is a sale");
    for id in &answered {
        assert_eq!(ops::get_order(&store, id).await.unwrap().items.len(), 3);
    }
    let report = ops::verify(&store).await.unwrap();
    assert!(report.ok, "{:?}", report.violations);
    assert_eq!(report.orders as i64, n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cart_in_one_slot_stays_one_transaction() {
    let cluster = TestCluster::start().await;
    let store = cluster.store(|_| {});
    let [a, _, _] = one_per_master("twin");
    let twin = (0..)
        .map(|n| Sku::parse(&format!("twin-{n}")).unwrap())
        .find(|s| keys::slot_of(s.as_str()) == keys::slot_of(a.as_str()) && s != &a)
        .unwrap();
    stock(&store, &a, 5).await;
    stock(&store, &twin, 5).await;
    let items: CartItems = cart(&[(&a, 2), (&twin, 3)]);
    let sold = ops::checkout(&store, Strategy::Watch, &items, &user(1), None)
        .await
        .unwrap();
    assert_eq!(sold.order_id.slot(), keys::slot_of(a.as_str()));
    // One step: no hold was made on the way (a saga's parts are reservations).
    assert_eq!(ops::verify(&store).await.unwrap().reservations, 0);
    verify_clean(&store).await;
}

/// `(location, available, reserved, sold)` of each location shown, in draw order.
async fn places(store: &Inventory, sku: &Sku) -> Vec<(String, i64, i64, i64)> {
    let s = ops::get_stock(store, sku).await.unwrap();
    s.locations
        .iter()
        .map(|l| (l.location.to_string(), l.available, l.reserved, l.sold))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cart_across_masters_draws_from_locations_and_alerts_once() {
    let cluster = TestCluster::start().await;
    let store = cluster.store(|_| {});
    let [a, b, _] = one_per_master("loc");
    let at = |n: i64| stockwatch::domain::Available::parse(&n.into(), "available").unwrap();
    let first = |p: i64| Some(stockwatch::domain::Priority::parse(&p.into(), "priority").unwrap());
    let (east, west) = (
        stockwatch::domain::Location::parse("east", "l").unwrap(),
        stockwatch::domain::Location::parse("west", "l").unwrap(),
    );
    for sku in [&a, &b] {
        ops::set_location_stock(&store, sku, &east, at(2), first(1), None)
            .await
            .unwrap();
        ops::set_location_stock(&store, sku, &west, at(10), first(2), None)
            .await
            .unwrap();
        let rules = ops::level::Rules {
            low_stock_threshold: Some(10),
            ..Default::default()
        };
        ops::alerts::set_rules(&store, sku, rules).await.unwrap();
    }
    let drawn = |e: i64, w: i64| {
        vec![
            ops::level::Allocation::at(Location::parse("east", "l").unwrap(), e),
            ops::level::Allocation::at(Location::parse("west", "l").unwrap(), w),
        ]
    };
    for strategy in [Strategy::Watch, Strategy::Lua] {
        let items = cart(&[(&a, 3), (&b, 3)]);
        let held = ops::reserve(
            &store,
            strategy,
            &items,
            &user(1),
            TtlSeconds::parse(Some(&60.into())).unwrap(),
            None,
        )
        .await
        .unwrap();
        // Each part drew from its own SKU's locations, in its own slot; the parent shows it.
        assert!(
            held.items.iter().all(|l| l.allocations == drawn(2, 1)),
            "{strategy:?}: {held:?}"
        );
        let resv = ops::get_reservation(&store, &held.reservation_id).await.unwrap();
        assert!(resv.items.iter().all(|l| l.allocations == drawn(2, 1)), "{resv:?}");
        assert_eq!(
            places(&store, &a).await,
            [("east".into(), 0, 2, 0), ("west".into(), 9, 1, 0)]
        );
        ops::cancel(&store, &held.reservation_id, None).await.unwrap();
        assert_eq!(
            places(&store, &b).await,
            [("east".into(), 2, 0, 0), ("west".into(), 10, 0, 0)]
        );
    }
    let sold = ops::checkout(&store, Strategy::Lua, &cart(&[(&a, 4), (&b, 4)]), &user(2), None)
        .await
        .unwrap();
    let order = ops::get_order(&store, &sold.order_id).await.unwrap();
    assert!(order.items.iter().all(|l| l.allocations == drawn(2, 2)), "{order:?}");
    // Each hold took 12 to 9, below 10, and its cancel brought it back; the sale took it to 8.
    for sku in [&a, &b] {
        let limit = stockwatch::domain::Limit::parse(Some("100")).unwrap();
        let list = ops::alerts::list_alerts(&store, Some(sku), limit).await.unwrap();
        let kinds: Vec<&str> = list.alerts.iter().rev().map(|a| a.kind.as_str()).collect();
        assert_eq!(
            kinds,
            ["low_stock", "back_in_stock", "low_stock", "back_in_stock", "low_stock"],
            "{sku}"
        );
    }
    verify_clean(&store).await;
}
