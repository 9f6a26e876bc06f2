//! Float-to-integer conversions for estimates (bloat pages, durations).
//! Rust's `as` from a float saturates at the integer's bounds and maps NaN
//! to 0, which is exactly what an estimate wants; the cast lints cannot
//! know that, so the allow and its reason live here, once.

/// `x` rounded towards zero, clamped to `i64` (NaN is 0).
#[allow(
    clippy::cast_possible_truncation,
    reason = "float-to-int `as` saturates and maps NaN to 0: the clamping an estimate wants"
)]
pub fn saturating_i64(x: f64) -> i64 {
    x as i64
}

/// `x` rounded towards zero, clamped to `u64` (negative and NaN are 0).
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "float-to-int `as` saturates (negatives to 0) and maps NaN to 0: the clamping an estimate wants"
)]
pub fn saturating_u64(x: f64) -> u64 {
    x as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_saturate() {
        assert_eq!(saturating_i64(41.9), 41);
        assert_eq!(saturating_i64(f64::NAN), 0);
        assert_eq!(saturating_i64(1e300), i64::MAX);
        assert_eq!(saturating_u64(-3.0), 0);
        assert_eq!(saturating_u64(f64::INFINITY), u64::MAX);
        assert_eq!(saturating_u64(1050.7), 1050);
    }
}
