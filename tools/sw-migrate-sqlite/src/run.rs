//! `run`: create the tables in a staging schema, stream every table with
//! binary COPY (one reader thread per table, `--jobs` at once), verify and
//! index each table as soon as it is in (`pipeline`), attach the keys, add
//! the foreign keys, ANALYZE, then move everything into the target schema in
//! one transaction.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use rusqlite::Connection;
use serde::Serialize;
use sw_core::output::Output;
use sw_core::pg::{quote_ident as q, quote_literal};
use sw_core::{Error, PgContext, Result};
use tokio_postgres::Client;

use crate::plan::{Plan, TablePlan};
use crate::value::{self, Kind};
use crate::{OnError, RunArgs};

mod pipeline;

const CHUNK: usize = 256 * 1024;
const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// One column to copy: SQLite name, PostgreSQL name, PostgreSQL kind.
#[derive(Debug, Clone)]
struct Col {
    source: String,
    name: String,
    kind: Kind,
    int_dates: value::IntDates,
}

#[derive(Debug, Clone)]
struct Job {
    source: String,
    /// Schema-qualified target of the COPY.
    qualified: String,
    name: String,
    cols: Vec<Col>,
    /// How the rowid is named in SQL (`_rowid_`, or `rowid`/`oid` when a
    /// column has that name); `None` for WITHOUT ROWID tables.
    rowid: Option<&'static str>,
    /// Index of the table in the plan.
    table: usize,
    /// A rowid range of a big table loaded in parts: (first, last).
    part: Option<(i64, i64)>,
    /// Source columns the (edited) plan's table has no column for.
    dropped: Vec<String>,
    /// Generated columns: not copied (PostgreSQL computes them), but
    /// SQLite's values are in the checksum, so the translated expression
    /// is verified to give the same values.
    generated: Vec<Col>,
}

/// Rows above which a table with a rowid alias is loaded in `--jobs` parts.
const SPLIT_ROWS: i64 = 400_000;

/// Split a big table's job into rowid ranges (one per job slot), when its
/// rowid is a column of its own (`rowid_alias`).
fn split(reader: &Connection, job: Job, rowid_alias: bool, parts: usize) -> Vec<Job> {
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
                t = q(&job.source)
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

#[derive(Debug, Default, Clone)]
struct Stats {
    read: u64,
    loaded: u64,
    rejected: u64,
    checksum: i128,
}

/// The `migrate.table` record.
#[derive(Debug, Serialize)]
struct TableRecord {
    table: String,
    target: String,
    rows_read: u64,
    rows_loaded: u64,
    rows_rejected: u64,
    verified: Option<bool>,
    checksum: String,
    seconds: f64,
    untranslated: Vec<String>,
}

impl TableRecord {
    fn new(t: &TablePlan, schema: &str, (stats, seconds, verified): Loaded, untranslated: Vec<String>) -> TableRecord {
        TableRecord {
            table: t.source.clone(),
            target: format!("{schema}.{}", t.name),
            rows_read: stats.read,
            rows_loaded: stats.loaded,
            rows_rejected: stats.rejected,
            verified,
            checksum: stats.checksum.to_string(),
            seconds,
            untranslated,
        }
    }
}

/// The `summary` record.
#[derive(Debug, Serialize)]
struct Summary {
    source: String,
    target: String,
    target_schema: String,
    mode: &'static str,
    tables: usize,
    views: usize,
    rows_read: u64,
    rows_loaded: u64,
    rows_rejected: u64,
    reject_file: Option<String>,
    verified: bool,
    untranslated: usize,
    /// Objects not migrated (triggers, virtual tables, views PostgreSQL refused), with the reason.
    not_migrated: Vec<String>,
    seconds: f64,
}

type Loaded = (Stats, f64, Option<bool>);

/// A range of heap blocks: `from..to` (open-ended without `to`).
type Blocks = (u64, Option<u64>);

/// A post-data statement.
#[derive(Debug, Clone)]
struct Ddl {
    table: String,
    sql: String,
    /// Translated from SQLite expressions: skipped (and reported) when PostgreSQL refuses it.
    optional: bool,
}

struct Rejects {
    out: BufWriter<File>,
    path: PathBuf,
}

/// Run a migration.
pub fn run(args: &RunArgs, pretty: bool, quiet: bool) -> Result<()> {
    let started = Instant::now();
    let (source, loaded_plan) = match (&args.plan, &args.source) {
        (Some(p), src) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| Error::no_input(format!("reading the plan {}", sw_core::fsutil::q(p))).with_source(e))?;
            let plan: Plan = serde_json::from_str(&text).map_err(|e| {
                Error::data(format!("the plan {} is not a valid plan", sw_core::fsutil::q(p))).with_source(e)
            })?;
            if plan.format != crate::plan::PLAN_FORMAT {
                return Err(Error::data(format!("plan format {} is not supported", plan.format)));
            }
            let s = src.clone().unwrap_or_else(|| PathBuf::from(&plan.source));
            (s, Some(plan))
        }
        (None, Some(s)) => (s.clone(), None),
        (None, None) => return Err(Error::usage("give SOURCE.db or --plan FILE")),
    };
    let jobs = args.jobs_usize().max(1);
    let readers = crate::source::snapshot(&source, if args.data_only { 1 } else { jobs })?;
    let schema = args.schema.clone().unwrap_or_else(|| {
        loaded_plan
            .as_ref()
            .map_or_else(|| "public".to_owned(), |p| p.target_schema.clone())
    });
    let plan = match loaded_plan {
        Some(p) => p,
        None => crate::plan::build(&readers[0], &source.to_string_lossy(), &schema)?,
    };
    let seqs = sqlite_sequences(&readers[0]);
    let rejects = match args.on_error {
        OnError::Stop => None,
        OnError::Reject => {
            let path = args.reject_file.clone().unwrap_or_else(|| {
                let stem = source
                    .file_stem()
                    .map_or_else(|| "source".into(), |s| s.to_string_lossy().into_owned());
                PathBuf::from(format!("{stem}.rejects.jsonl"))
            });
            // Rejected rows are the application's data: readable by the owner only.
            let f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| {
                    Error::cant_create(format!("creating the reject file {}", sw_core::fsutil::q(&path))).with_source(e)
                })?;
            Some(Arc::new(Mutex::new(Rejects {
                out: BufWriter::new(f),
                path,
            })))
        }
    };
    let ctx = Ctx {
        args,
        plan: &plan,
        schema: &schema,
        rejects: rejects.clone(),
        seqs,
        progress: Arc::new(AtomicU64::new(0)),
        expected: Arc::new(AtomicU64::new(0)),
        started,
    };
    let bar = Progress::start(ctx.progress.clone(), ctx.expected.clone(), quiet);
    let res = sw_core::cli::block_on(async {
        if args.data_only {
            ctx.data_only(readers).await
        } else {
            ctx.full(readers).await
        }
    });
    drop(bar);
    if let Some(r) = &rejects
        && let Ok(mut r) = r.lock()
    {
        r.out
            .flush()
            .map_err(|e| Error::io("writing the reject file").with_source(e))?;
        r.out
            .get_ref()
            .sync_all()
            .map_err(|e| Error::io("syncing the reject file").with_source(e))?;
    }
    let (records, target, views) = res?;
    let mut out = Output::stdout(pretty);
    let mut sum = Summary {
        source: source.to_string_lossy().into_owned(),
        target,
        target_schema: schema.clone(),
        mode: if args.data_only { "data-only" } else { "full" },
        tables: records.len(),
        views,
        rows_read: 0,
        rows_loaded: 0,
        rows_rejected: 0,
        reject_file: rejects
            .as_ref()
            .and_then(|r| r.lock().ok().map(|r| r.path.to_string_lossy().into_owned())),
        verified: !args.no_verify,
        untranslated: plan.untranslatable.len(),
        not_migrated: plan
            .untranslatable
            .iter()
            .map(|u| format!("{}: {}", u.object, u.reason))
            .collect(),
        seconds: 0.0,
    };
    for r in &records {
        sum.rows_read += r.rows_read;
        sum.rows_loaded += r.rows_loaded;
        sum.rows_rejected += r.rows_rejected;
        sum.untranslated += r.untranslated.len();
        out.record("migrate.table", r)?;
    }
    sum.seconds = secs(started);
    out.record("summary", &sum)?;
    out.flush()
}

fn secs(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
}

fn sqlite_sequences(c: &Connection) -> HashMap<String, i64> {
    let mut m = HashMap::new();
    if let Ok(mut st) = c.prepare("SELECT name, seq FROM sqlite_sequence")
        && let Ok(rows) = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
    {
        for (n, s) in rows.flatten() {
            m.insert(n.to_lowercase(), s);
        }
    }
    m
}

struct Ctx<'a> {
    args: &'a RunArgs,
    plan: &'a Plan,
    schema: &'a str,
    rejects: Option<Arc<Mutex<Rejects>>>,
    seqs: HashMap<String, i64>,
    /// Rows read so far (all tables), for the progress display.
    progress: Arc<AtomicU64>,
    /// Rows expected (SQLite's counts), for the progress bar.
    expected: Arc<AtomicU64>,
    /// When the run started (for the phase timings at -v).
    started: Instant,
}

/// A one-line progress display on stderr, only when it is a terminal.
struct Progress {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    fn start(rows: Arc<AtomicU64>, expected: Arc<AtomicU64>, quiet: bool) -> Progress {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = if !quiet && std::io::stderr().is_terminal() {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("progress".into())
                .spawn(move || {
                    let t0 = Instant::now();
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(std::time::Duration::from_millis(250));
                        let n = rows.load(Ordering::Relaxed);
                        let secs = t0.elapsed().as_secs_f64().max(0.001);
                        #[allow(clippy::cast_precision_loss)]
                        let rate = n as f64 / secs;
                        let expected = expected.load(Ordering::Relaxed);
                        if expected == 0 {
                            continue;
                        }
                        let total = expected.max(n);
                        #[allow(
                            clippy::cast_precision_loss,
                            clippy::cast_possible_truncation,
                            clippy::cast_sign_loss
                        )]
                        let filled = (((n as f64 / total as f64) * 30.0) as usize).min(30);
                        eprint!(
                            "\r{NAME}: [{}{}] {n}/{total} rows, {rate:.0} rows/s, {secs:.1}s ",
                            "#".repeat(filled),
                            ".".repeat(30 - filled),
                            NAME = crate::NAME
                        );
                    }
                    eprint!("\r{:100}\r", "");
                })
                .ok()
        } else {
            None
        };
        Progress { stop, thread }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

type Outcome = (Vec<TableRecord>, String, usize);

/// A session. `bulk`: for copies, index builds and validation, which on big
/// tables outlast any sensible statement timeout, so it has none; other
/// sessions keep --statement-timeout. JIT is off: the bulk statements
/// are scans and sorts, where compiling expressions is not won back.
async fn connect(args: &RunArgs, bulk: bool) -> Result<(String, Client)> {
    let (t, c) = args.pg.connect(crate::NAME).await?;
    let timeout = if bulk { "SET statement_timeout = 0; " } else { "" };
    c.client
        .batch_execute(&format!(
            "{timeout}SET synchronous_commit = off; SET maintenance_work_mem = '256MB'; SET jit = off"
        ))
        .await
        .pg_context(|| "setting up the session".to_owned())?;
    Ok((t.to_string(), c.client))
}

/// A table's columns as PostgreSQL sees them, (name, format_type) in
/// order: the stored ones, and the generated ones.
type PgColumns = (Vec<(String, String)>, Vec<(String, String)>);

async fn pg_columns(c: &Client, schema: &str, table: &str) -> Result<PgColumns> {
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

fn job_for(t: &TablePlan, schema: &str, pgcols: &[(String, String)], data_only: bool) -> Result<Job> {
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
        });
    }
    Ok(Job {
        source: t.source.clone(),
        qualified: format!("{}.{}", q(schema), q(&t.name)),
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

impl Ctx<'_> {
    fn stage_name() -> String {
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

    async fn full(&self, readers: Vec<Connection>) -> Result<Outcome> {
        let (target, main) = connect(self.args, self.args.data_only).await?;
        let schema = self.schema;
        // Drop staging schemas of runs that died (nobody holds their lock).
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
                q(&n),
                quote_literal(&n)
            ))
            .await
            .pg_context(|| format!("dropping the abandoned staging schema {n}"))?;
        }
        // Refuse to overwrite anything in the target schema.
        let mut names: Vec<String> = self.plan.tables.iter().map(|t| t.name.clone()).collect();
        names.extend(self.plan.views.iter().map(|v| v.name.clone()));
        names.extend(
            self.plan
                .tables
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
        let stage = Self::stage_name();
        main.batch_execute(&format!(
            "SELECT pg_advisory_lock(hashtext({})); CREATE SCHEMA {}",
            quote_literal(&stage),
            q(&stage)
        ))
        .await
        .pg_context(|| "creating the staging schema".to_owned())?;
        let res = self.full_staged(&main, &stage, &target, readers).await;
        if res.is_err() {
            let _ = main
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", q(&stage)))
                .await;
        }
        res
    }

    async fn full_staged(&self, main: &Client, stage: &str, target: &str, readers: Vec<Connection>) -> Result<Outcome> {
        let schema = self.schema;
        let mut moved_collations = Vec::new();
        for c in &self.plan.collations {
            let exists = main
                .query_opt(
                    "SELECT 1 FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace WHERE n.nspname = $1 AND c.collname = $2",
                    &[&schema, &c.name],
                )
                .await
                .pg_context(|| "looking up collations".to_owned())?;
            if exists.is_none() {
                main.batch_execute(&format!("SET search_path = {}; {}", q(stage), c.create))
                    .await
                    .map_err(|e| {
                        Error::pg(
                            format!("creating collation {} (needs ICU support in the server)", c.name),
                            e,
                        )
                    })?;
                moved_collations.push(c.name.clone());
            }
        }
        let path = format!("SET search_path = {}, {}, pg_catalog", q(stage), q(schema));
        main.batch_execute(&path)
            .await
            .pg_context(|| "setting search_path".to_owned())?;
        // The sessions for copies, verification, index builds and ANALYZE,
        // opened once (side by side) and kept for every phase. They wait
        // for each other's locks without a timeout (the staging schema is
        // ours alone).
        let width = usize::from(self.args.jobs).max(1);
        let pool: Vec<Client> = futures_util::future::try_join_all((0..width).map(|_| {
            let path = &path;
            async move {
                let (_, client) = connect(self.args, true).await?;
                client
                    .batch_execute(&format!("{path}; SET lock_timeout = 0"))
                    .await
                    .pg_context(|| "setting up a session".to_owned())?;
                Ok::<_, Error>(client)
            }
        }))
        .await?;
        let mut plan_jobs = Vec::new();
        for t in &self.plan.tables {
            main.batch_execute(&t.create)
                .await
                .pg_context(|| format!("creating table {} ({})", t.name, one_line(&t.create)))?;
            let (cols, gen_cols) = pg_columns(main, stage, &t.name).await?;
            let mut job = job_for(t, stage, &cols, false)?;
            for c in t.columns.iter().filter(|c| c.generated) {
                if let Some((n, ty)) = gen_cols.iter().find(|(n, _)| *n == c.name)
                    && let Some(kind) = Kind::from_pg(ty)
                {
                    job.generated.push(Col {
                        source: c.source.clone(),
                        name: n.clone(),
                        kind,
                        int_dates: value::IntDates::default(),
                    });
                }
            }
            job.table = plan_jobs.len();
            plan_jobs.push(job);
        }
        // Autovacuum is kept off the staging tables: it would pick a table
        // up after its first committed copy, burn CPU on statistics we build
        // anyway, and hold a lock our index builds wait a second for. It is
        // reset at the switch (unless the plan's DDL set it).
        let autovacuum_off: Vec<String> = main
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
        if !autovacuum_off.is_empty() {
            let sql: String = autovacuum_off
                .iter()
                .map(|t| {
                    format!(
                        "ALTER TABLE {} SET (autovacuum_enabled = false, toast.autovacuum_enabled = false);",
                        q(t)
                    )
                })
                .collect();
            main.batch_execute(&sql)
                .await
                .pg_context(|| "setting up the staging tables".to_owned())?;
        }
        // Big tables go first, in parts loaded side by side.
        let mut jobs = Vec::new();
        let mut rest = Vec::new();
        for j in plan_jobs {
            let alias = self.plan.tables[j.table].identity.is_some();
            let parts = split(&readers[0], j, alias, readers.len());
            if parts.len() > 1 {
                jobs.extend(parts);
            } else {
                rest.extend(parts);
            }
        }
        jobs.extend(rest);
        let counts = source_counts(&readers[0], self.plan)?;
        self.expected.store(counts.iter().sum(), Ordering::Relaxed);
        log::info!(
            "staging tables created and sources counted after {:.2}s",
            secs(self.started)
        );
        // Row counts of the views in the same snapshot: a translated view
        // that selects other rows is caught at the switch.
        let view_counts: Vec<Option<i64>> = self
            .plan
            .views
            .iter()
            .map(|v| {
                readers[0]
                    .query_row(&format!("SELECT count(*) FROM {}", q(&v.source)), [], |r| r.get(0))
                    .ok()
            })
            .collect();
        // Constraints and indexes after the data, then foreign keys.
        // 1. Every index build, as soon as its table is loaded, side by side
        //    with the copies and verifications still to do (biggest first):
        //    the secondary indexes and the unique indexes behind PRIMARY KEY
        //    and UNIQUE (CREATE INDEX locks do not conflict, so one table's
        //    builds run at once). 2. Per table, in order: the keys attached
        //    to their indexes (`USING INDEX`: no second build; the same
        //    checks) and the other constraints. 3. Foreign keys NOT VALID,
        //    then their validation side by side with ANALYZE.
        let mut skipped: HashMap<String, Vec<String>> = HashMap::new();
        let mut order: Vec<usize> = (0..self.plan.tables.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(counts[i]));
        let mut builds: Vec<Vec<Ddl>> = vec![Vec::new(); self.plan.tables.len()];
        let mut keys: Vec<Vec<Ddl>> = Vec::new();
        for &i in &order {
            let t = &self.plan.tables[i];
            let mut attach = Vec::new();
            for c in &t.constraints {
                let ddl = |sql: String, optional: bool| Ddl {
                    table: t.source.clone(),
                    sql,
                    optional,
                };
                match key_by_index(c) {
                    Some((build, attach_sql)) => {
                        builds[i].push(ddl(build, false));
                        attach.push(ddl(attach_sql, false));
                    }
                    None => attach.push(ddl(c.clone(), c.contains(" CHECK ("))),
                }
            }
            keys.push(attach);
            for ix in &t.indexes {
                builds[i].push(Ddl {
                    table: t.source.clone(),
                    sql: ix.create.clone(),
                    optional: ix.partial || ix.expression,
                });
            }
        }
        // With a build per session the cores are already busy: parallel
        // workers would only add their tape merge (measured: 0.8 s builds
        // became 0.6 s on the benchmark's 2 cores without them). One session
        // (--jobs 1) keeps them: its builds run one at a time.
        if pool.len() > 1 && builds.iter().map(Vec::len).sum::<usize>() >= pool.len() {
            for c in &pool {
                c.batch_execute("SET max_parallel_maintenance_workers = 0")
                    .await
                    .pg_context(|| "setting up a session".to_owned())?;
            }
        }
        let t_load = Instant::now();
        let (results, build_skips) = self.load_verify_build(readers, &jobs, builds, &counts, &pool).await?;
        for (table, msg) in build_skips {
            skipped.entry(table).or_default().push(msg);
        }
        log::info!(
            "data loaded, {}and indexed in {:.2}s",
            if self.args.no_verify { "" } else { "verified " },
            secs(t_load)
        );
        let t_post = Instant::now();
        for (table, msg) in self.ddl_parallel(keys, &pool).await? {
            skipped.entry(table).or_default().push(msg);
        }
        // Foreign keys are declared NOT VALID (no scan, needs only the parent
        // keys), then validated side by side with ANALYZE of other tables.
        // The sessions wait for each other without a lock timeout (the
        // staging schema is ours alone).
        let mut last = Vec::new();
        for t in &self.plan.tables {
            for f in &t.foreign_keys {
                match fk_name(f) {
                    Some(name) => {
                        main.batch_execute(&format!("{f} NOT VALID")).await.map_err(|e| {
                            Error::pg(format!("adding a foreign key on {} ({})", t.name, one_line(f)), e)
                                .with_exit(sw_core::Exit::DataErr)
                        })?;
                        let validate = format!("ALTER TABLE {} VALIDATE CONSTRAINT {name}", q(&t.name));
                        // A small table referencing a much bigger one is
                        // checked fastest by index probes into the parent's
                        // key; the planner (no statistics yet) hashes the
                        // whole parent instead.
                        let rows = |name: &str| {
                            self.plan
                                .tables
                                .iter()
                                .position(|x| x.name == name)
                                .map(|i| results[i].0.loaded)
                        };
                        let probe = match (rows(&t.name), fk_parent(f).and_then(|p| rows(&p))) {
                            (Some(child), Some(parent)) => child.saturating_mul(8) <= parent,
                            _ => false,
                        };
                        last.push(vec![Ddl {
                            table: t.source.clone(),
                            sql: if probe {
                                format!(
                                    "SET enable_hashjoin = off; SET enable_mergejoin = off; {validate}; RESET enable_hashjoin; RESET enable_mergejoin"
                                )
                            } else {
                                validate
                            },
                            optional: false,
                        }]);
                    }
                    None => last.push(vec![Ddl {
                        table: t.source.clone(),
                        sql: f.clone(),
                        optional: false,
                    }]),
                }
            }
        }
        for t in &self.plan.tables {
            if let Some(id) = &t.identity {
                self.restart_identity(main, stage, &t.name, &id.column, &t.source)
                    .await?;
            }
        }
        let t_an = Instant::now();
        // ANALYZE after every index (expression indexes get statistics too).
        last.extend(order.iter().map(|&i| {
            let t = &self.plan.tables[i];
            vec![Ddl {
                table: t.source.clone(),
                sql: format!("ANALYZE {}.{}", q(stage), q(&t.name)),
                optional: false,
            }]
        }));
        for (table, msg) in self.ddl_parallel(last, &pool).await? {
            skipped.entry(table).or_default().push(msg);
        }
        log::info!(
            "keys, constraints, foreign keys and ANALYZE in {:.2}s (foreign key validation and ANALYZE {:.2}s)",
            secs(t_post),
            secs(t_an)
        );
        let t_switch = Instant::now();
        // Swap into the target schema in one transaction.
        let mut sql = format!("BEGIN; CREATE SCHEMA IF NOT EXISTS {};", q(schema));
        for c in &moved_collations {
            sql.push_str(&format!(
                "ALTER COLLATION {}.{} SET SCHEMA {};",
                q(stage),
                q(c),
                q(schema)
            ));
        }
        for t in &autovacuum_off {
            sql.push_str(&format!(
                "ALTER TABLE {}.{} RESET (autovacuum_enabled, toast.autovacuum_enabled);",
                q(stage),
                q(t)
            ));
        }
        for t in &self.plan.tables {
            sql.push_str(&format!(
                "ALTER TABLE {}.{} SET SCHEMA {};",
                q(stage),
                q(&t.name),
                q(schema)
            ));
        }
        sql.push_str(&format!("SET LOCAL search_path = {}, pg_catalog;", q(schema)));
        main.batch_execute(&sql)
            .await
            .map_err(|e| Error::pg(format!("moving the tables into schema {schema}"), e))?;
        let mut views = 0;
        let mut view_skips = Vec::new();
        for (v, want) in self.plan.views.iter().zip(&view_counts) {
            main.batch_execute("SAVEPOINT v")
                .await
                .pg_context(|| "savepoint".to_owned())?;
            let mut res = main.batch_execute(&v.create).await.map_err(|e| {
                e.as_db_error()
                    .map_or_else(|| e.to_string(), |d| d.message().to_owned())
            });
            if res.is_ok()
                && let Some(want) = want
            {
                let got: std::result::Result<i64, String> = main
                    .query_one(&format!("SELECT count(*) FROM {}", q(&v.name)), &[])
                    .await
                    .map(|r| r.get(0))
                    .map_err(|e| {
                        e.as_db_error()
                            .map_or_else(|| e.to_string(), |d| d.message().to_owned())
                    });
                res = match got {
                    Ok(n) if n == *want => Ok(()),
                    Ok(n) => Err(format!(
                        "the translated view returns {n} rows, SQLite's {want}: not created"
                    )),
                    Err(m) => Err(m),
                };
            }
            match res {
                Ok(()) => {
                    views += 1;
                    main.batch_execute("RELEASE SAVEPOINT v")
                        .await
                        .pg_context(|| "savepoint".to_owned())?;
                }
                Err(msg) => {
                    log::warn!("view {} not created: {msg}", v.source);
                    view_skips.push(format!("view {}: {msg}", v.source));
                    main.batch_execute("ROLLBACK TO SAVEPOINT v")
                        .await
                        .pg_context(|| "savepoint".to_owned())?;
                }
            }
        }
        main.batch_execute(&format!("DROP SCHEMA {} CASCADE; COMMIT", q(stage)))
            .await
            .pg_context(|| "committing the switch into the target schema".to_owned())?;
        log::info!(
            "switched into schema {schema} (views included) in {:.2}s",
            secs(t_switch)
        );
        let mut records = Vec::new();
        for (t, loaded) in self.plan.tables.iter().zip(results) {
            let mut untranslated: Vec<String> = t
                .untranslatable
                .iter()
                .map(|u| format!("{}: {}", u.object, u.reason))
                .collect();
            untranslated.extend(skipped.remove(&t.source).unwrap_or_default());
            if let Some(j) = jobs.iter().find(|j| std::ptr::eq(&self.plan.tables[j.table], t)) {
                untranslated.extend(j.dropped.iter().cloned());
            }
            records.push(TableRecord::new(t, schema, loaded, untranslated));
        }
        if let Some(first) = records.first_mut() {
            first.untranslated.extend(view_skips);
        }
        Ok((records, target.to_owned(), views))
    }

    /// Run groups of statements on up to `width` sessions at once (each
    /// group in order on one session). Returns the skipped optional ones.
    async fn ddl_parallel(&self, groups: Vec<Vec<Ddl>>, pool: &[Client]) -> Result<Vec<(String, String)>> {
        let groups: Vec<Vec<Ddl>> = groups.into_iter().filter(|g| !g.is_empty()).collect();
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let queue: Arc<Mutex<VecDeque<Vec<Ddl>>>> = Arc::new(Mutex::new(groups.into_iter().collect()));
        let n = pool
            .len()
            .min(queue.lock().map_err(|_| Error::software("queue poisoned"))?.len());
        let workers = pool.iter().take(n).map(|client| {
            let queue = queue.clone();
            async move {
                let mut skipped = Vec::new();
                loop {
                    let next = queue.lock().map_err(|_| Error::software("queue poisoned"))?.pop_front();
                    let Some(group) = next else { break };
                    for d in group {
                        let mut s = Vec::new();
                        let t0 = Instant::now();
                        exec_ddl(client, &d.sql, d.optional, &mut s).await?;
                        log::info!("{:.2}s: {}", secs(t0), one_line(&d.sql));
                        skipped.extend(s.into_iter().map(|m| (d.table.clone(), m)));
                    }
                }
                Ok::<_, Error>(skipped)
            }
        });
        let mut out = Vec::new();
        for r in futures_util::future::join_all(workers).await {
            out.extend(r?);
        }
        Ok(out)
    }

    async fn restart_identity(&self, c: &Client, schema: &str, table: &str, col: &str, source: &str) -> Result<()> {
        let qualified = format!("{}.{}", q(schema), q(table));
        let row = c
            .query_one(
                &format!(
                    "SELECT pg_get_serial_sequence($1, $2), (SELECT max({}) FROM {qualified})::bigint",
                    q(col)
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

    async fn data_only(&self, readers: Vec<Connection>) -> Result<Outcome> {
        let (target, main) = connect(self.args, self.args.data_only).await?;
        let schema = self.schema;
        let mut jobs = Vec::new();
        for t in &self.plan.tables {
            let (cols, _) = pg_columns(&main, schema, &t.name).await?;
            if cols.is_empty() {
                return Err(Error::data(format!(
                    "table {schema}.{} does not exist in the target (needed by --data-only)",
                    t.name
                )));
            }
            jobs.push(job_for(t, schema, &cols, true)?);
        }
        main.batch_execute("BEGIN").await.pg_context(|| "BEGIN".to_owned())?;
        if self.args.truncate {
            let list: Vec<String> = jobs.iter().map(|j| j.qualified.clone()).collect();
            if !list.is_empty() {
                main.batch_execute(&format!("TRUNCATE {}", list.join(", ")))
                    .await
                    .pg_context(|| "truncating the target tables".to_owned())?;
            }
        } else {
            for j in &jobs {
                let r = main
                    .query_opt(&format!("SELECT 1 FROM {} LIMIT 1", j.qualified), &[])
                    .await
                    .pg_context(|| format!("checking that {} is empty", j.qualified))?;
                if r.is_some() {
                    return Err(Error::cant_create(format!(
                        "target table {} is not empty; pass --truncate to replace its rows",
                        j.qualified
                    )));
                }
            }
        }
        let counts = source_counts(&readers[0], self.plan)?;
        self.expected.store(counts.iter().sum(), Ordering::Relaxed);
        let results = self.load_sequential(readers, jobs.clone(), &main).await?;
        check_counts(self.plan, &counts, &results)?;
        for (t, j) in self.plan.tables.iter().zip(&jobs) {
            for c in &j.cols {
                if matches!(c.kind, Kind::Int2 | Kind::Int4 | Kind::Int8) {
                    self.restart_identity(&main, schema, &t.name, &c.name, &t.source)
                        .await?;
                }
            }
        }
        main.batch_execute("COMMIT")
            .await
            .pg_context(|| "committing the load".to_owned())?;
        let records = self
            .plan
            .tables
            .iter()
            .zip(results)
            .map(|(t, loaded)| TableRecord::new(t, schema, loaded, Vec::new()))
            .collect();
        Ok((records, target, 0))
    }

    /// Load in one transaction on `main`, one table after another.
    async fn load_sequential(
        &self,
        mut readers: Vec<Connection>,
        jobs: Vec<Job>,
        main: &Client,
    ) -> Result<Vec<(Stats, f64, Option<bool>)>> {
        let mut conn = readers.pop().ok_or_else(|| Error::software("no reader"))?;
        let mut out = Vec::new();
        for j in jobs {
            let t0 = Instant::now();
            let (c, stats) = self.copy_table(main, conn, &j).await?;
            conn = c;
            let verified = self.verify(main, &j, &stats).await?;
            out.push((stats, secs(t0), verified));
        }
        Ok(out)
    }

    async fn verify(&self, c: &Client, job: &Job, stats: &Stats) -> Result<Option<bool>> {
        if self.args.no_verify {
            return Ok(None);
        }
        check_sums(&job.source, self.table_sums(c, job, None).await?, stats)?;
        Ok(Some(true))
    }

    /// Row count and checksum of a table as PostgreSQL sends it back (all
    /// of it, or a block range: `from..to`, open-ended).
    async fn table_sums(&self, c: &Client, job: &Job, blocks: Option<Blocks>) -> Result<(u64, i128)> {
        // PostgreSQL sends every stored value back in its binary form (the
        // send functions, i.e. what we wrote); numeric and jsonb as their
        // text (jsonb compared with the text its rules give for what we
        // sent); generated columns as computed there. The checksum over that
        // stream must equal the one computed while reading SQLite.
        let select: Vec<String> = job
            .cols
            .iter()
            .chain(&job.generated)
            .map(|c| c.kind.checksum_select(&q(&c.name)))
            .collect();
        let sql = format!(
            "COPY (SELECT {} FROM {}{}) TO STDOUT (FORMAT binary)",
            if select.is_empty() {
                "1".to_owned()
            } else {
                select.join(", ")
            },
            job.qualified,
            match blocks {
                Some((from, Some(to))) => format!(" WHERE ctid >= '({from},0)'::tid AND ctid < '({to},0)'::tid"),
                Some((from, None)) => format!(" WHERE ctid >= '({from},0)'::tid"),
                None => String::new(),
            }
        );
        let stream = c
            .copy_out(&sql)
            .await
            .pg_context(|| format!("verifying {}", job.qualified))?;
        let mut stream = Box::pin(stream);
        let mut sum = RowSums::new(select.is_empty());
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.pg_context(|| format!("verifying {}", job.qualified))?;
            sum.feed(&chunk)
                .map_err(|e| Error::software(format!("verifying {}: {e}", job.qualified)))?;
        }
        Ok((sum.rows, sum.checksum))
    }

    /// Stream one table with COPY (binary). The reader thread converts rows
    /// and hands over bounded chunks.
    async fn copy_table(&self, client: &Client, reader: Connection, job: &Job) -> Result<(Connection, Stats)> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(4);
        let rjob = job.clone();
        let rejects = self.rejects.clone();
        let on_error = self.args.on_error;
        let progress = self.progress.clone();
        let handle = std::thread::Builder::new()
            .name(format!("read {}", job.name))
            .spawn(move || {
                let res = read_table(&reader, &rjob, &tx, rejects.as_ref(), on_error, &progress);
                (reader, res)
            })
            .map_err(|e| Error::software("starting a reader thread").with_source(e))?;
        let cols: Vec<String> = job.cols.iter().map(|c| q(&c.name)).collect();
        let copy_sql = format!(
            "COPY {} ({}) FROM STDIN (FORMAT binary)",
            job.qualified,
            cols.join(", ")
        );
        let sink = match client.copy_in::<_, Bytes>(&copy_sql).await {
            Ok(s) => s,
            Err(e) => {
                drop(rx);
                let _ = handle.join();
                return Err(Error::pg(format!("starting COPY into {}", job.qualified), e));
            }
        };
        let mut sink = Box::pin(sink);
        let mut send_err = sink.send(Bytes::from_static(COPY_HEADER)).await.err();
        if send_err.is_none() {
            while let Some(chunk) = rx.recv().await {
                if let Err(e) = sink.send(chunk).await {
                    send_err = Some(e);
                    break;
                }
            }
        }
        drop(rx);
        let (reader, read_res) = handle
            .join()
            .map_err(|_| Error::software(format!("the reader of {} panicked", job.source)))?;
        // On any failure the sink is dropped unfinished, which aborts the COPY.
        let stats = read_res?;
        if let Some(e) = send_err {
            return Err(Error::pg(format!("COPY into {}", job.qualified), e));
        }
        let n = sink
            .as_mut()
            .finish()
            .await
            .pg_context(|| format!("finishing COPY into {}", job.qualified))?;
        if n != stats.loaded {
            return Err(Error::software(format!(
                "COPY into {} stored {n} rows, {} were sent",
                job.qualified, stats.loaded
            )));
        }
        Ok((reader, stats))
    }
}

/// A plan's `ALTER TABLE "t" ADD CONSTRAINT "c" PRIMARY KEY|UNIQUE ("a", ..)`
/// as the build of its unique index (which runs side by side with the
/// table's other index builds) and the attach `.. USING INDEX`, which
/// checks the same (NOT NULL, with a scan only where a column lacks it)
/// without building again. `None` for any other (or edited) shape.
fn key_by_index(sql: &str) -> Option<(String, String)> {
    let rest = sql.strip_prefix("ALTER TABLE ")?;
    let (table, rest) = quoted_prefix(rest)?;
    let (name, rest) = quoted_prefix(rest.strip_prefix(" ADD CONSTRAINT ")?)?;
    let (kind, rest) = match rest.strip_prefix(" PRIMARY KEY (") {
        Some(r) => ("PRIMARY KEY", r),
        None => ("UNIQUE", rest.strip_prefix(" UNIQUE (")?),
    };
    let mut rest = rest.strip_suffix(')')?;
    let mut cols = Vec::new();
    loop {
        let (c, r) = quoted_prefix(rest)?;
        cols.push(c);
        if r.is_empty() {
            break;
        }
        rest = r.strip_prefix(", ")?;
    }
    Some((
        format!("CREATE UNIQUE INDEX {name} ON {table} ({})", cols.join(", ")),
        format!("ALTER TABLE {table} ADD CONSTRAINT {name} {kind} USING INDEX {name}"),
    ))
}

/// The double-quoted identifier at the start of `s` and what follows it.
fn quoted_prefix(s: &str) -> Option<(&str, &str)> {
    let b = s.as_bytes();
    if b.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    while i < b.len() {
        if b[i] == b'"' {
            if b.get(i + 1) == Some(&b'"') {
                i += 2;
                continue;
            }
            return Some((&s[..=i], &s[i + 1..]));
        }
        i += 1;
    }
    None
}

/// The quoted constraint name of a plan's `ALTER TABLE .. ADD CONSTRAINT "x" FOREIGN KEY ..`.
fn fk_name(sql: &str) -> Option<String> {
    let rest = sql.split_once(" ADD CONSTRAINT \"")?.1;
    let mut name = String::from("\"");
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        name.push(c);
        if c == '"' {
            if chars.peek() == Some(&'"') {
                name.push('"');
                chars.next();
            } else {
                return chars.collect::<String>().starts_with(" FOREIGN KEY").then_some(name);
            }
        }
    }
    None
}

/// Every table's row count in the snapshot the readers share.
fn source_counts(reader: &Connection, plan: &Plan) -> Result<Vec<u64>> {
    plan.tables
        .iter()
        .map(|t| {
            reader
                .query_row(&format!("SELECT count(*) FROM {}", q(&t.source)), [], |r| {
                    r.get::<_, i64>(0)
                })
                .map(i64::unsigned_abs)
                .map_err(|e| Error::data(format!("counting the rows of {}", t.source)).with_source(e))
        })
        .collect()
}

/// Each table's rows read (in all its parts) must be all of its rows.
fn check_counts(plan: &Plan, counts: &[u64], results: &[Loaded]) -> Result<()> {
    for ((t, n), r) in plan.tables.iter().zip(counts).zip(results) {
        check_count(&t.source, r.0.read, *n)?;
    }
    Ok(())
}

fn check_count(source: &str, read: u64, counted: u64) -> Result<()> {
    if read == counted {
        return Ok(());
    }
    Err(Error::software(format!(
        "table {source}: {read} rows read, but SQLite counts {counted}; nothing was changed"
    )))
}

/// What PostgreSQL returned (rows, checksum) must be what was read from SQLite.
fn check_sums(source: &str, (count, checksum): (u64, i128), stats: &Stats) -> Result<()> {
    if count == stats.loaded && checksum == stats.checksum {
        return Ok(());
    }
    Err(Error::data(format!(
        "verification failed for {source}: {count} rows with checksum {checksum} in PostgreSQL, {} rows with checksum {} read from SQLite",
        stats.loaded, stats.checksum
    )))
}

/// The referenced table of a plan's `... REFERENCES "parent" (..)`.
fn fk_parent(sql: &str) -> Option<String> {
    let rest = sql.split_once(" REFERENCES ")?.1.trim_start();
    if let Some(r) = rest.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = r.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                } else {
                    return Some(name);
                }
            }
            name.push(c);
        }
        None
    } else {
        rest.split(|c: char| c == '(' || c.is_whitespace())
            .next()
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
    }
}

fn one_line(s: &str) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.len() > 160 {
        let mut cut = 160;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}…", &s[..cut])
    } else {
        s
    }
}

async fn exec_ddl(c: &Client, sql: &str, optional: bool, skipped: &mut Vec<String>) -> Result<()> {
    if !optional {
        return c
            .batch_execute(sql)
            .await
            .map_err(|e| Error::pg(format!("running {}", one_line(sql)), e).with_exit(sw_core::Exit::DataErr));
    }
    c.batch_execute("BEGIN").await.pg_context(|| "BEGIN".to_owned())?;
    match c.batch_execute(sql).await {
        Ok(()) => c.batch_execute("COMMIT").await.pg_context(|| "COMMIT".to_owned()),
        Err(e) => {
            let code = e.code().map(|s| s.code().to_owned()).unwrap_or_default();
            c.batch_execute("ROLLBACK").await.pg_context(|| "ROLLBACK".to_owned())?;
            if code.starts_with("23") {
                return Err(Error::pg(format!("running {}", one_line(sql)), e).with_exit(sw_core::Exit::DataErr));
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

fn getrandom_fill(b: &mut [u8]) -> std::io::Result<()> {
    use std::io::Read;
    File::open("/dev/urandom")?.read_exact(b)
}

/// The per-row content hash over the row as PostgreSQL's binary COPY
/// returns it for the verification query (field count, then each field's
/// length, -1 for NULL, and bytes): a multiply-rotate mix over 8-byte words
/// with a final avalanche. Both sides hash with this same function, each
/// row in one call.
fn row_hash(bytes: &[u8]) -> i128 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = 0u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    let mut w = [0u8; 8];
    w[..rest.len()].copy_from_slice(rest);
    h = (h.rotate_left(5) ^ u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59)).wrapping_mul(K);
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    i128::from((h ^ (h >> 33)).cast_signed())
}

/// Row count and checksum over a binary COPY stream (same hashing as the reader).
struct RowSums {
    buf: Vec<u8>,
    pos: usize,
    header: bool,
    done: bool,
    /// The query selected a constant instead of columns: hash nothing.
    no_cols: bool,
    rows: u64,
    checksum: i128,
}

impl RowSums {
    fn new(no_cols: bool) -> RowSums {
        RowSums {
            buf: Vec::new(),
            pos: 0,
            header: false,
            done: false,
            no_cols,
            rows: 0,
            checksum: 0,
        }
    }

    fn feed(&mut self, data: &[u8]) -> std::result::Result<(), String> {
        if self.header && self.pos == self.buf.len() {
            // The usual case: each CopyData message holds whole rows, hashed
            // where they are; only a row cut across messages is buffered.
            let used = self.hash_rows(data);
            self.buf.clear();
            self.pos = 0;
            self.buf.extend_from_slice(&data[used..]);
            return Ok(());
        }
        if self.pos > 0 && self.pos * 2 > self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
        if !self.header {
            if self.buf.len() < 19 {
                return Ok(());
            }
            if &self.buf[..11] != b"PGCOPY\n\xff\r\n\0" {
                return Err("unexpected COPY header".into());
            }
            let ext = u32::from_be_bytes([self.buf[15], self.buf[16], self.buf[17], self.buf[18]]) as usize;
            if self.buf.len() < 19 + ext {
                return Ok(());
            }
            self.pos = 19 + ext;
            self.header = true;
        }
        let buf = std::mem::take(&mut self.buf);
        self.pos += self.hash_rows(&buf[self.pos..]);
        self.buf = buf;
        Ok(())
    }

    /// Hash the complete rows at the start of `b`; returns the bytes used.
    fn hash_rows(&mut self, b: &[u8]) -> usize {
        let mut pos = 0;
        while !self.done {
            let Some(len) = row_len(&b[pos..]) else { break };
            let r = &b[pos..pos + len];
            pos += len;
            let n = i16::from_be_bytes([r[0], r[1]]);
            if n == -1 {
                self.done = true;
                break;
            }
            // A table without columns is verified by `SELECT 1`: its rows
            // hash as the empty rows SQLite's side sent.
            self.checksum += if self.no_cols { row_hash(&[0, 0]) } else { row_hash(r) };
            self.rows += 1;
        }
        pos
    }
}

/// The length of the binary COPY row (or trailer) at the start of `b`,
/// when it is complete.
fn row_len(b: &[u8]) -> Option<usize> {
    if b.len() < 2 {
        return None;
    }
    let n = i16::from_be_bytes([b[0], b[1]]);
    if n == -1 {
        return Some(2);
    }
    let mut i = 2;
    for _ in 0..n {
        if b.len() < i + 4 {
            return None;
        }
        let len = i32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        i += 4;
        if len > 0 {
            i += len as usize;
        }
        if b.len() < i {
            return None;
        }
    }
    Some(i)
}

/// Read every row of a table, convert, and send COPY chunks.
fn read_table(
    conn: &Connection,
    job: &Job,
    tx: &tokio::sync::mpsc::Sender<Bytes>,
    rejects: Option<&Arc<Mutex<Rejects>>>,
    on_error: OnError,
    progress: &AtomicU64,
) -> Result<Stats> {
    let all: Vec<&Col> = job.cols.iter().chain(&job.generated).collect();
    let cols: Vec<String> = all.iter().map(|c| q(&c.source)).collect();
    let range = job.part.as_ref().map_or_else(String::new, |(a, b)| {
        format!(" WHERE {} BETWEEN {a} AND {b}", job.rowid.unwrap_or("_rowid_"))
    });
    let select = format!(
        "SELECT {}{} FROM {}{range}",
        job.rowid.map_or_else(|| "NULL, ".to_owned(), |r| format!("{r}, ")),
        if cols.is_empty() {
            "NULL".to_owned()
        } else {
            cols.join(", ")
        },
        q(&job.source)
    );
    let mut st = conn
        .prepare(&select)
        .map_err(|e| Error::data(format!("reading table {}", job.source)).with_source(e))?;
    let mut rows = st
        .query([])
        .map_err(|e| Error::data(format!("reading table {}", job.source)).with_source(e))?;
    let mut stats = Stats::default();
    // Rows are encoded straight into the COPY buffer; a rejected row is cut off again.
    let mut chunk: Vec<u8> = Vec::with_capacity(CHUNK + 4096);
    let mut field = Vec::with_capacity(256);
    let mut canon = Vec::with_capacity(256);
    let ncols = i16::try_from(job.cols.len()).map_err(|_| Error::data("too many columns"))?;
    // The row PostgreSQL will return to the verification is the row sent,
    // unless a column comes back in another form (numeric and jsonb as
    // text) or generated columns come along: then it is built beside.
    let same = job.generated.is_empty() && job.cols.iter().all(|c| c.kind.checksum_is_payload());
    let nall = i16::try_from(all.len()).map_err(|_| Error::data("too many columns"))?;
    let mut expect: Vec<u8> = Vec::new();
    let put = |expect: &mut Vec<u8>, v: Option<&[u8]>| match v {
        None => expect.extend_from_slice(&(-1i32).to_be_bytes()),
        Some(b) => {
            expect.extend_from_slice(&u32::try_from(b.len()).unwrap_or(u32::MAX).to_be_bytes());
            expect.extend_from_slice(b);
        }
    };
    loop {
        let row = match rows.next() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => return Err(Error::data(format!("reading table {}", job.source)).with_source(e)),
        };
        stats.read += 1;
        let row_start = chunk.len();
        chunk.extend_from_slice(&ncols.to_be_bytes());
        if !same {
            expect.clear();
            expect.extend_from_slice(&nall.to_be_bytes());
        }
        let mut bad: Option<(usize, String)> = None;
        for (i, c) in job.cols.iter().enumerate() {
            let v = row
                .get_ref(i + 1)
                .map_err(|e| Error::data(format!("reading table {}", job.source)).with_source(e))?;
            let at = chunk.len();
            chunk.extend_from_slice(&[0; 4]);
            match value::encode(c.kind, c.int_dates, v, &mut chunk, &mut canon) {
                Ok(false) => {
                    chunk[at..at + 4].copy_from_slice(&(-1i32).to_be_bytes());
                    if !same {
                        put(&mut expect, None);
                    }
                }
                Ok(true) => {
                    let len = i32::try_from(chunk.len() - at - 4).map_err(|_| Error::data("value larger than 2 GB"))?;
                    chunk[at..at + 4].copy_from_slice(&len.to_be_bytes());
                    if !same {
                        put(
                            &mut expect,
                            Some(if canon.is_empty() { &chunk[at + 4..] } else { &canon }),
                        );
                    }
                }
                Err(rule) => {
                    bad = Some((i, rule));
                    break;
                }
            }
        }
        if bad.is_none() {
            // SQLite's values of the generated columns: checksummed only.
            let n = job.cols.len();
            for (k, c) in job.generated.iter().enumerate() {
                let v = row
                    .get_ref(n + k + 1)
                    .map_err(|e| Error::data(format!("reading table {}", job.source)).with_source(e))?;
                field.clear();
                match value::encode(c.kind, c.int_dates, v, &mut field, &mut canon) {
                    Ok(false) => put(&mut expect, None),
                    Ok(true) => put(&mut expect, Some(if canon.is_empty() { &field } else { &canon })),
                    Err(rule) => {
                        bad = Some((n + k, format!("generated value: {rule}")));
                        break;
                    }
                }
            }
        }
        if let Some((i, rule)) = bad {
            chunk.truncate(row_start);
            let rowid = row.get_ref(0).ok().and_then(|v| v.as_i64().ok());
            let c = all[i];
            let v = row
                .get_ref(i + 1)
                .map_err(|e| Error::data("reading a value").with_source(e))?;
            match (on_error, rejects) {
                (OnError::Reject, Some(rj)) => {
                    let mut obj = std::collections::BTreeMap::new();
                    for (k, col) in job.cols.iter().enumerate() {
                        let vv = row
                            .get_ref(k + 1)
                            .map_err(|e| Error::data("reading a value").with_source(e))?;
                        obj.insert(col.source.clone(), value::SourceValue::of(vv));
                    }
                    let rec = serde_json::json!({
                        "kind": "migrate.reject", "schema": 1, "table": job.source, "rowid": rowid,
                        "column": c.source, "rule": rule, "row": obj,
                    });
                    let mut g = rj.lock().map_err(|_| Error::software("reject file lock poisoned"))?;
                    serde_json::to_writer(&mut g.out, &rec)
                        .map_err(|e| Error::io("writing the reject file").with_source(e))?;
                    g.out
                        .write_all(b"\n")
                        .map_err(|e| Error::io("writing the reject file").with_source(e))?;
                    stats.rejected += 1;
                    continue;
                }
                _ => {
                    return Err(Error::data(format!(
                        "table {} rowid {} column {}: value {} rejected: {rule} (pass --on-error=reject to divert such rows to a reject file)",
                        job.source,
                        rowid.map_or_else(|| "-".to_owned(), |r| r.to_string()),
                        c.source,
                        value::short(v)
                    )));
                }
            }
        }
        stats.checksum += row_hash(if same { &chunk[row_start..] } else { &expect });
        stats.loaded += 1;
        if stats.read % 4096 == 0 {
            progress.fetch_add(4096, Ordering::Relaxed);
        }
        if chunk.len() >= CHUNK {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK + 4096));
            if tx.blocking_send(Bytes::from(full)).is_err() {
                return Err(Error::io(format!("the COPY into {} stopped", job.qualified)));
            }
        }
    }
    chunk.extend_from_slice(&(-1i16).to_be_bytes());
    if tx.blocking_send(Bytes::from(chunk)).is_err() {
        return Err(Error::io(format!("the COPY into {} stopped", job.qualified)));
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_into_build_and_attach() {
        let (b, a) = key_by_index(r#"ALTER TABLE "T ""q""" ADD CONSTRAINT "T_pkey" PRIMARY KEY ("a", "b c")"#).unwrap();
        assert_eq!(b, r#"CREATE UNIQUE INDEX "T_pkey" ON "T ""q""" ("a", "b c")"#);
        assert_eq!(
            a,
            r#"ALTER TABLE "T ""q""" ADD CONSTRAINT "T_pkey" PRIMARY KEY USING INDEX "T_pkey""#
        );
        let (b, a) = key_by_index(r#"ALTER TABLE "t" ADD CONSTRAINT "t_e_key" UNIQUE ("e")"#).unwrap();
        assert_eq!(b, r#"CREATE UNIQUE INDEX "t_e_key" ON "t" ("e")"#);
        assert_eq!(
            a,
            r#"ALTER TABLE "t" ADD CONSTRAINT "t_e_key" UNIQUE USING INDEX "t_e_key""#
        );
        // Anything else (an edited plan, a CHECK) runs as written.
        assert!(key_by_index(r#"ALTER TABLE "t" ADD CONSTRAINT "t_check" CHECK ("q" > 0)"#).is_none());
        assert!(key_by_index(r#"ALTER TABLE "t" ADD CONSTRAINT "k" UNIQUE ("e") DEFERRABLE"#).is_none());
        assert!(key_by_index(r#"ALTER TABLE "t" ADD CONSTRAINT "k" UNIQUE (lower("e"))"#).is_none());
        assert!(key_by_index(r#"ALTER TABLE "t" ADD CONSTRAINT "k" PRIMARY KEY ("a" DESC)"#).is_none());
    }

    #[test]
    fn foreign_key_parent() {
        let f = r#"ALTER TABLE "c" ADD CONSTRAINT "c_p_fkey" FOREIGN KEY ("p") REFERENCES "Big ""x""" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION"#;
        assert_eq!(fk_parent(f).as_deref(), Some("Big \"x\""));
        assert_eq!(fk_name(f).as_deref(), Some("\"c_p_fkey\""));
        assert_eq!(
            fk_parent("ALTER TABLE c ADD FOREIGN KEY (p) REFERENCES big(id)").as_deref(),
            Some("big")
        );
        assert_eq!(fk_parent("ALTER TABLE c ADD CHECK (x > 0)"), None);
    }
}
