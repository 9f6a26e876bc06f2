//! The DDL of a full run: the staging schema (abandoned ones dropped, the
//! target checked for clashes, collations and tables created, autovacuum
//! kept off), the post-data statements made from the plan's keys and
//! foreign keys, identities moved past the migrated maximum, and running
//! a statement that PostgreSQL may refuse.

use std::collections::HashMap;

use sw_core::pg::{quote_ident, quote_literal};
use sw_core::{Error, Exit, PgContext, Result};
use tokio_postgres::Client;

use super::job::{self, Job};
use super::{Ctx, Loaded, one_line};
use crate::plan::{Plan, TablePlan};

/// A post-data statement.
#[derive(Debug, Clone)]
pub(super) struct Ddl {
    /// The SQLite table it belongs to (for the report).
    pub table: String,
    pub sql: String,
    /// Translated from SQLite expressions: skipped (and reported) when PostgreSQL refuses it.
    pub optional: bool,
    /// Run instead when the rows break it in PostgreSQL though not in
    /// SQLite (a CHECK whose translation evaluates differently): the same
    /// constraint NOT VALID, reported, so no late failure after the copy.
    pub relaxed: Option<String>,
    /// A foreign key's validation in a run that planned without scanning
    /// for orphans: when rows reference no parent row, the key is left
    /// NOT VALID and reported with their count (this query's), as the plan
    /// would have decided; else the validation's failure stops the run.
    pub orphans: Option<Orphans>,
}

/// How to report a foreign key its validation found orphans for.
#[derive(Debug, Clone)]
pub(super) struct Orphans {
    /// Counts them.
    pub count_sql: String,
    /// The key's name, and the table and parent (SQLite names).
    pub name: String,
    pub table: String,
    pub parent: String,
}

impl Ddl {
    fn new(t: &TablePlan, sql: String, optional: bool) -> Ddl {
        Ddl {
            table: t.source.clone(),
            sql,
            optional,
            relaxed: None,
            orphans: None,
        }
    }
}

/// The staging schema's name: unique per run.
pub(super) fn stage_name() -> String {
    let mut b = [0u8; 4];
    let _ = getrandom_fill(&mut b);
    format!(
        "sw_migrate_stage_{}_{:02x}{:02x}{:02x}{:02x}",
        std::process::id(),
        b[0],
        b[1],
        b[2],
        b[3]
    )
}

fn getrandom_fill(b: &mut [u8]) -> std::io::Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")?.read_exact(b)
}

/// Drop the staging schemas of runs that died (nobody holds their lock).
pub(super) async fn drop_abandoned(main: &Client) -> Result<()> {
    let stale = main
        .query(
            "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'sw\\_migrate\\_stage\\_%' AND pg_try_advisory_lock(hashtext(nspname::text))",
            &[],
        )
        .await
        .pg_context(|| "looking for abandoned staging schemas".to_owned())?;
    for r in stale {
        let n: String = r.get(0);
        log::info!("dropping the abandoned staging schema {n}");
        main.batch_execute(&format!(
            "DROP SCHEMA {} CASCADE; SELECT pg_advisory_unlock(hashtext({}))",
            quote_ident(&n),
            quote_literal(&n)
        ))
        .await
        .pg_context(|| format!("dropping the abandoned staging schema {n}"))?;
    }
    Ok(())
}

/// Refuse to overwrite anything in the target schema (73).
pub(super) async fn check_target_free(main: &Client, plan: &Plan, schema: &str) -> Result<()> {
    let mut names: Vec<String> = plan.tables.iter().map(|t| t.name.clone()).collect();
    names.extend(plan.views.iter().map(|v| v.name.clone()));
    names.extend(
        plan.tables
            .iter()
            .flat_map(|t| t.indexes.iter().map(|i| i.name.clone())),
    );
    let clash = main
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = ANY($2) ORDER BY 1",
            &[&schema, &names],
        )
        .await
        .pg_context(|| "checking the target schema".to_owned())?;
    if let Some(r) = clash.first() {
        let n: String = r.get(0);
        return Err(Error::cant_create(format!(
            "the target schema {schema} already has a relation named {n} ({} in all); use --data-only to load into existing tables, or another --schema",
            clash.len()
        )));
    }
    Ok(())
}

/// Create the plan's collations missing from the target schema in the
/// staging schema; returns those created (moved at the switch).
pub(super) async fn create_collations(main: &Client, plan: &Plan, schema: &str, stage: &str) -> Result<Vec<String>> {
    let mut created = Vec::new();
    for c in &plan.collations {
        let exists = main
            .query_opt(
                "SELECT 1 FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace WHERE n.nspname = $1 AND c.collname = $2",
                &[&schema, &c.name],
            )
            .await
            .pg_context(|| "looking up collations".to_owned())?;
        if exists.is_none() {
            main.batch_execute(&format!("SET search_path = {}; {}", quote_ident(stage), c.create))
                .await
                .map_err(|e| {
                    Error::pg(
                        format!("creating collation {} (needs ICU support in the server)", c.name),
                        e,
                    )
                })?;
            created.push(c.name.clone());
        }
    }
    Ok(created)
}

/// Create every table in the staging schema (the search path's first) and
/// make its job from the columns PostgreSQL created.
pub(super) async fn create_tables(main: &Client, plan: &Plan, stage: &str) -> Result<Vec<Job>> {
    let mut jobs = Vec::new();
    for (i, t) in plan.tables.iter().enumerate() {
        main.batch_execute(&t.create)
            .await
            .pg_context(|| format!("creating table {} ({})", t.name, one_line(&t.create)))?;
        let (cols, generated) = job::pg_columns(main, stage, &t.name).await?;
        let mut j = job::job_for(t, stage, &cols, false)?;
        j.generated = job::generated(t, &generated);
        j.table = i;
        jobs.push(j);
    }
    Ok(jobs)
}

/// Keep autovacuum off the staging tables: it would pick a table up after
/// its first committed copy, burn CPU on statistics we build anyway, and
/// hold a lock our index builds wait a second for. Returns the tables it
/// was turned off for (reset at the switch, unless the plan's DDL set it).
pub(super) async fn autovacuum_off(main: &Client, stage: &str) -> Result<Vec<String>> {
    let tables: Vec<String> = main
        .query(
            "SELECT relname::text FROM pg_class WHERE relnamespace = $1::text::regnamespace AND relkind = 'r' \
             AND NOT coalesce(array_to_string(reloptions, ',') LIKE '%autovacuum_enabled=%', false)",
            &[&stage],
        )
        .await
        .pg_context(|| "reading the options of the staging tables".to_owned())?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if !tables.is_empty() {
        let sql: String = tables
            .iter()
            .map(|t| {
                format!(
                    "ALTER TABLE {} SET (autovacuum_enabled = false, toast.autovacuum_enabled = false);",
                    quote_ident(t)
                )
            })
            .collect();
        main.batch_execute(&sql)
            .await
            .pg_context(|| "setting up the staging tables".to_owned())?;
    }
    Ok(tables)
}

/// Per table in plan order, its index builds, run as soon as it is
/// loaded: the unique indexes behind the primary key and UNIQUE, and the
/// secondary ones (CREATE INDEX locks do not conflict, so one table's
/// builds run side by side).
pub(super) fn index_builds(plan: &Plan) -> Vec<Vec<Ddl>> {
    plan.tables
        .iter()
        .map(|t| {
            let keys = t.primary_key.iter().chain(&t.unique);
            keys.map(|k| Ddl::new(t, k.index_sql(&t.name), false))
                .chain(
                    t.indexes
                        .iter()
                        .map(|ix| Ddl::new(t, ix.create.clone(), ix.partial || ix.expression)),
                )
                .collect()
        })
        .collect()
}

/// Per table in `order`, the statements after its index builds: the keys
/// attached to their indexes (`USING INDEX`: no second build, the same
/// checks) and the CHECKs.
pub(super) fn constraints(plan: &Plan, order: &[usize]) -> Vec<Vec<Ddl>> {
    order
        .iter()
        .map(|&i| {
            let t = &plan.tables[i];
            let keys = t.primary_key.iter().map(|k| (k, "PRIMARY KEY"));
            keys.chain(t.unique.iter().map(|k| (k, "UNIQUE")))
                .map(|(k, kind)| Ddl::new(t, k.attach_sql(&t.name, kind), false))
                .chain(t.checks.iter().map(|c| Ddl {
                    relaxed: (!c.not_valid).then(|| c.not_valid_sql(&t.name)),
                    ..Ddl::new(t, c.sql(&t.name), true)
                }))
                .collect()
        })
        .collect()
}

/// Every foreign key, added NOT VALID (no scan, needs only the parent's
/// key) on `main`; returns their validations, to run side by side.
pub(super) async fn add_foreign_keys(
    main: &Client,
    plan: &Plan,
    results: &[Loaded],
    orphans_unscanned: bool,
) -> Result<Vec<Vec<Ddl>>> {
    let rows = |name: &str| {
        plan.tables
            .iter()
            .position(|x| x.name == name)
            .map(|i| results[i].stats.loaded)
    };
    let mut validations = Vec::new();
    for t in &plan.tables {
        for f in &t.foreign_keys {
            let add = f.sql(&t.name);
            main.batch_execute(&format!("{add} NOT VALID")).await.map_err(|e| {
                Error::pg(format!("adding a foreign key on {} ({})", t.name, one_line(&add)), e)
                    .with_exit(Exit::DataErr)
            })?;
            if f.not_valid {
                // The plan found orphans: the key stays NOT VALID (named there).
                continue;
            }
            let validate = f.validate_sql(&t.name);
            // A small table referencing a much bigger one is checked fastest
            // by index probes into the parent's key; the planner (no
            // statistics yet) hashes the whole parent instead.
            let probe = match (rows(&t.name), rows(&f.references)) {
                (Some(child), Some(parent)) => child.saturating_mul(8) <= parent,
                _ => false,
            };
            let sql = if probe {
                format!(
                    "SET enable_hashjoin = off; SET enable_mergejoin = off; {validate}; RESET enable_hashjoin; RESET enable_mergejoin"
                )
            } else {
                validate
            };
            let parent = plan.tables.iter().find(|p| p.name == f.references);
            validations.push(vec![Ddl {
                orphans: orphans_unscanned.then(|| Orphans {
                    count_sql: f.orphans_sql(&t.name),
                    name: f.name.clone(),
                    table: t.source.clone(),
                    parent: parent.map_or_else(|| f.references.clone(), |p| p.source.clone()),
                }),
                ..Ddl::new(t, sql, false)
            }]);
        }
    }
    Ok(validations)
}

/// Run `sql`; an `optional` one PostgreSQL refuses (other than for the
/// data: class 23, exit 65) is rolled back and its reason added to `skipped`.
pub(super) async fn exec_ddl(c: &Client, d: &Ddl, skipped: &mut Vec<String>) -> Result<()> {
    let sql = d.sql.as_str();
    if !d.optional && d.orphans.is_none() {
        return c
            .batch_execute(sql)
            .await
            .map_err(|e| Error::pg(format!("running {}", one_line(sql)), e).with_exit(Exit::DataErr));
    }
    c.batch_execute("BEGIN").await.pg_context(|| "BEGIN".to_owned())?;
    match c.batch_execute(sql).await {
        Ok(()) => c.batch_execute("COMMIT").await.pg_context(|| "COMMIT".to_owned()),
        Err(e) => {
            let code = e.code().map(|s| s.code().to_owned()).unwrap_or_default();
            c.batch_execute("ROLLBACK").await.pg_context(|| "ROLLBACK".to_owned())?;
            if code.starts_with("23")
                && let Some(relaxed) = &d.relaxed
            {
                c.batch_execute(relaxed)
                    .await
                    .map_err(|e| Error::pg(format!("running {}", one_line(relaxed)), e).with_exit(Exit::DataErr))?;
                log::warn!("rows break {} in PostgreSQL: created NOT VALID", one_line(sql));
                skipped.push(format!(
                    "{}: existing rows break it in PostgreSQL though SQLite accepts them (the translation evaluates differently): created NOT VALID",
                    one_line(sql)
                ));
                return Ok(());
            }
            if code == "23503"
                && let Some(o) = &d.orphans
            {
                return keep_not_valid(c, o, skipped).await;
            }
            if code.starts_with("23") || !d.optional {
                return Err(Error::pg(format!("running {}", one_line(sql)), e).with_exit(Exit::DataErr));
            }
            let msg = e
                .as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_owned());
            log::warn!("skipped {}: {msg}", one_line(sql));
            skipped.push(format!("{}: {msg}", one_line(sql)));
            Ok(())
        }
    }
}

/// A foreign key whose validation found orphans stays NOT VALID (new rows
/// are checked): reported with their count, as the plan would have.
async fn keep_not_valid(c: &Client, o: &Orphans, skipped: &mut Vec<String>) -> Result<()> {
    let n: i64 = c
        .query_one(&o.count_sql, &[])
        .await
        .pg_context(|| format!("counting the orphans of {}", o.name))?
        .get(0);
    log::warn!(
        "foreign key {}: {n} rows reference no parent row: left NOT VALID",
        o.name
    );
    skipped.push(format!(
        "foreign key {name}: {n} rows of {} reference no row of {} (SQLite enforces foreign keys only with PRAGMA foreign_keys = ON; found by the validation): created NOT VALID, so new rows are checked; delete or fix those rows, then ALTER TABLE ... VALIDATE CONSTRAINT {name}",
        o.table,
        o.parent,
        name = o.name
    ));
    Ok(())
}

impl Ctx<'_> {
    /// Move `schema.table`'s identity sequence on `col` past the migrated
    /// maximum and SQLite's `sqlite_sequence` value.
    pub(super) async fn restart_identity(
        &self,
        c: &Client,
        schema: &str,
        table: &str,
        col: &str,
        source: &str,
    ) -> Result<()> {
        let qualified = format!("{}.{}", quote_ident(schema), quote_ident(table));
        let row = c
            .query_one(
                &format!(
                    "SELECT pg_get_serial_sequence($1, $2), (SELECT max({}) FROM {qualified})::bigint",
                    quote_ident(col)
                ),
                &[&qualified, &col],
            )
            .await
            .pg_context(|| format!("reading the maximum of {table}.{col}"))?;
        let seq: Option<String> = row.get(0);
        let max: Option<i64> = row.get(1);
        let Some(seq) = seq else { return Ok(()) };
        let from_sqlite = self.seqs.get(&source.to_lowercase()).copied();
        let last = max.into_iter().chain(from_sqlite).max();
        if let Some(last) = last
            && last >= 1
        {
            c.execute("SELECT setval($1::text::regclass, $2, true)", &[&seq, &last])
                .await
                .pg_context(|| format!("moving the identity of {table}.{col} past {last}"))?;
        }
        Ok(())
    }
}

/// Collect skipped statements per SQLite table.
pub(super) fn note_skipped(skipped: &mut HashMap<String, Vec<String>>, more: Vec<(String, String)>) {
    for (table, msg) in more {
        skipped.entry(table).or_default().push(msg);
    }
}
