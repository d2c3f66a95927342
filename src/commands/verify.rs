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
    let report = match check(&args.redis).await {
        Ok(report) => report,
        Err(e) => {
            eprintln!("stockwatch verify: {e}");
            return ExitCode::from(2);
        }
    };
    let books = if args.ledger {
        match check_ledger(&args).await {
            Ok(books) => Some(books),
            Err(e) => {
                eprintln!("stockwatch verify --ledger: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        None
    };
    let ok = report.ok && books.as_ref().is_none_or(|b| b.ok);
    if args.json {
        // Without --ledger, the report alone, as before; with it, both beside each other.
        let json = match &books {
            None => serde_json::to_value(&report),
            Some(books) => Ok(serde_json::json!({ "ok": ok, "redis": report, "ledger": books })),
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&json.expect("report serializes")).expect("json prints")
        );
    } else {
        println!(
            "checked {} SKUs, {} orders, {} reservations ({} active)",
            report.skus, report.orders, report.reservations, report.active_reservations
        );
        for v in &report.violations {
            println!("FAIL {} [{}]: {}", v.sku.as_deref().unwrap_or("-"), v.rule, v.message);
        }
        if let Some(b) = &books {
            println!(
                "ledger: compared {} SKUs and {} orders; {} orders aged out of Redis",
                b.skus, b.orders, b.aged_out
            );
            for d in &b.differences {
                println!("FAIL {} [{}]: {}", d.subject, d.rule, d.message);
            }
        }
        println!(
            "{}",
            if ok {
                "OK: every invariant holds"
            } else {
                "BROKEN: see above"
            }
        );
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

/// The books against Redis, once the projectors drained (waiting up to `--ledger-drain-s`).
async fn check_ledger(args: &VerifyArgs) -> Result<stockwatch::ledger::LedgerReport, String> {
    let url = args.redis.ledger_url.as_ref().ok_or("--ledger needs --ledger-url")?;
    let (store, managed) = connect(&args.redis, args.redis.store_config(), true).await?;
    let pool = stockwatch::ledger::pool(url).map_err(|e| e.to_string())?;
    let retention = args
        .order_retention_hours
        .map(|h| std::time::Duration::from_secs_f64(h.max(0.0) * 3600.0));
    let drain = std::time::Duration::from_secs(args.ledger_drain_s);
    let report = stockwatch::ledger::check(&store, &pool, drain, retention).await;
    if let Some(m) = managed {
        m.shutdown().await;
    }
    report.map_err(|e| e.to_string())
}
