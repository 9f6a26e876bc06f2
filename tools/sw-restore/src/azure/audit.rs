//! The audit log of `activate --azure`: one `restore.azure.audit` line per
//! step (the check of the primary, each request with its ARM operation id,
//! each outcome with its timing, the env file), appended and fsynced before
//! the next step, secrets redacted. Default:
//! `$XDG_STATE_HOME/sw/azure/SERVER/audit.jsonl`. `runbook` reads it back
//! to say which procedures were ever carried out.

use std::io::Write;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sw_core::contract::{Record, Timestamp};
use sw_core::fsutil::q;
use sw_core::{IoContext, Result};

use super::incident::AzureIncident;

/// The step of an activation a line records.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// The activation began.
    Start,
    /// Whether the primary really is down.
    CheckPrimary,
    /// A forced HA failover (restart with failover).
    HaFailover,
    /// A read replica promoted.
    PromoteReplica,
    /// A geo-restore into another region.
    GeoRestore,
    /// A point-in-time restore into a new server.
    PointInTimeRestore,
    /// The env file now points at the new primary.
    EnvFile,
    /// The activation completed.
    Done,
    /// The activation failed (detail: why).
    Failed,
}

/// How a step went.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Azure accepted the request (the operation runs).
    Accepted,
    /// Finished as it should.
    Succeeded,
    /// Failed (detail: why).
    Failed,
    /// Skipped: found already done, or not needed.
    Skipped,
}

/// One line of the Azure audit log (written to the file, not printed).
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone)]
pub struct AzureAuditLine {
    /// When it happened.
    pub time: Timestamp,
    pub incident: AzureIncident,
    /// The step.
    pub operation: Operation,
    pub outcome: Outcome,
    /// The request's method; null for a step that sent none.
    pub method: Option<String>,
    /// The request's URL (no query string); null like method.
    pub url: Option<String>,
    /// The ARM operation id; null when there was none.
    pub operation_id: Option<String>,
    /// How long the step took; null for the start of one.
    pub duration_ms: Option<u64>,
    /// What happened, for people (secrets redacted).
    pub detail: String,
}

impl Record for AzureAuditLine {
    const KIND: &'static str = "restore.azure.audit";
}

/// Append `rec` as one JSON line to `path` (and its directory, created),
/// durably.
///
/// # Errors
/// 66/73/74/77 when the log cannot be created, written or synced.
pub fn append_line<R: Record>(path: &Path, rec: &R) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).io_context(|| format!("creating {}", q(dir)))?;
    }
    let line = sw_core::secret::redact(&sw_core::output::render(rec, false)?);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .io_context(|| format!("opening {}", q(path)))?;
    writeln!(f, "{line}").io_context(|| format!("writing {}", q(path)))?;
    f.sync_all().io_context(|| format!("syncing {}", q(path)))
}

/// The lines of a log of `R` records at `path` (none when it is missing;
/// lines of another kind or that do not parse are skipped with a warning).
pub fn read_lines<R: Record + for<'de> Deserialize<'de>>(path: &Path) -> Vec<R> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .filter_map(|(i, l)| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            if v["kind"] != R::KIND {
                return None;
            }
            serde_json::from_value(v)
                .map_err(|e| log::warn!("{}:{}: not a {} line ({e}); skipped", q(path), i + 1, R::KIND))
                .ok()
        })
        .collect()
}

/// An activation's audit log.
pub struct Audit {
    pub path: Option<std::path::PathBuf>,
    pub incident: AzureIncident,
}

impl Audit {
    /// Append a step (nothing in a dry run, which has no log).
    ///
    /// # Errors
    /// As [`append_line`].
    pub fn log(&self, line: AzureAuditLine) -> Result<()> {
        match &self.path {
            Some(p) => append_line(p, &line),
            None => Ok(()),
        }
    }

    /// A line of this activation.
    pub fn line(&self, operation: Operation, outcome: Outcome, detail: impl Into<String>) -> AzureAuditLine {
        AzureAuditLine {
            time: Timestamp::now(),
            incident: self.incident,
            operation,
            outcome,
            method: None,
            url: None,
            operation_id: None,
            duration_ms: None,
            detail: detail.into(),
        }
    }
}
