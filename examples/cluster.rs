//! Runs a private 3-master Redis Cluster on loopback until Ctrl-C, and prints the
//! `REDIS_CLUSTER_NODES` to point stockwatch at it. `scripts/cluster.sh` runs this.
//!
//! ```text
//! cargo run --example cluster -- [DIR] [FIRST_PORT]    # defaults: ./.stockwatch-cluster 7000
//! ```

use stockwatch::managed::redis_cluster::ManagedCluster;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "./.stockwatch-cluster".into()));
    let port: u16 = match args.next() {
        Some(p) => p.parse().map_err(|e| format!("first port {p:?}: {e}"))?,
        None => 7000,
    };
    // A fresh cluster each time: old nodes.conf files would name nodes that are gone.
    let _ = std::fs::remove_dir_all(&dir);
    let cluster = ManagedCluster::start(&dir, 3, Some(port)).await?;
    println!("A 3-master Redis Cluster is up (data in {}).", dir.display());
    println!("In another terminal:\n");
    println!("  export REDIS_CLUSTER_NODES={}", cluster.seeds().join(","));
    println!("  cargo run --release -- serve --allow-broken\n");
    println!("Ctrl-C stops every node.");
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    drop(cluster);
    Ok(())
}
