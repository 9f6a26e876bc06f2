//! `sw-alerts prometheus-rules`: the rule pack (the same [`RuleFile`] that
//! `eval` runs) rendered as Prometheus alerting rules over sw-health's
//! exporter metrics ([`sw_core::metrics`]), so a team can let Prometheus
//! evaluate instead of `sw-alerts eval`. Same names, thresholds, `for`,
//! `keep_firing_for`, severities, labels and annotations; `repeat_interval`
//! belongs to Alertmanager's route in that set-up.
//!
//! A value rule compares the check's series in the check's own unit (the
//! base-unit metric multiplied back), so `{{ value }}` in an annotation reads
//! as it does in eval's alerts. What Prometheus cannot say: a check's
//! message (not a metric) becomes a pointer to the check, and a check
//! without a value (UNKNOWN, or the server down) has no series, so its
//! value rule resolves where eval would keep it as it was.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use sw_core::metrics;
use sw_core::{Error, Result};

use crate::rules::{MinStatus, Rule, RuleFile};

/// Flags of `sw-alerts prometheus-rules`.
#[derive(Args, Debug)]
pub struct PromRulesArgs {
    /// Rule file (TOML) to render; the built-in default pack when not given.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// The Prometheus job that scrapes `sw-health serve` (its `up` series
    /// tells a silent exporter apart).
    #[arg(long, value_name = "NAME", default_value = "sw-health")]
    pub job: String,
}

/// One Prometheus alerting rule.
#[derive(Debug, PartialEq)]
pub struct PromRule {
    pub alert: String,
    pub expr: String,
    pub for_: Duration,
    pub keep_firing_for: Duration,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// `{{ value }}` as eval writes it: at most two decimals, no trailing zeros.
const VALUE: &str = r#"{{ reReplaceAll `\.?0+$` "" (printf "%.2f" $value) }}"#;

/// An eval annotation template as a Prometheus one: sw's `{{ name }}`
/// placeholders become Prometheus's, and any other `{{` is written
/// literally (eval leaves it alone too).
fn template(tpl: &str, rule: &Rule) -> String {
    let unit = metrics::check_unit(&rule.check).unwrap_or("");
    let mut out = String::new();
    let mut rest = tpl;
    while let Some(at) = rest.find("{{") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let sub = after.find("}}").and_then(|end| {
            let v = match after[..end].trim() {
                "value" => VALUE.to_owned(),
                "unit" => unit.to_owned(),
                "instance" => "{{ $labels.instance }}".to_owned(),
                "database" => "{{ $labels.database }}".to_owned(),
                "check" => rule.check.clone(),
                "message" => format!("see the {} check in sw-health's report", rule.check),
                _ => return None,
            };
            Some((v, end))
        });
        match sub {
            Some((v, end)) => {
                out.push_str(&v);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(r#"{{ "{{" }}"#);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn selector(metric: &str, check: &str) -> String {
    format!("{metric}{{{}=\"{}\"}}", metrics::CHECK, metrics::escape(check))
}

fn threshold(v: f64, rule: &Rule, at: &str) -> Result<String> {
    if v.is_finite() {
        Ok(metrics::number(v))
    } else {
        Err(Error::config(format!(
            "{at}: rule {:?}: a threshold must be a finite number",
            rule.name
        )))
    }
}

/// The PromQL expression of a rule: the value condition, the status
/// condition, or either.
fn expr(rule: &Rule, at: &str) -> Result<String> {
    let value = match (rule.above, rule.below) {
        (Some(x), _) => Some((">", x)),
        (_, Some(x)) => Some(("<", x)),
        _ => None,
    };
    let value = match value {
        None => None,
        Some((op, x)) => {
            let unit = metrics::check_unit(&rule.check).ok_or_else(|| {
                Error::config(format!(
                    "{at}: rule {:?}: check {:?} is not in sw-health's catalogue, so it has no metric",
                    rule.name, rule.check
                ))
            })?;
            let (family, div) = metrics::family_of(unit);
            let sel = selector(family.name(), &rule.check);
            let x = threshold(x, rule, at)?;
            Some(if (div - 1.0).abs() < f64::EPSILON {
                format!("{sel} {op} {x}")
            } else {
                format!("{sel} * {} {op} {x}", metrics::number(div))
            })
        }
    };
    let status = rule.status.map(|s| {
        let sel = selector(metrics::CHECK_STATUS, &rule.check);
        match s {
            // WARNING or CRITICAL, not UNKNOWN (3): that is its own alert.
            MinStatus::Warning => format!("({sel} >= 1) <= 2"),
            MinStatus::Critical => format!("{sel} == 2"),
        }
    });
    match (value, status) {
        (Some(v), Some(s)) => Ok(format!("({v}) or ({s})")),
        (Some(v), None) => Ok(v),
        (None, Some(s)) => Ok(s),
        (None, None) => Err(Error::config(format!(
            "{at}: rule {:?} needs above, below or status",
            rule.name
        ))),
    }
}

/// sw-alerts' own alerts about its input, as Prometheus sees them: no
/// successful scrape of the job (or none at all) for `stale_after`, or an
/// exporter serving an old result; and each UNKNOWN check.
fn meta(f: &RuleFile, job: &str) -> Vec<PromRule> {
    let s = f.stale_after.as_secs().max(1);
    let job = metrics::escape(job);
    let summary = |t: &str| BTreeMap::from([("summary".to_owned(), t.to_owned())]);
    vec![
        PromRule {
            alert: "SwHealthInputStale".into(),
            expr: format!(
                "max_over_time(up{{job=\"{job}\"}}[{s}s]) == 0 or absent_over_time(up{{job=\"{job}\"}}[{s}s]) \
                 or (time() - {}{{job=\"{job}\"}}) > {s}",
                metrics::LAST_RUN
            ),
            for_: Duration::ZERO,
            keep_firing_for: Duration::ZERO,
            labels: BTreeMap::from([("severity".to_owned(), "critical".to_owned())]),
            annotations: summary(&format!(
                "no fresh health report from {{{{ $labels.instance }}}} for {s} s (job {job})"
            )),
        },
        PromRule {
            alert: "SwHealthCheckUnknown".into(),
            expr: format!("{} == 3", metrics::CHECK_STATUS),
            for_: f.unknown_for,
            keep_firing_for: Duration::ZERO,
            labels: BTreeMap::from([("severity".to_owned(), "warning".to_owned())]),
            annotations: summary("check {{ $labels.check }} is UNKNOWN on {{ $labels.instance }}"),
        },
    ]
}

/// Every rule of `f` as a Prometheus rule, then the input alerts.
///
/// # Errors
/// 78 for a value rule on a check outside the catalogue, a threshold that
/// is not finite, or a label name Prometheus does not allow.
pub fn render_rules(f: &RuleFile, job: &str, at: &str) -> Result<Vec<PromRule>> {
    let mut out = Vec::new();
    for rule in &f.rules {
        let names = rule.labels.keys().chain(rule.annotations.keys());
        if let Some(k) = names.into_iter().find(|k| !metrics::valid_label_name(k)) {
            return Err(Error::config(format!(
                "{at}: rule {:?}: {k:?} is not a Prometheus label or annotation name",
                rule.name
            )));
        }
        let mut labels = rule.labels.clone();
        labels.insert("severity".into(), rule.severity.clone());
        out.push(PromRule {
            alert: rule.name.clone(),
            expr: expr(rule, at)?,
            for_: rule.for_,
            keep_firing_for: rule.keep_firing_for,
            labels,
            annotations: rule
                .annotations
                .iter()
                .map(|(k, v)| (k.clone(), template(v, rule)))
                .collect(),
        });
    }
    out.extend(meta(f, job));
    Ok(out)
}

/// A duration as Prometheus writes one (`90s`, `5m`, `4h`, `500ms`).
pub fn prom_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    match s {
        0 => "0s".to_owned(),
        s if s.is_multiple_of(3600) => format!("{}h", s / 3600),
        s if s.is_multiple_of(60) => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// A YAML scalar: single-quoted (only `'` is escaped, as `''`), or
/// double-quoted in JSON's syntax (which YAML shares) when it holds a
/// control character.
fn q(s: &str) -> String {
    if s.chars().any(char::is_control) {
        serde_json::Value::from(s).to_string()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// The rules file Prometheus loads (`rule_files`).
pub fn yaml(rules: &[PromRule], f: &RuleFile, from: &str, job: &str) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Prometheus alerting rules from {from}, written by `sw-alerts prometheus-rules`."
    );
    let _ = writeln!(
        o,
        "# They query sw-health's exporter (sw-health serve): scrape it as job {job:?} with honor_labels: true."
    );
    let _ = writeln!(
        o,
        "# Re-notification ({}) is Alertmanager's repeat_interval: set it on the route.",
        prom_duration(f.repeat_interval)
    );
    o.push_str("groups:\n  - name: \"sw-health\"\n    rules:\n");
    for r in rules {
        let _ = writeln!(o, "      - alert: {}", q(&r.alert));
        let _ = writeln!(o, "        expr: {}", q(&r.expr));
        let _ = writeln!(o, "        for: {}", prom_duration(r.for_));
        if !r.keep_firing_for.is_zero() {
            let _ = writeln!(o, "        keep_firing_for: {}", prom_duration(r.keep_firing_for));
        }
        for (name, map) in [("labels", &r.labels), ("annotations", &r.annotations)] {
            if map.is_empty() {
                continue;
            }
            let _ = writeln!(o, "        {name}:");
            for (k, v) in map {
                // Keys are label names (checked in render_rules): no quoting needed.
                let _ = writeln!(o, "          {k}: {}", q(v));
            }
        }
    }
    o
}

/// Run `prometheus-rules`: render and print.
///
/// # Errors
/// 66/74/78 for the rule file (see [`RuleFile::load`]); 78 for a rule
/// Prometheus cannot express; 74 when stdout fails.
pub fn run(a: &PromRulesArgs) -> Result<()> {
    use std::io::Write;
    let f = RuleFile::load(a.rules.as_deref())?;
    let from = a
        .rules
        .as_deref()
        .map_or("the default rule pack".to_owned(), sw_core::fsutil::q);
    let rules = render_rules(&f, &a.job, &from)?;
    let text = yaml(&rules, &f, &from, &a.job);
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::io("writing stdout").with_source(e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn one(toml: &str) -> Result<PromRule> {
        let f = RuleFile::parse(toml, "t")?;
        render_rules(&f, "sw-health", "t").map(|mut v| v.remove(0))
    }

    #[test]
    fn value_rules_compare_in_the_checks_unit() {
        let r = one("[[rule]]\nname = \"C\"\ncheck = \"connections\"\nabove = 80\nfor = \"5m\"\n").unwrap();
        assert_eq!(r.expr, "sw_health_check_ratio{check=\"connections\"} * 100 > 80");
        assert_eq!(prom_duration(r.for_), "5m");
        let r = one("[[rule]]\nname = \"L\"\ncheck = \"replication_lag\"\nabove = 300\n").unwrap();
        assert_eq!(r.expr, "sw_health_check_seconds{check=\"replication_lag\"} > 300");
        let r = one("[[rule]]\nname = \"H\"\ncheck = \"cache_hit\"\nbelow = 98.5\n").unwrap();
        assert_eq!(r.expr, "sw_health_check_ratio{check=\"cache_hit\"} * 100 < 98.5");
    }

    #[test]
    fn status_rules_and_both() {
        let r = one(
            "[[rule]]\nname = \"B\"\ncheck = \"backup_age\"\nabove = 93600\nstatus = \"CRITICAL\"\nseverity = \"critical\"\n",
        )
        .unwrap();
        assert_eq!(
            r.expr,
            "(sw_health_check_seconds{check=\"backup_age\"} > 93600) or (sw_health_check_status{check=\"backup_age\"} == 2)"
        );
        assert_eq!(r.labels["severity"], "critical");
        let r = one("[[rule]]\nname = \"W\"\ncheck = \"anything\"\nstatus = \"WARNING\"\n").unwrap();
        assert_eq!(r.expr, "(sw_health_check_status{check=\"anything\"} >= 1) <= 2");
    }

    #[test]
    fn unknown_checks_and_bad_labels_are_config_errors() {
        let e = one("[[rule]]\nname = \"X\"\ncheck = \"nope\"\nabove = 1\n").unwrap_err();
        assert_eq!(e.exit(), sw_core::Exit::Config);
        assert!(e.to_string().contains("not in sw-health's catalogue"), "{e}");
        let e = one("[[rule]]\nname = \"X\"\ncheck = \"disk\"\nabove = 1\nlabels = { \"a-b\" = \"x\" }\n").unwrap_err();
        assert!(
            e.to_string().contains("not a Prometheus label or annotation name"),
            "{e}"
        );
        let e = one("[[rule]]\nname = \"X\"\ncheck = \"disk\"\nabove = inf\n").unwrap_err();
        assert!(e.to_string().contains("finite"), "{e}");
    }

    #[test]
    fn templates_become_prometheus_templates() {
        let r = one("[[rule]]\nname = \"D\"\ncheck = \"deadlocks\"\nabove = 5\n\
             annotations = { summary = \"{{ value }} {{unit}} on {{ instance }} ({{ database }}) {{ other }}\" }\n")
        .unwrap();
        assert_eq!(
            r.annotations["summary"],
            format!(
                "{VALUE} per_5min on {{{{ $labels.instance }}}} ({{{{ $labels.database }}}}) {{{{ \"{{{{\" }}}} other }}}}"
            )
        );
        assert_eq!(r.expr, "sw_health_check_per_second{check=\"deadlocks\"} * 300 > 5");
    }

    #[test]
    fn durations_as_prometheus_writes_them() {
        assert_eq!(prom_duration(Duration::from_secs(90)), "90s");
        assert_eq!(prom_duration(Duration::from_secs(14_400)), "4h");
        assert_eq!(prom_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(prom_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn the_default_pack_renders_with_the_input_alerts() {
        let f = RuleFile::load(None).unwrap();
        let rules = render_rules(&f, "sw-health", "default").unwrap();
        assert_eq!(rules.len(), f.rules.len() + 2);
        let text = yaml(&rules, &f, "default", "sw-health");
        assert!(text.contains("- alert: 'SwHealthInputStale'"), "{text}");
        assert!(
            text.contains("expr: 'sw_health_check_ratio{check=\"connections\"} * 100 > 80'"),
            "{text}"
        );
        assert_eq!(q("it's"), "'it''s'");
        assert_eq!(q("a\nb"), "\"a\\nb\"");
        assert!(text.contains("for: 5m"), "{text}");
    }
}
