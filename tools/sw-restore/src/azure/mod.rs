//! sw-restore for an Azure Database for PostgreSQL Flexible Server, through
//! the Resource Manager API (`sw_core::azure::flexible`). Selected by
//! `--azure`, or by a `--server` (name or ARM id); the local code paths
//! are untouched.
//!
//! - `restore` (with `body` and `point`): point-in-time and geo-restore
//!   into a new server, resumable, inheriting network, HA and encryption;
//! - `promote`: a read replica promoted (planned switchover or forced
//!   standalone);
//! - `drill` (with `remote` for its SQL over verify-full TLS and `scratch`
//!   for the scratch server's life): restore, check, delete, record RTO/RPO;
//! - `activate` (with `incident` and `audit`): disaster recovery for
//!   database failure, region failure and data corruption;
//! - `runbook`: the runbook from the server's real settings and the drills;
//! - `docs`: what these paths add to each command's contract.
//!
//! What Azure cannot do (LSN or named targets, restore in place, choosing
//! a backup) is an `azure.unsupported` record and exit 64, never faked.

pub mod activate;
pub mod audit;
pub mod body;
pub mod docs;
pub mod drill;
pub mod incident;
pub mod point;
pub mod promote;
pub mod remote;
pub mod restore;
pub mod runbook;
pub mod scratch;

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::Utc;
use serde_json::Value;
use sw_core::azure::ArmClient;
use sw_core::azure::flexible::envfile::{credentials, write_server_env};
use sw_core::azure::flexible::ops::{Method, unsupported};
use sw_core::azure::flexible::target::{AzureOpts, ServerRef};
use sw_core::config::Env;
use sw_core::output::Output;
use sw_core::{Error, Result};

use crate::restore::RestoreArgs;
use point::Point;
use restore::{Action, AzureRestore, AzureRestoreOpts, Done, Mode, Spec};

/// The ARM client and the server the flags name, read.
pub struct Ctx {
    pub client: ArmClient,
    pub at: ServerRef,
    pub resource: Value,
}

impl Ctx {
    /// Read the server the flags name.
    ///
    /// # Errors
    /// 64/78 for incomplete flags; 66 when it does not exist; ARM errors.
    pub fn open(o: &AzureOpts) -> Result<Ctx> {
        let at = o.server_ref()?;
        let client = o.client()?;
        let resource = client.get_opt(&at.path(""))?.ok_or_else(|| {
            Error::no_input(format!(
                "server {} does not exist in resource group {}",
                at.name, at.resource_group
            ))
        })?;
        Ok(Ctx { client, at, resource })
    }
}

/// Where the Azure paths keep their logs for `server` by default:
/// `$XDG_STATE_HOME/sw/azure/<server>/<file>`.
pub fn state_file(server: &ServerRef, file: &str) -> PathBuf {
    Env::process().state_dir().join("azure").join(&server.name).join(file)
}

/// Write the new server's connection strings to `env_file`, with the
/// credentials of `from` (default: `env_file` itself); the file written.
///
/// # Errors
/// 66 when there are no credentials to write; 73/74/78 writing the file.
pub fn write_env(env_file: Option<&Path>, from: Option<&Path>, fqdn: &str) -> Result<Option<String>> {
    let Some(path) = env_file else { return Ok(None) };
    if fqdn.is_empty() {
        return Err(Error::unavailable("the new server has no host name yet"));
    }
    let creds = credentials(from.unwrap_or(path)).map_err(|e| {
        e.context("the env file's connection strings need the application's credentials (--credentials-from)")
    })?;
    write_server_env(path, &creds, fqdn)?;
    Ok(Some(path.display().to_string()))
}

/// What a restore flag asks that Azure cannot do.
fn refuse_local(r: &RestoreArgs, pretty: bool) -> Result<()> {
    let cmd = "sw-restore";
    let t = &r.target;
    if t.target_lsn.is_some() {
        return Err(unsupported(
            pretty,
            cmd,
            "lsn_target",
            "Azure restores to a time (--target-time or --latest), not to a WAL location",
        ));
    }
    if t.target_name.is_some() {
        return Err(unsupported(
            pretty,
            cmd,
            "named_target",
            "Azure restores to a time, not to a restore point made with pg_create_restore_point()",
        ));
    }
    if t.immediate {
        return Err(unsupported(
            pretty,
            cmd,
            "immediate_target",
            "Azure restores to a time, not to the end of one backup",
        ));
    }
    if r.backup.is_some() {
        return Err(unsupported(
            pretty,
            cmd,
            "backup_choice",
            "Azure picks the backup for the time asked; it cannot be named",
        ));
    }
    if r.pgdata.is_some() {
        return Err(unsupported(
            pretty,
            cmd,
            "restore_in_place",
            "an Azure restore creates a new server (--new-server); it never writes a data directory",
        ));
    }
    Ok(())
}

/// `sw-restore --azure`.
pub fn run_restore(r: &RestoreArgs, az: &AzureOpts, o: &AzureRestoreOpts, pretty: bool) -> Result<()> {
    let t0 = Instant::now();
    refuse_local(r, pretty)?;
    if r.target.target_time.is_none() && !r.target.latest {
        return Err(Error::usage("say what to restore to: --target-time TIME or --latest"));
    }
    let point = Point::parse(r.target.target_time.as_deref())?;
    // Refused before any request: a point in the future or beyond 35 days.
    point.check_bounds(Utc::now())?;
    let new_name = o
        .new_server
        .as_deref()
        .ok_or_else(|| Error::usage("--azure restores into a new server: pass --new-server NAME"))?;
    let src = az.server_ref()?;
    if new_name == src.name {
        return Err(unsupported(
            pretty,
            "sw-restore",
            "restore_in_place",
            "Azure cannot restore over a server; name a new one (--new-server)",
        ));
    }
    let new = src.resolve(new_name)?;
    let ctx = Ctx::open(az)?;
    let mode = if o.geo { Mode::GeoRestore } else { Mode::PointInTime };
    let spec = Spec {
        location: restore::location(mode, &ctx.resource, o.location.as_deref())?,
        source: ctx.at.clone(),
        new,
        mode,
        point,
        overrides: o.overrides(),
    };
    let request = restore::plan(&spec, &ctx.resource, Utc::now())?;
    let mut out = Output::stdout(pretty);
    if o.dry_run {
        out.emit(&restore::dry(
            &ctx.client,
            Method::Put,
            &request.path,
            Some(request.body.clone()),
        ))?;
        let done = Done {
            action: Action::Planned,
            server: None,
            operation_id: None,
            request,
            firewall_rules_copied: 0,
            ready_ms: None,
        };
        return out.emit(&AzureRestore::of(&spec, &done, None, t0));
    }
    let done = restore::execute(&ctx.client, &spec, request, &mut |s| {
        log::info!(
            "restore of {} accepted (operation {:?})",
            spec.source.name,
            s.operation_id
        );
    })?;
    let fqdn = done
        .server
        .as_ref()
        .map(|s| sw_core::azure::flexible::text(s, "/properties/fullyQualifiedDomainName").to_owned())
        .unwrap_or_default();
    let env = write_env(o.env_file.as_deref(), o.credentials_from.as_deref(), &fqdn)?;
    out.emit(&AzureRestore::of(&spec, &done, env, t0))
}
