//! Human durations for flags: `500ms`, `10s`, `5m`, `2h`, `35d`.

use std::time::Duration;

/// Parse a duration with a unit suffix (ms, s, m, h, d); a bare number means
/// seconds. Used as a clap `value_parser`.
pub fn parse(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?} (try 500ms, 10s, 5m, 2h, 1d)"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" | "sec" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        other => {
            return Err(format!(
                "invalid duration unit {other:?} in {s:?} (use ms, s, m, h or d)"
            ));
        }
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("invalid duration {s:?}"));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| format!("duration {s:?} is too long"))
}

/// Like [`parse`], but at most a day: longer timeouts and intervals are
/// mistakes, and would overflow clock arithmetic.
pub fn parse_at_most_a_day(s: &str) -> Result<Duration, String> {
    let d = parse(s)?;
    if d > Duration::from_secs(86_400) {
        return Err(format!("duration {s:?} is too long (at most 1d)"));
    }
    Ok(d)
}

/// Milliseconds as a whole number, saturating (for PostgreSQL settings).
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Milliseconds with fractions, for reports.
pub fn millis_f64(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse("10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("35d").unwrap(), Duration::from_secs(35 * 86400));
        assert!(parse("ten").is_err());
        assert!(parse("5y").is_err());
        // Too long for a Duration: an error, not a panic.
        assert!(parse("100000000000000000d").unwrap_err().contains("too long"));
    }
}
