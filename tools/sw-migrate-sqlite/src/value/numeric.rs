//! Exact decimals: SQLite integers, reals (by their shortest exact decimal)
//! and decimal text into PostgreSQL's binary `numeric` (base-10000 digits),
//! refusing what the column's precision or scale would round, and the text
//! the server prints for it (the verification reads numerics back as text).

use rusqlite::types::ValueRef;

/// A decimal: sign, integer digits, fraction digits (or a special).
#[derive(Debug)]
pub enum Decimal {
    Finite { neg: bool, int: String, frac: String },
    NaN,
    Inf(bool),
}

pub(super) fn decimal(v: ValueRef<'_>) -> Result<Decimal, String> {
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
pub(super) fn numeric_bin(
    d: &Decimal,
    precision: Option<u32>,
    scale: Option<u32>,
    out: &mut Vec<u8>,
) -> Result<String, String> {
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
