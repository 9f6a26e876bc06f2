//! The preflight of the values PostgreSQL cannot hold that stand for "no
//! value" (zero dates, '' in numbers and dates, dates past PostgreSQL's
//! range): one scan per table over the candidate rows, each value judged by
//! the very rules the copy uses. A nullable column gets `to_null` (the run
//! writes NULL and counts); a NOT NULL one is named, for those rows do not fit.

use std::fmt::Write as _;

use rusqlite::Connection;
use rusqlite::types::ValueRef;
use sw_core::Result;
use sw_core::pg::quote_ident;

use super::build::sqerr;
use super::{ColumnPlan, ToNull, Untranslatable};
use crate::value::{self, Kind, Unreadable};

/// How many rowids a finding names.
const FIRST: usize = 5;

/// Find such values in `table` and record the decision for each column.
pub(super) fn find(
    conn: &Connection,
    table: &str,
    without_rowid: bool,
    columns: &mut [ColumnPlan],
    notes: &mut Vec<Untranslatable>,
) -> Result<()> {
    let cands = candidates(columns);
    if cands.is_empty() {
        return Ok(());
    }
    let rowid = if without_rowid {
        None
    } else {
        ["_rowid_", "rowid", "oid"]
            .into_iter()
            .find(|r| !columns.iter().any(|c| c.source.eq_ignore_ascii_case(r)))
    };
    let mut conds = Vec::new();
    let mut sel = Vec::new();
    for (i, k) in &cands {
        let c = quote_ident(&columns[*i].source);
        // Numbers sort before text: `< ''` keeps the numbers of a date
        // column (epochs, Julian days), which may be out of range.
        if matches!(k, Kind::Date | Kind::Timestamp(_) | Kind::Timestamptz(_)) {
            conds.push(format!("{c} = '' OR {c} < '' OR {c} LIKE '%-00%'"));
        } else {
            conds.push(format!("{c} = ''"));
        }
        sel.push(c);
    }
    let q = format!(
        "SELECT {}, {} FROM {} WHERE {}",
        rowid.unwrap_or("NULL"),
        sel.join(", "),
        quote_ident(table),
        conds.join(" OR ")
    );
    let mut found = vec![ToNull::default(); cands.len()];
    let mut st = conn.prepare(&q).map_err(sqerr("values PostgreSQL cannot hold"))?;
    let mut rows = st.query([]).map_err(sqerr("values PostgreSQL cannot hold"))?;
    let (mut out, mut canon) = (Vec::new(), Vec::new());
    while let Some(r) = rows.next().map_err(sqerr("values PostgreSQL cannot hold"))? {
        let rid = r.get_ref(0).ok().and_then(|v| v.as_i64().ok());
        for (k, (i, kind)) in cands.iter().enumerate() {
            let v = r.get_ref(k + 1).map_err(sqerr("values PostgreSQL cannot hold"))?;
            if matches!(v, ValueRef::Null) {
                continue;
            }
            out.clear();
            let rule = columns[*i].integers.unwrap_or_default();
            let Err(e) = value::encode(*kind, rule, v, &mut out, &mut canon) else {
                continue;
            };
            let f = &mut found[k];
            match value::unreadable(*kind, v, &e) {
                Some(Unreadable::ZeroDate) => f.zero_dates += 1,
                Some(Unreadable::Empty) => f.empty += 1,
                Some(Unreadable::OutOfRange) => f.out_of_range += 1,
                None => continue,
            }
            if let Some(rid) = rid
                && f.first_rowids.len() < FIRST
            {
                f.first_rowids.push(rid);
            }
        }
    }
    for ((i, _), f) in cands.iter().zip(found) {
        if f.total() == 0 {
            continue;
        }
        let c = &mut columns[*i];
        let what = describe(&f);
        let reason = if c.not_null {
            format!(
                "{what} that {} cannot hold, and the column is NOT NULL: those rows do not fit (exit 65; with --on-error=reject they go to the reject file){}",
                c.pg_type,
                rowids(&f)
            )
        } else {
            format!(
                "{what} that {} cannot hold become NULL (the column is nullable; counted in migrate.table's nulled){}",
                c.pg_type,
                rowids(&f)
            )
        };
        notes.push(Untranslatable {
            object: format!("values of {table}.{}", c.source),
            sql: String::new(),
            reason,
        });
        if !c.not_null {
            c.to_null = Some(f);
        }
    }
    Ok(())
}

/// The columns that could hold such values, with their kinds.
fn candidates(columns: &[ColumnPlan]) -> Vec<(usize, Kind)> {
    columns
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.generated)
        .filter_map(|(i, c)| Some((i, Kind::from_pg(&c.pg_type)?)))
        .filter(|(_, k)| !matches!(k, Kind::Text { .. } | Kind::Bytea | Kind::Json | Kind::Jsonb))
        .collect()
}

/// Without the scan (a `run` that plans for itself): every nullable
/// column that could hold such values gets the rule, uncounted; the run
/// counts what it meets, and decides exactly as after a scan.
pub(super) fn rule_only(columns: &mut [ColumnPlan]) {
    for (i, _) in candidates(columns) {
        if !columns[i].not_null {
            columns[i].to_null = Some(ToNull::default());
        }
    }
}

fn describe(f: &ToNull) -> String {
    let mut parts = Vec::new();
    if f.zero_dates > 0 {
        parts.push(format!("{} zero dates", f.zero_dates));
    }
    if f.empty > 0 {
        parts.push(format!("{} empty strings", f.empty));
    }
    if f.out_of_range > 0 {
        parts.push(format!("{} dates out of PostgreSQL's range", f.out_of_range));
    }
    parts.join(", ")
}

fn rowids(f: &ToNull) -> String {
    let mut s = String::new();
    if !f.first_rowids.is_empty() {
        let ids: Vec<String> = f.first_rowids.iter().map(i64::to_string).collect();
        let _ = write!(s, "; first rowids {}", ids.join(","));
    }
    s
}
