//! `sw-restore drill`: prove the newest backup restores. Restore it (to the
//! end of the archive, or a given time) into a scratch directory on a free
//! port, start and promote it, check it (`checks`: amcheck on every B-tree
//! index when the extension is available, expected row counts, an optional
//! SQL file), record the measured RTO and the RPO in the repository's
//! drill log (`record`), then stop and delete it.
//!
//! The drill log is a local file: `drills.jsonl` in a directory
//! repository's area (or `--drill-log FILE`), `--drill-log` for an
//! azure:// one. Blob objects
//! are written once and never appended to, and `runbook` reads the log
//! where the drills ran.

pub mod checks;
pub mod record;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, Utc};
use clap::Args;
use sw_core::cli::RepoOpts;
use sw_core::cluster::{Cluster, StopMode};
use sw_core::duration::millis;
use sw_core::fsutil::q;
use sw_core::output::Output;
use sw_core::repo::{Area, Repo};
use sw_core::{Error, IoContext, Result};

use crate::psql::Restored;
use crate::restore::{self, CopyOpts, RestoreArgs, TargetOpts};
use record::DrillRecord;

/// Flags of `sw-restore drill`.
#[derive(Args, Debug, Clone)]
pub struct DrillArgs {
    #[command(flatten)]
    pub repo: RepoOpts,
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
    pub copy: CopyOpts,
    /// The Azure target (`--azure`): see `crate::azure::drill`.
    #[command(flatten)]
    pub azure: sw_core::azure::flexible::target::AzureOpts,
    #[command(flatten)]
    pub azure_drill: crate::azure::drill::AzureDrillOpts,
}

/// The one area to drill.
fn pick_area(repo: &Repo, sysid: Option<&str>) -> Result<Area> {
    let mut fit: Vec<_> = repo
        .areas()?
        .into_iter()
        .filter(|x| sysid.is_none_or(|s| x.info.system_identifier == s))
        .collect();
    if fit.len() != 1 {
        return Err(Error::usage(format!(
            "repository {} holds {} matching clusters; pass --system-identifier",
            q(&repo.root),
            fit.len()
        )));
    }
    Ok(fit.remove(0))
}

/// The RPO now: how long since the area's last contiguous archived segment.
fn rpo_ms(area: &Area, now: DateTime<Utc>) -> Result<Option<u64>> {
    Ok(restore::archive_end(area)?.map(|t| u64::try_from((now - t).num_milliseconds()).unwrap_or(0)))
}

pub fn run(a: &DrillArgs, pretty: bool) -> Result<()> {
    let t0 = Instant::now();
    let started_at = Utc::now();
    let repo = Repo::open_opts(&a.repo)?;
    let area = pick_area(&repo, a.system_identifier.as_deref())?;
    let expect = match &a.expect_rows {
        Some(p) => checks::read_expectations(p)?,
        None => Vec::new(),
    };
    let rpo = rpo_ms(&area, started_at)?;
    let runner = a.copy.runner()?;
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
    let mut rec = DrillRecord {
        time: started_at.into(),
        ok: false,
        backup: None,
        target: a
            .target_time
            .clone()
            .map_or_else(|| "latest".into(), |t| format!("time {t}")),
        rto_ms: None,
        rpo_ms: rpo,
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
    let cluster = Cluster::new(&pgdata, runner)?;
    let copy = Restored {
        cluster: &cluster,
        socket_dir: &scratch,
        port,
        user: &a.copy.superuser,
    };
    let result = restore::execute(&restore_args(a, &area, &pgdata, &scratch, port)).and_then(|o| {
        rec.backup = Some(o.backup.clone());
        rec.rto_ms = o.queryable_ms;
        rec.reached_lsn = o.reached_lsn.clone();
        rec.reached_time = o.reached_time.clone();
        checks::run(a, &copy, &expect, &mut rec)
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
    rec.duration_ms = millis(t0.elapsed());
    match (&a.azure_drill.drill_log, repo.is_blob()) {
        (Some(p), _) => record::append(p, &rec)?,
        (None, false) => {
            record::append(&area.drill_log(), &rec)?;
            repo.adopt(&area.drill_log())?;
        }
        (None, true) => log::info!("no --drill-log: the drill record is only printed"),
    }
    Output::stdout(pretty).emit(&rec)?;
    result.map_err(|e| e.context("the restore drill failed"))
}

/// The restore a drill runs: started on `port` with its socket in the
/// scratch directory, never archiving.
fn restore_args(a: &DrillArgs, area: &Area, pgdata: &Path, scratch: &Path, port: u16) -> RestoreArgs {
    RestoreArgs {
        repo: Some(a.repo.repo.clone()),
        blob: a.repo.blob.clone(),
        keys: a.repo.keys.clone(),
        pgdata: Some(pgdata.to_path_buf()),
        target: a.target_time.clone().map_or_else(TargetOpts::latest, TargetOpts::time),
        backup: None,
        system_identifier: Some(area.info.system_identifier.clone()),
        as_primary: false,
        start: true,
        port: Some(port),
        socket_dir: Some(scratch.to_path_buf()),
        timeout: std::time::Duration::from_secs(3600),
        copy: a.copy.clone(),
    }
}
