//! Dates and times: SQLite's ISO-8601 text, Unix epoch integers and Julian
//! day numbers read into one UTC time, and PostgreSQL's binary form of it
//! (days or microseconds since 2000-01-01), by arithmetic.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use rusqlite::types::ValueRef;

use super::IntDates;

/// Days since PostgreSQL's epoch (2000-01-01), by arithmetic: this runs
/// for every date and timestamp copied.
pub(super) fn pg_days(dt: &NaiveDateTime) -> i64 {
    const EPOCH_FROM_CE: i64 = 730_120; // 2000-01-01 as days from 0001-01-01 (day 1)
    i64::from(dt.date().num_days_from_ce()) - EPOCH_FROM_CE
}

/// Microseconds since PostgreSQL's epoch (a leap second counts into the next one).
pub(super) fn pg_micros(dt: &NaiveDateTime) -> Option<i64> {
    let t = dt.time();
    let in_day = i64::from(t.num_seconds_from_midnight()) * 1_000_000 + i64::from(t.nanosecond() / 1000);
    pg_days(dt).checked_mul(86_400_000_000)?.checked_add(in_day)
}

#[cfg(test)]
fn pg_epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .unwrap_or_default()
        .and_time(NaiveTime::MIN)
}

pub(super) fn datetime(v: ValueRef<'_>, rule: IntDates) -> Result<NaiveDateTime, String> {
    match (v, rule) {
        (ValueRef::Integer(i), IntDates::UnixSeconds) => DateTime::from_timestamp(i, 0)
            .map(|d| d.naive_utc())
            .ok_or_else(|| "epoch seconds out of range".into()),
        (ValueRef::Integer(i), IntDates::UnixMilliseconds) => DateTime::from_timestamp_millis(i)
            .map(|d| d.naive_utc())
            .ok_or_else(|| "epoch milliseconds out of range".into()),
        #[allow(
            clippy::cast_precision_loss,
            reason = "Julian day numbers are far below 2^53, where doubles are exact"
        )]
        (ValueRef::Integer(i), IntDates::JulianDay) => datetime(ValueRef::Real(i as f64), rule),
        (ValueRef::Real(jd), _) => {
            if !jd.is_finite() {
                return Err("Julian day is not finite".into());
            }
            #[allow(
                clippy::cast_possible_truncation,
                reason = "a finite day number; one beyond i64 saturates and is refused as out of range below"
            )]
            let ms = ((jd - 2_440_587.5) * 86_400_000.0).round() as i64;
            DateTime::from_timestamp_millis(ms)
                .map(|d| d.naive_utc())
                .ok_or_else(|| "Julian day out of range".into())
        }
        (ValueRef::Text(t), _) => {
            let s = std::str::from_utf8(t).map_err(|_| "invalid UTF-8 in a date column".to_owned())?;
            parse_iso(s).ok_or_else(|| "not an ISO-8601 date/time".into())
        }
        (ValueRef::Blob(_), _) => Err("BLOB value in a date/time column".into()),
        (ValueRef::Null, _) => Err("null".into()),
    }
}

/// `s`, an ISO-8601 date/time, as PostgreSQL reads it for a column of
/// type `ty` (in UTC); astronomical year 0 and negative years are written
/// as the BC years they are (year 0 is 1 BC). `None`: not such a value.
pub fn pg_text(s: &str, ty: &str) -> Option<String> {
    let dt = parse_iso(s)?;
    let y = dt.year();
    let (year, bc) = if y <= 0 { (1 - y, " BC") } else { (y, "") };
    let date = format!("{year:04}-{:02}-{:02}", dt.month(), dt.day());
    Some(match ty {
        "date" => format!("{date}{bc}"),
        "timestamp with time zone" => format!("{date} {}+00{bc}", dt.format("%H:%M:%S%.f")),
        _ => format!("{date} {}{bc}", dt.format("%H:%M:%S%.f")),
    })
}

/// Parse SQLite's ISO-8601 forms; an offset converts to UTC.
pub fn parse_iso(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim_end();
    let (body, offset_secs) = if let Some(b) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        (b, 0i64)
    } else if s.len() > 16 && matches!(s.as_bytes()[s.len() - 6], b'+' | b'-') && s.as_bytes()[s.len() - 3] == b':' {
        let (b, off) = s.split_at(s.len() - 6);
        let h: i64 = off[1..3].parse().ok()?;
        let m: i64 = off[4..6].parse().ok()?;
        let sign = if off.starts_with('-') { -1 } else { 1 };
        (b, sign * (h * 3600 + m * 60))
    } else {
        (s, 0)
    };
    let dt = iso_body(body.as_bytes())?;
    if offset_secs == 0 {
        return Some(dt);
    }
    dt.checked_sub_signed(chrono::Duration::seconds(offset_secs))
}

/// `YYYY-MM-DD`, or that plus `[ T]HH:MM[:SS[.f]]` with at most microsecond
/// precision (digits past the sixth must be zero).
fn iso_body(b: &[u8]) -> Option<NaiveDateTime> {
    fn num(b: &[u8]) -> Option<u32> {
        if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(b.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0')))
    }
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(num(&b[..4])?).ok()?, num(&b[5..7])?, num(&b[8..10])?)?;
    if b.len() == 10 {
        return Some(date.and_time(NaiveTime::MIN));
    }
    if b.len() < 16 || !(b[10] == b' ' || b[10] == b'T') || b[13] != b':' {
        return None;
    }
    let (h, mi) = (num(&b[11..13])?, num(&b[14..16])?);
    let (mut sec, mut micros) = (0, 0);
    if b.len() > 16 {
        if b.len() < 19 || b[16] != b':' {
            return None;
        }
        sec = num(&b[17..19])?;
        if b.len() > 19 {
            let frac = &b[20..];
            if b[19] != b'.' || frac.is_empty() || frac.len() > 9 || !frac.iter().all(u8::is_ascii_digit) {
                return None;
            }
            if frac.len() > 6 && frac[6..].iter().any(|d| *d != b'0') {
                return None;
            }
            let mut us = 0;
            for k in 0..6 {
                us = us * 10 + frac.get(k).map_or(0, |d| u32::from(d - b'0'));
            }
            micros = us;
        }
    }
    Some(date.and_time(NaiveTime::from_hms_micro_opt(h, mi, sec, micros)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_arithmetic_matches_chrono() {
        for s in [
            "2000-01-01 00:00:00",
            "1999-12-31 23:59:59.999999",
            "1970-01-01 00:00:00",
            "0001-01-01 00:00:00",
            "2024-02-29 12:34:56.5",
            "9999-12-31 23:59:59",
        ] {
            let dt = parse_iso(s).unwrap();
            assert_eq!(pg_micros(&dt), (dt - pg_epoch()).num_microseconds(), "{s}");
            assert_eq!(pg_days(&dt), (dt.date() - pg_epoch().date()).num_days(), "{s}");
        }
        assert_eq!(parse_iso("2020-06-01T12:00:00+02:00"), parse_iso("2020-06-01 10:00:00"));
    }
}
