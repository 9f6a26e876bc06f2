//! The monitoring-plugin rendering of reports (one target, or a fleet
//! from `--targets`: every line names its instance), and the one-line
//! summary of what is not OK (the stderr line and the plugin status text).
//! The Prometheus formats are in `exposition.rs`.

use std::fmt::Write;

use sw_core::health::{CheckResult, HealthReport as Report, Status};

/// Numbers in C-locale notation, never in exponent form.
#[allow(
    clippy::cast_possible_truncation,
    reason = "only an integral value below 1e15 in magnitude is cast, which i64 holds exactly"
)]
fn n(v: f64) -> String {
    let r = (v * 1000.0).round() / 1000.0;
    if r == r.trunc() && r.abs() < 1e15 {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

fn label(c: &CheckResult) -> String {
    match &c.database {
        Some(db) => format!("{}:{db}", c.name),
        None => c.name.clone(),
    }
}

/// A one-line summary of what is not OK.
pub fn summary(r: &Report) -> String {
    let bad: Vec<String> = r
        .checks
        .iter()
        .filter(|c| c.status != Status::Ok)
        .map(|c| format!("{} {}: {}", label(c), c.status.as_str(), c.message))
        .collect();
    if bad.is_empty() {
        format!("{} checks OK", r.checks.len())
    } else {
        bad.join("; ")
    }
}

fn uom(unit: &str) -> &'static str {
    match unit {
        "ms" => "ms",
        "s" => "s",
        "%" => "%",
        "B" => "B",
        _ => "",
    }
}

/// One line of plugin output: no `|` (it starts perfdata) and no line breaks.
pub(crate) fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '|' => '/',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

fn perf_label(s: &str) -> String {
    let s = &one_line(s);
    if s.contains([' ', '=', '\'']) {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        s.to_owned()
    }
}

fn perf_threshold(t: Option<f64>, below: bool) -> String {
    match t {
        None => String::new(),
        Some(t) if below => format!("{}:", n(t)),
        Some(t) => n(t),
    }
}

/// The perfdata of one report's checks with a value; labels start with
/// `prefix` (the instance, in a fleet).
fn perfdata(r: &Report, prefix: &str) -> Vec<String> {
    let mut perf = Vec::new();
    for c in &r.checks {
        let Some(v) = c.value else { continue };
        let (min, max) = match c.unit.as_str() {
            "%" => ("0", "100"),
            "B" | "s" | "ms" => ("0", ""),
            _ => ("", ""),
        };
        let p = format!(
            "{}={}{};{};{};{};{}",
            perf_label(&format!("{prefix}{}", label(c))),
            n(v),
            uom(&c.unit),
            perf_threshold(c.warn, c.below),
            perf_threshold(c.crit, c.below),
            min,
            max,
        );
        perf.push(p.trim_end_matches(';').to_owned());
    }
    perf
}

/// `SW-HEALTH STATUS: text[ | perfdata]`.
fn status_line(status: Status, text: &str, perf: &[String]) -> String {
    let text = one_line(text);
    if perf.is_empty() {
        format!("SW-HEALTH {}: {text}\n", status.as_str())
    } else {
        format!("SW-HEALTH {}: {text} | {}\n", status.as_str(), perf.join(" "))
    }
}

/// The long text: one line per check, starting with `prefix`.
fn long_text(out: &mut String, r: &Report, prefix: &str) {
    for c in &r.checks {
        let _ = writeln!(
            out,
            "{}{} {}: {}",
            one_line(prefix),
            one_line(&label(c)),
            c.status.as_str(),
            one_line(&c.message)
        );
    }
}

/// Monitoring plugin API: `SW-HEALTH STATUS: text | perfdata`, then one
/// line per check (long text).
pub fn nagios(r: &Report) -> String {
    let mut out = status_line(r.status, &summary(r), &perfdata(r, ""));
    long_text(&mut out, r, "");
    out
}

/// The plugin output of a fleet (`--targets`): one status line for all
/// (the worst status; the targets that are not OK, each named), perfdata
/// and long text with each target's instance in front.
pub fn nagios_fleet(reports: &[Report]) -> String {
    let worst = reports.iter().fold(Status::Ok, |a, r| a.worst(r.status));
    let bad: Vec<String> = reports
        .iter()
        .filter(|r| r.status != Status::Ok)
        .map(|r| format!("{}: {}", r.target, summary(r)))
        .collect();
    let mut text = format!("{} targets, {} not OK", reports.len(), bad.len());
    if !bad.is_empty() {
        text = format!("{text}: {}", bad.join("; "));
    }
    let perf: Vec<String> = reports
        .iter()
        .flat_map(|r| perfdata(r, &format!("{}/", r.target)))
        .collect();
    let mut out = status_line(worst, &text, &perf);
    for r in reports {
        long_text(&mut out, r, &format!("{} ", r.target));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, db: Option<&str>, value: f64, unit: &str, below: bool) -> CheckResult {
        CheckResult {
            name: name.to_owned(),
            database: db.map(str::to_owned),
            status: Status::Warning,
            value: Some(value),
            unit: unit.to_owned(),
            warn: Some(98.0),
            crit: Some(90.5),
            below,
            message: "a | b".into(),
            details: serde_json::Value::Null,
        }
    }

    fn report(checks: Vec<CheckResult>) -> Report {
        Report {
            time: sw_core::contract::Timestamp::now(),
            target: "u@h:5432/d\"x".into(),
            labels: std::collections::BTreeMap::new(),
            status: Status::Warning,
            server_version: None,
            role: None,
            databases: vec![],
            duration_ms: 1.5,
            checks,
            skipped: vec![],
        }
    }

    #[test]
    fn nagios_perfdata_quotes_labels_and_writes_ranges() {
        let r = report(vec![
            result("cache_hit", None, 95.25, "%", true),
            result("dead_tuples", Some("my db"), 1e16, "count", false),
        ]);
        let out = nagios(&r);
        let first = out.lines().next().unwrap();
        assert!(first.starts_with("SW-HEALTH WARNING: "), "{first}");
        let (text, perf) = first.split_once(" | ").unwrap();
        assert!(!text.contains('|'));
        assert!(perf.contains("cache_hit=95.25%;98:;90.5:;0;100"), "{perf}");
        assert!(perf.contains("'dead_tuples:my db'=10000000000000000;98;90.5"), "{perf}");
        assert!(
            !perf.contains("e16") && !perf.contains("e+"),
            "no exponent notation: {perf}"
        );
    }

    #[test]
    fn nagios_output_stays_on_its_lines() {
        let mut c = result("connection", Some("a|b\nc"), 1.0, "ms", false);
        c.message = "could not connect:\nConnection refused | retry".into();
        let out = nagios(&report(vec![c.clone()]));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert_eq!(lines[0].matches('|').count(), 1, "{out}");
        assert!(lines[0].ends_with(" | 'connection:a/b c'=1ms;98;90.5;0"), "{out}");
        // No value: no perfdata and no dangling separator.
        c.value = None;
        let out = nagios(&report(vec![c]));
        let first = out.lines().next().unwrap();
        assert!(!first.contains('|') && !first.ends_with(' '), "{first:?}");
    }

    #[test]
    fn a_fleet_names_every_instance() {
        let mut down = report(vec![]);
        down.target = "db2".into();
        down.status = Status::Critical;
        let mut c = result("connection", None, 1.0, "ms", false);
        c.status = Status::Critical;
        c.value = None;
        c.message = "refused".into();
        down.checks = vec![c];
        let mut ok = report(vec![result("connections", None, 5.0, "%", false)]);
        ok.target = "db1".into();
        let out = nagios_fleet(&[ok, down]);
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("SW-HEALTH CRITICAL: 2 targets, 2 not OK: db1: connections WARNING"),
            "{out}"
        );
        assert!(
            lines[0].contains("db2: connection CRITICAL: refused | db1/connections=5%;98;90.5;0;100"),
            "{out}"
        );
        assert_eq!(lines[1], "db1 connections WARNING: a / b");
        assert_eq!(lines[2], "db2 connection CRITICAL: refused");
    }
}
