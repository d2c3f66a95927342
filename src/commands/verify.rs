//! `stockwatch verify`, and the check `soak` ends with.

use super::connect;
use std::process::ExitCode;
use stockwatch::config::{RedisArgs, VerifyArgs};

/// Exit 0 when every invariant holds, 1 when one is broken, 2 when the check could not run.
/// Every invariant over the store `redis` names (joining a running `serve`'s managed Redis).
pub async fn check(redis: &RedisArgs) -> Result<stockwatch::ops::Report, String> {
    let (store, managed) = connect(redis, redis.store_config(), true).await?;
    let report = stockwatch::ops::verify(&store).await.map_err(|e| e.to_string());
    if let Some(m) = managed {
        m.shutdown().await;
    }
    report
}

pub async fn verify(args: VerifyArgs) -> ExitCode {
    match check(&args.redis).await {
        Ok(report) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report).expect("report serializes"));
            } else {
                println!(
                    "checked {} SKUs, {} orders, {} reservations ({} active)",
                    report.skus, report.orders, report.reservations, report.active_reservations
                );
                for v in &report.violations {
                    println!("FAIL {} [{}]: {}", v.sku.as_deref().unwrap_or("-"), v.rule, v.message);
                }
                println!(
                    "{}",
                    if report.ok {
                        "OK: every invariant holds"
                    } else {
                        "BROKEN: see above"
                    }
                );
            }
            if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("stockwatch verify: {e}");
            ExitCode::from(2)
        }
    }
}
