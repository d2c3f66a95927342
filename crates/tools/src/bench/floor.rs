//! The floor: what a purchase's writes cost Redis with nothing around them.
//!
//! A sale's effect is three `HINCRBY`s (available, sold, moved), an `LPUSH` to the SKU's
//! movement history (trimmed once per pipeline, as a batch trims it once) and a `SET` of the
//! order JSON. Sent as plain pipelines (no WATCH, no read, no
//! script, no reply to decide on) they are the least Redis CPU an order can cost, however it
//! is decided. `bench --floor` measures it in the same sitting as the strategies, so each
//! strategy's Redis CPU per order can be read as a multiple of it.

use crate::ToolError;
use crate::domain::{OrderId, Sku, UserId};
use crate::store::Store;
use futures_util::future::join_all;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What the floor run measured.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Floor {
    /// Orders written.
    pub orders: u64,
    /// Orders per pipeline (one round trip).
    pub depth: usize,
    /// Orders written per second.
    pub orders_per_s: f64,
    /// Redis CPU (user + sys) per order, microseconds, from `INFO cpu` around the writes.
    pub redis_cpu_us_per_order: f64,
}

/// Writes `orders` purchases' worth of effects for one fresh SKU, `concurrency` pipelines of
/// `depth` orders in flight at once. One Redis only: a cluster pipeline would split by node.
pub async fn run(store: &Store, orders: u64, concurrency: usize, depth: usize) -> Result<Floor, ToolError> {
    if store.is_cluster() {
        return Err("the floor is measured on one Redis".into());
    }
    let sku = Sku::parse(&format!("floor-{}", rand::random::<u32>()))?;
    let user = UserId::parse(&"floor".into())?;
    let (stock, moves) = (store.keys().stock(&sku), store.keys().movements(&sku));
    let slot = store.keys().slot_of_sku(&sku);
    let maxlen = store.config().movements_maxlen.max(1);
    let cpu_before = store.redis_cpu_seconds().await?;
    let started = std::time::Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let writers = (0..concurrency.max(1)).map(|_| {
        let (store, next, stock, moves) = (store.clone(), next.clone(), stock.clone(), moves.clone());
        let (sku, user) = (sku.clone(), user.clone());
        async move {
            let (mut conn, mut written) = (store.shared(), Vec::new());
            loop {
                let first = next.fetch_add(depth as u64, Ordering::Relaxed);
                if first >= orders {
                    return Ok::<_, redis::RedisError>(written);
                }
                let mut pipe = redis::pipe();
                for _ in first..(first + depth as u64).min(orders) {
                    let id = OrderId::generate_in(slot);
                    let at = crate::ops::now_ms();
                    // The order a sale stores, encoded the same way.
                    let order = crate::ops::Order {
                        order_id: id,
                        user_id: user.clone(),
                        items: vec![crate::ops::OrderLine::new(sku.clone(), 1, Vec::new())],
                        created_at: at,
                        source: crate::ops::OrderSource::Purchase,
                        reservation_id: None,
                        status: None,
                        returns: Vec::new(),
                    };
                    pipe.cmd("HINCRBY").arg(&stock).arg("available").arg(-1).ignore();
                    pipe.cmd("HINCRBY").arg(&stock).arg("sold").arg(1).ignore();
                    pipe.cmd("HINCRBY").arg(&stock).arg("moved").arg(1).ignore();
                    pipe.cmd("LPUSH")
                        .arg(&moves)
                        .arg(format!("purchase 1 {id} {at}"))
                        .ignore();
                    written.push(store.keys().order(&id));
                    pipe.cmd("SET")
                        .arg(written.last())
                        .arg(serde_json::to_string(&order).expect("an order encodes"))
                        .ignore();
                }
                pipe.cmd("LTRIM").arg(&moves).arg(0).arg(maxlen - 1).ignore();
                pipe.exec_async(&mut conn).await?;
            }
        }
    });
    let mut written = vec![stock.clone(), moves.clone()];
    for done in join_all(writers).await {
        written.extend(done?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_after = store.redis_cpu_seconds().await?;
    // Not a real sale: leave nothing `verify` would have to explain.
    let mut conn = store.shared();
    for keys in written.chunks(1000) {
        redis::cmd("UNLINK").arg(keys).exec_async(&mut conn).await?;
    }
    Ok(Floor {
        orders,
        depth,
        orders_per_s: orders as f64 / elapsed.max(1e-9),
        redis_cpu_us_per_order: (cpu_after - cpu_before).max(0.0) * 1e6 / orders.max(1) as f64,
    })
}
