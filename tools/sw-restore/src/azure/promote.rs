//! `sw-restore promote --azure`: promote a read replica (PATCH of the
//! replica with `replica.promoteMode`/`promoteOption`, as in the official
//! examples): a planned switchover (the replica and its primary swap
//! roles once the replica has caught up) or a forced standalone promotion
//! (the replica becomes an independent primary now, whatever it missed).
//! Waits for the operation and for the replica's role to change, then
//! writes its connection strings to the env file. Also used by `activate`.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};
use sw_core::azure::ArmClient;
use sw_core::azure::flexible::ops::{self, Method, Started};
use sw_core::azure::flexible::target::{AzureOpts, ServerRef};
use sw_core::azure::flexible::{replication_role, text};
use sw_core::config::Env;
use sw_core::contract::Record;
use sw_core::output::Output;
use sw_core::{Error, Result};

use super::{Ctx, write_env};

/// How the replica is promoted (`promoteMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PromoteMode {
    /// The replica and its primary swap roles.
    Switchover,
    /// The replica becomes an independent primary.
    Standalone,
}

/// Flags of `sw-restore promote`.
#[derive(Args, Debug)]
pub struct PromoteArgs {
    /// The replica to promote (`--server`).
    #[command(flatten)]
    pub azure: AzureOpts,
    /// Switch roles with the primary (switchover) or make the replica an independent primary (standalone).
    #[arg(long, value_enum)]
    pub mode: PromoteMode,
    /// Do not wait for the replica to catch up (promoteOption Forced; what a lost primary needs). Default: Planned.
    #[arg(long)]
    pub forced: bool,
    /// Env file the promoted server's connection strings are written to (atomic, 0600, other keys kept).
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// Env file whose DATABASE_URL holds the credentials (default: --env-file).
    #[arg(long, value_name = "FILE")]
    pub credentials_from: Option<PathBuf>,
    /// Print the request that would be sent, send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// A replica promoted (or, in a dry run, the promotion planned).
#[derive(Serialize, JsonSchema, Debug)]
pub struct AzurePromote {
    /// Nothing was sent but reads (--dry-run).
    pub dry_run: bool,
    /// The promoted server's ARM id.
    pub server: String,
    pub mode: PromoteMode,
    /// Planned (waits for the replica to catch up) or Forced.
    pub option: String,
    /// Its replication role before (`AsyncReplica`, `GeoAsyncReplica`).
    pub role_before: String,
    /// Its replication role after (`Primary`); null in a dry run.
    pub role_after: Option<String>,
    /// The host name clients connect to.
    pub fqdn: Option<String>,
    /// The ARM operation id; null in a dry run.
    pub operation_id: Option<String>,
    /// The env file written; null without --env-file or in a dry run.
    pub env_file: Option<String>,
    pub duration_ms: u64,
}

impl Record for AzurePromote {
    const KIND: &'static str = "restore.azure.promote";
}

/// The PATCH body of a promotion.
pub fn body(mode: PromoteMode, forced: bool) -> Value {
    json!({"properties": {"replica": {
        "promoteMode": match mode { PromoteMode::Switchover => "Switchover", PromoteMode::Standalone => "Standalone" },
        "promoteOption": if forced { "Forced" } else { "Planned" },
    }}})
}

/// Promote `replica` and wait for its role to be Primary; the server
/// after. `accepted` sees the operation as soon as Azure took it.
///
/// # Errors
/// 75 when the role has not changed within the operation timeout; the
/// ARM errors of the request and the wait.
pub fn promote(c: &ArmClient, replica: &ServerRef, body: &Value, accepted: &mut dyn FnMut(&Started)) -> Result<Value> {
    let _lock = c.write_lock(&replica.id(), &Env::process())?;
    let started = ops::start(c, "PATCH", &replica.path(""), Some(body))?;
    accepted(&started);
    let mut server = ops::finish(c, &started)?;
    let t0 = Instant::now();
    while !replication_role(&server).eq_ignore_ascii_case("primary") {
        c.report_progress(
            &format!("promotion of {}", replica.name),
            replication_role(&server),
            t0.elapsed(),
        );
        if t0.elapsed() + c.policy.poll_interval > c.policy.operation_timeout {
            c.end_progress();
            return Err(Error::temp(format!(
                "{} is still {} after the promotion; run again to re-check",
                replica.name,
                replication_role(&server)
            )));
        }
        std::thread::sleep(c.policy.poll_interval);
        server = c.get(&replica.path(""))?;
    }
    c.end_progress();
    Ok(server)
}

/// `sw-restore promote --azure`.
pub fn run(a: &PromoteArgs, pretty: bool) -> Result<()> {
    let t0 = Instant::now();
    let ctx = Ctx::open(&a.azure)?;
    let role_before = replication_role(&ctx.resource).to_owned();
    if !role_before.to_ascii_lowercase().contains("replica") {
        return Err(Error::data(format!(
            "server {} is not a read replica (its role is {:?}); only replicas are promoted",
            ctx.at.name,
            if role_before.is_empty() { "none" } else { &role_before }
        )));
    }
    let b = body(a.mode, a.forced);
    let mut out = Output::stdout(pretty);
    let mut rec = AzurePromote {
        dry_run: a.dry_run,
        server: ctx.at.id(),
        mode: a.mode,
        option: if a.forced { "Forced" } else { "Planned" }.into(),
        role_before,
        role_after: None,
        fqdn: Some(text(&ctx.resource, "/properties/fullyQualifiedDomainName").to_owned()).filter(|s| !s.is_empty()),
        operation_id: None,
        env_file: None,
        duration_ms: 0,
    };
    if a.dry_run {
        out.emit(&super::restore::dry(
            &ctx.client,
            Method::Patch,
            &ctx.at.path(""),
            Some(b),
        ))?;
        rec.duration_ms = sw_core::duration::millis(t0.elapsed());
        return out.emit(&rec);
    }
    let mut op = None;
    let server = promote(&ctx.client, &ctx.at, &b, &mut |s| op.clone_from(&s.operation_id))?;
    rec.operation_id = op;
    rec.role_after = Some(replication_role(&server).to_owned());
    let fqdn = text(&server, "/properties/fullyQualifiedDomainName");
    rec.env_file = write_env(a.env_file.as_deref(), a.credentials_from.as_deref(), fqdn)?;
    rec.duration_ms = sw_core::duration::millis(t0.elapsed());
    out.emit(&rec)
}

/// `sw-restore promote` without an Azure target.
pub fn local() -> Error {
    Error::usage(
        "sw-restore promote promotes an Azure read replica (--azure --server ...); a local standby is promoted by `sw-restore activate --incident database_failure --standby-pgdata DIR`",
    )
}
