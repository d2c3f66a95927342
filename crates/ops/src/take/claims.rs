//! The keys `watch` batches in flight watch, process-wide, and whose turn a key is next: no
//! two batches of one process watch one key (they would abort each other), and a lane that
//! frees a key cannot take it straight back while another lane waits for it.

use foldhash::HashMap;
use std::sync::Mutex;
use tokio::sync::Notify;

/// Keys watched by batches in flight, and a wake-up for leaders that wait on them.
#[derive(Default)]
pub(super) struct Watched {
    pub(super) claims: Mutex<Claims>,
    pub(super) freed: Notify,
    pub(super) lanes: std::sync::atomic::AtomicU64,
}

/// Who holds each watched key, and whose turn it is next. Looked up for every key of every
/// `watch` take, so hashed with foldhash (seeded per process) rather than SipHash.
#[derive(Default)]
pub(super) struct Claims {
    /// Key → the lane whose batch in flight watches it.
    held: HashMap<String, u64>,
    /// Key → the lane that found it held by another and waits for it: it goes next.
    next: HashMap<String, u64>,
}

/// Whether a take may be sent now, as [`Claims::turn`] decides.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Turn {
    /// Every key it watches is free, and no other lane's turn.
    Go,
    /// It waits; `gave_up` when the lane gave up its turn on a key no one holds, so other
    /// lanes waiting for that key should look again.
    Wait { gave_up: bool },
}

impl Claims {
    /// Whether `lane` may not watch `key` now.
    fn blocks(&self, key: &str, lane: u64) -> bool {
        self.held.contains_key(key) || self.next.get(key).is_some_and(|&l| l != lane)
    }

    /// Whether `lane` may send a take that watches `keys` now. When it may not, the lane
    /// becomes next for each of those keys another lane holds, and gives up its turn on
    /// each that no one holds: a lane waiting for one key must not keep other lanes from a
    /// free one, or two lanes whose carts cross (one waiting on A with its turn on B, the
    /// other on B with its turn on A) would wait for each other for good.
    pub(super) fn turn<'k>(&mut self, keys: impl Iterator<Item = &'k String> + Clone, lane: u64) -> Turn {
        if !keys.clone().any(|k| self.blocks(k, lane)) {
            return Turn::Go;
        }
        let mut gave_up = false;
        for key in keys {
            match self.held.get(key) {
                Some(&holder) if holder != lane => {
                    self.next.entry(key.clone()).or_insert(lane);
                }
                Some(_) => {}
                None if self.next.get(key) == Some(&lane) => {
                    self.next.remove(key);
                    gave_up = true;
                }
                None => {}
            }
        }
        Turn::Wait { gave_up }
    }

    /// Claims for `lane` each key of `live` (the batch it sends) once: a hot SKU's batch
    /// claims one key, not one per take. Ends the lane's turn on every key of `drained` (the
    /// takes it sends or answers as expired). Returns the keys claimed, and whether a turn
    /// ended (the other lanes should look again).
    pub(super) fn claim<'k>(
        &mut self,
        drained: impl Iterator<Item = &'k String>,
        live: impl Iterator<Item = &'k String>,
        lane: u64,
    ) -> (Vec<String>, bool) {
        let before = self.next.len();
        for key in drained {
            if self.next.get(key) == Some(&lane) {
                self.next.remove(key);
            }
        }
        // A take is sent only when no key it watches is held, so a key already held here is
        // one an earlier take of this batch claimed: the map is the batch's seen-set too
        // (a list searched per key grew with the square of a batch of many SKUs).
        let mut claimed: Vec<String> = Vec::new();
        for key in live {
            if !self.held.contains_key(key) {
                self.held.insert(key.clone(), lane);
                claimed.push(key.clone());
            }
        }
        (claimed, self.next.len() != before)
    }

    /// Frees the keys of a batch that was answered (or dropped unanswered).
    pub(super) fn release(&mut self, keys: &[String]) {
        for key in keys {
            self.held.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Claims, Turn};

    fn keys(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn a_lane_waiting_for_a_held_key_goes_next() {
        let mut claims = Claims::default();
        claims.held.insert("a".into(), 1);
        assert_eq!(claims.turn(keys(&["a"]).iter(), 2), Turn::Wait { gave_up: false });
        // Lane 1 frees `a`: it may not take it back while lane 2 waits; lane 2 may.
        claims.held.remove("a");
        assert_eq!(claims.turn(keys(&["a"]).iter(), 1), Turn::Wait { gave_up: false });
        assert_eq!(claims.turn(keys(&["a"]).iter(), 2), Turn::Go);
    }

    #[test]
    fn carts_that_cross_cannot_wait_for_each_other_for_good() {
        let mut claims = Claims::default();
        // Lane 1 holds `b`, lane 2 holds `a`; lane 1's next take watches a and b, lane 2's
        // b and a: each becomes next on the key the other holds.
        claims.held.insert("b".into(), 1);
        claims.held.insert("a".into(), 2);
        let (one, two) = (keys(&["a", "b"]), keys(&["b", "a"]));
        assert_eq!(claims.turn(one.iter(), 1), Turn::Wait { gave_up: false });
        assert_eq!(claims.turn(two.iter(), 2), Turn::Wait { gave_up: false });
        // Both batches answer. Each lane's turn on one key now meets the other's on the
        // other key: the first to look again gives up its turn on the free key, and then
        // the other goes.
        claims.held.clear();
        assert_eq!(claims.turn(one.iter(), 1), Turn::Wait { gave_up: true });
        assert_eq!(claims.turn(two.iter(), 2), Turn::Go);
    }

    #[test]
    fn a_waiting_lane_keeps_its_turn_on_held_keys_and_frees_the_others() {
        let mut claims = Claims::default();
        claims.held.insert("a".into(), 1);
        claims.held.insert("b".into(), 3);
        assert_eq!(claims.turn(keys(&["a", "b"]).iter(), 2), Turn::Wait { gave_up: false });
        claims.held.remove("b");
        // `a` is still held: lane 2 stays next for it (lane 3 may not take it first), and
        // gives up `b`, which lane 3 may take again.
        assert_eq!(claims.turn(keys(&["a", "b"]).iter(), 2), Turn::Wait { gave_up: true });
        assert_eq!(claims.next.get("a"), Some(&2));
        assert_eq!(claims.turn(keys(&["a"]).iter(), 3), Turn::Wait { gave_up: false });
        assert_eq!(claims.turn(keys(&["b"]).iter(), 3), Turn::Go);
    }
}
