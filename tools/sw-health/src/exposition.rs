//! Health reports in Prometheus's exposition formats: the text format
//! (0.0.4, what the node_exporter textfile collector reads, and
//! `--format prometheus`) and OpenMetrics (what `sw-health serve` answers a
//! scraper that asks for it). The names, labels and units are
//! [`sw_core::metrics`]'s, which `sw-alerts prometheus-rules` queries.
//!
//! Every target's series carry `instance` (the report's target) and the
//! target's own labels; check series add `check` and, for per-database
//! checks, `database`. A check's value goes into the family of its unit,
//! in base units; a check without a value has only its status.

use std::fmt::Write;

use sw_core::health::{CheckResult, HealthReport};
use sw_core::metrics::{self, Family, escape, family_of, number};

use crate::checks::server::CONNECTION;

/// Which exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Prometheus text format 0.0.4.
    Text,
    /// OpenMetrics 1.0.0 text.
    OpenMetrics,
}

impl Flavour {
    /// The Content-Type of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Flavour::Text => "text/plain; version=0.0.4; charset=utf-8",
            Flavour::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Whether the report says the target was reached.
pub fn up(r: &HealthReport) -> bool {
    let sql = r.checks.iter().find(|c| c.name == CONNECTION.name);
    match sql {
        Some(c) => c.value.is_some(),
        // An Azure-only target (`--azure` without --db): the Resource Manager answered for the server.
        None => r
            .checks
            .iter()
            .any(|c| c.name == crate::checks::azure::STATE.name && c.status != sw_core::health::Status::Unknown),
    }
}

/// `{instance="...",env="..."}` without the braces: a target's labels.
fn target_labels(r: &HealthReport) -> String {
    let mut s = format!("{}=\"{}\"", metrics::INSTANCE, escape(&r.target));
    for (k, v) in &r.labels {
        let _ = write!(s, ",{k}=\"{}\"", escape(v));
    }
    s
}

fn check_labels(r: &HealthReport, c: &CheckResult) -> String {
    let mut s = format!("{},{}=\"{}\"", target_labels(r), metrics::CHECK, escape(&c.name));
    if let Some(db) = &c.database {
        let _ = write!(s, ",{}=\"{}\"", metrics::DATABASE, escape(db));
    }
    s
}

fn family(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}");
    let _ = writeln!(o, "# TYPE {name} {kind}");
}

/// The per-target families: up, worst status, run duration, run time.
fn targets(o: &mut String, reports: &[HealthReport]) {
    type Value = fn(&HealthReport) -> f64;
    let rows: [(&str, &str, Value); 4] = [
        (
            metrics::UP,
            "Whether sw-health reached the target (1) or not (0).",
            |r| if up(r) { 1.0 } else { 0.0 },
        ),
        (
            metrics::STATUS,
            "Worst check status of the target: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
            |r| f64::from(r.status.code()),
        ),
        (
            metrics::RUN_DURATION,
            "How long the target's last check run took.",
            |r| r.duration_ms / 1000.0,
        ),
        (
            metrics::LAST_RUN,
            "When the target's last check run started (Unix time).",
            // Milliseconds since 1970 stay far below 2^53: exact in f64.
            |r| r.time.0.timestamp_millis() as f64 / 1000.0,
        ),
    ];
    for (name, help, value) in rows {
        family(o, name, "gauge", help);
        for r in reports {
            let _ = writeln!(o, "{name}{{{}}} {}", target_labels(r), number(value(r)));
        }
    }
}

/// The exposition of `reports`; `runs` is the exporter's count of check
/// runs (`sw_health_runs_total`), when there is one.
pub fn render(reports: &[HealthReport], flavour: Flavour, runs: Option<u64>) -> String {
    let mut o = String::new();
    targets(&mut o, reports);
    family(
        &mut o,
        metrics::CHECK_STATUS,
        "gauge",
        "Check status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
    );
    for r in reports {
        for c in &r.checks {
            let _ = writeln!(
                o,
                "{}{{{}}} {}",
                metrics::CHECK_STATUS,
                check_labels(r, c),
                c.status.code()
            );
        }
    }
    for f in Family::ALL {
        let samples: Vec<String> = reports
            .iter()
            .flat_map(|r| r.checks.iter().map(move |c| (r, c)))
            .filter_map(|(r, c)| {
                let (fam, div) = family_of(&c.unit);
                let v = c.value.filter(|_| fam == f)?;
                Some(format!("{}{{{}}} {}", f.name(), check_labels(r, c), number(v / div)))
            })
            .collect();
        if samples.is_empty() {
            continue;
        }
        family(&mut o, f.name(), "gauge", f.help());
        for s in samples {
            let _ = writeln!(o, "{s}");
        }
    }
    if let Some(n) = runs {
        let help = "Check runs this exporter started (scrapes inside --min-interval share one).";
        let base = metrics::RUNS.trim_end_matches("_total");
        // OpenMetrics names a counter's family without `_total`.
        let name = if flavour == Flavour::OpenMetrics {
            base
        } else {
            metrics::RUNS
        };
        family(&mut o, name, "counter", help);
        let _ = writeln!(o, "{} {}", metrics::RUNS, number(n as f64));
    }
    if flavour == Flavour::OpenMetrics {
        o.push_str("# EOF\n");
    }
    o
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use sw_core::health::Status;

    use super::*;

    fn check(name: &str, db: Option<&str>, value: Option<f64>, unit: &str) -> CheckResult {
        CheckResult {
            name: name.to_owned(),
            database: db.map(str::to_owned),
            status: Status::Warning,
            value,
            unit: unit.to_owned(),
            warn: None,
            crit: None,
            below: false,
            message: String::new(),
            details: serde_json::Value::Null,
        }
    }

    fn report(target: &str, checks: Vec<CheckResult>) -> HealthReport {
        HealthReport {
            time: sw_core::contract::Timestamp(chrono::DateTime::from_timestamp(1_700_000_000, 500_000_000).unwrap()),
            target: target.into(),
            labels: BTreeMap::from([("env".to_owned(), "prod".to_owned())]),
            status: Status::Warning,
            server_version: None,
            role: None,
            databases: vec![],
            duration_ms: 1500.0,
            checks,
            skipped: vec![],
        }
    }

    #[test]
    fn values_go_to_their_base_unit_family_with_the_targets_labels() {
        let r = report(
            "u@h:5432/d\"x",
            vec![
                check("connection", None, Some(12.5), "ms"),
                check("connections", None, Some(80.0), "%"),
                check("database_size", Some("app"), Some(8192.0), "B"),
                check("deadlocks", None, Some(6.0), "per_5min"),
                check("xid_wraparound", None, Some(1e9), "xids"),
                check("archiver", None, None, "files"),
            ],
        );
        let out = render(&[r], Flavour::Text, None);
        let inst = r#"instance="u@h:5432/d\"x",env="prod""#;
        for line in [
            format!("sw_health_up{{{inst}}} 1"),
            format!("sw_health_run_duration_seconds{{{inst}}} 1.5"),
            format!("sw_health_last_run_timestamp_seconds{{{inst}}} 1700000000.5"),
            format!("sw_health_check_seconds{{{inst},check=\"connection\"}} 0.0125"),
            format!("sw_health_check_ratio{{{inst},check=\"connections\"}} 0.8"),
            format!("sw_health_check_bytes{{{inst},check=\"database_size\",database=\"app\"}} 8192"),
            format!("sw_health_check_per_second{{{inst},check=\"deadlocks\"}} 0.02"),
            format!("sw_health_check_value{{{inst},check=\"xid_wraparound\"}} 1000000000"),
            format!("sw_health_check_status{{{inst},check=\"archiver\"}} 1"),
        ] {
            assert!(out.lines().any(|l| l == line), "missing {line}\n{out}");
        }
        // No value, no value series; no sample, no family.
        assert!(
            !out.contains("check=\"archiver\"} 0") && !out.contains("sw_health_check_value{{{inst},check=\"archiver\"")
        );
        assert_eq!(out.matches("# TYPE sw_health_check_ratio gauge").count(), 1);
        assert!(!out.contains("# EOF"));
    }

    #[test]
    fn openmetrics_ends_with_eof_and_names_counters_without_total() {
        let r = report("db1", vec![check("connection", None, None, "ms")]);
        let out = render(&[r], Flavour::OpenMetrics, Some(3));
        assert!(out.contains("sw_health_up{instance=\"db1\",env=\"prod\"} 0\n"), "{out}");
        assert!(
            out.contains("# TYPE sw_health_runs counter\nsw_health_runs_total 3\n"),
            "{out}"
        );
        assert!(out.ends_with("# EOF\n"), "{out}");
        let text = render(&[report("db1", vec![])], Flavour::Text, Some(3));
        assert!(
            text.contains("# TYPE sw_health_runs_total counter\nsw_health_runs_total 3\n"),
            "{text}"
        );
    }
}
