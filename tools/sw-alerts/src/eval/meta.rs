//! sw-alerts' own alerts about its input, whatever the rule file says:
//! `SwHealthInputStale` when no report came from an instance for
//! `stale_after` (or none at all yet), so a silent instance's alerts are
//! frozen instead of resolved; `SwHealthCheckUnknown` for each check a
//! report marks UNKNOWN.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sw_core::health::Status;
use sw_core::output::rfc3339;

use super::machine::{Machine, Observation, Timing};
use super::report::Report;
use crate::rules::RuleFile;

const STALE: &str = "SwHealthInputStale";
const UNKNOWN: &str = "SwHealthCheckUnknown";

fn labels_of(instance: &str, severity: &str, alertname: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("alertname".to_owned(), alertname.to_owned()),
        ("severity".to_owned(), severity.to_owned()),
        ("instance".to_owned(), instance.to_owned()),
    ])
}

fn summary(text: String) -> BTreeMap<String, String> {
    BTreeMap::from([("summary".to_owned(), text)])
}

/// Raise or resolve `SwHealthInputStale` for every instance seen so far
/// (and for "none" while nothing was ever received); returns the
/// instances whose newest report is fresh.
pub fn staleness(m: &mut Machine<'_>, rules: &RuleFile) -> Vec<String> {
    let t = Timing {
        for_: Duration::ZERO,
        keep: Duration::ZERO,
        repeat: rules.repeat_interval,
    };
    let nothing_yet = m.state.instances.is_empty();
    m.step(
        Observation {
            labels: labels_of("none", "critical", STALE),
            annotations: summary("no health report received yet".to_owned()),
            value: None,
            holds: Some(nothing_yet),
        },
        t,
    );
    let instances: Vec<(String, DateTime<Utc>)> = m.state.instances.iter().map(|(k, v)| (k.clone(), *v)).collect();
    let mut fresh = Vec::new();
    for (inst, last) in instances {
        let age = m.age(last);
        let stale = age > rules.stale_after;
        // The instance's labels as its newest report gave them.
        let mut labels = m.state.labels.get(&inst).cloned().unwrap_or_default();
        labels.extend(labels_of(&inst, "critical", STALE));
        m.step(
            Observation {
                labels,
                annotations: summary(format!(
                    "no health report from {inst} since {} ({} s)",
                    rfc3339(last),
                    age.as_secs()
                )),
                // Whole seconds, as in the summary (u64 → f64 is exact below 2^53 s).
                value: Some(age.as_secs_f64().floor()),
                holds: Some(stale),
            },
            t,
        );
        if !stale {
            fresh.push(inst);
        }
    }
    fresh
}

/// Raise or resolve `SwHealthCheckUnknown` for each check of one report.
pub fn unknown_checks(m: &mut Machine<'_>, rules: &RuleFile, r: &Report) {
    let t = Timing {
        for_: rules.unknown_for,
        keep: Duration::ZERO,
        repeat: rules.repeat_interval,
    };
    for c in &r.checks {
        let mut labels = r.labels.clone();
        labels.extend(labels_of(&r.instance, "warning", UNKNOWN));
        labels.insert("check".into(), c.name.clone());
        if let Some(db) = &c.database {
            labels.insert("database".into(), db.clone());
        }
        let text = format!("check {} is UNKNOWN on {}: {}", c.name, r.instance, c.message);
        m.step(
            Observation {
                labels,
                annotations: summary(text),
                value: None,
                holds: Some(c.status == Status::Unknown),
            },
            t,
        );
    }
    m.settle(UNKNOWN, &r.instance, &r.present, t);
}
