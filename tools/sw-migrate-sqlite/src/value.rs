//! SQLite values to PostgreSQL binary COPY fields, by the rules in the plan.
//! Every conversion either keeps the value exactly (by the documented rule)
//! or fails with the rule it breaks: nothing is changed silently.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
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
    /// Fractional-second digits kept (the typmod; 6 without one).
    Timestamp(u32),
    Timestamptz(u32),
    Json,
    Jsonb,
    Uuid,
}

impl Kind {
    /// From `format_type(atttypid, atttypmod)`.
    pub fn from_pg(t: &str) -> Option<Kind> {
        if let Some(rest) = t.strip_prefix("timestamp(") {
            let (p, zone) = rest.split_once(')')?;
            let p = p.trim().parse::<u32>().ok()?.min(6);
            return match zone.trim() {
                "without time zone" => Some(Kind::Timestamp(p)),
                "with time zone" => Some(Kind::Timestamptz(p)),
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
            // citext (the extension) sends and receives exactly as text:
            // an app's migrations often make case-insensitive columns so.
            "text" | "citext" => Kind::Text { max_chars: None },
            "character varying" => Kind::Text {
                max_chars: args.first().map(|n| *n as usize),
            },
            "bytea" => Kind::Bytea,
            "date" => Kind::Date,
            "timestamp without time zone" => Kind::Timestamp(6),
            "timestamp with time zone" => Kind::Timestamptz(6),
            "json" => Kind::Json,
            "jsonb" => Kind::Jsonb,
            "uuid" => Kind::Uuid,
            _ => return None,
        })
    }

    /// What to select for column `c` so that its binary COPY output is
    /// exactly the canonical bytes [`encode`] gives.
    pub fn checksum_select(self, c: &str) -> String {
        if self.checksum_is_payload() {
            c.to_owned()
        } else {
            format!("{c}::text")
        }
    }

    /// Whether PostgreSQL returns the column to the verification as the
    /// very bytes sent (else as text: [`encode`] fills `canon`).
    pub fn checksum_is_payload(self) -> bool {
        !matches!(self, Kind::Numeric { .. } | Kind::Jsonb)
    }
}

/// Encode one value: the binary COPY payload goes to `out`, the bytes the
/// checksum covers to `canon` (both cleared first). `Ok(false)` means NULL.
///
/// # Errors
/// The rule the value breaks.
pub fn encode(kind: Kind, v: ValueRef<'_>, out: &mut Vec<u8>, canon: &mut Vec<u8>) -> Result<bool, String> {
    out.clear();
    let some = encode_with(kind, IntDates::UnixSeconds, v, out, canon)?;
    if some && canon.is_empty() {
        canon.extend_from_slice(out);
    }
    Ok(some)
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

/// [`encode`] with an explicit rule for integers in date/time columns,
/// for the copy loop: the payload is *appended* to `out` (the COPY buffer
/// itself; on an error it may hold part of it), and `canon` is left empty
/// when the checksum covers the payload itself (one copy less per value).
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
            let days = pg_days(&dt);
            // PostgreSQL dates start at Julian day 0 (4714-11-24 BC).
            let d = i32::try_from(days)
                .ok()
                .filter(|d| *d >= -2_451_545)
                .ok_or("date out of PostgreSQL's range")?;
            out.extend_from_slice(&d.to_be_bytes());
        }
        Kind::Timestamp(p) | Kind::Timestamptz(p) => {
            let dt = datetime(v, rule)?;
            let us = pg_micros(&dt)
                .filter(|us| (-211_813_488_000_000_000..9_223_371_331_200_000_000).contains(us))
                .ok_or("timestamp out of PostgreSQL's range (4713 BC to 294276 AD)")?;
            // The server would round to the column's precision.
            if us.rem_euclid(10i64.pow(6 - p.min(6))) != 0 {
                return Err(format!("has more fractional second digits than timestamp({p})"));
            }
            out.extend_from_slice(&us.to_be_bytes());
        }
        Kind::Json | Kind::Jsonb => {
            let s = match v {
                ValueRef::Integer(i) => i.to_string(),
                ValueRef::Real(f) if f.is_finite() => format!("{f:?}"),
                ValueRef::Real(_) => return Err("infinite number is not JSON".into()),
                ValueRef::Text(_) => text(v)?.to_owned(),
                _ => return Err("BLOB value in a JSON column".into()),
            };
            if kind == Kind::Jsonb {
                // What the server will print must be what we expect (the
                // verification compares the two).
                let canonical = jsonb_canonical(&s)?;
                out.push(1);
                out.extend_from_slice(s.as_bytes());
                canon.extend_from_slice(canonical.as_bytes());
                return Ok(true);
            }
            if serde_json::from_str::<serde::de::IgnoredAny>(&s).is_err() {
                return Err("not valid JSON".into());
            }
            if s.contains("\\u0000") {
                return Err("JSON with \\u0000 cannot be stored in PostgreSQL".into());
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
    Ok(true)
}

/// Days since PostgreSQL's epoch (2000-01-01), by arithmetic: this runs
/// for every date and timestamp copied.
fn pg_days(dt: &NaiveDateTime) -> i64 {
    const EPOCH_FROM_CE: i64 = 730_120; // 2000-01-01 as days from 0001-01-01 (day 1)
    i64::from(dt.date().num_days_from_ce()) - EPOCH_FROM_CE
}

/// Microseconds since PostgreSQL's epoch (a leap second counts into the next one).
fn pg_micros(dt: &NaiveDateTime) -> Option<i64> {
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

/// Parse JSON text as PostgreSQL's jsonb input does and return the text
/// jsonb prints for it (keys ordered by length then bytes, `", "`/`": "`
/// separators, numbers as `numeric` prints them, strings re-escaped). The
/// verification compares this with what the server sends back.
///
/// # Errors
/// Not valid JSON, an object with a duplicate key (jsonb would keep only
/// the last one), `\u0000` or a lone surrogate (jsonb refuses them), a
/// number `numeric` cannot hold, nesting deeper than 1000.
pub fn jsonb_canonical(s: &str) -> Result<String, String> {
    let mut p = JsonParser { b: s.as_bytes(), i: 0 };
    let mut out = String::with_capacity(s.len() + 8);
    p.ws();
    p.value(&mut out, 0)?;
    p.ws();
    if p.i != p.b.len() {
        return Err("not valid JSON (text after the value)".into());
    }
    Ok(out)
}

struct JsonParser<'a> {
    b: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn bad<T>(&self) -> Result<T, String> {
        Err(format!("not valid JSON (at byte {})", self.i))
    }

    fn value(&mut self, out: &mut String, depth: usize) -> Result<(), String> {
        if depth > 1000 {
            return Err("JSON nested deeper than 1000 levels".into());
        }
        match self.b.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut members: Vec<(String, String)> = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        if self.b.get(self.i) != Some(&b'"') {
                            return self.bad();
                        }
                        let key = self.string()?;
                        self.ws();
                        if self.b.get(self.i) != Some(&b':') {
                            return self.bad();
                        }
                        self.i += 1;
                        self.ws();
                        let mut v = String::new();
                        self.value(&mut v, depth + 1)?;
                        members.push((key, v));
                        self.ws();
                        match self.b.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b'}') => {
                                self.i += 1;
                                break;
                            }
                            _ => return self.bad(),
                        }
                    }
                }
                members.sort_by(|a, b| {
                    a.0.len()
                        .cmp(&b.0.len())
                        .then_with(|| a.0.as_bytes().cmp(b.0.as_bytes()))
                });
                if let Some(w) = members.windows(2).find(|w| w[0].0 == w[1].0) {
                    return Err(format!(
                        "JSON object with the key {} twice (jsonb keeps only the last)",
                        escape_json(&w[0].0)
                    ));
                }
                out.push('{');
                for (k, (key, v)) in members.iter().enumerate() {
                    if k > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&escape_json(key));
                    out.push_str(": ");
                    out.push_str(v);
                }
                out.push('}');
            }
            Some(b'[') => {
                self.i += 1;
                out.push('[');
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                } else {
                    let mut first = true;
                    loop {
                        self.ws();
                        if !first {
                            out.push_str(", ");
                        }
                        first = false;
                        self.value(out, depth + 1)?;
                        self.ws();
                        match self.b.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                break;
                            }
                            _ => return self.bad(),
                        }
                    }
                }
                out.push(']');
            }
            Some(b'"') => {
                let s = self.string()?;
                out.push_str(&escape_json(&s));
            }
            Some(b'-' | b'0'..=b'9') => self.number(out)?,
            Some(_) => {
                let start = self.i;
                while self.i < self.b.len() && self.b[self.i].is_ascii_alphanumeric() {
                    self.i += 1;
                }
                match &self.b[start..self.i] {
                    b"true" => out.push_str("true"),
                    b"false" => out.push_str("false"),
                    b"null" => out.push_str("null"),
                    _ => {
                        self.i = start;
                        return self.bad();
                    }
                }
            }
            None => return self.bad(),
        }
        Ok(())
    }

    fn number(&mut self, out: &mut String) -> Result<(), String> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let s = p.i;
            while p.i < p.b.len() && p.b[p.i].is_ascii_digit() {
                p.i += 1;
            }
            p.i - s
        };
        if self.b[self.i] == b'-' {
            self.i += 1;
        }
        let lead = self.i;
        let n = digits(self);
        if n == 0 || (n > 1 && self.b[lead] == b'0') {
            return self.bad();
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return self.bad();
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return self.bad();
            }
        }
        if self
            .b
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.')
        {
            return self.bad();
        }
        let text = std::str::from_utf8(&self.b[start..self.i]).map_err(|_| "not valid JSON".to_owned())?;
        if let Some(p) = text.find(['e', 'E'])
            && text[p + 1..].parse::<i64>().map_or(true, |e| e.abs() > 1000)
        {
            return Err("JSON number with an exponent beyond ±1000 (numeric cannot hold it)".into());
        }
        match parse_decimal(text) {
            Some(Decimal::Finite { neg, int, frac }) => {
                let zero = int.bytes().chain(frac.bytes()).all(|b| b == b'0');
                if neg && !zero {
                    out.push('-');
                }
                out.push_str(if int.is_empty() { "0" } else { &int });
                if !frac.is_empty() {
                    out.push('.');
                    out.push_str(&frac);
                }
                Ok(())
            }
            _ => self.bad(),
        }
    }

    /// A string at `i` (on the opening quote), unescaped.
    fn string(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut s = String::new();
        loop {
            let start = self.i;
            while self.i < self.b.len() && !matches!(self.b[self.i], b'"' | b'\\') && self.b[self.i] >= 0x20 {
                self.i += 1;
            }
            s.push_str(std::str::from_utf8(&self.b[start..self.i]).map_err(|_| "invalid UTF-8 in JSON".to_owned())?);
            match self.b.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(s);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let Some(&e) = self.b.get(self.i) else {
                        return self.bad();
                    };
                    self.i += 1;
                    match e {
                        b'"' => s.push('"'),
                        b'\\' => s.push('\\'),
                        b'/' => s.push('/'),
                        b'b' => s.push('\u{8}'),
                        b'f' => s.push('\u{c}'),
                        b'n' => s.push('\n'),
                        b'r' => s.push('\r'),
                        b't' => s.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&hi) {
                                if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                                    return Err("JSON with a lone surrogate \\u escape".into());
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err("JSON with a lone surrogate \\u escape".into());
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else if (0xDC00..0xE000).contains(&hi) {
                                return Err("JSON with a lone surrogate \\u escape".into());
                            } else {
                                hi
                            };
                            if c == 0 {
                                return Err("JSON with \\u0000 cannot be stored in PostgreSQL".into());
                            }
                            s.push(char::from_u32(c).ok_or("JSON with an invalid \\u escape")?);
                        }
                        _ => return self.bad(),
                    }
                }
                _ => return self.bad(),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self
            .b
            .get(self.i..self.i + 4)
            .ok_or("not valid JSON (short \\u escape)")?;
        let h = std::str::from_utf8(h).map_err(|_| "not valid JSON".to_owned())?;
        if !h.bytes().all(|c| c.is_ascii_hexdigit()) {
            return self.bad();
        }
        self.i += 4;
        u32::from_str_radix(h, 16).map_err(|_| "not valid JSON".to_owned())
    }
}

/// A JSON string literal as PostgreSQL's `escape_json` writes it.
fn escape_json(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\u{8}' => o.push_str("\\b"),
            '\u{c}' => o.push_str("\\f"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
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
        // Control characters escaped: the error stays one line.
        ValueRef::Text(t) => format!(
            "'{}'",
            String::from_utf8_lossy(t)
                .chars()
                .map(|c| if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                })
                .collect::<String>()
        ),
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
    fn jsonb_text_as_the_server_prints_it() {
        let c = |s: &str| jsonb_canonical(s);
        assert_eq!(
            c(r#" {"bb": [1, 2.50, -0, 1e2, 1.0e-2], "a":{"x":"\u00e9\/\n\u0001"}, "c" : null} "#).unwrap(),
            r#"{"a": {"x": "é/\n\u0001"}, "c": null, "bb": [1, 2.50, 0, 100, 0.010]}"#
        );
        assert_eq!(c(r#""\ud83d\ude00""#).unwrap(), "\"😀\"");
        assert_eq!(c("[]").unwrap(), "[]");
        assert!(c(r#"{"a": 1, "a": 2}"#).unwrap_err().contains("twice"));
        for bad in [
            "",
            "{",
            "[1,]",
            "01",
            "1.",
            "tru",
            "\"\\u0000\"",
            "\"\\ud800\"",
            "1e1001",
            "{\"a\" 1}",
            "[1] x",
        ] {
            assert!(c(bad).is_err(), "{bad}");
        }
        let mut o = Vec::new();
        let mut k = Vec::new();
        encode(Kind::Jsonb, ValueRef::Text(br#"{"b":1,"a":2}"#), &mut o, &mut k).unwrap();
        assert_eq!(k, br#"{"a": 2, "b": 1}"#);
        assert!(enc(Kind::Jsonb, ValueRef::Text(br#"{"a":1,"a":2}"#)).is_err());
        assert!(enc(Kind::Json, ValueRef::Text(br#"{"a":1,"a":2}"#)).is_ok());
    }

    #[test]
    fn short_values_stay_on_one_line() {
        assert_eq!(short(ValueRef::Text(b"a\nb\0c\x1b")), "'a\\nb\\u{0}c\\u{1b}'");
        assert_eq!(short(ValueRef::Text(b"\xffx")), "'\u{fffd}x'");
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
