//! `sw-restore runbook`: a Markdown disaster-recovery runbook written from
//! the repository's state and its drill log: measured RTO (from drills)
//! and RPO (from the archive's lag), never hard-coded numbers.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use sw_core::cli::RepoOpts;
use sw_core::contract::Record;
use sw_core::fsutil::{self, q};
use sw_core::output::{Output, rfc3339};
use sw_core::repo::{Area, BackupManifest, Repo, WalObject, chain};
use sw_core::{Error, Result};

use crate::drill::record::{self as drill_log, LoggedDrill};

/// Flags of `sw-restore runbook`.
#[derive(Args, Debug)]
pub struct RunbookArgs {
    #[command(flatten)]
    pub repo: RepoOpts,
    /// Where to write the runbook (Markdown; replaced atomically).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The env file applications read (named in the procedures).
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// The Azure target (`--azure`): see `crate::azure::runbook`.
    #[command(flatten)]
    pub azure: sw_core::azure::flexible::target::AzureOpts,
    #[command(flatten)]
    pub azure_runbook: crate::azure::runbook::AzureRunbookOpts,
}

/// The runbook written, and the objectives it states.
#[derive(Serialize, JsonSchema, Default)]
pub struct Written {
    /// The Markdown file written.
    path: String,
    /// Clusters (repository areas) described.
    clusters: usize,
    /// Complete backups listed.
    backups: usize,
    /// Drills found in the drill logs.
    drills: usize,
    /// The measured RTO: the worst of the last 5 successful drills (schema 1: rto_seconds, in seconds); null without one. With several clusters, the last one's.
    rto_ms: Option<u64>,
    /// The RPO now: time since the last contiguous archived segment (schema 1: rpo_seconds); null without archived WAL. With several clusters, the last one's.
    rpo_ms: Option<u64>,
}

impl Record for Written {
    const KIND: &'static str = "restore.runbook";
    const SCHEMA: u32 = 2;
}

/// A duration for people: `4.2 s`, `3.5 min`, `1.2 h`.
fn fmt_ms(ms: Option<u64>) -> String {
    let Some(ms) = ms else {
        return "unknown".into();
    };
    let s = ms as f64 / 1000.0;
    if s >= 3600.0 {
        format!("{:.1} h", s / 3600.0)
    } else if s >= 60.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{s:.1} s")
    }
}

pub fn run(a: &RunbookArgs, pretty: bool) -> Result<()> {
    // Backups and WAL are listed from metadata: no key needed.
    let repo = Repo::open_opts_keyless(&a.repo)?;
    let now = Utc::now();
    let env = a
        .env_file
        .as_ref()
        .map_or_else(|| "/etc/myapp/db.env".to_owned(), |p| p.display().to_string());
    let mut md = String::new();
    let _ = writeln!(md, "# Database recovery runbook\n");
    let _ = writeln!(
        md,
        "Generated {} by `sw-restore runbook` from the repository `{}`. Regenerate it after every drill.\n",
        rfc3339(now),
        repo.root.display()
    );
    let areas = repo.areas()?;
    let mut w = Written {
        path: a.out.display().to_string(),
        clusters: areas.len(),
        ..Written::default()
    };
    for area in &areas {
        Section {
            md: &mut md,
            repo: &repo,
            area,
            now,
        }
        .write(&mut w)?;
    }
    procedures(&mut md, &repo.root, &env);
    fsutil::atomic_write(&a.out, md.as_bytes(), 0o644)
        .map_err(|e| Error::cant_create(format!("writing the runbook to {}", q(&a.out))).with_source(e))?;
    Output::stdout(pretty).emit(&w)
}

/// One cluster's part of the runbook.
struct Section<'a> {
    md: &'a mut String,
    repo: &'a Repo,
    area: &'a Area,
    now: DateTime<Utc>,
}

impl Section<'_> {
    fn write(mut self, w: &mut Written) -> Result<()> {
        let objects = self.area.wal_objects()?;
        let histories = self.area.histories_in(&objects)?;
        let backups = self.area.backups()?;
        w.backups += backups.len();
        let _ = writeln!(
            self.md,
            "## Cluster {} (PostgreSQL {})\n",
            self.area.info.system_identifier, self.area.info.pg_major
        );
        let drills = drill_log::read_log(&self.area.drill_log());
        w.drills += drills.len();
        let until = match backups.last() {
            Some(b) => chain::walk(self.area, &objects, &histories, b, None)?
                .last
                .map(|o| o.mtime),
            None => None,
        };
        let (rto, rpo) = self.objectives(&drills, until);
        w.rto_ms = rto.or(w.rto_ms);
        w.rpo_ms = rpo.or(w.rpo_ms);
        self.backups(&objects, &histories, &backups)
    }

    /// Measured RTO (worst of the last 5 successful drills) and RPO (since
    /// `until`, the end of the contiguous archive).
    fn objectives(&mut self, drills: &[LoggedDrill], until: Option<DateTime<Utc>>) -> (Option<u64>, Option<u64>) {
        let ok: Vec<&LoggedDrill> = drills.iter().filter(|d| d.ok).collect();
        let rto = ok.iter().rev().take(5).filter_map(|d| d.rto_ms).max();
        let rpo = until.map(|u| u64::try_from((self.now - u).num_milliseconds()).unwrap_or(0));
        let md = &mut *self.md;
        let _ = writeln!(md, "### Recovery objectives (measured)\n");
        let _ = writeln!(
            md,
            "- RTO: {} (worst of the last {} successful drills; {} drills recorded, {} failed)",
            fmt_ms(rto),
            ok.len().min(5),
            drills.len(),
            drills.len() - ok.len()
        );
        if let Some(last) = drills.last() {
            let _ = writeln!(
                md,
                "- Last drill: {} ({}){}",
                last.time,
                if last.ok { "ok" } else { "FAILED" },
                last.error.as_ref().map(|e| format!(": {e}")).unwrap_or_default()
            );
        } else {
            let _ = writeln!(
                md,
                "- No drill recorded: run `sw-restore drill --repo {}` now.",
                self.repo.root.display()
            );
        }
        let _ = writeln!(
            md,
            "- RPO now: {} (time since the last contiguous archived WAL segment{})\n",
            fmt_ms(rpo),
            until.map(|u| format!(", {}", rfc3339(u))).unwrap_or_default()
        );
        (rto, rpo)
    }

    /// The backups with their restorable windows.
    fn backups(
        self,
        objects: &BTreeMap<String, WalObject>,
        histories: &BTreeMap<u32, String>,
        backups: &[BackupManifest],
    ) -> Result<()> {
        let md = self.md;
        let _ = writeln!(md, "### Backups\n");
        if backups.is_empty() {
            let _ = writeln!(
                md,
                "**No complete backup.** Take one now: `sw-backup full --repo {}`.\n",
                self.repo.root.display()
            );
            return Ok(());
        }
        let _ = writeln!(md, "| id | label | pinned | restorable from | restorable until | gap |");
        let _ = writeln!(md, "| --- | --- | --- | --- | --- | --- |");
        for b in backups {
            let c = chain::walk(self.area, objects, histories, b, None)?;
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} |",
                b.id,
                b.label.clone().unwrap_or_default(),
                if b.pinned { "yes" } else { "" },
                rfc3339(b.stop_time),
                c.last
                    .as_ref()
                    .map(|o| rfc3339(o.mtime.max(b.stop_time)))
                    .unwrap_or_default(),
                c.missing.first().cloned().unwrap_or_default()
            );
        }
        let _ = writeln!(md);
        Ok(())
    }
}

/// The procedures: the commands to run for each incident.
fn procedures(md: &mut String, root: &Path, env: &str) {
    let r = root.display();
    let _ = writeln!(
        md,
        "## Procedures\n\n\
         ### The primary is down (database_failure)\n\n\
         1. Confirm it is down and fence it (stop it; make sure it cannot come back as a primary).\n\
         2. Promote the standby, or restore the newest backup when there is none:\n\n\
         ```sh\n\
         sw-restore activate --incident database_failure --repo {r} \\\n  --standby-pgdata /path/to/standby --pgdata /srv/pg-new --port 5432 --env-file {env}\n\
         ```\n\n\
         3. Work through the printed checklist (applications, new full backup, `sw-backup check`).\n\n\
         ### Data was damaged at a known time (data_corruption)\n\n\
         1. Find when the damage happened (application logs, `pg_stat_statements`, audit tables).\n\
         2. Restore to just before it as the new primary:\n\n\
         ```sh\n\
         sw-restore activate --incident data_corruption --before 2026-01-31T12:00:00Z --repo {r} \\\n  --pgdata /srv/pg-new --port 5432 --env-file {env}\n\
         ```\n\n\
         3. To inspect first without switching applications, restore a copy instead:\n\n\
         ```sh\n\
         sw-restore --repo {r} --pgdata /srv/pitr --target-time 2026-01-31T11:59:59Z --start --port 5433\n\
         ```\n\n\
         ### Before trusting the backups\n\n\
         ```sh\n\
         sw-backup verify --repo {r}   # every object re-hashed, WAL continuity checked\n\
         sw-restore drill --repo {r}   # a real restore; updates the RTO above\n\
         ```\n\n\
         Every activation appends its actions to `audit.jsonl` in the repository area.\n"
    );
}
