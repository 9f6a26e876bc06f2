//! `sw-restore activate --azure --incident database_failure |
//! region_failure | data_corruption`: disaster recovery for a Flexible
//! Server. It checks the primary really is down (ARM's state, then a
//! connection with the env file's credentials) or asks for --force,
//! decides what to do from the primary's real settings (`incident`),
//! carries it out, waits for it, points the env file at the new primary
//! and prints the checklist; every step goes to the audit log (`audit`).
//! `--dry-run` rehearses: the same reads, the exact requests printed,
//! nothing written.

use std::path::PathBuf;
use std::time::Instant;

use chrono::Utc;
use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use sw_core::azure::flexible::envfile::credentials;
use sw_core::azure::flexible::ops::{self, Method, Started};
use sw_core::azure::flexible::target::ServerRef;
use sw_core::azure::flexible::{ServerState, parse_region, text};
use sw_core::azure::redact_url;
use sw_core::contract::Record;
use sw_core::duration::millis;
use sw_core::output::Output;
use sw_core::{Error, Result};

use super::audit::{Audit, AzureAuditLine, Operation, Outcome};
use super::incident::{self, AzureIncident, Plan};
use super::remote::Remote;
use super::restore::{self, dry};
use super::{Ctx, promote, state_file, write_env};
use crate::activate::ActivateArgs;

/// The Azure flags of `sw-restore activate`.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Azure activation")]
pub struct AzureActivateOpts {
    /// The new server a restore goes into (default PRIMARY-REGION for a geo-restore, PRIMARY-pitr-TIME for data_corruption).
    #[arg(long, value_name = "NAME")]
    pub new_server: Option<String>,
    /// The region of a geo-restore (default: the primary region's pair).
    #[arg(long, value_name = "REGION", value_parser = parse_region)]
    pub location: Option<String>,
    /// Go ahead although the primary still looks up (or cannot be checked).
    #[arg(long)]
    pub force: bool,
    /// Rehearse: do the reads and the checks, print the exact requests, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Env file whose DATABASE_URL holds the credentials (default: --env-file).
    #[arg(long, value_name = "FILE")]
    pub credentials_from: Option<PathBuf>,
}

/// What the activation did.
#[derive(Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AzureAction {
    /// Forced failover to the HA standby (same server, same host name).
    HaFailover,
    /// A read replica was promoted to a standalone primary.
    PromotedReplica,
    /// A geo-restore into another region.
    GeoRestore,
    /// A point-in-time restore into a new server.
    PointInTimeRestore,
}

/// A Flexible Server activation (or its rehearsal).
#[derive(Serialize, JsonSchema)]
pub struct AzureActivation {
    /// Nothing was written (--dry-run); the requests were printed.
    pub dry_run: bool,
    pub incident: AzureIncident,
    pub action: AzureAction,
    /// The primary's ARM id.
    pub primary: String,
    /// The primary was found down.
    pub primary_down: bool,
    /// How that was decided, for people.
    pub primary_check: String,
    /// --force was given.
    pub forced: bool,
    /// The new primary's ARM id.
    pub server: String,
    /// Its host name; null in a dry run of a restore.
    pub fqdn: Option<String>,
    /// Its region.
    pub location: String,
    /// The `pointInTimeUTC` of a restore; null otherwise.
    pub point_in_time: Option<String>,
    /// The ARM operation ids of the requests sent.
    pub operation_ids: Vec<String>,
    /// The env file now pointing at the new primary; null without --env-file or in a dry run.
    pub env_file_updated: Option<String>,
    /// The audit log appended to; null in a dry run.
    pub audit_log: Option<String>,
    pub duration_ms: u64,
    /// What to do now, in order.
    pub checklist: Vec<String>,
}

impl Record for AzureActivation {
    const KIND: &'static str = "restore.azure.activate";
}

/// Whether the primary is down, and why that was concluded.
fn primary_down(a: &ActivateArgs, ctx: &Ctx) -> (bool, String) {
    let state = ServerState::of(&ctx.resource);
    let said = text(&ctx.resource, "/properties/state");
    if !matches!(
        state,
        ServerState::Ready | ServerState::Updating | ServerState::Restarting | ServerState::Starting
    ) {
        return (
            true,
            format!(
                "Azure reports the primary {}",
                if said.is_empty() { "in no known state" } else { said }
            ),
        );
    }
    let from = a.azure_activate.credentials_from.as_ref().or(a.env_file.as_ref());
    let Some(creds) = from.and_then(|f| credentials(f).ok()) else {
        return (
            false,
            format!(
                "Azure reports the primary {said} and there are no credentials (--env-file, --credentials-from) to try a connection"
            ),
        );
    };
    let fqdn = text(&ctx.resource, "/properties/fullyQualifiedDomainName");
    match Remote::new(&creds, fqdn).and_then(|r| r.try_connect(&creds.dbname)) {
        Ok(()) => (
            false,
            format!("Azure reports the primary {said} and it answers queries"),
        ),
        Err(e) => (
            true,
            format!("Azure reports the primary {said} but it does not answer: {e}"),
        ),
    }
}

/// `sw-restore activate --azure`.
pub fn run(a: &ActivateArgs, pretty: bool) -> Result<()> {
    let t0 = Instant::now();
    let o = &a.azure_activate;
    let ctx = Ctx::open(&a.azure)?;
    let audit = Audit {
        path: (!o.dry_run).then(|| {
            a.audit_log
                .clone()
                .unwrap_or_else(|| state_file(&ctx.at, "audit.jsonl"))
        }),
        incident: a.incident,
    };
    audit.log(audit.line(
        Operation::Start,
        Outcome::Succeeded,
        format!("activate {:?} of {}", a.incident, ctx.at.name),
    ))?;
    let res = activate(a, &ctx, &audit, t0);
    if let Err(e) = &res {
        audit.log(audit.line(Operation::Failed, Outcome::Failed, e.to_string()))?;
    }
    let rec = res?;
    let mut out = Output::stdout(pretty);
    out.emit(&rec)
}

fn activate(a: &ActivateArgs, ctx: &Ctx, audit: &Audit, t0: Instant) -> Result<AzureActivation> {
    let o = &a.azure_activate;
    let tc = Instant::now();
    let (down, why) = primary_down(a, ctx);
    let mut line = audit.line(
        Operation::CheckPrimary,
        if down { Outcome::Succeeded } else { Outcome::Failed },
        why.clone(),
    );
    line.duration_ms = Some(millis(tc.elapsed()));
    audit.log(line)?;
    if !down && !o.force && !o.dry_run {
        return Err(Error::usage(format!(
            "the primary {} does not look down ({why}); pass --force to activate anyway",
            ctx.at.name
        )));
    }
    let plan = incident::plan(a, ctx, Utc::now())?;
    let mut rec = AzureActivation {
        dry_run: o.dry_run,
        incident: a.incident,
        action: AzureAction::HaFailover,
        primary: ctx.at.id(),
        primary_down: down,
        primary_check: why,
        forced: o.force,
        server: ctx.at.id(),
        fqdn: None,
        location: sw_core::azure::flexible::region(text(&ctx.resource, "/location")),
        point_in_time: None,
        operation_ids: Vec::new(),
        env_file_updated: None,
        audit_log: audit.path.as_ref().map(|p| p.display().to_string()),
        duration_ms: 0,
        checklist: Vec::new(),
    };
    let server = if o.dry_run {
        rehearse(ctx, &plan, &mut rec)?
    } else {
        carry_out(ctx, plan, audit, &mut rec)?
    };
    rec.fqdn = server
        .as_ref()
        .map(|s| text(s, "/properties/fullyQualifiedDomainName").to_owned())
        .filter(|f| !f.is_empty());
    if let (false, Some(fqdn)) = (o.dry_run, &rec.fqdn) {
        let te = Instant::now();
        rec.env_file_updated = write_env(a.env_file.as_deref(), o.credentials_from.as_deref(), fqdn)?;
        if let Some(f) = &rec.env_file_updated {
            let mut l = audit.line(
                Operation::EnvFile,
                Outcome::Succeeded,
                format!("the connection strings in {f} now point at {fqdn}"),
            );
            l.duration_ms = Some(millis(te.elapsed()));
            audit.log(l)?;
        }
    }
    rec.checklist = checklist(a, &rec);
    audit.log(audit.line(
        Operation::Done,
        Outcome::Succeeded,
        format!("{:?}: {} is the primary", rec.action, rec.server),
    ))?;
    rec.duration_ms = millis(t0.elapsed());
    Ok(rec)
}

/// Print the exact requests of `plan`; the server as it would be (none yet
/// for a restore).
fn rehearse(ctx: &Ctx, plan: &Plan, rec: &mut AzureActivation) -> Result<Option<Value>> {
    let mut out = Output::stdout(false);
    match plan {
        Plan::Failover { body } => {
            out.emit(&dry(
                &ctx.client,
                Method::Post,
                &ctx.at.path("/restart"),
                Some(body.clone()),
            ))?;
            Ok(Some(ctx.resource.clone()))
        }
        Plan::Promote {
            replica,
            location,
            body,
        } => {
            out.emit(&dry(&ctx.client, Method::Patch, &replica.path(""), Some(body.clone())))?;
            rec.action = AzureAction::PromotedReplica;
            rec.server = replica.id();
            rec.location.clone_from(location);
            Ok(ctx.client.get_opt(&replica.path(""))?)
        }
        Plan::Restore { spec, request } => {
            out.emit(&dry(
                &ctx.client,
                Method::Put,
                &request.path,
                Some(request.body.clone()),
            ))?;
            restore_fields(rec, spec, request);
            Ok(None)
        }
    }
}

fn restore_fields(rec: &mut AzureActivation, spec: &restore::Spec, request: &restore::Request) {
    rec.action = match spec.mode {
        restore::Mode::GeoRestore => AzureAction::GeoRestore,
        restore::Mode::PointInTime => AzureAction::PointInTimeRestore,
    };
    rec.server = spec.new.id();
    rec.location.clone_from(&spec.location);
    rec.point_in_time = Some(request.point_in_time.clone());
}

/// An audit line for a request Azure accepted.
fn accepted(audit: &Audit, op: Operation, s: &Started) -> AzureAuditLine {
    let mut l = audit.line(op, Outcome::Accepted, format!("{} accepted", s.method));
    l.method = Some(s.method.clone());
    l.url = Some(redact_url(&s.url).to_owned());
    l.operation_id.clone_from(&s.operation_id);
    l
}

/// Send the plan's request, wait for it; the new primary.
fn carry_out(ctx: &Ctx, plan: Plan, audit: &Audit, rec: &mut AzureActivation) -> Result<Option<Value>> {
    let t = Instant::now();
    let mut logged: Result<()> = Ok(());
    let mut op_id: Option<String> = None;
    let mut on = |op: Operation, s: &Started| {
        op_id.clone_from(&s.operation_id);
        logged = audit.log(accepted(audit, op, s));
    };
    let (op, result) = match plan {
        Plan::Failover { body } => (
            Operation::HaFailover,
            failover(ctx, &body, &mut |s| on(Operation::HaFailover, s)),
        ),
        Plan::Promote {
            replica,
            location,
            body,
        } => {
            rec.action = AzureAction::PromotedReplica;
            rec.server = replica.id();
            rec.location = location;
            let r = promote::promote(&ctx.client, &replica, &body, &mut |s| on(Operation::PromoteReplica, s));
            (Operation::PromoteReplica, r)
        }
        Plan::Restore { spec, request } => {
            restore_fields(rec, &spec, &request);
            let op = if rec.action == AzureAction::GeoRestore {
                Operation::GeoRestore
            } else {
                Operation::PointInTimeRestore
            };
            let r =
                restore::execute(&ctx.client, &spec, request, &mut |s| on(op, s)).map(|d| d.server.unwrap_or_default());
            (op, r)
        }
    };
    logged?;
    rec.operation_ids.extend(op_id);
    let outcome = if result.is_ok() {
        Outcome::Succeeded
    } else {
        Outcome::Failed
    };
    let detail = match &result {
        Ok(s) => format!(
            "{} is {} ({})",
            text(s, "/name"),
            text(s, "/properties/state"),
            sw_core::azure::flexible::replication_role(s)
        ),
        Err(e) => e.to_string(),
    };
    let mut l = audit.line(op, outcome, detail);
    l.duration_ms = Some(millis(t.elapsed()));
    audit.log(l)?;
    Ok(Some(result?))
}

/// Forced failover of the primary to its HA standby; the server after.
fn failover(ctx: &Ctx, body: &Value, accepted: &mut dyn FnMut(&Started)) -> Result<Value> {
    let c = &ctx.client;
    let _lock = c.write_lock(&ctx.at.id(), &sw_core::config::Env::process())?;
    let started = ops::start(c, "POST", &ctx.at.path("/restart"), Some(body))?;
    accepted(&started);
    ops::finish(c, &started)?;
    let s = c.get(&ctx.at.path(""))?;
    sw_core::azure::flexible::wait_while_busy(c, &ctx.at.path(""), &ctx.at.name, s)
}

/// What to do after the activation, in order.
fn checklist(a: &ActivateArgs, rec: &AzureActivation) -> Vec<String> {
    let new = ServerRef::parse_id(&rec.server).map(|s| s.name).unwrap_or_default();
    let host = rec
        .fqdn
        .clone()
        .unwrap_or_else(|| format!("{new}.postgres.database.azure.com"));
    let mut c = vec![match &rec.env_file_updated {
        Some(f) => format!("Restart or reload the applications: the connection strings in {f} now point at {host}"),
        None => format!("Point the applications at {host}"),
    }];
    match rec.action {
        AzureAction::HaFailover => {
            c.push("Azure rebuilds the standby in the old primary's zone: wait until `sw-provision azure status` shows HA Healthy".into());
            c.push("Find out why the primary failed (Azure Resource Health, the server's logs)".into());
        }
        AzureAction::PromotedReplica => {
            c.push(format!(
                "{new} has no replica now: create one (sw-provision azure replica --of {new} ...)"
            ));
            c.push("If the old primary comes back it is a separate server with older data: keep applications off it, then delete it or rebuild it as a replica".into());
        }
        AzureAction::GeoRestore => {
            c.push(format!(
                "{new} runs in {}: check the applications' latency to it and move them if needed",
                rec.location
            ));
            c.push(format!(
                "Geo-redundant backup is set at creation only: if {new} is to stay, plan a server that has it"
            ));
        }
        AzureAction::PointInTimeRestore => {
            c.push("Compare the restored server with the damaged one and re-apply what changed after the restore point and is still wanted".into());
            c.push("Keep the damaged server until that is done, then delete it".into());
        }
    }
    c.push(format!(
        "Take an on-demand backup now: sw-backup full --azure --server {}",
        rec.server
    ));
    c.push(format!(
        "Check the backups: sw-backup check --azure --server {}",
        rec.server
    ));
    c.push(match &rec.audit_log {
        Some(p) => format!("Record the incident ({:?}); the audit log is {p}", a.incident),
        None => "This was a rehearsal (--dry-run): nothing was changed".into(),
    });
    c
}
