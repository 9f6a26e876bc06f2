//! `sw-alerts eval`: health reports in, alert events out, state in between.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sw_core::fsutil::q;
use sw_core::lock::Lock;
use sw_core::output::{Output, rfc3339};
use sw_core::{Error, IoContext, Result};

use crate::event::{AlertEvent, fingerprint};
use crate::rules::{self, MinStatus, Rule, RuleFile, Silence};

/// Flags of `sw-alerts eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Rule file (TOML); the built-in default pack when not given
    /// (see `sw-alerts default-rules`).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// State file (alert states per rule and label set; flock-protected,
    /// replaced atomically). Default: $XDG_STATE_HOME/sw/alerts.json or ~/.local/state/sw/alerts.json.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Silences (TOML `[[silence]]` tables: matchers = { label = "value" } or Alertmanager-style
    /// ["label=value", "label!=value", "label=~regex", "label!~regex"], starts_at, ends_at, comment).
    #[arg(long, value_name = "FILE")]
    pub silences: Option<PathBuf>,
    /// Evaluate as of this time (RFC 3339) instead of now; for tests and replays.
    #[arg(long, value_name = "TIME")]
    pub now: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Phase {
    Pending,
    Firing,
}

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

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    #[serde(default)]
    instances: BTreeMap<String, DateTime<Utc>>,
    #[serde(default)]
    alerts: BTreeMap<String, AlertState>,
}

/// Timing of a rule.
#[derive(Clone, Copy)]
struct Timing {
    for_: Duration,
    keep: Duration,
    repeat: Duration,
}

struct Eval<'a> {
    now: DateTime<Utc>,
    state: State,
    silences: &'a [Silence],
    events: Vec<AlertEvent>,
    touched: BTreeSet<String>,
}

fn since(now: DateTime<Utc>, t: DateTime<Utc>) -> Duration {
    (now - t).to_std().unwrap_or(Duration::ZERO)
}

impl Eval<'_> {
    fn event(&mut self, fp: &str, a: &AlertState, status: &str, repeat: bool) {
        let starts = a.fired_at.unwrap_or(a.active_since);
        self.events.push(AlertEvent {
            status: status.to_owned(),
            alertname: a.labels.get("alertname").cloned().unwrap_or_default(),
            fingerprint: fp.to_owned(),
            labels: a.labels.clone(),
            annotations: a.annotations.clone(),
            starts_at: rfc3339(starts),
            ends_at: if status == "resolved" {
                rfc3339(self.now)
            } else {
                "0001-01-01T00:00:00Z".to_owned()
            },
            value: a.value,
            repeat,
            time: rfc3339(self.now),
        });
    }

    /// Advance one label set by one observation (`None`: cannot tell, keep as is).
    fn step(
        &mut self,
        labels: BTreeMap<String, String>,
        annotations: BTreeMap<String, String>,
        value: Option<f64>,
        cond: Option<bool>,
        t: Timing,
    ) {
        let fp = fingerprint(&labels);
        self.touched.insert(fp.clone());
        let now = self.now;
        let silenced = rules::silenced(self.silences, &labels, now);
        let Some(cond) = cond else { return };
        let existing = self.state.alerts.remove(&fp);
        let mut a = match (existing, cond) {
            (None, false) => return,
            (None, true) => AlertState {
                phase: Phase::Pending,
                labels,
                annotations,
                active_since: now,
                fired_at: None,
                last_true: now,
                notified_at: None,
                value,
            },
            (Some(mut a), true) => {
                a.last_true = now;
                a.value = value;
                a.annotations = annotations;
                a
            }
            (Some(a), false) => {
                if a.phase == Phase::Pending {
                    return; // never fired: nothing to tell anyone
                }
                if since(now, a.last_true) < t.keep {
                    self.state.alerts.insert(fp, a);
                    return;
                }
                if a.notified_at.is_some() {
                    self.event(&fp, &a, "resolved", false);
                }
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
                    self.event(&fp, &a, "firing", false);
                }
                Some(last) if since(now, last) >= t.repeat => {
                    a.notified_at = Some(now);
                    self.event(&fp, &a, "firing", true);
                }
                Some(_) => {}
            }
        }
        self.state.alerts.insert(fp, a);
    }

    /// Every alert of `alertname` for `instance` not observed in this run is
    /// false now, if the report still has (or deliberately skipped) its check:
    /// a check missing from a report (the server is down, say) changes nothing.
    fn settle(&mut self, alertname: &str, instance: &str, present: &BTreeSet<String>, t: Timing) {
        let stale: Vec<(String, AlertState)> = self
            .state
            .alerts
            .iter()
            .filter(|(fp, a)| {
                !self.touched.contains(*fp)
                    && a.labels.get("check").is_some_and(|c| present.contains(c))
                    && a.labels.get("alertname").map(String::as_str) == Some(alertname)
                    && a.labels.get("instance").map(String::as_str) == Some(instance)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (_, a) in stale {
            self.step(a.labels.clone(), a.annotations.clone(), a.value, Some(false), t);
        }
    }
}

fn render(tpl: &str, vars: &[(&str, String)]) -> String {
    let mut out = tpl.to_owned();
    for (k, v) in vars {
        out = out
            .replace(&format!("{{{{ {k} }}}}"), v)
            .replace(&format!("{{{{{k}}}}}"), v);
    }
    out
}

fn fmt_num(v: f64) -> String {
    let r = (v * 100.0).round() / 100.0;
    if r == r.trunc() && r.abs() < 1e15 {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

fn status_rank(s: &str) -> Option<u8> {
    match s {
        "OK" => Some(0),
        "WARNING" => Some(1),
        "CRITICAL" => Some(2),
        _ => None,
    }
}

/// Whether the rule holds for one check result (`None`: cannot tell).
fn condition(rule: &Rule, check: &Value) -> Option<bool> {
    let status = check.get("status").and_then(Value::as_str).unwrap_or("UNKNOWN");
    let rank = status_rank(status)?; // UNKNOWN is its own alert
    let by_status = rule.status.map(|m| {
        rank >= match m {
            MinStatus::Warning => 1,
            MinStatus::Critical => 2,
        }
    });
    let value = check.get("value").and_then(Value::as_f64);
    let by_value = match (rule.above, rule.below) {
        (Some(x), _) => value.map(|v| v > x),
        (_, Some(x)) => value.map(|v| v < x),
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

fn default_state_file() -> PathBuf {
    crate::state_dir().join("alerts.json")
}

struct Report {
    line: usize,
    instance: String,
    time: DateTime<Utc>,
    checks: Vec<Value>,
    /// Names of the checks present or deliberately skipped.
    present: BTreeSet<String>,
}

fn parse_report(rec: &sw_core::input::Line) -> Result<Report> {
    rec.expect("stdin", &["health.report"])?;
    let bad = |what: &str| Error::data(format!("stdin:{}: health.report {what}", rec.line));
    let instance = rec
        .value
        .get("target")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("has no \"target\""))?
        .to_owned();
    let time = rec
        .value
        .get("time")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .ok_or_else(|| bad("has no RFC 3339 \"time\""))?
        .with_timezone(&Utc);
    let checks = rec
        .value
        .get("checks")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("has no \"checks\" array"))?
        .clone();
    for c in &checks {
        if c.get("name").and_then(Value::as_str).is_none() {
            return Err(bad("has a check without a \"name\""));
        }
    }
    let mut present: BTreeSet<String> = checks
        .iter()
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    // A report from a server that could not be reached says nothing about its
    // other checks, whatever it lists as skipped: keep their alerts as they are.
    let unreachable = checks.iter().any(|c| {
        c.get("name").and_then(Value::as_str) == Some("connection")
            && c.get("value").is_none_or(Value::is_null)
            && c.get("status").and_then(Value::as_str) != Some("OK")
    });
    if unreachable {
        present.retain(|n| n == "connection");
    } else if let Some(sk) = rec.value.get("skipped").and_then(Value::as_array) {
        present.extend(sk.iter().filter_map(|v| v.as_str().map(str::to_owned)));
    }
    Ok(Report {
        line: rec.line,
        instance,
        time,
        checks,
        present,
    })
}

fn load_state(path: &Path) -> Result<State> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            serde_json::from_str(&text).map_err(|e| Error::data(format!("state file {} is not valid: {e}", q(path))))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
        Err(e) => Err(Error::io(format!("reading {}", q(path))).with_source(e)),
    }
}

/// Run `eval`.
pub fn run(args: &EvalArgs, pretty: bool) -> Result<()> {
    let rules = RuleFile::load(args.rules.as_deref())?;
    let silences = match &args.silences {
        Some(p) => rules::load_silences(p)?,
        None => Vec::new(),
    };
    let now = args.now.unwrap_or_else(Utc::now);
    let recs = sw_core::input::read_all(std::io::stdin().lock(), "stdin")?;
    let mut reports: BTreeMap<String, Report> = BTreeMap::new();
    for rec in &recs {
        let r = parse_report(rec)?;
        match reports.get(&r.instance) {
            Some(prev) if prev.time > r.time => {}
            _ => {
                reports.insert(r.instance.clone(), r);
            }
        }
    }
    let state_path = args.state.clone().unwrap_or_else(default_state_file);
    let lock_path = PathBuf::from(format!("{}.lock", state_path.display()));
    let _lock = Lock::try_acquire(&lock_path, "sw-alerts eval with this state file")?;
    let state = load_state(&state_path)?;
    let mut ev = Eval {
        now,
        state,
        silences: &silences,
        events: Vec::new(),
        touched: BTreeSet::new(),
    };
    for r in reports.values() {
        let e = ev.state.instances.entry(r.instance.clone()).or_insert(r.time);
        if r.time > *e {
            *e = r.time;
        }
    }
    let meta = Timing {
        for_: Duration::ZERO,
        keep: Duration::ZERO,
        repeat: rules.repeat_interval,
    };
    // Missing or stale input.
    let stale_name = "SwHealthInputStale";
    let meta_labels = |inst: &str, sev: &str, name: &str| -> BTreeMap<String, String> {
        BTreeMap::from([
            ("alertname".to_owned(), name.to_owned()),
            ("severity".to_owned(), sev.to_owned()),
            ("instance".to_owned(), inst.to_owned()),
        ])
    };
    let nothing_yet = ev.state.instances.is_empty();
    ev.step(
        meta_labels("none", "critical", stale_name),
        BTreeMap::from([("summary".to_owned(), "no health report received yet".to_owned())]),
        None,
        Some(nothing_yet),
        meta,
    );
    let instances: Vec<(String, DateTime<Utc>)> = ev.state.instances.iter().map(|(k, v)| (k.clone(), *v)).collect();
    let mut fresh = Vec::new();
    for (inst, last) in &instances {
        let age = since(now, *last);
        let stale = age > rules.stale_after;
        if !stale {
            fresh.push(inst.clone());
        }
        ev.step(
            meta_labels(inst, "critical", stale_name),
            BTreeMap::from([(
                "summary".to_owned(),
                format!(
                    "no health report from {inst} since {} ({} s)",
                    rfc3339(*last),
                    age.as_secs()
                ),
            )]),
            Some(age.as_secs() as f64),
            Some(stale),
            meta,
        );
    }
    // Rules, for instances with a fresh report in this run (stale ones keep their alerts as they are).
    for inst in &fresh {
        let Some(r) = reports.get(inst) else { continue };
        if since(now, r.time) > rules.stale_after {
            continue;
        }
        log::debug!("evaluating the report from stdin:{} ({inst})", r.line);
        for rule in &rules.rules {
            let t = Timing {
                for_: rule.for_,
                keep: rule.keep_firing_for,
                repeat: rule.repeat_interval.unwrap_or(rules.repeat_interval),
            };
            for c in r
                .checks
                .iter()
                .filter(|c| c.get("name").and_then(Value::as_str) == Some(rule.check.as_str()))
            {
                let mut labels = rule.labels.clone();
                labels.insert("alertname".into(), rule.name.clone());
                labels.insert("severity".into(), rule.severity.clone());
                labels.insert("instance".into(), inst.clone());
                labels.insert("check".into(), rule.check.clone());
                let db = c.get("database").and_then(Value::as_str).unwrap_or("").to_owned();
                if !db.is_empty() {
                    labels.insert("database".into(), db.clone());
                }
                let value = c.get("value").and_then(Value::as_f64);
                let vars = [
                    ("value", value.map_or("n/a".to_owned(), fmt_num)),
                    ("unit", c.get("unit").and_then(Value::as_str).unwrap_or("").to_owned()),
                    ("instance", inst.clone()),
                    ("database", db),
                    ("check", rule.check.clone()),
                    (
                        "message",
                        c.get("message").and_then(Value::as_str).unwrap_or("").to_owned(),
                    ),
                ];
                let ann = rule
                    .annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), render(v, &vars)))
                    .collect();
                ev.step(labels, ann, value, condition(rule, c), t);
            }
            ev.settle(&rule.name, inst, &r.present, t);
        }
        // UNKNOWN checks.
        let t = Timing {
            for_: rules.unknown_for,
            keep: Duration::ZERO,
            repeat: rules.repeat_interval,
        };
        for c in &r.checks {
            let name = c.get("name").and_then(Value::as_str).unwrap_or("");
            let mut labels = meta_labels(inst, "warning", "SwHealthCheckUnknown");
            labels.insert("check".into(), name.to_owned());
            if let Some(db) = c.get("database").and_then(Value::as_str) {
                labels.insert("database".into(), db.to_owned());
            }
            let unknown = c.get("status").and_then(Value::as_str) == Some("UNKNOWN");
            let msg = c.get("message").and_then(Value::as_str).unwrap_or("");
            let ann = BTreeMap::from([(
                "summary".to_owned(),
                format!("check {name} is UNKNOWN on {inst}: {msg}"),
            )]);
            ev.step(labels, ann, None, Some(unknown), t);
        }
        ev.settle("SwHealthCheckUnknown", inst, &r.present, t);
    }
    // Events first (a failed write leaves the state as it was, so they come again).
    let mut out = Output::stdout(pretty);
    for e in &ev.events {
        out.record("alert", e)?;
    }
    out.flush()?;
    let data = serde_json::to_vec_pretty(&ev.state).map_err(|e| Error::software("encoding state").with_source(e))?;
    if let Some(dir) = state_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).io_context(|| format!("creating {}", q(dir)))?;
    }
    sw_core::fsutil::atomic_write(&state_path, &data, 0o600)?;
    Ok(())
}
