//! What the rules of a rule file say about one report: per rule and
//! matching check, the alert's labels, its annotations (templates filled
//! in) and whether the rule holds.

use std::collections::BTreeMap;

use sw_core::health::{CheckResult, Status};

use super::machine::{Machine, Observation, Timing};
use super::report::Report;
use crate::rules::{MinStatus, Rule, RuleFile};

/// Fill `{{ name }}` (or `{{name}}`) placeholders.
fn render(tpl: &str, vars: &[(&str, String)]) -> String {
    let mut out = tpl.to_owned();
    for (k, v) in vars {
        out = out
            .replace(&format!("{{{{ {k} }}}}"), v)
            .replace(&format!("{{{{{k}}}}}"), v);
    }
    out
}

/// A value for people: at most two decimals, no trailing `.0`.
fn fmt_num(v: f64) -> String {
    let r = (v * 100.0).round() / 100.0;
    if r == 0.0 {
        // Not "-0" for a small negative value.
        "0".to_owned()
    } else {
        // f64's Display writes integral values without a fraction ("9").
        format!("{r}")
    }
}

/// Whether the rule holds for one check result (`None`: cannot tell).
fn condition(rule: &Rule, check: &CheckResult) -> Option<bool> {
    let rank = match check.status {
        Status::Ok => 0,
        Status::Warning => 1,
        Status::Critical => 2,
        Status::Unknown => return None, // UNKNOWN is its own alert
    };
    let by_status = rule.status.map(|m| {
        rank >= match m {
            MinStatus::Warning => 1,
            MinStatus::Critical => 2,
        }
    });
    let by_value = match (rule.above, rule.below) {
        (Some(x), _) => check.value.map(|v| v > x),
        (_, Some(x)) => check.value.map(|v| v < x),
        _ => Some(false),
    };
    if by_status == Some(true) || by_value == Some(true) {
        return Some(true);
    }
    if rule.above.is_some() || rule.below.is_some() {
        // No value (first sample of a rate, say): keep the alert as it is.
        by_value
    } else {
        Some(false)
    }
}

/// The observation of `rule` on one check of report `r`: the target's
/// labels, then the rule's (which win, as in Prometheus), then sw-alerts' own.
fn observe(rule: &Rule, r: &Report, c: &CheckResult) -> Observation {
    let instance = r.instance.as_str();
    let mut labels = r.labels.clone();
    labels.extend(rule.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    labels.insert("alertname".into(), rule.name.clone());
    labels.insert("severity".into(), rule.severity.clone());
    labels.insert("instance".into(), instance.to_owned());
    labels.insert("check".into(), rule.check.clone());
    let db = c.database.clone().unwrap_or_default();
    if !db.is_empty() {
        labels.insert("database".into(), db.clone());
    }
    let vars = [
        ("value", c.value.map_or("n/a".to_owned(), fmt_num)),
        ("unit", c.unit.clone()),
        ("instance", instance.to_owned()),
        ("database", db),
        ("check", rule.check.clone()),
        ("message", c.message.clone()),
    ];
    let annotations: BTreeMap<String, String> = rule
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), render(v, &vars)))
        .collect();
    Observation {
        labels,
        annotations,
        value: c.value,
        holds: condition(rule, c),
    }
}

/// Run every rule of `rules` on one (fresh) report.
pub fn apply(m: &mut Machine<'_>, rules: &RuleFile, r: &Report) {
    for rule in &rules.rules {
        let t = Timing {
            for_: rule.for_,
            keep: rule.keep_firing_for,
            repeat: rule.repeat_interval.unwrap_or(rules.repeat_interval),
        };
        for c in r.checks.iter().filter(|c| c.name == rule.check) {
            m.step(observe(rule, r, c), t);
        }
        m.settle(&rule.name, &r.instance, &r.present, t);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn numbers_are_short() {
        assert_eq!(fmt_num(9.0), "9");
        assert_eq!(fmt_num(2.345_6), "2.35");
        assert_eq!(fmt_num(-0.001), "0");
        assert_eq!(fmt_num(1e16), "10000000000000000");
    }

    #[test]
    fn templates_take_both_spacings() {
        let vars = [("value", "9".to_owned())];
        assert_eq!(render("{{ value }} and {{value}}", &vars), "9 and 9");
    }
}
