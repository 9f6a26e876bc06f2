//! `sw-restore runbook --azure`: the runbook of a Flexible Server, written
//! from its real settings (SKU, HA, replicas, geo-redundant backup,
//! retention, earliest restore point) and the measured drills: RTO and RPO
//! measured against the promise (`--rto-target`, `--rpo-target`: 1 h and
//! 15 min), the commands for each incident with the real names, and what
//! has never been drilled or carried out (from the drill and audit logs).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use sw_core::azure::flexible::{region, replication_role, text};
use sw_core::contract::Record;
use sw_core::duration::millis;
use sw_core::fsutil::{self, q};
use sw_core::output::{Output, rfc3339};
use sw_core::{Error, Result};

use super::audit::{AzureAuditLine, Operation, Outcome, read_lines};
use super::drill::AzureDrill;
use super::{Ctx, state_file};
use crate::runbook::RunbookArgs;

/// The Azure flags of `sw-restore runbook`.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Azure runbook")]
pub struct AzureRunbookOpts {
    /// The drill log (default $XDG_STATE_HOME/sw/azure/SERVER/drills.jsonl).
    #[arg(long, value_name = "FILE")]
    pub drill_log: Option<PathBuf>,
    /// The activation audit log (default $XDG_STATE_HOME/sw/azure/SERVER/audit.jsonl).
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// The recovery time promised.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = sw_core::duration::parse)]
    pub rto_target: Duration,
    /// The recovery point promised (the data that may be lost).
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = sw_core::duration::parse)]
    pub rpo_target: Duration,
}

/// The Azure runbook written, and the objectives it states.
#[derive(Serialize, JsonSchema, Default)]
pub struct AzureRunbook {
    /// The Markdown file written.
    pub path: String,
    /// The server's ARM id.
    pub server: String,
    /// Drills found in the drill log.
    pub drills: usize,
    /// The measured RTO: the worst of the last 5 successful drills; null without one.
    pub rto_ms: Option<u64>,
    /// The measured RPO: the worst of the last 5 successful drills that could tell; null without one.
    pub rpo_ms: Option<u64>,
    /// The RTO promised (--rto-target).
    pub rto_target_ms: u64,
    /// The RPO promised (--rpo-target).
    pub rpo_target_ms: u64,
    /// The measured RTO meets the promise; null when not measured.
    pub rto_met: Option<bool>,
    /// The measured RPO meets the promise; null when not measured.
    pub rpo_met: Option<bool>,
    /// Procedures never drilled nor carried out: point_in_time_restore, ha_failover, promote_replica, geo_restore.
    pub never_drilled: Vec<String>,
}

impl Record for AzureRunbook {
    const KIND: &'static str = "restore.azure.runbook";
}

fn fmt_ms(ms: Option<u64>) -> String {
    let Some(ms) = ms else { return "not measured".into() };
    let s = ms as f64 / 1000.0;
    if s >= 3600.0 {
        format!("{:.1} h", s / 3600.0)
    } else if s >= 60.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{s:.1} s")
    }
}

/// `sw-restore runbook --azure`.
pub fn run(a: &RunbookArgs, o: &AzureRunbookOpts, pretty: bool) -> Result<()> {
    let ctx = Ctx::open(&a.azure)?;
    let replicas = ctx.client.list(&ctx.at.path("/replicas"))?;
    let drills: Vec<AzureDrill> = read_lines(
        &o.drill_log
            .clone()
            .unwrap_or_else(|| state_file(&ctx.at, "drills.jsonl")),
    );
    let audit: Vec<AzureAuditLine> = read_lines(
        &o.audit_log
            .clone()
            .unwrap_or_else(|| state_file(&ctx.at, "audit.jsonl")),
    );
    let ok: Vec<&AzureDrill> = drills.iter().filter(|d| d.ok).collect();
    let rto = ok.iter().rev().take(5).filter_map(|d| d.rto_ms).max();
    let rpo = ok.iter().rev().take(5).filter_map(|d| d.rpo_ms).max();
    let mut w = AzureRunbook {
        path: a.out.display().to_string(),
        server: ctx.at.id(),
        drills: drills.len(),
        rto_ms: rto,
        rpo_ms: rpo,
        rto_target_ms: millis(o.rto_target),
        rpo_target_ms: millis(o.rpo_target),
        rto_met: rto.map(|r| r <= millis(o.rto_target)),
        rpo_met: rpo.map(|r| r <= millis(o.rpo_target)),
        never_drilled: Vec::new(),
    };
    let done = |op: Operation| {
        audit
            .iter()
            .any(|l| l.operation == op && l.outcome == Outcome::Succeeded)
    };
    for (name, exercised) in [
        (
            "point_in_time_restore",
            !ok.is_empty() || done(Operation::PointInTimeRestore),
        ),
        ("ha_failover", done(Operation::HaFailover)),
        ("promote_replica", done(Operation::PromoteReplica)),
        ("geo_restore", done(Operation::GeoRestore)),
    ] {
        if !exercised {
            w.never_drilled.push(name.into());
        }
    }
    let env = a
        .env_file
        .as_ref()
        .map_or_else(|| "/etc/myapp/db.env".to_owned(), |p| p.display().to_string());
    let mut md = String::new();
    settings(&mut md, &ctx, &replicas);
    objectives(&mut md, &w, &drills);
    procedures(&mut md, &ctx, &replicas, &env);
    fsutil::atomic_write(&a.out, md.as_bytes(), 0o644)
        .map_err(|e| Error::cant_create(format!("writing the runbook to {}", q(&a.out))).with_source(e))?;
    Output::stdout(pretty).emit(&w)
}

fn settings(md: &mut String, ctx: &Ctx, replicas: &[Value]) {
    let s = &ctx.resource;
    let t = |p: &str| match text(s, p) {
        "" => "not reported".to_owned(),
        v => v.to_owned(),
    };
    let _ = writeln!(md, "# Recovery runbook: Azure Flexible Server {}\n", ctx.at.name);
    let _ = writeln!(
        md,
        "Generated {} by `sw-restore runbook --azure` from the server's settings and the drill log. Regenerate it after every drill.\n",
        rfc3339(Utc::now())
    );
    let _ = writeln!(md, "## The server\n");
    let _ = writeln!(md, "- ARM id: `{}`", ctx.at.id());
    let _ = writeln!(
        md,
        "- Region: {}; zone {}",
        t("/location"),
        t("/properties/availabilityZone")
    );
    let _ = writeln!(
        md,
        "- SKU: {} ({}), PostgreSQL {}",
        t("/sku/name"),
        t("/sku/tier"),
        t("/properties/version")
    );
    let _ = writeln!(
        md,
        "- High availability: {} ({}; standby zone {})",
        t("/properties/highAvailability/mode"),
        t("/properties/highAvailability/state"),
        t("/properties/highAvailability/standbyAvailabilityZone")
    );
    let _ = writeln!(
        md,
        "- Backups: retention {} days, geo-redundant {}, earliest restore point {}",
        s.pointer("/properties/backup/backupRetentionDays")
            .and_then(Value::as_u64)
            .map_or_else(|| "?".to_owned(), |d| d.to_string()),
        t("/properties/backup/geoRedundantBackup"),
        t("/properties/backup/earliestRestoreDate")
    );
    if replicas.is_empty() {
        let _ = writeln!(md, "- Replicas: none");
    }
    for r in replicas {
        let _ = writeln!(
            md,
            "- Replica: {} in {} ({}, {})",
            text(r, "/name"),
            text(r, "/location"),
            replication_role(r),
            text(r, "/properties/replica/replicationState")
        );
    }
    let _ = writeln!(md);
}

fn objectives(md: &mut String, w: &AzureRunbook, drills: &[AzureDrill]) {
    let verdict = |m: Option<bool>| match m {
        Some(true) => "met",
        Some(false) => "**MISSED**",
        None => "not measured",
    };
    let _ = writeln!(md, "## Recovery objectives (measured by drills)\n");
    let _ = writeln!(
        md,
        "- RTO: {} measured (worst of the last 5 successful drills) against {} promised: {}",
        fmt_ms(w.rto_ms),
        fmt_ms(Some(w.rto_target_ms)),
        verdict(w.rto_met)
    );
    let _ = writeln!(
        md,
        "- RPO: {} measured against {} promised: {}",
        fmt_ms(w.rpo_ms),
        fmt_ms(Some(w.rpo_target_ms)),
        verdict(w.rpo_met)
    );
    match drills.last() {
        Some(d) => {
            let _ = writeln!(
                md,
                "- Drills recorded: {} ({} failed); last {} ({}){}",
                drills.len(),
                drills.iter().filter(|d| !d.ok).count(),
                d.time,
                if d.ok { "ok" } else { "FAILED" },
                d.error.as_ref().map(|e| format!(": {e}")).unwrap_or_default()
            );
        }
        None => {
            let _ = writeln!(md, "- No drill recorded: run `sw-restore drill --azure` now.");
        }
    }
    if w.never_drilled.is_empty() {
        let _ = writeln!(md, "- Every procedure below has been drilled or carried out.\n");
    } else {
        let _ = writeln!(
            md,
            "- **Never drilled or carried out:** {}\n",
            w.never_drilled.join(", ")
        );
    }
}

fn procedures(md: &mut String, ctx: &Ctx, replicas: &[Value], env: &str) {
    let id = ctx.at.id();
    let here = region(text(&ctx.resource, "/location"));
    let ha = text(&ctx.resource, "/properties/highAvailability/mode");
    let has_ha = !ha.is_empty() && !ha.eq_ignore_ascii_case("disabled");
    let local = replicas.iter().any(|r| region(text(r, "/location")) == here);
    let remote = replicas.iter().any(|r| region(text(r, "/location")) != here);
    let geo = text(&ctx.resource, "/properties/backup/geoRedundantBackup").eq_ignore_ascii_case("enabled");
    let base = format!("sw-restore activate --azure --server {id} --env-file {env}");
    let _ = writeln!(md, "## Procedures\n");
    let _ = writeln!(
        md,
        "Rehearse any of them first with `--dry-run` (prints the exact requests). Each checks the primary is down (or needs `--force`), writes the env file, prints a checklist and appends every step to the audit log.\n"
    );
    let db = if has_ha {
        "forced failover to the HA standby (same host name)"
    } else if local {
        "promotion of the replica in the same region"
    } else {
        "no HA and no replica here: a restore of the latest point into a new server (--new-server)"
    };
    let _ = writeln!(
        md,
        "### The primary is down (database_failure): {db}\n\n```sh\n{base} --incident database_failure{}\n```\n",
        if has_ha || local { "" } else { " --new-server NEW" }
    );
    let rf = match (remote, geo) {
        (true, _) => "promotion of the replica in another region".to_owned(),
        (false, true) => "geo-restore into the paired region".to_owned(),
        (false, false) => {
            "**not possible**: no cross-region replica and no geo-redundant backup (create a replica in another region)"
                .to_owned()
        }
    };
    let _ = writeln!(
        md,
        "### The region is down (region_failure): {rf}\n\n```sh\n{base} --incident region_failure\n```\n"
    );
    let _ = writeln!(
        md,
        "### Data was damaged at a known time (data_corruption): a restore to just before it, side by side\n\n```sh\n{base} --incident data_corruption --before 2026-01-31T12:00:00Z\n# to inspect first without switching applications:\nsw-restore --azure --server {id} --new-server {}-inspect --target-time 2026-01-31T11:59:59Z\n```\n",
        ctx.at.name
    );
    let _ = writeln!(
        md,
        "### Before trusting the backups\n\n```sh\nsw-backup check --azure --server {id}\nsw-restore drill --azure --server {id} --credentials-from {env}   # a real restore; updates the RTO above\n```"
    );
}
