//! `sw-restore activate`: disaster recovery in one command.
//!
//! - `--incident database_failure`: promote the configured standby
//!   (`--standby-pgdata`) when it runs in recovery; otherwise restore the
//!   newest backup to the end of the archive into `--pgdata`, started on
//!   `--port` as the new primary (it archives into the same repository, on
//!   a new timeline).
//! - `--incident data_corruption --before TIME`: restore to just before the
//!   damage into `--pgdata`, started on `--port` as the new primary.
//!
//! Both point DATABASE_URL in `--env-file` at the new primary (atomic,
//! 0600, other keys kept), print a `restore.activate` record with the
//! activation checklist, and append every action to an audit log
//! (`audit`: `restore.audit` lines, fsynced; default `audit.jsonl` in the
//! repository area).

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::Utc;
use clap::{Args, ValueEnum};
use schemars::JsonSchema;
use serde::Serialize;
use sw_core::cli::RepoOpts;
use sw_core::cluster::{Cluster, Status};
use sw_core::config::Env;
use sw_core::contract::Record;
use sw_core::duration::millis;
use sw_core::envfile::EnvFile;
use sw_core::fsutil::q;
use sw_core::output::Output;
use sw_core::repo::Repo;
use sw_core::target::Target as DbTarget;
use sw_core::{Error, IoContext, Result};

use crate::audit::{Audit, AuditAction};
use crate::restore::{self, CopyOpts, RestoreArgs, TargetOpts};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Incident {
    /// The primary is gone: promote the standby or restore the newest backup.
    DatabaseFailure,
    /// Data was damaged at a known time: restore to just before it.
    DataCorruption,
    /// The primary's region is down: with --azure, promote a cross-region replica or geo-restore into the paired region; for a local cluster, restore the newest point from the off-site (azure://) repository.
    RegionFailure,
}

/// Flags of `sw-restore activate`.
#[derive(Args, Debug)]
pub struct ActivateArgs {
    #[command(flatten)]
    pub repo: RepoOpts,
    /// What happened.
    #[arg(long, value_enum)]
    pub incident: Incident,
    /// For data_corruption: when the damage happened (RFC 3339); the restore stops just before it.
    #[arg(long, value_name = "TIME")]
    pub before: Option<String>,
    /// A standby to promote on database_failure (its data directory).
    #[arg(long, value_name = "DIR")]
    pub standby_pgdata: Option<PathBuf>,
    /// Where to restore the new primary (missing or empty directory).
    #[arg(long, value_name = "DIR")]
    pub pgdata: Option<PathBuf>,
    /// Port of the new primary (the restored copy, or the promoted standby).
    #[arg(long, value_name = "PORT")]
    pub port: u16,
    /// Host applications use to reach the new primary (written to the env file).
    #[arg(long, value_name = "HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Unix socket directory for a restored primary (default /tmp).
    #[arg(long, value_name = "DIR")]
    pub socket_dir: Option<PathBuf>,
    /// Env file whose DATABASE_URL is pointed at the new primary (user, password and options kept).
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// Audit log (JSON Lines; default: audit.jsonl in the repository area, or in the state directory for an azure:// repository).
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    #[command(flatten)]
    pub copy: CopyOpts,
    /// The Azure target (`--azure`): see `crate::azure::activate`.
    #[command(flatten)]
    pub azure: sw_core::azure::flexible::target::AzureOpts,
    #[command(flatten)]
    pub azure_activate: crate::azure::activate::AzureActivateOpts,
}

/// What the activation did.
#[derive(Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ActivateAction {
    /// The standby (--standby-pgdata) was promoted.
    PromotedStandby,
    /// The newest backup (or the one before the damage) was restored as the new primary.
    RestoredBackup,
}

/// A new primary is running: where, from what, and what to do next.
#[derive(Serialize, JsonSchema)]
pub struct Activation {
    incident: Incident,
    action: ActivateAction,
    /// The new primary's data directory.
    pgdata: String,
    /// The host applications reach it at (--host).
    host: String,
    port: u16,
    /// The backup restored; null when a standby was promoted.
    backup: Option<String>,
    /// The WAL location recovery reached; null when a standby was promoted.
    reached_lsn: Option<String>,
    /// The time of the last transaction replayed (microseconds); null like reached_lsn.
    #[schemars(extend("format" = "date-time"))]
    reached_time: Option<String>,
    /// The env file whose DATABASE_URL now points at the new primary; null without --env-file.
    env_file_updated: Option<String>,
    /// The audit log appended to.
    audit_log: String,
    duration_ms: u64,
    /// What to do now, in order.
    checklist: Vec<String>,
}

impl Record for Activation {
    const KIND: &'static str = "restore.activate";
}

/// What `activate` did before the env file and the checklist.
struct Done {
    action: ActivateAction,
    pgdata: String,
    backup: Option<String>,
    reached_lsn: Option<String>,
    reached_time: Option<String>,
}

pub fn run(a: &ActivateArgs, pretty: bool) -> Result<()> {
    let t0 = Instant::now();
    let opts = source(a)?;
    if a.incident == Incident::DataCorruption && a.before.is_none() {
        return Err(Error::usage(
            "--incident data_corruption needs --before TIME (when the damage happened)",
        ));
    }
    // Only the metadata is read here; the restore below unlocks the key.
    let repo = Repo::open_opts_keyless(&opts)?;
    let areas = repo.areas()?;
    let area = match areas.as_slice() {
        [one] => one.clone(),
        _ => {
            return Err(Error::usage(format!(
                "activate needs a repository with exactly one cluster; {} holds {}",
                q(&repo.root),
                areas.len()
            )));
        }
    };
    let audit = Audit {
        path: match &a.audit_log {
            Some(p) => p.clone(),
            // An off-site repository is no place for a local file: keep it
            // in the state directory.
            None if repo.is_blob() => local_audit_log()?,
            None => area.dir.join("audit.jsonl"),
        },
        incident: a.incident,
    };
    audit.log(
        AuditAction::Start,
        true,
        &format!("activate {:?} on port {}", a.incident, a.port),
    )?;
    // Run as root, the log stays usable by the repository owner's runs.
    repo.adopt(&audit.path)?;
    let res = activate(a, &opts, &audit);
    match &res {
        Ok(_) => audit.log(AuditAction::Done, true, "activation complete")?,
        Err(e) => audit.log(AuditAction::Failed, false, &e.to_string())?,
    }
    let done = res?;
    let mut env_updated = None;
    if let Some(f) = &a.env_file {
        repoint(f, &a.host, a.port)?;
        audit.log(
            AuditAction::EnvFile,
            true,
            &format!("DATABASE_URL in {} now points at {}:{}", q(f), a.host, a.port),
        )?;
        env_updated = Some(f.display().to_string());
    }
    repo.adopt(&audit.path)?;
    Output::stdout(pretty).emit(&Activation {
        incident: a.incident,
        action: done.action,
        pgdata: done.pgdata,
        host: a.host.clone(),
        port: a.port,
        backup: done.backup,
        reached_lsn: done.reached_lsn,
        reached_time: done.reached_time,
        env_file_updated: env_updated,
        audit_log: audit.path.display().to_string(),
        duration_ms: millis(t0.elapsed()),
        checklist: checklist(a, &repo, &audit),
    })
}

/// The repository to restore from: `--repo`, except that a region failure
/// is recovered from the off-site repository, named directly (azure://)
/// or by the link of the directory repository given (`sw-backup setup
/// --offsite`).
fn source(a: &ActivateArgs) -> Result<RepoOpts> {
    if a.incident != Incident::RegionFailure || a.repo.is_blob() {
        return Ok(a.repo.clone());
    }
    let hint = "--incident region_failure restores a local cluster from its off-site repository: pass --repo azure://ACCOUNT/CONTAINER[/PREFIX] or the directory repository linking it (or --azure for an Azure server)";
    let link = Repo::open(&a.repo.repo)
        .and_then(|r| sw_core::repo::offsite::Link::of(&r))
        .map_err(|e| Error::usage(format!("{hint}: {e}")))?
        .ok_or_else(|| Error::usage(format!("{hint}; {} links none", q(&a.repo.repo))))?;
    log::info!(
        "region failure: restoring from {}, the off-site repository {} links",
        link.url(),
        q(&a.repo.repo)
    );
    Ok(link.flag_opts())
}

/// `audit.jsonl` in the state directory (created).
fn local_audit_log() -> Result<PathBuf> {
    let dir = Env::process().state_dir();
    std::fs::create_dir_all(&dir).io_context(|| format!("creating {}", q(&dir)))?;
    Ok(dir.join("audit.jsonl"))
}

/// What to do after the activation, in order.
fn checklist(a: &ActivateArgs, repo: &Repo, audit: &Audit) -> Vec<String> {
    let mut checklist = vec![
        format!(
            "Point applications at {}:{}{}",
            a.host,
            a.port,
            a.env_file
                .as_ref()
                .map(|f| format!(" (DATABASE_URL in {} is updated; restart or reload them)", f.display()))
                .unwrap_or_default()
        ),
        "Keep the old primary down: starting it as a primary again splits the history (fence it, then rebuild it as a standby)".into(),
        format!(
            "Take a new full backup of the new primary now: sw-backup full --repo {} --db ...",
            repo.root.display()
        ),
        format!("Check archiving from the new primary: sw-backup check --repo {} --db ...", repo.root.display()),
    ];
    if a.incident == Incident::DataCorruption {
        checklist.push(
            "Find what was changed after the restore point on the old primary and re-apply what is still wanted".into(),
        );
    }
    checklist.push(format!(
        "Record the incident; the audit log is {}",
        audit.path.display()
    ));
    checklist
}

/// Promote the standby when it is a running one.
fn promote_standby(a: &ActivateArgs, sb: &Path, audit: &Audit) -> Result<Option<Done>> {
    let c = Cluster::new(sb, a.copy.runner()?)?;
    let running = matches!(c.status()?, Status::Running(_));
    if running && sb.join("standby.signal").exists() {
        audit.log(
            AuditAction::PromoteStandby,
            true,
            &format!("promoting the standby in {}", q(sb)),
        )?;
        c.promote()?;
        audit.log(AuditAction::Promoted, true, &format!("{} is now a primary", q(sb)))?;
        return Ok(Some(Done {
            action: ActivateAction::PromotedStandby,
            pgdata: c.datadir.display().to_string(),
            backup: None,
            reached_lsn: None,
            reached_time: None,
        }));
    }
    audit.log(
        AuditAction::StandbyUnusable,
        false,
        &format!(
            "{} is not a running standby; restoring the newest backup instead",
            q(sb)
        ),
    )?;
    Ok(None)
}

/// The restore target for the incident.
fn target(a: &ActivateArgs) -> Result<TargetOpts> {
    match a.incident {
        Incident::DatabaseFailure | Incident::RegionFailure => Ok(TargetOpts::latest()),
        Incident::DataCorruption => {
            let t = a.before.clone().unwrap_or_default();
            let parsed = chrono::DateTime::parse_from_rfc3339(&t)
                .map_err(|e| Error::usage(format!("--before {t:?} is not an RFC 3339 time: {e}")))?;
            // Just before the damage: recovery stops after the last commit before it.
            let just_before = parsed.with_timezone(&Utc) - chrono::Duration::microseconds(1);
            Ok(TargetOpts::time(
                just_before.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            ))
        }
    }
}

fn activate(a: &ActivateArgs, opts: &RepoOpts, audit: &Audit) -> Result<Done> {
    if a.incident == Incident::DatabaseFailure
        && let Some(sb) = &a.standby_pgdata
        && let Some(done) = promote_standby(a, sb, audit)?
    {
        return Ok(done);
    }
    let pgdata = a
        .pgdata
        .clone()
        .ok_or_else(|| Error::usage("restoring needs --pgdata (an empty directory for the new primary)"))?;
    let ra = RestoreArgs {
        repo: Some(opts.repo.clone()),
        blob: opts.blob.clone(),
        keys: opts.keys.clone(),
        pgdata: Some(pgdata.clone()),
        target: target(a)?,
        backup: None,
        system_identifier: None,
        as_primary: true,
        start: true,
        port: Some(a.port),
        socket_dir: a.socket_dir.clone(),
        timeout: std::time::Duration::from_secs(6 * 3600),
        copy: a.copy.clone(),
    };
    audit.log(
        AuditAction::Restore,
        true,
        &format!("restoring into {} ({:?})", q(&pgdata), a.incident),
    )?;
    let o = restore::execute(&ra)?;
    audit.log(
        AuditAction::Restored,
        true,
        &format!(
            "backup {} restored to {}, reached {} at {}; promoted on port {}",
            o.backup,
            o.target,
            o.reached_lsn.clone().unwrap_or_default(),
            o.reached_time.clone().unwrap_or_default(),
            a.port
        ),
    )?;
    Ok(Done {
        action: ActivateAction::RestoredBackup,
        pgdata: o.pgdata,
        backup: Some(o.backup),
        reached_lsn: o.reached_lsn,
        reached_time: o.reached_time,
    })
}

/// Point DATABASE_URL in `path` at host:port, keeping the rest.
fn repoint(path: &Path, host: &str, port: u16) -> Result<()> {
    let mut env = EnvFile::read_or_default(path)?;
    let url = match env.get("DATABASE_URL") {
        Some(_) => {
            let empty: Vec<(String, String)> = Vec::new();
            let mut t = DbTarget::resolve(None, Some(path), &Env::fixed(empty))?;
            t.hosts = vec![host.to_owned()];
            t.hostaddrs = vec![None];
            t.ports = vec![port];
            t.to_url(true)
        }
        None => format!("postgresql://postgres@{host}:{port}/postgres"),
    };
    env.set("DATABASE_URL", &url);
    env.write(path)
}
