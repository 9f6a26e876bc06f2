//! The `health.report` record: written by sw-health, read by sw-alerts (and
//! by anything else downstream), so both sides share these types instead of
//! reading the JSON field by field.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::contract::{Record, Timestamp};

/// A check's verdict, in the monitoring-plugin convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Status {
    /// Severity order for the overall status: OK < WARNING < UNKNOWN < CRITICAL.
    pub fn rank(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Unknown => 2,
            Status::Critical => 3,
        }
    }

    /// The worse of two.
    #[must_use]
    pub fn worst(self, o: Status) -> Status {
        if o.rank() > self.rank() { o } else { self }
    }

    /// Upper-case name, as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }

    /// Monitoring-plugin exit code (0, 1, 2, 3).
    pub fn code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }
}

/// One check's result inside a `health.report`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckResult {
    /// The check's stable name (`connections`, `xid_wraparound`, ...).
    pub name: String,
    /// The database a per-database check ran in; null for cluster-wide checks.
    pub database: Option<String>,
    /// The value judged against warn and crit, or worse where the check says
    /// so (a failing archiver is CRITICAL whatever its count; a check that
    /// could not run is UNKNOWN).
    pub status: Status,
    /// The measured value in `unit`; null when it could not be measured.
    pub value: Option<f64>,
    /// The value's unit: %, s, ms, B (bytes), per_5min, or what is counted
    /// (count, files, xids, rules); empty for the role flag.
    pub unit: String,
    /// Warning threshold; null when none applies.
    pub warn: Option<f64>,
    /// Critical threshold; null when none applies.
    pub crit: Option<f64>,
    /// True when lower values are worse (cache hit ratio, uptime).
    // sw-health before #11 left `below` and `details` out when false or
    // null, in records of this same schema 1: readers take them as absent.
    #[serde(default)]
    pub below: bool,
    /// One line for people.
    pub message: String,
    /// Check-specific detail (blocking pids, per-state counts, ...); null when there is none.
    #[serde(default)]
    pub details: Value,
}

/// The result of one sw-health run against one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HealthReport {
    /// When the run started.
    pub time: Timestamp,
    /// The target: its `instance` name from `--targets`, else the connection
    /// target with its password redacted (the alert instance).
    pub target: String,
    /// The target's labels from `--targets` (env, team, ...); empty otherwise.
    /// sw-alerts copies them onto the target's alerts and the exporter onto its series.
    // Reports from before fleet targets have no labels: read as none.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The worst check status.
    pub status: Status,
    /// The server's version; null when it could not be reached.
    pub server_version: Option<String>,
    /// primary or standby; null when it could not be reached.
    pub role: Option<String>,
    /// The databases checked.
    pub databases: Vec<String>,
    /// How long the run took.
    pub duration_ms: f64,
    /// One result per check (per check and database for the per-database
    /// checks), in catalogue order.
    pub checks: Vec<CheckResult>,
    /// Checks that do not apply to this target (host checks for a remote server, primary-only checks on a standby).
    pub skipped: Vec<String>,
}

impl Record for HealthReport {
    const KIND: &'static str = "health.report";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::KindDoc;

    #[test]
    fn the_report_follows_the_field_rule() {
        let d = KindDoc::of::<HealthReport>();
        assert!(d.rule_violations().is_empty(), "{:?}", d.rule_violations());
    }

    #[test]
    fn a_report_from_before_issue_11_still_reads() {
        // sw-health then left out database, below and details when empty.
        let check: CheckResult = serde_json::from_value(serde_json::json!({
            "name": "connections", "status": "OK", "value": 5.0, "unit": "%",
            "warn": 80.0, "crit": 95.0, "message": "5 % used"
        }))
        .unwrap();
        assert_eq!((check.database, check.below, check.details), (None, false, Value::Null));
    }

    #[test]
    fn worst_orders_unknown_between_warning_and_critical() {
        assert_eq!(Status::Warning.worst(Status::Unknown), Status::Unknown);
        assert_eq!(Status::Critical.worst(Status::Unknown), Status::Critical);
    }
}
