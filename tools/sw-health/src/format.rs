//! Monitoring-plugin and Prometheus renderings of a report, and the
//! one-line summary of what is not OK (the stderr line and the plugin
//! status text).

use std::fmt::Write;

use sw_core::health::{CheckResult, HealthReport as Report, Status};

use crate::checks::server::CONNECTION;

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

/// Monitoring plugin API: `SW-HEALTH STATUS: text | perfdata`, then one
/// line per check (long text).
pub fn nagios(r: &Report) -> String {
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
            perf_label(&label(c)),
            n(v),
            uom(&c.unit),
            perf_threshold(c.warn, c.below),
            perf_threshold(c.crit, c.below),
            min,
            max,
        );
        perf.push(p.trim_end_matches(';').to_owned());
    }
    let text = one_line(&summary(r));
    let mut out = if perf.is_empty() {
        format!("SW-HEALTH {}: {text}\n", r.status.as_str())
    } else {
        format!("SW-HEALTH {}: {text} | {}\n", r.status.as_str(), perf.join(" "))
    };
    for c in &r.checks {
        let _ = writeln!(
            out,
            "{} {}: {}",
            one_line(&label(c)),
            c.status.as_str(),
            one_line(&c.message)
        );
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Prometheus text exposition for the node_exporter textfile collector.
pub fn prometheus(r: &Report) -> String {
    let inst = esc(&r.target);
    let mut o = String::new();
    let up = if r.checks.iter().any(|c| c.name == CONNECTION.name && c.value.is_some()) {
        1
    } else {
        0
    };
    let _ = writeln!(
        o,
        "# HELP sw_health_up Whether sw-health reached the server (1) or not (0)."
    );
    let _ = writeln!(o, "# TYPE sw_health_up gauge");
    let _ = writeln!(o, "sw_health_up{{instance=\"{inst}\"}} {up}");
    let _ = writeln!(
        o,
        "# HELP sw_health_status Worst check status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."
    );
    let _ = writeln!(o, "# TYPE sw_health_status gauge");
    let _ = writeln!(o, "sw_health_status{{instance=\"{inst}\"}} {}", r.status.code());
    let _ = writeln!(
        o,
        "# HELP sw_health_run_duration_seconds How long the sw-health run took."
    );
    let _ = writeln!(o, "# TYPE sw_health_run_duration_seconds gauge");
    let _ = writeln!(
        o,
        "sw_health_run_duration_seconds{{instance=\"{inst}\"}} {}",
        n(r.duration_ms / 1000.0)
    );
    let labels = |c: &CheckResult| {
        format!(
            "instance=\"{inst}\",check=\"{}\",database=\"{}\"",
            c.name,
            esc(c.database.as_deref().unwrap_or(""))
        )
    };
    let _ = writeln!(
        o,
        "# HELP sw_health_check_status Check status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."
    );
    let _ = writeln!(o, "# TYPE sw_health_check_status gauge");
    for c in &r.checks {
        let _ = writeln!(o, "sw_health_check_status{{{}}} {}", labels(c), c.status.code());
    }
    let _ = writeln!(
        o,
        "# HELP sw_health_check_value Check value in the unit given by the unit label."
    );
    let _ = writeln!(o, "# TYPE sw_health_check_value gauge");
    for c in &r.checks {
        if let Some(v) = c.value {
            let _ = writeln!(
                o,
                "sw_health_check_value{{{},unit=\"{}\"}} {}",
                labels(c),
                esc(&c.unit),
                n(v)
            );
        }
    }
    o
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
    fn prometheus_escapes_label_values() {
        let out = prometheus(&report(vec![result("connections", None, 5.0, "%", false)]));
        assert!(out.contains("instance=\"u@h:5432/d\\\"x\""), "{out}");
        assert!(
            out.contains(
                "sw_health_check_value{instance=\"u@h:5432/d\\\"x\",check=\"connections\",database=\"\",unit=\"%\"} 5\n"
            ),
            "{out}"
        );
    }
}
