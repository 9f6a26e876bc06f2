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
//! the next one; `thresholds` the overrides; `targets` the `--targets`
//! file of a fleet and `sweep` the run over its targets, `--parallel` at a
//! time, one report each; `share` runs a fleet's server-wide checks once
//! per server.

pub mod collect;
pub mod runner;
pub mod session;
pub mod share;
pub mod state;
pub mod sweep;
pub mod targets;
pub mod thresholds;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use sw_core::cli::PgOpts;
use sw_core::config::Env;
use sw_core::health::{HealthReport, Status};
use sw_core::output::Output;
use sw_core::target::Target;
use sw_core::{Error, Exit, Result};

use crate::azure::{AzureArgs, Spec};
use crate::checks::Selection;
use crate::exposition::{self, Flavour};
use crate::format;
use sweep::Plan;
use targets::FleetTarget;
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

/// What to check and how: the flags `sw-health check` and `sw-health
/// serve` share.
#[derive(Args, Debug, Clone)]
pub struct RunOpts {
    #[command(flatten)]
    pub pg: PgOpts,
    /// Check a fleet: the targets in this TOML ([[target]] tables) or JSON
    /// Lines file, each with url or env_file, and optional instance and
    /// labels; one report per target, the exit code the worst.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["db", "env_file"])]
    pub targets: Option<PathBuf>,
    /// Targets checked at the same time (--targets).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel: u16,
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
    /// Deadline for the run of each target (connecting included); checks not started by then are UNKNOWN.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = sw_core::duration::parse_at_most_a_day)]
    pub deadline: Duration,
    /// Round trips for the latency check.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub latency_samples: u32,
    /// Directory for the run lock and the counters behind rates
    /// (default $XDG_STATE_HOME/sw or ~/.local/state/sw).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// sw-backup repository whose newest complete backup the backup_age check judges.
    #[arg(long, value_name = "DIR")]
    pub backup_repo: Option<PathBuf>,
    /// Check the PgBouncer in front of the server through its admin console
    /// as a stats user (waiting clients, longest wait, pool saturation,
    /// server and client connections of their limits), e.g. "host=/run/sw
    /// port=6432 user=postgres"; the database is always pgbouncer, and a
    /// password comes from PGPASSWORD or ~/.pgpass, never the URL. Alone,
    /// only the pooler is checked; with --db or --env-file the server too.
    #[arg(long, value_name = "URI|CONNINFO", conflicts_with = "targets")]
    pub pooler_url: Option<String>,
    #[command(flatten)]
    pub azure: AzureArgs,
}

/// Flags of `sw-health check`.
#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    #[command(flatten)]
    pub run: RunOpts,
    /// Output format.
    #[arg(long, value_enum, default_value = "json")]
    pub format: Format,
    /// With --format prometheus: write this textfile-collector file
    /// atomically (temp file in the same directory, then rename) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub prom_file: Option<PathBuf>,
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

/// What a run needs before it connects anywhere: the thresholds, the
/// checks, the state directory and the targets, all checked.
pub struct Prepared {
    pub th: Thresholds,
    pub selection: Selection,
    pub state_dir: PathBuf,
    pub targets: Vec<FleetTarget>,
    /// The targets came from --targets.
    pub fleet: bool,
    /// The Flexible Server of an `--azure` run.
    pub azure: Option<Spec>,
    /// The console of a `--pooler-url` run.
    pub pooler: Option<Target>,
}

impl Prepared {
    /// Read and check the flags and files.
    ///
    /// # Errors
    /// 64 for bad flags or check names; 66/74/77/78 for the thresholds
    /// file, the targets file or the target.
    pub fn new(args: &RunOpts) -> Result<Prepared> {
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
        let azure = args.azure.spec()?;
        let env = Env::process();
        let pooler = args
            .pooler_url
            .as_deref()
            .map(|u| crate::pooler::target(u, &env))
            .transpose()?;
        let alone = args.pg.db.is_none() && args.pg.env_file.is_none();
        let targets = match (&args.targets, &azure) {
            (Some(f), _) => targets::load(f)?,
            // --pooler-url alone: the pooler only, named by its console.
            (None, None) if alone && let Some(p) = &pooler => vec![FleetTarget {
                instance: p.to_string(),
                target: None,
                labels: std::collections::BTreeMap::new(),
            }],
            // --azure alone: the server through Azure only, named by its ARM id.
            (None, Some(spec)) if alone => vec![FleetTarget {
                instance: spec.server.id(),
                target: None,
                labels: std::collections::BTreeMap::new(),
            }],
            (None, _) => {
                let target = args.pg.target()?;
                vec![FleetTarget {
                    instance: target.to_string(),
                    target: Some(target),
                    labels: std::collections::BTreeMap::new(),
                }]
            }
        };
        Ok(Prepared {
            th,
            selection,
            state_dir: args.state_dir.clone().unwrap_or_else(|| env.state_dir()),
            targets,
            fleet: args.targets.is_some(),
            azure,
            pooler,
        })
    }

    /// The run plan over these targets.
    pub fn plan<'a>(&'a self, args: &'a RunOpts) -> Plan<'a> {
        Plan {
            args,
            th: &self.th,
            selection: &self.selection,
            state_dir: self.state_dir.clone(),
            fleet: self.fleet,
            azure: self.azure.as_ref(),
            pooler: self.pooler.as_ref(),
        }
    }
}

fn run_inner(args: &CheckArgs, pretty: bool) -> Result<()> {
    if args.format != Format::Prometheus && args.prom_file.is_some() {
        return Err(Error::usage("--prom-file needs --format prometheus"));
    }
    let prep = Prepared::new(&args.run)?;
    let plan = prep.plan(&args.run);
    let mut reports = Vec::new();
    let mut out = Output::stdout(pretty);
    let parallel = usize::from(args.run.parallel);
    sw_core::cli::block_on(sweep::sweep(&plan, &prep.targets, parallel, None, |r| {
        if args.format == Format::Json {
            // Each report as soon as it is in (a reader that went away: the verdict still decides).
            match out.emit(&r).and_then(|()| out.flush()) {
                Err(e) if e.exit() != Exit::Ok => return Err(e),
                _ => {}
            }
        }
        reports.push(r);
        Ok(())
    }))?;
    print(args, &prep, &reports)?;
    let worst = reports.iter().fold(Status::Ok, |a, r| a.worst(r.status));
    match verdict(worst) {
        Exit::Ok => Ok(()),
        exit if prep.fleet => {
            let bad: Vec<&str> = reports
                .iter()
                .filter(|r| r.status != Status::Ok)
                .map(|r| r.target.as_str())
                .collect();
            Err(Error::new(
                exit,
                format!(
                    "{}: {} of {} targets not OK: {}",
                    worst.as_str(),
                    bad.len(),
                    reports.len(),
                    bad.join(", ")
                ),
            ))
        }
        exit => Err(Error::new(
            exit,
            format!("{}: {}", worst.as_str(), format::summary(&reports[0])),
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

/// Print the reports in the format asked for (JSON went out as they came).
fn print(args: &CheckArgs, prep: &Prepared, reports: &[HealthReport]) -> Result<()> {
    match args.format {
        Format::Json => Ok(()),
        Format::Nagios if prep.fleet => write_stdout(&format::nagios_fleet(reports)),
        Format::Nagios => reports.iter().try_for_each(|r| write_stdout(&format::nagios(r))),
        Format::Prometheus => {
            let text = exposition::render(reports, Flavour::Text, None);
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
