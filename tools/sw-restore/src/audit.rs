//! The activation audit log: every action `activate` takes, one
//! `restore.audit` record per line, appended and fsynced before the next
//! step (default `audit.jsonl` in the repository area). Secrets in the
//! details are redacted.

use std::io::Write;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;
use sw_core::contract::{Record, Timestamp};
use sw_core::fsutil::q;
use sw_core::{IoContext, Result};

use crate::activate::Incident;

/// What was done (or found).
#[derive(Serialize, JsonSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// The activation began.
    Start,
    /// Promoting the standby (--standby-pgdata).
    PromoteStandby,
    /// The standby is a primary now.
    Promoted,
    /// The standby is not a running standby: a backup is restored instead.
    StandbyUnusable,
    /// Restoring the new primary.
    Restore,
    /// The new primary is restored, promoted and running.
    Restored,
    /// DATABASE_URL in --env-file points at the new primary.
    EnvFile,
    /// The activation completed.
    Done,
    /// The activation failed (detail: why).
    Failed,
}

/// One line of the audit log (written to the file, not printed).
#[derive(Serialize, JsonSchema)]
pub struct AuditLine<'a> {
    /// When it happened.
    time: Timestamp,
    incident: Incident,
    action: AuditAction,
    /// It succeeded (false for standby_unusable and failed).
    ok: bool,
    /// What happened, for people (secrets redacted).
    detail: &'a str,
}

impl Record for AuditLine<'_> {
    const KIND: &'static str = "restore.audit";
}

/// An activation's audit log.
pub struct Audit {
    pub path: PathBuf,
    pub incident: Incident,
}

impl Audit {
    /// Append one action, durably.
    ///
    /// # Errors
    /// 66/74/77 when the log cannot be opened, written or synced.
    pub fn log(&self, action: AuditAction, ok: bool, detail: &str) -> Result<()> {
        let detail = sw_core::secret::redact(detail);
        let line = sw_core::output::render(
            &AuditLine {
                time: Timestamp::now(),
                incident: self.incident,
                action,
                ok,
                detail: &detail,
            },
            false,
        )?;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .io_context(|| format!("opening the audit log {}", q(&self.path)))?;
        writeln!(f, "{line}").io_context(|| format!("writing {}", q(&self.path)))?;
        f.sync_all().io_context(|| format!("syncing {}", q(&self.path)))
    }
}
