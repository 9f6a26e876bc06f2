//! The alert state machine and the state file it keeps between runs.
//!
//! Per label set (its fingerprint) an alert goes inactive → pending
//! (waiting out `for`) → firing → resolved; `keep_firing_for` holds a
//! firing alert through short dips and a still-firing one is repeated
//! after `repeat_interval`. Only transitions and repeats become `alert`
//! records. The state file (JSON, private to sw-alerts) keeps each alert's
//! phase and times, and the newest report time per instance.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sw_core::fsutil::q;
use sw_core::{Error, IoContext, Result};

use crate::alert::{Alert, AlertStatus, fingerprint, zero_time};
use crate::silence::{self, Silence};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Phase {
    Pending,
    Firing,
}

/// One active (pending or firing) alert, as kept in the state file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AlertState {
    phase: Phase,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    active_since: DateTime<Utc>,
    fired_at: Option<DateTime<Utc>>,
    last_true: DateTime<Utc>,
    /// A firing notification went out (and when, for repeats).
    notified_at: Option<DateTime<Utc>>,
    value: Option<f64>,
}

/// The state file.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// The newest report time seen per instance.
    #[serde(default)]
    pub instances: BTreeMap<String, DateTime<Utc>>,
    /// The labels of each instance's newest report (sw-health --targets),
    /// for its SwHealthInputStale alert.
    #[serde(default)]
    pub labels: BTreeMap<String, BTreeMap<String, String>>,
    /// Active alerts by fingerprint.
    #[serde(default)]
    alerts: BTreeMap<String, AlertState>,
}

impl State {
    /// Read the state file; a missing one is the empty state.
    ///
    /// # Errors
    /// 65 when it is not valid, 74 when it cannot be read.
    pub fn load(path: &Path) -> Result<State> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| Error::data(format!("state file {} is not valid: {e}", q(path)))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(Error::io(format!("reading {}", q(path))).with_source(e)),
        }
    }

    /// Replace the state file atomically (mode 0600), creating its directory.
    ///
    /// # Errors
    /// 73 when it is a symlink; 74 (77) when it cannot be written.
    pub fn save(&self, path: &Path) -> Result<()> {
        let data = serde_json::to_vec_pretty(self).map_err(|e| Error::software("encoding state").with_source(e))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).io_context(|| format!("creating {}", q(dir)))?;
        }
        sw_core::fsutil::atomic_write(path, &data, 0o600)
    }
}

/// Timing of a rule.
#[derive(Clone, Copy)]
pub struct Timing {
    pub for_: Duration,
    pub keep: Duration,
    pub repeat: Duration,
}

/// One observation of a label set: its labels, annotations and value, and
/// whether the rule holds (`None`: cannot tell, keep the alert as it is).
pub struct Observation {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub value: Option<f64>,
    pub holds: Option<bool>,
}

/// One evaluation run: the state as it goes, and the alerts to print.
pub struct Machine<'a> {
    pub now: DateTime<Utc>,
    pub state: State,
    silences: &'a [Silence],
    /// The alerts to print, in order.
    pub alerts: Vec<Alert>,
    /// Fingerprints observed in this run.
    touched: BTreeSet<String>,
}

fn since(now: DateTime<Utc>, t: DateTime<Utc>) -> Duration {
    (now - t).to_std().unwrap_or(Duration::ZERO)
}

impl Machine<'_> {
    /// A run at `now` from `state`.
    pub fn new(now: DateTime<Utc>, state: State, silences: &[Silence]) -> Machine<'_> {
        Machine {
            now,
            state,
            silences,
            alerts: Vec::new(),
            touched: BTreeSet::new(),
        }
    }

    /// How long ago `t` was (zero for the future).
    pub fn age(&self, t: DateTime<Utc>) -> Duration {
        since(self.now, t)
    }

    fn notify(&mut self, fp: &str, a: &AlertState, status: AlertStatus, repeat: bool) {
        let starts = a.fired_at.unwrap_or(a.active_since);
        self.alerts.push(Alert {
            status,
            alertname: a.labels.get("alertname").cloned().unwrap_or_default(),
            fingerprint: fp.to_owned(),
            labels: a.labels.clone(),
            annotations: a.annotations.clone(),
            starts_at: starts.into(),
            ends_at: match status {
                AlertStatus::Resolved => self.now.into(),
                AlertStatus::Firing => zero_time(),
            },
            value: a.value,
            repeat,
            time: self.now.into(),
        });
    }

    /// Advance one label set by one observation.
    pub fn step(&mut self, o: Observation, t: Timing) {
        let fp = fingerprint(&o.labels);
        self.touched.insert(fp.clone());
        let now = self.now;
        let silenced = silence::silenced(self.silences, &o.labels, now);
        let Some(holds) = o.holds else { return };
        let mut a = match (self.state.alerts.remove(&fp), holds) {
            (None, false) => return,
            (None, true) => AlertState {
                phase: Phase::Pending,
                labels: o.labels,
                annotations: o.annotations,
                active_since: now,
                fired_at: None,
                last_true: now,
                notified_at: None,
                value: o.value,
            },
            (Some(mut a), true) => {
                a.last_true = now;
                a.value = o.value;
                a.annotations = o.annotations;
                a
            }
            (Some(a), false) => {
                self.clear(fp, a, t);
                return;
            }
        };
        if a.phase == Phase::Pending && since(now, a.active_since) >= t.for_ {
            a.phase = Phase::Firing;
            a.fired_at = Some(now);
        }
        if a.phase == Phase::Firing && !silenced {
            match a.notified_at {
                None => {
                    a.notified_at = Some(now);
                    self.notify(&fp, &a, AlertStatus::Firing, false);
                }
                Some(last) if since(now, last) >= t.repeat => {
                    a.notified_at = Some(now);
                    self.notify(&fp, &a, AlertStatus::Firing, true);
                }
                Some(_) => {}
            }
        }
        self.state.alerts.insert(fp, a);
    }

    /// An active alert whose rule no longer holds: kept through
    /// keep_firing_for, else gone (resolved, if anyone was told it fired).
    fn clear(&mut self, fp: String, a: AlertState, t: Timing) {
        if a.phase == Phase::Pending {
            return; // never fired: nothing to tell anyone
        }
        if since(self.now, a.last_true) < t.keep {
            self.state.alerts.insert(fp, a);
            return;
        }
        if a.notified_at.is_some() {
            self.notify(&fp, &a, AlertStatus::Resolved, false);
        }
    }

    /// Every alert of `alertname` for `instance` not observed in this run is
    /// false now, if the report still has (or deliberately skipped) its check:
    /// a check missing from a report (the server is down, say) changes nothing.
    pub fn settle(&mut self, alertname: &str, instance: &str, present: &BTreeSet<String>, t: Timing) {
        let stale: Vec<AlertState> = self
            .state
            .alerts
            .iter()
            .filter(|(fp, a)| {
                !self.touched.contains(*fp)
                    && a.labels.get("check").is_some_and(|c| present.contains(c))
                    && a.labels.get("alertname").map(String::as_str) == Some(alertname)
                    && a.labels.get("instance").map(String::as_str) == Some(instance)
            })
            .map(|(_, v)| v.clone())
            .collect();
        for a in stale {
            let o = Observation {
                labels: a.labels,
                annotations: a.annotations,
                value: a.value,
                holds: Some(false),
            };
            self.step(o, t);
        }
    }
}
