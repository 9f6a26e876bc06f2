//! Reading `health.report` records (sw-health's, through the shared
//! `sw_core::health` types) into what the rules need: per instance the
//! newest report, its checks, and which checks it speaks for.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use sw_core::Result;
use sw_core::health::{CheckResult, HealthReport, Status};
use sw_core::input::Line;

/// One report, ready for the rules.
pub struct Report {
    /// Its line on stdin.
    pub line: usize,
    /// The target: the alerts' `instance` label.
    pub instance: String,
    /// The target's labels (from sw-health --targets): on its alerts too.
    pub labels: BTreeMap<String, String>,
    pub time: DateTime<Utc>,
    pub checks: Vec<CheckResult>,
    /// Names of the checks it speaks for: present or deliberately skipped.
    /// An alert whose check is not among them keeps its state.
    pub present: BTreeSet<String>,
}

impl Report {
    /// Read one input line.
    ///
    /// # Errors
    /// 65, naming the line, when it is not a `health.report` record.
    pub fn read(line: &Line) -> Result<Report> {
        let r: HealthReport = sw_core::contract::parse(line, "stdin")?;
        if r.target.is_empty() {
            return Err(sw_core::Error::data(format!(
                "stdin:{}: health.report has no \"target\"",
                line.line
            )));
        }
        let mut present: BTreeSet<String> = r.checks.iter().map(|c| c.name.clone()).collect();
        // A report from a server that could not be reached says nothing about its
        // other checks, whatever it lists as skipped: keep their alerts as they are.
        if r.checks.iter().any(unreachable) {
            present.retain(|n| n == "connection");
        } else {
            present.extend(r.skipped.iter().cloned());
        }
        Ok(Report {
            line: line.line,
            instance: r.target,
            labels: r.labels,
            time: r.time.0,
            checks: r.checks,
            present,
        })
    }
}

/// The connection check of a server that could not be reached.
fn unreachable(c: &CheckResult) -> bool {
    c.name == "connection" && c.value.is_none() && c.status != Status::Ok
}

/// The newest report per instance.
///
/// # Errors
/// 65 on the first line that is not a `health.report`.
pub fn newest_per_instance(lines: &[Line]) -> Result<BTreeMap<String, Report>> {
    let mut reports: BTreeMap<String, Report> = BTreeMap::new();
    for line in lines {
        let r = Report::read(line)?;
        match reports.get(&r.instance) {
            Some(prev) if prev.time > r.time => {}
            _ => {
                reports.insert(r.instance.clone(), r);
            }
        }
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    fn line(checks: &serde_json::Value, skipped: &serde_json::Value) -> Line {
        let check = |name: &str, status: &str, value: serde_json::Value| {
            json!({"name": name, "database": null, "status": status, "value": value, "unit": "",
                   "warn": null, "crit": null, "below": false, "message": "", "details": null})
        };
        let checks: Vec<serde_json::Value> = checks
            .as_array()
            .unwrap()
            .iter()
            .map(|c| check(c[0].as_str().unwrap(), c[1].as_str().unwrap(), c[2].clone()))
            .collect();
        Line {
            line: 7,
            value: json!({"kind": "health.report", "schema": 1, "time": "2026-01-01T10:00:00Z",
                          "target": "app@db1:5432/app", "status": "OK", "server_version": null,
                          "role": null, "databases": [], "duration_ms": 1.0, "checks": checks,
                          "skipped": skipped}),
        }
    }

    #[test]
    fn skipped_checks_count_as_present_unless_the_server_is_unreachable() {
        let up = Report::read(&line(&json!([["connection", "OK", 1.0]]), &json!(["deadlocks"]))).unwrap();
        assert_eq!(
            up.present,
            BTreeSet::from(["connection".to_owned(), "deadlocks".to_owned()])
        );
        let down = Report::read(&line(
            &json!([["connection", "CRITICAL", null], ["deadlocks", "UNKNOWN", null]]),
            &json!(["archiver"]),
        ))
        .unwrap();
        assert_eq!(down.present, BTreeSet::from(["connection".to_owned()]));
        assert_eq!(down.instance, "app@db1:5432/app");
    }

    #[test]
    fn a_record_that_is_not_a_report_names_its_line() {
        let mut l = line(&json!([]), &json!([]));
        l.value["checks"] = json!([{"name": "x"}]);
        let e = Report::read(&l).err().unwrap();
        assert_eq!(e.exit(), sw_core::Exit::DataErr);
        assert!(
            e.to_string()
                .starts_with("stdin:7: health.report record does not match"),
            "{e}"
        );
    }
}
