//! Column defaults translated for the column's PostgreSQL type: literals
//! checked like data, `CURRENT_TIMESTAMP` and `datetime('now')` in UTC as
//! SQLite writes them, `strftime(...)` as `to_char`, epoch defaults.

use sw_core::pg::quote_literal;

use crate::sql::{self, Tok};

/// `toks` without parentheses around all of it.
pub(super) fn strip_parens(mut toks: &[Tok]) -> &[Tok] {
    while toks.first() == Some(&Tok::LParen) {
        match sql::group(toks, 0) {
            Some((inner, end)) if end == toks.len() => toks = inner,
            _ => break,
        }
    }
    toks
}

const NOW_UTC: &str = "(CURRENT_TIMESTAMP AT TIME ZONE 'UTC')";

/// Translate a column default for a column of type `ty`.
/// `Ok(None)`: no default (NULL).
pub(super) fn default_expr(d: &str, ty: &str) -> Result<Option<String>, String> {
    let toks = sql::tokenize(d)?;
    let toks = strip_parens(&toks);
    let unquoted = string_of_quoted(toks);
    let toks = unquoted.as_ref().map_or(toks, |u| &u[..]);
    let textual = ty == "text" || ty.starts_with("character varying");
    let fmt_now = |pg_fmt: &str, kind: &str| -> String {
        match ty {
            "timestamp without time zone" => format!("date_trunc('second', {NOW_UTC})"),
            "timestamp with time zone" => "date_trunc('second', CURRENT_TIMESTAMP)".into(),
            "date" if kind != "time" => format!("({NOW_UTC})::date"),
            _ => format!("to_char({NOW_UTC}, '{pg_fmt}')"),
        }
    };
    let is_local = |p: &[Tok]| matches!(p, [Tok::Str(s)] if s.eq_ignore_ascii_case("localtime"));
    let lower = |t: &Tok| t.ident().map(str::to_lowercase).unwrap_or_default();
    match toks {
        [] => Err("empty default".into()),
        [t] if t.is_kw("null") => Ok(None),
        [t] if t.is_kw("current_timestamp") => Ok(Some(fmt_now("YYYY-MM-DD HH24:MI:SS", "ts"))),
        [t] if t.is_kw("current_date") => Ok(Some(fmt_now("YYYY-MM-DD", "date"))),
        [t] if t.is_kw("current_time") => Ok(Some(fmt_now("HH24:MI:SS", "time"))),
        [t] if t.is_kw("true") || t.is_kw("false") => Ok(Some(if ty == "boolean" {
            lower(t)
        } else if t.is_kw("true") {
            "1".into()
        } else {
            "0".into()
        })),
        [Tok::Num(n)] | [Tok::Op(_), Tok::Num(n)] => {
            let neg = matches!(toks[0], Tok::Op(ref o) if o == "-");
            let lit = format!("{}{n}", if neg { "-" } else { "" });
            if ty == "boolean" {
                return match lit.as_str() {
                    "0" => Ok(Some("false".into())),
                    "1" => Ok(Some("true".into())),
                    _ => Err(format!("default {lit} is not a boolean")),
                };
            }
            if textual {
                return Ok(Some(quote_literal(&lit)));
            }
            if matches!(
                ty,
                "date" | "timestamp without time zone" | "timestamp with time zone" | "uuid" | "bytea" | "jsonb"
            ) {
                return Err(format!("numeric default {lit} for a {ty} column"));
            }
            Ok(Some(lit))
        }
        [Tok::Str(s)] => string_default(s, ty, textual),
        [Tok::Blob(h)] if ty == "bytea" => Ok(Some(format!("'\\x{h}'::bytea"))),
        [f, Tok::LParen, args @ .., Tok::RParen] => {
            let fname = lower(f);
            let args: Vec<Tok> = args.to_vec();
            let parts = sql::split_commas(&args);
            let is_now = |p: &[Tok]| matches!(p, [Tok::Str(s)] if s.eq_ignore_ascii_case("now"));
            match (fname.as_str(), parts.as_slice()) {
                ("datetime", [n]) if is_now(n) => Ok(Some(fmt_now("YYYY-MM-DD HH24:MI:SS", "ts"))),
                ("date", [n]) if is_now(n) => Ok(Some(fmt_now("YYYY-MM-DD", "date"))),
                ("time", [n]) if is_now(n) => Ok(Some(fmt_now("HH24:MI:SS", "time"))),
                ("datetime", [n, l]) if is_now(n) && is_local(l) => local_now(ty, "YYYY-MM-DD HH24:MI:SS", "ts"),
                ("date", [n, l]) if is_now(n) && is_local(l) => local_now(ty, "YYYY-MM-DD", "date"),
                ("time", [n, l]) if is_now(n) && is_local(l) => local_now(ty, "HH24:MI:SS", "time"),
                ("unixepoch", []) => epoch_default(ty),
                ("unixepoch", [n]) if is_now(n) => epoch_default(ty),
                ("julianday", [n]) if is_now(n) && ty == "double precision" => Ok(Some(
                    "(extract(epoch FROM CURRENT_TIMESTAMP) / 86400.0 + 2440587.5)::double precision".into(),
                )),
                ("strftime", [fm, n]) if is_now(n) => {
                    let Some(Tok::Str(fmt)) = fm.first() else {
                        return Err("strftime with a computed format".into());
                    };
                    if fmt == "%s" {
                        return epoch_default(ty);
                    }
                    let pgf = strftime_to_char(fmt)?;
                    if textual {
                        Ok(Some(format!("to_char({NOW_UTC}, {})", quote_literal(&pgf))))
                    } else {
                        Err(format!("strftime('{fmt}', 'now') default for a {ty} column"))
                    }
                }
                _ => Err(format!("default expression {d} is not translated")),
            }
        }
        _ => Err(format!("default expression {d} is not translated")),
    }
}

/// SQLite reads a double-quoted word it cannot resolve as a string, and a
/// default can name no column: `DEFAULT "0"` is the text '0'.
fn string_of_quoted(toks: &[Tok]) -> Option<[Tok; 1]> {
    match toks {
        [Tok::Ident { text, quoted: true }] => Some([Tok::Str(text.clone())]),
        _ => None,
    }
}

/// A string literal default for a column of type `ty`.
fn string_default(s: &str, ty: &str, textual: bool) -> Result<Option<String>, String> {
    if ty == "boolean" {
        return match s.to_lowercase().as_str() {
            "0" | "f" | "false" => Ok(Some("false".into())),
            "1" | "t" | "true" => Ok(Some("true".into())),
            _ => Err(format!("default '{s}' is not a boolean")),
        };
    }
    if ty == "bytea" {
        return Err("text default for a BLOB column".into());
    }
    if !textual && ty != "jsonb" {
        // The value must be valid for the type; check it like data.
        crate::value::check_literal(s, ty)?;
        if let Some(lit) = crate::value::datetime_literal(s, ty)
            .filter(|_| matches!(ty, "date" | "timestamp without time zone" | "timestamp with time zone"))
        {
            // Written the way PostgreSQL reads it: 'T', 'Z' and
            // year 0 are SQLite's forms, not all of them PostgreSQL's.
            return Ok(Some(format!("{}::{ty}", quote_literal(&lit))));
        }
    }
    Ok(Some(format!("{}::{ty}", quote_literal(s))))
}

/// `datetime('now', 'localtime')` and its kin: the wall clock in the
/// server's TimeZone, as SQLite writes the machine's. A timestamptz column
/// reads SQLite's zoneless text as UTC, so there it has no exact translation.
fn local_now(ty: &str, pg_fmt: &str, kind: &str) -> Result<Option<String>, String> {
    Ok(Some(match ty {
        "timestamp without time zone" => "date_trunc('second', LOCALTIMESTAMP)".into(),
        "timestamp with time zone" => return Err("local-time default for a column read as UTC".into()),
        "date" if kind != "time" => "CURRENT_DATE".into(),
        _ => format!("to_char(LOCALTIMESTAMP, '{pg_fmt}')"),
    }))
}

fn epoch_default(ty: &str) -> Result<Option<String>, String> {
    match ty {
        "bigint" | "integer" | "smallint" | "numeric" | "double precision" => {
            Ok(Some("(extract(epoch FROM CURRENT_TIMESTAMP))::bigint".into()))
        }
        t if t == "text" || t.starts_with("character varying") => {
            Ok(Some("((extract(epoch FROM CURRENT_TIMESTAMP))::bigint)::text".into()))
        }
        _ => Err(format!("epoch default for a {ty} column")),
    }
}

/// SQLite strftime format to PostgreSQL to_char format.
fn strftime_to_char(f: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut lit = String::new();
    let mut chars = f.chars();
    let flush = |lit: &mut String, out: &mut String| {
        if !lit.is_empty() {
            out.push('"');
            out.push_str(&lit.replace('"', "\\\""));
            out.push('"');
            lit.clear();
        }
    };
    while let Some(c) = chars.next() {
        if c != '%' {
            lit.push(c);
            continue;
        }
        let spec = match chars.next() {
            Some('Y') => "YYYY",
            Some('m') => "MM",
            Some('d') => "DD",
            Some('H') => "HH24",
            Some('M') => "MI",
            Some('S') => "SS",
            Some('f') => "SS.MS",
            Some('j') => "DDD",
            Some('%') => {
                lit.push('%');
                continue;
            }
            other => return Err(format!("strftime format %{} is not translated", other.unwrap_or(' '))),
        };
        flush(&mut lit, &mut out);
        out.push_str(spec);
    }
    flush(&mut lit, &mut out);
    Ok(out)
}
