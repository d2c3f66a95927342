//! Several `stockwatch serve` processes (real child processes) and a separate
//! `expiry-worker` on one Redis and on a 3-master cluster: they sell a hot SKU exactly, and
//! every process's `GET /v1/events` shows every process's changes, including holds the
//! worker released, and resyncs after its subscription is cut.

use crate::cluster::TestCluster;
use crate::helpers::{TestRedis, fresh_prefix};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How the children find Redis: one env var and its value.
pub(crate) type RedisEnv = (&'static str, String);

/// The `serve` processes here leave holds to a separate `expiry-worker`.
const NO_WORKER: &[&str] = &["--expiry-worker", "off"];

/// One child process, killed on drop.
pub(crate) struct Serve {
    _child: Child,
    pub base: String,
}

/// Starts `stockwatch serve` on a free port, with `extra` arguments, and waits for the port
/// it logs.
pub(crate) async fn serve(redis: &RedisEnv, prefix: &str, extra: &[&str]) -> Serve {
    serve_under(&[], redis, prefix, extra).await
}

/// [`serve`] with more environment (e.g. libfaketime's, for a shifted clock). The process
/// is `stockwatch` itself, never a wrapper, so killing it on drop leaves nothing behind.
pub(crate) async fn serve_under(env: &[(&str, String)], redis: &RedisEnv, prefix: &str, extra: &[&str]) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stockwatch"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--allow-broken",
        ])
        .args(["--key-prefix", prefix, "--workers", "2"])
        .args(extra)
        .env_remove("REDIS_URL")
        .env(redis.0, &redis.1)
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("serve starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let port = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("serving in time")
            .unwrap()
            .expect("serve exited before listening");
        let json: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        if let Some(port) = json["fields"]["port"].as_u64() {
            break port;
        }
    };
    // Keep draining its log so it never blocks on a full pipe; its warnings show on failure.
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("\"WARN\"") || line.contains("\"ERROR\"") {
                eprintln!("serve: {line}");
            }
        }
    });
    Serve {
        _child: child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

/// The `stock` events read from an open SSE response until `done` holds for them (or 15 s).
async fn read_until(stream: &mut reqwest::Response, seen: &mut Vec<Value>, done: impl Fn(&[Value]) -> bool) {
    let mut partial = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !done(seen) {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("events did not arrive; seen {}: {:?}", seen.len(), seen.last()))
            .unwrap()
            .expect("stream open");
        partial.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = partial.find("\n\n") {
            let frame: String = partial.drain(..end + 2).collect();
            if frame.starts_with("event: stock")
                && let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data: "))
            {
                seen.push(serde_json::from_str(data).unwrap());
            }
        }
    }
}

fn count(seen: &[Value], kind: &str) -> usize {
    seen.iter().filter(|e| e["kind"] == kind).count()
}

/// The whole scenario, on whatever Redis `redis` names; `cut` severs every pub/sub
/// connection on it.
async fn three_processes_act_as_one(redis: RedisEnv, cut: impl AsyncFn()) {
    let prefix = fresh_prefix();
    let fleet = [
        serve(&redis, &prefix, NO_WORKER).await,
        serve(&redis, &prefix, NO_WORKER).await,
        serve(&redis, &prefix, NO_WORKER).await,
    ];
    let client = reqwest::Client::new();
    // B's feed is open before anything happens; changes come through A and C.
    let mut feed = client.get(format!("{}/v1/events", fleet[1].base)).send().await.unwrap();
    assert_eq!(feed.status(), 200);
    let put = client
        .put(format!("{}/v1/skus/hot/stock", fleet[0].base))
        .json(&json!({"available": 300}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);

    // 900 buyers for 300 units, spread over the three processes and both safe strategies.
    let statuses: Vec<u16> = futures_util::stream::iter(0..900)
        .map(|i| {
            let strategy = if i % 2 == 0 { "watch" } else { "lua" };
            let url = format!("{}/v1/purchases?strategy={strategy}", fleet[i % 3].base);
            let request = client
                .post(url)
                .json(&json!({"sku": "hot", "quantity": 1, "user_id": format!("b{i}")}));
            async move { request.send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
        })
        .buffer_unordered(150)
        .collect()
        .await;
    let sold = statuses.iter().filter(|s| **s == 201).count();
    assert_eq!(sold, 300, "exact over three processes");
    assert!(statuses.iter().all(|s| [201, 409, 503].contains(s)), "{statuses:?}");
    let stock: Value = client
        .get(format!("{}/v1/skus/hot", fleet[2].base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (stock["available"].as_i64(), stock["sold"].as_i64()),
        (Some(0), Some(300))
    );

    // Every sale shows on B's feed, whichever process made it: one event per commit.
    let mut seen = Vec::new();
    read_until(&mut feed, &mut seen, |s| count(s, "purchase") >= 300).await;
    assert_eq!(count(&seen, "set"), 1);
    let last = seen.iter().rev().find(|e| e["kind"] == "purchase").unwrap();
    assert_eq!(last["sold"], 300);

    // A hold made through C and released by a separate expiry-worker shows on B's feed.
    client
        .put(format!("{}/v1/skus/cap/stock", fleet[0].base))
        .json(&json!({"available": 5}))
        .send()
        .await
        .unwrap();
    let held = client
        .post(format!("{}/v1/reservations", fleet[2].base))
        .json(&json!({"user_id": "u", "items": [{"sku": "cap", "quantity": 2}], "ttl_seconds": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(held.status(), 201);
    let _worker = Command::new(env!("CARGO_BIN_EXE_stockwatch"))
        .args(["expiry-worker", "--key-prefix", &prefix])
        .env_remove("REDIS_URL")
        .env(redis.0, &redis.1)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("worker starts");
    read_until(&mut feed, &mut seen, |s| count(s, "expire") >= 1).await;
    let released = seen.iter().find(|e| e["kind"] == "expire").unwrap();
    assert_eq!(
        (released["sku"].as_str(), released["available"].as_i64()),
        (Some("cap"), Some(5))
    );

    // Cut B's subscription: it resubscribes and re-reads every SKU it has shown.
    cut().await;
    read_until(&mut feed, &mut seen, |s| count(s, "resync") >= 2).await;
    for sku in ["hot", "cap"] {
        let resync = seen.iter().find(|e| e["kind"] == "resync" && e["sku"] == sku).unwrap();
        assert_eq!(resync["reserved"], 0, "{sku}: {resync}");
    }
    // And it follows changes again after the cut.
    let after = client
        .post(format!("{}/v1/purchases", fleet[0].base))
        .json(&json!({"sku": "cap", "quantity": 1, "user_id": "late"}))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 201);
    read_until(&mut feed, &mut seen, |s| {
        s.last().is_some_and(|e| e["kind"] == "purchase" && e["sku"] == "cap")
    })
    .await;
}

/// Kills every pub/sub client of the servers at `urls`.
async fn kill_pubsub_clients(urls: &[String]) {
    for url in urls {
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let killed: i64 = redis::cmd("CLIENT")
            .arg(&["KILL", "TYPE", "pubsub"])
            .query_async(&mut conn)
            .await
            .unwrap();
        let _ = killed;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_serve_processes_on_one_redis_act_as_one_service() {
    let redis = TestRedis::start().await;
    let url = redis.url();
    three_processes_act_as_one(("REDIS_URL", url.clone()), async || {
        kill_pubsub_clients(std::slice::from_ref(&url)).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_serve_processes_on_a_cluster_act_as_one_service() {
    let cluster = TestCluster::start().await;
    let seeds = cluster.cluster.seeds();
    three_processes_act_as_one(("REDIS_CLUSTER_NODES", seeds.join(",")), async || {
        kill_pubsub_clients(&seeds).await
    })
    .await;
}
