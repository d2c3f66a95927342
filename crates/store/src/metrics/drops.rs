//! A drop's waiting rooms, as this process saw them: tickets handed out, admissions signed,
//! and how long the queue was behind the last ticket read. Refusals by a sale's rules are
//! `txn_rejections_total` by reason (`not_on_sale`, `limit_exceeded`, `admission_required`,
//! `admission_invalid`).

use prometheus::{IntCounter, IntGauge, Registry};

/// What `/metrics` shows of waiting rooms.
#[derive(Debug, Clone)]
pub struct DropMetrics {
    /// New tickets this process handed out (`POST …/queue`).
    pub tickets: IntCounter,
    /// Admissions this process signed (each answer of an admitted ticket carries one).
    pub admissions: IntCounter,
    /// Customers waiting ahead, and including, the last waiting ticket this process read:
    /// a sample of the queue's length, fresh while customers poll.
    pub queue_length: IntGauge,
}

impl DropMetrics {
    pub(super) fn new(r: &Registry) -> Self {
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("valid metric");
            r.register(Box::new(c.clone())).expect("unique metric");
            c
        };
        let queue_length = IntGauge::new(
            "waiting_room_queue_length",
            "Position of the last waiting ticket read: customers still waiting up to it.",
        )
        .expect("valid metric");
        r.register(Box::new(queue_length.clone())).expect("unique metric");
        Self {
            tickets: counter("waiting_room_tickets_total", "New waiting-room tickets handed out."),
            admissions: counter("waiting_room_admissions_total", "Waiting-room admissions signed."),
            queue_length,
        }
    }
}
