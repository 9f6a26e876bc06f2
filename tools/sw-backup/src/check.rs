//! `sw-backup check`: is this cluster's archiving and backup healthy?
//! One `backup.check` record per item and a summary; monitoring exit codes
//! (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN when the server cannot be asked).

use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Args;
use serde::Serialize;
use sw_core::cli::PgOpts;
use sw_core::output::{Output, rfc3339};
use sw_core::repo::{Repo, WalName};
use sw_core::{Error, Exit, PgContext, Result};

use crate::common::RepoOpts;

/// Flags of `sw-backup check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
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
}

#[derive(Serialize)]
struct Item {
    check: &'static str,
    status: &'static str,
    detail: String,
}

fn status(e: Exit) -> &'static str {
    match e {
        Exit::Ok => "ok",
        Exit::Warning => "warning",
        Exit::Critical => "critical",
        _ => "unknown",
    }
}

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
    let mut out = Output::stdout(pretty);
    let mut worst = Exit::Ok;
    let mut emit = |out: &mut Output, check: &'static str, e: Exit, detail: String| -> Result<()> {
        worst = worst.worst(e);
        out.record(
            "backup.check",
            &Item {
                check,
                status: status(e),
                detail,
            },
        )
    };
    let (s, live_seg) = match sw_core::cli::block_on(server(&a.pg, !a.no_live)) {
        Ok(v) => v,
        Err(e) => {
            emit(&mut out, "server", Exit::Unknown, e.to_string())?;
            return Err(e.with_exit(Exit::Unknown));
        }
    };
    let lvl_ok = s.wal_level == "replica" || s.wal_level == "logical";
    emit(
        &mut out,
        "wal_level",
        if lvl_ok { Exit::Ok } else { Exit::Critical },
        format!("wal_level = {}", s.wal_level),
    )?;
    let mode_ok = s.archive_mode == "on" || s.archive_mode == "always";
    emit(
        &mut out,
        "archive_mode",
        if mode_ok { Exit::Ok } else { Exit::Critical },
        format!("archive_mode = {}", s.archive_mode),
    )?;
    let cmd_ok = s.archive_command.contains("sw-backup") && s.archive_command.contains("wal-push");
    emit(
        &mut out,
        "archive_command",
        if cmd_ok { Exit::Ok } else { Exit::Critical },
        if cmd_ok {
            "archive_command runs sw-backup wal-push".into()
        } else {
            format!(
                "archive_command does not call sw-backup wal-push: {:?}",
                s.archive_command
            )
        },
    )?;
    let arch = if s.failing {
        Exit::Critical
    } else if s.last_archived_age.is_some_and(|x| x > a.archive_warn.as_secs_f64()) {
        Exit::Warning
    } else {
        Exit::Ok
    };
    emit(
        &mut out,
        "archiver",
        arch,
        format!(
            "failed_count {}, {}last archived {}",
            s.failed_count,
            if s.failing {
                format!(
                    "FAILING (last failed {}), ",
                    s.last_failed_wal.clone().unwrap_or_default()
                )
            } else {
                String::new()
            },
            s.last_archived_age
                .map_or_else(|| "never".to_owned(), |x| format!("{x:.0}s ago"))
        ),
    )?;
    let repo = match Repo::open(&a.repo.repo) {
        Ok(r) => r,
        Err(e) => {
            emit(&mut out, "repository", Exit::Critical, e.to_string())?;
            return finish(&mut out, worst);
        }
    };
    let area = match repo.area_required(&s.sysid, s.major) {
        Ok(x) => x,
        Err(e) => {
            emit(&mut out, "repository", Exit::Critical, e.to_string())?;
            return finish(&mut out, worst);
        }
    };
    if let Some(seg) = live_seg {
        let name = WalName::parse(&seg)?;
        let end = Instant::now() + a.live_timeout;
        let t = Instant::now();
        let stored = loop {
            if !area.find_wal(&name)?.is_empty() {
                break true;
            }
            if Instant::now() >= end {
                break false;
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        emit(
            &mut out,
            "live_archive",
            if stored { Exit::Ok } else { Exit::Critical },
            if stored {
                format!("{seg} stored {:.1}s after pg_switch_wal()", t.elapsed().as_secs_f64())
            } else {
                format!(
                    "{seg} not stored within {}s of pg_switch_wal()",
                    a.live_timeout.as_secs()
                )
            },
        )?;
    }
    match area.backups()?.into_iter().max_by_key(|b| b.stop_time) {
        None => emit(
            &mut out,
            "newest_backup",
            Exit::Critical,
            "no complete backup in the repository".into(),
        )?,
        Some(b) => {
            let age = (Utc::now() - b.stop_time).to_std().unwrap_or_default();
            let e = if age > a.backup_crit {
                Exit::Critical
            } else if age > a.backup_warn {
                Exit::Warning
            } else {
                Exit::Ok
            };
            emit(
                &mut out,
                "newest_backup",
                e,
                format!(
                    "{} ended {} ({:.1}h ago)",
                    b.id,
                    rfc3339(b.stop_time),
                    age.as_secs_f64() / 3600.0
                ),
            )?;
        }
    }
    let free =
        nix::sys::statvfs::statvfs(&repo.root).map_err(|e| Error::io("statvfs on the repository").with_source(e))?;
    let pct = if free.blocks() == 0 {
        100.0
    } else {
        free.blocks_available() as f64 * 100.0 / free.blocks() as f64
    };
    let min = f64::from(a.min_free_percent);
    let e = if pct < min / 2.0 {
        Exit::Critical
    } else if pct < min {
        Exit::Warning
    } else {
        Exit::Ok
    };
    emit(
        &mut out,
        "repository_space",
        e,
        format!("{pct:.1}% free ({} bytes)", repo.free_bytes()?),
    )?;
    finish(&mut out, worst)
}

fn finish(out: &mut Output, worst: Exit) -> Result<()> {
    #[derive(Serialize)]
    struct Summary {
        status: &'static str,
    }
    out.record("backup.check.summary", &Summary { status: status(worst) })?;
    if worst == Exit::Ok {
        Ok(())
    } else {
        Err(Error::new(
            worst,
            format!("backup check: {}", status(worst).to_uppercase()),
        ))
    }
}
