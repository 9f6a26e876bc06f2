//! `sw-alerts eval`: health reports in, alert events out, state in between.
//!
//! [`report`] reads the `health.report` records, [`machine`] holds the
//! per-alert state machine and its state file, [`rule`] applies the rule
//! file to a report and [`meta`] raises sw-alerts' own alerts about its
//! input (stale reports, UNKNOWN checks).

mod machine;
mod meta;
mod report;
mod rule;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Args;
use sw_core::Result;
use sw_core::lock::Lock;
use sw_core::output::Output;

use crate::rules::RuleFile;
use crate::silence;
use machine::{Machine, State};

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

/// Run `eval`.
pub fn run(args: &EvalArgs, pretty: bool) -> Result<()> {
    let rules = RuleFile::load(args.rules.as_deref())?;
    let silences = match &args.silences {
        Some(p) => silence::load_silences(p)?,
        None => Vec::new(),
    };
    let now = args.now.unwrap_or_else(Utc::now);
    // All input is read and checked before the state is touched.
    let lines = sw_core::input::read_all(std::io::stdin().lock(), "stdin")?;
    let reports = report::newest_per_instance(&lines)?;
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| crate::state_dir().join("alerts.json"));
    let lock_path = PathBuf::from(format!("{}.lock", state_path.display()));
    let _lock = Lock::try_acquire(&lock_path, "sw-alerts eval with this state file")?;
    let mut m = Machine::new(now, State::load(&state_path)?, &silences);
    for r in reports.values() {
        let newest = m.state.instances.entry(r.instance.clone()).or_insert(r.time);
        if r.time >= *newest {
            *newest = r.time;
            if r.labels.is_empty() {
                m.state.labels.remove(&r.instance);
            } else {
                m.state.labels.insert(r.instance.clone(), r.labels.clone());
            }
        }
    }
    // Rules, for instances with a fresh report in this run (stale ones keep their alerts as they are).
    for inst in meta::staleness(&mut m, &rules) {
        let Some(r) = reports.get(&inst) else { continue };
        if m.age(r.time) > rules.stale_after {
            continue;
        }
        log::debug!("evaluating the report from stdin:{} ({inst})", r.line);
        rule::apply(&mut m, &rules, r);
        meta::unknown_checks(&mut m, &rules, r);
    }
    // Alerts first (a failed write leaves the state as it was, so they come again).
    let mut out = Output::stdout(pretty);
    for a in &m.alerts {
        out.emit(a)?;
    }
    out.flush()?;
    m.state.save(&state_path)
}
