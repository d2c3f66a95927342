//! On a real 3-master Redis Cluster (started here, killed on drop): rushes sell exactly the
//! stock on every strategy, records are found from their ids, holds on every master expire
//! (and answer before their expiry schedule is written), and `verify` scans every master.

use crate::helpers::{eventually, fresh_prefix, schedule_entry};
use stockwatch::domain::{Available, CartItems, Quantity, Sku, Strategy, TtlSeconds, UserId};
use stockwatch::managed::redis_cluster::ManagedCluster;
use stockwatch::ops::Inventory;
use stockwatch::store::Target;
use stockwatch::{Error, Store, StoreConfig, keys, ops};

/// A cluster in a temp dir; both are removed when dropped.
pub struct TestCluster {
    pub cluster: ManagedCluster,
    _dir: tempfile::TempDir,
}

impl TestCluster {
    pub async fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("sw-cluster")
            .tempdir()
            .expect("temp dir");
        let cluster = ManagedCluster::start(dir.path(), 3, None)
            .await
            .unwrap_or_else(|e| panic!("cluster: {e}"));
        Self { cluster, _dir: dir }
    }

    pub fn store(&self, tweak: impl FnOnce(&mut StoreConfig)) -> Inventory {
        let mut config = StoreConfig {
            key_prefix: fresh_prefix(),
            // The suite shares two cores with every other test's servers; a racing test's
            // script can wait its turn longer than the production default of 2 s. Tests of
            // timeouts set their own.
            response_timeout: std::time::Duration::from_secs(10),
            ..StoreConfig::default()
        };
        tweak(&mut config);
        Inventory::new(Store::connect(&Target::Cluster(self.cluster.seeds()), config).expect("store"))
    }
}

/// A SKU whose slot lies in `range` (redis-cli gives each of 3 masters a third of the slots,
/// in order), so a test can put work on a chosen master.
pub(crate) fn sku_in(range: std::ops::Range<u16>, name: &str) -> Sku {
    (0..)
        .map(|n| Sku::parse(&format!("{name}-{n}")).unwrap())
        .find(|sku| range.contains(&keys::slot_of(sku.as_str())))
        .unwrap()
}

/// A connection to the node on `port`, and its node id.
pub(crate) async fn node(port: u16) -> (redis::aio::MultiplexedConnection, String) {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    // Long enough for a WAIT on a replica still catching up.
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(std::time::Duration::from_secs(10)));
    let mut conn = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .unwrap();
    let id: String = redis::cmd("CLUSTER").arg("MYID").query_async(&mut conn).await.unwrap();
    (conn, id)
}

/// The port of the master serving `slot`, from any node's `CLUSTER SLOTS`.
pub(crate) async fn owner(port: u16, slot: u16) -> u16 {
    owner_in_view(port, slot)
        .await
        .unwrap_or_else(|| panic!("slot {slot} unowned"))
}

/// The port of the master serving `slot` in the view of the node on `port`, if that view
/// has one (a node drops a failed master's slots until it learns of the new master).
pub(crate) async fn owner_in_view(port: u16, slot: u16) -> Option<u16> {
    let (mut conn, _) = node(port).await;
    let ranges: Vec<redis::Value> = redis::cmd("CLUSTER").arg("SLOTS").query_async(&mut conn).await.unwrap();
    for range in ranges {
        let redis::Value::Array(parts) = range else { continue };
        let num = |v: &redis::Value| redis::from_redis_value::<i64>(v.clone()).unwrap();
        if (num(&parts[0])..=num(&parts[1])).contains(&i64::from(slot)) {
            let redis::Value::Array(master) = &parts[2] else {
                panic!("no master")
            };
            return Some(num(&master[1]) as u16);
        }
    }
    None
}

/// Sets a SKU's stock.
pub(crate) async fn stock(store: &Inventory, sku: &Sku, available: i64) {
    let available = Available::parse(&available.into(), "available").unwrap();
    ops::set_stock(store, sku, available).await.unwrap();
}

/// A cart of these lines.
pub(crate) fn cart(lines: &[(&Sku, u64)]) -> CartItems {
    let items: Vec<_> = lines
        .iter()
        .map(|(sku, q)| serde_json::json!({"sku": sku.as_str(), "quantity": q}))
        .collect();
    CartItems::parse(Some(&serde_json::Value::from(items))).unwrap()
}

/// One SKU on each master.
pub(crate) fn one_per_master(name: &str) -> [Sku; 3] {
    [
        sku_in(0..5461, name),
        sku_in(5461..10923, name),
        sku_in(10923..16384, name),
    ]
}

/// Buyers in flight at once.
const IN_FLIGHT: usize = 300;

pub(crate) async fn rush(
    store: &Inventory,
    strategy: Strategy,
    sku: &Sku,
    buyers: usize,
    stock: i64,
) -> (usize, usize) {
    self::stock(store, sku, stock).await;
    // Hundreds in flight at once (a busy shop's front end), through every buyer.
    use futures_util::StreamExt;
    let answers: Vec<bool> = futures_util::stream::iter(0..buyers)
        .map(|i| {
            let (store, sku) = (store.clone(), sku.clone());
            async move {
                let user = UserId::parse(&format!("u{i}").into()).unwrap();
                match ops::purchase(
                    &store,
                    strategy,
                    &sku,
                    Quantity::parse(&1.into(), "q").unwrap(),
                    &user,
                    None,
                )
                .await
                {
                    Ok(p) => {
                        // Every 201 is a sale: its order is found from its id alone.
                        let order = ops::get_order(&store, &p.order_id).await.unwrap();
                        assert_eq!(order.items[0].sku.as_str(), sku.as_str());
                        true
                    }
                    Err(Error::InsufficientStock { .. } | Error::Contention { .. }) => false,
                    Err(e) => panic!("{strategy:?}: {e}"),
                }
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let sold = answers.iter().filter(|sold| **sold).count();
    (sold, answers.len() - sold)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rushes_on_a_cluster_sell_exactly_the_stock() {
    let cluster = TestCluster::start().await;
    for (strategy, batching) in [(Strategy::Watch, true), (Strategy::Watch, false), (Strategy::Lua, true)] {
        let store = cluster.store(|c| c.batching = batching);
        let [a, b, c] = one_per_master("hot");
        // 500 buyers for 100 units, and 10,000 for 1,000, on SKUs of different masters.
        let (sold, refused) = rush(&store, strategy, &a, 500, 100).await;
        assert_eq!((sold, sold + refused), (100, 500), "{strategy:?} batching {batching}");
        let (sold, _) = rush(&store, strategy, &b, 10_000, 1_000).await;
        assert_eq!(sold, 1_000, "{strategy:?} batching {batching}");
        let (sold, _) = rush(&store, strategy, &c, 2_000, 300).await;
        assert_eq!(sold, 300, "{strategy:?} batching {batching}");
        for (sku, left) in [(&a, 0), (&b, 0), (&c, 0)] {
            let stock = ops::get_stock(&store, sku).await.unwrap();
            assert_eq!(stock.available, left, "{sku}");
        }
        let report = ops::verify(&store).await.unwrap();
        assert!(report.ok, "{:?}", report.violations);
        assert_eq!(report.orders, 1_400, "verify read every master's orders");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_on_every_master_expire_and_the_rest_is_found_by_id() {
    let cluster = TestCluster::start().await;
    let store = cluster.store(|_| {});
    let skus = one_per_master("held");
    let user = UserId::parse(&"u".into()).unwrap();
    let mut kept = Vec::new();
    for sku in &skus {
        stock(&store, sku, 10).await;
        for strategy in [Strategy::Watch, Strategy::Lua] {
            let items = CartItems::single(sku.clone(), Quantity::parse(&2.into(), "q").unwrap());
            let ttl = TtlSeconds::parse(Some(&1.into())).unwrap();
            let held = ops::reserve(&store, strategy, &items, &user, ttl, None).await.unwrap();
            assert_eq!(held.reservation_id.slot(), keys::slot_of(sku.as_str()));
            kept.push(held.reservation_id);
        }
    }
    for sku in &skus {
        assert_eq!(ops::get_stock(&store, sku).await.unwrap().reserved, 4);
    }
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let swept = stockwatch::expiry::sweep(&store, &Default::default()).await.unwrap();
    assert_eq!(swept.released, 6, "{swept:?}");
    for sku in &skus {
        let stock = ops::get_stock(&store, sku).await.unwrap();
        assert_eq!((stock.available, stock.reserved), (10, 0), "{sku}");
    }
    for id in &kept {
        let resv = ops::get_reservation(&store, id).await.unwrap();
        assert_eq!(resv.status.as_str(), "expired");
    }
    let report = ops::verify(&store).await.unwrap();
    assert!(report.ok, "{:?}", report.violations);
    assert_eq!(report.reservations, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_purchase_replays_on_its_own_master() {
    let cluster = TestCluster::start().await;
    let store = cluster.store(|_| {});
    let user = UserId::parse(&"u".into()).unwrap();
    let [a, b, _] = one_per_master("idem");
    for sku in [&a, &b] {
        stock(&store, sku, 5).await;
    }
    let one = Quantity::parse(&1.into(), "q").unwrap();
    let key = |k: &str, parts: &[&str]| {
        ops::Idempotency::new(stockwatch::domain::IdempotencyKey::parse(k.as_bytes()).unwrap(), parts)
    };
    let first = ops::purchase(&store, Strategy::Watch, &a, one, &user, Some(&key("k1", &["a"])))
        .await
        .unwrap();
    let again = ops::purchase(&store, Strategy::Lua, &a, one, &user, Some(&key("k1", &["a"])))
        .await
        .unwrap();
    assert_eq!(first.order_id, again.order_id);
    // The same key for a purchase on another master's SKU is caught by the claim.
    let reused = ops::purchase(&store, Strategy::Watch, &b, one, &user, Some(&key("k1", &["b"]))).await;
    assert!(matches!(reused, Err(Error::IdempotencyKeyReused)), "{reused:?}");
    assert_eq!(ops::get_stock(&store, &a).await.unwrap().available, 4);
    assert_eq!(ops::get_stock(&store, &b).await.unwrap().available, 5);
    store.ping().await.expect("readiness: cluster_state:ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_batches_per_slot_when_buyers_spread_over_many_skus() {
    let cluster = TestCluster::start().await;
    let store = cluster.store(|c| c.batching = true);
    let skus: Vec<Sku> = (0..40).map(|n| Sku::parse(&format!("flat-{n}")).unwrap()).collect();
    for sku in &skus {
        stock(&store, sku, 10).await;
    }
    // 400 buyers at once over 40 SKUs in ~40 slots: one mixed batch would be CROSSSLOT.
    use futures_util::StreamExt;
    let one = Quantity::parse(&1.into(), "q").unwrap();
    let answers: Vec<Result<ops::Purchase, Error>> = futures_util::stream::iter(0..400)
        .map(|i| {
            let (store, sku) = (store.clone(), skus[i % skus.len()].clone());
            let user = UserId::parse(&format!("u{i}").into()).unwrap();
            async move { ops::purchase(&store, Strategy::Watch, &sku, one, &user, None).await }
        })
        .buffer_unordered(400)
        .collect()
        .await;
    let failed: Vec<_> = answers.iter().filter_map(|a| a.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{} failed, first: {:?}",
        failed.len(),
        failed.first()
    );
    for sku in &skus {
        assert_eq!(ops::get_stock(&store, sku).await.unwrap().available, 0, "{sku}");
    }
    let report = ops::verify(&store).await.unwrap();
    assert!(report.ok, "{:?}", report.violations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_workers_on_a_cluster_release_each_hold_once() {
    let cluster = TestCluster::start().await;
    let store = cluster.store(|_| {});
    let skus = one_per_master("thrice");
    let user = UserId::parse(&"u".into()).unwrap();
    let one = Quantity::parse(&1.into(), "q").unwrap();
    let ttl = TtlSeconds::parse(Some(&1.into())).unwrap();
    for sku in &skus {
        stock(&store, sku, 100).await;
        for _ in 0..100 {
            let items = CartItems::single(sku.clone(), one);
            ops::reserve(&store, Strategy::Lua, &items, &user, ttl, None)
                .await
                .unwrap();
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    // Three workers with connections of their own, sweeping at once.
    let prefix = store.keys().prefix().to_owned();
    let workers = (0..3).map(|_| {
        let worker = cluster.store(|c| c.key_prefix = prefix.clone());
        async move { stockwatch::expiry::sweep(&worker, &Default::default()).await.unwrap() }
    });
    let swept = futures_util::future::join_all(workers).await;
    let released: u64 = swept.iter().map(|s| s.released as u64).sum();
    assert_eq!(released, 300, "each hold released by exactly one worker: {swept:?}");
    for sku in &skus {
        let level = ops::get_stock(&store, sku).await.unwrap();
        assert_eq!((level.available, level.reserved), (100, 0), "{sku}");
        let limit = stockwatch::domain::Limit::parse(Some("1000")).unwrap();
        let moves = ops::movements(&store, sku, limit).await.unwrap();
        let expired = moves
            .movements
            .iter()
            .filter(|m| m.kind == stockwatch::domain::EntryKind::Expire)
            .count();
        assert_eq!(expired, 100, "{sku}: one expire movement per hold");
    }
    let report = ops::verify(&store).await.unwrap();
    assert!(report.ok, "{:?}", report.violations);
}

/// The expiry schedule is a hint, written after a hold commits, and the hold's answer does
/// not wait for it: with the schedule's master paused for writes (reads go on), a hold on
/// another master answers while the schedule still shows the earlier deadline; once the
/// pause ends the schedule catches up, and a sweep of due slots alone releases the hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_answers_before_its_schedule_write_lands() {
    let cluster = TestCluster::start().await;
    // Long enough that a hold waiting for the schedule would wait out the whole pause.
    let store = cluster.store(|c| c.response_timeout = std::time::Duration::from_secs(30));
    let ports = cluster.cluster.ports();
    let due = store.keys().expiry_due();
    let paused = owner(ports[0], keys::slot_of(&due)).await;
    let mut elsewhere = None;
    for sku in one_per_master("unpaused") {
        if owner(ports[0], keys::slot_of(sku.as_str())).await != paused {
            elsewhere = Some(sku);
        }
    }
    let sku = elsewhere.expect("a SKU off the schedule's master");
    let slot = keys::slot_of(sku.as_str());
    stock(&store, &sku, 10).await;
    let user = UserId::parse(&"u".into()).unwrap();
    let items = CartItems::single(sku.clone(), Quantity::parse(&1.into(), "q").unwrap());
    let hold = |ttl: u64| {
        let ttl = TtlSeconds::parse(Some(&ttl.into())).unwrap();
        ops::reserve(&store, Strategy::Watch, &items, &user, ttl, None)
    };
    // The first hold lists the slot for the workers and schedules it a minute ahead.
    let first = hold(60).await.unwrap();
    let (mut conn, _) = node(paused).await;
    let five = std::time::Duration::from_secs(5);
    let first_due = Some(first.expires_at);
    eventually(five, async || schedule_entry(&mut conn, &due, slot).await == first_due).await;
    let entry = schedule_entry(&mut conn, &due, slot).await;
    assert_eq!(entry, Some(first.expires_at), "the first hold's schedule entry");

    let pause = redis::cmd("CLIENT").arg("PAUSE").arg(20_000).arg("WRITE").to_owned();
    let _: () = pause.query_async(&mut conn).await.unwrap();
    let second = hold(1).await;
    let still = schedule_entry(&mut conn, &due, slot).await;
    let _: () = redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query_async(&mut conn)
        .await
        .unwrap();
    let second = second.unwrap();
    assert_eq!(still, Some(first.expires_at), "answered only after the schedule write");
    let second_due = Some(second.expires_at);
    eventually(five, async || schedule_entry(&mut conn, &due, slot).await == second_due).await;
    let entry = schedule_entry(&mut conn, &due, slot).await;
    assert_eq!(entry, Some(second.expires_at), "the schedule caught up after the pause");

    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let swept = stockwatch::expiry::sweep_due(&store, &Default::default())
        .await
        .unwrap();
    assert_eq!(swept.released, 1, "{swept:?}");
    let level = ops::get_stock(&store, &sku).await.unwrap();
    assert_eq!((level.available, level.reserved), (9, 1));
}
