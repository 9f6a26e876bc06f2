//! `sw-restore runbook`: a Markdown disaster-recovery runbook written from
//! the repository's state and its drill log: measured RTO (from drills)
//! and RPO (from the archive's lag), never hard-coded numbers.

use std::fmt::Write as _;
use std::path::PathBuf;

use chrono::Utc;
use clap::Args;
use serde::Serialize;
use sw_core::fsutil::{self, q};
use sw_core::output::{Output, rfc3339};
use sw_core::repo::{Repo, chain};
use sw_core::{Error, Result};

/// Flags of `sw-restore runbook`.
#[derive(Args, Debug)]
pub struct RunbookArgs {
    /// The backup repository (a directory).
    #[arg(long, value_name = "DIR", env = "SW_BACKUP_REPO")]
    pub repo: PathBuf,
    /// Where to write the runbook (Markdown; replaced atomically).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The env file applications read (named in the procedures).
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
}

#[derive(Serialize)]
struct Written {
    path: String,
    clusters: usize,
    backups: usize,
    drills: usize,
    rto_seconds: Option<f64>,
    rpo_seconds: Option<f64>,
}

fn fmt_secs(s: Option<f64>) -> String {
    match s {
        Some(s) if s >= 3600.0 => format!("{:.1} h", s / 3600.0),
        Some(s) if s >= 60.0 => format!("{:.1} min", s / 60.0),
        Some(s) => format!("{s:.1} s"),
        None => "unknown".into(),
    }
}

pub fn run(a: &RunbookArgs, pretty: bool) -> Result<()> {
    let repo = Repo::open(&a.repo)?;
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
    let (mut nb, mut nd) = (0, 0);
    let (mut rto_all, mut rpo_all) = (None::<f64>, None::<f64>);
    let areas = repo.areas()?;
    for area in &areas {
        let objects = area.wal_objects()?;
        let histories = area.histories_in(&objects)?;
        let backups = area.backups()?;
        nb += backups.len();
        let _ = writeln!(
            md,
            "## Cluster {} (PostgreSQL {})\n",
            area.info.system_identifier, area.info.pg_major
        );
        // Recovery objectives.
        let drills: Vec<serde_json::Value> = std::fs::read_to_string(area.drill_log())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        nd += drills.len();
        let ok: Vec<&serde_json::Value> = drills.iter().filter(|d| d["ok"] == true).collect();
        let rto = ok
            .iter()
            .rev()
            .take(5)
            .filter_map(|d| d["rto_seconds"].as_f64())
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
        let mut until = None;
        if let Some(b) = backups.last() {
            let c = chain::walk(area, &objects, &histories, b, None)?;
            until = c.last.map(|o| o.mtime);
        }
        let rpo = until.map(|u| (now - u).num_milliseconds() as f64 / 1000.0);
        rto_all = rto.or(rto_all);
        rpo_all = rpo.or(rpo_all);
        let _ = writeln!(md, "### Recovery objectives (measured)\n");
        let _ = writeln!(
            md,
            "- RTO: {} (worst of the last {} successful drills; {} drills recorded, {} failed)",
            fmt_secs(rto),
            ok.len().min(5),
            drills.len(),
            drills.len() - ok.len()
        );
        if let Some(last) = drills.last() {
            let _ = writeln!(
                md,
                "- Last drill: {} ({}){}",
                last["time"].as_str().unwrap_or("?"),
                if last["ok"] == true { "ok" } else { "FAILED" },
                last["error"].as_str().map(|e| format!(": {e}")).unwrap_or_default()
            );
        } else {
            let _ = writeln!(
                md,
                "- No drill recorded: run `sw-restore drill --repo {}` now.",
                repo.root.display()
            );
        }
        let _ = writeln!(
            md,
            "- RPO now: {} (time since the last contiguous archived WAL segment{})\n",
            fmt_secs(rpo),
            until.map(|u| format!(", {}", rfc3339(u))).unwrap_or_default()
        );
        let _ = writeln!(md, "### Backups\n");
        if backups.is_empty() {
            let _ = writeln!(
                md,
                "**No complete backup.** Take one now: `sw-backup full --repo {}`.\n",
                repo.root.display()
            );
        } else {
            let _ = writeln!(md, "| id | label | pinned | restorable from | restorable until | gap |");
            let _ = writeln!(md, "| --- | --- | --- | --- | --- | --- |");
            for b in &backups {
                let c = chain::walk(area, &objects, &histories, b, None)?;
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
        }
    }
    let r = repo.root.display();
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
    fsutil::atomic_write(&a.out, md.as_bytes(), 0o644)
        .map_err(|e| Error::cant_create(format!("writing the runbook to {}", q(&a.out))).with_source(e))?;
    Output::stdout(pretty).record(
        "restore.runbook",
        &Written {
            path: a.out.display().to_string(),
            clusters: areas.len(),
            backups: nb,
            drills: nd,
            rto_seconds: rto_all,
            rpo_seconds: rpo_all,
        },
    )
}
