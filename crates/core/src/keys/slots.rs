//! Which cluster slot a key lives in, a short hash tag for every slot, and the joining of a
//! key's parts (a tag is one of them).

use super::SLOTS;
use std::sync::LazyLock;

/// The cluster slot of a key: CRC16/XMODEM of its hash tag (the first non-empty `{…}`), or
/// of the whole key when it has none. The same rule Redis applies.
pub fn slot_of(key: &str) -> u16 {
    let bytes = key.as_bytes();
    let tagged = bytes.iter().position(|&b| b == b'{').and_then(|open| {
        let close = bytes[open + 1..].iter().position(|&b| b == b'}')?;
        (close > 0).then(|| &bytes[open + 1..open + 1 + close])
    });
    crc16::State::<crc16::XMODEM>::calculate(tagged.unwrap_or(bytes)) % SLOTS
}

/// A short tag that hashes to each slot: the first base-36 number to land there. Built once
/// (about 170k CRCs, a few ms), so any key can be placed in any slot.
static TAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut tags = vec![String::new(); SLOTS as usize];
    let mut missing = SLOTS as usize;
    let mut n: u64 = 0;
    while missing > 0 {
        let tag = base36(n);
        let slot = slot_of(&tag) as usize;
        if tags[slot].is_empty() {
            tags[slot] = tag;
            missing -= 1;
        }
        n += 1;
    }
    tags
});

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = vec![DIGITS[(n % 36) as usize]];
    while n >= 36 {
        n /= 36;
        out.push(DIGITS[(n % 36) as usize]);
    }
    out.reverse();
    String::from_utf8(out).expect("ascii")
}

/// The tag of `slot` (taken modulo [`SLOTS`]): a key containing `{tag}` lives in that slot.
pub fn tag_for(slot: u16) -> &'static str {
    &TAGS[(slot % SLOTS) as usize]
}

/// `parts` end to end, in a string of exactly their length: a take's keys are built on every
/// request, and `format!` guesses short and grows.
pub(super) fn joined(parts: &[&str]) -> String {
    let mut key = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        key.push_str(part);
    }
    key
}
