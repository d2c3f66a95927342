//! Runs a private PostgreSQL on loopback until Ctrl-C, with a `stockwatch` database, and
//! prints the `STOCKWATCH_LEDGER_URL` to point stockwatch at it. `scripts/postgres.sh` runs
//! this. For trying the ledger: durability is relaxed (`fsync=off`); use your own
//! PostgreSQL for books you keep.
//!
//! ```text
//! cargo run --example postgres -- [DIR] [PORT]    # defaults: ./.stockwatch-postgres 5433
//! ```

use stockwatch::managed::postgres::ManagedPostgres;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "./.stockwatch-postgres".into()));
    let port: u16 = match args.next() {
        Some(p) => p.parse().map_err(|e| format!("port {p:?}: {e}"))?,
        None => 5433,
    };
    let dir = std::path::absolute(&dir).map_err(|e| e.to_string())?;
    let pg = ManagedPostgres::start(&dir, Some(port))?;
    // Kept across runs: the books are the point. Created on the first run only.
    let url = pg
        .create_database("stockwatch")
        .unwrap_or_else(|_| pg.url("stockwatch"));
    println!("PostgreSQL is up (data in {}).", dir.display());
    println!("In another terminal:\n");
    println!("  export STOCKWATCH_LEDGER_URL={url}");
    println!("  scripts/serve.sh --allow-broken\n");
    println!("Ctrl-C (or SIGTERM) stops it.");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(async {
            use tokio::signal::unix::{SignalKind, signal};
            let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
            tokio::select! {
                r = tokio::signal::ctrl_c() => r.map_err(|e| e.to_string()),
                _ = term.recv() => Ok(()),
            }
        })?;
    drop(pg);
    Ok(())
}
