//! `sw-backup check`: is this cluster's archiving and backup healthy?
//! One `backup.check` record per item and a `backup.check.summary`;
//! monitoring exit codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN when the
//! server cannot be asked). Each item is its own function below, in the
//! order they are printed.

use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use sw_core::cli::{PgOpts, RepoOpts};
use sw_core::contract::Record;
use sw_core::output::{Output, rfc3339};
use sw_core::repo::{Area, Repo, WalName};
use sw_core::{Error, Exit, PgContext, Result};

/// Flags of `sw-backup check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The Azure target (`--azure`): see `sw_backup::azure`.
    #[command(flatten)]
    pub azure: sw_core::azure::flexible::target::AzureOpts,
    #[command(flatten)]
    pub repo: RepoOpts,
    #[command(flatten)]
    pub pg: PgOpts,
    /// WARNING when the newest complete backup is older than this.
    #[arg(long, value_name = "DURATION", default_value = "8d", value_parser = sw_core::duration::parse)]
    pub backup_warn: Duration,
    /// CRITICAL when the newest complete backup is older than this.
    #[arg(long, value_name = "DURATION", default_value = "15d", value_parser = sw_core::duration::parse)]
    pub backup_crit: Duration,
    /// WARNING when nothing was archived for this long.
    #[arg(long, value_name = "DURATION", default_value = "1d", value_parser = sw_core::duration::parse)]
    pub archive_warn: Duration,
    /// Skip the live test (pg_switch_wal() and waiting until the segment is stored).
    #[arg(long)]
    pub no_live: bool,
    /// How long the live test waits for the segment.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = sw_core::duration::parse)]
    pub live_timeout: Duration,
    /// WARNING below this much free space on the repository's filesystem (percent; CRITICAL below half of it).
    #[arg(long, value_name = "PERCENT", default_value_t = 10, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub min_free_percent: u8,
    /// WARNING when WAL has waited longer than this for the linked off-site repository.
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = sw_core::duration::parse)]
    pub offsite_lag_warn: Duration,
    /// CRITICAL past this.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = sw_core::duration::parse)]
    pub offsite_lag_crit: Duration,
}

/// An item's verdict (lower case, as printed).
#[derive(Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl CheckStatus {
    /// Severity order: OK < WARNING < UNKNOWN < CRITICAL.
    fn rank(self) -> u8 {
        match self {
            CheckStatus::Ok => 0,
            CheckStatus::Warning => 1,
            CheckStatus::Unknown => 2,
            CheckStatus::Critical => 3,
        }
    }

    fn worst(self, o: CheckStatus) -> CheckStatus {
        if o.rank() > self.rank() { o } else { self }
    }

    fn exit(self) -> Exit {
        match self {
            CheckStatus::Ok => Exit::Ok,
            CheckStatus::Warning => Exit::Warning,
            CheckStatus::Critical => Exit::Critical,
            CheckStatus::Unknown => Exit::Unknown,
        }
    }

    fn upper(self) -> &'static str {
        match self {
            CheckStatus::Ok => "OK",
            CheckStatus::Warning => "WARNING",
            CheckStatus::Critical => "CRITICAL",
            CheckStatus::Unknown => "UNKNOWN",
        }
    }

    /// OK when `ok`, else CRITICAL.
    fn critical_unless(ok: bool) -> CheckStatus {
        if ok { CheckStatus::Ok } else { CheckStatus::Critical }
    }
}

/// What an item checks.
#[derive(Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    /// The server could be asked (only printed when it could not: UNKNOWN).
    Server,
    /// wal_level is replica or logical.
    WalLevel,
    /// archive_mode is on or always.
    ArchiveMode,
    /// archive_command calls sw-backup wal-push.
    ArchiveCommand,
    /// pg_stat_archiver: not failing, and something archived within --archive-warn.
    Archiver,
    /// The repository opens and holds this cluster's area.
    Repository,
    /// pg_switch_wal(), then the segment is stored within --live-timeout.
    LiveArchive,
    /// The newest complete backup's age.
    NewestBackup,
    /// Free space on the repository's filesystem.
    RepositorySpace,
    /// WAL queued for the linked off-site repository: how many, and how long the oldest has waited (the region-failure RPO).
    OffsiteLag,
    /// The off-site repository's newest complete backup's age.
    OffsiteBackup,
}

/// One item of the check.
#[derive(Serialize, JsonSchema)]
pub struct CheckItem {
    /// What was checked.
    check: CheckName,
    /// The item's verdict.
    status: CheckStatus,
    /// What was found, for people.
    detail: String,
    /// offsite_lag: WAL objects queued and the oldest one's wait in seconds (null for the other items).
    lag: Option<LagFields>,
}

/// The off-site lag in numbers.
#[derive(Serialize, JsonSchema, Debug, Clone, Copy)]
pub struct LagFields {
    segments: u64,
    seconds: f64,
}

impl Record for CheckItem {
    const KIND: &'static str = "backup.check";
}

/// The check's overall verdict (the worst item's), printed last.
#[derive(Serialize, JsonSchema)]
pub struct CheckSummary {
    /// The worst item's verdict (the exit code says the same: 0-3).
    status: CheckStatus,
}

impl Record for CheckSummary {
    const KIND: &'static str = "backup.check.summary";
}

/// The records printed so far and the worst status among them.
struct Report {
    out: Output,
    worst: CheckStatus,
}

impl Report {
    fn item(&mut self, check: CheckName, status: CheckStatus, detail: String) -> Result<()> {
        self.worst = self.worst.worst(status);
        self.out.emit(&CheckItem {
            check,
            status,
            detail,
            lag: None,
        })
    }

    fn finish(mut self) -> Result<()> {
        self.out.emit(&CheckSummary { status: self.worst })?;
        if self.worst == CheckStatus::Ok {
            Ok(())
        } else {
            Err(Error::new(
                self.worst.exit(),
                format!("backup check: {}", self.worst.upper()),
            ))
        }
    }
}

/// The server's archive settings and pg_stat_archiver.
struct Server {
    sysid: String,
    major: u32,
    wal_level: String,
    archive_mode: String,
    archive_command: String,
    failed_count: i64,
    failing: bool,
    last_archived_age: Option<f64>,
    last_failed_wal: Option<String>,
}

/// Ask the server; with `live`, also switch WAL and return the segment
/// that should now be archived.
async fn server(pg: &PgOpts, live: bool) -> Result<(Server, Option<String>)> {
    let (_t, conn) = pg.connect("sw-backup").await?;
    let c = &conn.client;
    let r = c
        .query_one(
            "SELECT (SELECT system_identifier::text FROM pg_control_system()), \
                    current_setting('server_version_num')::int / 10000, \
                    current_setting('wal_level'), current_setting('archive_mode'), current_setting('archive_command'), \
                    failed_count, coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false), \
                    extract(epoch FROM now() - last_archived_time)::float8, last_failed_wal \
             FROM pg_stat_archiver",
            &[],
        )
        .await
        .pg_context(|| "reading archive settings and pg_stat_archiver".into())?;
    let major: i32 = r.get(1);
    let s = Server {
        sysid: r.get(0),
        major: u32::try_from(major).unwrap_or(0),
        wal_level: r.get(2),
        archive_mode: r.get(3),
        archive_command: r.get(4),
        failed_count: r.get(5),
        failing: r.get(6),
        last_archived_age: r.get(7),
        last_failed_wal: r.get(8),
    };
    let seg = if live && s.archive_mode != "off" {
        let row = c
            .query_one("SELECT pg_walfile_name(pg_switch_wal())", &[])
            .await
            .pg_context(|| "switching WAL for the live test (needs superuser or pg_switch_wal rights)".into())?;
        Some(row.get::<_, String>(0))
    } else {
        None
    };
    Ok((s, seg))
}

pub fn run(a: &CheckArgs, pretty: bool) -> Result<()> {
    let mut r = Report {
        out: Output::stdout(pretty),
        worst: CheckStatus::Ok,
    };
    let (s, live_seg) = match sw_core::cli::block_on(server(&a.pg, !a.no_live)) {
        Ok(v) => v,
        Err(e) => {
            r.item(CheckName::Server, CheckStatus::Unknown, e.to_string())?;
            return Err(e.with_exit(Exit::Unknown));
        }
    };
    settings(&mut r, &s)?;
    archiver(&mut r, &s, a.archive_warn)?;
    let Some((repo, area)) = repository(&mut r, &a.repo, &s)? else {
        return r.finish();
    };
    if let Some(seg) = live_seg {
        live_archive(&mut r, &area, &seg, a.live_timeout)?;
    }
    newest_backup(&mut r, &area, a)?;
    repository_space(&mut r, &repo, a.min_free_percent)?;
    if sw_core::repo::offsite::Link::of(&repo)?.is_some() {
        offsite_lag(&mut r, &area, a)?;
        offsite_backup(&mut r, &area, a)?;
    }
    r.finish()
}

fn graded(v: Duration, warn: Duration, crit: Duration) -> CheckStatus {
    if v > crit {
        CheckStatus::Critical
    } else if v > warn {
        CheckStatus::Warning
    } else {
        CheckStatus::Ok
    }
}

/// The off-site queue, read locally: known while the off-site is down.
fn offsite_lag(r: &mut Report, area: &Area, a: &CheckArgs) -> Result<()> {
    let l = crate::offsite::lag(area)?;
    let status = graded(
        Duration::from_secs_f64(l.seconds),
        a.offsite_lag_warn,
        a.offsite_lag_crit,
    );
    let detail = if l.segments == 0 {
        "nothing queued for the off-site repository".to_owned()
    } else {
        format!(
            "{} WAL object(s) not yet off-site, the oldest archived {:.0}s ago (`sw-backup sync` copies them)",
            l.segments, l.seconds
        )
    };
    r.worst = r.worst.worst(status);
    r.out.emit(&CheckItem {
        check: CheckName::OffsiteLag,
        status,
        detail,
        lag: Some(LagFields {
            segments: l.segments,
            seconds: l.seconds,
        }),
    })
}

/// The newest backup off-site, judged like the primary's; an unreachable
/// off-site repository is a WARNING (the lag item carries the RPO).
fn offsite_backup(r: &mut Report, area: &Area, a: &CheckArgs) -> Result<()> {
    let owned = area.clone();
    let found = sw_core::repo::offsite::within(sw_core::repo::offsite::REPORT_LIMIT, move || {
        let off = crate::offsite::offsite_area(&owned)?;
        Ok(off.backups()?.into_iter().max_by_key(|b| b.stop_time).map(|b| (off, b)))
    });
    let (status, detail) = match found {
        Ok(Some((off, b))) => {
            let age = (Utc::now() - b.stop_time).to_std().unwrap_or_default();
            (
                graded(age, a.backup_warn, a.backup_crit),
                format!(
                    "{} in {} ended {} ({:.1}h ago)",
                    b.id,
                    off.repo.root.display(),
                    rfc3339(b.stop_time),
                    age.as_secs_f64() / 3600.0
                ),
            )
        }
        Ok(None) => (
            CheckStatus::Critical,
            "no complete backup in the off-site repository (`sw-backup sync` or `full --to-offsite`)".to_owned(),
        ),
        Err(e) => (CheckStatus::Warning, format!("the off-site repository: {e}")),
    };
    r.item(CheckName::OffsiteBackup, status, detail)
}

/// wal_level, archive_mode and archive_command.
fn settings(r: &mut Report, s: &Server) -> Result<()> {
    let lvl_ok = s.wal_level == "replica" || s.wal_level == "logical";
    r.item(
        CheckName::WalLevel,
        CheckStatus::critical_unless(lvl_ok),
        format!("wal_level = {}", s.wal_level),
    )?;
    let mode_ok = s.archive_mode == "on" || s.archive_mode == "always";
    r.item(
        CheckName::ArchiveMode,
        CheckStatus::critical_unless(mode_ok),
        format!("archive_mode = {}", s.archive_mode),
    )?;
    let cmd_ok = s.archive_command.contains("sw-backup") && s.archive_command.contains("wal-push");
    r.item(
        CheckName::ArchiveCommand,
        CheckStatus::critical_unless(cmd_ok),
        if cmd_ok {
            "archive_command runs sw-backup wal-push".into()
        } else {
            format!(
                "archive_command does not call sw-backup wal-push: {:?}",
                s.archive_command
            )
        },
    )
}

/// pg_stat_archiver: failing is CRITICAL, silent for too long a WARNING.
fn archiver(r: &mut Report, s: &Server, warn: Duration) -> Result<()> {
    let status = if s.failing {
        CheckStatus::Critical
    } else if s.last_archived_age.is_some_and(|x| x > warn.as_secs_f64()) {
        CheckStatus::Warning
    } else {
        CheckStatus::Ok
    };
    let failing = if s.failing {
        format!(
            "FAILING (last failed {}), ",
            s.last_failed_wal.clone().unwrap_or_default()
        )
    } else {
        String::new()
    };
    let last = s
        .last_archived_age
        .map_or_else(|| "never".to_owned(), |x| format!("{x:.0}s ago"));
    r.item(
        CheckName::Archiver,
        status,
        format!("failed_count {}, {failing}last archived {last}", s.failed_count),
    )
}

/// The repository and this cluster's area in it; None (after a CRITICAL
/// item) when either is missing.
fn repository(r: &mut Report, opts: &RepoOpts, s: &Server) -> Result<Option<(Repo, Area)>> {
    let found = Repo::open_opts_keyless(opts).and_then(|repo| {
        let area = repo.area_required(&s.sysid, s.major)?;
        Ok((repo, area))
    });
    match found {
        Ok(v) => Ok(Some(v)),
        Err(e) => {
            r.item(CheckName::Repository, CheckStatus::Critical, e.to_string())?;
            Ok(None)
        }
    }
}

/// The segment pg_switch_wal() finished is stored within `timeout`.
fn live_archive(r: &mut Report, area: &Area, seg: &str, timeout: Duration) -> Result<()> {
    let name = WalName::parse(seg)?;
    let t = Instant::now();
    let end = t + timeout;
    let stored = loop {
        if !area.find_wal(&name)?.is_empty() {
            break true;
        }
        if Instant::now() >= end {
            break false;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    r.item(
        CheckName::LiveArchive,
        CheckStatus::critical_unless(stored),
        if stored {
            format!("{seg} stored {:.1}s after pg_switch_wal()", t.elapsed().as_secs_f64())
        } else {
            format!("{seg} not stored within {}s of pg_switch_wal()", timeout.as_secs())
        },
    )
}

/// The newest complete backup is younger than --backup-warn/--backup-crit.
fn newest_backup(r: &mut Report, area: &Area, a: &CheckArgs) -> Result<()> {
    let Some(b) = area.backups()?.into_iter().max_by_key(|b| b.stop_time) else {
        return r.item(
            CheckName::NewestBackup,
            CheckStatus::Critical,
            "no complete backup in the repository".into(),
        );
    };
    let age = (Utc::now() - b.stop_time).to_std().unwrap_or_default();
    let status = if age > a.backup_crit {
        CheckStatus::Critical
    } else if age > a.backup_warn {
        CheckStatus::Warning
    } else {
        CheckStatus::Ok
    };
    r.item(
        CheckName::NewestBackup,
        status,
        format!(
            "{} ended {} ({:.1}h ago)",
            b.id,
            rfc3339(b.stop_time),
            age.as_secs_f64() / 3600.0
        ),
    )
}

/// Free space: WARNING below --min-free-percent, CRITICAL below half of it.
fn repository_space(r: &mut Report, repo: &Repo, min_free_percent: u8) -> Result<()> {
    if repo.is_blob() {
        // Blob Storage has no filesystem to fill (an account's capacity
        // limit is far beyond any repository).
        return r.item(
            CheckName::RepositorySpace,
            CheckStatus::Ok,
            "an azure:// repository: no filesystem to fill".into(),
        );
    }
    let free =
        nix::sys::statvfs::statvfs(&repo.root).map_err(|e| Error::io("statvfs on the repository").with_source(e))?;
    let pct = if free.blocks() == 0 {
        100.0
    } else {
        free.blocks_available() as f64 * 100.0 / free.blocks() as f64
    };
    let min = f64::from(min_free_percent);
    let status = if pct < min / 2.0 {
        CheckStatus::Critical
    } else if pct < min {
        CheckStatus::Warning
    } else {
        CheckStatus::Ok
    };
    r.item(
        CheckName::RepositorySpace,
        status,
        format!("{pct:.1}% free ({} bytes)", repo.free_bytes()?),
    )
}
