//! The restore itself: plan (backup, timeline, WAL range) and check it
//! before copying anything, then extract, configure recovery, and
//! optionally start, wait for the target and promote.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use clap::Args;
use serde::Serialize;
use sw_core::cluster::{Bindir, Cluster, Runner, Status, StopMode};
use sw_core::config::Env;
use sw_core::fsutil::{self, q};
use sw_core::output::{Output, rfc3339};
use sw_core::repo::chain::{self, Chain};
use sw_core::repo::object::HashReader;
use sw_core::repo::wal::Lsn;
use sw_core::repo::{Area, BackupManifest, Repo};
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

/// Flags of a restore.
#[derive(Args, Debug, Clone)]
pub struct RestoreArgs {
    /// The backup repository (a directory; required).
    #[arg(long, value_name = "DIR", env = "SW_BACKUP_REPO")]
    pub repo: Option<PathBuf>,
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
    pub server: ServerOpts,
}

/// Where and as whom the restored server runs (shared by restore, drill and
/// activate).
#[derive(Args, Debug, Clone)]
pub struct ServerOpts {
    /// OS user the server runs as (used when invoked as root; restored files are owned by it).
    #[arg(long, value_name = "USER", default_value = sw_core::cluster::DEFAULT_OS_USER)]
    pub os_user: String,
    /// Database superuser used to check the started copy over its socket.
    #[arg(long, value_name = "NAME", default_value = "postgres")]
    pub superuser: String,
    /// Directory holding the PostgreSQL server programs.
    #[arg(long, value_name = "DIR")]
    pub bindir: Option<PathBuf>,
    /// The sw-restore binary restore_command runs (default: this one); the server's OS user must be able to run it.
    #[arg(long, value_name = "PATH")]
    pub sw_restore: Option<PathBuf>,
}

impl ServerOpts {
    /// The server programs, run as the right OS user.
    pub fn runner(&self) -> Result<Runner> {
        Runner::new(Bindir::find(self.bindir.as_deref(), &Env::process())?, &self.os_user)
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

/// The checked plan.
pub struct Plan {
    pub area: Area,
    pub backup: BackupManifest,
    pub chain: Chain,
    pub target: Target,
}

/// The `restore` record.
#[derive(Serialize, Debug, Clone)]
pub struct Outcome {
    pub backup: String,
    pub target: String,
    pub pgdata: String,
    pub timeline: u32,
    pub bytes_restored: u64,
    pub started: bool,
    pub promoted: bool,
    pub reached_lsn: Option<String>,
    pub reached_time: Option<String>,
    pub port: Option<u16>,
    pub socket_dir: Option<String>,
    /// libpq conninfo for the started copy (no password).
    pub conninfo: Option<String>,
    pub duration_ms: u64,
    /// Seconds from the start of the restore until the copy answered queries.
    pub seconds_to_queryable: Option<f64>,
}

fn pick_area(repo: &Repo, sysid: Option<&str>) -> Result<Area> {
    let areas = repo.areas()?;
    let mut fit: Vec<Area> = areas
        .into_iter()
        .filter(|a| sysid.is_none_or(|s| a.info.system_identifier == s))
        .collect();
    match fit.len() {
        0 => Err(Error::no_input(format!(
            "repository {} holds no backups{}",
            q(&repo.root),
            sysid.map(|s| format!(" of system identifier {s}")).unwrap_or_default()
        ))),
        1 => Ok(fit.remove(0)),
        n => Err(Error::usage(format!(
            "repository {} holds {n} clusters; pass --system-identifier",
            q(&repo.root)
        ))),
    }
}

/// Choose the backup and check, without touching the target directory,
/// that the archived WAL and timeline reach the target.
pub fn plan(
    repo: &Repo,
    bindir: &Bindir,
    sysid: Option<&str>,
    backup_id: Option<&str>,
    target: Target,
) -> Result<Plan> {
    let area = pick_area(repo, sysid)?;
    let all = area.backups()?;
    if all.is_empty() {
        return Err(Error::no_input(format!("{} holds no complete backup", q(&area.dir))));
    }
    let objects = area.wal_objects()?;
    let histories = area.histories_in(&objects)?;
    // The current history: the newest timeline's path. A backup taken on a
    // timeline after that timeline was left (an old primary that kept
    // running after a failover) lies on an abandoned branch: restoring it
    // would bring back the branch's data, not the current history's.
    let newest_tli = histories.keys().copied().max().unwrap_or(1);
    let current = area.timeline_path(&histories, newest_tli)?;
    let forked = |b: &BackupManifest| {
        b.timeline <= newest_tli && !sw_core::repo::history::path_contains(&current, b.timeline, b.start_lsn)
    };
    let left_at = |tli: u32| current.iter().find(|s| s.timeline == tli).and_then(|s| s.end);
    let fork_note = |b: &BackupManifest| {
        format!(
            "backup {} started at {} on timeline {}, after the current history (timeline {newest_tli}) left that timeline{}; it holds an abandoned branch",
            b.id,
            b.start_lsn,
            b.timeline,
            left_at(b.timeline).map(|l| format!(" at {l}")).unwrap_or_default()
        )
    };
    let skipped: Vec<&BackupManifest> = all.iter().filter(|b| forked(b)).collect();
    for b in &skipped {
        log::warn!("skipping {}", fork_note(b));
    }
    let backups: Vec<BackupManifest> = all.iter().filter(|b| !forked(b)).cloned().collect();
    let fits = |b: &BackupManifest| match &target {
        Target::Time(t) => b.stop_time <= *t,
        Target::Lsn(l) => b.stop_lsn <= *l,
        _ => true,
    };
    let backup = match backup_id {
        Some(id) => {
            let b = all
                .iter()
                .find(|b| b.id == id)
                .ok_or_else(|| Error::no_input(format!("no complete backup {id:?} in {}", q(&area.dir))))?;
            if forked(b) {
                return Err(Error::data(format!(
                    "{}; refusing to restore it (pick a backup on the current timeline)",
                    fork_note(b)
                )));
            }
            if !fits(b) {
                return Err(Error::usage(format!(
                    "backup {id} ends after the target {}; pick an older backup or a later target",
                    target.describe()
                )));
            }
            b.clone()
        }
        None => backups
            .iter()
            .rev()
            .find(|b| fits(b))
            .cloned()
            .ok_or_else(|| match backups.first() {
                Some(oldest) => Error::no_input(format!(
                    "no backup ends before the target {} (the oldest on the current timeline ends at {} / {})",
                    target.describe(),
                    rfc3339(oldest.stop_time),
                    oldest.stop_lsn
                )),
                None => Error::no_input(format!(
                    "no backup lies on the current history (timeline {newest_tli}): {}",
                    skipped.iter().map(|b| fork_note(b)).collect::<Vec<_>>().join("; ")
                )),
            })?,
    };
    let seg = area.info.wal_segment_size;
    let backup = match &target {
        Target::Name(n) => {
            let candidates: Vec<&BackupManifest> = match backup_id {
                Some(_) => vec![&backup],
                None => backups.iter().rev().collect(),
            };
            pick_for_restore_point(bindir, &area, &objects, &histories, &candidates, n)?
        }
        _ => backup,
    };
    let chain = chain::walk(&area, &objects, &histories, &backup, None)?;
    let stop_segno = sw_core::repo::wal::stop_segno(backup.start_lsn, backup.stop_lsn, seg);
    let gap = || {
        chain
            .missing
            .first()
            .map(|m| format!(" (missing segment {m})"))
            .unwrap_or_default()
    };
    let last = chain.last_segno;
    if last.is_none_or(|l| l < stop_segno) {
        return Err(Error::data(format!(
            "backup {} cannot become consistent: the archive lacks WAL up to {}{}",
            backup.id,
            backup.stop_wal,
            gap()
        )));
    }
    let until_time = chain.last.as_ref().map(|o| o.mtime);
    match &target {
        Target::Lsn(l) => {
            if last.is_none_or(|s| s < l.segno(seg)) {
                return Err(Error::data(format!(
                    "target lsn {l} is past the end of the contiguous archive from backup {} (which ends at {}){}",
                    backup.id,
                    chain.end_lsn(seg).map(|x| x.to_string()).unwrap_or_default(),
                    gap()
                )));
            }
        }
        Target::Time(t) => {
            if until_time.is_none_or(|u| u < *t) {
                return Err(Error::data(format!(
                    "target time {} is past the end of the contiguous archive from backup {} (last segment archived at {}){}",
                    rfc3339(*t),
                    backup.id,
                    until_time.map(rfc3339).unwrap_or_default(),
                    gap()
                )));
            }
            // Recovery to a time stops at the first transaction end after
            // it: without one in the reachable WAL it would run to the end
            // and fail (or, worse, be mistaken for the target).
            let last_xact =
                crate::walscan::last_xact_time(bindir, &area, &objects, &chain, backup.start_lsn.segno(seg))?;
            if last_xact.is_none_or(|x| x <= *t) {
                return Err(Error::data(format!(
                    "target time {} is past the end of the archive from backup {}: {}; recovery could not prove it reached the target. If later WAL is still on the primary, archive it first (SELECT pg_switch_wal()); otherwise pick an earlier time or --latest{}",
                    rfc3339(*t),
                    backup.id,
                    last_xact.map_or_else(
                        || "the archived WAL after the backup holds no transaction commit".to_owned(),
                        |x| format!(
                            "the last archived transaction ended at {}",
                            x.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                        )
                    ),
                    gap()
                )));
            }
        }
        Target::Latest => {
            if let Some(m) = chain.missing.first() {
                return Err(Error::data(format!(
                    "--latest would stop at the hole before missing segment {m}; WAL archived after it is unreachable. Restore to a time before the hole or repair the archive"
                )));
            }
        }
        Target::Name(_) | Target::Immediate => {}
    }
    Ok(Plan {
        area,
        backup,
        chain,
        target,
    })
}

/// The newest of `candidates` (newest first) from which recovery meets a
/// restore point named `name` after its consistency point, within its
/// contiguous archived WAL. Recovery stops at the first restore point of
/// that name after the backup's start, so that is the one that counts.
fn pick_for_restore_point(
    bindir: &Bindir,
    area: &Area,
    objects: &BTreeMap<String, sw_core::repo::WalObject>,
    histories: &BTreeMap<u32, String>,
    candidates: &[&BackupManifest],
    name: &str,
) -> Result<BackupManifest> {
    let seg = area.info.wal_segment_size;
    let mut hits = std::collections::BTreeSet::new();
    let mut scanned_from: Option<u64> = None;
    let mut early: Option<(String, Lsn)> = None;
    for b in candidates {
        let c = chain::walk(area, objects, histories, b, None)?;
        let Some(last) = c.last_segno else { continue };
        let lo = b.start_lsn.segno(seg);
        if scanned_from.is_none_or(|s| lo < s) {
            // Overlap one segment with what was read: a record may cross.
            let hi = scanned_from.map_or(last, |s| s.min(last));
            hits.extend(crate::walscan::find_restore_points(
                bindir, area, objects, &c, lo, hi, name,
            )?);
            scanned_from = Some(lo);
        }
        let Some(first) = hits.iter().copied().find(|h| *h >= b.start_lsn) else {
            continue;
        };
        if first.segno(seg) > last {
            continue;
        }
        if first < b.stop_lsn {
            early.get_or_insert((b.id.clone(), first));
            continue;
        }
        return Ok((*b).clone());
    }
    let why = early.map_or_else(
        || "it is not in the contiguous archived WAL after any backup".to_owned(),
        |(id, l)| format!("it is at {l}, before backup {id} is consistent, and no older backup reaches it"),
    );
    Err(Error::data(format!(
        "restore point {name:?} cannot be reached: {why}; nothing was copied"
    )))
}

/// Refuse a running cluster or a non-empty directory.
pub fn check_destination(cluster: &Cluster) -> Result<()> {
    let dir = &cluster.datadir;
    if dir.join("PG_VERSION").exists() || dir.join("postmaster.pid").exists() {
        if let Ok(Status::Running(pid)) = cluster.status() {
            return Err(Error::cant_create(format!(
                "a cluster is running in {} (pid {pid}); refusing to restore over it",
                q(dir)
            )));
        }
        if dir.join("postmaster.pid").exists() {
            return Err(Error::cant_create(format!(
                "{} has a postmaster.pid: a server may be running there; refusing to restore over it",
                q(dir)
            )));
        }
    }
    match std::fs::read_dir(dir) {
        Ok(mut rd) => {
            if rd.next().is_some() {
                return Err(Error::cant_create(format!(
                    "{} is not empty; sw-restore only restores into an empty or missing directory",
                    q(dir)
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(format!("reading {}", q(dir))).with_source(e)),
    }
    Ok(())
}

/// Extract the backup; pg_control is written last so an interrupted
/// restore cannot be started. Returns bytes written.
fn extract(area: &Area, b: &BackupManifest, dest: &Path) -> Result<u64> {
    let t0 = Instant::now();
    for f in &b.files {
        if f.name != "base.tar.zst" && f.name != "backup_manifest" {
            return Err(Error::unavailable(format!(
                "backup {} holds {} (a tablespace); restoring tablespaces is not supported",
                b.id, f.name
            )));
        }
    }
    let entry = b
        .files
        .iter()
        .find(|f| f.name == "base.tar.zst")
        .ok_or_else(|| Error::data(format!("backup {} has no base.tar.zst", b.id)))?;
    let path = area.backup_dir().join(&b.id).join("base.tar.zst");
    let file = fsutil::open_nofollow(&path)?;
    let mut hr = HashReader::new(std::io::BufReader::with_capacity(1 << 20, file));
    let (bytes, control) = {
        let dec = zstd::Decoder::new(&mut hr).io_context(|| format!("reading {}", q(&path)))?;
        crate::unpack::unpack(dec, dest, &q(&path))?
    };
    std::io::copy(&mut hr, &mut std::io::sink()).io_context(|| format!("reading {}", q(&path)))?;
    let (n, sha) = hr.finish();
    if n != entry.size || sha != entry.sha256 {
        return Err(Error::data(format!(
            "{} does not match its manifest (SHA-256 {sha}, expected {}); the restore in {} is unusable (pg_control was not written)",
            q(&path),
            entry.sha256,
            q(dest)
        )));
    }
    let control = control.ok_or_else(|| Error::data(format!("{} holds no global/pg_control", q(&path))))?;
    std::fs::create_dir_all(dest.join("pg_wal/archive_status"))
        .io_context(|| format!("creating pg_wal in {}", q(dest)))?;
    log::debug!("unpacked in {:.2}s", t0.elapsed().as_secs_f64());
    sync_dirs(dest)?;
    fsutil::write_new(&dest.join("global/pg_control"), &control, 0o600)?;
    Ok(bytes)
}

/// fsync every directory of a tree, so the entries of the files in it are
/// durable. The files themselves need no second fsync: every one of them
/// was written into the empty destination by the unpack writers, which
/// fsync each file before `unpack` returns.
fn sync_dirs(dir: &Path) -> Result<()> {
    for e in std::fs::read_dir(dir).io_context(|| format!("listing {}", q(dir)))? {
        let e = e.io_context(|| format!("listing {}", q(dir)))?;
        let ft = e.file_type().io_context(|| format!("reading {}", q(&e.path())))?;
        if ft.is_dir() {
            sync_dirs(&e.path())?;
        }
    }
    fsutil::fsync_dir(dir)
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Restore per `a`; used by the restore command and by drills.
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
    let repo = Repo::open(repo_path)?;
    let runner = a.server.runner()?;
    let bindir = runner.bindir.clone();
    let cluster = Cluster::new(pgdata, runner.clone())?;
    check_destination(&cluster)?;
    let plan = plan(
        &repo,
        &bindir,
        a.system_identifier.as_deref(),
        a.backup.as_deref(),
        target,
    )?;
    let exe = match &a.server.sw_restore {
        Some(p) => std::path::absolute(p).io_context(|| format!("resolving {}", q(p)))?,
        None => std::env::current_exe().io_context(|| "finding this program's path".into())?,
    };
    let dest = cluster.datadir.clone();
    let created = !dest.exists();
    std::fs::create_dir_all(&dest).io_context(|| format!("creating {}", q(&dest)))?;
    let res = restore_into(a, &repo, &cluster, &plan, &exe, t0);
    // A failure before the copy was started: the directory was missing or
    // empty, so leave it so. After a start attempt, keep it for its log.
    if let Err(e) = &res
        && !cluster.datadir.join("log/sw-restore.log").exists()
        && !cluster.datadir.join("postmaster.pid").exists()
    {
        log::warn!("restore failed ({e}); removing what was written to {}", q(&dest));
        if created {
            let _ = std::fs::remove_dir_all(&dest);
        } else if let Ok(rd) = std::fs::read_dir(&dest) {
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
    res
}

fn restore_into(
    a: &RestoreArgs,
    repo: &Repo,
    cluster: &Cluster,
    plan: &Plan,
    exe: &Path,
    t0: Instant,
) -> Result<Outcome> {
    let dest = cluster.datadir.clone();
    let runner = cluster.runner.clone();
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o700))
        .io_context(|| format!("setting permissions on {}", q(&dest)))?;
    let bytes = extract(&plan.area, &plan.backup, &dest)?;
    log::info!(
        "{bytes} bytes extracted and synced after {:.2}s",
        t0.elapsed().as_secs_f64()
    );
    // Recovery settings.
    let mut settings: Vec<(String, String)> = cluster
        .read_settings()?
        .into_iter()
        .filter(|(k, _)| !k.starts_with("recovery_target") && k != "restore_command")
        .collect();
    let mut set = |k: &str, v: String| {
        settings.retain(|(key, _)| key != k);
        settings.push((k.to_owned(), v));
    };
    let area_name = plan
        .area
        .dir
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    set(
        "restore_command",
        format!(
            "{} wal-fetch --repo {} --area {} %f %p",
            sh_quote(&exe.display().to_string()),
            sh_quote(&repo.root.display().to_string()),
            sh_quote(&area_name)
        ),
    );
    set("recovery_target_timeline", plan.chain.timeline.to_string());
    match &plan.target {
        Target::Time(t) => set("recovery_target_time", t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string()),
        Target::Lsn(l) => set("recovery_target_lsn", l.to_string()),
        Target::Name(n) => set("recovery_target_name", n.clone()),
        Target::Immediate => set("recovery_target", "immediate".into()),
        Target::Latest => {}
    }
    if plan.target != Target::Latest {
        set(
            "recovery_target_action",
            if a.start { "pause" } else { "promote" }.into(),
        );
    }
    if !a.as_primary {
        set("archive_mode", "off".into());
    }
    if let Some(p) = a.port {
        set("port", p.to_string());
    }
    let socket_dir = match (&a.socket_dir, a.start) {
        (Some(d), _) => Some(std::path::absolute(d).io_context(|| format!("resolving {}", q(d)))?),
        (None, true) => Some(PathBuf::from("/tmp")),
        (None, false) => None,
    };
    if let Some(d) = &socket_dir {
        set("unix_socket_directories", d.display().to_string());
    }
    // Do not inherit a hot standby's connection to the old primary.
    set("primary_conninfo", String::new());
    cluster.write_settings(&settings)?;
    // sw-backup keeps the source's archive settings in its own file,
    // included after sw.conf: the copy must not archive into the source's
    // repository unless asked.
    let archive_conf = dest.join("sw-backup.conf");
    if !a.as_primary && archive_conf.exists() {
        fsutil::atomic_write(
            &archive_conf,
            b"# Written by sw-restore: a restored copy does not archive (see --as-primary).\narchive_mode = 'off'\n",
            0o600,
        )?;
    }
    // postgresql.auto.conf (ALTER SYSTEM, pg_basebackup -R) is read last
    // and would override what was just written: drop its recovery and
    // replication settings, and its archive settings unless --as-primary.
    scrub_auto_conf(&dest.join("postgresql.auto.conf"), !a.as_primary)?;
    for stale in [
        "postmaster.pid",
        "postmaster.opts",
        "standby.signal",
        "backup_label.old",
    ] {
        let _ = std::fs::remove_file(dest.join(stale));
    }
    fsutil::write_new(&dest.join("recovery.signal"), b"", 0o600)?;
    runner.hand_over(&dest)?;
    let mut out = Outcome {
        backup: plan.backup.id.clone(),
        target: plan.target.describe(),
        pgdata: dest.display().to_string(),
        timeline: plan.chain.timeline,
        bytes_restored: bytes,
        started: false,
        promoted: false,
        reached_lsn: None,
        reached_time: None,
        port: a.port,
        socket_dir: socket_dir.as_ref().map(|d| d.display().to_string()),
        conninfo: None,
        duration_ms: 0,
        seconds_to_queryable: None,
    };
    if a.start {
        log::info!("starting the copy after {:.2}s", t0.elapsed().as_secs_f64());
        start_and_promote(
            a,
            cluster,
            plan,
            socket_dir.as_deref().unwrap_or(Path::new("/tmp")),
            &mut out,
            t0,
        )?;
    }
    out.duration_ms = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(out)
}

/// Whether a postgresql.conf-style line sets a parameter the restore owns.
fn owned_setting(line: &str, archive: bool) -> bool {
    let key = line
        .trim_start()
        .split(|c: char| c == '=' || c.is_whitespace())
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    key == "restore_command"
        || key.starts_with("recovery_target")
        || key == "primary_conninfo"
        || key == "primary_slot_name"
        || (archive && matches!(key.as_str(), "archive_mode" | "archive_command" | "archive_library"))
}

/// Remove the settings the restore owns from postgresql.auto.conf.
fn scrub_auto_conf(path: &Path, archive: bool) -> Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(format!("reading {}", q(path))).with_source(e)),
    };
    let kept: Vec<&str> = text.lines().filter(|l| !owned_setting(l, archive)).collect();
    if kept.len() == text.lines().count() {
        return Ok(());
    }
    for l in text.lines().filter(|l| owned_setting(l, archive)) {
        log::info!("dropping {:?} from {}", l.trim(), q(path));
    }
    let mut body = kept.join("\n");
    body.push('\n');
    fsutil::atomic_write(path, body.as_bytes(), 0o600)
}

/// Run SQL on the copy as the superuser over its socket; `None` when the
/// server does not answer.
pub fn psql(cluster: &Cluster, socket_dir: &Path, port: u16, user: &str, db: &str, sql: &str) -> Result<String> {
    let mut c = cluster.runner.command("psql");
    c.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
        .arg(socket_dir)
        .args(["-p", &port.to_string(), "-U", user, "-d", db, "-c", sql])
        .stdin(Stdio::null());
    let o = sw_core::cluster::run_checked(&mut c, "psql")?;
    Ok(String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

fn server_log_gist(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .rev()
        .find(|l| l.contains("FATAL") || l.contains("PANIC"))
        .map(|l| l.trim().to_owned())
        .unwrap_or_default()
}

fn start_and_promote(
    a: &RestoreArgs,
    cluster: &Cluster,
    plan: &Plan,
    socket_dir: &Path,
    out: &mut Outcome,
    t0: Instant,
) -> Result<()> {
    let port = a
        .port
        .ok_or_else(|| Error::usage("--start needs --port (the copy must not collide with the source)"))?;
    let log = cluster.datadir.join("log").join("sw-restore.log");
    std::fs::create_dir_all(cluster.datadir.join("log")).io_context(|| "creating the log directory".into())?;
    cluster.runner.hand_over(&cluster.datadir.join("log"))?;
    cluster.start(&log, 600).map_err(|e| {
        let gist = server_log_gist(&log);
        Error::unavailable(format!(
            "{e}{}",
            if gist.is_empty() {
                String::new()
            } else {
                format!(" ({gist})")
            }
        ))
    })?;
    out.started = true;
    let begun = Instant::now();
    let deadline = begun + a.timeout;
    let q_state = "SELECT pg_is_in_recovery(), \
                   CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() ELSE '' END, \
                   coalesce(pg_last_wal_replay_lsn()::text, ''), \
                   coalesce(to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '')";
    let (lsn, time) = loop {
        let state = psql(cluster, socket_dir, port, &a.server.superuser, "postgres", q_state);
        match state {
            Ok(s) => {
                if out.seconds_to_queryable.is_none() {
                    out.seconds_to_queryable = Some(t0.elapsed().as_secs_f64());
                }
                let f: Vec<&str> = s.split('|').collect();
                let in_recovery = f.first() == Some(&"t");
                let paused = f.get(1) == Some(&"paused");
                let lsn = f.get(2).map(|s| (*s).to_owned()).filter(|s| !s.is_empty());
                let time = f.get(3).map(|s| (*s).to_owned()).filter(|s| !s.is_empty());
                if !in_recovery {
                    if plan.target != Target::Latest {
                        // We asked recovery to pause at the target; leaving
                        // recovery on its own means it never got there.
                        let _ = cluster.stop(StopMode::Fast);
                        return Err(Error::data(format!(
                            "recovery ended without stopping at {} (reached {} / {}); the copy was stopped: do not use it",
                            plan.target.describe(),
                            lsn.unwrap_or_default(),
                            time.unwrap_or_default()
                        )));
                    }
                    break (lsn, time);
                }
                if paused {
                    if let Err(e) = check_reached(&plan.target, lsn.as_deref(), time.as_deref()) {
                        let _ = cluster.stop(StopMode::Fast);
                        return Err(e);
                    }
                    psql(
                        cluster,
                        socket_dir,
                        port,
                        &a.server.superuser,
                        "postgres",
                        "SELECT pg_promote(true, 300)",
                    )?;
                    out.promoted = true;
                    break (lsn, time);
                }
            }
            Err(e) => {
                if !matches!(cluster.status(), Ok(Status::Running(_))) {
                    let gist = server_log_gist(&cluster.datadir.join("log").join("sw-restore.log"));
                    return Err(Error::data(format!(
                        "recovery to {} failed and the server stopped: {gist}",
                        plan.target.describe()
                    )));
                }
                log::debug!("waiting for the copy: {e}");
            }
        }
        if Instant::now() >= deadline {
            let _ = cluster.stop(StopMode::Fast);
            return Err(Error::temp(format!(
                "recovery did not reach {} within {}s; the copy was stopped",
                plan.target.describe(),
                a.timeout.as_secs()
            )));
        }
        // Short recoveries are the common case: look often at first.
        std::thread::sleep(Duration::from_millis(if begun.elapsed() < Duration::from_secs(10) {
            50
        } else {
            200
        }));
    };
    // After promotion (automatic at the end of WAL for --latest, or ours).
    let end = Instant::now() + Duration::from_secs(120);
    loop {
        let s = psql(
            cluster,
            socket_dir,
            port,
            &a.server.superuser,
            "postgres",
            "SELECT pg_is_in_recovery()",
        )?;
        if s == "f" {
            break;
        }
        if Instant::now() > end {
            return Err(Error::temp("the copy did not leave recovery within 120s of promotion"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if plan.target == Target::Latest {
        out.promoted = true;
    }
    let reached = psql(
        cluster,
        socket_dir,
        port,
        &a.server.superuser,
        "postgres",
        "SELECT pg_current_wal_lsn(), (SELECT timeline_id FROM pg_control_checkpoint())",
    )?;
    out.reached_lsn = lsn.or_else(|| reached.split('|').next().map(str::to_owned));
    out.reached_time = time;
    out.conninfo = Some(format!(
        "host={} port={port} user={} dbname=postgres",
        socket_dir.display(),
        a.server.superuser
    ));
    Ok(())
}

/// Once recovery paused at its target: the replayed LSN must have reached
/// an LSN target, and no transaction after a time target may have been
/// replayed. Anything else fails loudly rather than promote a wrong copy.
pub fn check_reached(target: &Target, lsn: Option<&str>, time: Option<&str>) -> Result<()> {
    match target {
        Target::Lsn(want) => {
            let got = lsn.map(Lsn::parse).transpose()?;
            if got.is_none_or(|g| g < *want) {
                return Err(Error::data(format!(
                    "recovery paused at {} before the target lsn {want}; the copy was stopped: do not use it",
                    lsn.unwrap_or("an unknown location")
                )));
            }
        }
        Target::Time(want) => {
            if let Some(t) = time {
                let got = DateTime::parse_from_rfc3339(t)
                    .map_err(|e| Error::software(format!("the copy reported a replay time {t:?}: {e}")))?
                    .with_timezone(&Utc);
                if got > *want {
                    return Err(Error::data(format!(
                        "recovery replayed a transaction of {t}, after the target {}; the copy was stopped: do not use it",
                        target.describe()
                    )));
                }
            }
        }
        Target::Name(_) | Target::Immediate | Target::Latest => {}
    }
    Ok(())
}

pub fn run(a: &RestoreArgs, pretty: bool) -> Result<()> {
    let o = execute(a)?;
    Output::stdout(pretty).record("restore", &o)
}

/// Newest contiguous archived time per area (for RPO).
pub fn archive_end(area: &Area) -> Result<Option<DateTime<Utc>>> {
    let objects = area.wal_objects()?;
    let histories = area.histories_in(&objects)?;
    let Some(b) = area.backups()?.pop() else {
        return Ok(None);
    };
    let c = chain::walk(area, &objects, &histories, &b, None)?;
    Ok(c.last.map(|o| o.mtime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_conf_settings_the_restore_owns_are_recognised() {
        assert!(owned_setting("primary_conninfo = 'host=x'", false));
        assert!(owned_setting("recovery_target_name='x'", false));
        assert!(owned_setting("  restore_command = 'cp'", false));
        assert!(owned_setting("archive_mode = 'on'", true));
        assert!(!owned_setting("archive_mode = 'on'", false));
        assert!(!owned_setting("# primary_conninfo = 'x'", false));
        assert!(!owned_setting("shared_buffers = '1GB'", true));
        assert!(!owned_setting("archive_timeout = '60s'", true));
    }

    #[test]
    fn a_copy_paused_short_of_or_past_its_target_is_refused() {
        let lsn = Target::Lsn(Lsn::parse("0/3000060").unwrap());
        assert!(check_reached(&lsn, Some("0/3000100"), None).is_ok());
        assert!(check_reached(&lsn, Some("0/3000060"), None).is_ok());
        assert_eq!(
            check_reached(&lsn, Some("0/3000000"), None).unwrap_err().exit(),
            sw_core::Exit::DataErr
        );
        assert!(check_reached(&lsn, None, None).is_err());
        let t = Target::Time("2026-11-27T00:00:00Z".parse().unwrap());
        assert!(check_reached(&t, Some("0/1"), Some("2026-11-26T23:59:59.999999Z")).is_ok());
        assert!(check_reached(&t, Some("0/1"), Some("2026-11-27T00:00:00.000000Z")).is_ok());
        assert!(check_reached(&t, Some("0/1"), Some("2026-11-27T00:00:00.000001Z")).is_err());
        assert!(check_reached(&t, Some("0/1"), None).is_ok());
    }
}
