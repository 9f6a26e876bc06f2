//! On-demand backups of a Flexible Server (`PUT …/backups/{name}`, no
//! body), the list of every backup, and deleting an on-demand one.

use std::time::Instant;

use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use sw_core::azure::flexible::ops;
use sw_core::azure::flexible::target::AzureOpts;
use sw_core::azure::flexible::text;
use sw_core::config::Env;
use sw_core::contract::{Record, Timestamp};
use sw_core::duration::millis;
use sw_core::output::Output;
use sw_core::{Error, Result};

use super::{Server, time_at};
use crate::full::FullArgs;
use crate::list::ListArgs;

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// Who made a backup.
#[derive(Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Azure's scheduled backups (`source: Automatic`).
    Automatic,
    /// An on-demand backup (`source: Customer Initiated`, made by `full --azure`).
    OnDemand,
}

fn origin(b: &Value) -> Origin {
    let src = text(b, "/properties/source").to_ascii_lowercase();
    let ty = text(b, "/properties/backupType").to_ascii_lowercase();
    if src.contains("customer") || ty.contains("demand") {
        Origin::OnDemand
    } else {
        Origin::Automatic
    }
}

/// One backup of a Flexible Server, with the server's restore window.
#[derive(Serialize, JsonSchema, Debug)]
pub struct AzureBackup {
    /// The server's ARM id.
    pub server: String,
    /// The backup's name.
    pub name: String,
    /// The backup's ARM id.
    pub id: String,
    /// Who made it.
    pub origin: Origin,
    /// Azure's `backupType` as it says it (`Full`, `Customer On-Demand`).
    pub backup_type: String,
    /// Azure's `source` as it says it (`Automatic`, `Customer Initiated`).
    pub source: String,
    /// When the backup completed; null while it runs.
    pub completed_time: Option<Timestamp>,
    /// The server's earliest restore point (`earliestRestoreDate`): a point-in-time restore may target any time from here to now.
    pub earliest_restore_time: Option<Timestamp>,
    /// Backups are also kept in the paired region (geo-restore possible).
    pub geo_redundant_backup: bool,
    /// How long the server keeps backups (backupRetentionDays in milliseconds).
    pub retention_ms: Option<u64>,
}

impl Record for AzureBackup {
    const KIND: &'static str = "backup.azure";
}

/// An on-demand backup taken (or found already taken).
#[derive(Serialize, JsonSchema, Debug)]
pub struct AzureFull {
    /// The server's ARM id.
    pub server: String,
    /// The backup's name (--label, else sw-YYYYMMDDTHHMMSSZ).
    pub name: String,
    /// The backup's ARM id.
    pub id: Option<String>,
    /// False when a backup of that name already existed (nothing was sent).
    pub created: bool,
    /// When Azure says it completed.
    pub completed_time: Option<Timestamp>,
    /// The ARM operation id; null when nothing was sent.
    pub operation_id: Option<String>,
    /// The whole run.
    pub duration_ms: u64,
}

impl Record for AzureFull {
    const KIND: &'static str = "backup.azure.full";
}

/// An on-demand backup deleted.
#[derive(Serialize, JsonSchema, Debug)]
pub struct AzureDelete {
    /// The server's ARM id.
    pub server: String,
    /// The backup's name.
    pub name: String,
    /// False when there was no such backup (nothing was sent).
    pub deleted: bool,
    /// The ARM operation id; null when nothing was sent.
    pub operation_id: Option<String>,
    pub duration_ms: u64,
}

impl Record for AzureDelete {
    const KIND: &'static str = "backup.azure.delete";
}

/// Flags of `sw-backup delete` (Azure on-demand backups).
#[derive(Args, Debug)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub azure: AzureOpts,
    /// The on-demand backup to delete (its name, as `list --azure` prints it).
    #[arg(long, value_name = "NAME")]
    pub backup: String,
    /// Really delete it.
    #[arg(long)]
    pub yes: bool,
}

/// Backup names: `^[-\w\._]+$`, at most 128 characters (the API's rule).
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "backup name {name:?}: 1-128 letters, digits, '-', '_' and '.'"
        )))
    }
}

/// `sw-backup full --azure`: an on-demand backup.
pub fn full(a: &FullArgs, pretty: bool) -> Result<()> {
    let t0 = Instant::now();
    if a.pin {
        return Err(ops::unsupported(
            pretty,
            "sw-backup full",
            "pin",
            "Azure keeps on-demand backups for the server's retention period and cannot exempt one; keep a copy long-term with `sw-backup ltr-start --azure`",
        ));
    }
    let name = a
        .label
        .clone()
        .unwrap_or_else(|| chrono::Utc::now().format("sw-%Y%m%dT%H%M%SZ").to_string());
    check_name(&name)?;
    let s = Server::open(&a.azure)?;
    let path = s.at.path(&format!("/backups/{name}"));
    let _lock = s.client.write_lock(&s.at.id(), &Env::process())?;
    let (backup, created, operation_id) = match s.client.get_opt(&path)? {
        Some(b) => (b, false, None),
        None => {
            let started = ops::start(&s.client, "PUT", &path, None)?;
            log::info!(
                "on-demand backup {name} accepted (operation {:?})",
                started.operation_id
            );
            let b = ops::finish(&s.client, &started)?;
            (b, true, started.operation_id)
        }
    };
    Output::stdout(pretty).emit(&AzureFull {
        server: s.at.id(),
        name,
        id: Some(text(&backup, "/id").to_owned()).filter(|x| !x.is_empty()),
        created,
        completed_time: time_at(&backup, "/properties/completedTime"),
        operation_id,
        duration_ms: millis(t0.elapsed()),
    })
}

/// `sw-backup list --azure`: every backup, oldest first.
pub fn list(a: &ListArgs, pretty: bool) -> Result<()> {
    let s = Server::open(&a.azure)?;
    let mut items = s.client.list(&s.at.path("/backups"))?;
    items.sort_by_key(|b| time_at(b, "/properties/completedTime"));
    let earliest = time_at(&s.resource, "/properties/backup/earliestRestoreDate");
    let geo = text(&s.resource, "/properties/backup/geoRedundantBackup").eq_ignore_ascii_case("enabled");
    let retention = s
        .resource
        .pointer("/properties/backup/backupRetentionDays")
        .and_then(Value::as_u64)
        .and_then(|d| d.checked_mul(DAY_MS));
    let mut out = Output::stdout(pretty);
    for b in &items {
        out.emit(&AzureBackup {
            server: s.at.id(),
            name: text(b, "/name").to_owned(),
            id: text(b, "/id").to_owned(),
            origin: origin(b),
            backup_type: text(b, "/properties/backupType").to_owned(),
            source: text(b, "/properties/source").to_owned(),
            completed_time: time_at(b, "/properties/completedTime"),
            earliest_restore_time: earliest,
            geo_redundant_backup: geo,
            retention_ms: retention,
        })?;
    }
    out.flush()
}

/// `sw-backup delete --azure --backup NAME --yes`.
pub fn delete(a: &DeleteArgs, pretty: bool) -> Result<()> {
    let t0 = Instant::now();
    check_name(&a.backup)?;
    if !a.yes {
        return Err(Error::usage(format!(
            "delete removes the on-demand backup {}; pass --yes",
            a.backup
        )));
    }
    let s = Server::open(&a.azure)?;
    let path = s.at.path(&format!("/backups/{}", a.backup));
    let _lock = s.client.write_lock(&s.at.id(), &Env::process())?;
    let (deleted, operation_id) = match s.client.get_opt(&path)? {
        None => (false, None),
        Some(b) if origin(&b) == Origin::Automatic => {
            return Err(Error::data(format!(
                "{} is an automatic backup: Azure deletes those itself after the retention period; only on-demand backups can be deleted",
                a.backup
            )));
        }
        Some(_) => {
            let started = ops::start(&s.client, "DELETE", &path, None)?;
            ops::finish(&s.client, &started)?;
            (true, started.operation_id)
        }
    };
    Output::stdout(pretty).emit(&AzureDelete {
        server: s.at.id(),
        name: a.backup.clone(),
        deleted,
        operation_id,
        duration_ms: millis(t0.elapsed()),
    })
}

/// `sw-backup delete` without an Azure target.
pub fn delete_local() -> Error {
    Error::usage(
        "sw-backup delete removes Azure on-demand backups (--azure --server ...); local backups are removed by `sw-backup prune`",
    )
}
