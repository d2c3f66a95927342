//! Dead letters: entries the projector gave up on, kept beside their feed (same slot, so
//! moving one is one MULTI), listed and put back by `stockwatch ledger dead-letters`.

use super::feed::{Feed, FeedEntry, GROUP, StreamRange, listed_slots};
use crate::error::StoreError;
use crate::store::Store;
use serde::Serialize;

impl Feed {
    /// Moves an entry to its slot's dead letters and acknowledges it, in one MULTI (both
    /// keys are in its slot), so it is never both lost and acknowledged.
    pub(super) async fn dead_letter(&self, fed: &FeedEntry, why: &str) -> Result<(), StoreError> {
        let keys = self.store().keys();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("XADD")
            .arg(keys.ledger_dead(fed.slot))
            .arg("*")
            .arg(&[("e", fed.raw.as_str()), ("src", fed.key.as_str()), ("why", why)])
            .ignore()
            .cmd("XACK")
            .arg(keys.ledger_feed(fed.slot))
            .arg(GROUP)
            .arg(&fed.id)
            .ignore();
        let mut conn = self.store().shared();
        Store::bounded(self.store().deadline(), pipe.query_async::<()>(&mut conn)).await
    }
}

/// One dead letter, as `stockwatch ledger dead-letters` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    /// The slot whose feed it came from.
    pub slot: u16,
    /// Its id in the dead-letter stream.
    pub id: String,
    /// The id it had in the feed (what the books would key it by).
    pub source: String,
    /// Why the projector gave up on it.
    pub reason: String,
    /// The entry as it was written.
    pub entry: String,
}

/// Every dead letter, over every listed slot.
pub async fn dead_letters(store: &Store) -> Result<Vec<DeadLetter>, StoreError> {
    let mut out = Vec::new();
    for slot in listed_slots(store).await? {
        let range: StreamRange = store
            .query(
                redis::cmd("XRANGE")
                    .arg(store.keys().ledger_dead(slot))
                    .arg("-")
                    .arg("+"),
            )
            .await?;
        for e in range.ids {
            out.push(DeadLetter {
                slot,
                source: e.get("src").unwrap_or_default(),
                reason: e.get("why").unwrap_or_default(),
                entry: e.get("e").unwrap_or_default(),
                id: e.id,
            });
        }
    }
    Ok(out)
}

/// Puts dead letters back into their feeds (all, or those whose source id is in `only`), in
/// one MULTI each with their removal, keeping their source id so a replay lands once.
pub async fn replay_dead_letters(store: &Store, only: &[String]) -> Result<usize, StoreError> {
    let mut replayed = 0;
    for letter in dead_letters(store).await? {
        if !only.is_empty() && !only.contains(&letter.source) {
            continue;
        }
        let keys = store.keys();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("XADD")
            .arg(keys.ledger_feed(letter.slot))
            .arg("*")
            .arg(&[("e", letter.entry.as_str()), ("src", letter.source.as_str())])
            .ignore()
            .cmd("XDEL")
            .arg(keys.ledger_dead(letter.slot))
            .arg(&letter.id)
            .ignore();
        let mut conn = store.shared();
        Store::bounded(store.deadline(), pipe.query_async::<()>(&mut conn)).await?;
        replayed += 1;
    }
    Ok(replayed)
}
