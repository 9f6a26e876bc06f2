//! The restore itself, used by `sw-restore` and by `drill` and `activate`:
//! its flags, its target, its `restore` record, and the three jobs in
//! order: `plan` (choose the backup and check the archive reaches the
//! target, before anything is copied), `extract` (unpack, pg_control last)
//! and `recover` (recovery settings; with `--start`: start, wait, check
//! where it paused, promote). A restore that fails before the copy was
//! started leaves the directory as it found it: missing or empty.

mod assemble;
mod extract;
mod plan;
mod recover;
mod unpack;
mod walscan;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use sw_core::cli::{RepoOpts, ServerOpts};
use sw_core::cluster::{Cluster, Runner};
use sw_core::contract::Record;
use sw_core::duration::millis;
use sw_core::fsutil::q;
use sw_core::output::Output;
use sw_core::repo::wal::Lsn;
use sw_core::repo::{Area, Repo, chain};
use sw_core::{Error, IoContext, Result};

/// What to recover to (exactly one).
#[derive(Args, Debug, Clone)]
#[group(multiple = false)]
pub struct TargetOpts {
    /// Recover to this time (RFC 3339, e.g. 2026-11-26T10:15:00Z): transactions committed at or before it are kept.
    #[arg(long, value_name = "TIME")]
    pub target_time: Option<String>,
    /// Recover to this WAL location (e.g. 0/3000060), inclusive.
    #[arg(long, value_name = "LSN")]
    pub target_lsn: Option<String>,
    /// Recover to a restore point made with pg_create_restore_point().
    #[arg(long, value_name = "NAME")]
    pub target_name: Option<String>,
    /// Stop as soon as the backup is consistent.
    #[arg(long)]
    pub immediate: bool,
    /// Recover to the end of the archived WAL.
    #[arg(long)]
    pub latest: bool,
}

impl TargetOpts {
    /// The end of the archive (`--latest`).
    pub fn latest() -> TargetOpts {
        TargetOpts {
            target_time: None,
            target_lsn: None,
            target_name: None,
            immediate: false,
            latest: true,
        }
    }

    /// A time (`--target-time`, RFC 3339).
    pub fn time(t: String) -> TargetOpts {
        TargetOpts {
            target_time: Some(t),
            latest: false,
            ..TargetOpts::latest()
        }
    }
}

/// Flags of a restore.
#[derive(Args, Debug, Clone)]
pub struct RestoreArgs {
    /// The backup repository (a directory; required).
    // Not `sw_core::cli::RepoOpts`: these flags sit beside the subcommands
    // (which take their own --repo), and clap cannot require a flag only
    // when no subcommand is given, so it is checked in `execute` (64).
    #[arg(long, value_name = "DIR|URL", env = "SW_BACKUP_REPO")]
    pub repo: Option<PathBuf>,
    /// How an azure:// repository is reached.
    #[command(flatten)]
    pub blob: sw_core::cli::BlobOpts,
    #[command(flatten)]
    pub keys: sw_core::cli::KeyOpts,
    /// The data directory to restore into (must be missing or empty; required).
    #[arg(long, value_name = "DIR")]
    pub pgdata: Option<PathBuf>,
    #[command(flatten)]
    pub target: TargetOpts,
    /// Restore this backup instead of the newest one that fits the target.
    #[arg(long, value_name = "ID")]
    pub backup: Option<String>,
    /// The cluster to restore, when the repository holds several.
    #[arg(long, value_name = "ID")]
    pub system_identifier: Option<String>,
    /// Keep archive_mode and archive_command from the backup (the copy becomes the primary that archives).
    #[arg(long)]
    pub as_primary: bool,
    /// Start the copy, wait until the target is reached, promote it and report what was reached.
    #[arg(long)]
    pub start: bool,
    /// Port for the copy (written to its settings).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Unix socket directory for the copy (default with --start: /tmp).
    #[arg(long, value_name = "DIR")]
    pub socket_dir: Option<PathBuf>,
    /// How long --start waits for recovery to reach the target.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = sw_core::duration::parse)]
    pub timeout: Duration,
    #[command(flatten)]
    pub copy: CopyOpts,
}

/// Where, as whom and how the restored copy runs (shared by restore, drill
/// and activate): the server programs (`--bindir`, `--os-user`: restored
/// files are owned by that user), the superuser that checks it, and the
/// program restore_command runs.
#[derive(Args, Debug, Clone)]
pub struct CopyOpts {
    #[command(flatten)]
    pub server: ServerOpts,
    /// Database superuser used to check the started copy over its socket.
    #[arg(long, value_name = "NAME", default_value = "postgres")]
    pub superuser: String,
    /// The sw-restore binary restore_command runs (default: this one); the server's OS user must be able to run it.
    #[arg(long, value_name = "PATH")]
    pub sw_restore: Option<PathBuf>,
}

impl CopyOpts {
    /// The server programs, run as the right OS user.
    ///
    /// # Errors
    /// 69 when the programs are not found; 78 for an unknown OS user.
    pub fn runner(&self) -> Result<Runner> {
        self.server.runner()
    }
}

/// A parsed target.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Time(DateTime<Utc>),
    Lsn(Lsn),
    Name(String),
    Immediate,
    Latest,
}

impl Target {
    /// The one target the flags name.
    ///
    /// # Errors
    /// 64 when none is given or a time or LSN does not parse.
    pub fn from_opts(o: &TargetOpts) -> Result<Target> {
        if let Some(t) = &o.target_time {
            let t = DateTime::parse_from_rfc3339(t)
                .map_err(|e| Error::usage(format!("--target-time {t:?} is not an RFC 3339 time: {e}")))?;
            return Ok(Target::Time(t.with_timezone(&Utc)));
        }
        if let Some(l) = &o.target_lsn {
            return Ok(Target::Lsn(Lsn::parse(l)?));
        }
        if let Some(n) = &o.target_name {
            return Ok(Target::Name(n.clone()));
        }
        if o.immediate {
            return Ok(Target::Immediate);
        }
        if o.latest {
            return Ok(Target::Latest);
        }
        Err(Error::usage(
            "say what to recover to: --target-time, --target-lsn, --target-name, --immediate or --latest",
        ))
    }

    /// For messages and the `target` field: `time 2026-...Z`, `lsn 0/3000060`, `latest`.
    fn describe(&self) -> String {
        match self {
            Target::Time(t) => format!("time {}", t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
            Target::Lsn(l) => format!("lsn {l}"),
            Target::Name(n) => format!("restore point {n:?}"),
            Target::Immediate => "immediate".into(),
            Target::Latest => "latest".into(),
        }
    }
}

/// A restored copy: what was restored, and with `--start` what recovery reached.
#[derive(Serialize, JsonSchema, Debug, Clone)]
pub struct Outcome {
    /// The backup restored (its id).
    pub backup: String,
    /// The target: `time <RFC 3339>`, `lsn <X/Y>`, `restore point "<name>"`, `immediate` or `latest`.
    pub target: String,
    /// The data directory restored into.
    pub pgdata: String,
    /// The timeline recovery follows.
    pub timeline: u32,
    /// Bytes of the files written (schema 1 called it bytes_restored).
    pub restored_bytes: u64,
    /// Pages of the backup that failed their checksum when it was taken:
    /// the copy holds the same corruption (null: its pages were not checked).
    pub corrupt_pages: Option<u64>,
    /// The copy was started (--start).
    pub started: bool,
    /// The copy was promoted: it is a primary now.
    pub promoted: bool,
    /// The WAL location recovery reached, as PostgreSQL printed it; null without --start.
    pub reached_lsn: Option<String>,
    /// The time of the last transaction replayed (microseconds); null without --start or when none was.
    #[schemars(extend("format" = "date-time"))]
    pub reached_time: Option<String>,
    /// The copy's port (--port); null when none was set.
    pub port: Option<u16>,
    /// The copy's Unix socket directory; null when none was set.
    pub socket_dir: Option<String>,
    /// libpq conninfo for the started copy (no password); null without --start.
    pub conninfo: Option<String>,
    /// The whole restore.
    pub duration_ms: u64,
    /// From the start of the restore until the copy answered queries (schema 1: seconds_to_queryable, in seconds); null without --start.
    pub queryable_ms: Option<u64>,
}

impl Record for Outcome {
    const KIND: &'static str = "restore";
    const SCHEMA: u32 = 2;
}

pub fn run(a: &RestoreArgs, pretty: bool) -> Result<()> {
    let o = execute(a)?;
    Output::stdout(pretty).emit(&o)
}

/// Restore per `a`; used by the restore command, drills and activation.
///
/// # Errors
/// Those of each job (see the man page's EXIT STATUS).
pub fn execute(a: &RestoreArgs) -> Result<Outcome> {
    let t0 = Instant::now();
    let target = Target::from_opts(&a.target)?;
    let repo_path = a
        .repo
        .as_ref()
        .ok_or_else(|| Error::usage("--repo (or SW_BACKUP_REPO) is required"))?;
    let pgdata = a.pgdata.as_ref().ok_or_else(|| Error::usage("--pgdata is required"))?;
    if a.start && a.port.is_none() {
        return Err(Error::usage(
            "--start needs --port (the copy must not collide with the source)",
        ));
    }
    let repo_opts = RepoOpts {
        repo: repo_path.clone(),
        blob: a.blob.clone(),
        keys: a.keys.clone(),
    };
    let repo = Repo::open_opts(&repo_opts)?;
    let runner = a.copy.runner()?;
    let bindir = runner.bindir.clone();
    let cluster = Cluster::new(pgdata, runner)?;
    extract::check_destination(&cluster)?;
    let plan = plan::plan(
        &repo,
        &bindir,
        a.system_identifier.as_deref(),
        a.backup.as_deref(),
        target,
    )?;
    let exe = match &a.copy.sw_restore {
        Some(p) => std::path::absolute(p).io_context(|| format!("resolving {}", q(p)))?,
        None => std::env::current_exe().io_context(|| "finding this program's path".into())?,
    };
    let dest = cluster.datadir.clone();
    let created = !dest.exists();
    std::fs::create_dir_all(&dest).io_context(|| format!("creating {}", q(&dest)))?;
    let reach = repo_opts.reach_args(&repo.root.display().to_string(), repo.is_encrypted());
    let res = restore_into(a, &reach, &cluster, &plan, &exe, t0);
    // A failure before the copy was started: the directory was missing or
    // empty, so leave it so. After a start attempt, keep it for its log.
    if let Err(e) = &res
        && !dest.join("log/sw-restore.log").exists()
        && !dest.join("postmaster.pid").exists()
    {
        log::warn!("restore failed ({e}); removing what was written to {}", q(&dest));
        clean_up(&dest, created);
    }
    res
}

/// Leave `dest` as it was before a failed restore: gone if it was
/// missing, else empty.
fn clean_up(dest: &Path, created: bool) {
    if created {
        let _ = std::fs::remove_dir_all(dest);
    } else if let Ok(rd) = std::fs::read_dir(dest) {
        for e in rd.flatten() {
            let p = e.path();
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
    }
}

fn restore_into(
    a: &RestoreArgs,
    reach: &[(&str, String)],
    cluster: &Cluster,
    plan: &plan::Plan,
    exe: &Path,
    t0: Instant,
) -> Result<Outcome> {
    let dest = &cluster.datadir;
    warn_corruption(&plan.backup);
    let bytes = extract::extract(&plan.area, &plan.backup, dest)?;
    log::info!(
        "{bytes} bytes extracted and synced after {:.2}s",
        t0.elapsed().as_secs_f64()
    );
    let socket_dir = recover::configure(a, reach, cluster, plan, exe)?;
    cluster.runner.hand_over(dest)?;
    let mut out = Outcome {
        backup: plan.backup.id.clone(),
        target: plan.target.describe(),
        pgdata: dest.display().to_string(),
        timeline: plan.chain.timeline,
        restored_bytes: bytes,
        corrupt_pages: plan.backup.page_checks.as_ref().map(|p| p.failed),
        started: false,
        promoted: false,
        reached_lsn: None,
        reached_time: None,
        port: a.port,
        socket_dir: socket_dir.as_ref().map(|d| d.display().to_string()),
        conninfo: None,
        duration_ms: 0,
        queryable_ms: None,
    };
    if a.start {
        log::info!("starting the copy after {:.2}s", t0.elapsed().as_secs_f64());
        recover::start_and_promote(
            a,
            cluster,
            plan,
            socket_dir.as_deref().unwrap_or(Path::new("/tmp")),
            &mut out,
            t0,
        )?;
    }
    out.duration_ms = millis(t0.elapsed());
    Ok(out)
}

/// A backup that held pages failing their checksum restores them as
/// they were: say so before the copy starts.
fn warn_corruption(b: &sw_core::repo::BackupManifest) {
    let Some(pc) = b.page_checks.as_ref().filter(|p| p.failed > 0) else {
        return;
    };
    log::warn!(
        "backup {} holds {} page(s) that failed their checksum when it was taken ({}): the restored copy has the same corruption",
        b.id,
        pc.failed,
        pc.first_bad().join(", ")
    );
}

/// Newest contiguous archived time of an area (for the RPO).
///
/// # Errors
/// 65 for malformed history or manifests; 74 reading the repository.
pub fn archive_end(area: &Area) -> Result<Option<DateTime<Utc>>> {
    let objects = area.wal_objects()?;
    let histories = area.histories_in(&objects)?;
    let Some(b) = area.backups()?.pop() else {
        return Ok(None);
    };
    let c = chain::walk(area, &objects, &histories, &b, None)?;
    Ok(c.last.map(|o| o.mtime))
}
