//! `run`: plan (or read `--plan`), load, verify, switch in, report.
//!
//! A full run (`full`) creates the tables in a staging schema (`ddl`),
//! streams every table with binary COPY (`copy`: one SQLite reader thread
//! per job, `--jobs` at once; `job` cuts big tables into rowid ranges),
//! verifies and indexes each table as soon as it is in (`verify`, on the
//! session queue in `queue`), attaches the keys, adds the foreign keys,
//! ANALYZE, then moves everything into the target schema in one transaction
//! (`switch`). `--data-only` loads existing tables in one transaction
//! (`data_only`). `progress` draws the bar on a terminal.

mod collide;
mod copy;
mod data_only;
mod ddl;
mod full;
mod job;
mod queue;
mod switch;
mod verify;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use sw_core::output::Output;
use sw_core::progress::{Meter, Progress, Unit};
use sw_core::{Error, PgContext, Result};
use tokio_postgres::Client;

use crate::plan::{Plan, TablePlan};
use crate::record::{Mode, Summary, TableRecord, millis};
use crate::{OnError, RunArgs};

use self::copy::Stats;

/// What a table's load came to: its rows and checksum, how long its copy
/// and verification took, and the verdict (`None` with --no-verify).
#[derive(Debug, Default, Clone)]
struct Loaded {
    stats: Stats,
    took: Duration,
    verified: Option<bool>,
}

/// The reject file (`--on-error=reject`), shared by the reader threads.
struct Rejects {
    /// Opened at the first rejected row.
    out: Option<BufWriter<File>>,
    path: PathBuf,
}

/// What every phase of a run reads.
struct Ctx<'a> {
    args: &'a RunArgs,
    plan: &'a Plan,
    schema: &'a str,
    rejects: Option<Arc<Mutex<Rejects>>>,
    /// `sqlite_sequence` (table lower-cased to its last AUTOINCREMENT value).
    seqs: HashMap<String, i64>,
    /// Rows read so far (all tables) of those expected (SQLite's counts),
    /// for the progress line.
    progress: Arc<Meter>,
    /// When the run started (for the phase timings at -v).
    started: Instant,
}

/// Per table in plan order, the record; the target; views created.
type Outcome = (Vec<TableRecord>, String, usize);

/// Run a migration.
///
/// # Errors
/// As the man page's EXIT STATUS says: 65 for a value that does not fit, a
/// bad plan or a failed verification, 66 for a missing source or plan, 73
/// when the target is not free, the connection's codes, ...
pub fn run(args: &RunArgs, pretty: bool) -> Result<()> {
    let started = Instant::now();
    let (source, loaded_plan) = match (&args.plan, &args.source) {
        (Some(p), src) => {
            let plan = crate::plan::read(p)?;
            let s = src.clone().unwrap_or_else(|| PathBuf::from(&plan.source));
            (s, Some(plan))
        }
        (None, Some(s)) => (s.clone(), None),
        (None, None) => return Err(Error::usage("give SOURCE.db or --plan FILE")),
    };
    let jobs = usize::from(args.jobs).max(1);
    let readers = crate::source::snapshot(&source, if args.data_only { 1 } else { jobs })?;
    let schema = args.schema.clone().unwrap_or_else(|| {
        loaded_plan
            .as_ref()
            .map_or_else(|| "public".to_owned(), |p| p.target_schema.clone())
    });
    let mut plan = match loaded_plan {
        Some(p) => p,
        None => crate::plan::build(&readers[0], &source.to_string_lossy(), &schema, args.strict)?,
    };
    if args.strict {
        strict(&plan)?;
    }
    if !args.data_only {
        collide::decide(&mut plan);
    }
    let rejects = match args.on_error {
        OnError::Stop => None,
        OnError::Reject => Some(Arc::new(Mutex::new(open_rejects(args, &source)?))),
    };
    let ctx = Ctx {
        args,
        plan: &plan,
        schema: &schema,
        rejects: rejects.clone(),
        seqs: sqlite_sequences(&readers[0]),
        progress: Arc::new(Meter::default()),
        started,
    };
    let bar = Progress::start(crate::NAME, Unit::Rows, Arc::clone(&ctx.progress));
    let res = sw_core::cli::block_on(async {
        if args.data_only {
            ctx.data_only(readers).await
        } else {
            ctx.full(readers).await
        }
    });
    drop(bar);
    let reject_file = match &rejects {
        Some(r) => close_rejects(r)?,
        None => None,
    };
    let (records, target, views) = res?;
    let summary = Summary {
        source: source.to_string_lossy().into_owned(),
        target,
        target_schema: schema.clone(),
        mode: if args.data_only { Mode::DataOnly } else { Mode::Full },
        tables: records.len(),
        views,
        rows_read: records.iter().map(|r| r.rows_read).sum(),
        rows_loaded: records.iter().map(|r| r.rows_loaded).sum(),
        rows_rejected: records.iter().map(|r| r.rows_rejected).sum(),
        values_nulled: records.iter().flat_map(|r| r.nulled.values()).sum(),
        values_cast_to_blob: records.iter().flat_map(|r| r.cast_to_blob.values()).sum(),
        reject_file,
        verified: !args.no_verify,
        untranslated: plan.untranslatable.len() + records.iter().map(|r| r.untranslated.len()).sum::<usize>(),
        not_migrated: plan
            .untranslatable
            .iter()
            .map(|u| format!("{}: {}", u.object, u.reason))
            .collect(),
        duration_ms: millis(started.elapsed()),
    };
    let mut out = Output::stdout(pretty);
    for r in &records {
        out.emit(r)?;
    }
    out.emit(&summary)?;
    out.flush()?;
    // Rows that did not arrive make the run's exit non-zero even when the
    // rest is loaded and verified: a caller checking only `$?` must see it.
    match (summary.rows_rejected, &summary.reject_file) {
        (0, _) => Ok(()),
        (n, file) => Err(Error::data(format!(
            "{n} rows did not arrive: they are in {} (every other row is loaded{})",
            file.as_deref().unwrap_or("the reject file"),
            if summary.verified { " and verified" } else { "" }
        ))),
    }
}

/// `--strict`: every relaxation and omission the plan names refuses the
/// run before anything is written.
fn strict(plan: &Plan) -> Result<()> {
    let named: Vec<&str> = plan
        .untranslatable
        .iter()
        .chain(plan.tables.iter().flat_map(|t| &t.untranslatable))
        .map(|u| u.object.as_str())
        .collect();
    if named.is_empty() {
        return Ok(());
    }
    Err(Error::data(format!(
        "--strict: the plan relaxes or leaves out {} objects ({}); nothing was written (see `{} plan` for each reason)",
        named.len(),
        named.join(", "),
        crate::NAME
    )))
}

/// The reject file: `--reject-file`, else `STEM.rejects.jsonl` beside the
/// `--plan` file or else the source. It must not exist; it is created
/// only when a row is rejected (no empty file after a clean run).
fn open_rejects(args: &RunArgs, source: &Path) -> Result<Rejects> {
    let path = args.reject_file.clone().unwrap_or_else(|| {
        let stem = source
            .file_stem()
            .map_or_else(|| "source".into(), |s| s.to_string_lossy().into_owned());
        let beside = args.plan.as_deref().unwrap_or(source);
        beside
            .parent()
            .unwrap_or_else(|| Path::new(""))
            .join(format!("{stem}.rejects.jsonl"))
    });
    if path.symlink_metadata().is_ok() {
        return Err(Error::cant_create(format!(
            "the reject file {} exists (move it away or give --reject-file)",
            sw_core::fsutil::q(&path)
        )));
    }
    Ok(Rejects { out: None, path })
}

impl Rejects {
    /// Append one line, creating the file (0600, never over an existing one) on the first.
    fn write_line(&mut self, line: &str) -> Result<()> {
        if self.out.is_none() {
            // Rejected rows are the application's data: readable by the owner only.
            let f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&self.path)
                .map_err(|e| {
                    Error::cant_create(format!("creating the reject file {}", sw_core::fsutil::q(&self.path)))
                        .with_source(e)
                })?;
            self.out = Some(BufWriter::new(f));
        }
        let out = self
            .out
            .as_mut()
            .ok_or_else(|| Error::software("reject file not open"))?;
        out.write_all(line.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|e| Error::io("writing the reject file").with_source(e))
    }
}

/// Flush and sync the reject file; its path for the summary (`None` when
/// no row was rejected: no file was made).
fn close_rejects(r: &Mutex<Rejects>) -> Result<Option<String>> {
    let mut r = r.lock().map_err(|_| Error::software("reject file lock poisoned"))?;
    let path = r.path.to_string_lossy().into_owned();
    let Some(out) = r.out.as_mut() else { return Ok(None) };
    out.flush()
        .map_err(|e| Error::io("writing the reject file").with_source(e))?;
    out.get_ref()
        .sync_all()
        .map_err(|e| Error::io("syncing the reject file").with_source(e))?;
    Ok(Some(path))
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

/// A table's record: what was loaded, and what of it was not migrated.
fn table_record(t: &TablePlan, schema: &str, loaded: Loaded, untranslated: Vec<String>) -> TableRecord {
    TableRecord {
        table: t.source.clone(),
        target: format!("{schema}.{}", t.name),
        rows_read: loaded.stats.read,
        rows_loaded: loaded.stats.loaded,
        rows_rejected: loaded.stats.rejected,
        nulled: loaded.stats.nulled.clone(),
        cast_to_blob: loaded.stats.cast_to_blob.clone(),
        verified: loaded.verified,
        checksum: loaded.stats.checksum.to_string(),
        duration_ms: millis(loaded.took),
        untranslated,
    }
}

/// Seconds since `t`, for the timings logged at -v.
fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// A statement on one line, cut at 160 bytes, for messages.
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
