//! `sw-health check` (also the default when no subcommand is given): the
//! whole catalogue in one session per database, printed as one
//! `health.report`, a monitoring-plugin status line or a Prometheus
//! textfile; the exit code is the worst status.
//!
//! This module holds the flags and the run around the checks: threshold
//! and name validation, the per-target flock and state file in
//! `--state-dir`, the output and the exit code. `collect` runs the checks;
//! `session` is the read-only transaction with a savepoint per check;
//! `runner` the deadline and the results; `state` what a run remembers for
//! the next one; `thresholds` the overrides.

pub mod collect;
pub mod runner;
pub mod session;
pub mod state;
pub mod thresholds;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use sw_core::cli::PgOpts;
use sw_core::config::Env;
use sw_core::health::{HealthReport, Status};
use sw_core::lock::Lock;
use sw_core::output::Output;
use sw_core::target::Target;
use sw_core::{Error, Exit, Result};

use crate::checks::Selection;
use crate::format;
use runner::Runner;
use thresholds::Thresholds;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One `health.report` JSON record.
    Json,
    /// Monitoring plugin API (Nagios, Icinga, Naemon): status line with perfdata.
    Nagios,
    /// Prometheus text exposition (node_exporter textfile collector).
    Prometheus,
}

/// Flags of `sw-health check`.
#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    #[command(flatten)]
    pub pg: PgOpts,
    /// Run the per-database checks in every database that accepts connections.
    #[arg(long)]
    pub all_databases: bool,
    /// Only these checks (comma-separated or repeated).
    #[arg(long, value_name = "NAMES")]
    pub checks: Vec<String>,
    /// Skip these checks (comma-separated or repeated).
    #[arg(long, value_name = "NAMES")]
    pub skip: Vec<String>,
    /// Warning threshold override, NAME=VALUE (or NAME=none); repeatable.
    #[arg(long, value_name = "NAME=VALUE")]
    pub warn: Vec<String>,
    /// Critical threshold override, NAME=VALUE (or NAME=none); repeatable.
    #[arg(long, value_name = "NAME=VALUE")]
    pub crit: Vec<String>,
    /// TOML file of thresholds: one table per check with warn and/or crit
    /// (flags win over the file).
    #[arg(long, value_name = "FILE")]
    pub thresholds: Option<PathBuf>,
    /// statement_timeout of each check; a check that runs longer is UNKNOWN.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = sw_core::duration::parse_at_most_a_day)]
    pub check_timeout: Duration,
    /// Deadline for the whole run (connecting included); checks not started by then are UNKNOWN.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = sw_core::duration::parse_at_most_a_day)]
    pub deadline: Duration,
    /// Round trips for the latency check.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub latency_samples: u32,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
    /// With --format prometheus: write this textfile-collector file
    /// atomically (temp file in the same directory, then rename) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub prom_file: Option<PathBuf>,
    /// Directory for the run lock and the counters behind rates
    /// (default $XDG_STATE_HOME/sw or ~/.local/state/sw).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// sw-backup repository whose newest complete backup the backup_age check judges.
    #[arg(long, value_name = "DIR")]
    pub backup_repo: Option<PathBuf>,
}

/// Run `check`.
pub fn run(args: &CheckArgs, pretty: bool) -> Result<()> {
    let res = run_inner(args, pretty);
    match (&res, args.format) {
        (Err(e), Format::Nagios) if !matches!(e.exit().code(), 0..=3) => {
            // Plugin API: anything that kept the check from running is UNKNOWN.
            let _ = write_stdout(&format!("SW-HEALTH UNKNOWN: {}\n", format::one_line(e.message())));
            res.map_err(|e| e.with_exit(Exit::Unknown))
        }
        _ => res,
    }
}

fn run_inner(args: &CheckArgs, pretty: bool) -> Result<()> {
    let mut th = Thresholds::default();
    if let Some(f) = &args.thresholds {
        th.load_file(f)?;
    }
    for w in &args.warn {
        th.set_flag(w, false)?;
    }
    for c in &args.crit {
        th.set_flag(c, true)?;
    }
    let selection = Selection::parse(&args.checks, &args.skip)?;
    if args.format != Format::Prometheus && args.prom_file.is_some() {
        return Err(Error::usage("--prom-file needs --format prometheus"));
    }
    let target = args.pg.target()?;
    let state_dir = args.state_dir.clone().unwrap_or_else(|| Env::process().state_dir());
    let key = target_key(&target);
    let _lock = Lock::try_acquire(
        &state_dir.join(format!("health-{key}.lock")),
        "sw-health run for this target",
    )?;
    let state_path = state_dir.join(format!("health-{key}.json"));
    let runner = Runner::new(&th, &selection, Instant::now() + args.deadline, args.check_timeout);
    let report = sw_core::cli::block_on(collect::collect(args, &target, runner, &state_path))?;
    print(args, pretty, &report)?;
    match verdict(report.status) {
        Exit::Ok => Ok(()),
        exit => Err(Error::new(
            exit,
            format!("{}: {}", report.status.as_str(), format::summary(&report)),
        )),
    }
}

/// The exit code of a verdict (the monitoring-plugin convention).
fn verdict(s: Status) -> Exit {
    match s {
        Status::Ok => Exit::Ok,
        Status::Warning => Exit::Warning,
        Status::Critical => Exit::Critical,
        Status::Unknown => Exit::Unknown,
    }
}

/// Print the report in the format asked for.
fn print(args: &CheckArgs, pretty: bool, report: &HealthReport) -> Result<()> {
    match args.format {
        Format::Json => match Output::stdout(pretty).emit(report) {
            // The reader went away: the verdict still decides the exit code.
            Err(e) if e.exit() != Exit::Ok => Err(e),
            _ => Ok(()),
        },
        Format::Nagios => write_stdout(&format::nagios(report)),
        Format::Prometheus => {
            let text = format::prometheus(report);
            match &args.prom_file {
                Some(p) => sw_core::fsutil::atomic_write(p, text.as_bytes(), 0o644),
                None => write_stdout(&text),
            }
        }
    }
}

/// Write text to stdout; a reader that went away (broken pipe) is not an error.
pub(crate) fn write_stdout(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("writing stdout").with_source(e)),
    }
}

/// A short stable key for a target (lock and state file names).
fn target_key(t: &Target) -> String {
    let s = t.to_url(false);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}
