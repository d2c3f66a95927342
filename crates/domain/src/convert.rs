//! Number conversions that never wrap or truncate silently. The values that pass through
//! them (counts, sizes, milliseconds) sit far inside every bound, so each conversion
//! saturates at the target's bound instead of failing: an impossible overflow shows as a
//! clamp, never as a wrapped number. `as` between integer types is not used elsewhere
//! (clippy's `cast_possible_truncation`, `cast_possible_wrap` and `cast_sign_loss` deny it).

use std::time::Duration;

/// Whole milliseconds of `d`.
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Whole milliseconds of `d`, for arithmetic with epoch milliseconds (`i64`).
pub fn millis_i64(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Whole microseconds of `d`.
pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Whole nanoseconds of `d`.
pub fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A count or size as `i64` (Redis integers, gauges, PostgreSQL `bigint`).
pub fn i64_of(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}

/// A count as `u32` (attempts, batch sizes).
pub fn u32_of(n: impl TryInto<u32>) -> u32 {
    n.try_into().unwrap_or(u32::MAX)
}

/// A count or size as `usize`.
pub fn usize_of(n: impl TryInto<usize>) -> usize {
    n.try_into().unwrap_or(usize::MAX)
}

/// A signed number that cannot be negative here (a level, a wait) as `u64`; below 0 is 0.
pub fn u64_of(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A float rounded toward zero into `u64`: below 0 and NaN give 0, above the range gives
/// `u64::MAX` (what `as` does, written down once).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub fn u64_from_f64(f: f64) -> u64 {
    f as u64
}

/// A float rounded toward zero into `i64`, saturating (NaN gives 0).
#[allow(clippy::cast_possible_truncation)]
pub fn i64_from_f64(f: f64) -> i64 {
    f as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_saturate_instead_of_wrapping() {
        assert_eq!(millis(Duration::from_millis(1500)), 1500);
        assert_eq!(millis(Duration::MAX), u64::MAX);
        assert_eq!(millis_i64(Duration::MAX), i64::MAX);
        assert_eq!(nanos(Duration::from_secs(u64::MAX)), u64::MAX);
        assert_eq!(i64_of(u64::MAX), i64::MAX);
        assert_eq!(i64_of(7usize), 7);
        assert_eq!(u32_of(u64::from(u32::MAX) + 1), u32::MAX);
        assert_eq!(u64_of(-5), 0);
        assert_eq!(u64_from_f64(-1.5), 0);
        assert_eq!(u64_from_f64(f64::NAN), 0);
        assert_eq!(u64_from_f64(2.9), 2);
        assert_eq!(i64_from_f64(1e300), i64::MAX);
    }
}
