//! One SQLite value to one binary COPY field, per target kind: the copy
//! loop calls [`encode`] for every value, so each conversion appends to the
//! COPY buffer directly and allocates only where a type needs text (numeric,
//! jsonb, numbers into text columns).

use chrono::NaiveTime;
use rusqlite::types::ValueRef;

use super::datetime::{datetime, pg_days, pg_micros};
use super::json::jsonb_canonical;
use super::numeric::{decimal, numeric_bin};
use super::{IntDates, Kind};

/// Encode one value for the copy loop: the payload is *appended* to `out`
/// (the COPY buffer itself; on an error it may hold part of it), and
/// `canon` (cleared first) gets the bytes the checksum covers when they are
/// not the payload itself (numeric and jsonb, which the verification reads
/// back as text); it stays empty otherwise (one copy less per value).
/// `Ok(false)` means NULL. `rule` reads integers in date/time columns.
///
/// # Errors
/// The rule the value breaks.
pub fn encode(
    kind: Kind,
    rule: IntDates,
    v: ValueRef<'_>,
    out: &mut Vec<u8>,
    canon: &mut Vec<u8>,
) -> Result<bool, String> {
    canon.clear();
    if matches!(v, ValueRef::Null) {
        return Ok(false);
    }
    match kind {
        Kind::Int2 => {
            let x = i16::try_from(int(v)?).map_err(|_| "integer out of smallint range".to_owned())?;
            out.extend_from_slice(&x.to_be_bytes());
        }
        Kind::Int4 => {
            let x = i32::try_from(int(v)?).map_err(|_| "integer out of integer range".to_owned())?;
            out.extend_from_slice(&x.to_be_bytes());
        }
        Kind::Int8 => out.extend_from_slice(&int(v)?.to_be_bytes()),
        Kind::Bool => out.push(u8::from(boolean(v)?)),
        Kind::Float8 => out.extend_from_slice(&float(v)?.to_bits().to_be_bytes()),
        Kind::Float4 => out.extend_from_slice(&float4(v)?.to_bits().to_be_bytes()),
        Kind::Numeric { precision, scale } => {
            let text = numeric_bin(&decimal(v)?, precision, scale, out)?;
            canon.extend_from_slice(text.as_bytes());
        }
        Kind::Text { max_chars } => text_field(v, max_chars, out)?,
        Kind::Bytea => match v {
            ValueRef::Blob(b) => out.extend_from_slice(b),
            ValueRef::Text(_) => return Err("text in a BLOB column".into()),
            _ => return Err("number in a BLOB column".into()),
        },
        Kind::Date => out.extend_from_slice(&date(v, rule)?.to_be_bytes()),
        Kind::Timestamp(p) | Kind::Timestamptz(p) => out.extend_from_slice(&timestamp(v, rule, p)?.to_be_bytes()),
        Kind::Json => json_field(v, out)?,
        Kind::Jsonb => jsonb_field(v, out, canon)?,
        Kind::Uuid => uuid(v, out)?,
    }
    Ok(true)
}

fn boolean(v: ValueRef<'_>) -> Result<bool, String> {
    Ok(match v {
        ValueRef::Integer(0) => false,
        ValueRef::Integer(1) => true,
        ValueRef::Real(0.0) => false,
        ValueRef::Real(1.0) => true,
        ValueRef::Text(t) => match std::str::from_utf8(t).map(str::to_lowercase).as_deref() {
            Ok("t" | "true" | "1") => true,
            Ok("f" | "false" | "0") => false,
            _ => return Err("not a boolean (0/1/t/f/true/false)".into()),
        },
        _ => return Err("not a boolean (0/1/t/f/true/false)".into()),
    })
}

fn float4(v: ValueRef<'_>) -> Result<f32, String> {
    let f = float(v)?;
    #[allow(
        clippy::cast_possible_truncation,
        reason = "the narrowing is checked right below: a double that does not survive the round trip is refused"
    )]
    let g = f as f32;
    if f64::from(g).to_bits() != f.to_bits() && !f.is_nan() {
        return Err("real (4-byte) cannot hold this double exactly".into());
    }
    Ok(g)
}

fn text_field(v: ValueRef<'_>, max_chars: Option<usize>, out: &mut Vec<u8>) -> Result<(), String> {
    let owned;
    let s = match v {
        ValueRef::Text(_) => text(v)?,
        _ => {
            owned = text_owned(v)?;
            owned.as_str()
        }
    };
    if let Some(n) = max_chars
        && s.chars().count() > n
    {
        return Err(format!("longer than character varying({n})"));
    }
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Days since 2000-01-01, for a value without a time of day.
fn date(v: ValueRef<'_>, rule: IntDates) -> Result<i32, String> {
    let dt = datetime(v, rule)?;
    if dt.time() != NaiveTime::MIN {
        return Err("has a time of day; the target is a date".into());
    }
    // PostgreSQL dates start at Julian day 0 (4714-11-24 BC).
    i32::try_from(pg_days(&dt))
        .ok()
        .filter(|d| *d >= -2_451_545)
        .ok_or_else(|| "date out of PostgreSQL's range".into())
}

/// Microseconds since 2000-01-01, with at most `p` fractional digits.
fn timestamp(v: ValueRef<'_>, rule: IntDates, p: u32) -> Result<i64, String> {
    let dt = datetime(v, rule)?;
    let us = pg_micros(&dt)
        .filter(|us| (-211_813_488_000_000_000..9_223_371_331_200_000_000).contains(us))
        .ok_or("timestamp out of PostgreSQL's range (4713 BC to 294276 AD)")?;
    // The server would round to the column's precision.
    if us.rem_euclid(10i64.pow(6 - p.min(6))) != 0 {
        return Err(format!("has more fractional second digits than timestamp({p})"));
    }
    Ok(us)
}

/// The JSON text of a value (numbers as JSON numbers).
fn json_text(v: ValueRef<'_>) -> Result<String, String> {
    match v {
        ValueRef::Integer(i) => Ok(i.to_string()),
        ValueRef::Real(f) if f.is_finite() => Ok(format!("{f:?}")),
        ValueRef::Real(_) => Err("infinite number is not JSON".into()),
        ValueRef::Text(_) => text(v).map(str::to_owned),
        _ => Err("BLOB value in a JSON column".into()),
    }
}

fn json_field(v: ValueRef<'_>, out: &mut Vec<u8>) -> Result<(), String> {
    let s = json_text(v)?;
    if serde_json::from_str::<serde::de::IgnoredAny>(&s).is_err() {
        return Err("not valid JSON".into());
    }
    if s.contains("\\u0000") {
        return Err("JSON with \\u0000 cannot be stored in PostgreSQL".into());
    }
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn jsonb_field(v: ValueRef<'_>, out: &mut Vec<u8>, canon: &mut Vec<u8>) -> Result<(), String> {
    let s = json_text(v)?;
    // What the server will print must be what we expect (the verification
    // compares the two).
    let canonical = jsonb_canonical(&s)?;
    out.push(1);
    out.extend_from_slice(s.as_bytes());
    canon.extend_from_slice(canonical.as_bytes());
    Ok(())
}

fn uuid(v: ValueRef<'_>, out: &mut Vec<u8>) -> Result<(), String> {
    match v {
        ValueRef::Blob(b) if b.len() == 16 => out.extend_from_slice(b),
        ValueRef::Text(t) => {
            let s = std::str::from_utf8(t).map_err(|_| "invalid UTF-8".to_owned())?;
            let hex: String = if s.len() == 36 && [8, 13, 18, 23].iter().all(|&i| s.as_bytes()[i] == b'-') {
                s.chars().filter(|c| *c != '-').collect()
            } else {
                s.to_owned()
            };
            if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err("not a UUID".into());
            }
            for i in 0..16 {
                out.push(u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| "not a UUID".to_owned())?);
            }
        }
        _ => return Err("not a UUID".into()),
    }
    Ok(())
}

fn int(v: ValueRef<'_>) -> Result<i64, String> {
    match v {
        ValueRef::Integer(i) => Ok(i),
        #[allow(
            clippy::cast_possible_truncation,
            reason = "the guard admits only integral values inside i64's range"
        )]
        ValueRef::Real(f) if f.fract() == 0.0 && (-9.223_372_036_854_775e18..9.223_372_036_854_775e18).contains(&f) => {
            Ok(f as i64)
        }
        ValueRef::Real(_) => Err("real with a fractional part (or out of range) in an integer column".into()),
        ValueRef::Text(t) => {
            let s = std::str::from_utf8(t).map_err(|_| "invalid UTF-8 in an integer column".to_owned())?;
            match s.parse::<i64>() {
                Ok(i) if i.to_string() == s => Ok(i),
                _ => Err("text in an integer column".into()),
            }
        }
        _ => Err("BLOB value in an integer column".into()),
    }
}

fn float(v: ValueRef<'_>) -> Result<f64, String> {
    match v {
        ValueRef::Real(f) => Ok(f),
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            reason = "the round trip back to an integer proves the double exact"
        )]
        ValueRef::Integer(i) => {
            let f = i as f64;
            if f as i128 == i128::from(i) && f.abs() < 9.3e18 {
                Ok(f)
            } else {
                Err("integer not exactly representable as a double".into())
            }
        }
        ValueRef::Text(t) => {
            let s = std::str::from_utf8(t).map_err(|_| "invalid UTF-8 in a double column".to_owned())?;
            match s.to_lowercase().as_str() {
                "infinity" | "inf" | "+infinity" | "+inf" => Ok(f64::INFINITY),
                "-infinity" | "-inf" => Ok(f64::NEG_INFINITY),
                "nan" => Ok(f64::NAN),
                _ => match s.parse::<f64>() {
                    Ok(f) if f.is_finite() && (format!("{f}") == s || format!("{f:?}") == s) => Ok(f),
                    _ => Err("text in a double precision column".into()),
                },
            }
        }
        _ => Err("BLOB value in a double precision column".into()),
    }
}

fn text(v: ValueRef<'_>) -> Result<&str, String> {
    match v {
        ValueRef::Text(t) => {
            let s = std::str::from_utf8(t).map_err(|e| format!("invalid UTF-8 at byte {}", e.valid_up_to()))?;
            if s.contains('\0') {
                return Err("NUL byte in text (PostgreSQL text cannot hold it)".into());
            }
            Ok(s)
        }
        _ => Err("not text".into()),
    }
}

/// Text columns also take numbers, written in decimal.
fn text_owned(v: ValueRef<'_>) -> Result<String, String> {
    match v {
        ValueRef::Integer(i) => Ok(i.to_string()),
        ValueRef::Real(f) => Ok(format!("{f:?}")),
        ValueRef::Blob(_) => Err("BLOB value in a text column".into()),
        _ => text(v).map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::datetime::parse_iso;

    /// As the copy loop does, with `canon` filled in as the checksummed bytes.
    fn encode(k: Kind, v: ValueRef<'_>, out: &mut Vec<u8>, canon: &mut Vec<u8>) -> Result<bool, String> {
        out.clear();
        let some = super::encode(k, IntDates::UnixSeconds, v, out, canon)?;
        if some && canon.is_empty() {
            canon.extend_from_slice(out);
        }
        Ok(some)
    }

    fn enc(k: Kind, v: ValueRef<'_>) -> Result<Vec<u8>, String> {
        let mut o = Vec::new();
        let mut c = Vec::new();
        encode(k, v, &mut o, &mut c).map(|_| o)
    }

    #[test]
    fn numerics() {
        let k = Kind::Numeric {
            precision: Some(10),
            scale: Some(2),
        };
        let mut o = Vec::new();
        let mut c = Vec::new();
        encode(k, ValueRef::Real(0.99), &mut o, &mut c).unwrap();
        assert_eq!(c, b"0.99");
        assert_eq!(o, [0, 1, 0xff, 0xff, 0, 0, 0, 2, 0x26, 0xac]);
        encode(k, ValueRef::Integer(12345), &mut o, &mut c).unwrap();
        assert_eq!(c, b"12345.00");
        assert!(enc(k, ValueRef::Real(1.005)).is_err());
        assert!(enc(k, ValueRef::Integer(123_456_789_012)).is_err());
        let k = Kind::Numeric {
            precision: None,
            scale: None,
        };
        encode(k, ValueRef::Text(b"-1.50e1"), &mut o, &mut c).unwrap();
        assert_eq!(c, b"-15.0");
    }

    #[test]
    fn dates() {
        let d = parse_iso("2020-01-02 03:04:05.123456").unwrap();
        assert_eq!(d.to_string(), "2020-01-02 03:04:05.123456");
        assert_eq!(
            parse_iso("2020-01-02T03:04:05+02:00").unwrap().to_string(),
            "2020-01-02 01:04:05"
        );
        assert!(parse_iso("2020-01-02 03:04:05.1234567").is_none());
        assert_eq!(
            enc(Kind::Date, ValueRef::Text(b"2000-01-02")).unwrap(),
            1i32.to_be_bytes()
        );
        // 2000-01-01 as Julian day and epoch.
        assert_eq!(
            enc(Kind::Date, ValueRef::Real(2_451_544.5)).unwrap(),
            0i32.to_be_bytes()
        );
        assert_eq!(
            enc(Kind::Date, ValueRef::Integer(946_684_800)).unwrap(),
            0i32.to_be_bytes()
        );
        assert!(enc(Kind::Date, ValueRef::Text(b"2000-01-01 10:00:00")).is_err());
        assert!(enc(Kind::Timestamp(6), ValueRef::Integer(-210_866_803_200)).is_ok());
        assert!(enc(Kind::Timestamp(6), ValueRef::Integer(-210_866_803_201)).is_err());
        assert!(enc(Kind::Timestamp(6), ValueRef::Integer(-220_000_000_000)).is_err());
        assert!(enc(Kind::Date, ValueRef::Integer(-220_000_000_000)).is_err());
        let k = Kind::from_pg("timestamp(3) without time zone").unwrap();
        assert_eq!(k, Kind::Timestamp(3));
        assert!(enc(k, ValueRef::Text(b"2000-01-01 10:00:00.123")).is_ok());
        assert!(enc(k, ValueRef::Text(b"2000-01-01 10:00:00.1234")).is_err());
        assert!(enc(Kind::Timestamptz(0), ValueRef::Text(b"1969-12-31 23:59:59.5")).is_err());
        assert!(enc(Kind::Timestamptz(0), ValueRef::Text(b"1969-12-31 23:59:59")).is_ok());
    }

    #[test]
    fn jsonb_is_checked_against_its_canonical_text() {
        let mut o = Vec::new();
        let mut k = Vec::new();
        encode(Kind::Jsonb, ValueRef::Text(br#"{"b":1,"a":2}"#), &mut o, &mut k).unwrap();
        assert_eq!(k, br#"{"a": 2, "b": 1}"#);
        assert!(enc(Kind::Jsonb, ValueRef::Text(br#"{"a":1,"a":2}"#)).is_err());
        assert!(enc(Kind::Json, ValueRef::Text(br#"{"a":1,"a":2}"#)).is_ok());
    }

    #[test]
    fn refusals() {
        assert!(enc(Kind::Text { max_chars: None }, ValueRef::Text(b"a\0b")).is_err());
        assert!(enc(Kind::Text { max_chars: None }, ValueRef::Text(b"\xff")).is_err());
        assert!(enc(Kind::Bytea, ValueRef::Text(b"x")).is_err());
        assert!(enc(Kind::Float8, ValueRef::Integer(i64::MAX)).is_err());
        assert!(enc(Kind::Bool, ValueRef::Integer(2)).is_err());
    }
}
