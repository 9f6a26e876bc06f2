//! What a drill checks on the started copy: amcheck on every B-tree index
//! (when the extension is available), row counts against `--expect-rows`,
//! the `--sql` file; and, once they pass, `--save-rows` writes the counts
//! as the expectation for later drills.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sw_core::fsutil::q;
use sw_core::{Error, IoContext, Result};

use super::DrillArgs;
use super::record::DrillRecord;
use crate::psql::Restored;

/// SQL on the copy a drill checks: psql over a local copy's socket, or a
/// TLS session to an Azure scratch server (`crate::azure::remote`).
pub trait Sql {
    /// Run `sql` in database `db`; the first column of its rows, one per line.
    ///
    /// # Errors
    /// 69 when the copy cannot be reached, 70 when the SQL fails.
    fn query(&self, db: &str, sql: &str) -> Result<String>;

    /// Whether amcheck may be created (available; on Azure, allow-listed).
    ///
    /// # Errors
    /// As [`Sql::query`].
    fn amcheck_available(&self) -> Result<bool> {
        Ok(self.query(
            "postgres",
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'amcheck'",
        )? == "1")
    }
}

impl Sql for Restored<'_> {
    fn query(&self, db: &str, sql: &str) -> Result<String> {
        Restored::query(self, db, sql)
    }
}

/// One expected row count (a line of --expect-rows / --save-rows).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RowExpectation {
    pub database: String,
    pub schema: String,
    pub table: String,
    pub min_rows: u64,
}

/// Read an --expect-rows file (JSON Lines of [`RowExpectation`]).
///
/// # Errors
/// 65 naming the line that does not parse; 66/74/77 reading the file.
pub fn read_expectations(path: &Path) -> Result<Vec<RowExpectation>> {
    let text = std::fs::read_to_string(path).io_context(|| format!("reading {}", q(path)))?;
    let mut v = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let e: RowExpectation = serde_json::from_str(line).map_err(|e| {
            Error::data(format!(
                "{} line {}: expected {{\"database\", \"schema\", \"table\", \"min_rows\"}}: {e}",
                q(path),
                i + 1
            ))
        })?;
        v.push(e);
    }
    Ok(v)
}

/// Every user table's exact row count, one database.
const COUNT_ALL: &str = "SELECT coalesce(json_agg(json_build_object('schema', nspname, 'table', relname, 'rows', n) \
     ORDER BY nspname, relname), '[]') FROM (SELECT ns.nspname, c.relname, \
     (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', ns.nspname, c.relname), false, true, '')))[1]::text::bigint AS n \
     FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace \
     WHERE c.relkind IN ('r', 'p') AND c.relpersistence = 'p' \
       AND ns.nspname NOT IN ('pg_catalog', 'information_schema') AND ns.nspname NOT LIKE 'pg\\_%') s";

/// Write every user table's row count in `dbs` to `path` (--save-rows).
fn save_rows(path: &Path, copy: &dyn Sql, dbs: &[String]) -> Result<u64> {
    #[derive(Deserialize)]
    struct Counted {
        schema: String,
        table: String,
        rows: u64,
    }
    let mut text = String::new();
    let mut n = 0;
    for db in dbs {
        let json = copy.query(db, COUNT_ALL)?;
        let rows: Vec<Counted> = serde_json::from_str(&json)
            .map_err(|e| Error::software(format!("reading row counts of database {db}: {e}")))?;
        for r in rows {
            let line = serde_json::to_string(&RowExpectation {
                database: db.clone(),
                schema: r.schema,
                table: r.table,
                min_rows: r.rows,
            })
            .map_err(|e| Error::software("rendering JSON").with_source(e))?;
            text.push_str(&line);
            text.push('\n');
            n += 1;
        }
    }
    sw_core::fsutil::atomic_write(path, text.as_bytes(), 0o644)?;
    Ok(n)
}

/// Run every check on the copy, filling in what was checked.
///
/// # Errors
/// 65 when row counts fall short; 70 when amcheck or the --sql file
/// fails; 66/74/77 reading the --sql file, 73/74 writing --save-rows.
pub fn run(a: &DrillArgs, copy: &dyn Sql, expect: &[RowExpectation], rec: &mut DrillRecord) -> Result<()> {
    let dbs = copy.query(
        "postgres",
        "SELECT string_agg(datname, ',') FROM pg_database WHERE datallowconn",
    )?;
    let dbs: Vec<String> = dbs.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect();
    rec.databases = Some(dbs.len() as u64);
    amcheck(copy, &dbs, rec)?;
    let short = row_counts(copy, &dbs, expect)?;
    if !expect.is_empty() {
        rec.tables_checked = Some(expect.len() as u64);
    }
    if !short.is_empty() {
        return Err(Error::data(format!("row counts: {}", short.join("; "))));
    }
    if let Some(f) = &a.sql {
        let text = std::fs::read_to_string(f).io_context(|| format!("reading {}", q(f)))?;
        copy.query("postgres", &text)
            .map_err(|e| e.context(format!("the drill SQL {} failed", q(f))))?;
    }
    if let Some(p) = &a.save_rows {
        save_rows(p, copy, &dbs)?;
    }
    Ok(())
}

/// bt_index_check on every valid B-tree index of every database, when the
/// amcheck extension is available.
fn amcheck(copy: &dyn Sql, dbs: &[String], rec: &mut DrillRecord) -> Result<()> {
    if !copy.amcheck_available()? {
        return Ok(());
    }
    rec.amcheck = true;
    let mut n = 0u64;
    for db in dbs {
        copy.query(db, "CREATE EXTENSION IF NOT EXISTS amcheck")?;
        let c = copy
            .query(
                db,
                "SELECT count(bt_index_check(c.oid)) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                 JOIN pg_am am ON am.oid = c.relam WHERE am.amname = 'btree' AND c.relpersistence <> 't' AND i.indisready AND i.indisvalid",
            )
            .map_err(|e| e.context(format!("amcheck found a problem in database {db}")))?;
        n += c.parse::<u64>().unwrap_or(0);
    }
    rec.indexes_checked = Some(n);
    Ok(())
}

/// What falls short of the expectations: a missing database or table, or
/// fewer rows than expected (one line each).
fn row_counts(copy: &dyn Sql, dbs: &[String], expect: &[RowExpectation]) -> Result<Vec<String>> {
    let mut short = Vec::new();
    for e in expect {
        if !dbs.contains(&e.database) {
            short.push(format!("database {} is missing", e.database));
            continue;
        }
        let exists = copy.query(
            &e.database,
            &format!(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = {} AND c.relname = {} AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
                sw_core::pg::quote_literal(&e.schema),
                sw_core::pg::quote_literal(&e.table)
            ),
        )?;
        if exists != "1" {
            short.push(format!(
                "table {}.{} is missing in database {}",
                e.schema, e.table, e.database
            ));
            continue;
        }
        let rows = copy.query(
            &e.database,
            &format!(
                "SELECT count(*) FROM {}.{}",
                sw_core::pg::quote_ident(&e.schema),
                sw_core::pg::quote_ident(&e.table)
            ),
        )?;
        let rows: u64 = rows.parse().unwrap_or(0);
        if rows < e.min_rows {
            short.push(format!(
                "{}.{} in database {} has {rows} rows, expected at least {}",
                e.schema, e.table, e.database, e.min_rows
            ));
        }
    }
    Ok(short)
}
