//! `sw-restore --azure`: a point-in-time restore of a Flexible Server into
//! a new server (createMode PointInTimeRestore), or a geo-restore into
//! another region (GeoRestore; refused before any request when the source
//! keeps no geo-redundant backup). The point is checked against now and the
//! source's earliest restore point before anything is written. Resumable:
//! the new server carries tags naming its source and point, so a run that
//! finds it still being created re-attaches and never creates a second.
//! Afterwards the source's firewall rules are copied (a restored server
//! gets none) and the new server's connection strings go to the env file.
//! Also the restore `drill` and `activate` run.

use std::path::PathBuf;
use std::time::Instant;

use chrono::Utc;
use clap::{Args, ValueEnum};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};
use sw_core::azure::ArmClient;
use sw_core::azure::flexible::ops::{self, AzureRequest, Method, Started};
use sw_core::azure::flexible::target::ServerRef;
use sw_core::azure::flexible::{ServerState, parse_region, text, wait_while_busy};
use sw_core::config::Env;
use sw_core::contract::Record;
use sw_core::{Error, Exit, Result};

use super::body::{self, Overrides, TAG_POINT, TAG_SOURCE};
use super::point::{Point, paired};

/// High availability of a restored server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HaMode {
    Disabled,
    SameZone,
    ZoneRedundant,
}

impl HaMode {
    fn arm(self) -> &'static str {
        match self {
            HaMode::Disabled => "Disabled",
            HaMode::SameZone => "SameZone",
            HaMode::ZoneRedundant => "ZoneRedundant",
        }
    }
}

/// The Azure flags of a restore (`sw-restore --azure`).
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Azure restore")]
pub struct AzureRestoreOpts {
    /// The new server to restore into (Azure restores never overwrite a server).
    #[arg(long, value_name = "NAME")]
    pub new_server: Option<String>,
    /// Geo-restore into another region (the source must keep geo-redundant backups).
    #[arg(long)]
    pub geo: bool,
    /// The region of a geo-restore (default: the source region's pair).
    #[arg(long, value_name = "REGION", value_parser = parse_region)]
    pub location: Option<String>,
    /// High availability of the new server (default: the source's).
    #[arg(long, value_enum)]
    pub ha: Option<HaMode>,
    /// Availability zone of the new server (default: Azure's choice).
    #[arg(long, value_name = "ZONE")]
    pub zone: Option<String>,
    /// Delegated subnet (ARM id) of the new server (default: the source's, in the same region).
    #[arg(long, value_name = "ID")]
    pub subnet: Option<String>,
    /// Private DNS zone (ARM id) of the new server (default: the source's, in the same region).
    #[arg(long, value_name = "ID")]
    pub private_dns_zone: Option<String>,
    /// Env file the new server's connection strings are written to (atomic, 0600, other keys kept).
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// Env file whose DATABASE_URL holds the credentials (default: --env-file; a restored server keeps the source's administrator and password).
    #[arg(long, value_name = "FILE")]
    pub credentials_from: Option<PathBuf>,
    /// Print the request that would be sent, send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

impl AzureRestoreOpts {
    /// The overrides of what a restore inherits.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            ha: self.ha.map(|h| h.arm().to_owned()),
            zone: self.zone.clone(),
            subnet: self.subnet.clone(),
            private_dns_zone: self.private_dns_zone.clone(),
        }
    }
}

/// Which kind of restore.
#[derive(Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// createMode PointInTimeRestore, in the source's region.
    PointInTime,
    /// createMode GeoRestore, into another region.
    GeoRestore,
}

/// What a run did about the new server.
#[derive(Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Sent the restore and waited for it.
    Created,
    /// Found it being created by an earlier run and waited for it.
    Reattached,
    /// Found it restored already (nothing was sent).
    Existing,
    /// A dry run: the request was printed, not sent.
    Planned,
}

/// A restore to make.
#[derive(Debug, Clone)]
pub struct Spec {
    pub source: ServerRef,
    pub new: ServerRef,
    pub mode: Mode,
    /// The new server's region.
    pub location: String,
    pub point: Point,
    pub overrides: Overrides,
}

/// The request of a restore: its path, body and what the body inherited.
pub struct Request {
    pub path: String,
    pub body: Value,
    pub inherited: Vec<String>,
    /// `pointInTimeUTC` as sent.
    pub point_in_time: String,
}

/// A finished (or planned) restore.
pub struct Done {
    pub action: Action,
    pub server: Option<Value>,
    pub operation_id: Option<String>,
    pub request: Request,
    pub firewall_rules_copied: u64,
    /// From sending the restore (or re-attaching) until the server was ready.
    pub ready_ms: Option<u64>,
}

/// Check a restore before anything is written: the point against now and
/// the source's earliest restore point, geo-redundancy for a geo-restore,
/// and a new server that is not the source. The request to send.
///
/// # Errors
/// 65 for a point outside the window or a source without geo-redundant
/// backups; 64 for a restore in place or a geo-restore that cannot
/// inherit its network.
pub fn plan(spec: &Spec, source: &Value, now: chrono::DateTime<Utc>) -> Result<Request> {
    spec.point.check_bounds(now)?;
    spec.point.check_earliest(source)?;
    if spec.new.id().eq_ignore_ascii_case(&spec.source.id()) {
        return Err(Error::usage(
            "Azure cannot restore a server in place: name a new server (--new-server)",
        ));
    }
    let create_mode = match spec.mode {
        Mode::PointInTime => "PointInTimeRestore",
        Mode::GeoRestore => {
            if !text(source, "/properties/backup/geoRedundantBackup").eq_ignore_ascii_case("enabled") {
                return Err(Error::data(format!(
                    "server {} keeps no geo-redundant backup (geoRedundantBackup is {}; it can only be set when a server is created): a geo-restore is impossible; nothing was sent",
                    spec.source.name,
                    match text(source, "/properties/backup/geoRedundantBackup") {
                        "" => "not set",
                        g => g,
                    }
                )));
            }
            if body::in_vnet(source) && spec.overrides.subnet.is_none() {
                return Err(Error::usage(format!(
                    "server {} is in a virtual network, which stays in its region: a geo-restore needs --subnet and --private-dns-zone in {}",
                    spec.source.name, spec.location
                )));
            }
            "GeoRestore"
        }
    };
    let point_in_time = spec.point.utc(now);
    let b = body::restore(
        create_mode,
        &spec.location,
        source,
        Some(&point_in_time),
        &spec.point.describe(),
        &spec.overrides,
    );
    Ok(Request {
        path: spec.new.path(""),
        body: b.value,
        inherited: b.inherited,
        point_in_time,
    })
}

/// The dry-run record of a request.
pub fn dry(c: &ArmClient, method: Method, path: &str, body: Option<Value>) -> AzureRequest {
    AzureRequest {
        method,
        url: c.url(path),
        body,
    }
}

/// The region a restore goes to: the source's, or for a geo-restore
/// `--location` or the source's pair.
///
/// # Errors
/// 64 when a geo-restore has no region to go to, or the same region.
pub fn location(mode: Mode, source: &Value, asked: Option<&str>) -> Result<String> {
    let here = sw_core::azure::flexible::region(text(source, "/location"));
    if mode == Mode::PointInTime {
        return Ok(here);
    }
    let there = asked
        .map(str::to_owned)
        .or_else(|| paired(&here).map(str::to_owned))
        .ok_or_else(|| Error::usage(format!("no known pair for region {here:?}: pass --location")))?;
    if there == here {
        return Err(Error::usage(format!(
            "a geo-restore goes to another region than the source's ({here})"
        )));
    }
    Ok(there)
}

/// Send the restore (or re-attach to the one an earlier run started) and
/// wait until the new server is ready; `accepted` sees the operation as
/// soon as Azure took it.
///
/// # Errors
/// 73 when the new server exists and is not this restore; the ARM errors
/// of the request and the wait.
pub fn execute(c: &ArmClient, spec: &Spec, request: Request, accepted: &mut dyn FnMut(&Started)) -> Result<Done> {
    let t0 = Instant::now();
    let _lock = c.write_lock(&spec.new.id(), &Env::process())?;
    let (action, server, operation_id) = match c.get_opt(&request.path)? {
        Some(found) => {
            check_ours(spec, &found)?;
            if ServerState::of(&found).is_busy() {
                log::info!("server {} is still being restored; re-attaching", spec.new.name);
                let s = wait_while_busy(c, &request.path, &spec.new.name, found)?;
                (Action::Reattached, s, None)
            } else {
                (Action::Existing, found, None)
            }
        }
        None => {
            let started = ops::start(c, "PUT", &request.path, Some(&request.body))?;
            accepted(&started);
            let s = ops::finish(c, &started)?;
            let s = wait_while_busy(c, &request.path, &spec.new.name, s)?;
            (Action::Created, s, started.operation_id)
        }
    };
    let ready_ms = sw_core::duration::millis(t0.elapsed());
    let copied = copy_firewall(c, &spec.source, &spec.new)?;
    Ok(Done {
        action,
        server: Some(server),
        operation_id,
        request,
        firewall_rules_copied: copied,
        ready_ms: Some(ready_ms),
    })
}

/// A server found under the new name is ours when its tags name the same
/// source (and, for an explicit time, the same point).
fn check_ours(spec: &Spec, found: &Value) -> Result<()> {
    let src = text(found, &format!("/tags/{TAG_SOURCE}"));
    let point = text(found, &format!("/tags/{TAG_POINT}"));
    if !src.eq_ignore_ascii_case(&spec.source.id()) {
        return Err(Error::new(
            Exit::CantCreat,
            format!(
                "server {} exists and is not a restore of {} (pick another --new-server, or delete it)",
                spec.new.name, spec.source.name
            ),
        ));
    }
    if spec.point != Point::Latest && point != spec.point.describe() {
        return Err(Error::new(
            Exit::CantCreat,
            format!(
                "server {} is a restore of {} to {point}, not to {}",
                spec.new.name,
                spec.source.name,
                spec.point.describe()
            ),
        ));
    }
    Ok(())
}

/// Copy the source's firewall rules the new server lacks (a restored
/// server starts with none; a server in a virtual network has none).
fn copy_firewall(c: &ArmClient, source: &ServerRef, new: &ServerRef) -> Result<u64> {
    let have: Vec<String> = c
        .list(&new.path("/firewallRules"))?
        .iter()
        .map(|r| text(r, "/name").to_ascii_lowercase())
        .collect();
    let rules = match c.list(&source.path("/firewallRules")) {
        Ok(r) => r,
        // The source's region may be the one that failed (geo-restore).
        Err(e) => {
            log::warn!(
                "the source's firewall rules cannot be read ({e}); add rules to {} by hand",
                new.name
            );
            return Ok(0);
        }
    };
    let mut n = 0;
    for r in rules {
        let name = text(&r, "/name");
        if name.is_empty() || have.contains(&name.to_ascii_lowercase()) {
            continue;
        }
        let body = json!({"properties": {
            "startIpAddress": text(&r, "/properties/startIpAddress"),
            "endIpAddress": text(&r, "/properties/endIpAddress"),
        }});
        c.mutate("PUT", &new.path(&format!("/firewallRules/{name}")), Some(&body))?;
        n += 1;
    }
    Ok(n)
}

/// A restore's result.
#[derive(Serialize, JsonSchema, Debug)]
pub struct AzureRestore {
    /// Nothing was sent but reads (--dry-run).
    pub dry_run: bool,
    pub mode: Mode,
    /// What this run did about the new server.
    pub action: Action,
    /// The source server's ARM id.
    pub source: String,
    /// The new server's ARM id.
    pub server: String,
    /// The new server's region.
    pub location: String,
    /// `latest`, or the time asked for.
    pub target: String,
    /// The `pointInTimeUTC` sent (for `latest`: the time of the request).
    pub point_in_time: String,
    /// ARM's state of the new server; null in a dry run.
    pub state: Option<String>,
    /// The host name clients connect to; null in a dry run.
    pub fqdn: Option<String>,
    /// The source settings the new server inherited: network, high_availability, data_encryption.
    pub inherited: Vec<String>,
    /// Firewall rules copied from the source.
    pub firewall_rules_copied: u64,
    /// The ARM operation id; null when nothing was sent.
    pub operation_id: Option<String>,
    /// The env file the new server's connection strings went to; null without --env-file.
    pub env_file: Option<String>,
    /// From the request (or re-attaching) until the new server was ready; null in a dry run.
    pub ready_ms: Option<u64>,
    /// The whole run.
    pub duration_ms: u64,
}

impl Record for AzureRestore {
    const KIND: &'static str = "restore.azure";
}

impl AzureRestore {
    /// The record of `done` for `spec`.
    pub fn of(spec: &Spec, done: &Done, env_file: Option<String>, t0: Instant) -> AzureRestore {
        let s = |p: &str| {
            done.server
                .as_ref()
                .map(|v| text(v, p).to_owned())
                .filter(|x| !x.is_empty())
        };
        AzureRestore {
            dry_run: done.action == Action::Planned,
            mode: spec.mode,
            action: done.action,
            source: spec.source.id(),
            server: spec.new.id(),
            location: spec.location.clone(),
            target: spec.point.describe(),
            point_in_time: done.request.point_in_time.clone(),
            state: s("/properties/state"),
            fqdn: s("/properties/fullyQualifiedDomainName"),
            inherited: done.request.inherited.clone(),
            firewall_rules_copied: done.firewall_rules_copied,
            operation_id: done.operation_id.clone(),
            env_file,
            ready_ms: done.ready_ms,
            duration_ms: sw_core::duration::millis(t0.elapsed()),
        }
    }
}
