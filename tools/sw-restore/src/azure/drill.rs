//! `sw-restore drill --azure`: prove the Flexible Server's backups
//! restore. A point-in-time restore (latest, or --target-time) into a
//! scratch server, then, over TLS with verify-full and the credentials of
//! `--credentials-from`, the same checks as a local drill (amcheck where
//! the extension is allow-listed, row counts against --expect-rows, the
//! --sql file, --save-rows). The scratch server is deleted in every
//! outcome, a SIGTERM or SIGINT included (`scratch`), unless --keep. The
//! measured RTO (restore request to first successful query) and RPO go to
//! the drill log (`restore.azure.drill` lines, fsynced), which `runbook`
//! reads.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Args;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sw_core::azure::flexible::envfile::credentials;
use sw_core::azure::flexible::text;
use sw_core::contract::{Record, Timestamp};
use sw_core::duration::millis;
use sw_core::output::Output;
use sw_core::target::Target;
use sw_core::{Error, Exit, Result};

use super::point::Point;
use super::remote::Remote;
use super::restore::{self, Mode, Request, Spec};
use super::scratch::{self, Ended, Fate};
use super::{Ctx, audit, state_file};
use crate::drill::DrillArgs;
use crate::drill::checks::{self, RowExpectation, Sql};
use crate::drill::record::DrillRecord;

/// The Azure flags of `sw-restore drill`.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Azure drill")]
pub struct AzureDrillOpts {
    /// Env file whose DATABASE_URL holds the credentials the checks connect with (the source's administrator; the scratch server keeps its password). SW_AZURE_HOST_OVERRIDE=PATTERN=ADDR:PORT sends the connection elsewhere, the certificate still checked against the host name.
    #[arg(long, value_name = "FILE")]
    pub credentials_from: Option<PathBuf>,
    /// The drill log, a local file (JSON Lines; default: drills.jsonl in a directory repository's area, none for an azure:// repository, $XDG_STATE_HOME/sw/azure/SERVER/drills.jsonl for a Flexible Server).
    #[arg(long, value_name = "FILE")]
    pub drill_log: Option<PathBuf>,
    /// Name of the scratch server (default SERVER-drill-YYYYMMDDHHMMSS).
    #[arg(long, value_name = "NAME")]
    pub scratch_server: Option<String>,
    /// How long to wait for the scratch server to answer once Azure says it is ready.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = sw_core::duration::parse)]
    pub connect_timeout_after_ready: Duration,
}

/// One Azure restore drill.
#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone)]
pub struct AzureDrill {
    /// When the drill started.
    pub time: Timestamp,
    /// The drill passed: restored, answered, every check held.
    pub ok: bool,
    /// The source server's ARM id.
    pub source: String,
    /// The scratch server's name.
    pub scratch_server: String,
    /// `latest`, or the --target-time asked for.
    pub target: String,
    /// The `pointInTimeUTC` sent.
    pub point_in_time: Option<String>,
    /// The measured RTO: from the restore request until the scratch server answered a query; null when it never did.
    pub rto_ms: Option<u64>,
    /// From the restore request until Azure said the scratch server was ready.
    pub restore_ms: Option<u64>,
    /// The measured RPO: from the restore request back to the last transaction the scratch server replayed (pg_last_xact_replay_timestamp); null when the server does not say.
    pub rpo_ms: Option<u64>,
    /// Databases in the copy; null when it was not checked.
    pub databases: Option<u64>,
    /// B-tree indexes amcheck verified; null without amcheck.
    pub indexes_checked: Option<u64>,
    /// Tables whose row counts were checked against --expect-rows; null without it.
    pub tables_checked: Option<u64>,
    /// amcheck was allow-listed (and used).
    pub amcheck: bool,
    /// The --sql file run against the copy; null without one.
    pub sql_file: Option<String>,
    /// What became of the scratch server.
    pub scratch: Fate,
    /// The restore's ARM operation id; null when it was never sent.
    pub operation_id: Option<String>,
    /// The whole drill.
    pub duration_ms: u64,
    /// Why the drill failed (or the scratch server could not be deleted); null when it passed.
    pub error: Option<String>,
}

impl Record for AzureDrill {
    const KIND: &'static str = "restore.azure.drill";
}

/// What the work thread found out, shared so a signal still records it.
#[derive(Default)]
struct Seen {
    operation_id: Option<String>,
    restore_ms: Option<u64>,
    rto_ms: Option<u64>,
    rpo_ms: Option<u64>,
    checks: Option<DrillRecord>,
}

/// The scratch server's default name: SOURCE-drill-YYYYMMDDHHMMSS (63 at most).
fn scratch_name(source: &str) -> String {
    let suffix = Utc::now().format("-drill-%Y%m%d%H%M%S").to_string();
    let keep = 63 - suffix.len();
    format!(
        "{}{suffix}",
        source.chars().take(keep).collect::<String>().trim_end_matches('-')
    )
}

/// `sw-restore drill --azure`.
pub fn run(a: &DrillArgs, pretty: bool) -> Result<()> {
    let t0 = Instant::now();
    let started_at = Utc::now();
    let o = &a.azure_drill;
    let from = o.credentials_from.as_deref().ok_or_else(|| {
        Error::usage("drill --azure needs --credentials-from FILE (the env file with the application's DATABASE_URL)")
    })?;
    let creds = credentials(from)?;
    let expect = match &a.expect_rows {
        Some(p) => checks::read_expectations(p)?,
        None => Vec::new(),
    };
    let point = Point::parse(a.target_time.as_deref())?;
    point.check_bounds(started_at)?;
    let ctx = Ctx::open(&a.azure)?;
    let name = o.scratch_server.clone().unwrap_or_else(|| scratch_name(&ctx.at.name));
    let spec = Spec {
        source: ctx.at.clone(),
        new: ctx.at.resolve(&name)?,
        mode: Mode::PointInTime,
        location: sw_core::azure::flexible::region(text(&ctx.resource, "/location")),
        point,
        overrides: restore::AzureRestoreOpts::default().overrides(),
    };
    let request = restore::plan(&spec, &ctx.resource, started_at)?;
    let log = o
        .drill_log
        .clone()
        .unwrap_or_else(|| state_file(&ctx.at, "drills.jsonl"));
    let mut rec = AzureDrill {
        time: started_at.into(),
        ok: false,
        source: ctx.at.id(),
        scratch_server: name,
        target: point.describe(),
        point_in_time: Some(request.point_in_time.clone()),
        rto_ms: None,
        restore_ms: None,
        rpo_ms: None,
        databases: None,
        indexes_checked: None,
        tables_checked: None,
        amcheck: false,
        sql_file: a.sql.as_ref().map(|p| p.display().to_string()),
        scratch: Fate::Deleted,
        operation_id: None,
        duration_ms: 0,
        error: None,
    };
    let seen = Arc::new(Mutex::new(Seen::default()));
    let work = {
        let (a, spec, seen) = (a.clone(), spec.clone(), Arc::clone(&seen));
        move || drill(&a, &spec, request, &creds, &expect, &seen)
    };
    let ended = scratch::run_interruptible(work)?;
    let result = match ended {
        Ended::Done(r) => r,
        Ended::Interrupted(sig) => Err(Error::temp(format!("interrupted ({sig})"))),
    };
    finish(a, &spec, &seen, &mut rec, result.as_ref().err(), t0);
    audit::append_line(&log, &rec)?;
    Output::stdout(pretty).emit(&rec)?;
    match (result, rec.scratch) {
        (Err(e), _) => Err(e.context("the Azure restore drill failed")),
        (Ok(()), Fate::DeleteFailed) => Err(Error::unavailable(format!(
            "the drill passed but the scratch server {} could not be deleted: {}",
            rec.scratch_server,
            rec.error.clone().unwrap_or_default()
        ))),
        (Ok(()), _) => Ok(()),
    }
}

/// Fill in the record from what the work saw, and delete the scratch server.
fn finish(a: &DrillArgs, spec: &Spec, seen: &Mutex<Seen>, rec: &mut AzureDrill, err: Option<&Error>, t0: Instant) {
    if let Ok(s) = seen.lock() {
        rec.operation_id.clone_from(&s.operation_id);
        rec.restore_ms = s.restore_ms;
        rec.rto_ms = s.rto_ms;
        rec.rpo_ms = s.rpo_ms;
        if let Some(c) = &s.checks {
            rec.databases = c.databases;
            rec.indexes_checked = c.indexes_checked;
            rec.tables_checked = c.tables_checked;
            rec.amcheck = c.amcheck;
        }
    }
    rec.error = err.map(ToString::to_string);
    rec.ok = err.is_none();
    if a.keep {
        rec.scratch = Fate::Kept;
    } else {
        let interrupted = err.is_some_and(|e| e.exit() == Exit::TempFail && e.message().starts_with("interrupted"));
        let (fate, why) = match a.azure.client() {
            Ok(mut c) => scratch::delete(&mut c, &spec.new, interrupted.then_some(Duration::from_secs(60))),
            Err(e) => (Fate::DeleteFailed, Some(e.to_string())),
        };
        rec.scratch = fate;
        if let Some(w) = why {
            log::error!("the scratch server {} could not be deleted: {w}", spec.new.name);
            rec.error = Some(match rec.error.take() {
                Some(e) => format!("{e}; and deleting the scratch server failed: {w}"),
                None => format!("deleting the scratch server failed: {w}"),
            });
        }
    }
    rec.duration_ms = millis(t0.elapsed());
}

/// The drill's work: restore, connect, check.
fn drill(
    a: &DrillArgs,
    spec: &Spec,
    request: Request,
    creds: &Target,
    expect: &[RowExpectation],
    seen: &Mutex<Seen>,
) -> Result<()> {
    let c = a.azure.client()?;
    let t_req = Instant::now();
    let requested = Utc::now();
    let done = restore::execute(&c, spec, request, &mut |s| {
        if let Ok(mut v) = seen.lock() {
            v.operation_id.clone_from(&s.operation_id);
        }
    })?;
    let server = done.server.unwrap_or_default();
    if let Ok(mut v) = seen.lock() {
        v.restore_ms = Some(millis(t_req.elapsed()));
    }
    let fqdn = text(&server, "/properties/fullyQualifiedDomainName");
    let remote = Remote::new(creds, fqdn)?;
    let first = remote.wait_queryable(a.azure_drill.connect_timeout_after_ready)?;
    let rpo = rpo_ms(&remote, &creds.dbname, requested);
    if let Ok(mut v) = seen.lock() {
        v.rto_ms = Some(millis(first - t_req));
        v.rpo_ms = rpo;
    }
    let mut local = blank_record();
    let r = checks::run(a, &remote, expect, &mut local);
    if let Ok(mut v) = seen.lock() {
        v.checks = Some(local);
    }
    r
}

/// How far before the request the scratch server's last replayed
/// transaction lies; None when the server does not say.
fn rpo_ms(remote: &Remote, db: &str, requested: chrono::DateTime<Utc>) -> Option<u64> {
    let t = remote
        .query(db, "SELECT coalesce(to_char(pg_last_xact_replay_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), '')")
        .ok()?;
    let t = chrono::DateTime::parse_from_rfc3339(&t).ok()?.with_timezone(&Utc);
    u64::try_from((requested - t).num_milliseconds().max(0)).ok()
}

/// A local drill record for the shared checks to fill in.
fn blank_record() -> DrillRecord {
    DrillRecord {
        time: Timestamp::now(),
        ok: false,
        backup: None,
        target: String::new(),
        rto_ms: None,
        rpo_ms: None,
        reached_lsn: None,
        reached_time: None,
        databases: None,
        indexes_checked: None,
        tables_checked: None,
        amcheck: false,
        sql_file: None,
        duration_ms: 0,
        error: None,
        pgdata: String::new(),
        kept: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_names_fit_the_rules() {
        let n = scratch_name(&"a".repeat(63));
        assert!(n.len() <= 63, "{n}");
        assert!(sw_core::azure::flexible::parse_server_name(&n).is_ok(), "{n}");
        assert!(scratch_name("orders-db").starts_with("orders-db-drill-"));
    }
}
