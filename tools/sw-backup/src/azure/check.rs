//! `sw-backup check --azure`: can this Flexible Server be restored as
//! promised? The newest backup's age (--backup-warn, --backup-crit), the
//! restore window (now back to `earliestRestoreDate`) against the
//! retention the server promises, and whether backups are geo-redundant
//! (without, a region failure has only a cross-region replica to turn
//! to). Monitoring exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
//! when Azure cannot be asked.

use chrono::Utc;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use sw_core::azure::flexible::text;
use sw_core::contract::Record;
use sw_core::output::Output;
use sw_core::{Error, Exit, Result};

use super::{Server, time_at};
use crate::check::CheckArgs;

/// An item's verdict.
#[derive(Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    Warning,
    Unknown,
    Critical,
}

impl Verdict {
    fn exit(self) -> Exit {
        match self {
            Verdict::Ok => Exit::Ok,
            Verdict::Warning => Exit::Warning,
            Verdict::Unknown => Exit::Unknown,
            Verdict::Critical => Exit::Critical,
        }
    }
}

/// What an item checks.
#[derive(Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AzureCheckName {
    /// Azure could be asked about the server (printed only when it could not: UNKNOWN).
    Server,
    /// The newest completed backup's age.
    NewestBackup,
    /// The restore window (now back to the earliest restore point) against the retention period.
    RestoreWindow,
    /// Backups are also kept in the paired region.
    GeoRedundantBackup,
}

/// One item of `check --azure`.
#[derive(Serialize, JsonSchema)]
pub struct AzureCheckItem {
    /// What was checked.
    pub check: AzureCheckName,
    /// The item's verdict.
    pub status: Verdict,
    /// What was found, for people.
    pub detail: String,
}

impl Record for AzureCheckItem {
    const KIND: &'static str = "backup.azure.check";
}

/// The verdict of `check --azure` (the worst item's), printed last.
#[derive(Serialize, JsonSchema)]
pub struct AzureCheckSummary {
    /// The server's ARM id.
    pub server: String,
    /// The worst item's verdict (the exit code says the same: 0-3).
    pub status: Verdict,
}

impl Record for AzureCheckSummary {
    const KIND: &'static str = "backup.azure.check.summary";
}

const HOUR: f64 = 3600.0;

/// `sw-backup check --azure`.
pub fn run(a: &CheckArgs, pretty: bool) -> Result<()> {
    let mut out = Output::stdout(pretty);
    let got = Server::open(&a.azure).and_then(|s| {
        let b = s.client.list(&s.at.path("/backups"))?;
        Ok((s, b))
    });
    let (s, backups) = match got {
        Ok(v) => v,
        Err(e) => {
            out.emit(&AzureCheckItem {
                check: AzureCheckName::Server,
                status: Verdict::Unknown,
                detail: e.to_string(),
            })?;
            return Err(e.with_exit(Exit::Unknown));
        }
    };
    let items = [newest(a, &backups), window(&s.resource), geo(&s.resource)];
    let mut worst = Verdict::Ok;
    for (check, status, detail) in items {
        worst = worst.max(status);
        out.emit(&AzureCheckItem { check, status, detail })?;
    }
    out.emit(&AzureCheckSummary {
        server: s.at.id(),
        status: worst,
    })?;
    if worst == Verdict::Ok {
        Ok(())
    } else {
        Err(Error::new(
            worst.exit(),
            format!("backup check of {}: {worst:?}", s.at.name),
        ))
    }
}

fn newest(a: &CheckArgs, backups: &[Value]) -> (AzureCheckName, Verdict, String) {
    let newest = backups
        .iter()
        .filter_map(|b| time_at(b, "/properties/completedTime").map(|t| (t, text(b, "/name").to_owned())))
        .max();
    let Some((t, name)) = newest else {
        return (
            AzureCheckName::NewestBackup,
            Verdict::Critical,
            "no completed backup".into(),
        );
    };
    let age = (Utc::now() - t.0).to_std().unwrap_or_default();
    let status = if age > a.backup_crit {
        Verdict::Critical
    } else if age > a.backup_warn {
        Verdict::Warning
    } else {
        Verdict::Ok
    };
    (
        AzureCheckName::NewestBackup,
        status,
        format!("{name} completed {t} ({:.1}h ago)", age.as_secs_f64() / HOUR),
    )
}

fn window(server: &Value) -> (AzureCheckName, Verdict, String) {
    let days = server
        .pointer("/properties/backup/backupRetentionDays")
        .and_then(Value::as_u64)
        .unwrap_or(7);
    let Some(earliest) = time_at(server, "/properties/backup/earliestRestoreDate") else {
        return (
            AzureCheckName::RestoreWindow,
            Verdict::Critical,
            "the server reports no earliest restore point: nothing can be restored".into(),
        );
    };
    let have = (Utc::now() - earliest.0).num_seconds() as f64 / (24.0 * HOUR);
    // A server younger than its retention cannot have the whole window yet.
    let age_days = time_at(server, "/systemData/createdAt").map_or(f64::INFINITY, |c| {
        (Utc::now() - c.0).num_seconds() as f64 / (24.0 * HOUR)
    });
    let promised = (days as f64).min(age_days);
    let status = if have + 1.0 < promised {
        Verdict::Warning
    } else {
        Verdict::Ok
    };
    (
        AzureCheckName::RestoreWindow,
        status,
        format!("restorable back to {earliest} ({have:.1} days; retention {days} days)"),
    )
}

fn geo(server: &Value) -> (AzureCheckName, Verdict, String) {
    let geo = text(server, "/properties/backup/geoRedundantBackup");
    if geo.eq_ignore_ascii_case("enabled") {
        (
            AzureCheckName::GeoRedundantBackup,
            Verdict::Ok,
            "enabled: a geo-restore into the paired region is possible".into(),
        )
    } else {
        (
            AzureCheckName::GeoRedundantBackup,
            Verdict::Warning,
            format!(
                "{}: a region failure can only be met by a cross-region replica (geo-redundancy is set when a server is created)",
                if geo.is_empty() { "not reported" } else { geo }
            ),
        )
    }
}
