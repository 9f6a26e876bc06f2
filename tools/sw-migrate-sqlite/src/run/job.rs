//! The units of work of a load: a job is one COPY (a table, or a rowid
//! range of a big one) with the columns it writes, each with the kind its
//! values are encoded as; built from the plan and the target's catalog.

use rusqlite::Connection;
use sw_core::pg::quote_ident;
use sw_core::{Error, PgContext, Result};
use tokio_postgres::Client;

use crate::plan::TablePlan;
use crate::value::{IntDates, Kind};

/// One column to copy: SQLite name, PostgreSQL name, PostgreSQL kind.
#[derive(Debug, Clone)]
pub(super) struct Col {
    pub source: String,
    pub name: String,
    pub kind: Kind,
    pub int_dates: IntDates,
    /// Values that stand for "no value" and that the type cannot hold are
    /// written as NULL (the plan's `to_null`).
    pub to_null: bool,
    /// A mixed bytea column: values that are not blobs are written as the
    /// bytes of SQLite's `CAST(x AS BLOB)` (the plan's `cast_to_blob`).
    pub cast_to_blob: bool,
}

/// One COPY: a table, or a rowid range of a big one.
#[derive(Debug, Clone)]
pub(super) struct Job {
    pub source: String,
    /// Schema-qualified target of the COPY.
    pub qualified: String,
    pub name: String,
    pub cols: Vec<Col>,
    /// How the rowid is named in SQL (`_rowid_`, or `rowid`/`oid` when a
    /// column has that name); `None` for WITHOUT ROWID tables.
    pub rowid: Option<&'static str>,
    /// Index of the table in the plan.
    pub table: usize,
    /// A rowid range of a big table loaded in parts: (first, last).
    pub part: Option<(i64, i64)>,
    /// Source columns the (edited) plan's table has no column for.
    pub dropped: Vec<String>,
    /// Generated columns: not copied (PostgreSQL computes them), but
    /// SQLite's values are in the checksum, so the translated expression
    /// is verified to give the same values.
    pub generated: Vec<Col>,
}

/// Rows above which a table with a rowid alias is loaded in `--jobs` parts.
pub(super) const SPLIT_ROWS: i64 = 400_000;

/// Split a big table's job into rowid ranges (one per job slot), when its
/// rowid is a column of its own (`rowid_alias`).
pub(super) fn split(reader: &Connection, job: Job, rowid_alias: bool, parts: usize) -> Vec<Job> {
    let Some(rowid) = job.rowid else { return vec![job] };
    if !rowid_alias || parts < 2 {
        return vec![job];
    }
    let range: Option<(i64, i64)> = reader
        .query_row(
            // Two subqueries: SQLite answers each from the b-tree's ends, but
            // min() and max() in one SELECT scan the whole table.
            &format!(
                "SELECT (SELECT min({rowid}) FROM {t}), (SELECT max({rowid}) FROM {t})",
                t = quote_ident(&job.source)
            ),
            [],
            |r| Ok(r.get::<_, Option<i64>>(0)?.zip(r.get::<_, Option<i64>>(1)?)),
        )
        .ok()
        .flatten();
    let Some((lo, hi)) = range else { return vec![job] };
    let span = i128::from(hi) - i128::from(lo) + 1;
    if span < i128::from(SPLIT_ROWS) {
        return vec![job];
    }
    let n = i128::try_from(parts).unwrap_or(2);
    let mut out = Vec::new();
    for k in 0..n {
        let a = i128::from(lo) + span * k / n;
        let b = i128::from(lo) + span * (k + 1) / n - 1;
        let (Ok(a), Ok(b)) = (i64::try_from(a), i64::try_from(b)) else {
            return vec![job];
        };
        let mut j = job.clone();
        j.part = Some((a, b));
        out.push(j);
    }
    out
}

/// A table's columns as PostgreSQL sees them, (name, format_type) in
/// order: the stored ones, and the generated ones.
pub(super) type PgColumns = (Vec<(String, String)>, Vec<(String, String)>);

pub(super) async fn pg_columns(c: &Client, schema: &str, table: &str) -> Result<PgColumns> {
    let rows = c
        .query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attgenerated <> '' FROM pg_attribute a \
             JOIN pg_class r ON r.oid = a.attrelid JOIN pg_namespace n ON n.oid = r.relnamespace \
             WHERE n.nspname = $1 AND r.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
            &[&schema, &table],
        )
        .await
        .pg_context(|| format!("reading the columns of {schema}.{table}"))?;
    let (generated, stored): (Vec<_>, Vec<_>) = rows.iter().partition(|r| r.get::<_, bool>(2));
    let pair = |r: &&tokio_postgres::Row| (r.get(0), r.get(1));
    Ok((stored.iter().map(pair).collect(), generated.iter().map(pair).collect()))
}

pub(super) fn job_for(t: &TablePlan, schema: &str, pgcols: &[(String, String)], data_only: bool) -> Result<Job> {
    if pgcols.is_empty() {
        return Err(Error::data(format!(
            "table {} has no table {schema}.{} to load into (check the plan's name and create)",
            t.source, t.name
        )));
    }
    let mut cols = Vec::new();
    let mut dropped = Vec::new();
    for c in t.columns.iter().filter(|c| !c.generated) {
        let found = pgcols
            .iter()
            .find(|(n, _)| *n == c.name)
            .or_else(|| pgcols.iter().find(|(n, _)| n.eq_ignore_ascii_case(&c.name)));
        let Some((n, ty)) = found else {
            if data_only {
                return Err(Error::data(format!(
                    "column {} of {} has no counterpart in {}.{}",
                    c.source, t.source, schema, t.name
                )));
            }
            log::warn!(
                "column {}.{} is not in the table created by the plan; its values are not copied",
                t.source,
                c.source
            );
            dropped.push(format!(
                "column {}: not in the plan's CREATE TABLE; its values were not copied",
                c.source
            ));
            continue;
        };
        let kind = Kind::from_pg(ty).ok_or_else(|| {
            Error::data(format!(
                "column {schema}.{}.{n} has type {ty}, which this tool cannot write",
                t.name
            ))
        })?;
        let int_dates = c.integers.unwrap_or_default();
        cols.push(Col {
            source: c.source.clone(),
            name: n.clone(),
            kind,
            int_dates,
            to_null: c.to_null.is_some(),
            cast_to_blob: c.cast_to_blob.is_some() && kind == Kind::Bytea,
        });
    }
    Ok(Job {
        source: t.source.clone(),
        qualified: format!("{}.{}", quote_ident(schema), quote_ident(&t.name)),
        name: t.name.clone(),
        cols,
        // A column may take a rowid name; the rowid is then reached by another.
        rowid: if t.without_rowid {
            None
        } else {
            ["_rowid_", "rowid", "oid"]
                .into_iter()
                .find(|r| !t.columns.iter().any(|c| c.source.eq_ignore_ascii_case(r)))
        },
        table: 0,
        part: None,
        dropped,
        generated: Vec::new(),
    })
}

/// The plan's generated columns as PostgreSQL created them (`pg`, from
/// [`pg_columns`]): not copied, but checksummed with SQLite's values.
pub(super) fn generated(t: &TablePlan, pg: &[(String, String)]) -> Vec<Col> {
    t.columns
        .iter()
        .filter(|c| c.generated)
        .filter_map(|c| {
            let (n, ty) = pg.iter().find(|(n, _)| *n == c.name)?;
            Some(Col {
                source: c.source.clone(),
                name: n.clone(),
                kind: Kind::from_pg(ty)?,
                int_dates: IntDates::default(),
                to_null: false,
                cast_to_blob: false,
            })
        })
        .collect()
}
