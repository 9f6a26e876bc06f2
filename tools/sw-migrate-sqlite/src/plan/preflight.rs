//! The preflight of keys and constraints against the source rows, before
//! anything is written: foreign keys with orphan rows and CHECKs the rows
//! break (both then created NOT VALID, named with their counts), and
//! UNIQUE keys whose values collide in PostgreSQL but not in SQLite (a
//! case-insensitive collation that folds all of Unicode, values equal once
//! typed: `'1'` and `1`), which the run refuses unless told what to do.

use std::collections::HashMap;

use rusqlite::Connection;
use rusqlite::types::ValueRef;
use sw_core::Result;
use sw_core::pg::quote_ident;

use super::ColumnPlan;
use super::build::sqerr;
use crate::types;
use crate::value::{self, Kind};

/// Rows of `child` whose (`from`) has no match in `parent` (`to`): what
/// PostgreSQL's validation (MATCH SIMPLE: a NULL anywhere is not checked)
/// would refuse.
pub(super) fn fk_orphans(conn: &Connection, child: &str, from: &[String], parent: &str, to: &[String]) -> Result<u64> {
    let not_null: Vec<String> = from
        .iter()
        .map(|c| format!("c.{} IS NOT NULL", quote_ident(c)))
        .collect();
    let eq: Vec<String> = from
        .iter()
        .zip(to)
        .map(|(f, t)| format!("p.{} = c.{}", quote_ident(t), quote_ident(f)))
        .collect();
    let q = format!(
        "SELECT count(*) FROM {} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})",
        quote_ident(child),
        not_null.join(" AND "),
        quote_ident(parent),
        eq.join(" AND ")
    );
    conn.query_row(&q, [], |r| r.get::<_, i64>(0))
        .map(i64::unsigned_abs)
        .map_err(sqerr("foreign key orphans"))
}

/// Rows of `table` for which the CHECK `expr` (SQLite SQL) is false; 0
/// when SQLite cannot evaluate it alone.
pub(super) fn check_violations(conn: &Connection, table: &str, expr: &str) -> u64 {
    let q = format!("SELECT count(*) FROM {} WHERE NOT ({expr})", quote_ident(table));
    conn.query_row(&q, [], |r| r.get::<_, i64>(0))
        .map(i64::unsigned_abs)
        .unwrap_or(0)
}

/// Whether a key over `cols` may hold values SQLite tells apart that
/// PostgreSQL will not: a case-insensitive column, or one whose type was
/// chosen from mixed stored values.
pub(super) fn needs_collision_check(cols: &[&ColumnPlan], nocase: bool) -> bool {
    cols.iter()
        .any(|c| nocase || c.collation.is_some() || types::map_declared(&c.source_type).is_none())
}

/// Rows of `table` whose key over `cols` equals another row's once typed
/// as PostgreSQL will hold it (and case-folded where `nocase` or the
/// column's collation says), beyond the first of each value: what a
/// UNIQUE build would refuse. Rows with a NULL in the key do not collide.
pub(super) fn collisions(conn: &Connection, table: &str, cols: &[&ColumnPlan], nocase: bool) -> Result<u64> {
    // A mixed bytea column's other values arrive as CAST(x AS BLOB)'s bytes.
    let sel: Vec<String> = cols
        .iter()
        .map(|c| match c.cast_to_blob {
            Some(_) => format!("CAST({} AS BLOB)", quote_ident(&c.source)),
            None => quote_ident(&c.source),
        })
        .collect();
    let q = format!("SELECT {} FROM {}", sel.join(", "), quote_ident(table));
    let kinds: Vec<Option<Kind>> = cols.iter().map(|c| Kind::from_pg(&c.pg_type)).collect();
    let mut seen: HashMap<Vec<u8>, u32> = HashMap::new();
    let mut st = conn.prepare(&q).map_err(sqerr("key values"))?;
    let mut rows = st.query([]).map_err(sqerr("key values"))?;
    let (mut out, mut canon) = (Vec::new(), Vec::new());
    let mut extra = 0u64;
    'rows: while let Some(r) = rows.next().map_err(sqerr("key values"))? {
        let mut key = Vec::new();
        for (i, c) in cols.iter().enumerate() {
            let v = r.get_ref(i).map_err(sqerr("key values"))?;
            if matches!(v, ValueRef::Null) {
                continue 'rows;
            }
            out.clear();
            let Some(kind) = kinds[i] else { continue 'rows };
            // A value that does not fit is reported by the copy, not here.
            if !matches!(
                value::encode(kind, c.integers.unwrap_or_default(), v, &mut out, &mut canon),
                Ok(true)
            ) {
                continue 'rows;
            }
            let bytes = if canon.is_empty() { &out } else { &canon };
            if (nocase || c.collation.is_some()) && matches!(kind, Kind::Text { .. }) {
                let folded = String::from_utf8_lossy(bytes).to_lowercase();
                key.extend_from_slice(&u32::try_from(folded.len()).unwrap_or(u32::MAX).to_be_bytes());
                key.extend_from_slice(folded.as_bytes());
            } else {
                key.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
                key.extend_from_slice(bytes);
            }
        }
        let n = seen.entry(key).or_default();
        if *n > 0 {
            extra += 1;
        }
        *n += 1;
    }
    Ok(extra)
}
