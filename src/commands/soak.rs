//! `stockwatch soak`.

use super::verify::check;
use std::process::ExitCode;
use stockwatch::bench;
use stockwatch::config::SoakArgs;

/// `stockwatch soak`: exit 0 when every target is met, 1 when one is missed, 2 on error.
pub async fn soak(args: SoakArgs) -> ExitCode {
    let plan = stockwatch::soak::Plan {
        target: args.target.clone(),
        admin_token: args.admin_token.clone(),
        duration: args.duration,
        concurrency: stockwatch::convert::usize_of(args.concurrency),
        window: args.window,
        warm_up: args.warm_up,
        hot_skus: stockwatch::convert::usize_of(args.hot_skus),
        cold_skus: stockwatch::convert::usize_of(args.cold_skus),
    };
    let bar = bench::progress_bar(args.duration.as_secs(), "soak");
    let report = match stockwatch::soak::run(&plan, |s| bar.set_position(s)).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stockwatch soak: {e}");
            return ExitCode::from(2);
        }
    };
    bar.finish_and_clear();
    // The longest hold is 3 s; let the worker release what was abandoned, then check.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let verified = check(&args.redis).await;
    let mut failures = report.failures();
    let verify_json = match &verified {
        Ok(r) if r.ok => serde_json::json!({"ok": true}),
        Ok(r) => {
            failures.push(format!("verify: {} violations", r.violations.len()));
            serde_json::json!({"ok": false, "violations": r.violations})
        }
        Err(e) => {
            failures.push(format!("verify could not run: {e}"));
            serde_json::json!({"ok": false, "error": e})
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::json!({"report": report, "verify": verify_json, "failures": failures})
        );
    } else {
        stockwatch::soak::print(&report);
        match &verified {
            Ok(r) if r.ok => println!("verify: every invariant holds"),
            Ok(r) => r.violations.iter().for_each(|v| println!("verify: FAIL {v:?}")),
            Err(e) => println!("verify: could not run: {e}"),
        }
        if failures.is_empty() {
            println!("targets: all met");
        } else {
            failures.iter().for_each(|f| println!("target missed: {f}"));
        }
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
