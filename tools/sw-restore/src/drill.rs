//! `sw-restore drill`: prove the newest backup restores. Restore it (to the
//! end of the archive, or a given time) into a scratch directory on a free
//! port, start and promote it, check it (amcheck on every B-tree index when
//! the extension is available, an optional SQL file), record the measured
//! RTO and the RPO to the repository's drill log, then stop and delete it.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::Utc;
use clap::Args;
use serde::{Deserialize, Serialize};
use sw_core::cluster::{Cluster, StopMode};
use sw_core::fsutil::q;
use sw_core::output::{Output, rfc3339};
use sw_core::repo::Repo;
use sw_core::{Error, IoContext, Result};

use crate::restore::{self, RestoreArgs, ServerOpts, TargetOpts, psql};

/// Flags of `sw-restore drill`.
#[derive(Args, Debug)]
pub struct DrillArgs {
    /// The backup repository (a directory).
    #[arg(long, value_name = "DIR", env = "SW_BACKUP_REPO")]
    pub repo: PathBuf,
    /// Restore to this time instead of the end of the archive (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub target_time: Option<String>,
    /// The cluster to drill, when the repository holds several.
    #[arg(long, value_name = "ID")]
    pub system_identifier: Option<String>,
    /// SQL file run against the copy (database postgres); any error fails the drill.
    #[arg(long, value_name = "FILE")]
    pub sql: Option<PathBuf>,
    /// Row counts the copy must reach, JSON Lines of {"database", "schema", "table", "min_rows"} (as --save-rows writes them); a missing table or fewer rows fails the drill.
    #[arg(long, value_name = "FILE")]
    pub expect_rows: Option<PathBuf>,
    /// After the checks pass, write every user table's row count in the copy to FILE (JSON Lines in the --expect-rows format), as the expectation for later drills.
    #[arg(long, value_name = "FILE")]
    pub save_rows: Option<PathBuf>,
    /// Parent directory for the scratch copy (default: the system temp directory).
    #[arg(long, value_name = "DIR")]
    pub scratch: Option<PathBuf>,
    /// Keep the copy running and its directory (for inspection) instead of deleting it.
    #[arg(long)]
    pub keep: bool,
    #[command(flatten)]
    pub server: ServerOpts,
}

/// The `restore.drill` record (also appended to the drill log).
#[derive(Serialize, Debug)]
struct DrillRecord {
    time: String,
    ok: bool,
    backup: Option<String>,
    target: String,
    /// Seconds from the start of the drill until the copy answered queries.
    rto_seconds: Option<f64>,
    /// Seconds between the end of the archived WAL and the drill's start.
    rpo_seconds: Option<f64>,
    reached_lsn: Option<String>,
    reached_time: Option<String>,
    databases: Option<u64>,
    indexes_checked: Option<u64>,
    /// Tables whose row counts were checked against --expect-rows.
    tables_checked: Option<u64>,
    amcheck: bool,
    sql_file: Option<String>,
    duration_ms: u64,
    error: Option<String>,
    pgdata: String,
    kept: bool,
}

pub fn run(a: &DrillArgs, pretty: bool) -> Result<()> {
    let t0 = Instant::now();
    let started_at = Utc::now();
    let repo = Repo::open(&a.repo)?;
    let area = {
        let areas = repo.areas()?;
        let mut fit: Vec<_> = areas
            .into_iter()
            .filter(|x| {
                a.system_identifier
                    .as_deref()
                    .is_none_or(|s| x.info.system_identifier == s)
            })
            .collect();
        if fit.len() != 1 {
            return Err(Error::usage(format!(
                "repository {} holds {} matching clusters; pass --system-identifier",
                q(&repo.root),
                fit.len()
            )));
        }
        fit.remove(0)
    };
    let expect = match &a.expect_rows {
        Some(p) => read_expectations(p)?,
        None => Vec::new(),
    };
    let rpo = restore::archive_end(&area)?.map(|t| (started_at - t).num_milliseconds() as f64 / 1000.0);
    let runner = a.server.runner()?;
    let parent = a.scratch.clone().unwrap_or_else(std::env::temp_dir);
    let scratch = tempfile::Builder::new()
        .prefix("sw-drill.")
        .tempdir_in(&parent)
        .io_context(|| format!("creating a scratch directory in {}", q(&parent)))?
        .keep();
    runner.hand_over(&scratch)?;
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .io_context(|| "finding a free port".into())?
        .port();
    let pgdata = scratch.join("data");
    let ra = RestoreArgs {
        repo: Some(a.repo.clone()),
        pgdata: Some(pgdata.clone()),
        target: TargetOpts {
            target_time: a.target_time.clone(),
            target_lsn: None,
            target_name: None,
            immediate: false,
            latest: a.target_time.is_none(),
        },
        backup: None,
        system_identifier: Some(area.info.system_identifier.clone()),
        as_primary: false,
        start: true,
        port: Some(port),
        socket_dir: Some(scratch.clone()),
        timeout: std::time::Duration::from_secs(3600),
        server: a.server.clone(),
    };
    let mut rec = DrillRecord {
        time: rfc3339(started_at),
        ok: false,
        backup: None,
        target: a
            .target_time
            .clone()
            .map_or_else(|| "latest".into(), |t| format!("time {t}")),
        rto_seconds: None,
        rpo_seconds: rpo,
        reached_lsn: None,
        reached_time: None,
        databases: None,
        indexes_checked: None,
        tables_checked: None,
        amcheck: false,
        sql_file: a.sql.as_ref().map(|p| p.display().to_string()),
        duration_ms: 0,
        error: None,
        pgdata: pgdata.display().to_string(),
        kept: a.keep,
    };
    let cluster = Cluster::new(&pgdata, runner.clone())?;
    let result = restore::execute(&ra).and_then(|o| {
        rec.backup = Some(o.backup.clone());
        rec.rto_seconds = o.seconds_to_queryable;
        rec.reached_lsn = o.reached_lsn.clone();
        rec.reached_time = o.reached_time.clone();
        check(a, &cluster, &scratch, port, &expect, &mut rec)
    });
    if let Err(e) = &result {
        rec.error = Some(e.to_string());
    } else {
        rec.ok = true;
    }
    if !a.keep {
        let _ = cluster.stop(StopMode::Immediate);
        let _ = std::fs::remove_dir_all(&scratch);
    }
    rec.duration_ms = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
    append_log(&area.drill_log(), &rec)?;
    repo.adopt(&area.drill_log())?;
    Output::stdout(pretty).record("restore.drill", &rec)?;
    result.map_err(|e| e.context("the restore drill failed"))
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

fn read_expectations(path: &Path) -> Result<Vec<RowExpectation>> {
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

fn save_rows(path: &Path, cluster: &Cluster, sock: &Path, port: u16, user: &str, dbs: &[String]) -> Result<u64> {
    #[derive(Deserialize)]
    struct Counted {
        schema: String,
        table: String,
        rows: u64,
    }
    let mut text = String::new();
    let mut n = 0;
    for db in dbs {
        let json = psql(cluster, sock, port, user, db, COUNT_ALL)?;
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

fn check(
    a: &DrillArgs,
    cluster: &Cluster,
    sock: &Path,
    port: u16,
    expect: &[RowExpectation],
    rec: &mut DrillRecord,
) -> Result<()> {
    let u = &a.server.superuser;
    let query = |db: &str, text: &str| psql(cluster, sock, port, u, db, text);
    let dbs = query(
        "postgres",
        "SELECT string_agg(datname, ',') FROM pg_database WHERE datallowconn",
    )?;
    let dbs: Vec<String> = dbs.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect();
    rec.databases = Some(dbs.len() as u64);
    let avail = query(
        "postgres",
        "SELECT count(*) FROM pg_available_extensions WHERE name = 'amcheck'",
    )?;
    if avail == "1" {
        rec.amcheck = true;
        let mut n = 0u64;
        for db in &dbs {
            query(db, "CREATE EXTENSION IF NOT EXISTS amcheck")?;
            let c = query(
                db,
                "SELECT count(bt_index_check(c.oid)) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                 JOIN pg_am am ON am.oid = c.relam WHERE am.amname = 'btree' AND c.relpersistence <> 't' AND i.indisready AND i.indisvalid",
            )
            .map_err(|e| e.context(format!("amcheck found a problem in database {db}")))?;
            n += c.parse::<u64>().unwrap_or(0);
        }
        rec.indexes_checked = Some(n);
    }
    let mut short = Vec::new();
    for e in expect {
        if !dbs.contains(&e.database) {
            short.push(format!("database {} is missing", e.database));
            continue;
        }
        let exists = query(
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
        let rows = query(
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
    if !expect.is_empty() {
        rec.tables_checked = Some(expect.len() as u64);
    }
    if !short.is_empty() {
        return Err(Error::data(format!("row counts: {}", short.join("; "))));
    }
    if let Some(f) = &a.sql {
        let text = std::fs::read_to_string(f).io_context(|| format!("reading {}", q(f)))?;
        query("postgres", &text).map_err(|e| e.context(format!("the drill SQL {} failed", q(f))))?;
    }
    if let Some(p) = &a.save_rows {
        save_rows(p, cluster, sock, port, u, &dbs)?;
    }
    Ok(())
}

fn append_log(path: &Path, rec: &DrillRecord) -> Result<()> {
    let line = sw_core::output::render_kind("restore.drill", rec, false)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .io_context(|| format!("opening {}", q(path)))?;
    writeln!(f, "{line}").io_context(|| format!("writing {}", q(path)))?;
    f.sync_all().io_context(|| format!("syncing {}", q(path)))
}
