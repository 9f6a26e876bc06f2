//! SQLite values to PostgreSQL binary COPY fields, by the rules in the plan.
//! Every conversion either keeps the value exactly (by the documented rule)
//! or fails with the rule it breaks: nothing is changed silently.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use rusqlite::types::ValueRef;

/// The PostgreSQL column types we write, as the server reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int2,
    Int4,
    Int8,
    Bool,
    Float4,
    Float8,
    /// `scale`/`precision` from the typmod, when there is one.
    Numeric {
        precision: Option<u32>,
        scale: Option<u32>,
    },
    Text {
        max_chars: Option<usize>,
    },
    Bytea,
    Date,
    Timestamp,
    Timestamptz,
    Json,
    Jsonb,
    Uuid,
}

impl Kind {
    /// From `format_type(atttypid, atttypmod)`.
    pub fn from_pg(t: &str) -> Option<Kind> {
        if let Some(rest) = t.strip_prefix("timestamp(") {
            return match rest.split_once(')').map(|(_, z)| z.trim()) {
                Some("without time zone") => Some(Kind::Timestamp),
                Some("with time zone") => Some(Kind::Timestamptz),
                _ => None,
            };
        }
        let (base, args) = match t.find('(') {
            Some(p) => (
                &t[..p],
                t[p + 1..]
                    .trim_end_matches(')')
                    .split(',')
                    .filter_map(|a| a.trim().parse::<u32>().ok())
                    .collect::<Vec<_>>(),
            ),
            None => (t, Vec::new()),
        };
        Some(match base {
            "smallint" => Kind::Int2,
            "integer" => Kind::Int4,
            "bigint" => Kind::Int8,
            "boolean" => Kind::Bool,
            "real" => Kind::Float4,
            "double precision" => Kind::Float8,
            "numeric" => Kind::Numeric {
                precision: args.first().copied(),
                scale: args.get(1).copied().or(args.first().map(|_| 0)),
            },
            "text" => Kind::Text { max_chars: None },
            "character varying" => Kind::Text {
                max_chars: args.first().map(|n| *n as usize),
            },
            "bytea" => Kind::Bytea,
            "date" => Kind::Date,
            "timestamp without time zone" => Kind::Timestamp,
            "timestamp with time zone" => Kind::Timestamptz,
            "json" => Kind::Json,
            "jsonb" => Kind::Jsonb,
            "uuid" => Kind::Uuid,
            _ => return None,
        })
    }

    /// What to select for column `c` so that its binary COPY output is
    /// exactly the canonical bytes [`encode`] gives.
    pub fn checksum_select(self, c: &str) -> String {
        match self {
            Kind::Numeric { .. } => format!("{c}::text"),
            Kind::Jsonb => format!("CASE WHEN {c} IS NULL THEN NULL ELSE '\\x'::bytea END"),
            _ => c.to_owned(),
        }
    }
}

/// Encode one value: the binary COPY payload goes to `out`, the bytes the
/// checksum covers to `canon` (cleared first). `Ok(false)` means NULL.
///
/// # Errors
/// The rule the value breaks.
pub fn encode(kind: Kind, v: ValueRef<'_>, out: &mut Vec<u8>, canon: &mut Vec<u8>) -> Result<bool, String> {
    encode_with(kind, IntDates::UnixSeconds, v, out, canon)
}

/// How integers in a date/time column are read (the plan's `integers` rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IntDates {
    #[default]
    UnixSeconds,
    UnixMilliseconds,
    JulianDay,
}

impl IntDates {
    /// From the plan's text.
    pub fn parse(s: &str) -> Option<IntDates> {
        match s {
            "unix-seconds" => Some(IntDates::UnixSeconds),
            "unix-milliseconds" => Some(IntDates::UnixMilliseconds),
            "julian-day" => Some(IntDates::JulianDay),
            _ => None,
        }
    }
}

/// [`encode`] with an explicit rule for integers in date/time columns.
///
/// # Errors
/// The rule the value breaks.
pub fn encode_with(
    kind: Kind,
    rule: IntDates,
    v: ValueRef<'_>,
    out: &mut Vec<u8>,
    canon: &mut Vec<u8>,
) -> Result<bool, String> {
    out.clear();
    canon.clear();
    if matches!(v, ValueRef::Null) {
        return Ok(false);
    }
    match kind {
        Kind::Int2 => {
            let i = int(v)?;
            let x = i16::try_from(i).map_err(|_| "integer out of smallint range".to_owned())?;
            out.extend_from_slice(&x.to_be_bytes());
        }
        Kind::Int4 => {
            let i = int(v)?;
            let x = i32::try_from(i).map_err(|_| "integer out of integer range".to_owned())?;
            out.extend_from_slice(&x.to_be_bytes());
        }
        Kind::Int8 => out.extend_from_slice(&int(v)?.to_be_bytes()),
        Kind::Bool => {
            let b = match v {
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
            };
            out.push(u8::from(b));
        }
        Kind::Float8 => out.extend_from_slice(&float(v)?.to_bits().to_be_bytes()),
        Kind::Float4 => {
            let f = float(v)?;
            #[allow(clippy::cast_possible_truncation)]
            let g = f as f32;
            if f64::from(g).to_bits() != f.to_bits() && !f.is_nan() {
                return Err("real (4-byte) cannot hold this double exactly".into());
            }
            out.extend_from_slice(&g.to_bits().to_be_bytes());
        }
        Kind::Numeric { precision, scale } => {
            let d = decimal(v)?;
            let text = numeric_bin(&d, precision, scale, out)?;
            canon.extend_from_slice(text.as_bytes());
            return Ok(true);
        }
        Kind::Text { max_chars } => {
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
        }
        Kind::Bytea => match v {
            ValueRef::Blob(b) => out.extend_from_slice(b),
            ValueRef::Text(_) => return Err("text in a BLOB column".into()),
            _ => return Err("number in a BLOB column".into()),
        },
        Kind::Date => {
            let dt = datetime(v, rule)?;
            if dt.time() != NaiveTime::MIN {
                return Err("has a time of day; the target is a date".into());
            }
            let days = (dt.date() - pg_epoch().date()).num_days();
            let d = i32::try_from(days).map_err(|_| "date out of range".to_owned())?;
            out.extend_from_slice(&d.to_be_bytes());
        }
        Kind::Timestamp | Kind::Timestamptz => {
            let dt = datetime(v, rule)?;
            let us = (dt - pg_epoch()).num_microseconds().ok_or("timestamp out of range")?;
            out.extend_from_slice(&us.to_be_bytes());
        }
        Kind::Json | Kind::Jsonb => {
            let s = match v {
                ValueRef::Integer(i) => i.to_string(),
                ValueRef::Real(f) if f.is_finite() => format!("{f:?}"),
                ValueRef::Real(_) => return Err("infinite number is not JSON".into()),
                ValueRef::Text(_) => {
                    let s = text(v)?;
                    if serde_json::from_str::<serde::de::IgnoredAny>(s).is_err() {
                        return Err("not valid JSON".into());
                    }
                    if s.contains("\\u0000") {
                        return Err("JSON with \\u0000 cannot be stored in PostgreSQL".into());
                    }
                    s.to_owned()
                }
                _ => return Err("BLOB value in a JSON column".into()),
            };
            if kind == Kind::Jsonb {
                out.push(1);
                out.extend_from_slice(s.as_bytes());
                return Ok(true);
            }
            out.extend_from_slice(s.as_bytes());
        }
        Kind::Uuid => match v {
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
        },
    }
    canon.extend_from_slice(out);
    Ok(true)
}

fn pg_epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .unwrap_or_default()
        .and_time(NaiveTime::MIN)
}

fn int(v: ValueRef<'_>) -> Result<i64, String> {
    match v {
        ValueRef::Integer(i) => Ok(i),
        #[allow(clippy::cast_possible_truncation)]
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
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
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
pub fn text_owned(v: ValueRef<'_>) -> Result<String, String> {
    match v {
        ValueRef::Integer(i) => Ok(i.to_string()),
        ValueRef::Real(f) => Ok(format!("{f:?}")),
        ValueRef::Blob(_) => Err("BLOB value in a text column".into()),
        _ => text(v).map(str::to_owned),
    }
}

/// A decimal: sign, integer digits, fraction digits (or a special).
#[derive(Debug)]
pub enum Decimal {
    Finite { neg: bool, int: String, frac: String },
    NaN,
    Inf(bool),
}

fn decimal(v: ValueRef<'_>) -> Result<Decimal, String> {
    match v {
        ValueRef::Integer(i) => parse_decimal(&i.to_string()).ok_or_else(|| "integer".into()),
        ValueRef::Real(f) if f.is_nan() => Ok(Decimal::NaN),
        ValueRef::Real(f) if f.is_infinite() => Ok(Decimal::Inf(f < 0.0)),
        // Display of f64 is the shortest exact decimal, never in exponent form.
        ValueRef::Real(f) => parse_decimal(&format!("{f}")).ok_or_else(|| "real".into()),
        ValueRef::Text(t) => {
            let s = std::str::from_utf8(t).map_err(|_| "invalid UTF-8 in a numeric column".to_owned())?;
            match s.to_lowercase().as_str() {
                "nan" => Ok(Decimal::NaN),
                "infinity" | "inf" => Ok(Decimal::Inf(false)),
                "-infinity" | "-inf" => Ok(Decimal::Inf(true)),
                _ => parse_decimal(s).ok_or_else(|| "text in a numeric column".into()),
            }
        }
        _ => Err("BLOB value in a numeric column".into()),
    }
}

/// Parse a plain or exponent decimal literal.
pub fn parse_decimal(s: &str) -> Option<Decimal> {
    let (neg, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (mant, exp) = match rest.find(['e', 'E']) {
        Some(p) => (&rest[..p], rest[p + 1..].parse::<i64>().ok()?),
        None => (rest, 0),
    };
    let (ip, fp) = match mant.find('.') {
        Some(p) => (&mant[..p], &mant[p + 1..]),
        None => (mant, ""),
    };
    if ip.is_empty() && fp.is_empty() || !ip.bytes().chain(fp.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    if exp.abs() > 2000 {
        return None;
    }
    let digits = format!("{ip}{fp}");
    let point = i64::try_from(ip.len()).ok()? + exp;
    let (int, frac) = if point <= 0 {
        (
            String::new(),
            format!("{}{digits}", "0".repeat(usize::try_from(-point).ok()?)),
        )
    } else if usize::try_from(point).ok()? >= digits.len() {
        (
            format!("{digits}{}", "0".repeat(usize::try_from(point).ok()? - digits.len())),
            String::new(),
        )
    } else {
        let p = usize::try_from(point).ok()?;
        (digits[..p].to_owned(), digits[p..].to_owned())
    };
    let int = int.trim_start_matches('0').to_owned();
    Some(Decimal::Finite { neg, int, frac })
}

/// Encode a decimal as binary numeric (into `out`) and return the text
/// PostgreSQL will print for it.
fn numeric_bin(d: &Decimal, precision: Option<u32>, scale: Option<u32>, out: &mut Vec<u8>) -> Result<String, String> {
    let special = |sign: u16, out: &mut Vec<u8>| {
        out.extend_from_slice(&0u16.to_be_bytes());
        out.extend_from_slice(&0i16.to_be_bytes());
        out.extend_from_slice(&sign.to_be_bytes());
        out.extend_from_slice(&0u16.to_be_bytes());
    };
    let (neg, int, mut frac) = match d {
        Decimal::NaN => {
            special(0xC000, out);
            return Ok("NaN".into());
        }
        Decimal::Inf(n) => {
            if precision.is_some() {
                return Err("infinity does not fit a numeric with a precision".into());
            }
            special(if *n { 0xF000 } else { 0xD000 }, out);
            return Ok(if *n { "-Infinity" } else { "Infinity" }.into());
        }
        Decimal::Finite { neg, int, frac } => (*neg, int.clone(), frac.clone()),
    };
    if let Some(s) = scale {
        let s = s as usize;
        if frac.len() > s {
            if frac[s..].bytes().any(|b| b != b'0') {
                return Err(format!("would be rounded to scale {s}"));
            }
            frac.truncate(s);
        }
        while frac.len() < s {
            frac.push('0');
        }
        if let Some(p) = precision
            && int.len() > (p as usize).saturating_sub(s)
        {
            return Err(format!("does not fit numeric({p},{s})"));
        }
    }
    let dscale = frac.len();
    let zero = int.bytes().chain(frac.bytes()).all(|b| b == b'0');
    let neg = neg && !zero;
    let text = format!(
        "{}{}{}{}",
        if neg { "-" } else { "" },
        if int.is_empty() { "0" } else { &int },
        if frac.is_empty() { "" } else { "." },
        frac
    );
    // Base-10000 digits.
    let ipad = (4 - int.len() % 4) % 4;
    let istr = format!("{}{int}", "0".repeat(ipad));
    let fpad = (4 - frac.len() % 4) % 4;
    let fstr = format!("{frac}{}", "0".repeat(fpad));
    let mut groups: Vec<u16> = Vec::new();
    for chunk in istr.as_bytes().chunks(4).chain(fstr.as_bytes().chunks(4)) {
        let g = chunk.iter().fold(0u16, |a, b| a * 10 + u16::from(b - b'0'));
        groups.push(g);
    }
    let mut weight = i32::try_from(istr.len() / 4).unwrap_or(0) - 1;
    let mut start = 0;
    while start < groups.len() && groups[start] == 0 {
        start += 1;
        weight -= 1;
    }
    let mut end = groups.len();
    while end > start && groups[end - 1] == 0 {
        end -= 1;
    }
    let digits = &groups[start..end];
    if digits.is_empty() {
        weight = 0;
    }
    let nd = u16::try_from(digits.len()).map_err(|_| "numeric too long".to_owned())?;
    out.extend_from_slice(&nd.to_be_bytes());
    out.extend_from_slice(
        &i16::try_from(weight)
            .map_err(|_| "numeric out of range".to_owned())?
            .to_be_bytes(),
    );
    out.extend_from_slice(&(if neg { 0x4000u16 } else { 0 }).to_be_bytes());
    out.extend_from_slice(
        &u16::try_from(dscale)
            .map_err(|_| "numeric scale too large".to_owned())?
            .to_be_bytes(),
    );
    for g in digits {
        out.extend_from_slice(&g.to_be_bytes());
    }
    Ok(text)
}

fn datetime(v: ValueRef<'_>, rule: IntDates) -> Result<NaiveDateTime, String> {
    match (v, rule) {
        (ValueRef::Integer(i), IntDates::UnixSeconds) => DateTime::from_timestamp(i, 0)
            .map(|d| d.naive_utc())
            .ok_or_else(|| "epoch seconds out of range".into()),
        (ValueRef::Integer(i), IntDates::UnixMilliseconds) => DateTime::from_timestamp_millis(i)
            .map(|d| d.naive_utc())
            .ok_or_else(|| "epoch milliseconds out of range".into()),
        #[allow(clippy::cast_precision_loss)]
        (ValueRef::Integer(i), IntDates::JulianDay) => datetime(ValueRef::Real(i as f64), rule),
        (ValueRef::Real(jd), _) => {
            if !jd.is_finite() {
                return Err("Julian day is not finite".into());
            }
            #[allow(clippy::cast_possible_truncation)]
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
    Some(dt - chrono::Duration::seconds(offset_secs))
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

/// Check a default literal the same way as data (for DDL defaults).
pub fn check_literal(s: &str, ty: &str) -> Result<(), String> {
    let Some(kind) = Kind::from_pg(ty) else {
        return Ok(());
    };
    let mut a = Vec::new();
    let mut b = Vec::new();
    encode(kind, ValueRef::Text(s.as_bytes()), &mut a, &mut b).map(|_| ())
}

/// Base64 (standard alphabet, padded) for reject files.
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        s.push(T[(n >> 18) as usize & 63] as char);
        s.push(T[(n >> 12) as usize & 63] as char);
        s.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        s.push(if c.len() > 2 { T[n as usize & 63] as char } else { '=' });
    }
    s
}

/// A value as JSON, losslessly: numbers as numbers (reals as strings when
/// not finite), text as a string when valid UTF-8 without NUL, else base64.
pub fn to_json(v: ValueRef<'_>) -> serde_json::Value {
    use serde_json::json;
    match v {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(i) => json!({ "integer": i }),
        ValueRef::Real(f) if f.is_finite() => json!({ "real": f }),
        ValueRef::Real(f) => json!({ "real": format!("{f}") }),
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(s) if !s.contains('\0') => json!({ "text": s }),
            _ => json!({ "text_base64": base64(t) }),
        },
        ValueRef::Blob(b) => json!({ "blob_base64": base64(b) }),
    }
}

/// A value shortened for an error message.
pub fn short(v: ValueRef<'_>) -> String {
    let s = match v {
        ValueRef::Null => "NULL".to_owned(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => format!("{f:?}"),
        ValueRef::Text(t) => format!("'{}'", String::from_utf8_lossy(t).replace('\0', "\\0")),
        ValueRef::Blob(b) => format!(
            "x'{}'",
            b.iter().take(24).map(|x| format!("{x:02x}")).collect::<String>()
        ),
    };
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn refusals() {
        assert!(enc(Kind::Text { max_chars: None }, ValueRef::Text(b"a\0b")).is_err());
        assert!(enc(Kind::Text { max_chars: None }, ValueRef::Text(b"\xff")).is_err());
        assert!(enc(Kind::Bytea, ValueRef::Text(b"x")).is_err());
        assert!(enc(Kind::Float8, ValueRef::Integer(i64::MAX)).is_err());
        assert!(enc(Kind::Bool, ValueRef::Integer(2)).is_err());
        assert_eq!(base64(b"ab"), "YWI=");
    }
}
