//! Finding the first repeat in a stream of names (JSON keys, query parameters) without
//! allocating for the few a request usually has.

use smallvec::SmallVec;
use std::collections::HashSet;
use std::hash::Hash;

/// Names kept inline while there are few; past `Seen::FEW` they move to a set, so a
/// request that sends thousands of distinct names stays linear.
#[derive(Debug)]
pub struct Seen<T: Eq + Hash> {
    few: SmallVec<[T; 8]>,
    many: HashSet<T>,
}

impl<T: Eq + Hash> Default for Seen<T> {
    fn default() -> Self {
        Self {
            few: SmallVec::new(),
            many: HashSet::new(),
        }
    }
}

impl<T: Eq + Hash> Seen<T> {
    /// How many names are compared one by one before a set takes over.
    const FEW: usize = 16;

    /// Records `name`; false when it was seen before (the repeat, which is not kept).
    pub fn first_time(&mut self, name: T) -> bool {
        if self.many.is_empty() && self.few.len() < Self::FEW {
            if self.few.contains(&name) {
                return false;
            }
            self.few.push(name);
            return true;
        }
        if self.many.is_empty() {
            self.many.extend(self.few.drain(..));
        }
        self.many.insert(name)
    }
}

#[cfg(test)]
mod tests {
    use super::Seen;

    #[test]
    fn the_first_repeat_is_found_among_few_names_and_many() {
        for n in [1, 15, 16, 17, 100] {
            let mut seen = Seen::default();
            assert!((0..n).all(|i| seen.first_time(i)), "{n} distinct names");
            for i in [0, n / 2, n - 1] {
                assert!(!seen.first_time(i), "{i} again, after {n}");
            }
            assert!(seen.first_time(n), "a new one after {n}");
        }
    }
}
