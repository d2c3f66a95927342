use super::reservation::{self, Reservation, Step};
use super::saga::{self, PartOutcome};
use crate::Inventory;
use crate::domain::EntryKind;
use crate::domain::{ReservationId, ReservationStatus};
use crate::error::Error;
use redis::Cmd;
use serde::{Deserialize, Serialize};

/// What the expiry worker found when it came for a hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expired {
    /// It lapsed and was released now: `reserved` went back to `available`.
    Released {
        /// How late the release was, in ms past `expires_at`.
        lag_ms: i64,
    },
    /// It was extended past now; it stays (its index entry already has the new deadline).
    NotDue,
    /// It had already ended (confirmed, cancelled, or expired by another worker); its stale
    /// index entry, if any, is removed.
    AlreadyEnded,
    /// No such reservation: a stray index entry, removed.
    Missing,
    /// One slot's hold of a cross-slot cart, settled by its saga's decision instead: sold,
    /// or given its reservation's later deadline. (Released ones report `Released`.)
    PartOutcome,
}

/// Releases one lapsed hold, in one transaction that watches the reservation. Safe to run
/// for the same id from any number of workers at once: exactly one of them releases it.
pub async fn expire(store: &Inventory, id: &ReservationId) -> Result<Expired, Error> {
    let ran = reservation::run(store, id, EntryKind::Expire, None, Expire { id: *id }).await?;
    if ran.output != Expired::PartOutcome {
        return Ok(ran.output);
    }
    // A saga's hold: what becomes of it is its saga's decision, not its deadline alone.
    Ok(match saga::settle_part(store, id).await? {
        PartOutcome::Released { lag_ms } => Expired::Released { lag_ms },
        PartOutcome::Sold | PartOutcome::Rearmed => Expired::PartOutcome,
        PartOutcome::Pending => Expired::NotDue,
        PartOutcome::AlreadyEnded => Expired::AlreadyEnded,
    })
}

struct Expire {
    id: ReservationId,
}

impl Step for Expire {
    type Output = Expired;

    /// Cleaning an ended or missing hold out of the index moves no stock.
    fn moved_stock(output: &Expired) -> bool {
        matches!(output, Expired::Released { .. })
    }

    fn decide(&self, store: &Inventory, found: Option<Reservation>, now_ms: i64) -> Result<(Vec<Cmd>, Expired), Error> {
        let unindex = || {
            vec![
                redis::cmd("ZREM")
                    .arg(store.keys().expiry(self.id.slot()))
                    .arg(self.id.to_string())
                    .to_owned(),
            ]
        };
        let Some(resv) = found else {
            return Ok((unindex(), Expired::Missing));
        };
        if resv.status != ReservationStatus::Active {
            return Ok((unindex(), Expired::AlreadyEnded));
        }
        if now_ms < resv.expires_at {
            return Ok((Vec::new(), Expired::NotDue));
        }
        if resv.saga.is_some() {
            return Ok((Vec::new(), Expired::PartOutcome));
        }
        let ended = Reservation {
            status: ReservationStatus::Expired,
            ..resv.clone()
        };
        let lag_ms = now_ms - resv.expires_at;
        Ok((
            resv.end(store, &ended, "available", EntryKind::Expire, now_ms)?,
            Expired::Released { lag_ms },
        ))
    }
}
