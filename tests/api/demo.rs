//! `stockwatch demo race`, run as a user would: the side-by-side rush (table and `--json`)
//! and the step-by-step replay (`--interleave`), which must not change between runs; and
//! `stockwatch demo bots`, bots against people in a drop limited per customer.

use crate::helpers::TestRedis;
use serde_json::Value;

fn demo(redis: &TestRedis, args: &[&str]) -> String {
    demo_of(redis, "race", args)
}

fn demo_of(redis: &TestRedis, which: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stockwatch"))
        .args(["demo", which])
        .args(args)
        .env("REDIS_URL", redis.url())
        .env("RUST_LOG", "warn")
        .output()
        .expect("stockwatch runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_race_shows_broken_overselling_and_the_others_exact() {
    let redis = TestRedis::start().await;
    let json: Value = serde_json::from_str(&demo(&redis, &["--json"])).unwrap();
    let results = json["results"].as_array().unwrap();
    let names: Vec<&str> = results.iter().map(|r| r["strategy"].as_str().unwrap()).collect();
    assert_eq!(names, ["broken", "watch", "lua"]);
    for r in results {
        for field in [
            "orders",
            "final_stock",
            "oversold",
            "attempts",
            "conflicts",
            "elapsed_ms",
        ] {
            assert!(r[field].is_i64() || r[field].is_u64(), "{field} missing in {r}");
        }
        // What was sold is consistent with what is left, whatever the strategy.
        assert_eq!(
            r["orders"].as_i64().unwrap() + r["final_stock"].as_i64().unwrap(),
            100,
            "{r}"
        );
        // Who won, and the stock over time, ending where Redis ended.
        let fairness = &r["fairness"];
        assert!(
            fairness["out_of_order"]
                .as_f64()
                .is_some_and(|x| (0.0..=1.0).contains(&x)),
            "{r}"
        );
        assert!(fairness["max_attempts"].as_u64().unwrap() >= 1);
        let buckets = r["timeline"]["buckets"].as_array().unwrap();
        assert_eq!(r["timeline"]["start_available"], 100);
        assert_eq!(buckets.last().unwrap()["available"], r["final_stock"], "{r}");
        let commits: i64 = buckets.iter().map(|b| b["commits"].as_i64().unwrap()).sum();
        assert_eq!(commits, r["orders"].as_i64().unwrap());
    }
    let (broken, watch, lua) = (&results[0], &results[1], &results[2]);
    assert!(broken["oversold"].as_i64().unwrap() > 0, "{broken}");
    assert!(broken["final_stock"].as_i64().unwrap() < 0);
    for exact in [watch, lua] {
        assert_eq!(
            (exact["orders"].as_i64(), exact["oversold"].as_i64()),
            (Some(100), Some(0)),
            "{exact}"
        );
        assert_eq!(exact["refused"], 400);
    }
    // Textbook WATCH (no group commit): 500 buyers of one SKU conflict, and retry.
    assert!(watch["conflicts"].as_u64().unwrap() > 0);
    assert!(watch["attempts"].as_u64().unwrap() > 500);
    assert_eq!(
        (lua["attempts"].as_u64(), lua["conflicts"].as_u64()),
        (Some(500), Some(0))
    );

    let table = demo(&redis, &["--buyers", "60", "--stock", "20", "--strategy", "watch,lua"]);
    assert!(table.contains("60 buyers, 20 units"), "{table}");
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| matches!(l.split_whitespace().next(), Some("watch" | "lua")))
        .collect();
    // The effort table, then who won.
    assert_eq!(rows.len(), 4, "{table}");
    assert!(
        table.contains("out_of_order") && table.contains("max_attempts"),
        "{table}"
    );
    for row in &rows[2..] {
        let out_of_order: f64 = row.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!((0.0..=1.0).contains(&out_of_order), "{row}");
    }
    for row in &rows[..2] {
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            (cols[1], cols[4], cols[5]),
            ("20", "0", "0"),
            "orders, final stock, oversold: {row}"
        );
    }
}

/// `--plot` draws the race: a line per strategy, broken's reaching below zero, and the
/// effort panel, with every legend entry beside the chart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_race_can_be_drawn() {
    let redis = TestRedis::start().await;
    let dir = tempfile::tempdir().unwrap();
    let svg_path = dir.path().join("race.svg");
    let json: Value = serde_json::from_str(&demo(
        &redis,
        &[
            "--buyers",
            "120",
            "--stock",
            "30",
            "--json",
            "--plot",
            svg_path.to_str().unwrap(),
        ],
    ))
    .unwrap();
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..100.min(svg.len())]);
    let broken = &json["results"][0];
    let lowest = broken["final_stock"].as_i64().unwrap();
    assert!(lowest < 0, "{broken}");
    for label in [
        format!("broken: lowest {lowest}"),
        "watch: lowest 0".into(),
        "lua: lowest 0".into(),
        "available stock".into(),
        "conflicts (dashed)".into(),
        format!("watch: {} conflicts", json["results"][1]["conflicts"]),
    ] {
        assert!(svg.contains(&label), "{label} missing from the plot");
    }
}

/// The replay without its one varying part (the time it took).
fn without_timing(out: &str) -> String {
    out.lines()
        .map(|l| l.split("(took").next().unwrap().trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_interleaving_replays_the_same_on_every_run() {
    let redis = TestRedis::start().await;
    let first = demo(&redis, &["--interleave"]);
    for _ in 0..2 {
        assert_eq!(without_timing(&demo(&redis, &["--interleave"])), without_timing(&first));
    }
    assert!(
        first.contains("result: 2 orders, available -1, sold 2, oversold 1"),
        "{first}"
    );
    assert!(
        first.contains("result: 1 order, available 0, sold 0") || first.contains("available 0, sold 1, oversold 0")
    );

    let json: Value = serde_json::from_str(&demo(&redis, &["--interleave", "--json"])).unwrap();
    let replays = json["replays"].as_array().unwrap();
    let (broken, watch) = (&replays[0], &replays[1]);
    let steps = |r: &Value| -> Vec<(String, String, String)> {
        r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let cmd = s["command"].as_str().unwrap();
                let verb = cmd.split_whitespace().next().unwrap().to_owned();
                (
                    s["buyer"].as_str().unwrap().to_owned(),
                    verb,
                    s["reply"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    // broken: both read 1 before either writes; both EXECs commit; stock ends at -1.
    let b = steps(broken);
    assert_eq!(
        &b[..2],
        &[
            ("A".into(), "HGET".into(), "\"1\"".into()),
            ("B".into(), "HGET".into(), "\"1\"".into())
        ]
    );
    assert_eq!(b.iter().filter(|s| s.1 == "EXEC" && s.2 != "(nil)").count(), 2);
    assert_eq!(
        (broken["final_stock"].as_i64(), broken["oversold"].as_i64()),
        (Some(-1), Some(1))
    );
    // watch: B's EXEC is aborted (nil), B retries, reads 0 and is refused.
    let w = steps(watch);
    let aborted = w.iter().position(|s| s.0 == "B" && s.1 == "EXEC").unwrap();
    assert_eq!(w[aborted].2, "(nil)");
    assert_eq!(
        &w[aborted + 1..],
        &[
            ("B".into(), "WATCH".into(), "OK".into()),
            ("B".into(), "HGET".into(), "\"0\"".into()),
            ("B".into(), "UNWATCH".into(), "OK".into())
        ]
    );
    assert!(
        watch["steps"].as_array().unwrap().last().unwrap()["note"]
            .as_str()
            .unwrap()
            .contains("409")
    );
    assert_eq!(
        (watch["final_stock"].as_i64(), watch["sold"].as_i64()),
        (Some(0), Some(1))
    );

    // More buyers: everyone reads before anyone writes, so broken sells to all of them.
    let five: Value = serde_json::from_str(&demo(&redis, &["--interleave", "--json", "--buyers", "5"])).unwrap();
    assert_eq!(five["replays"][0]["final_stock"], -4);
    assert_eq!(
        (
            five["replays"][1]["orders"].as_i64(),
            five["replays"][1]["final_stock"].as_i64()
        ),
        (Some(1), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_get_past_the_limit_only_on_broken() {
    let redis = TestRedis::start().await;
    let args = [
        "--json",
        "--bots",
        "4",
        "--requests-per-bot",
        "30",
        "--people",
        "50",
        "--stock",
        "60",
    ];
    let json: Value = serde_json::from_str(&demo_of(&redis, "bots", &args)).unwrap();
    let results = json["results"].as_array().unwrap();
    for r in results {
        let most = r["most_per_bot"].as_u64().unwrap();
        match r["strategy"].as_str().unwrap() {
            "broken" => assert!(most > 2, "{r}"),
            _ => {
                assert_eq!(most, 2, "{r}");
                assert!(r["bot_units"].as_u64().unwrap() <= 8, "{r}");
                assert_eq!(
                    r["people_served"], 50,
                    "stock for every person once bots are capped: {r}"
                );
            }
        }
    }
    let table = demo_of(&redis, "bots", &args[1..]);
    assert!(table.contains("past the limit"), "{table}");
}
