//! `GET /v1/skus`: the catalog in name order, a page at a time, by prefix; on one Redis and
//! on a cluster; SKUs from before the catalog join it once.

use crate::cluster::TestCluster;
use crate::helpers::{TestApp, spawn_app};
use futures_util::future::join_all;
use serde_json::Value;
use std::collections::BTreeSet;
use stockwatch::domain::{Available, Limit, Sku};
use stockwatch::ops::{self, Inventory, catalog};

/// Every name `GET /v1/skus` gives, page by page of `limit`, and the number of pages.
async fn walk(app: &TestApp, query: &str, limit: usize) -> (Vec<String>, usize) {
    let (mut names, mut after, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let cursor = after.as_ref().map(|a| format!("&after={a}")).unwrap_or_default();
        let (status, page) = app.get(&format!("/v1/skus?limit={limit}{query}{cursor}")).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        names.extend(
            page["skus"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["sku"].as_str().unwrap().to_owned()),
        );
        match &page["next"] {
            Value::String(next) => after = Some(next.clone()),
            _ => return (names, pages),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_walk_while_skus_are_created_sees_each_once_and_misses_none() {
    let app = &spawn_app().await;
    join_all((0..250).map(|i| async move { app.set_stock(&format!("item-{i:03}"), i).await })).await;
    // Created while the walk goes on: they may or may not show, but never twice.
    let (walked, ()) = tokio::join!(walk(app, "", 40), async {
        join_all((0..100).map(|i| async move { app.set_stock(&format!("late-{i:03}"), 1).await })).await;
    });
    let (names, pages) = walked;
    assert!(pages >= 7, "paged: {pages}");
    assert!(names.windows(2).all(|w| w[0] < w[1]), "in name order, none twice");
    let seen: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    for i in 0..250 {
        assert!(
            seen.contains(format!("item-{i:03}").as_str()),
            "item-{i:03} was skipped"
        );
    }
    let (status, page) = app.get("/v1/skus?prefix=item-1&limit=1000").await;
    assert_eq!(status, 200);
    let listed = page["skus"].as_array().unwrap();
    assert_eq!(listed.len(), 100, "item-100 to item-199");
    assert_eq!(
        (listed[0]["sku"].clone(), listed[0]["available"].clone()),
        ("item-100".into(), 100.into())
    );
    assert_eq!(page["next"], Value::Null);
    let (_, after_prefix) = app.get("/v1/skus?prefix=item-1&after=item-198").await;
    assert_eq!(after_prefix["skus"].as_array().unwrap().len(), 1);
    for bad in [
        "limit=0",
        "limit=1001",
        "after=a:b",
        "prefix=a%20b",
        "prefix=",
        "limit=1&limit=2",
    ] {
        let (status, body) = app.get(&format!("/v1/skus?{bad}")).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn skus_from_before_the_catalog_join_it_once_and_lost_names_are_left_out() {
    let app = &spawn_app().await;
    join_all((0..30).map(|i| async move { app.set_stock(&format!("old-{i:02}"), 1).await })).await;
    // As if made by a version without the catalog.
    let keys = app.store.keys();
    let mut redis = app.redis.raw().await;
    let _: () = redis::cmd("DEL")
        .arg(keys.catalog())
        .arg(keys.catalog_page_prefix()) // the first page: its lower bound is ""
        .arg(keys.catalog_complete())
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(walk(app, "", 100).await.0.len(), 0);
    assert_eq!(catalog::backfill(&app.store).await.unwrap(), 30);
    assert_eq!(catalog::backfill(&app.store).await.unwrap(), 0, "once per store");
    // A name whose creation never got to write the SKU.
    catalog::add(&app.store, &Sku::parse("old-15a").unwrap()).await.unwrap();
    let (names, _) = walk(app, "", 7).await;
    assert_eq!(names.len(), 30);
    assert!(!names.contains(&"old-15a".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_on_a_cluster_lists_skus_of_every_master() {
    let cluster = TestCluster::start().await;
    let store: Inventory = cluster.store(|_| {});
    let names: Vec<Sku> = (0..90).map(|i| Sku::parse(&format!("c-{i:02}")).unwrap()).collect();
    join_all(
        names
            .iter()
            .map(|s| ops::set_stock(&store, s, Available::try_from(3).unwrap())),
    )
    .await;
    let (mut seen, mut after) = (Vec::new(), None::<Sku>);
    loop {
        let page = catalog::list(&store, after.as_ref(), None, Limit::try_from(25).unwrap())
            .await
            .unwrap();
        seen.extend(page.skus.iter().map(|s| s.sku.clone()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, names, "every master's SKUs, in name order");
    let slots: BTreeSet<u16> = seen
        .iter()
        .map(|s| stockwatch::keys::slot_of(s.as_str()) / 5462)
        .collect();
    assert_eq!(slots.len(), 3, "the SKUs span the masters");
}

/// Every name `catalog::names` gives, page by page of `limit`.
async fn walk_names(store: &Inventory, limit: usize) -> Vec<String> {
    let (mut all, mut after) = (Vec::new(), None::<Sku>);
    loop {
        let (page, next) = catalog::names(store, after.as_ref(), None, Limit::try_from(limit).unwrap())
            .await
            .unwrap();
        all.extend(page.into_iter().map(String::from));
        match next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
}

/// Adds (or removes) `names` in the catalog, `chunk` at a time concurrently.
async fn names_in_chunks(store: &Inventory, names: &[String], chunk: usize, add: bool) {
    for part in names.chunks(chunk) {
        join_all(part.iter().map(|n| async move {
            let sku = Sku::parse(n).unwrap();
            if add {
                catalog::add(store, &sku).await.unwrap();
            } else {
                catalog::remove(store, &sku).await.unwrap();
            }
        }))
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_split_and_empty_as_names_come_and_go_and_a_walk_stays_exact() {
    let app = spawn_app().await;
    let store = &app.store;
    // Added in a scrambled order, so every page splits somewhere in its middle.
    let mut stable: Vec<String> = (0..3000).map(|i| format!("s-{:04}", (i * 7919) % 3000)).collect();
    names_in_chunks(store, &stable, 100, true).await;
    let churn: Vec<String> = (0..1500).map(|i| format!("s-{:04}x", (i * 2) % 3000)).collect();
    // Walks in small pages while other names are added and then removed all around them.
    let (walked, ()) = tokio::join!(walk_names(store, 37), async {
        names_in_chunks(store, &churn, 50, true).await;
        names_in_chunks(store, &churn, 50, false).await;
    });
    assert!(walked.windows(2).all(|w| w[0] < w[1]), "in order, never twice");
    let seen: BTreeSet<&String> = walked.iter().collect();
    stable.sort();
    let missed: Vec<&String> = stable.iter().filter(|n| !seen.contains(n)).collect();
    assert!(missed.is_empty(), "names there for the whole walk: {missed:?}");
    // After the churn: exactly the stable names, and the pages stay small.
    assert_eq!(walk_names(store, 1000).await, stable);
    let bounds = assert_small_pages(&app, 3000).await;
    assert!(bounds >= 3000 / 120, "split into pages: {bounds}");
    // Removing every name leaves the first page's bound only.
    names_in_chunks(store, &stable, 100, false).await;
    assert!(walk_names(store, 100).await.is_empty());
    assert_eq!(page_bounds(&app).await, [""]);
}

/// The catalog directory: each page's lower bound.
async fn page_bounds(app: &TestApp) -> Vec<String> {
    let mut conn = app.redis.raw().await;
    redis::cmd("ZRANGE")
        .arg(app.store.keys().catalog())
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .unwrap()
}

/// Every catalog page holds 1 to 64 names and stays a listpack, and they hold `names` in
/// all; the number of pages.
async fn assert_small_pages(app: &TestApp, names: usize) -> usize {
    let keys = app.store.keys();
    let mut conn = app.redis.raw().await;
    let bounds = page_bounds(app).await;
    let mut total = 0;
    for low in &bounds {
        let page = format!("{}{low}", keys.catalog_page_prefix());
        let (size, encoding): (usize, String) = redis::pipe()
            .cmd("ZCARD")
            .arg(&page)
            .cmd("OBJECT")
            .arg("ENCODING")
            .arg(&page)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!((1..=64).contains(&size), "page {low:?} holds {size}");
        assert_eq!(encoding, "listpack", "page {low:?}");
        total += size;
    }
    assert_eq!(total, names, "names over all pages");
    bounds.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_added_in_bulk_fill_pages_in_runs_and_keep_them_small() {
    let app = spawn_app().await;
    let store = &app.store;
    // A first import in name order, then chunks that land between and around its names, in
    // a scrambled order, repeating some, with characters whose byte order differs from a
    // locale's (`-` 0x2d, `.` 0x2e, digits, `A`, `_` 0x5f, `a`).
    let first: Vec<String> = (0..2000).map(|i| format!("m-{i:05}")).collect();
    let marks = ["-", ".", "0", "A", "_", "a"];
    let mut later: Vec<String> = (0..3000)
        .map(|i| format!("m-{:05}{}", (i * 7919) % 2100, marks[i % marks.len()]))
        .collect();
    later.extend(["A", "_", "a", "-", "m-", "z.z"].map(String::from));
    for chunk in first
        .chunks(500)
        .chain(later.chunks(700))
        .chain(first[100..900].chunks(300))
    {
        let skus: Vec<Sku> = chunk.iter().map(|n| Sku::parse(n).unwrap()).collect();
        let refs: Vec<&Sku> = skus.iter().rev().collect();
        catalog::add_all(store, &refs).await.unwrap();
    }
    let mut all: Vec<String> = first.into_iter().chain(later).collect();
    all.sort();
    all.dedup();
    assert_eq!(walk_names(store, 333).await, all, "every name once, in byte order");
    let pages = assert_small_pages(&app, all.len()).await;
    assert!(pages >= all.len() / 64, "split into pages: {pages}");
}
