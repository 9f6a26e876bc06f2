//! The backup checks of an Azure Flexible Server (`--azure`): the backups
//! Azure holds, how far back a restore reaches against the retention, the
//! newest backup's age (`backup_age`, unless a --backup-repo of the same run
//! measured it), and the server parameters waiting for a restart.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sw_core::azure::flexible::text;
use sw_core::health::Status;

use super::azure::{open, unknown_unless_reported};
use super::{Check, How, Measured, Scope, count};
use crate::azure::fetch::Fetched;
use crate::check::runner::Runner;

pub const BACKUPS: Check = Check {
    name: "azure_backups",
    unit: "count",
    warn: None,
    crit: Some(1.0),
    below: true,
    scope: Scope::Client,
    help: "backups Azure holds of the server (none is CRITICAL) (--azure)",
    how: How::Own,
};

pub const RESTORE_WINDOW: Check = Check {
    name: "azure_restore_window",
    unit: "%",
    warn: Some(90.0),
    crit: Some(50.0),
    below: true,
    scope: Scope::Client,
    help: "earliest restore point vs the retention promised (or the server's age when younger) (--azure)",
    how: How::Own,
};

pub const PENDING_RESTART: Check = Check {
    name: "azure_pending_restart",
    unit: "count",
    warn: Some(0.0),
    crit: None,
    below: false,
    scope: Scope::Client,
    help: "server parameters changed but waiting for a restart to take effect; names in details (--azure)",
    how: How::Own,
};

/// Report the backup checks and the pending restart.
pub fn report(r: &mut Runner<'_>, f: &Fetched) {
    backups(r, f);
    pending_restart(r, f);
    match &f.server {
        Ok(s) => window(r, s, f.now),
        Err(e) => unknown_unless_reported(r, &RESTORE_WINDOW, e),
    }
}

/// `azure_backups`, `azure_restore_window` and `backup_age` (the newest
/// backup; a --backup-repo of the same run wins).
fn backups(r: &mut Runner<'_>, f: &Fetched) {
    let list = match &f.backups {
        Ok(l) => l,
        Err(e) => {
            for c in [&BACKUPS, &super::backup::BACKUP_AGE] {
                unknown_unless_reported(r, c, e);
            }
            return;
        }
    };
    let done: Vec<DateTime<Utc>> = list
        .iter()
        .filter_map(|b| b.pointer("/properties/completedTime").and_then(Value::as_str))
        .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.to_utc())
        .collect();
    if open(r, &BACKUPS) {
        let full = list
            .iter()
            .filter(|b| text(b, "/properties/backupType").eq_ignore_ascii_case("full"))
            .count();
        let msg = format!(
            "{} backups ({full} automatic full, {} completed)",
            list.len(),
            done.len()
        );
        let m = Measured::new(
            Some(count(list.len())),
            msg,
            json!({"full": full, "completed": done.len()}),
        );
        r.push(&BACKUPS, None, m);
    }
    let age = &super::backup::BACKUP_AGE;
    if open(r, age) {
        match done.iter().max() {
            Some(t) => {
                let s = (f.now - *t).num_milliseconds() as f64 / 1000.0;
                let msg = format!("newest Azure backup finished {s:.0} s ago");
                let details = json!({"completed": sw_core::output::rfc3339(*t)});
                r.push(age, None, Measured::new(Some(s.max(0.0)), msg, details));
            }
            None => r.push(
                age,
                None,
                Measured::new(None, "no completed Azure backup", Value::Null).floor(Status::Critical),
            ),
        }
    }
}

/// `azure_pending_restart`: parameters whose new value waits for a restart.
fn pending_restart(r: &mut Runner<'_>, f: &Fetched) {
    if !open(r, &PENDING_RESTART) {
        return;
    }
    match &f.parameters {
        Ok(list) => {
            let names: Vec<&str> = list
                .iter()
                .filter(|p| p.pointer("/properties/isConfigPendingRestart") == Some(&json!(true)))
                .map(|p| text(p, "/name"))
                .collect();
            let msg = if names.is_empty() {
                "no parameter waits for a restart".to_owned()
            } else {
                format!("waiting for a restart: {}", names.join(", "))
            };
            let m = Measured::new(Some(count(names.len())), msg, json!({"parameters": names}));
            r.push(&PENDING_RESTART, None, m);
        }
        Err(e) => r.unknown(&PENDING_RESTART, None, e.clone()),
    }
}

/// `azure_restore_window`: how far back a restore can go, as a share of
/// the retention (or of the server's age, for a younger server).
fn window(r: &mut Runner<'_>, s: &Value, now: DateTime<Utc>) {
    if !open(r, &RESTORE_WINDOW) {
        return;
    }
    let at = |p: &str| {
        DateTime::parse_from_rfc3339(text(s, p))
            .ok()
            .map(|t| (now - t.to_utc()).num_seconds() as f64)
    };
    let days = s
        .pointer("/properties/backup/backupRetentionDays")
        .and_then(Value::as_f64)
        .unwrap_or(7.0);
    let Some(reach) = at("/properties/backup/earliestRestoreDate") else {
        let why = "the server has no earliestRestoreDate".to_owned();
        return r.unknown(&RESTORE_WINDOW, None, why);
    };
    let promise = days * 86_400.0;
    let expected = at("/systemData/createdAt").map_or(promise, |age| age.min(promise));
    let pct = if expected < 3600.0 {
        100.0
    } else {
        (reach.max(0.0) * 100.0 / expected).min(100.0)
    };
    let msg = format!(
        "restores reach back {:.1} days of the {days:.0} days retained ({pct:.0}%)",
        reach / 86_400.0
    );
    let details = json!({"earliest_restore": text(s, "/properties/backup/earliestRestoreDate"),
                         "retention_days": days, "expected_s": expected, "reach_s": reach});
    r.push(&RESTORE_WINDOW, None, Measured::new(Some(pct), msg, details));
}
