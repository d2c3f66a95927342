//! Catalog import and export: `POST /v1/skus/import`, `stockwatch import` and
//! `stockwatch export`, on one Redis and on a cluster.

use crate::cluster::TestCluster;
use crate::helpers::{AppOptions, TestApp, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use stockwatch::domain::{CatalogRow, Sku};
use stockwatch::ops::{self, Inventory, import};

/// The stockwatch binary on this app's Redis and prefix; returns exit code, stdout, stderr.
fn cli(app: &TestApp, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_stockwatch"))
        .args(args)
        .args([
            "--redis-url",
            &app.redis.url(),
            "--key-prefix",
            app.store.keys().prefix(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default().as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// How many movements each SKU has recorded so far (its creation and every later one).
async fn moved(app: &TestApp, skus: &[&str]) -> Vec<i64> {
    let mut out = Vec::new();
    for sku in skus {
        let (_, body) = app.get(&format!("/v1/skus/{sku}/movements?limit=1000")).await;
        out.push(body["movements"].as_array().map_or(-1, |m| m.len() as i64));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_row_is_refused_for_its_own_reason_and_the_rest_land() {
    let app = spawn_app().await;
    let body = [
        r#"{"sku":"tv","available":5}"#,
        r#"{"sku":"tv","location":"east","available":3,"priority":1}"#,
        r#"{"sku":"bad:sku","available":1}"#,
        "",
        r#"{"sku":"neg","available":-1}"#,
        r#"{"sku":"frac","available":1.5}"#,
        r#"{"sku":"col","available":1,"colour":"red"}"#,
        r#"{"sku":"half","available":1,"reorder_point":2}"#,
        r#"{"sku":"twice","available":1,"available":900}"#,
        "not json",
        r#"{"sku":"radio","available":2,"low_stock_threshold":5,"reorder_point":1,"reorder_quantity":10}"#,
    ]
    .join("\n");
    let (status, summary) = app.import(&body).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        (&summary["created"], &summary["changed"], &summary["unchanged"]),
        (&json!(2), &json!(1), &json!(0)),
        "{summary}"
    );
    let refused: Vec<(i64, &str, &str)> = summary["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_i64().unwrap(),
                r["error"].as_str().unwrap(),
                r["message"].as_str().unwrap(),
            )
        })
        .collect();
    let lines: Vec<i64> = refused.iter().map(|r| r.0).collect();
    assert_eq!(lines, [3, 5, 6, 7, 8, 9, 10], "blank line 4 is no row: {summary}");
    assert!(refused.iter().all(|r| r.1 == "invalid_request"), "{refused:?}");
    for (line, needle) in [
        (3, "sku"),
        (5, "available"),
        (6, "available"),
        (7, "colour"),
        (8, "together"),
        (9, "twice"),
        (10, "JSON"),
    ] {
        let message = refused.iter().find(|r| r.0 == line).unwrap().2;
        assert!(message.contains(needle), "line {line}: {message}");
    }
    let (_, tv) = app.get("/v1/skus/tv").await;
    assert_eq!(tv["available"], 8, "default 5 and east 3: {tv}");
    let (_, rules) = app.get("/v1/skus/radio/alerts").await;
    assert_eq!(
        (
            rules["low_stock_threshold"].as_i64(),
            rules["reorder_quantity"].as_i64()
        ),
        (Some(5), Some(10))
    );
    for gone in ["neg", "frac", "col", "half", "twice"] {
        assert_eq!(
            app.get(&format!("/v1/skus/{gone}")).await.0,
            404,
            "{gone}: a refused row changes nothing"
        );
    }
    // Importing the rules raised nothing, though radio is below its threshold.
    let (_, alerts) = app.get("/v1/alerts?sku=radio").await;
    assert_eq!(alerts["alerts"], json!([]), "{alerts}");
    assert!(app.verify().await.ok);
    // A SKU may be called `import`: GET still reads it.
    assert_eq!(app.import(r#"{"sku":"import","available":4}"#).await.0, 200);
    assert_eq!(app.get("/v1/skus/import").await.1["available"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_the_same_rows_twice_changes_nothing_the_second_time() {
    let app = spawn_app().await;
    let rows: String = (0..300)
        .map(|i| {
            format!(
                "{{\"sku\":\"r-{i:03}\",\"available\":{},\"low_stock_threshold\":2}}\n",
                i % 7
            )
        })
        .chain(
            (0..50).map(|i| format!("{{\"sku\":\"r-{i:03}\",\"location\":\"back\",\"available\":1,\"priority\":5}}\n")),
        )
        .collect();
    let (_, first) = app.import(&rows).await;
    assert_eq!(
        (&first["created"], &first["changed"], &first["refused"]),
        (&json!(300), &json!(50), &json!([]))
    );
    let skus: Vec<String> = (0..300).map(|i| format!("r-{i:03}")).collect();
    let names: Vec<&str> = skus.iter().map(String::as_str).collect();
    let before = moved(&app, &names).await;
    let (_, alerts_before) = app.get("/v1/alerts?limit=1000").await;
    let (_, second) = app.import(&rows).await;
    assert_eq!(
        (&second["created"], &second["changed"], &second["unchanged"]),
        (&json!(0), &json!(0), &json!(350)),
        "{second}"
    );
    assert_eq!(moved(&app, &names).await, before, "no movement");
    assert_eq!(app.get("/v1/alerts?limit=1000").await.1, alerts_before, "no alert");
    // The CLI reads the same rows from stdin, and agrees.
    let (code, out, err) = cli(&app, &["import", "-"], Some(&rows));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("created 0, changed 0, unchanged 350, refused 0"), "{out}");
    // One changed value changes one row.
    let (code, out, _) = cli(
        &app,
        &["import", "--json", "-"],
        Some("{\"sku\":\"r-007\",\"available\":9}\n"),
    );
    assert_eq!(code, 0);
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((&summary["changed"], &summary["unchanged"]), (&json!(1), &json!(0)));
    assert!(app.verify().await.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_refused_in_its_transaction_leaves_the_rows_around_it() {
    // Rows share transactions (up to 64 SKUs each), and one SKU's rows apply in file
    // order; a row its SKU refuses (a location past the cap) must take nothing with it.
    let app = spawn_app().await;
    let mut rows = vec![r#"{"sku":"before","available":1}"#.to_owned()];
    rows.extend((0..70).map(|i| format!(r#"{{"sku":"wide","location":"loc-{i:02}","available":1}}"#)));
    rows.push(r#"{"sku":"wide","available":9}"#.to_owned());
    rows.push(r#"{"sku":"after","available":2}"#.to_owned());
    rows.push(r#"{"sku":"after","available":3,"low_stock_threshold":5}"#.to_owned());
    let (status, summary) = app.import(&rows.join("\n")).await;
    assert_eq!(status, 200, "{summary}");
    let refused: Vec<i64> = summary["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_i64().unwrap())
        .collect();
    let wide = app.stock("wide").await;
    let places = wide["locations"].as_array().unwrap().len();
    assert!(!refused.is_empty(), "{summary}");
    // The refusals are exactly the location rows past the cap, each for the cap.
    let first = 2 + (70 - refused.len()) as i64;
    assert_eq!(refused, (first..72).collect::<Vec<_>>(), "{summary}");
    for r in summary["refused"].as_array().unwrap() {
        assert_eq!(r["error"], "invalid_request");
        assert!(r["message"].as_str().unwrap().contains("locations"), "{r}");
    }
    assert_eq!(
        places,
        1 + 70 - refused.len(),
        "default and the landed locations: {wide}"
    );
    // Rows of one SKU in file order: `wide`'s first row creates it and its last row wins,
    // as does `after`'s second.
    assert_eq!(
        (&summary["created"], &summary["changed"]),
        (&json!(3), &json!(70 - refused.len() - 1 + 2)),
        "{summary}"
    );
    assert_eq!(wide["available"], json!(9 + 70 - refused.len()), "{wide}");
    assert_eq!(app.stock("after").await["available"], 3);
    assert_eq!(app.stock("before").await["available"], 1);
    let (_, low) = app.get("/v1/alerts/low-stock").await;
    assert!(low.to_string().contains("after"), "{low}");
    assert!(app.verify().await.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_racing_purchases_on_its_skus_loses_nothing() {
    // An import's transactions watch up to 64 SKUs; buyers on some of them make the
    // transaction conflict, and (with two attempts allowed) give up, when its SKUs go one
    // by one. Every row still ends as landed or refused, SKUs no buyer touched take
    // their rows, and the books balance.
    let app = spawn_app_with(AppOptions::default(), |c| c.retry.max_attempts = 2).await;
    let skus: Vec<String> = (0..200).map(|i| format!("race-{i:03}")).collect();
    let seed: String = skus
        .iter()
        .map(|s| format!("{{\"sku\":\"{s}\",\"available\":50}}\n"))
        .collect();
    assert_eq!(app.import(&seed).await.1["created"], 200);
    let done = std::sync::atomic::AtomicBool::new(false);
    let buyers = async {
        let statuses = app
            .fire(
                "/v1/purchases?strategy=watch",
                600,
                200,
                |i| json!({"sku": format!("race-{:03}", i % 10), "quantity": 1, "user_id": format!("b-{i}")}),
            )
            .await;
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        statuses
    };
    let imports = async {
        let mut summaries = Vec::new();
        while !done.load(std::sync::atomic::Ordering::Relaxed) {
            let n = summaries.len();
            let rows: String = skus
                .iter()
                .map(|s| format!("{{\"sku\":\"{s}\",\"available\":{}}}\n", 100 + n % 2))
                .collect();
            summaries.push(app.import(&rows).await);
        }
        summaries
    };
    let (statuses, summaries) = tokio::join!(buyers, imports);
    assert!(statuses.iter().all(|s| [201, 409, 503].contains(s)), "{statuses:?}");
    assert!(!summaries.is_empty());
    for (status, summary) in &summaries {
        assert_eq!(*status, 200, "{summary}");
        let counted = ["created", "changed", "unchanged"]
            .iter()
            .map(|k| summary[k].as_u64().unwrap())
            .sum::<u64>()
            + summary["refused"].as_array().unwrap().len() as u64;
        assert_eq!(counted, 200, "{summary}");
        for r in summary["refused"].as_array().unwrap() {
            assert_eq!(r["error"], "contention", "{r}");
            assert!(
                r["line"].as_u64().unwrap() <= 10,
                "only rows of SKUs buyers touched: {r}"
            );
        }
    }
    let last = json!(100 + (summaries.len() - 1) % 2);
    for sku in &skus[10..] {
        assert_eq!(app.stock(sku).await["available"], last, "{sku}");
    }
    let metrics = app.text("/metrics").await;
    let conflicts: u64 = metrics
        .lines()
        .find(|l| l.starts_with(r#"stockwatch_txn_conflicts_total{op="set",strategy="watch"}"#))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0);
    assert!(
        conflicts > 0,
        "the import raced the buyers: {} imports",
        summaries.len()
    );
    let sold = statuses.iter().filter(|s| **s == 201).count() as i64;
    let mut in_orders = 0;
    for sku in &skus[..10] {
        in_orders += app.units_in_orders(sku).await;
    }
    assert_eq!(in_orders, sold);
    assert!(app.verify().await.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_import_into_an_empty_store_makes_the_same_catalog() {
    let shop = spawn_app().await;
    let rows = concat!(
        "{\"sku\":\"ps5\",\"available\":10,\"low_stock_threshold\":3,\"reorder_point\":2,\"reorder_quantity\":20}\n",
        "{\"sku\":\"ps5\",\"location\":\"east\",\"available\":4,\"priority\":1}\n",
        "{\"sku\":\"ps5\",\"location\":\"west\",\"available\":6,\"priority\":2,\"safety_stock\":1}\n",
        "{\"sku\":\"pad\",\"available\":7}\n",
        "{\"sku\":\"cable-1m\",\"available\":0,\"low_stock_threshold\":1}\n",
    );
    assert_eq!(shop.import(rows).await.0, 200);
    // Sales and holds move counters that are not levels; the export carries the levels.
    let (status, _) = shop
        .post("/v1/purchases", json!({"sku": "ps5", "quantity": 3, "user_id": "u"}))
        .await;
    assert_eq!(status, 201);
    shop.reserve("lua", &[("pad", 2)], 60).await;
    for format in ["ndjson", "csv"] {
        let (code, exported, err) = cli(&shop, &["export", "--format", format], None);
        assert_eq!(code, 0, "{err}");
        let empty = spawn_app().await;
        let file = tempfile::Builder::new()
            .suffix(&format!(".{format}"))
            .tempfile()
            .unwrap();
        std::fs::write(file.path(), &exported).unwrap();
        let (code, out, err) = cli(&empty, &["import", file.path().to_str().unwrap()], None);
        assert_eq!(code, 0, "{out}{err}");
        let report = empty.verify().await;
        assert!(report.ok, "{report:?}");
        let (code, again, _) = cli(&empty, &["export", "--format", format], None);
        assert_eq!(code, 0);
        assert_eq!(again, exported, "a second export is the first, byte for byte");
        for sku in ["ps5", "pad", "cable-1m"] {
            let (_, there) = shop.get(&format!("/v1/skus/{sku}")).await;
            let (_, here) = empty.get(&format!("/v1/skus/{sku}")).await;
            assert_eq!(here["available"], there["available"], "{format} {sku}");
            let levels = |s: &Value| -> Vec<(Value, Value, Value)> {
                s["locations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| (l["location"].clone(), l["available"].clone(), l["priority"].clone()))
                    .collect()
            };
            assert_eq!(levels(&here), levels(&there), "{format} {sku}");
            assert_eq!(here["safety_stock"], there["safety_stock"], "{format} {sku}");
            let (_, a) = shop.get(&format!("/v1/skus/{sku}/alerts")).await;
            let (_, b) = empty.get(&format!("/v1/skus/{sku}/alerts")).await;
            assert_eq!(a, b, "{format} {sku}");
        }
    }
    // A CSV file with a bad row: exit 1, the line named, the rest landed.
    let file = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
    std::fs::write(
        file.path(),
        "sku,available,location\nok-1,3,\nbad,-3,\nok-2,,\nok-3,4,east\n",
    )
    .unwrap();
    let (code, out, _) = cli(&shop, &["import", file.path().to_str().unwrap()], None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("line 3: invalid_request: available"), "{out}");
    assert!(out.contains("line 4: invalid_request: available is required"), "{out}");
    assert!(out.contains("created 2, changed 0, unchanged 0, refused 2"), "{out}");
    let (code, _, err) = cli(&shop, &["import", "/nonexistent/rows.ndjson"], None);
    assert_eq!(code, 2, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_and_export_work_across_a_cluster() {
    let cluster = TestCluster::start().await;
    let store: Inventory = cluster.store(|_| {});
    let rows: Vec<(u64, CatalogRow)> = (0..200)
        .map(|i| {
            let row = json!({"sku": format!("c-{i:03}"), "available": i, "low_stock_threshold": 10});
            (i + 1, CatalogRow::parse(&row).unwrap())
        })
        .collect();
    let summary = import::load(&store, rows.clone()).await.unwrap();
    assert_eq!((summary.created, summary.refused.len()), (200, 0));
    let again = import::load(&store, rows.clone()).await.unwrap();
    assert_eq!(again.unchanged, 200);
    let (mut exported, mut after) = (Vec::new(), None::<Sku>);
    loop {
        let (page, next) = ops::export::page(&store, after.as_ref()).await.unwrap();
        exported.extend(page);
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let want: Vec<CatalogRow> = rows.into_iter().map(|(_, r)| r).collect();
    assert_eq!(exported, want, "every master's SKUs, in name order");
    assert!(ops::verify(&store).await.unwrap().ok);
}
