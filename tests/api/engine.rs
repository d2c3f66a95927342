//! The optimistic-transaction engine against a real server: conflicts are seen and retried,
//! WATCH never outlives its transaction, and EXEC replies are checked element by element.

use crate::helpers::{TestRedis, kill, store_on};
use redis::Pipeline;
use std::time::Duration;
use stockwatch::StoreError;
use stockwatch::txn::{self, Optimistic, Plan, TxError};

/// Adds one to a counter; on chosen attempts, a rival adds 100 between our read and EXEC.
struct Increment {
    key: String,
    rival_url: Option<String>,
    meddle_on: Vec<u32>,
}

impl Optimistic for Increment {
    type Snapshot = (Option<i64>,);
    type Output = i64;
    type Rejection = ();

    fn watch_keys(&self) -> Vec<String> {
        vec![self.key.clone()]
    }

    fn read(&self, pipe: &mut Pipeline) {
        pipe.cmd("GET").arg(&self.key);
    }

    fn decide(&self, (value,): (Option<i64>,), attempt: u32) -> Result<Plan<i64>, ()> {
        if let (Some(url), true) = (&self.rival_url, self.meddle_on.contains(&attempt)) {
            // A separate client writes the watched key after our read: exactly the race.
            let mut rival = redis::Client::open(url.as_str()).unwrap().get_connection().unwrap();
            redis::cmd("INCRBY").arg(&self.key).arg(100).exec(&mut rival).unwrap();
        }
        let next = value.unwrap_or(0) + 1;
        Ok(Plan {
            writes: vec![redis::cmd("SET").arg(&self.key).arg(next).to_owned()],
            output: next,
        })
    }
}

/// Refuses after reading, leaving EXEC unreached.
struct Refuse {
    key: String,
}

impl Optimistic for Refuse {
    type Snapshot = (Option<i64>,);
    type Output = ();
    type Rejection = &'static str;

    fn watch_keys(&self) -> Vec<String> {
        vec![self.key.clone()]
    }

    fn read(&self, pipe: &mut Pipeline) {
        pipe.cmd("GET").arg(&self.key);
    }

    fn decide(&self, _: (Option<i64>,), _: u32) -> Result<Plan<()>, &'static str> {
        Err("out of stock")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_between_read_and_exec_is_detected_and_retried() {
    let redis = TestRedis::start().await;
    let store = store_on(&redis, |_| {});
    let op = Increment {
        key: format!("{}:counter", store.keys().prefix()),
        rival_url: Some(redis.url()),
        meddle_on: vec![1],
    };
    let done = txn::run(&store, &op).await.unwrap();
    assert_eq!(done.attempts, 2);
    assert_eq!(done.conflicts, 1);
    // The rival's +100 survived and ours applied on top: no lost update.
    assert_eq!(done.output, 101);
    let mut raw = redis.raw().await;
    let stored: i64 = redis::cmd("GET").arg(&op.key).query_async(&mut raw).await.unwrap();
    assert_eq!(stored, 101);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_retries_are_contention_not_success() {
    let redis = TestRedis::start().await;
    let store = store_on(&redis, |c| c.retry.max_attempts = 3);
    let op = Increment {
        key: format!("{}:counter", store.keys().prefix()),
        rival_url: Some(redis.url()),
        meddle_on: vec![1, 2, 3],
    };
    match txn::run(&store, &op).await {
        Err(TxError::Contention { attempts, throttled }) => {
            assert_eq!(attempts, 3);
            assert!(!throttled, "the call's own policy stopped it; no budget is set");
        }
        other => panic!("expected contention, got {other:?}"),
    }
    let mut raw = redis.raw().await;
    let stored: i64 = redis::cmd("GET").arg(&op.key).query_async(&mut raw).await.unwrap();
    assert_eq!(stored, 300, "only the rival's writes landed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_retry_budget_ends_a_conflicted_call_without_a_retry() {
    let redis = TestRedis::start().await;
    let store = store_on(&redis, |c| {
        c.retry_budget = Some(stockwatch::retry::RetryBudget {
            percent: 0.0,
            min_per_sec: 0,
        })
    });
    let op = Increment {
        key: format!("{}:counter", store.keys().prefix()),
        rival_url: Some(redis.url()),
        meddle_on: vec![1],
    };
    match txn::run(&store, &op).await {
        Err(TxError::Contention { attempts, throttled }) => {
            assert_eq!(attempts, 1, "0 % and 0/s: never a retry");
            assert!(throttled, "the budget, not the policy (12 attempts), stopped it");
        }
        other => panic!("expected contention, got {other:?}"),
    }
    let mut raw = redis.raw().await;
    let stored: i64 = redis::cmd("GET").arg(&op.key).query_async(&mut raw).await.unwrap();
    assert_eq!(stored, 100, "only the rival's write landed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejection_leaves_no_watch_for_the_next_borrower() {
    let redis = TestRedis::start().await;
    let store = store_on(&redis, |c| c.pool_size = 1);
    let prefix = store.keys().prefix().to_owned();
    let watched = format!("{prefix}:a");
    match txn::run(&store, &Refuse { key: watched.clone() }).await {
        Err(TxError::Rejected {
            rejection, attempts: 1, ..
        }) => assert_eq!(rejection, "out of stock"),
        other => panic!("expected a rejection, got {other:?}"),
    }
    // If the rejected transaction's WATCH on `a` had leaked, this write would abort the next
    // EXEC on the pool's only connection, which watches an unrelated key.
    let mut raw = redis.raw().await;
    redis::cmd("SET")
        .arg(&watched)
        .arg(7)
        .exec_async(&mut raw)
        .await
        .unwrap();
    let op = Increment {
        key: format!("{prefix}:b"),
        rival_url: None,
        meddle_on: vec![],
    };
    let done = txn::run(&store, &op).await.unwrap();
    assert_eq!((done.attempts, done.conflicts, done.output), (1, 0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_transaction_does_not_leak_its_watch() {
    let redis = TestRedis::start().await;
    let store = store_on(&redis, |c| c.pool_size = 1);
    let prefix = store.keys().prefix().to_owned();
    let watched = format!("{prefix}:slow");

    /// Reads through a 300 ms BLPOP, so the caller can drop it while WATCH is set.
    struct Slow(String);
    impl Optimistic for Slow {
        type Snapshot = (Option<(String, String)>,);
        type Output = ();
        type Rejection = ();
        fn watch_keys(&self) -> Vec<String> {
            vec![self.0.clone()]
        }
        fn read(&self, pipe: &mut Pipeline) {
            pipe.cmd("BLPOP").arg(format!("{}:never", self.0)).arg(0.3);
        }
        fn decide(&self, _: Self::Snapshot, _: u32) -> Result<Plan<()>, ()> {
            Ok(Plan {
                writes: vec![],
                output: (),
            })
        }
    }

    let cancelled = tokio::time::timeout(Duration::from_millis(50), txn::run(&store, &Slow(watched.clone()))).await;
    assert!(cancelled.is_err(), "the transaction was still in flight when dropped");
    let mut raw = redis.raw().await;
    redis::cmd("SET")
        .arg(&watched)
        .arg(1)
        .exec_async(&mut raw)
        .await
        .unwrap();
    let op = Increment {
        key: format!("{prefix}:b"),
        rival_url: None,
        meddle_on: vec![],
    };
    let done = txn::run(&store, &op).await.unwrap();
    assert_eq!(
        (done.attempts, done.conflicts),
        (1, 0),
        "the next transaction commits first time"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_error_inside_exec_is_an_error_not_a_commit() {
    let redis = TestRedis::start().await;
    let store = store_on(&redis, |_| {});
    let prefix = store.keys().prefix().to_owned();

    struct HalfBroken(String);
    impl Optimistic for HalfBroken {
        type Snapshot = (Option<String>,);
        type Output = ();
        type Rejection = ();
        fn watch_keys(&self) -> Vec<String> {
            vec![format!("{}:s", self.0)]
        }
        fn read(&self, pipe: &mut Pipeline) {
            pipe.cmd("GET").arg(format!("{}:s", self.0));
        }
        fn decide(&self, _: Self::Snapshot, _: u32) -> Result<Plan<()>, ()> {
            Ok(Plan {
                writes: vec![
                    redis::cmd("SET").arg(format!("{}:before", self.0)).arg(1).to_owned(),
                    // `s` is a string: WRONGTYPE at EXEC time, after SET already applied.
                    redis::cmd("HINCRBY")
                        .arg(format!("{}:s", self.0))
                        .arg("f")
                        .arg(1)
                        .to_owned(),
                ],
                output: (),
            })
        }
    }

    let mut raw = redis.raw().await;
    redis::cmd("SET")
        .arg(format!("{prefix}:s"))
        .arg("text")
        .exec_async(&mut raw)
        .await
        .unwrap();
    match txn::run(&store, &HalfBroken(prefix.clone())).await {
        Err(TxError::Store(e @ StoreError::ExecFailed(_))) => {
            assert!(e.is_redis("WRONGTYPE"), "{e}");
            assert!(std::error::Error::source(&e).is_some(), "{e:?} keeps its source");
        }
        other => panic!("expected ExecFailed, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_time_oom_is_reported_and_writes_nothing() {
    let redis = TestRedis::start().await;
    let store = store_on(&redis, |_| {});
    let op = Increment {
        key: format!("{}:counter", store.keys().prefix()),
        rival_url: None,
        meddle_on: vec![],
    };
    let mut raw = redis.raw().await;
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(1)
        .exec_async(&mut raw)
        .await
        .unwrap();
    let result = txn::run(&store, &op).await;
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(0)
        .exec_async(&mut raw)
        .await
        .unwrap();
    assert!(
        matches!(result, Err(TxError::Store(StoreError::OutOfMemory(_)))),
        "{result:?}"
    );
    let stored: Option<i64> = redis::cmd("GET").arg(&op.key).query_async(&mut raw).await.unwrap();
    assert_eq!(stored, None);
    // And it recovers once memory is back.
    assert_eq!(txn::run(&store, &op).await.unwrap().output, 1);
}

/// The pool sends nothing when it lends a connection (no `PING`), so after a Redis restart
/// its connections are dead. The engine finds out on its first command, before any write,
/// closes the dead one and borrows the next: the caller sees a commit, not an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_died_in_the_pool_are_replaced_without_an_error() {
    let redis = TestRedis::start().await;
    let store = store_on(&redis, |c| c.pool_size = 4);
    let prefix = store.keys().prefix().to_owned();
    let op = |n: u32| Increment {
        key: format!("{prefix}:warm-{n}"),
        rival_url: None,
        meddle_on: vec![],
    };
    // Fill the pool: four transactions at once hold four connections.
    let warm: Vec<_> = (0..4).map(op).collect();
    for done in futures_util::future::join_all(warm.iter().map(|op| txn::run(&store, op))).await {
        assert_eq!(done.unwrap().output, 1);
    }
    kill(redis.server.pid().unwrap(), "KILL");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _restarted = redis.restart().await;
    for n in 10..16 {
        let done = txn::run(&store, &op(n))
            .await
            .expect("a commit, not a dead connection's error");
        assert_eq!((done.output, done.conflicts), (1, 0));
    }
}
