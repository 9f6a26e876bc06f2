//! One check run over the targets, `--parallel` of them at a time: each
//! target has its own lock and state file in `--state-dir`, its own
//! `--deadline` (capped by an overall one, for a scrape), and ends in
//! exactly one report. In a fleet (`--targets`) nothing about one target
//! stops the others: one that cannot be checked is a CRITICAL report
//! without a value (`up 0`), and one whose lock another run holds past its
//! deadline is an UNKNOWN one; a single target keeps the plain exit codes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use sw_core::health::HealthReport;
use sw_core::lock::Lock;
use sw_core::target::Target;
use sw_core::{Exit, Result};

use super::RunOpts;
use super::collect;
use super::runner::Runner;
use super::share::Shared;
use super::targets::FleetTarget;
use super::thresholds::Thresholds;
use crate::azure::Spec;
use crate::checks::Selection;

/// What every target's run shares.
pub struct Plan<'a> {
    pub args: &'a RunOpts,
    pub th: &'a Thresholds,
    pub selection: &'a Selection,
    pub state_dir: PathBuf,
    /// A fleet: a target that cannot be checked is a report, not an error.
    pub fleet: bool,
    /// The Flexible Server of an `--azure` run.
    pub azure: Option<&'a Spec>,
    /// The PgBouncer console of a `--pooler-url` run.
    pub pooler: Option<&'a Target>,
}

/// Check every target, `parallel` at a time, and hand each report to
/// `each` in the order of `targets` as soon as it and those before it are
/// done. `overall` caps every target's deadline.
///
/// # Errors
/// A single target's errors (see [`collect::collect`], and 75 for a held
/// lock); whatever `each` returns.
pub async fn sweep(
    p: &Plan<'_>,
    targets: &[FleetTarget],
    parallel: usize,
    overall: Option<Instant>,
    mut each: impl FnMut(HealthReport) -> Result<()>,
) -> Result<()> {
    // Server-wide checks once per server (a fleet of one server's databases).
    let shared = (targets.len() > 1).then(Shared::default);
    let mut reports = stream::iter(targets)
        .map(|t| one(p, t, overall, shared.as_ref()))
        .buffered(parallel.max(1));
    while let Some(r) = reports.next().await {
        each(r?)?;
    }
    Ok(())
}

/// A short stable key for a target (lock and state file names).
pub fn target_key(t: &Target) -> String {
    key_of(&t.to_url(false))
}

/// A short stable key for a string (FNV-1a).
fn key_of(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The target's lock: at once for a single target (75 when held); in a
/// fleet, waiting until `deadline` for a run that holds it (None then).
async fn lock(p: &Plan<'_>, key: &str, deadline: Instant) -> Result<Option<Lock>> {
    let path = p.state_dir.join(format!("health-{key}.lock"));
    let what = "sw-health run for this target";
    loop {
        match Lock::try_acquire(&path, what) {
            Ok(l) => return Ok(Some(l)),
            Err(e) if !p.fleet || e.exit() != Exit::TempFail => return Err(e),
            Err(_) if Instant::now() >= deadline => return Ok(None),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Check one target: one report.
async fn one(p: &Plan<'_>, t: &FleetTarget, overall: Option<Instant>, shared: Option<&Shared>) -> Result<HealthReport> {
    let mut deadline = Instant::now() + p.args.deadline;
    if let Some(o) = overall {
        deadline = deadline.min(o);
    }
    let runner = || Runner::new(p.th, p.selection, deadline, p.args.check_timeout);
    let key = t.target.as_ref().map_or_else(|| key_of(&t.instance), target_key);
    let report = match lock(p, &key, deadline).await {
        Err(e) if p.fleet => Ok(collect::failed(runner(), &t.instance, &e.to_string())),
        Err(e) => Err(e),
        Ok(None) => Ok(collect::not_checked(
            runner(),
            &t.instance,
            "not checked: another sw-health run held this target's lock until the deadline",
        )),
        Ok(Some(_lock)) => {
            let state_path = p.state_dir.join(format!("health-{key}.json"));
            match collect::collect(p, t.target.as_ref(), runner(), &state_path, shared).await {
                Err(e) if p.fleet => Ok(collect::failed(runner(), &t.instance, &e.to_string())),
                r => r,
            }
        }
    };
    report.map(|mut r| {
        r.target.clone_from(&t.instance);
        r.labels.clone_from(&t.labels);
        r
    })
}
